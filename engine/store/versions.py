"""Statements on the versions of a process key: its explicit default version, a version's status (active or
suspended), instance counts per version, and the audit trail (the audit events that belong to no instance)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from phoihop.engine import correlation
from phoihop.engine.store import audit_chain
from phoihop.engine.store.tables import (
    Row,
    all_rows,
    audit_table,
    default_version_table,
    definition_table,
    deployment_table,
    insert_ignore,
    instance_table,
    one,
)


def versions_of_key(conn: Connection, key: str) -> list[Row]:
    """Every version of ``key``, oldest first, with its deployment's change note."""
    stmt = (
        select(definition_table, deployment_table.c.change_note)
        .join(deployment_table, deployment_table.c.id == definition_table.c.deployment_id)
        .where(definition_table.c.key == key)
        .order_by(definition_table.c.version)
    )
    return all_rows(conn.execute(stmt))


def instance_counts(conn: Connection, key: str) -> dict[int, dict[str, int]]:
    """``{definition id: {instance status: count}}`` for the versions of ``key``."""
    stmt = (
        select(instance_table.c.definition_id, instance_table.c.status, func.count().label("n"))
        .where(instance_table.c.process_key == key)
        .group_by(instance_table.c.definition_id, instance_table.c.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for definition_id, status, n in conn.execute(stmt):
        counts.setdefault(definition_id, {})[status] = n
    return counts


def default_version(conn: Connection, key: str) -> Row | None:
    """The explicit default of ``key``: ``{process_key, definition_id, version, set_by, set_at}``, or None."""
    stmt = (
        select(default_version_table, definition_table.c.version)
        .join(definition_table, definition_table.c.id == default_version_table.c.definition_id)
        .where(default_version_table.c.process_key == key)
    )
    return one(conn.execute(stmt))


def set_default_version(conn: Connection, key: str, definition_id: int, *, set_by: str, set_at: datetime) -> None:
    stmt = insert_ignore(conn, default_version_table).values(
        process_key=key, definition_id=definition_id, set_by=set_by, set_at=set_at
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["process_key"], set_={"definition_id": definition_id, "set_by": set_by, "set_at": set_at}
        )
    )


def clear_default_version(conn: Connection, key: str) -> bool:
    return bool(conn.execute(delete(default_version_table).where(default_version_table.c.process_key == key)).rowcount)


def set_definition_status(conn: Connection, definition_id: int, status: str, *, by: str, at: datetime) -> None:
    conn.execute(
        update(definition_table)
        .where(definition_table.c.id == definition_id)
        .values(status=status, status_changed_by=by, status_changed_at=at)
    )


def insert_definition_audit(conn: Connection, events: Sequence[dict[str, Any]]) -> None:
    """Audit events of a process key rather than an instance: ``{process_key, at, actor, kind, data}``."""
    if events:
        request_id = correlation.request_id.get()
        rows = [
            {"instance_id": None, "element_id": None, "task_id": None, "request_id": request_id, **e} for e in events
        ]
        conn.execute(insert(audit_table), rows)
        audit_chain.mark(conn)  # sealed before the transaction commits


def audit_trail(
    conn: Connection, *, kind: str | None, process_key: str | None, since: datetime | None, limit: int, offset: int
) -> tuple[list[Row], int]:
    """Audit events that belong to no instance (deployments, version changes, calendar overrides...), newest
    first, and how many match."""
    conditions: list[Any] = [audit_table.c.instance_id.is_(None)]
    if kind is not None:
        conditions.append(audit_table.c.kind == kind)
    if process_key is not None:
        conditions.append(audit_table.c.process_key == process_key)
    if since is not None:
        conditions.append(audit_table.c.at >= since)
    total = int(conn.execute(select(func.count()).select_from(audit_table).where(*conditions)).scalar_one())
    rows = all_rows(
        conn.execute(
            select(
                audit_table.c.id,
                audit_table.c.at,
                audit_table.c.actor,
                audit_table.c.kind,
                audit_table.c.process_key,
                audit_table.c.data,
            )
            .where(*conditions)
            .order_by(audit_table.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
    return rows, total
