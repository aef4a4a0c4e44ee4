"""SQLAlchemy Core handles on the SQLModel tables, and what every statement module shares: ``Row``, results as
plain dicts, the id check, the row lock and the dialect's INSERT … ON CONFLICT."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from phoihop.engine.store.models import (
    ApiKey,
    AuditChain,
    AuditEvent,
    AuditGap,
    CalendarDay,
    DashboardMonth,
    DefaultVersion,
    Delegation,
    Deployment,
    Document,
    DocumentContent,
    DossierSequence,
    ExternalTask,
    HumanTask,
    IdempotencyKey,
    Incident,
    MessageSubscription,
    Person,
    ProcessDefinition,
    ProcessInstance,
    StartSchedule,
    StartupDeploy,
    TaskCandidate,
    Timer,
    WebSession,
)

instance_table = ProcessInstance.__table__  # type: ignore[attr-defined]
definition_table = ProcessDefinition.__table__  # type: ignore[attr-defined]
deployment_table = Deployment.__table__  # type: ignore[attr-defined]
default_version_table = DefaultVersion.__table__  # type: ignore[attr-defined]
human_task_table = HumanTask.__table__  # type: ignore[attr-defined]
task_candidate_table = TaskCandidate.__table__  # type: ignore[attr-defined]
timer_table = Timer.__table__  # type: ignore[attr-defined]
subscription_table = MessageSubscription.__table__  # type: ignore[attr-defined]
audit_table = AuditEvent.__table__  # type: ignore[attr-defined]
idempotency_table = IdempotencyKey.__table__  # type: ignore[attr-defined]
api_key_table = ApiKey.__table__  # type: ignore[attr-defined]
calendar_day_table = CalendarDay.__table__  # type: ignore[attr-defined]
dossier_sequence_table = DossierSequence.__table__  # type: ignore[attr-defined]
start_schedule_table = StartSchedule.__table__  # type: ignore[attr-defined]
external_task_table = ExternalTask.__table__  # type: ignore[attr-defined]
incident_table = Incident.__table__  # type: ignore[attr-defined]
audit_chain_table = AuditChain.__table__  # type: ignore[attr-defined]
web_session_table = WebSession.__table__  # type: ignore[attr-defined]
startup_deploy_table = StartupDeploy.__table__  # type: ignore[attr-defined]
document_table = Document.__table__  # type: ignore[attr-defined]
document_content_table = DocumentContent.__table__  # type: ignore[attr-defined]
person_table = Person.__table__  # type: ignore[attr-defined]
delegation_table = Delegation.__table__  # type: ignore[attr-defined]
audit_gap_table = AuditGap.__table__  # type: ignore[attr-defined]
dashboard_month_table = DashboardMonth.__table__  # type: ignore[attr-defined]

Row = dict[str, Any]


def _length(column: Any) -> int:
    length: int = column.type.length
    return length


# How long each name a deployment brings may be: the size of the narrowest column that stores it (checked at deploy,
# engine.definitions.lint.lengths; SQLite would store a longer text, PostgreSQL refuses it at the first start).
NAME_LIMITS: dict[str, int] = {
    "process_key": min(_length(definition_table.c.key), _length(instance_table.c.process_key)),
    "process_name": _length(definition_table.c.name),
    "element_id": min(
        _length(human_task_table.c.element_id), _length(audit_table.c.element_id), _length(timer_table.c.element_id)
    ),
    "task_name": _length(human_task_table.c.name),
    "lane": _length(human_task_table.c.lane),
    "candidate": _length(task_candidate_table.c.value),
    "assignee": _length(human_task_table.c.assignee),
    "form_key": _length(human_task_table.c.form_key),
    "message_name": _length(subscription_table.c.message_name),
    "topic": _length(external_task_table.c.topic),
}


_CANONICAL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_id(value: str) -> bool:
    """Instance and task ids are canonical UUID strings; anything else cannot name a row (and, with a NUL byte,
    would not even reach PostgreSQL)."""
    return len(value) == 36 and _CANONICAL_ID.fullmatch(value) is not None  # what str(uuid.UUID(value)) gives


def one(result: Any) -> Row | None:
    row = result.mappings().first()
    return dict(row) if row is not None else None


def all_rows(result: Any) -> list[Row]:
    return [dict(r) for r in result.mappings().all()]


def for_update(conn: Connection, stmt: Any, *, skip_locked: bool = False) -> Any:
    if conn.dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=skip_locked)
    return stmt  # SQLite: BEGIN IMMEDIATE already holds the write lock


def insert_ignore(conn: Connection, table: Any) -> Any:
    factory = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return factory(table)
