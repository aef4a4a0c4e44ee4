"""Delegations (``delegation``, ủy quyền): insert, revoke, the ones a person gave or received, the ones in force.
Never commits: the caller owns the transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from phoihop.engine.store.tables import Row, all_rows, delegation_table, one

T = delegation_table


def insert_delegation(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(T).values(**values).returning(T.c.id))
    return int(result.scalar_one())


def get_delegation(conn: Connection, delegation_id: int) -> Row | None:
    return one(conn.execute(select(T).where(T.c.id == delegation_id)))


def revoke_delegation(conn: Connection, delegation_id: int, by: str, at: datetime) -> bool:
    result = conn.execute(
        update(T).where(T.c.id == delegation_id, T.c.revoked_at.is_(None)).values(revoked_at=at, revoked_by=by)
    )
    return bool(result.rowcount == 1)


def delegations_of(conn: Connection, user_id: str) -> list[Row]:
    """Every delegation ``user_id`` gave or received, newest first."""
    stmt = select(T).where(or_(T.c.from_user_id == user_id, T.c.to_user_id == user_id)).order_by(T.c.id.desc())
    return all_rows(conn.execute(stmt))


def live_delegations(conn: Connection, now: datetime) -> list[Row]:
    """Delegations not revoked and not yet ended at ``now`` (in force now or later)."""
    return all_rows(conn.execute(select(T).where(T.c.revoked_at.is_(None), T.c.ends_at > now).order_by(T.c.id)))
