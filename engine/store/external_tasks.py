"""Statements on ``external_task``: the service tasks integrators' workers fetch and lock by topic. Never commits.

A row is written by the command that leaves the task waiting (``sync_instance``, from the command core's save) and
closed, in the same transaction, by the command that moves the instance past it. Fetching takes rows with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never lock the same task; SQLite's write commands already
hold the database lock (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from phoihop.engine.store import rawsql
from phoihop.engine.store.tables import Row, all_rows, external_task_table, instance_table, is_id

__all__ = [
    "ACTIVE",
    "close_instance",
    "complete",
    "extend_lock",
    "fail",
    "fetch_and_lock",
    "get",
    "incidents",
    "list_tasks",
    "set_retries",
    "sync_instance",
    "unlock",
]

ACTIVE = ("open", "locked", "incident")  # the task still waits in its workflow
_TIMES = ("lock_expires_at", "retry_at", "created_at", "incident_at", "ended_at")

_ACTIVE_IDS = "SELECT id FROM external_task WHERE instance_id = :id AND status IN ('open', 'locked', 'incident')"
_INSERT = (
    "INSERT INTO external_task (id, instance_id, process_key, element_id, name, topic, status, worker_id,"
    " lock_expires_at, retries, error_message, error_details, retry_at, priority, created_at, incident_at, ended_at)"
    " VALUES (:id, :instance_id, :process_key, :element_id, :name, :topic, 'open', NULL, NULL, NULL, NULL, NULL,"
    " NULL, :priority, :created_at, NULL, NULL) ON CONFLICT (id) DO UPDATE SET status = 'open', worker_id = NULL,"
    " lock_expires_at = NULL, retry_at = NULL, incident_at = NULL, ended_at = NULL"
)  # a row closed before waits again
_CLOSE = (
    "UPDATE external_task SET status = 'cancelled', ended_at = :at, lock_expires_at = NULL WHERE id = :id"
    " AND status IN ('open', 'locked', 'incident')"
)
_CLOSE_INSTANCE = (
    "UPDATE external_task SET status = 'cancelled', ended_at = :at, lock_expires_at = NULL"
    " WHERE instance_id = :id AND status IN ('open', 'locked', 'incident')"
)


def sync_instance(
    conn: Connection, instance_id: str, process_key: str, waiting: Sequence[dict[str, Any]], now: datetime
) -> None:
    """Make the instance's active rows the ``waiting`` tasks (dicts: task_id, element_id, name, topic, priority):
    insert new ones as open, cancel the rows of tasks that no longer wait. A row the command itself completed is
    no longer active and stays as it is."""
    active = {r["id"] for r in rawsql.run(conn, _ACTIVE_IDS, {"id": instance_id}).all()}
    wanted = {w["task_id"] for w in waiting}
    at = rawsql.ts(conn, now)
    new = [
        {
            "id": w["task_id"],
            "instance_id": instance_id,
            "process_key": process_key,
            "element_id": w["element_id"],
            "name": w["name"],
            "topic": w["topic"],
            "priority": w["priority"],
            "created_at": at,
        }
        for w in waiting
        if w["task_id"] not in active
    ]
    if new:
        rawsql.run(conn, _INSERT, new)
    gone = [{"id": task_id, "at": at} for task_id in active - wanted]
    if gone:
        rawsql.run(conn, _CLOSE, gone)


def close_instance(conn: Connection, instance_id: str, at: datetime) -> None:
    """Cancel every active row of an instance (the instance was cancelled)."""
    rawsql.run(conn, _CLOSE_INSTANCE, {"id": instance_id, "at": rawsql.ts(conn, at)})


_GET = (
    "SELECT external_task.*, process_instance.business_key FROM external_task JOIN process_instance"
    " ON process_instance.id = external_task.instance_id WHERE external_task.id = :id"
)


def get(conn: Connection, task_id: str, *, lock: bool = False) -> Row | None:
    if not is_id(task_id):
        return None
    sql = _GET + (" FOR UPDATE OF external_task" if lock and conn.dialect.name == "postgresql" else "")
    row = rawsql.run(conn, sql, {"id": task_id}).first()
    return rawsql.row_out(row, times=_TIMES) if row is not None else None


# --- fetch and lock -------------------------------------------------------------------------------------------------
def _fetchable(topics: Iterable[str], now: datetime) -> Any:
    """Open, or locked with the lock expired; not waiting out a retry timeout."""
    return and_(
        external_task_table.c.topic.in_(list(topics)),
        or_(
            external_task_table.c.status == "open",
            and_(external_task_table.c.status == "locked", external_task_table.c.lock_expires_at <= now),
        ),
        or_(external_task_table.c.retry_at.is_(None), external_task_table.c.retry_at <= now),
    )


def fetch_and_lock(
    conn: Connection, worker_id: str, locks: Mapping[str, datetime], now: datetime, limit: int, *, use_priority: bool
) -> list[Row]:
    """Lock up to ``limit`` fetchable tasks of the topics in ``locks`` for ``worker_id``, each until its topic's time
    in ``locks``: oldest first, or highest priority first with ``use_priority``. On PostgreSQL the candidate rows
    are taken ``FOR UPDATE SKIP LOCKED`` (a row another worker is taking is passed over, and a row it took is no
    longer fetchable when re-checked). Returns the locked rows with their instance's business key and variables."""
    order = ([external_task_table.c.priority.desc()] if use_priority else []) + [
        external_task_table.c.created_at,
        external_task_table.c.id,
    ]
    stmt = (
        select(external_task_table.c.id, external_task_table.c.topic)
        .where(_fetchable(locks, now))
        .order_by(*order)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    candidates = all_rows(conn.execute(stmt))
    if not candidates:
        return []
    for topic, until in locks.items():
        ids = [row["id"] for row in candidates if row["topic"] == topic]
        if ids:
            conn.execute(
                update(external_task_table)
                .where(external_task_table.c.id.in_(ids))
                .values(status="locked", worker_id=worker_id, lock_expires_at=until, retry_at=None)
            )
    ids = [row["id"] for row in candidates]
    joined = (
        select(external_task_table, instance_table.c.business_key, instance_table.c.variables)
        .join(instance_table, instance_table.c.id == external_task_table.c.instance_id)
        .where(external_task_table.c.id.in_(ids))
    )
    found = {row["id"]: row for row in all_rows(conn.execute(joined))}
    return [found[task_id] for task_id in ids if task_id in found]


# --- state changes of one row (the caller holds its lock) -----------------------------------------------------------
def complete(conn: Connection, task_id: str, at: datetime, *, error_message: str | None = None) -> None:
    """Done by its worker (``error_message``: it ended with a BPMN error, caught by a boundary event)."""
    values: dict[str, Any] = {"status": "completed", "ended_at": at, "lock_expires_at": None}
    if error_message is not None:
        values["error_message"] = error_message
    conn.execute(update(external_task_table).where(external_task_table.c.id == task_id).values(**values))


def fail(
    conn: Connection,
    task_id: str,
    *,
    retries: int,
    error_message: str | None,
    error_details: str | None,
    retry_at: datetime | None,
    at: datetime,
) -> None:
    """A failure: the lock is released; with no retries left the task is an incident (not fetched any more)."""
    values: dict[str, Any] = {
        "retries": retries,
        "error_message": error_message,
        "error_details": error_details,
        "worker_id": None,
        "lock_expires_at": None,
    }
    if retries == 0:
        values.update(status="incident", incident_at=at, retry_at=None)
    else:
        values.update(status="open", retry_at=retry_at)
    conn.execute(update(external_task_table).where(external_task_table.c.id == task_id).values(**values))


def extend_lock(conn: Connection, task_id: str, until: datetime) -> None:
    conn.execute(update(external_task_table).where(external_task_table.c.id == task_id).values(lock_expires_at=until))


def unlock(conn: Connection, task_id: str) -> None:
    conn.execute(
        update(external_task_table)
        .where(external_task_table.c.id == task_id, external_task_table.c.status == "locked")
        .values(status="open", worker_id=None, lock_expires_at=None)
    )


def set_retries(conn: Connection, task_id: str, retries: int, at: datetime) -> None:
    """Set the retries (as Camunda): an incident given retries is open again (resolved); 0 retries make an
    active task an incident (unlocked, not fetched any more)."""
    conn.execute(update(external_task_table).where(external_task_table.c.id == task_id).values(retries=retries))
    if retries > 0:
        conn.execute(
            update(external_task_table)
            .where(external_task_table.c.id == task_id, external_task_table.c.status == "incident")
            .values(status="open", incident_at=None, retry_at=None)
        )
    else:
        conn.execute(
            update(external_task_table)
            .where(external_task_table.c.id == task_id, external_task_table.c.status.in_(("open", "locked")))
            .values(status="incident", incident_at=at, worker_id=None, lock_expires_at=None, retry_at=None)
        )


# --- reading --------------------------------------------------------------------------------------------------------
def _status(status: str, now: datetime) -> Any:
    """Rows in ``status`` as it reads at ``now``: a lock that has expired counts as open, not locked."""
    if status == "open":
        return or_(
            external_task_table.c.status == "open",
            and_(external_task_table.c.status == "locked", external_task_table.c.lock_expires_at <= now),
        )
    if status == "locked":
        return and_(external_task_table.c.status == "locked", external_task_table.c.lock_expires_at > now)
    return external_task_table.c.status == status


def list_tasks(
    conn: Connection, *, filters: Mapping[str, Any], status: str | None, now: datetime, limit: int, offset: int
) -> tuple[list[Row], int]:
    """Rows matching ``filters`` (column → value; None: any) and ``status`` as it reads at ``now``, oldest first."""
    conditions = [getattr(external_task_table.c, name) == value for name, value in filters.items() if value is not None]
    if status is not None:
        conditions.append(_status(status, now))
    where = and_(True, *conditions)
    total = conn.execute(select(func.count()).select_from(external_task_table).where(where)).scalar_one()
    rows = all_rows(
        conn.execute(
            select(external_task_table, instance_table.c.business_key)
            .join(instance_table, instance_table.c.id == external_task_table.c.instance_id)
            .where(where)
            .order_by(external_task_table.c.created_at, external_task_table.c.id)
            .limit(limit)
            .offset(offset)
        )
    )
    return rows, int(total)


def incidents(conn: Connection, instance_id: str) -> list[Row]:
    """The instance's external tasks whose retries ran out, oldest first."""
    stmt = (
        select(
            external_task_table.c.id.label("external_task_id"),
            external_task_table.c.element_id,
            external_task_table.c.name,
            external_task_table.c.topic,
            external_task_table.c.error_message,
            external_task_table.c.incident_at,
        )
        .where(external_task_table.c.instance_id == instance_id, external_task_table.c.status == "incident")
        .order_by(external_task_table.c.incident_at, external_task_table.c.id)
    )
    return all_rows(conn.execute(stmt))
