"""Phân công: a lead hands an open human task to a named person. Never commits: the caller owns the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from phoihop.engine.store import rawsql
from phoihop.engine.store.tables import Row

_ASSIGN = (
    "UPDATE human_task SET assignee = :user, status = 'claimed', claimed_at = :at"
    " WHERE id = :id AND status IN ('open', 'claimed') RETURNING *"
)


def assign_task(conn: Connection, task_id: str, user_id: str, at: datetime) -> Row | None:
    """The task claimed for ``user_id`` (whoever held it before); its row as the update left it, None when it was not
    open."""
    row = rawsql.run(conn, _ASSIGN, {"id": task_id, "user": user_id, "at": rawsql.ts(conn, at)}).first()
    if row is None:
        return None
    return rawsql.row_out(
        row,
        times=("created_at", "claimed_at", "completed_at", "due_at", "warn_at"),
        jsons=("candidate_groups", "candidate_users"),
    )
