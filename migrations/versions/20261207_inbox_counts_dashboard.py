"""web inbox counts and dashboard: a partial index over live tasks holding every column the inbox's filter counts
test (engine/store/inbox_choices.py reads it alone, never the rows); for the dashboard (engine/store/dashboard.py) a
partial index over unfinished tasks holding every column of its figures in its GROUP BY's order, and the instances
completed in a month read by an index of their status and end time (the median cycle times) (issue 15.1)

Revision ID: 0203
Revises: 0201
Create Date: 2026-12-07 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0203"
down_revision: str | None = "0201"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_LIVE = "status IN ('open', 'claimed', 'awaiting_approval')"  # the live statuses, as migration 0201 wrote them


def upgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch:
        batch.create_index("ix_process_instance_status_ended_at", ["status", "ended_at"], unique=False)
    with op.batch_alter_table("human_task", schema=None) as batch:
        batch.create_index(
            "ix_human_task_live_counts",
            ["id", "status", "assignee", "process_key", "due_at", "warn_at"],
            unique=False,
            postgresql_where=sa.text(_LIVE),
            sqlite_where=sa.text(_LIVE),
        )
        batch.create_index(
            "ix_human_task_open_figures",
            ["completed_at", "process_key", "candidate_groups", "created_at", "status", "due_at", "warn_at"],
            unique=False,
            postgresql_where=sa.text("completed_at IS NULL"),
            sqlite_where=sa.text("completed_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("human_task", schema=None) as batch:
        batch.drop_index("ix_human_task_open_figures")
        batch.drop_index("ix_human_task_live_counts")
    with op.batch_alter_table("process_instance", schema=None) as batch:
        batch.drop_index("ix_process_instance_status_ended_at")
