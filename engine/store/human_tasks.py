"""Statements on ``human_task`` and its candidates (``task_candidate``): insert, read, claim, release, complete,
close, and the inbox's conditions. Never commits: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, union, update

from phoihop.engine.store import rawsql, write_hooks
from phoihop.engine.store.tables import Row, all_rows, human_task_table, is_id, task_candidate_table

OPEN_STATUSES = ("open", "claimed")  # a person may claim, release or complete the task
# not finished: the open ones, and a draft awaiting a lead's approval (engine/commands/task_flow.py), whose workflow
# task is still waiting
LIVE_STATUSES = (*OPEN_STATUSES, "awaiting_approval")

_INSERT_TASK = (
    "INSERT INTO human_task (id, instance_id, process_key, element_id, name, lane, candidate_groups, candidate_users,"
    " assignee, status, documentation, form_key, created_at, claimed_at, completed_at, completed_by, due_at, warn_at,"
    " required_role, search_text) VALUES"
    " (:id, :instance_id, :process_key, :element_id, :name, :lane, :candidate_groups@json, :candidate_users@json,"
    " :assignee, :status, :documentation, :form_key, :created_at, :claimed_at, NULL, NULL, :due_at, :warn_at,"
    " :required_role, :search_text)"
)
# a candidate row carries its task's status (kept by the triggers of migration 0201 when the task's status changes), so
# the inbox reads an agency's live tasks from one index without visiting its history
_INSERT_CANDIDATE = (
    "INSERT INTO task_candidate (task_id, kind, value, status) VALUES (:task_id, :kind, :value, :status)"
)
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
            "search_text": t.get("search_text"),
        }
        for t in tasks
    ]
    rawsql.defer(conn, _INSERT_TASK, rows)
    candidates = [
        {"task_id": t["id"], "kind": "group", "value": g, "status": t["status"]}
        for t in tasks
        for g in t["candidate_groups"]
    ]
    candidates += [
        {"task_id": t["id"], "kind": "user", "value": u, "status": t["status"]}
        for t in tasks
        for u in t["candidate_users"]
    ]
    if candidates:
        rawsql.defer(conn, _INSERT_CANDIDATE, candidates)
    write_hooks.emit(conn, "human_task", tasks)


_GET_TASK = "SELECT * FROM human_task WHERE id = :id"


def get_task(conn: Connection, task_id: str, *, lock: bool = False) -> Row | None:
    if not is_id(task_id):
        return None
    sql = _GET_TASK + (" FOR UPDATE" if lock and conn.dialect.name == "postgresql" else "")
    row = rawsql.run(conn, sql, {"id": task_id}).first()
    return rawsql.row_out(row, times=_TASK_TIMES, jsons=_TASK_JSONS) if row is not None else None


def open_task_ids(conn: Connection, instance_id: str) -> set[str]:
    rows = conn.execute(
        select(human_task_table.c.id).where(
            human_task_table.c.instance_id == instance_id, human_task_table.c.status.in_(LIVE_STATUSES)
        )
    )
    return {r[0] for r in rows}


_CLAIM_TASK = "UPDATE human_task SET assignee = :user, status = 'claimed', claimed_at = :at WHERE id = :id"


def claim_task(conn: Connection, task_id: str, user_id: str, at: datetime) -> None:
    """Claim an open, unassigned task whose row the caller read locked in this transaction (``get_task(lock=True)``;
    SQLite: ``BEGIN IMMEDIATE``): nothing can have changed it since, so the write waits for the next trip."""
    rawsql.defer(conn, _CLAIM_TASK, {"id": task_id, "user": user_id, "at": rawsql.ts(conn, at)})


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


def complete_task(conn: Connection, task: Row, user_id: str, at: datetime) -> Row:
    """Mark ``task`` (its row as read locked in this transaction: ``lock_task_and_instance``) completed by ``user_id``
    at ``at``, claiming it if nobody had; returns the row as the update leaves it. The write waits for the next trip."""
    rawsql.defer(conn, _COMPLETE_TASK, {"id": task["id"], "user": user_id, "at": rawsql.ts(conn, at)})
    return {
        **task,
        "status": "completed",
        "completed_at": at,
        "completed_by": user_id,
        "assignee": user_id,
        "claimed_at": task["claimed_at"] or at,
    }


# the instance's row first, then the task's: the order every command that locks both takes (engine/commands), so two
# of them never wait on each other crosswise; a claim locks the task's row alone
_LOCK_INSTANCE_OF_TASK = (
    "SELECT id, definition_id, process_key, business_key, status, version, started_by FROM process_instance"
    " WHERE id = (SELECT instance_id FROM human_task WHERE id = :id) FOR UPDATE"
)


def lock_task_and_instance(conn: Connection, task_id: str) -> tuple[Row | None, Row | None]:
    """The head of the task's instance (as ``lock_instance_head`` reads it) and the task's row, both locked, in one
    trip (PostgreSQL: two statements in one pipeline, run in this order; SQLite: ``BEGIN IMMEDIATE`` holds every
    row already). (None, None): no such task."""
    if not is_id(task_id):
        return None, None
    if conn.dialect.name != "postgresql":
        task = get_task(conn, task_id)
        if task is None:
            return None, None
        head = rawsql.run(conn, _LOCK_INSTANCE_OF_TASK.removesuffix(" FOR UPDATE"), {"id": task_id}).first()
        return head, task
    head, task = (
        result.first()
        for result in rawsql.run_together(
            conn, [(_LOCK_INSTANCE_OF_TASK, {"id": task_id}), (_GET_TASK + " FOR UPDATE", {"id": task_id})]
        )
    )
    if head is not None:
        rawsql.locked(conn, head["id"], head["version"])
    return head, rawsql.row_out(task, times=_TASK_TIMES, jsons=_TASK_JSONS) if task is not None else None


def close_tasks(conn: Connection, task_ids: Iterable[str], *, status: str, at: datetime) -> None:
    ids = list(task_ids)
    if ids:
        conn.execute(
            update(human_task_table)
            .where(human_task_table.c.id.in_(ids), human_task_table.c.status.in_(LIVE_STATUSES))
            .values(status=status, completed_at=at)
        )


_INSTANCE_TASKS = "SELECT * FROM human_task WHERE instance_id = :id"
_INSTANCE_OPEN_TASKS = _INSTANCE_TASKS + " AND status IN ('open', 'claimed', 'awaiting_approval')"


def tasks_of_instance(conn: Connection, instance_id: str, *, open_only: bool) -> list[Row]:
    sql = (_INSTANCE_OPEN_TASKS if open_only else _INSTANCE_TASKS) + " ORDER BY created_at, id"
    rows = rawsql.run(conn, sql, {"id": instance_id}).all()
    return [rawsql.row_out(r, times=_TASK_TIMES, jsons=_TASK_JSONS) for r in rows]


# --- the inbox --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Visibility:
    """Who reads the inbox: tasks naming ``groups`` or ``user_ids`` as candidates, or held or completed by one of
    ``user_ids``, in one of ``statuses`` (a superset of the statuses the query keeps: candidate rows carry their
    task's status, so only the live rows of an agency are read, never its history)."""

    user_ids: tuple[str, ...]
    groups: tuple[str, ...]
    statuses: tuple[str, ...]

    def candidates(self) -> Any:
        """Task ids of the candidate rows, as two index-only reads (by group, by person) rather than one OR."""
        tc = task_candidate_table.c
        return union(
            select(tc.task_id).where(tc.kind == "group", tc.value.in_(self.groups), tc.status.in_(self.statuses)),
            select(tc.task_id).where(tc.kind == "user", tc.value.in_(self.user_ids), tc.status.in_(self.statuses)),
        )

    def filter_clause(self) -> Any:
        """As a filter of rows read in another order: the candidates' task ids are hashed once (PostgreSQL's hashed
        SubPlan), each row read in the order of ``ix_human_task_live_order`` is probed until the page is full."""
        ht = human_task_table.c
        return or_(
            ht.assignee.in_(self.user_ids),
            ht.completed_by.in_(self.user_ids),
            ht.id.in_(self.candidates().scalar_subquery()),
        )

    def ids_clause(self) -> Any:
        """As a set of ids: a union of four index reads (candidate rows by group and by person, tasks held, tasks
        completed), each only of rows in ``statuses``; what counting and sorting a small set need."""
        tc, ht = task_candidate_table.c, human_task_table.c
        visible = union(
            select(tc.task_id).where(tc.kind == "group", tc.value.in_(self.groups), tc.status.in_(self.statuses)),
            select(tc.task_id).where(tc.kind == "user", tc.value.in_(self.user_ids), tc.status.in_(self.statuses)),
            select(ht.id).where(ht.assignee.in_(self.user_ids), ht.status.in_(self.statuses)),
            select(ht.id).where(ht.completed_by.in_(self.user_ids), ht.status.in_(self.statuses)),
        )
        return ht.id.in_(visible.scalar_subquery())


def task_visibility_clause(user_id: str, groups: Iterable[str], *, also: Iterable[str] = ()) -> Any:
    """Tasks of ``groups``, or naming, held or completed by ``user_id`` (or by the people of ``also``: those whose
    delegations are in force for the caller), in any status."""
    ids = sorted({user_id, *also})
    candidate = select(task_candidate_table.c.task_id).where(
        or_(
            and_(task_candidate_table.c.kind == "group", task_candidate_table.c.value.in_(list(groups))),
            and_(task_candidate_table.c.kind == "user", task_candidate_table.c.value.in_(ids)),
        )
    )
    return or_(
        human_task_table.c.assignee.in_(ids),
        human_task_table.c.completed_by.in_(ids),
        human_task_table.c.id.in_(candidate),
    )


def list_tasks(conn: Connection, *, conditions: list[Any], limit: int, offset: int) -> tuple[list[Row], int]:
    where = and_(True, *conditions)
    total = conn.execute(select(func.count()).select_from(human_task_table).where(where)).scalar_one()
    rows = all_rows(
        conn.execute(select(human_task_table).where(where).order_by(*_order(conn)).limit(limit).offset(offset))
    )
    return rows, int(total)


def _order(conn: Connection) -> tuple[Any, ...]:
    """Soonest due first, tasks without a due time last. On PostgreSQL ``due_at`` (ascending: NULLS LAST by default),
    which ``ix_human_task_live_order`` serves; on SQLite (NULLs first) ``due_at IS NULL`` first."""
    ht = human_task_table.c
    if conn.dialect.name == "postgresql":
        return ht.due_at.asc().nulls_last(), ht.created_at, ht.id
    return ht.due_at.is_(None), ht.due_at, ht.created_at, ht.id


def inbox_page(
    conn: Connection,
    *,
    visible: Visibility | None,
    conditions: list[Any],
    limit: int,
    offset: int,
    selective: bool = False,
) -> list[Row]:
    """A page of the inbox, soonest due first. ``visible`` None: every task (an admin). The statuses of ``visible``
    are also a condition, so ``ix_human_task_live_order`` (partial: live statuses) can serve the order: the rows are
    read in it and probed until the page is full. ``selective``: the conditions keep few rows (a text search, found
    by its trigram index on PostgreSQL), so the visible set is joined as ids and the few rows left are sorted."""
    where = list(conditions)
    if visible is not None:
        shape = visible.ids_clause() if selective else visible.filter_clause()
        where += [human_task_table.c.status.in_(visible.statuses), shape]
    stmt = select(human_task_table).where(*where).order_by(*_order(conn)).limit(limit).offset(offset)
    return all_rows(conn.execute(stmt))


def count_inbox(conn: Connection, *, visible: Visibility | None, conditions: list[Any], cap: int) -> tuple[int, bool]:
    """How many tasks match, counted up to ``cap`` (True when there are more): at most ``cap + 1`` rows are read."""
    where = list(conditions)
    if visible is not None:
        where += [human_task_table.c.status.in_(visible.statuses), visible.ids_clause()]
    matching = select(human_task_table.c.id).where(*where).limit(cap + 1).subquery()
    found = int(conn.execute(select(func.count()).select_from(matching)).scalar_one())
    return min(found, cap), found > cap


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


def candidate_group_clause(group: str, *, statuses: Sequence[str] | None = None) -> Any:
    """Tasks naming ``group`` as a candidate (in ``statuses``, when given: read from the candidate rows' index)."""
    tc = task_candidate_table.c
    chosen = select(tc.task_id).where(tc.kind == "group", tc.value == group)
    if statuses is not None:
        chosen = chosen.where(tc.status.in_(list(statuses)))
    return human_task_table.c.id.in_(chosen)
