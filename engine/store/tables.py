"""SQLAlchemy Core handles on the SQLModel tables, and what every statement module shares: ``Row``, results as
plain dicts, the row lock and the dialect's INSERT … ON CONFLICT."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from phoihop.engine.store.models import (
    ApiKey,
    AuditEvent,
    CalendarDay,
    DefaultVersion,
    Deployment,
    DossierSequence,
    ExternalTask,
    HumanTask,
    IdempotencyKey,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    StartSchedule,
    TaskCandidate,
    Timer,
)

PI = ProcessInstance.__table__  # type: ignore[attr-defined]
PD = ProcessDefinition.__table__  # type: ignore[attr-defined]
DEP = Deployment.__table__  # type: ignore[attr-defined]
DV = DefaultVersion.__table__  # type: ignore[attr-defined]
HT = HumanTask.__table__  # type: ignore[attr-defined]
TC = TaskCandidate.__table__  # type: ignore[attr-defined]
TM = Timer.__table__  # type: ignore[attr-defined]
MS = MessageSubscription.__table__  # type: ignore[attr-defined]
AE = AuditEvent.__table__  # type: ignore[attr-defined]
IK = IdempotencyKey.__table__  # type: ignore[attr-defined]
AK = ApiKey.__table__  # type: ignore[attr-defined]
CD = CalendarDay.__table__  # type: ignore[attr-defined]
DS = DossierSequence.__table__  # type: ignore[attr-defined]
SS = StartSchedule.__table__  # type: ignore[attr-defined]
ET = ExternalTask.__table__  # type: ignore[attr-defined]

Row = dict[str, Any]


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
