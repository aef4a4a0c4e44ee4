"""inbox list order: candidate rows carry their task's due and creation times (written with the task, kept by the
triggers of migration 0201, now also on a change of ``due_at``), and the candidates' index ends with the inbox's order,
``(kind, value, status, due_at, created_at, task_id)``, so an agency's first page is read in order from it; on
PostgreSQL a trigram index of the live tasks' search text (issue 15.1)

Revision ID: 0202
Revises: 0201
Create Date: 2026-12-07 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import phoihop.engine.store.types

revision: str = "0202"
down_revision: str | None = "0203"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_TRIGRAM_INDEX = "ix_human_task_live_search_trgm"  # PostgreSQL with pg_trgm only: outside the models
_LIVE = "status IN ('open', 'claimed', 'awaiting_approval')"  # the live statuses, as the partial indexes say them

# migration 0201's triggers, written again: the sync copies due_at with the status (a change of either), the fill
# gives a candidate row written without them (an instance move) its task's status and times
_PG_DROP = (
    "DROP TRIGGER task_candidate_status_default ON task_candidate",
    "DROP TRIGGER human_task_status_to_candidates ON human_task",
    "DROP FUNCTION task_candidate_status_fill()",
    "DROP FUNCTION task_candidate_status_sync()",
)
_PG = (
    """CREATE FUNCTION task_candidate_status_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE task_candidate SET status = NEW.status, due_at = NEW.due_at, created_at = NEW.created_at
        WHERE task_id = NEW.id AND (status IS DISTINCT FROM NEW.status OR due_at IS DISTINCT FROM NEW.due_at
            OR created_at IS DISTINCT FROM NEW.created_at);
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER human_task_status_to_candidates AFTER UPDATE OF status, due_at, created_at ON human_task
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.due_at IS DISTINCT FROM NEW.due_at
        OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION task_candidate_status_sync()""",
    """CREATE FUNCTION task_candidate_status_fill() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT status, due_at, created_at INTO NEW.status, NEW.due_at, NEW.created_at
        FROM human_task WHERE id = NEW.task_id;
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER task_candidate_status_default BEFORE INSERT ON task_candidate
    FOR EACH ROW WHEN (NEW.status IS NULL OR NEW.created_at IS NULL) EXECUTE FUNCTION task_candidate_status_fill()""",
)
_SQLITE_DROP = ("DROP TRIGGER task_candidate_status_default", "DROP TRIGGER human_task_status_to_candidates")
_SQLITE = (
    """CREATE TRIGGER human_task_status_to_candidates AFTER UPDATE OF status, due_at, created_at ON human_task
    FOR EACH ROW WHEN OLD.status IS NOT NEW.status OR OLD.due_at IS NOT NEW.due_at OR OLD.created_at IS NOT NEW.created_at
    BEGIN UPDATE task_candidate SET status = NEW.status, due_at = NEW.due_at, created_at = NEW.created_at
        WHERE task_id = NEW.id; END""",
    """CREATE TRIGGER task_candidate_status_default AFTER INSERT ON task_candidate
    FOR EACH ROW WHEN NEW.status IS NULL OR NEW.created_at IS NULL
    BEGIN UPDATE task_candidate SET (status, due_at, created_at) =
        (SELECT status, due_at, created_at FROM human_task WHERE id = NEW.task_id)
        WHERE task_id = NEW.task_id AND kind = NEW.kind AND value = NEW.value; END""",
)
# 0201's, to go back to
_PG_0201 = (
    """CREATE FUNCTION task_candidate_status_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE task_candidate SET status = NEW.status WHERE task_id = NEW.id AND status IS DISTINCT FROM NEW.status;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER human_task_status_to_candidates AFTER UPDATE OF status ON human_task
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION task_candidate_status_sync()""",
    """CREATE FUNCTION task_candidate_status_fill() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.status := (SELECT status FROM human_task WHERE id = NEW.task_id);
        RETURN NEW;
    END $$""",
    """CREATE TRIGGER task_candidate_status_default BEFORE INSERT ON task_candidate
    FOR EACH ROW WHEN (NEW.status IS NULL) EXECUTE FUNCTION task_candidate_status_fill()""",
)
_SQLITE_0201 = (
    """CREATE TRIGGER human_task_status_to_candidates AFTER UPDATE OF status ON human_task
    FOR EACH ROW WHEN OLD.status IS NOT NEW.status
    BEGIN UPDATE task_candidate SET status = NEW.status WHERE task_id = NEW.id; END""",
    """CREATE TRIGGER task_candidate_status_default AFTER INSERT ON task_candidate
    FOR EACH ROW WHEN NEW.status IS NULL
    BEGIN UPDATE task_candidate SET status = (SELECT status FROM human_task WHERE id = NEW.task_id)
        WHERE task_id = NEW.task_id AND kind = NEW.kind AND value = NEW.value; END""",
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    for statement in _PG_DROP if _postgresql() else _SQLITE_DROP:
        op.execute(statement)
    # plain ADD COLUMN and CREATE INDEX on both databases: no table copy (a SQLite copy would drop the triggers)
    op.add_column("task_candidate", sa.Column("due_at", phoihop.engine.store.types.UtcDateTime(), nullable=True))
    op.add_column("task_candidate", sa.Column("created_at", phoihop.engine.store.types.UtcDateTime(), nullable=True))
    # the candidates' index gains the order (an agency's tasks in a status read in the inbox's order): dropped before
    # every row is written, built after
    op.drop_index("ix_task_candidate_inbox", table_name="task_candidate")
    op.execute(
        "UPDATE task_candidate SET due_at = human_task.due_at, created_at = human_task.created_at"
        " FROM human_task WHERE human_task.id = task_candidate.task_id"
    )  # UPDATE … FROM: PostgreSQL, SQLite >= 3.33
    op.create_index(
        "ix_task_candidate_inbox",
        "task_candidate",
        ["kind", "value", "status", "due_at", "created_at", "task_id"],
        unique=False,
    )
    for statement in _PG if _postgresql() else _SQLITE:
        op.execute(statement)
    if _postgresql():
        op.execute("ANALYZE task_candidate")  # the planner's figures for the new columns, before the first inbox read
        _live_trigram_index()


def _live_trigram_index() -> None:
    """The inbox search over live tasks through a trigram index of those alone (a tenth of the rows when history is
    nine tenths), where migration 0201 could create pg_trgm."""
    bind = op.get_bind()
    if bind.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").first() is None:
        return
    op.execute(
        f"CREATE INDEX {LIVE_TRIGRAM_INDEX} ON human_task USING gin (search_text gin_trgm_ops) WHERE {_LIVE}"
    )


def downgrade() -> None:
    if _postgresql():
        op.execute(f"DROP INDEX IF EXISTS {LIVE_TRIGRAM_INDEX}")
    for statement in _PG_DROP if _postgresql() else _SQLITE_DROP:
        op.execute(statement)
    op.drop_index("ix_task_candidate_inbox", table_name="task_candidate")
    with op.batch_alter_table("task_candidate", schema=None) as batch:
        batch.drop_column("created_at")
        batch.drop_column("due_at")
    op.create_index("ix_task_candidate_inbox", "task_candidate", ["kind", "value", "status", "task_id"], unique=False)
    for statement in _PG_0201 if _postgresql() else _SQLITE_0201:
        op.execute(statement)
