"""Retry bookkeeping of jobs (timer rows, start-schedule rows) and the ``incident`` table. Never commits.

A failed job is written in its own short transaction after the job's rollback. Several schedulers may fail the
same job at about the same time; ``record_failure`` only counts a failure against the attempts the failing scheduler
saw (compare-and-set), so a failure is counted once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update

from phoihop.engine.store.tables import (
    Row,
    all_rows,
    external_task_table,
    human_task_table,
    incident_table,
    instance_table,
    start_schedule_table,
    timer_table,
)

JOB_TABLES: dict[str, Table] = {"timer": timer_table, "timer_start": start_schedule_table}


def _key(table: Table) -> Any:
    return table.c.id if table is timer_table else table.c.process_key


def record_failure(
    conn: Connection,
    kind: str,
    key: int | str,
    *,
    seen_attempts: int,
    retry_at: datetime | None,
    error: str,
    incident_id: int | None = None,
) -> bool:
    """Count one failure of job ``key`` seen with ``seen_attempts``; False when another scheduler counted it."""
    table = JOB_TABLES[kind]
    result = conn.execute(
        update(table)
        .where(_key(table) == key, table.c.attempts == seen_attempts, table.c.incident_id.is_(None))
        .values(attempts=seen_attempts + 1, retry_at=retry_at, last_error=error, incident_id=incident_id)
    )
    return bool(result.rowcount)


def insert_incident(conn: Connection, **values: Any) -> int:
    incident_id: int = conn.execute(insert(incident_table).values(**values).returning(incident_table.c.id)).scalar_one()
    return incident_id


def delete_incident(conn: Connection, incident_id: int) -> None:
    conn.execute(incident_table.delete().where(incident_table.c.id == incident_id))


def open_incidents(conn: Connection, instance_id: str) -> list[Row]:
    """The instance's unresolved incidents (jobs' and failed steps'), oldest first."""
    stmt = (
        select(incident_table)
        .where(incident_table.c.instance_id == instance_id, incident_table.c.resolved_at.is_(None))
        .order_by(incident_table.c.id)
    )
    return all_rows(conn.execute(stmt))


def resolve_incidents(conn: Connection, incident_ids: list[int], at: datetime) -> None:
    """Incidents whose job is gone (the timer was cancelled with its task or instance, a new version replaced the
    schedule): nothing is left to retry."""
    if incident_ids:
        conn.execute(
            update(incident_table)
            .where(incident_table.c.id.in_(incident_ids), incident_table.c.resolved_at.is_(None))
            .values(resolved_at=at)
        )


def open_task_incidents(conn: Connection, instance_id: str) -> list[Row]:
    """The instance's unresolved incidents of failed steps (``job_kind`` "task"), oldest first."""
    stmt = (
        select(incident_table)
        .where(
            incident_table.c.instance_id == instance_id,
            incident_table.c.job_kind == "task",
            incident_table.c.resolved_at.is_(None),
        )
        .order_by(incident_table.c.id)
    )
    return all_rows(conn.execute(stmt))


def failed_again(conn: Connection, incident_id: int, message: str) -> None:
    """A retried step failed again: the incident stays, with the new message."""
    conn.execute(
        update(incident_table)
        .where(incident_table.c.id == incident_id)
        .values(message=message, attempts=incident_table.c.attempts + 1)
    )


def incident(conn: Connection, incident_id: int) -> Row | None:
    return next(iter(all_rows(conn.execute(select(incident_table).where(incident_table.c.id == incident_id)))), None)


def list_open_incidents(conn: Connection, process_key: str | None) -> list[Row]:
    """Unresolved incidents (of a process key when given), oldest first."""
    stmt = select(incident_table).where(incident_table.c.resolved_at.is_(None)).order_by(incident_table.c.id)
    if process_key is not None:
        stmt = stmt.where(incident_table.c.process_key == process_key)
    return all_rows(conn.execute(stmt))


def tasks_of_instances(conn: Connection, instance_ids: list[str]) -> list[Row]:
    """The human tasks (any status) of these instances: who takes part in them."""
    if not instance_ids:
        return []
    columns = ("instance_id", "candidate_groups", "candidate_users", "assignee", "required_role", "completed_by")
    stmt = select(*[human_task_table.c[c] for c in columns]).where(human_task_table.c.instance_id.in_(instance_ids))
    return all_rows(conn.execute(stmt))


def parked_incident_open(conn: Connection, instance_id: str) -> bool:
    """Whether the instance has an open incident that is no failed step: a job (timer) parked after its retries, or
    an external task out of retries (its row reads ``incident`` until its retries are set again)."""
    job = select(incident_table.c.id).where(
        incident_table.c.instance_id == instance_id,
        incident_table.c.job_kind != "task",
        incident_table.c.resolved_at.is_(None),
    )
    external = select(external_task_table.c.id).where(
        external_task_table.c.instance_id == instance_id, external_task_table.c.status == "incident"
    )
    return any(conn.execute(stmt.limit(1)).first() is not None for stmt in (job, external))


def set_incident_status(conn: Connection, instance_id: str) -> None:
    """The instance reads ``incident`` while any incident of it is open (a failed step's, a parked job's, an external
    task's out of retries), ``running`` again when none is (only between these two: a finished or failed instance
    keeps its status). Its version is left alone: its state did not move."""
    still_open = bool(open_incidents(conn, instance_id)) or parked_incident_open(conn, instance_id)
    before, after = ("running", "incident") if still_open else ("incident", "running")
    conn.execute(
        update(instance_table)
        .where(instance_table.c.id == instance_id, instance_table.c.status == before)
        .values(status=after)
    )


def unpark(conn: Connection, incident_id: int, at: datetime) -> None:
    """A job incident retried: its job row runs again at once with fresh attempts; the incident is resolved."""
    for table in JOB_TABLES.values():
        conn.execute(
            update(table)
            .where(table.c.incident_id == incident_id)
            .values(incident_id=None, attempts=0, retry_at=None, last_error=None)
        )
    resolve_incidents(conn, [incident_id], at)
