"""inbox at scale: candidate rows carry their task's status (kept by triggers), an index serving an agency's tasks in a
status, one for the tasks a person completed, the live tasks in the inbox's order, and completion times for the
dashboard (issue 15.1)

Revision ID: 0201
Revises: 0113
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0201"
down_revision: str | None = "0113"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGRAM_INDEX = "ix_human_task_search_trgm"  # PostgreSQL only, and only with pg_trgm: outside the models
_LIVE = "status IN ('open', 'claimed', 'awaiting_approval')"  # the live statuses: the inbox's partial index

# A task's status changes in many places (claim, release, complete, close, send back, move, cancel): one trigger per
# database copies it to the task's candidate rows, whichever statement changed it. A candidate row written without a
# status (by a writer that does not know the column) takes its task's status.
_PG = (
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
_SQLITE = (
    """CREATE TRIGGER human_task_status_to_candidates AFTER UPDATE OF status ON human_task
    FOR EACH ROW WHEN OLD.status IS NOT NEW.status
    BEGIN UPDATE task_candidate SET status = NEW.status WHERE task_id = NEW.id; END""",
    """CREATE TRIGGER task_candidate_status_default AFTER INSERT ON task_candidate
    FOR EACH ROW WHEN NEW.status IS NULL
    BEGIN UPDATE task_candidate SET status = (SELECT status FROM human_task WHERE id = NEW.task_id)
        WHERE task_id = NEW.task_id AND kind = NEW.kind AND value = NEW.value; END""",
)


def upgrade() -> None:
    with op.batch_alter_table("task_candidate", schema=None) as batch:
        batch.add_column(sa.Column("status", sa.String(length=20), nullable=True))
        batch.drop_index("ix_task_candidate_kind_value")
        batch.create_index("ix_task_candidate_inbox", ["kind", "value", "status", "task_id"], unique=False)
    op.execute(
        "UPDATE task_candidate SET status = (SELECT status FROM human_task WHERE human_task.id = task_candidate.task_id)"
    )
    with op.batch_alter_table("human_task", schema=None) as batch:
        batch.create_index("ix_human_task_completed_by", ["completed_by", "status"], unique=False)
        batch.create_index("ix_human_task_completed_at", ["completed_at"], unique=False)
        batch.create_index(
            "ix_human_task_live_order",
            ["due_at", "created_at", "id"],
            unique=False,
            postgresql_where=sa.text(_LIVE),
            sqlite_where=sa.text(_LIVE),
        )
    for statement in _PG if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)
    if op.get_bind().dialect.name == "postgresql":
        _trigram_index()


def _trigram_index() -> None:
    """The inbox search (``search_text LIKE '%…%'``) through a trigram index, where the server lets this database
    create the extension pg_trgm (trusted since PostgreSQL 13: the database's owner may); without it the search reads
    the caller's visible tasks and filters them, as before."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError:
        return
    op.execute(f"CREATE INDEX {TRIGRAM_INDEX} ON human_task USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")
        op.execute("DROP TRIGGER task_candidate_status_default ON task_candidate")
        op.execute("DROP TRIGGER human_task_status_to_candidates ON human_task")
        op.execute("DROP FUNCTION task_candidate_status_fill()")
        op.execute("DROP FUNCTION task_candidate_status_sync()")
    else:
        op.execute("DROP TRIGGER task_candidate_status_default")
        op.execute("DROP TRIGGER human_task_status_to_candidates")
    with op.batch_alter_table("human_task", schema=None) as batch:
        batch.drop_index("ix_human_task_live_order")
        batch.drop_index("ix_human_task_completed_at")
        batch.drop_index("ix_human_task_completed_by")
    with op.batch_alter_table("task_candidate", schema=None) as batch:
        batch.drop_index("ix_task_candidate_inbox")
        batch.create_index("ix_task_candidate_kind_value", ["kind", "value"], unique=False)
        batch.drop_column("status")
