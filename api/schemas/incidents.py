"""Incident resolution (engine.commands.incidents)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from phoihop.api.schemas.common import In, Out, Text, Variables


class IncidentOut(Out):
    id: int
    instance_id: str | None = Field(description="null for a timer start event's incident (no instance yet)")
    process_key: str
    element_id: str | None = Field(description="The BPMN element that failed")
    task_id: str | None = Field(description="kind task: the failed step")
    kind: Literal["task", "timer", "timer_start"] = Field(
        description="task: a script or expression failed; timer, timer_start: a job ran out of retries"
    )
    message: str = Field(description="The last failure")
    attempts: int
    retries_left: int = Field(description="Automatic retries left: 0, a person resolves it")
    created_at: datetime
    resolved_at: datetime | None


class IncidentPageOut(Out):
    items: list[IncidentOut]
    counts: dict[str, int] = Field(description="Open incidents per process key", examples=[{"cap_phep": 2}])
    total: int


class ResolutionInstanceOut(Out):
    instance_id: str
    status: str
    open_tasks: list[str]


class IncidentResolutionOut(Out):
    incident: IncidentOut = Field(description="Resolved, or still open with the new message when the retry failed")
    instance: ResolutionInstanceOut | None


class RetryIncident(In):
    variables: Variables = Field(
        default_factory=dict, description="Set on the failed step before it runs again", examples=[{"so_trang": 3}]
    )


class SkipIncident(In):
    reason: Text = Field(min_length=1, max_length=2000, examples=["Hồ sơ miễn phí theo quy định"])
