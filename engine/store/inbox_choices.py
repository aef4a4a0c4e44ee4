"""The counts beside the inbox's filter choices (scope, process, deadline state) as ONE read: the caller's visible rows
that any choice keeps are read once, and each choice is a conditional sum over them. Never commits: the caller owns
the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, func, or_, select, true

from phoihop.engine.store.human_tasks import Visibility, live_text_is_selective, without_live_text
from phoihop.engine.store.tables import human_task_table

__all__ = ["count_choices"]


def count_choices(
    conn: Connection,
    *,
    visible: Visibility | None,
    shared: Sequence[Any] = (),
    choices: Sequence[Sequence[Any]],
    scan_cap: int,
) -> list[int] | None:
    """For each choice (the conditions on ``human_task`` of one count, besides the ``shared`` ones every choice
    holds), how many of the rows ``visible`` names (None: every row, an admin) it keeps, all read by one statement:
    the visible rows (in ``visible.statuses`` or ``visible.held``, which hold every status a choice keeps) that hold
    ``shared``, each choice a ``SUM(CASE …)``. At most ``scan_cap + 1`` rows are read; None when more than
    ``scan_cap`` rows are kept (the caller then counts each choice apart, with its own cap)."""
    if not choices:
        return []
    kept = [and_(true(), *conditions) for conditions in choices]
    # the caller's visible rows (their ids from the candidates' index, then each row by its key), or for an admin the
    # rows any choice keeps
    where: list[Any]
    if visible is None:
        where = [or_(*kept)]
    elif conn.dialect.name == "sqlite" and live_text_is_selective(conn, shared):
        # a text every choice searches, found by the live tasks' text index: the few rows it finds, each checked
        # against the caller's candidate rows (not the caller's every visible row, each text tested)
        where = [visible.named_clause()]
    else:
        where = [_status_in(tuple(dict.fromkeys(visible.statuses + visible.held))), visible.ids_clause()]
        if conn.dialect.name == "sqlite":  # a common text: each visible row's text tested, no index list built
            shared, kept = without_live_text(list(shared)), without_live_text(kept)
    where += list(shared)
    flags = [case((condition, 1), else_=0).label(f"choice_{i}") for i, condition in enumerate(kept)]
    rows = select(*flags).where(*where).limit(scan_cap + 1).subquery()
    stmt = select(func.count(), *(func.coalesce(func.sum(rows.c[flag.name]), 0) for flag in flags))
    found, *counts = conn.execute(stmt).one()
    return None if int(found) > scan_cap else [int(c) for c in counts]


def _status_in(statuses: Sequence[str]) -> Any:
    """``status IN ('open', …)`` written with its values, not parameters: SQLite uses a partial index only when the
    query holds its very condition (``ix_human_task_live_counts``: the live statuses in that order)."""
    return human_task_table.c.status.in_(bindparam("statuses", list(statuses), expanding=True, literal_execute=True))
