"""Deployments (the files as deployed) and the process definitions they carry. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select

from phoihop.engine.store import rawsql
from phoihop.engine.store.tables import (
    Row,
    all_rows,
    default_version_table,
    definition_table,
    deployment_table,
    for_update,
    one,
)


def insert_deployment(
    conn: Connection,
    *,
    content_hash: str,
    files: list[dict[str, str]],
    deployed_by: str,
    deployed_at: datetime,
    change_note: str | None = None,
) -> int:
    result = conn.execute(
        insert(deployment_table)
        .values(
            content_hash=content_hash,
            files=files,
            deployed_by=deployed_by,
            deployed_at=deployed_at,
            change_note=change_note,
        )
        .returning(deployment_table.c.id)
    )
    return int(result.scalar_one())


def deployment_files(conn: Connection, deployment_id: int) -> list[dict[str, str]]:
    files: list[dict[str, str]] = conn.execute(
        select(deployment_table.c.files).where(deployment_table.c.id == deployment_id)
    ).scalar_one()
    return files


def latest_definition(conn: Connection, key: str, *, lock: bool = False) -> Row | None:
    stmt = (
        select(definition_table)
        .where(definition_table.c.key == key)
        .order_by(definition_table.c.version.desc())
        .limit(1)
    )
    if lock:
        stmt = for_update(conn, stmt)
    return one(conn.execute(stmt))


_LATEST_ACTIVE = "SELECT * FROM process_definition WHERE key = :key AND status = 'active' ORDER BY version DESC LIMIT 1"


def latest_active_definition(conn: Connection, key: str) -> dict[str, Any] | None:
    row = rawsql.run(conn, _LATEST_ACTIVE, {"key": key}).first()
    return (
        rawsql.row_out(row, times=("deployed_at", "status_changed_at"), jsons=("start_messages",))
        if row is not None
        else None
    )


# One statement on the start path: the explicit default version (whatever its status), else the latest active one.
_FOR_START = (
    "SELECT pd.*, dv.definition_id AS default_id FROM process_definition pd"
    " LEFT JOIN process_default_version dv ON dv.process_key = :key"
    " WHERE pd.key = :key"
    " AND ((dv.definition_id IS NULL AND pd.status = 'active') OR pd.id = dv.definition_id)"
    " ORDER BY pd.version DESC LIMIT 1"
)


def definition_for_start(conn: Connection, key: str) -> dict[str, Any] | None:
    """The version a start naming no version gets: the explicit default (``explicit_default`` True; it may be
    suspended, which the caller refuses), else the latest active version; None when there is neither."""
    row = rawsql.run(conn, _FOR_START, {"key": key}).first()
    if row is None:
        return None
    out = rawsql.row_out(row, times=("deployed_at", "status_changed_at"), jsons=("start_messages",))
    out["explicit_default"] = out.pop("default_id") is not None
    return out


def definition_by_version(conn: Connection, key: str, version: int) -> Row | None:
    return one(
        conn.execute(
            select(definition_table).where(definition_table.c.key == key, definition_table.c.version == version)
        )
    )


def definition_by_id(conn: Connection, definition_id: int) -> Row | None:
    return one(conn.execute(select(definition_table).where(definition_table.c.id == definition_id)))


def insert_definition(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(definition_table).values(**values).returning(definition_table.c.id)).scalar_one())


def list_definitions(conn: Connection) -> Sequence[Row]:
    return all_rows(conn.execute(select(definition_table).order_by(definition_table.c.key, definition_table.c.version)))


def definitions_started_by_message(conn: Connection, message_name: str) -> list[Row]:
    """For each key, the version a start naming no version gets (its explicit default when that is active, none
    when it is suspended, else the latest active version), when its start event waits for this message."""
    latest = (
        select(definition_table.c.key, func.max(definition_table.c.version).label("version"))
        .where(definition_table.c.status == "active")
        .group_by(definition_table.c.key)
        .subquery()
    )
    rows = all_rows(
        conn.execute(
            select(definition_table)
            .join(latest, and_(definition_table.c.key == latest.c.key, definition_table.c.version == latest.c.version))
            .where(definition_table.c.key.not_in(select(default_version_table.c.process_key)))
        )
    )
    rows += all_rows(
        conn.execute(
            select(definition_table)
            .join(default_version_table, default_version_table.c.definition_id == definition_table.c.id)
            .where(definition_table.c.status == "active")
        )
    )
    return [row for row in rows if message_name in (row["start_messages"] or [])]
