"""Retention's database side (engine/commands/retention.py): the finished instances to purge, each one's archive
(instance, variables, tasks, history, comments, documents' names and hashes), the purge of every row that names it
(one short transaction per batch, called by the command), and the dashboard's kept months. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Table, delete, func, select

from phoihop.engine.store import audit_chain
from phoihop.engine.store.tables import (
    audit_table,
    dashboard_month_table,
    document_content_table,
    document_table,
    human_task_table,
    insert_ignore,
    instance_table,
)

FINISHED = ("completed", "cancelled")
_INSTANCE_SKIPPED = ("state",)  # the workflow's serialized state: the engine's, not the case's; its variables are kept


def finished_before(conn: Connection, cutoff: datetime, limit: int) -> list[str]:
    """Ids of instances that finished before ``cutoff``, oldest first."""
    rows = conn.execute(
        select(instance_table.c.id)
        .where(instance_table.c.status.in_(FINISHED), instance_table.c.ended_at < cutoff)
        .order_by(instance_table.c.ended_at, instance_table.c.id)
        .limit(limit)
    )
    return [str(row.id) for row in rows]


def lock_finished(conn: Connection, ids: Sequence[str], cutoff: datetime) -> list[str]:
    """Lock the instances of ``ids`` still finished before ``cutoff`` (rows of another purge are skipped)."""
    stmt = (
        select(instance_table.c.id)
        .where(instance_table.c.id.in_(ids), instance_table.c.status.in_(FINISHED), instance_table.c.ended_at < cutoff)
        .order_by(instance_table.c.id)
    )
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return [str(row.id) for row in conn.execute(stmt)]


def _rows(conn: Connection, table: Table, where: Any, order: Sequence[Column[Any]] = ()) -> list[dict[str, Any]]:
    return [row._asdict() for row in conn.execute(select(table).where(where).order_by(*order))]


def archive(conn: Connection, instance_id: str) -> dict[str, Any]:
    """Everything a reader of the case needs later, as JSON-ready values (datetimes stay datetimes)."""
    instance = conn.execute(select(instance_table).where(instance_table.c.id == instance_id)).one()._asdict()
    for name in _INSTANCE_SKIPPED:
        instance.pop(name, None)
    tables = _instance_tables()
    comments = tables.get("comment")
    return {
        "format": "phoihop-archive/1",
        "instance": {key: value for key, value in instance.items() if key != "variables"},
        "variables": instance.get("variables") or {},
        "tasks": _rows(
            conn,
            human_task_table,
            human_task_table.c.instance_id == instance_id,
            (human_task_table.c.created_at, human_task_table.c.id),
        ),
        "history": _rows(conn, audit_table, audit_table.c.instance_id == instance_id, (audit_table.c.id,)),
        "comments": [] if comments is None else _rows(conn, comments, comments.c.instance_id == instance_id),
        "documents": [
            {
                "id": row.id,
                "name": row.name,
                "title": row.title,
                "content_type": row.content_type,
                "size": row.size,
                "sha256": row.sha256,
                "added_by": row.added_by,
                "added_at": row.added_at,
                "deleted_at": row.deleted_at,
                "delete_reason": row.delete_reason,
            }
            for row in conn.execute(
                select(document_table)
                .where(document_table.c.instance_id == instance_id)
                .order_by(document_table.c.added_at, document_table.c.id)
            )
        ],
    }


def _instance_tables() -> dict[str, Table]:
    """Every table with an ``instance_id`` column (the schema's, so tables added later are purged too)."""
    metadata = instance_table.metadata
    return {
        table.name: table
        for table in reversed(metadata.sorted_tables)
        if "instance_id" in table.c and table.name not in ("audit_event", "process_instance", "human_task")
    }


def _task_tables() -> list[Table]:
    """Tables that name a human task by ``task_id`` without naming its instance."""
    metadata = instance_table.metadata
    return [
        table
        for table in reversed(metadata.sorted_tables)
        if "task_id" in table.c and "instance_id" not in table.c and table.name != "human_task"
    ]


def purge(conn: Connection, ids: Sequence[str]) -> tuple[dict[int, str], set[str]]:
    """Delete every row of the instances ``ids``; record the audit positions deleted as gaps of the chain. Returns
    the positions (``chain_seq`` → ``chain_hash``) and the SHA-256 of their documents."""
    metadata = instance_table.metadata
    tasks = select(human_task_table.c.id).where(human_task_table.c.instance_id.in_(ids)).scalar_subquery()
    outbox = metadata.tables.get("outbox_event")
    if outbox is not None:  # webhook deliveries of the instances' events, and their attempts
        deliveries = metadata.tables["webhook_delivery"]
        attempts = metadata.tables["webhook_attempt"]
        events = select(outbox.c.id).where(outbox.c.instance_id.in_(ids)).scalar_subquery()
        delivery_ids = select(deliveries.c.id).where(deliveries.c.event_id.in_(events)).scalar_subquery()
        conn.execute(delete(attempts).where(attempts.c.delivery_id.in_(delivery_ids)))
        conn.execute(delete(deliveries).where(deliveries.c.event_id.in_(events)))
    notifications = metadata.tables.get("notification")
    mails = metadata.tables.get("email_outbox")
    if notifications is not None and mails is not None:
        sent = select(notifications.c.id).where(notifications.c.instance_id.in_(ids)).scalar_subquery()
        conn.execute(delete(mails).where(mails.c.notification_id.in_(sent)))
    for table in _task_tables():
        conn.execute(delete(table).where(table.c.task_id.in_(tasks)))
    hashes = {
        str(sha)
        for sha in conn.execute(select(document_table.c.sha256).where(document_table.c.instance_id.in_(ids))).scalars()
    }
    for table in _instance_tables().values():
        conn.execute(delete(table).where(table.c.instance_id.in_(ids)))
    conn.execute(delete(human_task_table).where(human_task_table.c.instance_id.in_(ids)))
    positions = {
        int(row.chain_seq): str(row.chain_hash)
        for row in conn.execute(
            select(audit_table.c.chain_seq, audit_table.c.chain_hash).where(
                audit_table.c.instance_id.in_(ids), audit_table.c.chain_seq.is_not(None)
            )
        )
    }
    conn.execute(delete(audit_table).where(audit_table.c.instance_id.in_(ids)))
    audit_chain.record_gaps(conn, positions)
    conn.execute(delete(instance_table).where(instance_table.c.id.in_(ids)))
    return positions, hashes


def unreferenced(conn: Connection, hashes: set[str]) -> set[str]:
    """Of ``hashes``, those no document names any more (content is shared by hash)."""
    if not hashes:
        return set()
    used = conn.execute(select(document_table.c.sha256).where(document_table.c.sha256.in_(hashes))).scalars()
    return hashes - {str(sha) for sha in used}


def delete_contents(conn: Connection, hashes: set[str]) -> None:
    if hashes:
        conn.execute(delete(document_content_table).where(document_content_table.c.sha256.in_(hashes)))


def earliest_activity(conn: Connection) -> datetime | None:
    """When the first instance started (the dashboard's first month with figures)."""
    value: datetime | None = conn.execute(select(func.min(instance_table.c.started_at))).scalar()
    return value


def kept_months(conn: Connection) -> set[str]:
    return {str(month) for month in conn.execute(select(dashboard_month_table.c.month)).scalars()}


def keep_month(conn: Connection, month: str, figures: str, at: datetime) -> None:
    """Keep ``month``'s figures unless another run kept them first (the figures of a past month are the same)."""
    statement = insert_ignore(conn, dashboard_month_table).values(month=month, figures=figures, taken_at=at)
    conn.execute(statement.on_conflict_do_nothing(index_elements=["month"]))


def kept_month(conn: Connection, month: str) -> str | None:
    value = conn.execute(select(dashboard_month_table.c.figures).where(dashboard_month_table.c.month == month)).scalar()
    return None if value is None else str(value)
