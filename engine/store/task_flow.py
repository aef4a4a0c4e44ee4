"""Statements of send-back (``task_return``) and of drafts awaiting a lead's approval (``task_draft``, and the
``human_task`` status moves of a draft: submitted, sent back to its drafter, approved). The writes of a send-back and
an approval wait for the command's next trip (store/rawsql.py: hand-written, deferred on PostgreSQL), as a complete's
do; the reads they need go with the locks (``DRAFT_OF_TASK``, ``VARIABLES_OF_TASK_INSTANCE``: statements for
``repository.lock_task_and_instance_then``). The rest is SQLAlchemy Core. Never commits: the caller owns the
transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from phoihop.engine.store import rawsql
from phoihop.engine.store.models import TaskDraft, TaskReturn
from phoihop.engine.store.tables import Row, human_task_table

task_return_table = TaskReturn.__table__  # type: ignore[attr-defined]
task_draft_table = TaskDraft.__table__  # type: ignore[attr-defined]

AWAITING_APPROVAL = "awaiting_approval"
RETURNED = "returned"


# read with the locks (``repository.lock_task_and_instance_then``), ``:id`` the task's id
DRAFT_OF_TASK = "SELECT task_id, instance_id, data, drafted_by, drafted_at FROM task_draft WHERE task_id = :id"
VARIABLES_OF_TASK_INSTANCE = (
    "SELECT variables FROM process_instance WHERE id = (SELECT instance_id FROM human_task WHERE id = :id)"
)
_INSERT_RETURN = (
    "INSERT INTO task_return (instance_id, task_id, element_id, reopened_task_id, reopened_element_id, kind, reason,"
    " returned_by, returned_at) VALUES (:instance_id, :task_id, :element_id, :reopened_task_id, :reopened_element_id,"
    " :kind, :reason, :returned_by, :returned_at)"
)
_REOPEN_DRAFT = (  # status: AWAITING_APPROVAL
    "UPDATE human_task SET status = 'claimed', assignee = :drafter, claimed_at = :at"
    " WHERE id = :id AND status = 'awaiting_approval'"
)
_APPROVE = (
    "UPDATE human_task SET status = 'completed', completed_at = :at, completed_by = :approver"
    " WHERE id = :id AND status = 'awaiting_approval'"
)


def draft_out(row: Row | None) -> Row | None:
    """A ``DRAFT_OF_TASK`` row as ``get_draft`` gives it."""
    return rawsql.row_out(row, times=("drafted_at",), jsons=("data",)) if row is not None else None


def insert_return(conn: Connection, row: dict[str, Any]) -> None:
    """The write waits for the next trip."""
    rawsql.defer(conn, _INSERT_RETURN, {**row, "returned_at": rawsql.ts(conn, row["returned_at"])})


def latest_returns(conn: Connection, task_ids: Iterable[str]) -> dict[str, Row]:
    """The latest send-back that reopened each of ``task_ids`` (task id → its ``task_return`` row)."""
    ids = list(task_ids)
    if not ids:
        return {}
    rows = conn.execute(
        select(task_return_table).where(task_return_table.c.reopened_task_id.in_(ids)).order_by(task_return_table.c.id)
    ).mappings()
    return {r["reopened_task_id"]: dict(r) for r in rows}  # later rows win


def save_draft(conn: Connection, row: dict[str, Any]) -> None:
    """Keep an officer's draft (replacing the one sent back before, if any)."""
    conn.execute(delete(task_draft_table).where(task_draft_table.c.task_id == row["task_id"]))
    conn.execute(insert(task_draft_table).values(**row))


def get_draft(conn: Connection, task_id: str) -> Row | None:
    row = conn.execute(select(task_draft_table).where(task_draft_table.c.task_id == task_id)).mappings().first()
    return dict(row) if row is not None else None


def mark_awaiting_approval(conn: Connection, task_id: str, drafter: str, at: datetime) -> bool:
    """An open or claimed task drafted by ``drafter``: awaiting a lead's approval, still assigned to its drafter."""
    result = conn.execute(
        update(human_task_table)
        .where(human_task_table.c.id == task_id, human_task_table.c.status.in_(("open", "claimed")))
        .values(status=AWAITING_APPROVAL, assignee=drafter, claimed_at=at)
    )
    return bool(result.rowcount == 1)


def reopen_draft(conn: Connection, task: Mapping[str, Any], drafter: str, at: datetime) -> Row:
    """A draft sent back: the task (its row as read locked in this transaction, awaiting approval) is the drafter's
    to work on again. Returns the row as the update leaves it; the write waits for the next trip."""
    rawsql.defer(conn, _REOPEN_DRAFT, {"id": task["id"], "drafter": drafter, "at": rawsql.ts(conn, at)})
    return {**task, "status": "claimed", "assignee": drafter, "claimed_at": at}


def approve_task(conn: Connection, task: Mapping[str, Any], approver: str, at: datetime) -> Row:
    """A draft approved: the task (its row as read locked in this transaction, awaiting approval) completed by the
    approving lead; the drafter stays its assignee. Returns the row as the update leaves it; the write waits for the
    next trip."""
    rawsql.defer(conn, _APPROVE, {"id": task["id"], "approver": approver, "at": rawsql.ts(conn, at)})
    return {**task, "status": "completed", "completed_at": at, "completed_by": approver}
