"""External tasks, as Camunda 7's external-task API with fields in snake_case (engine.reads.external_tasks)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from phoihop.api.schemas.common import In, Out, PageOut, Text, Variables

Milliseconds = Annotated[int, Field(ge=1, le=30 * 24 * 3600 * 1000, description="milliseconds")]

WorkerId = Annotated[Text, Field(min_length=1, max_length=200, description="the worker's id (workerId)")]


class FetchTopicIn(In):
    topic: Text = Field(min_length=1, max_length=200, description="camunda:topic of the tasks (topicName)")
    lock_duration: Milliseconds = Field(description="how long the tasks stay locked for this worker, ms")
    variables: list[Text] | None = Field(
        default=None, max_length=1000, description="variable names to return; omitted: all"
    )


class FetchAndLockIn(In):
    worker_id: WorkerId
    max_tasks: int = Field(default=10, ge=1, le=100)
    use_priority: bool = Field(default=False, description="highest camunda:taskPriority first (else oldest first)")
    topics: list[FetchTopicIn] = Field(min_length=1, max_length=100)


class CompleteExternalTaskIn(In):
    worker_id: WorkerId
    variables: Variables = Field(default_factory=dict)


class ExternalTaskFailureIn(In):
    worker_id: WorkerId
    error_message: Text | None = Field(default=None, max_length=2000)
    error_details: Text | None = Field(default=None, max_length=100_000)
    retries: int | None = Field(
        default=None,
        ge=0,
        le=2**31 - 1,
        description="retries left; 0 makes an incident; omitted: one fewer than before",
    )
    retry_timeout: int = Field(
        default=0, ge=0, le=30 * 24 * 3600 * 1000, description="ms before the task can be fetched again"
    )


class ExternalTaskBpmnErrorIn(In):
    worker_id: WorkerId
    error_code: Text = Field(
        min_length=1,
        max_length=200,
        description="errorCode of a bpmn:error caught by an error boundary event on the task",
    )
    error_message: Text | None = Field(default=None, max_length=2000)
    variables: Variables = Field(default_factory=dict)


class ExtendLockIn(In):
    worker_id: WorkerId
    new_duration: Milliseconds = Field(description="the lock now ends this many ms from now")


class SetRetriesIn(In):
    retries: int = Field(ge=0, le=2**31 - 1, description="> 0 resolves an incident; 0 makes one")


class ExternalTaskOut(Out):
    id: str
    instance_id: str
    process_key: str
    business_key: str | None
    element_id: str
    name: str | None
    topic: str
    status: Literal["open", "locked", "completed", "incident", "cancelled"] = Field(
        description="an expired lock reads as open"
    )
    worker_id: str | None
    lock_expires_at: datetime | None
    retries: int | None = Field(description="null until a failure is reported")
    error_message: str | None
    retry_at: datetime | None = Field(description="not fetched before (retry timeout of the last failure)")
    priority: int
    created_at: datetime
    incident_at: datetime | None
    ended_at: datetime | None


class ExternalTaskDetailOut(ExternalTaskOut):
    error_details: str | None


class LockedExternalTaskOut(ExternalTaskOut):
    variables: Variables = Field(description="the instance's variables (only those named, if the topic named some)")


class ExternalTaskPage(PageOut):
    items: list[ExternalTaskOut]
