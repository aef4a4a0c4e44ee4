"""Statements on ``comment``: a case's comments and instructions. Never commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from phoihop.engine.store.models import Comment
from phoihop.engine.store.tables import Row, all_rows, one

comment_table = Comment.__table__  # type: ignore[attr-defined]
T = comment_table


def insert_comment(conn: Connection, **values: Any) -> Row:
    new_id = conn.execute(insert(T).values(**values).returning(T.c.id)).scalar_one()
    row = one(conn.execute(select(T).where(T.c.id == new_id)))
    assert row is not None
    return row


def get_comment(conn: Connection, comment_id: int) -> Row | None:
    return one(conn.execute(select(T).where(T.c.id == comment_id)))


def comments_of_instance(conn: Connection, instance_id: str) -> list[Row]:
    """Oldest first."""
    return all_rows(conn.execute(select(T).where(T.c.instance_id == instance_id).order_by(T.c.id)))


def latest_instruction(conn: Connection, instance_id: str) -> Row | None:
    return one(
        conn.execute(
            select(T).where(T.c.instance_id == instance_id, T.c.kind == "instruction").order_by(T.c.id.desc()).limit(1)
        )
    )
