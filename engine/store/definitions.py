"""Deployments (the files as deployed) and the process definitions they carry. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select

from . import rawsql
from .tables import DEP, PD, Row, all_rows, for_update, one


def insert_deployment(conn: Connection, *, content_hash: str, files: list[dict[str, str]], deployed_by: str,
                      deployed_at: datetime) -> int:
    result = conn.execute(insert(DEP).values(content_hash=content_hash, files=files, deployed_by=deployed_by,
                                             deployed_at=deployed_at).returning(DEP.c.id))
    return int(result.scalar_one())


def deployment_files(conn: Connection, deployment_id: int) -> list[dict[str, str]]:
    files: list[dict[str, str]] = conn.execute(select(DEP.c.files).where(DEP.c.id == deployment_id)).scalar_one()
    return files


def latest_definition(conn: Connection, key: str, *, lock: bool = False) -> Row | None:
    stmt = select(PD).where(PD.c.key == key).order_by(PD.c.version.desc()).limit(1)
    if lock:
        stmt = for_update(conn, stmt)
    return one(conn.execute(stmt))


_LATEST_ACTIVE = ("SELECT * FROM process_definition WHERE key = :key AND status = 'active'"
                  " ORDER BY version DESC LIMIT 1")


def latest_active_definition(conn: Connection, key: str) -> dict[str, Any] | None:
    row = rawsql.run(conn, _LATEST_ACTIVE, {"key": key}).first()
    return rawsql.row_out(row, times=("deployed_at",), jsons=("start_messages",)) if row is not None else None


def definition_by_version(conn: Connection, key: str, version: int) -> Row | None:
    return one(conn.execute(select(PD).where(PD.c.key == key, PD.c.version == version)))


def definition_by_id(conn: Connection, definition_id: int) -> Row | None:
    return one(conn.execute(select(PD).where(PD.c.id == definition_id)))


def insert_definition(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(PD).values(**values).returning(PD.c.id)).scalar_one())


def list_definitions(conn: Connection) -> Sequence[Row]:
    return all_rows(conn.execute(select(PD).order_by(PD.c.key, PD.c.version)))


def definitions_started_by_message(conn: Connection, message_name: str) -> list[Row]:
    """The latest active version of each key whose start event waits for this message."""
    latest = (select(PD.c.key, func.max(PD.c.version).label("version")).where(PD.c.status == "active")
              .group_by(PD.c.key).subquery())
    rows = all_rows(conn.execute(select(PD).join(latest, and_(PD.c.key == latest.c.key,
                                                              PD.c.version == latest.c.version))))
    return [row for row in rows if message_name in (row["start_messages"] or [])]
