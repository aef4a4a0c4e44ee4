"""Aggregates for ``/metrics`` (engine/reads/metrics.py): a few GROUP BY queries over indexed columns, read at scrape
time so that several servers sharing one database report the same figures. Never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

from phoihop.engine.store import rawsql

_INSTANCES = "SELECT process_key, status, COUNT(*) FROM process_instance GROUP BY process_key, status"
_OPEN_TASKS = (
    "SELECT c.value, COUNT(*), SUM(CASE WHEN t.due_at < :now THEN 1 ELSE 0 END)"
    " FROM human_task t JOIN task_candidate c ON c.task_id = t.id AND c.kind = 'group'"
    " WHERE t.status IN ('open', 'claimed') GROUP BY c.value"
)
_INCIDENTS = "SELECT process_key, COUNT(*) FROM incident WHERE resolved_at IS NULL GROUP BY process_key"
_TIMERS = "SELECT COUNT(*), MIN(due_at) FROM timer WHERE due_at <= :now"


def instances_by_status(conn: Connection) -> list[tuple[str, str, int]]:
    return [(str(k), str(s), int(n)) for k, s, n in conn.execute(text(_INSTANCES)).all()]


def open_tasks_by_group(conn: Connection, now: datetime) -> list[tuple[str, int, int]]:
    rows = conn.execute(text(_OPEN_TASKS), {"now": rawsql.ts(conn, now)}).all()
    return [(str(group), int(count), int(overdue or 0)) for group, count, overdue in rows]


def open_incidents(conn: Connection) -> list[tuple[str, int]]:
    return [(str(k), int(n)) for k, n in conn.execute(text(_INCIDENTS)).all()]


def due_timers(conn: Connection, now: datetime) -> tuple[int, datetime | None]:
    """How many timers are due and not yet fired, and the oldest due time among them."""
    count, oldest = conn.execute(text(_TIMERS), {"now": rawsql.ts(conn, now)}).one()
    return int(count or 0), rawsql.ts_out(oldest)
