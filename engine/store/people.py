"""The directory of people (``person``): who signed in or used a token, with their agencies and roles kept current,
and their notification preferences. Written at web sign-in, at a bearer token's first use and for the demo users;
read by assignment (an agency's officers), delegation and notifications. Never commits: the caller owns the
transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from phoihop.engine.store import rawsql
from phoihop.engine.store.tables import Row, all_rows, insert_ignore, one, person_table

T = person_table


def upsert_person(
    conn: Connection,
    person_id: str,
    *,
    name: str,
    groups: Iterable[str],
    roles: Iterable[str],
    now: datetime,
    email: str | None = None,
) -> None:
    """Who ``person_id`` is as of now (name, agencies, roles; the email only when one is given, else kept). One
    statement (INSERT … ON CONFLICT DO UPDATE), so two first requests of one person at once cannot collide."""
    values: dict[str, Any] = {
        "name": name[:300] or person_id,
        "groups": sorted(set(groups)),
        "roles": sorted(set(roles)),
        "last_seen_at": now,
    }
    if email:
        values["email"] = email[:320]
    stmt = insert_ignore(conn, T).values(id=person_id, first_seen_at=now, email_mode="immediate", **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=[T.c.id], set_=values))


def get_person(conn: Connection, person_id: str) -> Row | None:
    return one(conn.execute(select(T).where(T.c.id == person_id)))


def set_preferences(conn: Connection, person_id: str, *, email_mode: str, email: str | None) -> None:
    conn.execute(update(T).where(T.c.id == person_id).values(email_mode=email_mode, email=email))


def people(conn: Connection, ids: Iterable[str] | None = None) -> list[Row]:
    """Everyone (ordered by name), or the people of ``ids``."""
    stmt = select(T).order_by(T.c.name, T.c.id)
    if ids is not None:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        stmt = stmt.where(T.c.id.in_(wanted))
    return all_rows(conn.execute(stmt))


_MEMBERS = (
    "SELECT id, name, email, groups, roles, email_mode, first_seen_at, last_seen_at FROM person"
    " WHERE {narrowed} ORDER BY name, id"
)
# the JSON text holds the quoted code: a plain substring search (a LIKE whose pattern is a parameter makes SQLite
# prepare the statement again at every run, ~35 µs here, more than the scan)
_CONTAINS = {"sqlite": "instr({col}, :g{i}) > 0", "postgresql": "strpos(CAST({col} AS text), :g{i}) > 0"}


def members_of(conn: Connection, agencies: Iterable[str]) -> list[Row]:
    """The people whose agencies include one of ``agencies``: the JSON text narrowed by the quoted code (the same on
    SQLite and PostgreSQL, where JSON containment differs), then checked exactly here. Hand-written SQL
    (store/rawsql.py): every new human task asks it (engine/commands/notifications.py), and SQLAlchemy Core built
    and compiled it for more than the rest of the task's bookkeeping cost."""
    wanted = sorted(set(agencies))
    if not wanted:
        return []
    contains = _CONTAINS[conn.dialect.name]
    narrowed = " OR ".join(contains.format(col="groups", i=i) for i in range(len(wanted)))
    params = {f"g{i}": f'"{code}"' for i, code in enumerate(wanted)}
    rows = rawsql.run(conn, _MEMBERS.format(narrowed=narrowed), params).all()
    found = set(wanted)
    return [
        rawsql.row_out(row, times=("first_seen_at", "last_seen_at"), jsons=("groups", "roles"))
        for row in rows
        if found & set(rawsql.js_out(row["groups"]) or [])
    ]


def people_of_agency(conn: Connection, agency: str) -> list[Row]:
    """The people of one agency, by name."""
    return members_of(conn, [agency])


