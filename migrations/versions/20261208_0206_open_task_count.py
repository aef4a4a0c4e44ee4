"""open task counts: ``open_task_count`` holds how many live tasks share a process, candidate groups, UTC day of the
due time and UTC day of the warning time, kept by triggers on ``human_task`` (a task counted when written live, moved
when its key changes, uncounted when it finishes or is deleted; a row at 0 deleted), and filled from the live tasks;
the dashboard reads its open, warning and overdue figures from these few hundred rows and the live tasks due or
warned today (the latter by a new partial index of live tasks' warning and due times), instead of every live task
(issue 15.1, goal 1 on SQLite).

SQLite only; on PostgreSQL this revision does nothing, up or down. There every command moving a task would lock a
shared count row until its commit (concurrent commands of one process, groups and day queued on it, against the two
servers' scaling; two moving tasks between two rows in opposite orders deadlocked, which the executor does not retry)
and the trigger would add backend CPU to every write, for a read PostgreSQL's scan of the live tasks serves within its
goal (41 ms p95 against 200 ms). SQLite has one writer at a time: no queue on a row, no deadlock. The table and the
index are outside the models (engine/store/dashboard.py ``open_task_count_table``, engine/store/schema.py).

Revision ID: 0206
Revises: 0207
Create Date: 2026-12-08 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import phoihop.engine.store.types

revision: str = "0206"
down_revision: str | None = "0207"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "open_task_count"
NO_DAY = "9999-12-31"  # the day of a missing due or warning time: after every today, never overdue nor warned
_KEY = "process_key, candidate_groups, due_day, warn_day"
_LIVE_WHERE = "status IN ('open', 'claimed', 'awaiting_approval')"  # the live statuses, as the partial indexes say
_TRIGGERS = ("open_task_count_insert", "open_task_count_update", "open_task_count_delete")


def _live(row: str) -> str:
    """``row`` counts: a live status (as migrations 0201-0204 write them) and never finished."""
    return f"({row}.status IN ('open', 'claimed', 'awaiting_approval') AND {row}.completed_at IS NULL)"


def _changed(old: str, new: str, differ: str) -> str:
    """The UPDATE trigger's condition: the row enters or leaves the counts, or a counted row changes its key.
    ``differ``: ``IS NOT`` (``IS DISTINCT FROM`` needs SQLite 3.39; FTS5's trigram of 0204 asks only 3.34)."""
    columns = ("process_key", "candidate_groups", "due_at", "warn_at", "created_at")
    moved = " OR ".join(f"{old}.{c} {differ} {new}.{c}" for c in columns)
    return f"({_live(old)} {differ} {_live(new)} OR ({_live(new)} AND ({moved})))"


_UPDATE_OF = "UPDATE OF status, completed_at, process_key, candidate_groups, due_at, warn_at, created_at"

# the UTC text's first ten characters are its day
_SQLITE_DAY = "COALESCE(substr({row}.{column}, 1, 10), '" + NO_DAY + "')"


def _sqlite_key(row: str) -> str:
    due, warn = _SQLITE_DAY.format(row=row, column="due_at"), _SQLITE_DAY.format(row=row, column="warn_at")
    return (
        f"process_key = {row}.process_key AND candidate_groups = {row}.candidate_groups"
        f" AND due_day = {due} AND warn_day = {warn}"
    )


def _sqlite_remove(row: str) -> str:
    return (
        f"UPDATE {TABLE} SET tasks = tasks - 1 WHERE {_sqlite_key(row)} AND {_live(row)};"
        f" DELETE FROM {TABLE} WHERE {_sqlite_key(row)} AND tasks <= 0;"
    )


def _sqlite_add(row: str) -> str:
    due, warn = _SQLITE_DAY.format(row=row, column="due_at"), _SQLITE_DAY.format(row=row, column="warn_at")
    # INSERT … SELECT … WHERE (never VALUES): the WHERE both tests the row and ends the SELECT before ON CONFLICT
    return (
        f"INSERT INTO {TABLE} ({_KEY}, tasks, latest_created_at)"
        f" SELECT {row}.process_key, {row}.candidate_groups, {due}, {warn}, 1, {row}.created_at WHERE {_live(row)}"
        f" ON CONFLICT ({_KEY}) DO UPDATE"
        " SET tasks = tasks + 1, latest_created_at = max(latest_created_at, excluded.latest_created_at);"
    )


_SQLITE = (
    f"""CREATE TRIGGER open_task_count_insert AFTER INSERT ON human_task
    FOR EACH ROW WHEN {_live("NEW")} BEGIN {_sqlite_add("NEW")} END""",
    f"""CREATE TRIGGER open_task_count_update AFTER {_UPDATE_OF} ON human_task
    FOR EACH ROW WHEN {_changed("OLD", "NEW", "IS NOT")} BEGIN {_sqlite_remove("OLD")} {_sqlite_add("NEW")} END""",
    f"""CREATE TRIGGER open_task_count_delete AFTER DELETE ON human_task
    FOR EACH ROW WHEN {_live("OLD")} BEGIN {_sqlite_remove("OLD")} END""",
)
_SQLITE_FILL = f"""INSERT INTO {TABLE} ({_KEY}, tasks, latest_created_at)
    SELECT process_key, candidate_groups, {_SQLITE_DAY.format(row="human_task", column="due_at")},
        {_SQLITE_DAY.format(row="human_task", column="warn_at")}, count(*), max(created_at)
    FROM human_task WHERE {_live("human_task")} GROUP BY 1, 2, 3, 4"""
_SQLITE_DOWN = tuple(f"DROP TRIGGER {name}" for name in _TRIGGERS)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if not _sqlite():
        return
    op.create_table(
        TABLE,
        sa.Column("process_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("candidate_groups", sa.JSON(), nullable=False),
        sa.Column("due_day", sa.Date(), nullable=False),
        sa.Column("warn_day", sa.Date(), nullable=False),
        sa.Column("tasks", sa.Integer(), nullable=False),
        sa.Column("latest_created_at", phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("process_key", "candidate_groups", "due_day", "warn_day"),
    )
    # the live tasks warned today, read only by the counts' path (PostgreSQL's scan never uses it)
    op.create_index(
        "ix_human_task_live_warn",
        "human_task",
        ["warn_at", "due_at"],
        unique=False,
        sqlite_where=sa.text(_LIVE_WHERE),
    )
    # the triggers first, then the rows they will keep (the upgrade holds SQLite's write lock throughout)
    for statement in _SQLITE:
        op.execute(statement)
    op.execute(_SQLITE_FILL)


def downgrade() -> None:
    if not _sqlite():
        return
    for statement in _SQLITE_DOWN:
        op.execute(statement)
    op.drop_index("ix_human_task_live_warn", table_name="human_task")
    op.drop_table(TABLE)
