"""What deploy-on-start remembers of each folder it deploys from (``startup_deploy``), and what it asks of the stored
deployments to decide without compiling. Never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from phoihop.engine.store.tables import (
    Row,
    all_rows,
    definition_table,
    deployment_table,
    insert_ignore,
    startup_deploy_table,
)

T = startup_deploy_table


def recorded_hash(conn: Connection, folder: str) -> str | None:
    value = conn.execute(select(T.c.content_hash).where(T.c.folder == folder)).scalar_one_or_none()
    return str(value) if value is not None else None


def record(conn: Connection, folder: str, content_hash: str, at: datetime) -> None:
    stmt = insert_ignore(conn, T).values(folder=folder, content_hash=content_hash, deployed_at=at)
    conn.execute(
        stmt.on_conflict_do_update(index_elements=[T.c.folder], set_={"content_hash": content_hash, "deployed_at": at})
    )


def deployment_exists(conn: Connection, content_hash: str) -> bool:
    found = conn.execute(
        select(deployment_table.c.id).where(deployment_table.c.content_hash == content_hash).limit(1)
    ).first()
    return found is not None


def definitions_with_hash(conn: Connection, content_hash: str) -> list[Row]:
    """The process versions stored from the deployment(s) of this content: key and version."""
    return all_rows(
        conn.execute(
            select(definition_table.c.key, definition_table.c.version)
            .where(definition_table.c.content_hash == content_hash)
            .order_by(definition_table.c.key, definition_table.c.version)
        )
    )
