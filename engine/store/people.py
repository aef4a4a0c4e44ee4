"""What the store keeps of people: the display name each signed in with (``person``). Never commits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, select

from phoihop.engine.store.tables import insert_ignore, person_table

T = person_table


def remember_person(conn: Connection, user_id: str, name: str, now: datetime) -> None:
    """Keep ``name`` as ``user_id``'s display name (the latest sign-in wins)."""
    stmt = insert_ignore(conn, T).values(user_id=user_id, name=name, updated_at=now)
    conn.execute(stmt.on_conflict_do_update(index_elements=[T.c.user_id], set_={"name": name, "updated_at": now}))


def names_of(conn: Connection, user_ids: Iterable[str]) -> dict[str, str]:
    """``{user id: display name}`` of those among ``user_ids`` who signed in once."""
    wanted = sorted({u for u in user_ids if u})
    if not wanted:
        return {}
    return {row.user_id: row.name for row in conn.execute(select(T.c.user_id, T.c.name).where(T.c.user_id.in_(wanted)))}
