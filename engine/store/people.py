"""The directory of people (``person``): who signed in or used a token, with their agencies and roles, kept current
on each sign-in. Never commits: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from phoihop.engine.store.tables import Row, all_rows, insert_ignore, one, person_table

T = person_table


def upsert_person(
    conn: Connection,
    *,
    id: str,
    name: str,
    groups: Iterable[str],
    roles: Iterable[str],
    at: datetime,
    email: str | None = None,
) -> None:
    """Insert the person or bring their name, agencies and roles up to date (email kept when none is given)."""
    values: dict[str, Any] = {
        "id": id,
        "name": name[:300] or id,
        "groups": sorted(set(groups)),
        "roles": sorted(set(roles)),
        "last_seen_at": at,
    }
    changes = {k: v for k, v in values.items() if k != "id"}
    if email:
        values["email"] = changes["email"] = email[:254]
    stmt = insert_ignore(conn, T).values(**values).on_conflict_do_update(index_elements=[T.c.id], set_=changes)
    conn.execute(stmt)


def get_person(conn: Connection, person_id: str) -> Row | None:
    return one(conn.execute(select(T).where(T.c.id == person_id)))


def people(conn: Connection, ids: Iterable[str] | None = None) -> list[Row]:
    """Everyone (ordered by name), or the people of ``ids``."""
    stmt = select(T).order_by(T.c.name, T.c.id)
    if ids is not None:
        stmt = stmt.where(T.c.id.in_(sorted(set(ids))))
    return all_rows(conn.execute(stmt))


def people_of_agency(conn: Connection, agency: str) -> list[Row]:
    """The people whose agencies include ``agency``, by name (filtered here: JSON containment differs by dialect,
    and an agency's people are tens)."""
    return [p for p in people(conn) if agency in (p["groups"] or [])]


def touch_person(conn: Connection, person_id: str, at: datetime) -> None:
    conn.execute(update(T).where(T.c.id == person_id).values(last_seen_at=at))
