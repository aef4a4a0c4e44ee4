"""What a migration dry run and a migration answer (engine.instance_migration.commands): per instance, whether it
can move (``reasons`` when not, ``notes`` told anyway) and what happens to its open human tasks and pending timers.

The commands work out each instance's report as JSON-like data (its parts go into the audit trail as they are);
``of`` turns the finished report into these types at the wing's edge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "DryRunSummary",
    "ExecutionSummary",
    "InstanceReport",
    "MigrationDryRun",
    "MigrationExecution",
    "MigrationReason",
    "MigrationResult",
    "TaskMove",
    "TimerMove",
]

Report = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class MigrationReason:
    """Why an instance cannot move (``blocking``), or what the owner should know although it moves (a note)."""

    code: str
    element_id: str | None
    message_en: str
    message_vi: str
    blocking: bool

    @classmethod
    def of(cls, found: Report) -> MigrationReason:
        return cls(found["code"], found["element_id"], found["message_en"], found["message_vi"], found["blocking"])


@dataclass(frozen=True, slots=True)
class TaskMove:
    """An open human task across the move: kept on its target element, closed (cancelled) by the move, opened by it,
    or blocked (the instance cannot move). Due times are kept: a step's due time is the one given when it began."""

    task_id: str
    outcome: Literal["kept", "closed", "opened", "blocked"]
    element_from: str | None
    element_to: str | None
    name_before: str | None
    name_after: str | None
    status: str
    assignee: str | None
    assignee_kept: bool
    lane_before: str | None
    lane_after: str | None
    candidate_groups_before: tuple[str, ...]
    candidate_groups_after: tuple[str, ...] | None
    candidate_users_before: tuple[str, ...]
    candidate_users_after: tuple[str, ...] | None
    form_key_before: str | None
    form_key_after: str | None
    due_at_before: datetime | None
    due_at_after: datetime | None
    due_date_rule_before: str | None  # camunda:dueDate of the source element
    due_date_rule_after: str | None  # camunda:dueDate of the target: for steps reached later

    @classmethod
    def of(cls, found: Report) -> TaskMove:
        def names(key: str) -> tuple[str, ...] | None:
            value = found[key]
            return tuple(value) if value is not None else None

        return cls(
            task_id=found["task_id"],
            outcome=found["outcome"],
            element_from=found["element_from"],
            element_to=found["element_to"],
            name_before=found["name_before"],
            name_after=found["name_after"],
            status=found["status"],
            assignee=found["assignee"],
            assignee_kept=found["assignee_kept"],
            lane_before=found["lane_before"],
            lane_after=found["lane_after"],
            candidate_groups_before=tuple(found["candidate_groups_before"] or ()),
            candidate_groups_after=names("candidate_groups_after"),
            candidate_users_before=tuple(found["candidate_users_before"] or ()),
            candidate_users_after=names("candidate_users_after"),
            form_key_before=found["form_key_before"],
            form_key_after=found["form_key_after"],
            due_at_before=found["due_at_before"],
            due_at_after=found["due_at_after"],
            due_date_rule_before=found["due_date_rule_before"],
            due_date_rule_after=found["due_date_rule_after"],
        )


@dataclass(frozen=True, slots=True)
class TimerMove:
    task_id: str
    outcome: Literal["kept", "cancelled", "started", "blocked"]
    element_from: str | None
    element_to: str | None
    due_at_before: datetime | None
    due_at_after: datetime | None

    @classmethod
    def of(cls, found: Report) -> TimerMove:
        return cls(
            found["task_id"],
            found["outcome"],
            found["element_from"],
            found["element_to"],
            found["due_at_before"],
            found["due_at_after"],
        )


@dataclass(frozen=True, slots=True)
class InstanceReport:
    """One instance in a dry run."""

    instance_id: str
    business_key: str | None
    status: str | None  # None: no such instance
    migratable: bool
    reasons: tuple[MigrationReason, ...]
    notes: tuple[MigrationReason, ...]
    tasks: tuple[TaskMove, ...]
    timers: tuple[TimerMove, ...]

    @classmethod
    def of(cls, found: Report) -> InstanceReport:
        return cls(
            instance_id=found["instance_id"],
            business_key=found["business_key"],
            status=found["status"],
            migratable=found["migratable"],
            reasons=tuple(MigrationReason.of(r) for r in found["reasons"]),
            notes=tuple(MigrationReason.of(r) for r in found["notes"]),
            tasks=tuple(TaskMove.of(t) for t in found["tasks"]),
            timers=tuple(TimerMove.of(t) for t in found["timers"]),
        )


@dataclass(frozen=True, slots=True)
class DryRunSummary:
    listed: int
    migratable: int
    not_migratable: int


@dataclass(frozen=True, slots=True)
class MigrationDryRun:
    """Per instance the filter selected (at most ``limit`` examined of ``total``) and per instance it named but did
    not select: migratable or why not. Nothing was written."""

    process_key: str
    from_version: int
    to_version: int
    mapping: Mapping[str, str]
    instances: tuple[InstanceReport, ...]
    total: int
    summary: DryRunSummary

    @classmethod
    def of(cls, found: Report) -> MigrationDryRun:
        summary = found["summary"]
        return cls(
            process_key=found["process_key"],
            from_version=found["from_version"],
            to_version=found["to_version"],
            mapping=dict(found["mapping"]),
            instances=tuple(InstanceReport.of(r) for r in found["instances"]),
            total=found["total"],
            summary=DryRunSummary(summary["listed"], summary["migratable"], summary["not_migratable"]),
        )


@dataclass(frozen=True, slots=True)
class MigrationResult:
    """One instance of a migration: moved, refused (``reasons``) or failed (rolled back, ``reasons``)."""

    instance_id: str
    business_key: str | None
    status: Literal["migrated", "refused", "failed"]
    migrated: bool
    reasons: tuple[MigrationReason, ...]
    notes: tuple[MigrationReason, ...]
    tasks: tuple[TaskMove, ...]
    timers: tuple[TimerMove, ...]

    @classmethod
    def of(cls, found: Report) -> MigrationResult:
        return cls(
            instance_id=found["instance_id"],
            business_key=found["business_key"],
            status=found["status"],
            migrated=found["migrated"],
            reasons=tuple(MigrationReason.of(r) for r in found["reasons"]),
            notes=tuple(MigrationReason.of(r) for r in found["notes"]),
            tasks=tuple(TaskMove.of(t) for t in found["tasks"]),
            timers=tuple(TimerMove.of(t) for t in found["timers"]),
        )


@dataclass(frozen=True, slots=True)
class ExecutionSummary:
    migrated: int
    refused: int
    failed: int


@dataclass(frozen=True, slots=True)
class MigrationExecution:
    """What a migration did with each instance it was given, each in its own transaction."""

    process_key: str
    from_version: int
    to_version: int
    mapping: Mapping[str, str]
    results: tuple[MigrationResult, ...]
    summary: ExecutionSummary

    @classmethod
    def of(cls, found: Report) -> MigrationExecution:
        summary = found["summary"]
        return cls(
            process_key=found["process_key"],
            from_version=found["from_version"],
            to_version=found["to_version"],
            mapping=dict(found["mapping"]),
            results=tuple(MigrationResult.of(r) for r in found["results"]),
            summary=ExecutionSummary(summary["migrated"], summary["refused"], summary["failed"]),
        )
