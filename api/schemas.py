"""Request and response models (what travels), never table models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Variables = dict[str, Any]
# PostgreSQL text cannot hold NUL (pydantic-core itself refuses lone surrogates in str fields)
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartInstance(_In):
    process_key: Text = Field(min_length=1, max_length=200, description="Executable process id (khóa quy trình)")
    version: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                description="Exact version; latest active when omitted")
    business_key: Text | None = Field(default=None, min_length=1, max_length=200)
    variables: Variables = Field(default_factory=dict)


class CompleteTask(_In):
    variables: Variables = Field(default_factory=dict)


class CancelInstance(_In):
    reason: Text | None = Field(default=None, max_length=2000)


class SendMessage(_In):
    name: Text = Field(min_length=1, max_length=200)
    business_key: Text | None = Field(default=None, max_length=200)
    correlation_keys: Variables | None = None
    variables: Variables = Field(default_factory=dict)
    all: bool = Field(default=False, description="deliver to every matching waiting instance (else exactly one)")


class DeployedOut(BaseModel):
    key: str
    version: int
    content_hash: str
    name: str | None
    created: bool


class DefinitionVersionOut(BaseModel):
    version: int
    name: str | None
    content_hash: str
    status: str
    deployed_by: str
    deployed_at: datetime


class DefinitionOut(BaseModel):
    key: str
    name: str | None
    latest_version: int
    versions: list[DefinitionVersionOut]


class TaskOut(BaseModel):
    id: str
    instance_id: str
    process_key: str
    element_id: str
    name: str | None
    lane: str | None
    candidate_groups: list[str]
    candidate_users: list[str]
    assignee: str | None
    status: str
    documentation: str | None
    form_key: str | None
    created_at: datetime
    claimed_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    due_at: datetime | None


class InstanceSummaryOut(BaseModel):
    id: str
    process_key: str
    business_key: str | None
    status: str
    started_by: str
    started_at: datetime
    ended_at: datetime | None
    error: dict[str, Any] | None


class InstanceOut(InstanceSummaryOut):
    process_version: int | None
    variables: Variables
    open_tasks: list[TaskOut]


class HistoryEventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    kind: str
    element_id: str | None
    task_id: str | None
    data: dict[str, Any]


class PageOut(BaseModel):
    total: int
    limit: int
    offset: int


class TaskPage(PageOut):
    items: list[TaskOut]


class InstancePage(PageOut):
    items: list[InstanceSummaryOut]


class MessageDelivery(BaseModel):
    instance_id: str
    started: bool


class MessageOut(BaseModel):
    delivered: list[MessageDelivery]


class HealthOut(BaseModel):
    status: str
    database: str
