"""retention: gaps of the audit chain left by purged instances, and the dashboard's kept months (issue 14.12)

Revision ID: 0113
Revises: 0111
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import phoihop.engine.store.types

revision: str = "0113"
down_revision: str | None = "0111"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_gap",
        sa.Column("first_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("first_seq"),
        sa.UniqueConstraint("last_seq"),
    )
    op.create_table(
        "dashboard_month",
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("taken_at", phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("month"),
    )


def downgrade() -> None:
    op.drop_table("dashboard_month")
    op.drop_table("audit_gap")
