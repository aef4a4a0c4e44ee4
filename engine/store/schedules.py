"""Statements on ``start_schedule``: the next due time of each process key's timer start event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from phoihop.engine.store.tables import Row, all_rows, for_update, insert_ignore, one, start_schedule_table
from phoihop.engine.store.types import UtcDateTime


def upsert_schedule(conn: Connection, **values: Any) -> None:
    """A new version's schedule starts afresh: no failed attempts, not parked."""
    values = {**values, "attempts": 0, "retry_at": None, "last_error": None, "incident_id": None}
    stmt = insert_ignore(conn, start_schedule_table).values(**values)
    fields = {k: v for k, v in values.items() if k != "process_key"}
    conn.execute(stmt.on_conflict_do_update(index_elements=["process_key"], set_=fields))


def delete_schedule(conn: Connection, process_key: str) -> None:
    conn.execute(delete(start_schedule_table).where(start_schedule_table.c.process_key == process_key))


def schedule_of(conn: Connection, process_key: str) -> Row | None:
    return one(conn.execute(select(start_schedule_table).where(start_schedule_table.c.process_key == process_key)))


def _ready(now: datetime) -> Any:
    """Due, not waiting out a retry backoff, not parked on an incident."""
    table = start_schedule_table
    return and_(
        table.c.next_at < now, or_(table.c.retry_at.is_(None), table.c.retry_at <= now), table.c.incident_id.is_(None)
    )


def due_schedules(conn: Connection, now: datetime, limit: int) -> list[Row]:
    stmt = (
        select(start_schedule_table)
        .where(_ready(now))
        .order_by(func.coalesce(start_schedule_table.c.retry_at, start_schedule_table.c.next_at))
        .limit(limit)
    )
    return all_rows(conn.execute(stmt))


def lock_due_schedule(conn: Connection, process_key: str, now: datetime) -> Row | None:
    """The schedule row, locked (skipped when another worker holds it), if it is still due."""
    stmt = select(start_schedule_table).where(start_schedule_table.c.process_key == process_key, _ready(now))
    return one(conn.execute(for_update(conn, stmt, skip_locked=True)))


def advance_schedule(conn: Connection, process_key: str, occurrence: int, next_at: datetime | None) -> None:
    conn.execute(
        update(start_schedule_table)
        .where(start_schedule_table.c.process_key == process_key)
        .values(occurrence=occurrence, next_at=next_at, attempts=0, retry_at=None, last_error=None)
    )


def next_start_due(conn: Connection) -> datetime | None:
    table = start_schedule_table
    when = func.coalesce(table.c.retry_at, table.c.next_at, type_=UtcDateTime())
    value: datetime | None = conn.execute(select(func.min(when)).where(table.c.incident_id.is_(None))).scalar()
    return value


def list_schedules(conn: Connection) -> list[Row]:
    return all_rows(conn.execute(select(start_schedule_table).order_by(start_schedule_table.c.process_key)))
