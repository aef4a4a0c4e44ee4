"""Migrating running instances between versions (engine.instance_migration.results)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from phoihop.api.schemas.common import In, Out, Text

ElementId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]

InstanceStatus = Literal["running", "incident", "completed", "cancelled", "error"]


class MigrationPlanIn(In):
    process_key: Text = Field(min_length=1, max_length=200, description="Executable process id")
    from_version: int = Field(ge=1, le=2**31 - 1, description="The version the instances run on now")
    to_version: int = Field(ge=1, le=2**31 - 1, description="The version to move them to")
    mapping: dict[ElementId, ElementId] = Field(
        default_factory=dict,
        max_length=2000,
        description="Element id of from_version → element id of to_version, where ids changed; other elements "
        "map to the same id",
    )


def _running_only() -> list[InstanceStatus]:
    return ["running"]


class MigrationFilterIn(In):
    statuses: list[InstanceStatus] = Field(
        default_factory=_running_only,
        max_length=4,
        description="Only running instances move; others are listed as refused",
    )
    business_keys: list[Text] = Field(default_factory=list, max_length=1000)
    instance_ids: list[Text] = Field(default_factory=list, max_length=1000)


class MigrationDryRunIn(MigrationPlanIn):
    filter: MigrationFilterIn = Field(default_factory=MigrationFilterIn)
    limit: int = Field(default=100, ge=1, le=1000, description="Instances examined at most (oldest first)")


class MigrationExecuteIn(MigrationPlanIn):
    instance_ids: list[Text] = Field(min_length=1, max_length=500, description="Exactly the instances to move")


class MigrationReasonOut(Out):
    code: str = Field(
        description="element-removed, element-kind-changed, variable-missing, history-not-mappable, "
        "boundary-events-added, boundary-events-removed, subprocess-not-mappable, "
        "loop-in-progress, instance-not-running, not-on-source-version, "
        "instance-not-found, filtered-out, settle-error, rebuild-failed, "
        "task-not-buildable, migration-failed; notes: boundary-event-not-started"
    )
    element_id: str | None
    message_en: str
    message_vi: str
    blocking: bool = Field(description="False for a note: told, but the instance still moves")


class MigrationTaskOut(Out):
    task_id: str
    outcome: Literal["kept", "closed", "opened", "blocked"] = Field(
        description="kept: the same task on its target element; closed: cancelled by the move; opened: a task the "
        "move opens; blocked: the instance cannot move"
    )
    element_from: str | None
    element_to: str | None
    name_before: str | None
    name_after: str | None
    status: str = Field(description="open or claimed")
    assignee: str | None
    assignee_kept: bool
    lane_before: str | None
    lane_after: str | None
    candidate_groups_before: list[str]
    candidate_groups_after: list[str] | None
    candidate_users_before: list[str]
    candidate_users_after: list[str] | None
    form_key_before: str | None
    form_key_after: str | None
    due_at_before: datetime | None
    due_at_after: datetime | None = Field(description="Kept: a step's due time is the one given when it began")
    due_date_rule_before: str | None = Field(description="camunda:dueDate of the source element")
    due_date_rule_after: str | None = Field(description="camunda:dueDate of the target: for steps reached later")


class MigrationTimerOut(Out):
    task_id: str
    outcome: Literal["kept", "cancelled", "started", "blocked"]
    element_from: str | None
    element_to: str | None
    due_at_before: datetime | None
    due_at_after: datetime | None


class MigrationInstanceOut(Out):
    instance_id: str
    business_key: str | None
    status: str | None
    migratable: bool
    reasons: list[MigrationReasonOut]
    notes: list[MigrationReasonOut]
    tasks: list[MigrationTaskOut]
    timers: list[MigrationTimerOut]


class MigrationDryRunSummaryOut(Out):
    listed: int
    migratable: int
    not_migratable: int


class MigrationDryRunOut(Out):
    process_key: str
    from_version: int
    to_version: int
    mapping: dict[str, str]
    instances: list[MigrationInstanceOut]
    total: int = Field(description="Instances the filter selects (at most `limit` are examined)")
    summary: MigrationDryRunSummaryOut


class MigrationResultOut(Out):
    instance_id: str
    business_key: str | None
    status: Literal["migrated", "refused", "failed"]
    migrated: bool
    reasons: list[MigrationReasonOut]
    notes: list[MigrationReasonOut]
    tasks: list[MigrationTaskOut]
    timers: list[MigrationTimerOut]


class MigrationExecuteSummaryOut(Out):
    migrated: int
    refused: int
    failed: int


class MigrationExecuteOut(Out):
    process_key: str
    from_version: int
    to_version: int
    mapping: dict[str, str]
    results: list[MigrationResultOut]
    summary: MigrationExecuteSummaryOut
