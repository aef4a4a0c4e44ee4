"""What the store keeps about the web app's signed-in browsers (``web_session``). Never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from phoihop.engine.store.tables import Row, one, web_session_table

T = web_session_table


def insert_session(conn: Connection, **values: Any) -> None:
    conn.execute(insert(T).values(**values))


def active_session(conn: Connection, session_id: str, now: datetime) -> Row | None:
    """The session, unless revoked or expired."""
    return one(conn.execute(select(T).where(T.c.id == session_id, T.c.revoked_at.is_(None), T.c.expires_at > now)))


def touch_session(conn: Connection, session_id: str, now: datetime) -> None:
    conn.execute(update(T).where(T.c.id == session_id).values(last_seen_at=now))


def revoke_session(conn: Connection, session_id: str, now: datetime) -> bool:
    result = conn.execute(update(T).where(T.c.id == session_id, T.c.revoked_at.is_(None)).values(revoked_at=now))
    return bool(result.rowcount == 1)


def revoke_user_sessions(conn: Connection, user_id: str, now: datetime) -> int:
    """Revoke every live session of ``user_id``; how many."""
    result = conn.execute(
        update(T).where(T.c.user_id == user_id, T.c.revoked_at.is_(None), T.c.expires_at > now).values(revoked_at=now)
    )
    return int(result.rowcount)


def purge_expired_sessions(conn: Connection, now: datetime) -> int:
    """Delete the sessions past their expiry (revoked ones included once expired): one indexed DELETE."""
    return int(conn.execute(delete(T).where(T.c.expires_at <= now)).rowcount)
