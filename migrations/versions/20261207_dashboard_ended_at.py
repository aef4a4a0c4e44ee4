"""dashboard: the instances completed in a month read by an index of their status and end time (the median cycle
times of engine/store/dashboard.py ``cycle_times``), not by every completed instance's row (issue 15.1)

Revision ID: 0203
Revises: 0201
Create Date: 2026-12-07 19:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0203"
down_revision: str | None = "0201"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch:
        batch.create_index("ix_process_instance_status_ended_at", ["status", "ended_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch:
        batch.drop_index("ix_process_instance_status_ended_at")
