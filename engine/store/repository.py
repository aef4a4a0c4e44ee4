"""Load, save and lock rows on one Connection. Never commits: the caller owns the transaction (service.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from . import rawsql
from .models import (
    ApiKey,
    AuditEvent,
    Deployment,
    HumanTask,
    IdempotencyKey,
    MessageSubscription,
    ProcessDefinition,
    ProcessInstance,
    TaskCandidate,
    Timer,
)

PI = ProcessInstance.__table__  # type: ignore[attr-defined]
PD = ProcessDefinition.__table__  # type: ignore[attr-defined]
DEP = Deployment.__table__  # type: ignore[attr-defined]
HT = HumanTask.__table__  # type: ignore[attr-defined]
TC = TaskCandidate.__table__  # type: ignore[attr-defined]
TM = Timer.__table__  # type: ignore[attr-defined]
MS = MessageSubscription.__table__  # type: ignore[attr-defined]
AE = AuditEvent.__table__  # type: ignore[attr-defined]
IK = IdempotencyKey.__table__  # type: ignore[attr-defined]
AK = ApiKey.__table__  # type: ignore[attr-defined]

Row = dict[str, Any]
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


def _one(result: Any) -> Row | None:
    row = result.mappings().first()
    return dict(row) if row is not None else None


def _all(result: Any) -> list[Row]:
    return [dict(r) for r in result.mappings().all()]


def _for_update(conn: Connection, stmt: Any, *, skip_locked: bool = False) -> Any:
    if conn.dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=skip_locked)
    return stmt  # SQLite: BEGIN IMMEDIATE already holds the write lock


def _insert_ignore(conn: Connection, table: Any) -> Any:
    factory = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return factory(table)


# --- definitions ------------------------------------------------------------------------------------------------------
def insert_deployment(conn: Connection, *, content_hash: str, files: list[dict[str, str]], deployed_by: str,
                      deployed_at: datetime) -> int:
    result = conn.execute(insert(DEP).values(content_hash=content_hash, files=files, deployed_by=deployed_by,
                                             deployed_at=deployed_at).returning(DEP.c.id))
    return int(result.scalar_one())


def deployment_files(conn: Connection, deployment_id: int) -> list[dict[str, str]]:
    files: list[dict[str, str]] = conn.execute(select(DEP.c.files).where(DEP.c.id == deployment_id)).scalar_one()
    return files


def latest_definition(conn: Connection, key: str, *, lock: bool = False) -> Row | None:
    stmt = select(PD).where(PD.c.key == key).order_by(PD.c.version.desc()).limit(1)
    if lock:
        stmt = _for_update(conn, stmt)
    return _one(conn.execute(stmt))


_LATEST_ACTIVE = ("SELECT * FROM process_definition WHERE key = :key AND status = 'active'"
                  " ORDER BY version DESC LIMIT 1")


def latest_active_definition(conn: Connection, key: str) -> dict[str, Any] | None:
    row = rawsql.run(conn, _LATEST_ACTIVE, {"key": key}).first()
    return rawsql.row_out(row, times=("deployed_at",), jsons=("start_messages",)) if row is not None else None


def definition_by_version(conn: Connection, key: str, version: int) -> Row | None:
    return _one(conn.execute(select(PD).where(PD.c.key == key, PD.c.version == version)))


def definition_by_id(conn: Connection, definition_id: int) -> Row | None:
    return _one(conn.execute(select(PD).where(PD.c.id == definition_id)))


def insert_definition(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(PD).values(**values).returning(PD.c.id)).scalar_one())


def list_definitions(conn: Connection) -> Sequence[Row]:
    return _all(conn.execute(select(PD).order_by(PD.c.key, PD.c.version)))


def definitions_started_by_message(conn: Connection, message_name: str) -> list[Row]:
    """The latest active version of each key whose start event waits for this message."""
    latest = (select(PD.c.key, func.max(PD.c.version).label("version")).where(PD.c.status == "active")
              .group_by(PD.c.key).subquery())
    rows = _all(conn.execute(select(PD).join(latest, and_(PD.c.key == latest.c.key,
                                                          PD.c.version == latest.c.version))))
    return [row for row in rows if message_name in (row["start_messages"] or [])]


# --- instances --------------------------------------------------------------------------------------------------------
_INSERT_INSTANCE = (
    "INSERT INTO process_instance (id, definition_id, process_key, business_key, status, state, serializer_version,"
    " version, variables, error, started_by, started_at, ended_at) VALUES (:id, :definition_id, :process_key,"
    " :business_key, :status, :state, :serializer_version, :version, :variables@json, :error@json, :started_by,"
    " :started_at, NULL)")


def insert_instance(conn: Connection, **values: Any) -> None:
    rawsql.run(conn, _INSERT_INSTANCE, {**values, "variables": rawsql.js(values["variables"]),
                                        "error": rawsql.js(values["error"]),
                                        "started_at": rawsql.ts(conn, values["started_at"])})


_HEAD = ("SELECT id, definition_id, process_key, business_key, status, version, started_by FROM process_instance"
         " WHERE id = :id")


def lock_instance_head(conn: Connection, instance_id: str, *, skip_locked: bool = False) -> Row | None:
    """Lock the instance row and read everything but the state (which the live-object cache may already hold)."""
    if not is_id(instance_id):
        return None
    sql = _HEAD
    if conn.dialect.name == "postgresql":
        sql += " FOR UPDATE SKIP LOCKED" if skip_locked else " FOR UPDATE"
    row = rawsql.run(conn, sql, {"id": instance_id}).first()
    return row


def instance_state(conn: Connection, instance_id: str) -> tuple[str, str]:
    row = conn.execute(select(PI.c.state, PI.c.serializer_version).where(PI.c.id == instance_id)).one()
    return str(row[0]), str(row[1])


_SAVE_INSTANCE = (
    "UPDATE process_instance SET version = :new_version, state = :state, status = :status, variables ="
    " :variables@json, error = :error@json, ended_at = :ended_at WHERE id = :id AND version = :version")


def save_instance(conn: Connection, instance_id: str, expected_version: int, *, state: str, status: str,
                  variables: Any, error: Any, ended_at: datetime | None) -> bool:
    result = rawsql.run(conn, _SAVE_INSTANCE, {
        "id": instance_id, "version": expected_version, "new_version": expected_version + 1, "state": state,
        "status": status, "variables": rawsql.js(variables), "error": rawsql.js(error),
        "ended_at": rawsql.ts(conn, ended_at)})
    return bool(result.rowcount == 1)


def set_instance_status(conn: Connection, instance_id: str, expected_version: int, *, status: str,
                        ended_at: datetime | None) -> bool:
    result = conn.execute(update(PI).where(PI.c.id == instance_id, PI.c.version == expected_version)
                          .values(version=expected_version + 1, status=status, ended_at=ended_at))
    return bool(result.rowcount == 1)


_GET_INSTANCE = ("SELECT id, definition_id, process_key, business_key, status, serializer_version, version, variables,"
                 " error, started_by, started_at, ended_at FROM process_instance WHERE id = :id")


_UPSERT_TASK_RECORD = ("INSERT INTO instance_task (instance_id, seq, task_id, body) VALUES (:instance_id, :seq,"
                       " :task_id, :body) ON CONFLICT (instance_id, seq) DO UPDATE SET body = excluded.body")
_DELETE_TASK_RECORD = "DELETE FROM instance_task WHERE instance_id = :instance_id AND seq = :seq"
_TASK_RECORDS = "SELECT task_id, seq, body FROM instance_task WHERE instance_id = :id ORDER BY seq"


def write_task_records(conn: Connection, instance_id: str, records: list[tuple[str, int, str]],
                       removed: list[int]) -> None:
    """Upsert (task id, seq, body) records and delete the records of removed tasks (by seq)."""
    if records:
        rawsql.run(conn, _UPSERT_TASK_RECORD, [{"instance_id": instance_id, "task_id": t, "seq": s, "body": b}
                                               for t, s, b in records])
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
    candidate = select(HT.c.instance_id).join(TC, TC.c.task_id == HT.c.id).where(
        or_(and_(TC.c.kind == "group", TC.c.value.in_(list(groups))),
            and_(TC.c.kind == "user", TC.c.value == user_id)))
    assigned = select(HT.c.instance_id).where(or_(HT.c.assignee == user_id, HT.c.completed_by == user_id))
    return or_(PI.c.started_by == user_id, PI.c.id.in_(candidate), PI.c.id.in_(assigned))


def list_instances(conn: Connection, *, filters: dict[str, Any], visibility: Any | None, limit: int,
                   offset: int) -> tuple[list[Row], int]:
    cols = [c for c in PI.c if c.name not in ("state", "variables")]
    conditions = [getattr(PI.c, name) == value for name, value in filters.items() if value is not None]
    if visibility is not None:
        conditions.append(visibility)
    where = and_(True, *conditions)
    total = conn.execute(select(func.count()).select_from(PI).where(where)).scalar_one()
    rows = _all(conn.execute(select(*cols).where(where).order_by(PI.c.started_at.desc(), PI.c.id)
                             .limit(limit).offset(offset)))
    return rows, int(total)


# --- human tasks ------------------------------------------------------------------------------------------------------
_INSERT_TASK = (
    "INSERT INTO human_task (id, instance_id, process_key, element_id, name, lane, candidate_groups, candidate_users,"
    " assignee, status, documentation, form_key, created_at, claimed_at, completed_at, completed_by, due_at) VALUES"
    " (:id, :instance_id, :process_key, :element_id, :name, :lane, :candidate_groups@json, :candidate_users@json,"
    " :assignee, :status, :documentation, :form_key, :created_at, :claimed_at, NULL, NULL, :due_at)")
_INSERT_CANDIDATE = "INSERT INTO task_candidate (task_id, kind, value) VALUES (:task_id, :kind, :value)"
_TASK_TIMES = ("created_at", "claimed_at", "completed_at", "due_at")
_TASK_JSONS = ("candidate_groups", "candidate_users")


def insert_human_tasks(conn: Connection, tasks: list[dict[str, Any]]) -> None:
    if not tasks:
        return
    rows = [{**t, **{k: rawsql.ts(conn, t[k]) for k in ("created_at", "claimed_at", "due_at")},
             "candidate_groups": rawsql.js(t["candidate_groups"]), "candidate_users": rawsql.js(t["candidate_users"])}
            for t in tasks]
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
    rows = conn.execute(select(HT.c.id).where(HT.c.instance_id == instance_id, HT.c.status.in_(OPEN_STATUSES)))
    return {r[0] for r in rows}


def claim_task(conn: Connection, task_id: str, user_id: str, at: datetime) -> bool:
    result = conn.execute(update(HT).where(HT.c.id == task_id, HT.c.status == "open", HT.c.assignee.is_(None))
                          .values(assignee=user_id, status="claimed", claimed_at=at))
    return bool(result.rowcount == 1)


def unclaim_task(conn: Connection, task_id: str) -> bool:
    result = conn.execute(update(HT).where(HT.c.id == task_id, HT.c.status == "claimed")
                          .values(assignee=None, status="open", claimed_at=None))
    return bool(result.rowcount == 1)


_COMPLETE_TASK = ("UPDATE human_task SET status = 'completed', completed_at = :at, completed_by = :user,"
                  " assignee = :user, claimed_at = COALESCE(claimed_at, :at) WHERE id = :id")  # implicit claim


def complete_task(conn: Connection, task_id: str, user_id: str, at: datetime) -> None:
    rawsql.run(conn, _COMPLETE_TASK, {"id": task_id, "user": user_id, "at": rawsql.ts(conn, at)})


def close_tasks(conn: Connection, task_ids: Iterable[str], *, status: str, at: datetime) -> None:
    ids = list(task_ids)
    if ids:
        conn.execute(update(HT).where(HT.c.id.in_(ids), HT.c.status.in_(OPEN_STATUSES))
                     .values(status=status, completed_at=at))


def task_visibility_clause(user_id: str, groups: Iterable[str]) -> Any:
    candidate = select(TC.c.task_id).where(or_(and_(TC.c.kind == "group", TC.c.value.in_(list(groups))),
                                               and_(TC.c.kind == "user", TC.c.value == user_id)))
    return or_(HT.c.assignee == user_id, HT.c.completed_by == user_id, HT.c.id.in_(candidate))


def list_tasks(conn: Connection, *, conditions: list[Any], limit: int, offset: int) -> tuple[list[Row], int]:
    where = and_(True, *conditions)
    total = conn.execute(select(func.count()).select_from(HT).where(where)).scalar_one()
    order = (HT.c.due_at.is_(None), HT.c.due_at, HT.c.created_at, HT.c.id)
    rows = _all(conn.execute(select(HT).where(where).order_by(*order).limit(limit).offset(offset)))
    return rows, int(total)


def candidate_group_clause(group: str) -> Any:
    return HT.c.id.in_(select(TC.c.task_id).where(TC.c.kind == "group", TC.c.value == group))


_INSTANCE_TASKS = "SELECT * FROM human_task WHERE instance_id = :id"
_INSTANCE_OPEN_TASKS = _INSTANCE_TASKS + " AND status IN ('open', 'claimed')"


def tasks_of_instance(conn: Connection, instance_id: str, *, open_only: bool) -> list[dict[str, Any]]:
    sql = (_INSTANCE_OPEN_TASKS if open_only else _INSTANCE_TASKS) + " ORDER BY created_at, id"
    rows = rawsql.run(conn, sql, {"id": instance_id}).all()
    return [rawsql.row_out(r, times=_TASK_TIMES, jsons=_TASK_JSONS) for r in rows]


# --- timers and message subscriptions ---------------------------------------------------------------------------------
def replace_timers(conn: Connection, instance_id: str, timers: list[dict[str, Any]]) -> None:
    conn.execute(delete(TM).where(TM.c.instance_id == instance_id))
    if timers:
        conn.execute(insert(TM), [{"instance_id": instance_id, **t} for t in timers])


def replace_subscriptions(conn: Connection, instance_id: str, subscriptions: list[dict[str, Any]]) -> None:
    conn.execute(delete(MS).where(MS.c.instance_id == instance_id))
    if subscriptions:
        conn.execute(insert(MS), [{"instance_id": instance_id, **s} for s in subscriptions])


def instance_timers(conn: Connection, instance_id: str) -> list[Row]:
    return _all(conn.execute(select(TM).where(TM.c.instance_id == instance_id)))


def instance_subscriptions(conn: Connection, instance_id: str) -> list[Row]:
    return _all(conn.execute(select(MS).where(MS.c.instance_id == instance_id)))


def due_timers(conn: Connection, now: datetime, limit: int) -> list[Row]:
    # strictly before now: SpiffWorkflow fires a timer only once its due time has passed (due < now)
    stmt = select(TM.c.id, TM.c.instance_id, TM.c.due_at).where(TM.c.due_at < now).order_by(TM.c.due_at).limit(limit)
    return _all(conn.execute(stmt))


def timer_exists(conn: Connection, timer_id: int) -> bool:
    return conn.execute(select(TM.c.id).where(TM.c.id == timer_id)).first() is not None


def next_timer_due(conn: Connection) -> datetime | None:
    value: datetime | None = conn.execute(select(func.min(TM.c.due_at))).scalar()
    if value is not None and value.tzinfo is None:
        from datetime import UTC
        value = value.replace(tzinfo=UTC)
    return value


def subscriptions_for(conn: Connection, message_name: str, business_key: str | None) -> list[Row]:
    stmt = (select(MS.c.instance_id, MS.c.correlations, PI.c.variables, PI.c.business_key)
            .join(PI, PI.c.id == MS.c.instance_id)
            .where(MS.c.message_name == message_name, PI.c.status == "running"))
    if business_key is not None:
        stmt = stmt.where(MS.c.business_key == business_key)
    return _all(conn.execute(stmt.order_by(MS.c.id)))


# --- audit, idempotency, api keys -------------------------------------------------------------------------------------
_INSERT_AUDIT = ("INSERT INTO audit_event (instance_id, at, actor, kind, element_id, task_id, data) VALUES"
                 " (:instance_id, :at, :actor, :kind, :element_id, :task_id, :data@json)")


def insert_audit(conn: Connection, events: list[dict[str, Any]]) -> None:
    if events:
        rawsql.run(conn, _INSERT_AUDIT, [{"element_id": None, "task_id": None, **e, "at": rawsql.ts(conn, e["at"]),
                                          "data": rawsql.js(e["data"])} for e in events])


def history(conn: Connection, instance_id: str) -> list[Row]:
    return _all(conn.execute(select(AE).where(AE.c.instance_id == instance_id).order_by(AE.c.id)))


def reserve_idempotency_key(conn: Connection, *, caller: str, key: str, request_hash: str, instance_id: str,
                            at: datetime) -> bool:
    stmt = (_insert_ignore(conn, IK).values(caller=caller, key=key, request_hash=request_hash,
                                             instance_id=instance_id, created_at=at)
            .on_conflict_do_nothing().returning(IK.c.key))
    return conn.execute(stmt).first() is not None  # rowcount is not reliable for ON CONFLICT on every driver


def idempotency_record(conn: Connection, caller: str, key: str) -> Row | None:
    return _one(conn.execute(select(IK).where(IK.c.caller == caller, IK.c.key == key)))


def insert_api_key(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(AK).values(**values).returning(AK.c.id)).scalar_one())


def api_key_by_hash(conn: Connection, key_hash: str) -> Row | None:
    return _one(conn.execute(select(AK).where(AK.c.key_hash == key_hash, AK.c.revoked_at.is_(None))))


def list_api_keys(conn: Connection) -> list[Row]:
    return _all(conn.execute(select(AK).order_by(AK.c.id)))


def revoke_api_key(conn: Connection, name: str, at: datetime) -> bool:
    result = conn.execute(update(AK).where(AK.c.name == name, AK.c.revoked_at.is_(None)).values(revoked_at=at))
    return bool(result.rowcount == 1)
