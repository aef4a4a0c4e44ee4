"""Statements on ``person``: the people the system knows (written at sign-in and at a bearer token's first use).
Never commits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, cast, or_, select, update

from phoihop.engine.store.models import Person
from phoihop.engine.store.tables import Row, all_rows, insert_ignore, one

person_table = Person.__table__  # type: ignore[attr-defined]
T = person_table


def get_person(conn: Connection, person_id: str) -> Row | None:
    return one(conn.execute(select(T).where(T.c.id == person_id)))


def upsert_person(
    conn: Connection,
    person_id: str,
    *,
    name: str,
    groups: list[str],
    roles: list[str],
    now: datetime,
    email: str | None = None,
) -> None:
    """Who ``person_id`` is as of now (name, agencies, roles; the email only when one is given). One statement (INSERT
    … ON CONFLICT DO UPDATE), so two first requests of one person at once cannot collide."""
    values: dict[str, Any] = {"name": name[:300], "groups": groups, "roles": roles, "last_seen_at": now}
    if email:
        values["email"] = email[:320]
    stmt = insert_ignore(conn, T).values(id=person_id, first_seen_at=now, email_mode="immediate", **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=[T.c.id], set_=values))


def set_preferences(conn: Connection, person_id: str, *, email_mode: str, email: str | None) -> None:
    conn.execute(update(T).where(T.c.id == person_id).values(email_mode=email_mode, email=email))


def people(conn: Connection, ids: Iterable[str]) -> list[Row]:
    wanted = sorted(set(ids))
    return all_rows(conn.execute(select(T).where(T.c.id.in_(wanted)))) if wanted else []


def members_of(conn: Connection, agencies: Iterable[str]) -> list[Row]:
    """The people whose agencies include one of ``agencies``: the JSON text narrowed with LIKE (the same on SQLite
    and PostgreSQL, where JSON containment differs), then checked exactly here."""
    wanted = set(agencies)
    if not wanted:
        return []
    text = cast(T.c.groups, String)
    narrowed = select(T).where(or_(*(text.like(f'%"{code}"%') for code in sorted(wanted))))
    return [p for p in all_rows(conn.execute(narrowed)) if wanted & set(p["groups"] or [])]
