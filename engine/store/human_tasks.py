"""Statements on ``human_task`` and its candidates (``task_candidate``): insert, read, claim, release, complete,
close, and the inbox's conditions. Never commits: the caller owns the transaction."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    String,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    text,
    true,
    tuple_,
    union,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import ExternallyTraversible, InternalTraversal, iterate, replacement_traverse

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
# a candidate row carries its task's status, due and creation times (kept by the triggers of migrations 0201 and 0202
# when they change), so the inbox reads an agency's live tasks in its order from one index, never its history
_INSERT_CANDIDATE = (
    "INSERT INTO task_candidate (task_id, kind, value, status, due_at, created_at)"
    " VALUES (:task_id, :kind, :value, :status, :due_at, :created_at)"
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
        {
            "task_id": r["id"],
            "kind": kind,
            "value": value,
            "status": r["status"],
            "due_at": r["due_at"],
            "created_at": r["created_at"],
        }
        for t, r in zip(tasks, rows, strict=True)
        for kind, values in (("group", t["candidate_groups"]), ("user", t["candidate_users"]))
        for value in values
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

_HEAD_COLUMNS = ("id", "definition_id", "process_key", "business_key", "status", "version", "started_by")
_TASK_AND_HEAD = (
    "SELECT t.*, "  # noqa: S608  (column names only)
    + ", ".join(f"i.{name} AS head_{name}" for name in _HEAD_COLUMNS)
    + " FROM human_task t LEFT JOIN process_instance i ON i.id = t.instance_id WHERE t.id = :id"
)


def lock_task_and_instance(conn: Connection, task_id: str) -> tuple[Row | None, Row | None]:
    """The head of the task's instance (as ``lock_instance_head`` reads it) and the task's row, both locked, in one
    trip (PostgreSQL: two statements in one pipeline, run in this order; SQLite: ``BEGIN IMMEDIATE`` holds every
    row already). (None, None): no such task."""
    head, task, _ = lock_task_and_instance_then(conn, task_id, ())
    return head, task


def lock_task_and_instance_then(
    conn: Connection, task_id: str, reads: Sequence[str]
) -> tuple[Row | None, Row | None, list[Row | None]]:
    """``lock_task_and_instance``, and the first row of each of ``reads`` (statements whose one parameter ``:id`` is
    the task's id) run after the locks in the same trip: what a command needs besides the two rows (a send-back: the
    instance's variables and the task's draft) costs it no trip of its own."""
    if not is_id(task_id):
        return None, None, [None for _ in reads]
    params = {"id": task_id}
    if conn.dialect.name != "postgresql":  # BEGIN IMMEDIATE holds every row: both read by one statement
        row = rawsql.run(conn, _TASK_AND_HEAD, params).first()
        more = [rawsql.run(conn, sql, params).first() for sql in reads]
        if row is None:
            return None, None, more
        instance = {name: row.pop(f"head_{name}") for name in _HEAD_COLUMNS}
        found = rawsql.row_out(row, times=_TASK_TIMES, jsons=_TASK_JSONS)
        return (instance if instance["id"] is not None else None), found, more
    head, task, *more = (
        result.first()
        for result in rawsql.run_together(
            conn,
            [
                (_LOCK_INSTANCE_OF_TASK, params),
                (_GET_TASK + " FOR UPDATE", params),
                *((sql, params) for sql in reads),
            ],
        )
    )
    if head is not None:
        rawsql.locked(conn, head["id"], head["version"])
    return head, rawsql.row_out(task, times=_TASK_TIMES, jsons=_TASK_JSONS) if task is not None else None, more


_CLOSE_TASKS = {  # the live ones: LIVE_STATUSES
    "postgresql": "UPDATE human_task SET status = :status, completed_at = :at WHERE id = ANY(CAST(:ids AS varchar[]))"
    " AND status IN ('open', 'claimed', 'awaiting_approval')",
    "sqlite": "UPDATE human_task SET status = :status, completed_at = :at WHERE id IN (SELECT value FROM"
    " json_each(:ids)) AND status IN ('open', 'claimed', 'awaiting_approval')",
}


def close_tasks(conn: Connection, task_ids: Iterable[str], *, status: str, at: datetime) -> None:
    """The live ones of ``task_ids`` closed as ``status`` at ``at``; the write waits for the next trip."""
    ids = list(task_ids)
    if ids:
        values = ids if conn.dialect.name == "postgresql" else rawsql.js(ids)
        params = {"status": status, "at": rawsql.ts(conn, at), "ids": values}
        rawsql.defer(conn, _CLOSE_TASKS[conn.dialect.name], params)


_INSTANCE_TASKS = "SELECT * FROM human_task WHERE instance_id = :id"
_INSTANCE_OPEN_TASKS = _INSTANCE_TASKS + " AND status IN ('open', 'claimed', 'awaiting_approval')"


def tasks_of_instance(conn: Connection, instance_id: str, *, open_only: bool) -> list[Row]:
    sql = (_INSTANCE_OPEN_TASKS if open_only else _INSTANCE_TASKS) + " ORDER BY created_at, id"
    rows = rawsql.run(conn, sql, {"id": instance_id}).all()
    return [rawsql.row_out(r, times=_TASK_TIMES, jsons=_TASK_JSONS) for r in rows]


# --- the inbox --------------------------------------------------------------------------------------------------------
LIVE_SEARCH_TABLE = "human_task_live_search"  # SQLite: FTS5 trigram, the live tasks' search text (0204; keyed: 0207)
TRIGRAM = 3  # the shortest text a trigram index finds (a shorter one yields no trigram: every row is read)


class LiveTextMatch(ColumnElement[Any]):
    """Live tasks whose folded search text may contain ``folded`` (at least ``TRIGRAM`` characters), as the index
    answers it: on SQLite the task's id among the rows of the FTS5 table of migration 0204 matching the text as one
    phrase of trigrams (every row whose text contains it, and maybe a few more: the search's LIKE, beside it, decides);
    on PostgreSQL ``true`` (its partial trigram index serves the LIKE itself). Untyped, so SQLite gets no "= 1"."""

    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy's own declaration: a plain list attribute)
        ("task_id", InternalTraversal.dp_clauseelement),
        ("phrase", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, folded: str) -> None:
        self.task_id = human_task_table.c.id
        self.phrase = bindparam(None, '"' + folded.replace('"', '""') + '"', type_=String())


@compiles(LiveTextMatch, "sqlite")
def _live_text_match_sqlite(element: LiveTextMatch, compiler: Any, **kw: Any) -> str:
    # a constant table name; the text a bound parameter
    task_id, phrase = compiler.process(element.task_id, **kw), compiler.process(element.phrase, **kw)
    return f"{task_id} IN (SELECT task_id FROM {LIVE_SEARCH_TABLE} WHERE {LIVE_SEARCH_TABLE} MATCH {phrase})"  # noqa: S608


@compiles(LiveTextMatch)
def _live_text_match(element: LiveTextMatch, compiler: Any, **kw: Any) -> str:
    return "true"


COMMON_TEXT = 1000  # a text the live tasks' index finds this often is read the ordered ways, not by the index
_COMMON_KEY = "phoihop_common_texts"  # conn.info: phrase -> common (a plan's choice only: never a result)


def live_text_is_selective(conn: Connection, conditions: Iterable[Any]) -> bool:
    """Whether the live text searched in ``conditions`` (SQLite's FTS5 index) finds fewer than ``COMMON_TEXT`` live
    tasks: then checking each against the caller beats reading the caller's tasks in order; a common text (a
    surname, "nguyen": 7,376 live tasks of 100,000) is found sooner in order, each way stopping at a page. Counted
    at most ``COMMON_TEXT`` rows deep, once per phrase and pooled connection (a stale answer costs time, never rows)."""
    phrases = [str(e.phrase.value) for c in conditions for e in iterate(c) if isinstance(e, LiveTextMatch)]
    if not phrases:
        return False
    known: dict[str, bool] = conn.info.setdefault(_COMMON_KEY, {})
    for phrase in phrases:
        if phrase not in known:
            if len(known) > 256:
                known.clear()
            found = conn.exec_driver_sql(
                f"SELECT count(*) FROM (SELECT 1 FROM {LIVE_SEARCH_TABLE} WHERE {LIVE_SEARCH_TABLE} MATCH ?"  # noqa: S608
                f" LIMIT {COMMON_TEXT})",
                (phrase,),
            ).scalar_one()
            known[phrase] = int(found) >= COMMON_TEXT
    return not all(known[phrase] for phrase in phrases)


def without_live_text(conditions: list[Any]) -> list[Any]:
    """``conditions`` with the live text index's part dropped (the LIKE beside it stays and decides)."""

    def drop(element: ExternallyTraversible, **_: Any) -> ExternallyTraversible | None:
        return true() if isinstance(element, LiveTextMatch) else None

    return [replacement_traverse(c, {}, drop) for c in conditions]


@dataclass(frozen=True)
class Visibility:
    """Who reads the inbox: tasks naming ``groups`` or ``user_ids`` as candidates, or held or completed by one of
    ``user_ids``, in one of ``statuses``; and the tasks in one of ``held`` that ``holder`` holds (the caller's own
    drafts awaiting a lead's approval). Candidate rows carry their task's status, so only the rows of an agency in
    those statuses are read, never its history."""

    user_ids: tuple[str, ...]
    groups: tuple[str, ...]
    statuses: tuple[str, ...]
    held: tuple[str, ...] = ()
    holder: str | None = None

    def status_clause(self) -> Any:
        """The statuses as a condition of the task's row."""
        ht = human_task_table.c
        if not self.held:
            return ht.status.in_(self.statuses)
        return or_(ht.status.in_(self.statuses), and_(ht.status.in_(self.held), ht.assignee == self.holder))

    def names(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The one spelling of the candidate rows that name the caller, ``(kind, values)``: its groups, then its
        people. Each reader of the candidates builds its condition from it (``ids_clause``, ``named_clause``, the
        inbox's ways in ``inbox_page``)."""
        return (("group", self.groups), ("user", self.user_ids))

    def people(self) -> tuple[Any, Any]:
        """The caller's people as conditions of the task's row: holding it, having completed it."""
        ht = human_task_table.c
        return ht.assignee.in_(self.user_ids), ht.completed_by.in_(self.user_ids)

    def ids_clause(self) -> Any:
        """As a set of ids: a union of index reads (candidate rows by group and by person, tasks held, tasks
        completed, each only of rows in ``statuses``; the caller's drafts in ``held``); what counting a small set
        needs (engine/store/inbox_choices.py)."""
        tc, ht = task_candidate_table.c, human_task_table.c
        ways = [
            select(tc.task_id).where(tc.kind == kind, tc.value.in_(values), tc.status.in_(self.statuses))
            for kind, values in self.names()
        ]
        ways += [select(ht.id).where(person, ht.status.in_(self.statuses)) for person in self.people()]
        if self.held and self.holder is not None:
            ways.append(select(ht.id).where(ht.assignee == self.holder, ht.status.in_(self.held)))
        return ht.id.in_(union(*ways).scalar_subquery())

    def named_clause(self) -> Any:
        """As a condition of each row read (few: a text search found by its trigram index): its candidate rows probed
        by their key, ``(task_id, kind, value)``."""
        tc, ht = task_candidate_table.c, human_task_table.c
        named_by = or_(*(and_(tc.kind == kind, tc.value.in_(values)) for kind, values in self.names()))
        named = select(tc.task_id).where(tc.task_id == ht.id, named_by).exists()
        return and_(self.status_clause(), or_(*self.people(), named))


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


@dataclass(frozen=True)
class InboxKey:
    """Where a row stands in the inbox's order (soonest due first, no due time last, then created, then id): the
    keyset cursor of a next page reads the rows after it."""

    due_at: datetime | None
    created_at: datetime
    id: str


def _after(key: InboxKey, due: Any, created: Any, task_id: Any) -> Any:
    """Rows after ``key`` in the inbox's order (``due`` ascending with NULLs last, ``created``, ``task_id``)."""
    if key.due_at is None:
        return and_(due.is_(None), tuple_(created, task_id) > tuple_(literal(key.created_at, created.type), key.id))
    return or_(
        due.is_(None),
        tuple_(due, created, task_id)
        > tuple_(literal(key.due_at, due.type), literal(key.created_at, created.type), key.id),
    )


_SORT = ("inbox_due", "inbox_created", "inbox_id")  # the order's columns in the merged branches (dropped from the rows)


_COPIED = ("status", "due_at", "created_at")  # the task's columns its candidate rows carry (migrations 0201, 0202)


def _on_candidates(clause: Any) -> Any:
    """``clause`` with the task's status, due and creation times read from its candidate row: a condition the
    candidates' index answers (a range of ``due_at``) and a plan that starts from that index (the planner cannot know
    that a live candidate row's task is live: a status condition on ``human_task``, where history makes live rows
    rare, looks selective enough to read every live task by another index and join them)."""

    def swap(element: ExternallyTraversible, **_: Any) -> ExternallyTraversible | None:
        if isinstance(element, Column) and element.table is human_task_table and element.name in _COPIED:
            copied: ExternallyTraversible = task_candidate_table.c[element.name]
            return copied
        return None

    return replacement_traverse(clause, {}, swap)


def _reads_task(clause: Any) -> bool:
    """Whether ``clause`` reads a column of ``human_task``."""
    return any(isinstance(e, Column) and e.table is human_task_table for e in iterate(clause))


def _ways(visible: Visibility, *, conditions: list[Any], after: InboxKey | None) -> list[tuple[Any, tuple[Any, ...]]]:
    """The caller's visible tasks as one SELECT of their places in the inbox's order (due, created, id) per way of
    seeing them, with the columns of that order: a candidate group or person in one status (read from
    ``ix_task_candidate_inbox``, ``(kind, value, status, due_at, created_at, task_id)``: an agency's tasks in a status
    in the inbox's order, the conditions on status and times answered by the index, alone when no condition reads
    another column of the task), the tasks a person holds, those a person completed, the caller's drafts awaiting
    approval (few). Each keeps the tasks that match ``conditions`` and come ``after`` the keyset cursor."""
    tc, ht = task_candidate_table.c, human_task_table.c
    on_candidates = [_on_candidates(c) for c in conditions]
    candidates: Any = task_candidate_table
    if any(_reads_task(c) for c in on_candidates):
        candidates = task_candidate_table.join(human_task_table, ht.id == tc.task_id)
    ways: list[tuple[Any, tuple[Any, ...]]] = [
        (
            select(*_places(tc.due_at, tc.created_at, tc.task_id))
            .select_from(candidates)
            .where(tc.kind == kind, tc.value == value, tc.status == status, *on_candidates),
            (tc.due_at, tc.created_at, tc.task_id),
        )
        for kind, values in visible.names()
        for value in values
        for status in visible.statuses
    ]
    people = [(person, visible.statuses) for person in visible.people()]
    if visible.held:
        people.append((ht.assignee == visible.holder, visible.held))
    ways += [
        (
            select(*_places(ht.due_at, ht.created_at, ht.id)).where(person, ht.status.in_(statuses), *conditions),
            (ht.due_at, ht.created_at, ht.id),
        )
        for person, statuses in people
    ]
    if after is None:
        return ways
    return [(way.where(_after(after, *order)), order) for way, order in ways]


def _places(due: Any, created: Any, task_id: Any) -> tuple[Any, Any, Any]:
    return due.label(_SORT[0]), created.label(_SORT[1]), task_id.label(_SORT[2])


def _by_trigrams(conn: Connection, selective: bool, conditions: list[Any]) -> bool:
    """A text search of a caller's tasks is found by its trigram index, each row found then checked: on PostgreSQL
    (of the live tasks when the caller reads those: migration 0202), on SQLite when the search is of live tasks by a
    text of at least ``TRIGRAM`` characters (``LiveTextMatch``: the FTS5 table of migration 0204); else the ways of
    seeing the tasks are read in order and each row's text tested."""
    if conn.dialect.name == "postgresql":
        return selective
    return selective and live_text_is_selective(conn, conditions)


def _searched(visible: Visibility) -> list[Any]:
    """The conditions of a caller's text search by trigrams: visible, and live when the caller reads live tasks only
    (said with literal values, so that the partial trigram index of migration 0202 serves it)."""
    live = text("human_task.status IN ('open', 'claimed', 'awaiting_approval')")
    return [
        visible.named_clause(),
        *([live] if all(s in LIVE_STATUSES for s in visible.statuses + visible.held) else []),
    ]


def _member(dialect: str, stmt: Any) -> Any:
    """A SELECT with its own ORDER BY or LIMIT as a member of a UNION: in parentheses on PostgreSQL (as it is), in a
    subquery on SQLite (which takes no parentheses there)."""
    return stmt if dialect == "postgresql" else select(stmt.subquery())


def _due_order(dialect: str, due: Any) -> Any:
    """``due`` ascending, NULLs last: PostgreSQL's default (its indexes serve it), SQLite's when asked (an index still
    serves it: SQLite reads the non-NULL entries first)."""
    return due.asc() if dialect == "postgresql" else due.asc().nulls_last()


def _merged_page(
    dialect: str, visible: Visibility, conditions: list[Any], limit: int, offset: int, after: InboxKey | None
) -> Any:
    """The page's statement for a caller: each way's first ``offset + limit`` places, merged, the page's rows."""
    ht = human_task_table.c
    firsts = [
        _member(dialect, way.order_by(_due_order(dialect, due), created, task_id).limit(offset + limit))
        for way, (due, created, task_id) in _ways(visible, conditions=conditions, after=after)
    ]
    merged = union(*firsts).subquery()
    place = [merged.c[name] for name in _SORT]
    return (
        select(human_task_table)
        .join(merged, ht.id == place[2])
        .order_by(_due_order(dialect, place[0]), *place[1:])
        .limit(limit)
        .offset(offset)
    )


def _merged_count(dialect: str, visible: Visibility, conditions: list[Any], cap: int) -> Any:
    """The count's statement for a caller: each way's first ``cap + 1`` places, merged, counted."""
    ways = [_member(dialect, way.limit(cap + 1)) for way, _ in _ways(visible, conditions=conditions, after=None)]
    return select(func.count()).select_from(union(*ways).subquery())


# The inbox without a filter (the page most read, by every officer all day) as built statements, one per caller's
# visibility and page: building one (a SELECT per way, their UNION, its column proxies) took longer than SQLite ran
# it (an agency's first page: ~3 ms of Python per read); the statements hold no moment, only the caller's groups,
# people and statuses, so they are reused as they are
@functools.lru_cache(maxsize=1024)
def _plain_page(dialect: str, visible: Visibility, limit: int, offset: int) -> Any:
    return _merged_page(dialect, visible, [], limit, offset, None)


@functools.lru_cache(maxsize=1024)
def _plain_count(dialect: str, visible: Visibility, cap: int) -> Any:
    return _merged_count(dialect, visible, [], cap)


def inbox_page(
    conn: Connection,
    *,
    visible: Visibility | None,
    conditions: list[Any],
    limit: int,
    offset: int,
    selective: bool = False,
    after: InboxKey | None = None,
) -> list[Row]:
    """A page of the inbox in its order (soonest due first, no due time last, then created, then id), after the
    keyset cursor ``after`` when given, then from ``offset``. ``visible`` None: every task (an admin).

    A caller (not an admin): each way of seeing the tasks (a group or a person, in one status) is read in the inbox's
    order from ``ix_task_candidate_inbox``, at most ``offset + limit`` places each, the ways merged (UNION: a task
    seen two ways counts once) and the page's rows read by id: an agency's first page reads about ``limit`` index
    entries and rows, whatever the size of the agency or of its history. ``selective`` (a text search) on PostgreSQL:
    the rows are found by the trigram index, each checked against ``visible`` and the few left sorted."""
    ht = human_task_table.c
    if visible is not None and not _by_trigrams(conn, selective, conditions):
        dialect, conditions = conn.dialect.name, without_live_text(conditions)
        stmt = (
            _plain_page(dialect, visible, limit, offset)
            if not conditions and after is None
            else _merged_page(dialect, visible, conditions, limit, offset, after)
        )
        return all_rows(conn.execute(stmt))
    where = list(conditions)
    if after is not None:
        where.append(_after(after, ht.due_at, ht.created_at, ht.id))
    if visible is not None:
        where += _searched(visible)
    stmt = select(human_task_table).where(*where).order_by(*_order(conn)).limit(limit).offset(offset)
    return all_rows(conn.execute(stmt))


def count_inbox(
    conn: Connection,
    *,
    visible: Visibility | None,
    conditions: list[Any],
    cap: int,
    selective: bool = False,
) -> tuple[int, bool]:
    """How many tasks match, counted up to ``cap`` (True when there are more): at most ``cap + 1`` rows are read (of
    each way of seeing them, for a caller: a way that reaches ``cap + 1`` is past the cap; the inbox and its deadline
    filters from the candidates' index alone)."""
    if visible is not None and not _by_trigrams(conn, selective, conditions):
        dialect, conditions = conn.dialect.name, without_live_text(conditions)
        stmt = (
            _plain_count(dialect, visible, cap) if not conditions else _merged_count(dialect, visible, conditions, cap)
        )
    else:
        where = list(conditions)
        if visible is not None:
            where += _searched(visible)
        stmt = select(func.count()).select_from(select(human_task_table.c.id).where(*where).limit(cap + 1).subquery())
    found = int(conn.execute(stmt).scalar_one())
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
    return human_task_table.c.id.in_(chosen.correlate(None))  # its own candidate rows, not a query's outer ones