def names_of(conn: Connection, user_ids: Iterable[str]) -> dict[str, str]:
    """``{user id: display name}`` of those among ``user_ids`` the system knows (officers are shown by name)."""
    wanted = sorted({u for u in user_ids if u})
    if not wanted:
        return {}
    return {row.id: row.name for row in conn.execute(select(T.c.id, T.c.name).where(T.c.id.in_(wanted)))}


def audience(
    conn: Connection, instance_id: str, user_ids: Iterable[str], agencies: Iterable[str]
) -> tuple[Row | None, list[Row]]:
    """What a notification of a new task needs, in one statement (with the command's deferred writes, one trip on
    PostgreSQL): the instance's dossier code and business key (None: no such instance), and the people who are
    ``user_ids`` or whose agencies may include one of ``agencies`` (narrowed by the quoted code as ``members_of``
    does; the caller checks their agencies exactly), by name."""
    users, codes = sorted(set(user_ids)), sorted(set(agencies))
    params: dict[str, Any] = {"instance": instance_id}
    matches = []
    if users:
        matches.append("p.id IN (" + ", ".join(f":u{k}" for k in range(len(users))) + ")")
        params.update({f"u{k}": user for k, user in enumerate(users)})
    for k, code in enumerate(codes):  # not LIKE: see _CONTAINS
        matches.append(_CONTAINS[conn.dialect.name].format(col="p.groups", i=k))
        params[f"g{k}"] = f'"{code}"'
    # numbered parameters only: no value is written into the text
    sql = (
        "SELECT i.id AS instance_id, i.dossier_code, i.business_key, p.id, p.name, p.email, p.email_mode, p.groups,"  # noqa: S608
        " p.roles FROM (SELECT 1 AS one) AS one LEFT JOIN process_instance i ON i.id = :instance"
        " LEFT JOIN person p ON " + (" OR ".join(matches) or "1 = 0") + " ORDER BY p.name, p.id"
    )
    rows = rawsql.run(conn, sql, params).all()
    first = rows[0]
    instance = (
        {"id": first["instance_id"], "dossier_code": first["dossier_code"], "business_key": first["business_key"]}
        if first["instance_id"] is not None
        else None
    )
    found = [
        rawsql.row_out(
            {name: row[name] for name in ("id", "name", "email", "email_mode", "groups", "roles")},
            jsons=("groups", "roles"),
        )
        for row in rows
        if row["id"] is not None
    ]
    return instance, found


_STEPS_OF_ELEMENT = (
    "SELECT id, element_id, name, assignee, completed_by, completed_at FROM human_task"
    " WHERE instance_id = :instance AND element_id = :element ORDER BY created_at, id"
)
_CASE = "SELECT id, dossier_code, business_key FROM process_instance WHERE id = :instance"
_PEOPLE_OF_STEP = (
    "SELECT id, name, email, email_mode FROM person WHERE id = :actor OR id IN (SELECT completed_by FROM human_task"
    " WHERE instance_id = :instance AND element_id = :element) OR id IN (SELECT assignee FROM human_task"
    " WHERE instance_id = :instance AND element_id = :element)"
)


def step_audience(
    conn: Connection, instance_id: str, element_id: str, actor_id: str
) -> tuple[Row | None, list[Row], dict[str, Row]]:
    """What a notification that a step opens again needs, in one trip on PostgreSQL (with the command's deferred
    writes): the instance's dossier code and business key (None: no such instance), the human tasks of the step
    ``element_id`` in the order they were created (``id``, ``name``, ``assignee``, ``completed_by``,
    ``completed_at``), and the people among the actor and whoever completed or held one of them, by id."""
    params = {"instance": instance_id, "element": element_id, "actor": actor_id}
    case, steps, people = rawsql.run_together(
        conn, [(_CASE, params), (_STEPS_OF_ELEMENT, params), (_PEOPLE_OF_STEP, params)]
    )
    return (
        case.first(),
        [rawsql.row_out(row, times=("completed_at",)) for row in steps.all()],
        {row["id"]: row for row in people.all()},
    )
