"""Load, save and lock rows on one Connection. Never commits: the caller owns the transaction (service.py).

Instances, their task records, human tasks, timers, message subscriptions and audit events are here; deployments and
definitions are in definitions.py, idempotency and API keys in callers.py. Every caller reaches all of them through
this module (``repo.X``), which re-exports the other two."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from phoihop.engine.store import rawsql
from phoihop.engine.store.callers import (
    api_key_by_hash,
    idempotency_record,
    insert_api_key,
    list_api_keys,
    reserve_idempotency_key,
    revoke_api_key,
)
from phoihop.engine.store.definitions import (
    definition_by_id,
    definition_by_version,
    definition_for_start,
    definitions_started_by_message,
    deployment_files,
    insert_definition,
    insert_deployment,
    latest_active_definition,
    latest_definition,
    list_definitions,
)
from phoihop.engine.store.dossiers import next_dossier_number
from phoihop.engine.store.schedules import (
    advance_schedule,
    delete_schedule,
    due_schedules,
    list_schedules,
    lock_due_schedule,
    next_start_due,
    upsert_schedule,
)
from phoihop.engine.store.tables import (
    Row,
    all_rows,
    api_key_table,
    audit_table,
    definition_table,
    deployment_table,
    human_task_table,
    idempotency_table,
    instance_table,
    subscription_table,
    task_candidate_table,
    timer_table,
)
from phoihop.engine.store.versions import (
    audit_trail,
    clear_default_version,
    default_version,
    insert_definition_audit,
    instance_counts,
    set_default_version,
    set_definition_status,
    versions_of_key,
)

__all__ = [  # callers use every name through this module (``repo.X``), so tests can patch it here
    "OPEN_STATUSES",
    "Row",
    "advance_schedule",
    "api_key_by_hash",
    "api_key_table",
    "audit_table",
    "audit_trail",
    "candidate_group_clause",
    "claim_task",
    "clear_default_version",
    "close_tasks",
    "complete_task",
    "default_version",
    "definition_by_id",
    "definition_by_version",
    "definition_for_start",
    "definition_table",
    "definitions_started_by_message",
    "delete_schedule",
    "deployment_files",
    "deployment_table",
    "due_schedules",
    "due_timers",
    "get_instance",
    "get_task",
    "history",
    "human_task_table",
    "idempotency_record",
    "idempotency_table",
    "insert_api_key",
    "insert_audit",
    "insert_definition",
    "insert_definition_audit",
    "insert_deployment",
    "insert_human_tasks",
    "insert_instance",
    "instance_counts",
    "instance_state",
    "instance_subscriptions",
    "instance_table",
    "instance_timers",
    "instance_variables",
    "instance_visibility_clause",
    "is_id",
    "latest_active_definition",
    "latest_definition",
    "list_api_keys",
    "list_definitions",
    "list_instances",
    "list_schedules",
    "list_tasks",
    "lock_due_schedule",
    "lock_instance_head",
    "next_dossier_number",
    "next_start_due",
    "next_timer_due",
    "open_task_ids",
    "replace_subscriptions",
    "replace_timers",
    "reserve_idempotency_key",
    "revoke_api_key",
    "save_instance",
    "set_default_version",
    "set_definition_status",
    "set_instance_status",
    "subscription_table",
    "subscriptions_for",
    "task_candidate_table",
    "task_deadline_clause",
    "task_records",
    "task_visibility_clause",
    "tasks_of_instance",
    "timer_exists",
    "timer_table",
    "unclaim_task",
    "upsert_schedule",
    "versions_of_key",
    "write_task_records",
]

OPEN_STATUSES = ("open", "claimed")


def is_id(value: str) -> bool:
    """Instance and task ids are canonical UUID strings; anything else cannot name a row (and, with a NUL byte,
    would not even reach PostgreSQL)."""
    if len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


# --- instances --------------------------------------------------------------------------------------------------------
_INSERT_INSTANCE = (
    "INSERT INTO process_instance (id, definition_id, process_key, business_key, status, state, serializer_version,"
    " version, variables, error, started_by, started_at, ended_at, dossier_code) VALUES (:id, :definition_id,"
    " :process_key, :business_key, :status, :state, :serializer_version, :version, :variables@json, :error@json,"
    " :started_by, :started_at, NULL, :dossier_code)"
)


def insert_instance(conn: Connection, **values: Any) -> None:
    rawsql.run(
        conn,
        _INSERT_INSTANCE,
        {
            **values,
            "dossier_code": values.get("dossier_code"),
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
    """``variables`` is JSON text (the caller encodes it once)."""
    result = rawsql.run(
        conn,
        _SAVE_INSTANCE,
        {
            "id": instance_id,
            "version": expected_version,
            "new_version": expected_version + 1,
            "state": state,
            "status": status,
            "variables": variables,
            "error": rawsql.js(error),
            "ended_at": rawsql.ts(conn, ended_at),
        },
    )
    return bool(result.rowcount == 1)


def set_instance_status(
    conn: Connection, instance_id: str, expected_version: int, *, status: str, ended_at: datetime | None
) -> bool:
    result = conn.execute(
        update(instance_table)
        .where(instance_table.c.id == instance_id, instance_table.c.version == expected_version)
        .values(version=expected_version + 1, status=status, ended_at=ended_at)
    )
    return bool(result.rowcount == 1)


_GET_INSTANCE = (
    "SELECT id, definition_id, process_key, business_key, status, serializer_version, version, variables,"
    " error, started_by, started_at, ended_at, dossier_code FROM process_instance WHERE id = :id"
)


_UPSERT_TASK_RECORD = (
    "INSERT INTO instance_task (instance_id, seq, task_id, body) VALUES (:instance_id, :seq,"
    " :task_id, :body) ON CONFLICT (instance_id, seq) DO UPDATE SET body = excluded.body"
)
_DELETE_TASK_RECORD = "DELETE FROM instance_task WHERE instance_id = :instance_id AND seq = :seq"
_TASK_RECORDS = "SELECT task_id, seq, body FROM instance_task WHERE instance_id = :id ORDER BY seq"


def write_task_records(
    conn: Connection, instance_id: str, records: list[tuple[str, int, str]], removed: list[int]
) -> None:
    """Upsert (task id, seq, body) records and delete the records of removed tasks (by seq)."""
    if records:
        rawsql.run(
            conn,
            _UPSERT_TASK_RECORD,
            [{"instance_id": instance_id, "task_id": t, "seq": s, "body": b} for t, s, b in records],
        )
    if removed:
        rawsql.run(conn, _DELETE_TASK_RECORD, [{"instance_id": instance_id, "seq": s} for s in removed])


def task_records(conn: Connection, instance_id: str) -> list[tuple[str, int, str]]:
    rows = rawsql.run(conn, _TASK_RECORDS, {"id": instance_id}).all()
    return [(r["task_id"], int(r["seq"]), r["body"]) for r in rows]


def get_instance(conn: Connection, instance_id: str) -> dict[str, Any] | None:
    if not is_id(instance_id):
        return None
    row = rawsql.run(conn, _GET_INSTANCE, {"id": instance_id}).first()
    if row is None:
        return None
    return rawsql.row_out(row, times=("started_at", "ended_at"), jsons=("variables", "error"))


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


# --- human tasks ------------------------------------------------------------------------------------------------------
_INSERT_TASK = (
    "INSERT INTO human_task (id, instance_id, process_key, element_id, name, lane, candidate_groups, candidate_users,"
    " assignee, status, documentation, form_key, created_at, claimed_at, completed_at, completed_by, due_at, warn_at,"
    " required_role) VALUES"
    " (:id, :instance_id, :process_key, :element_id, :name, :lane, :candidate_groups@json, :candidate_users@json,"
    " :assignee, :status, :documentation, :form_key, :created_at, :claimed_at, NULL, NULL, :due_at, :warn_at,"
    " :required_role)"
)
_INSERT_CANDIDATE = "INSERT INTO task_candidate (task_id, kind, value) VALUES (:task_id, :kind, :value)"
_TASK_TIMES = ("created_at", "claimed_at", "completed_at", "due_at", "warn_at")
_TASK_JSONS = ("candidate_groups", "candidate_users")


def insert_human_tasks(conn: Connection, tasks: list[dict[str, Any]]) -> None:
    if not tasks:
        return
    rows = [
        {
            **t,
            **{k: rawsql.ts(conn, t[k]) for k in ("created_at", "claimed_at", "due_at", "warn_at")},
            "candidate_groups": rawsql.js(t["candidate_groups"]),
            "candidate_users": rawsql.js(t["candidate_users"]),
        }
        for t in tasks
    ]
    rawsql.run(conn, _INSERT_TASK, rows)
    candidates = [{"task_id": t["id"], "kind": "group", "value": g} for t in tasks for g in t["candidate_groups"]]
    candidates += [{"task_id": t["id"], "kind": "user", "value": u} for t in tasks for u in t["candidate_users"]]
    if candidates:
        rawsql.run(conn, _INSERT_CANDIDATE, candidates)


_GET_TASK = "SELECT * FROM human_task WHERE id = :id"


def get_task(conn: Connection, task_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    if not is_id(task_id):
        return None
    sql = _GET_TASK + (" FOR UPDATE" if lock and conn.dialect.name == "postgresql" else "")
    row = rawsql.run(conn, sql, {"id": task_id}).first()
    return rawsql.row_out(row, times=_TASK_TIMES, jsons=_TASK_JSONS) if row is not None else None


def open_task_ids(conn: Connection, instance_id: str) -> set[str]:
    rows = conn.execute(
        select(human_task_table.c.id).where(
            human_task_table.c.instance_id == instance_id, human_task_table.c.status.in_(OPEN_STATUSES)
        )
    )
    return {r[0] for r in rows}


def claim_task(conn: Connection, task_id: str, user_id: str, at: datetime) -> bool:
    result = conn.execute(
        update(human_task_table)
        .where(
            human_task_table.c.id == task_id, human_task_table.c.status == "open", human_task_table.c.assignee.is_(None)
        )
        .values(assignee=user_id, status="claimed", claimed_at=at)
    )
    return bool(result.rowcount == 1)


def unclaim_task(conn: Connection, task_id: str) -> bool:
    result = conn.execute(
        update(human_task_table)
        .where(human_task_table.c.id == task_id, human_task_table.c.status == "claimed")
        .values(assignee=None, status="open", claimed_at=None)
    )
    return bool(result.rowcount == 1)


_COMPLETE_TASK = (
    "UPDATE human_task SET status = 'completed', completed_at = :at, completed_by = :user,"
    " assignee = :user, claimed_at = COALESCE(claimed_at, :at) WHERE id = :id"
)  # implicit claim


def complete_task(conn: Connection, task_id: str, user_id: str, at: datetime) -> None:
    rawsql.run(conn, _COMPLETE_TASK, {"id": task_id, "user": user_id, "at": rawsql.ts(conn, at)})


def close_tasks(conn: Connection, task_ids: Iterable[str], *, status: str, at: datetime) -> None:
    ids = list(task_ids)
    if ids:
        conn.execute(
            update(human_task_table)
            .where(human_task_table.c.id.in_(ids), human_task_table.c.status.in_(OPEN_STATUSES))
            .values(status=status, completed_at=at)
        )


def task_visibility_clause(user_id: str, groups: Iterable[str]) -> Any:
    candidate = select(task_candidate_table.c.task_id).where(
        or_(
            and_(task_candidate_table.c.kind == "group", task_candidate_table.c.value.in_(list(groups))),
            and_(task_candidate_table.c.kind == "user", task_candidate_table.c.value == user_id),
        )
    )
    return or_(
        human_task_table.c.assignee == user_id,
        human_task_table.c.completed_by == user_id,
        human_task_table.c.id.in_(candidate),
    )


def list_tasks(conn: Connection, *, conditions: list[Any], limit: int, offset: int) -> tuple[list[Row], int]:
    where = and_(True, *conditions)
    total = conn.execute(select(func.count()).select_from(human_task_table).where(where)).scalar_one()
    order = (
        human_task_table.c.due_at.is_(None),
        human_task_table.c.due_at,
        human_task_table.c.created_at,
        human_task_table.c.id,
    )
    rows = all_rows(conn.execute(select(human_task_table).where(where).order_by(*order).limit(limit).offset(offset)))
    return rows, int(total)


def task_deadline_clause(deadline: str, now: datetime) -> Any:
    """Open tasks in a deadline state at ``now`` (engine/time/deadlines.py ``open_state`` in SQL): overdue past due_at;
    warning from warn_at to due_at; on_time without a due time or before warn_at (a row without warn_at: before
    due_at)."""
    if deadline == "overdue":
        return human_task_table.c.due_at < now
    if deadline == "warning":
        return and_(human_task_table.c.warn_at <= now, human_task_table.c.due_at >= now)
    if deadline == "on_time":
        return or_(
            human_task_table.c.due_at.is_(None),
            and_(
                human_task_table.c.due_at >= now,
                or_(human_task_table.c.warn_at > now, human_task_table.c.warn_at.is_(None)),
            ),
        )
    raise ValueError(f"unknown deadline state {deadline!r}")


def candidate_group_clause(group: str) -> Any:
    return human_task_table.c.id.in_(
        select(task_candidate_table.c.task_id).where(
            task_candidate_table.c.kind == "group", task_candidate_table.c.value == group
        )
    )


_INSTANCE_TASKS = "SELECT * FROM human_task WHERE instance_id = :id"
_INSTANCE_OPEN_TASKS = _INSTANCE_TASKS + " AND status IN ('open', 'claimed')"


def tasks_of_instance(conn: Connection, instance_id: str, *, open_only: bool) -> list[dict[str, Any]]:
    sql = (_INSTANCE_OPEN_TASKS if open_only else _INSTANCE_TASKS) + " ORDER BY created_at, id"
    rows = rawsql.run(conn, sql, {"id": instance_id}).all()
    return [rawsql.row_out(r, times=_TASK_TIMES, jsons=_TASK_JSONS) for r in rows]


# --- timers and message subscriptions ---------------------------------------------------------------------------------
def replace_timers(conn: Connection, instance_id: str, timers: list[dict[str, Any]]) -> None:
    conn.execute(delete(timer_table).where(timer_table.c.instance_id == instance_id))
    if timers:
        conn.execute(insert(timer_table), [{"instance_id": instance_id, **t} for t in timers])


def replace_subscriptions(conn: Connection, instance_id: str, subscriptions: list[dict[str, Any]]) -> None:
    conn.execute(delete(subscription_table).where(subscription_table.c.instance_id == instance_id))
    if subscriptions:
        conn.execute(insert(subscription_table), [{"instance_id": instance_id, **s} for s in subscriptions])


def instance_timers(conn: Connection, instance_id: str) -> list[Row]:
    return all_rows(conn.execute(select(timer_table).where(timer_table.c.instance_id == instance_id)))


def instance_subscriptions(conn: Connection, instance_id: str) -> list[Row]:
    return all_rows(conn.execute(select(subscription_table).where(subscription_table.c.instance_id == instance_id)))


def due_timers(conn: Connection, now: datetime, limit: int) -> list[Row]:
    # strictly before now: SpiffWorkflow fires a timer only once its due time has passed (due < now)
    stmt = (
        select(timer_table.c.id, timer_table.c.instance_id, timer_table.c.due_at)
        .where(timer_table.c.due_at < now)
        .order_by(timer_table.c.due_at)
        .limit(limit)
    )
    return all_rows(conn.execute(stmt))


def timer_exists(conn: Connection, timer_id: int) -> bool:
    return conn.execute(select(timer_table.c.id).where(timer_table.c.id == timer_id)).first() is not None


def next_timer_due(conn: Connection) -> datetime | None:
    value: datetime | None = conn.execute(select(func.min(timer_table.c.due_at))).scalar()
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def subscriptions_for(conn: Connection, message_name: str, business_key: str | None) -> list[Row]:
    stmt = (
        select(
            subscription_table.c.instance_id,
            subscription_table.c.correlations,
            instance_table.c.variables,
            instance_table.c.business_key,
        )
        .join(instance_table, instance_table.c.id == subscription_table.c.instance_id)
        .where(subscription_table.c.message_name == message_name, instance_table.c.status == "running")
    )
    if business_key is not None:
        stmt = stmt.where(subscription_table.c.business_key == business_key)
    return all_rows(conn.execute(stmt.order_by(subscription_table.c.id)))


# --- audit ------------------------------------------------------------------------------------------------------------
_INSERT_AUDIT = (
    "INSERT INTO audit_event (instance_id, at, actor, kind, element_id, task_id, data) VALUES"
    " (:instance_id, :at, :actor, :kind, :element_id, :task_id, :data@json)"
)


def insert_audit(conn: Connection, events: list[dict[str, Any]]) -> None:
    if events:
        rawsql.run(
            conn,
            _INSERT_AUDIT,
            [
                {"element_id": None, "task_id": None, **e, "at": rawsql.ts(conn, e["at"]), "data": rawsql.js(e["data"])}
                for e in events
            ],
        )


def history(conn: Connection, instance_id: str) -> list[Row]:
    return all_rows(
        conn.execute(select(audit_table).where(audit_table.c.instance_id == instance_id).order_by(audit_table.c.id))
    )
