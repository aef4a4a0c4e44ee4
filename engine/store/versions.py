"""Statements on the versions of a process key: its explicit default version, a version's status (active or
suspended), instance counts per version, and the audit trail (the audit events that belong to no instance)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from phoihop.engine.store.tables import AE, DEP, DV, PD, PI, Row, all_rows, insert_ignore, one


def versions_of_key(conn: Connection, key: str) -> list[Row]:
    """Every version of ``key``, oldest first, with its deployment's change note."""
    stmt = (
        select(PD, DEP.c.change_note)
        .join(DEP, DEP.c.id == PD.c.deployment_id)
        .where(PD.c.key == key)
        .order_by(PD.c.version)
    )
    return all_rows(conn.execute(stmt))


def instance_counts(conn: Connection, key: str) -> dict[int, dict[str, int]]:
    """``{definition id: {instance status: count}}`` for the versions of ``key``."""
    stmt = (
        select(PI.c.definition_id, PI.c.status, func.count().label("n"))
        .where(PI.c.process_key == key)
        .group_by(PI.c.definition_id, PI.c.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for definition_id, status, n in conn.execute(stmt):
        counts.setdefault(definition_id, {})[status] = n
    return counts


def default_version(conn: Connection, key: str) -> Row | None:
    """The explicit default of ``key``: ``{process_key, definition_id, version, set_by, set_at}``, or None."""
    stmt = select(DV, PD.c.version).join(PD, PD.c.id == DV.c.definition_id).where(DV.c.process_key == key)
    return one(conn.execute(stmt))


def set_default_version(conn: Connection, key: str, definition_id: int, *, set_by: str, set_at: datetime) -> None:
    stmt = insert_ignore(conn, DV).values(process_key=key, definition_id=definition_id, set_by=set_by, set_at=set_at)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["process_key"], set_={"definition_id": definition_id, "set_by": set_by, "set_at": set_at}
        )
    )


def clear_default_version(conn: Connection, key: str) -> bool:
    return bool(conn.execute(delete(DV).where(DV.c.process_key == key)).rowcount)


def set_definition_status(conn: Connection, definition_id: int, status: str, *, by: str, at: datetime) -> None:
    conn.execute(
        update(PD).where(PD.c.id == definition_id).values(status=status, status_changed_by=by, status_changed_at=at)
    )


def insert_definition_audit(conn: Connection, events: Sequence[dict[str, Any]]) -> None:
    """Audit events of a process key rather than an instance: ``{process_key, at, actor, kind, data}``."""
    if events:
        conn.execute(insert(AE), [{"instance_id": None, "element_id": None, "task_id": None, **e} for e in events])


def audit_trail(
    conn: Connection, *, kind: str | None, process_key: str | None, since: datetime | None, limit: int, offset: int
) -> tuple[list[Row], int]:
    """Audit events that belong to no instance (deployments, version changes, calendar overrides...), newest
    first, and how many match."""
    conditions: list[Any] = [AE.c.instance_id.is_(None)]
    if kind is not None:
        conditions.append(AE.c.kind == kind)
    if process_key is not None:
        conditions.append(AE.c.process_key == process_key)
    if since is not None:
        conditions.append(AE.c.at >= since)
    total = int(conn.execute(select(func.count()).select_from(AE).where(*conditions)).scalar_one())
    rows = all_rows(
        conn.execute(
            select(AE.c.id, AE.c.at, AE.c.actor, AE.c.kind, AE.c.process_key, AE.c.data)
            .where(*conditions)
            .order_by(AE.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
    return rows, total
