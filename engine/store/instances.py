"""Statements on ``process_instance`` and its task records (``instance_task``): insert, lock, load, save, list.
Never commits: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from phoihop.engine.store import rawsql
from phoihop.engine.store.tables import (
    Row,
    all_rows,
    human_task_table,
    instance_table,
    is_id,
    task_candidate_table,
)

_INSERT_INSTANCE = (
    "INSERT INTO process_instance (id, definition_id, process_key, business_key, status, state, serializer_version,"
    " version, variables, error, started_by, started_at, ended_at, dossier_code, lookup_secret) VALUES"
    " (:id, :definition_id, :process_key, :business_key, :status, :state, :serializer_version, :version,"
    " :variables@json, :error@json, :started_by, :started_at, NULL, :dossier_code, :lookup_secret)"
)


def insert_instance(conn: Connection, **values: Any) -> None:
    rawsql.locked(conn, values["id"], values["version"])  # no one sees the row before this transaction commits
    rawsql.defer(
        conn,
        _INSERT_INSTANCE,
        {
            **values,
            "dossier_code": values.get("dossier_code"),
            "lookup_secret": values.get("lookup_secret"),
            "variables": rawsql.js(values["variables"]),
            "error": rawsql.js(values["error"]),
            "started_at": rawsql.ts(conn, values["started_at"]),
        },
    )


_HEAD = (
    "SELECT id, definition_id, process_key, business_key, status, version, started_by FROM process_instance"
    " WHERE id = :id"
)


def lock_instance_head(conn: Connection, instance_id: str, *, skip_locked: bool = False) -> Row | None:
    """Lock the instance row and read everything but the state (which the live-object cache may already hold)."""
    if not is_id(instance_id):
        return None
    sql = _HEAD
    if conn.dialect.name == "postgresql":
        sql += " FOR UPDATE SKIP LOCKED" if skip_locked else " FOR UPDATE"
    row = rawsql.run(conn, sql, {"id": instance_id}).first()
    if row is not None:
        rawsql.locked(conn, instance_id, row["version"])
    return row


def instance_variables(conn: Connection, instance_id: str) -> dict[str, Any]:
    value = conn.execute(select(instance_table.c.variables).where(instance_table.c.id == instance_id)).scalar_one()
    return dict(value or {})


def instance_state(conn: Connection, instance_id: str) -> tuple[str, str]:
    row = conn.execute(
        select(instance_table.c.state, instance_table.c.serializer_version).where(instance_table.c.id == instance_id)
    ).one()
    return str(row[0]), str(row[1])


_SAVE_INSTANCE = (
    "UPDATE process_instance SET version = :new_version, state = :state, status = :status, variables ="
    " :variables@json, error = :error@json, ended_at = :ended_at WHERE id = :id AND version = :version"
)


def save_instance(
    conn: Connection,
    instance_id: str,
    expected_version: int,
    *,
    state: str,
    status: str,
    variables: str,
    error: Any,
    ended_at: datetime | None,
) -> bool:
    """``variables`` is JSON text (the caller encodes it once). False: the row is not at ``expected_version`` (another
    command moved it). A row this transaction locked or inserted (PostgreSQL: ``rawsql.locked``) cannot be moved by
    another: its version is known here, and its write waits for the next trip (the commit's) without a question."""
    params = {
        "id": instance_id,
        "version": expected_version,
        "new_version": expected_version + 1,
        "state": state,
        "status": status,
        "variables": variables,
        "error": rawsql.js(error),
        "ended_at": rawsql.ts(conn, ended_at),
    }
    held = rawsql.held_version(conn, instance_id)
    if held is not None:  # the check the UPDATE's WHERE would make, on the version this transaction holds
        if held != expected_version:
            return False
        rawsql.defer(conn, _SAVE_INSTANCE, params)
        rawsql.locked(conn, instance_id, expected_version + 1)
        return True
    return bool(rawsql.run(conn, _SAVE_INSTANCE, params).rowcount == 1)


def set_instance_status(
    conn: Connection, instance_id: str, expected_version: int, *, status: str, ended_at: datetime | None
) -> bool:
    result = conn.execute(
        update(instance_table)
        .where(instance_table.c.id == instance_id, instance_table.c.version == expected_version)
        .values(version=expected_version + 1, status=status, ended_at=ended_at)
    )
    moved = bool(result.rowcount == 1)
    if moved and rawsql.held_version(conn, instance_id) is not None:
        rawsql.locked(conn, instance_id, expected_version + 1)
    return moved


_GET_INSTANCE = (
    "SELECT id, definition_id, process_key, business_key, status, serializer_version, version, variables,"
    " error, started_by, started_at, ended_at, dossier_code, lookup_secret FROM process_instance WHERE id = :id"
)


def get_instance(conn: Connection, instance_id: str) -> Row | None:
    if not is_id(instance_id):
        return None
    row = rawsql.run(conn, _GET_INSTANCE, {"id": instance_id}).first()
    if row is None:
        return None
    return rawsql.row_out(row, times=("started_at", "ended_at"), jsons=("variables", "error"))


_BY_DOSSIER_CODE = (
    "SELECT id, status, variables, started_at, ended_at, dossier_code, lookup_secret FROM process_instance"
    " WHERE dossier_code = :code"
)


_DOSSIER_SECRET = "SELECT id, lookup_secret FROM process_instance WHERE dossier_code = :code"  # noqa: S105 (SQL)


def dossier_lookup_secret(conn: Connection, code: str) -> tuple[str, str | None] | None:
    """The instance id and receipt secret of dossier ``code`` (None when no instance has it): all the public lookup
    reads before it compares the secret, so a wrong code and a wrong secret cost the same."""
    row = rawsql.run(conn, _DOSSIER_SECRET, {"code": code}).first()
    return (row["id"], row["lookup_secret"]) if row is not None else None


def instance_by_dossier_code(conn: Connection, code: str) -> Row | None:
    """The instance of dossier ``code`` (unique), for the public lookup; None when no instance has it."""
    row = rawsql.run(conn, _BY_DOSSIER_CODE, {"code": code}).first()
    if row is None:
        return None
    return rawsql.row_out(row, times=("started_at", "ended_at"), jsons=("variables",))


# --- task records: one serialized SpiffWorkflow task per row ----------------------------------------------------------
_UPSERT_TASK_RECORD = (
    "INSERT INTO instance_task (instance_id, seq, task_id, body) VALUES (:instance_id, :seq,"
    " :task_id, :body) ON CONFLICT (instance_id, seq) DO UPDATE SET body = excluded.body"
)
# PostgreSQL: the records of one command in one statement, sent as one JSON array that the server makes rows again,
# rather than one pipelined statement per record (~4 a command, ~20 an instance): each costs psycopg its parameter
# adaptation and pipeline bookkeeping, and the server a Bind/Execute of its own (arrays, one per column, would cost
# psycopg more than the rows: it looks for each list's element type)
_UPSERT_TASK_RECORDS_PG = (
    "INSERT INTO instance_task (instance_id, seq, task_id, body) SELECT :instance_id, r.seq, r.task_id, r.body"
    " FROM jsonb_to_recordset(CAST(:records AS jsonb)) AS r(seq integer, task_id varchar, body text)"
    " ON CONFLICT (instance_id, seq) DO UPDATE SET body = excluded.body"
)
_DELETE_TASK_RECORD = "DELETE FROM instance_task WHERE instance_id = :instance_id AND seq = :seq"
_DELETE_TASK_RECORDS_PG = (
    "DELETE FROM instance_task WHERE instance_id = :instance_id AND seq = ANY(CAST(:seqs AS integer[]))"
)
_TASK_RECORDS = "SELECT task_id, seq, body FROM instance_task WHERE instance_id = :id ORDER BY seq"


def write_task_records(
    conn: Connection, instance_id: str, records: list[tuple[str, int, str]], removed: list[int]
) -> None:
    """Upsert (task id, seq, body) records and delete the records of removed tasks (by seq)."""
    if conn.dialect.name == "postgresql":
        if records:
            by_seq = {seq: (task_id, body) for task_id, seq, body in records}  # one row per seq, as one by one would
            rows = [{"seq": seq, "task_id": task_id, "body": body} for seq, (task_id, body) in by_seq.items()]
            rawsql.defer(conn, _UPSERT_TASK_RECORDS_PG, {"instance_id": instance_id, "records": rawsql.js(rows)})
        if removed:
            rawsql.defer(conn, _DELETE_TASK_RECORDS_PG, {"instance_id": instance_id, "seqs": list(removed)})
        return
    if records:
        rawsql.defer(
            conn,
            _UPSERT_TASK_RECORD,
            [{"instance_id": instance_id, "task_id": t, "seq": s, "body": b} for t, s, b in records],
        )
    if removed:
        rawsql.defer(conn, _DELETE_TASK_RECORD, [{"instance_id": instance_id, "seq": s} for s in removed])


def task_records(conn: Connection, instance_id: str) -> list[tuple[str, int, str]]:
    rows = rawsql.run(conn, _TASK_RECORDS, {"id": instance_id}).all()
    return [(r["task_id"], int(r["seq"]), r["body"]) for r in rows]


# --- listing ----------------------------------------------------------------------------------------------------------
def instance_visibility_clause(user_id: str, groups: Iterable[str]) -> Any:
    """Instances a person may read: started by them, or holding a task they are (or were) a candidate for."""
    candidate = (
        select(human_task_table.c.instance_id)
        .join(task_candidate_table, task_candidate_table.c.task_id == human_task_table.c.id)
        .where(
            or_(
                and_(task_candidate_table.c.kind == "group", task_candidate_table.c.value.in_(list(groups))),
                and_(task_candidate_table.c.kind == "user", task_candidate_table.c.value == user_id),
            )
        )
    )
    assigned = select(human_task_table.c.instance_id).where(
        or_(human_task_table.c.assignee == user_id, human_task_table.c.completed_by == user_id)
    )
    return or_(
        instance_table.c.started_by == user_id, instance_table.c.id.in_(candidate), instance_table.c.id.in_(assigned)
    )


def list_instances(
    conn: Connection, *, filters: dict[str, Any], visibility: Any | None, limit: int, offset: int
) -> tuple[list[Row], int]:
    cols = [c for c in instance_table.c if c.name not in ("state", "variables")]
    # the two variables the list shows (deadline and dossier status), not the whole document
    cols += [
        instance_table.c.variables["appointment_at"].as_string().label("appointment_at"),
        instance_table.c.variables["dossier_status"].as_string().label("dossier_status"),
    ]
    conditions = [getattr(instance_table.c, name) == value for name, value in filters.items() if value is not None]
    if visibility is not None:
        conditions.append(visibility)
    where = and_(True, *conditions)
    total = conn.execute(select(func.count()).select_from(instance_table).where(where)).scalar_one()
    rows = all_rows(
        conn.execute(
            select(*cols)
            .where(where)
            .order_by(instance_table.c.started_at.desc(), instance_table.c.id)
            .limit(limit)
            .offset(offset)
        )
    )
    return rows, int(total)
