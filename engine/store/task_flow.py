"""Statements of send-back (``task_return``) and of drafts awaiting a lead's approval (``task_draft``, and the
``human_task`` status moves of a draft: submitted, sent back to its drafter, approved). Cold path, SQLAlchemy Core.
Never commits: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from phoihop.engine.store.models import TaskDraft, TaskReturn
from phoihop.engine.store.tables import Row, human_task_table

task_return_table = TaskReturn.__table__  # type: ignore[attr-defined]
task_draft_table = TaskDraft.__table__  # type: ignore[attr-defined]

AWAITING_APPROVAL = "awaiting_approval"
RETURNED = "returned"


def insert_return(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(task_return_table).values(**row))


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


def reopen_draft(conn: Connection, task_id: str, drafter: str, at: datetime) -> bool:
    """A draft sent back: the task is the drafter's to work on again."""
    result = conn.execute(
        update(human_task_table)
        .where(human_task_table.c.id == task_id, human_task_table.c.status == AWAITING_APPROVAL)
        .values(status="claimed", assignee=drafter, claimed_at=at)
    )
    return bool(result.rowcount == 1)


def approve_task(conn: Connection, task_id: str, approver: str, at: datetime) -> Row | None:
    """A draft approved: completed by the approving lead; the drafter stays its assignee. The row as it is now."""
    result = conn.execute(
        update(human_task_table)
        .where(human_task_table.c.id == task_id, human_task_table.c.status == AWAITING_APPROVAL)
        .values(status="completed", completed_at=at, completed_by=approver)
    )
    if result.rowcount != 1:
        return None
    row = conn.execute(select(human_task_table).where(human_task_table.c.id == task_id)).mappings().first()
    return dict(row) if row is not None else None
