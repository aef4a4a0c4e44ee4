"""Incidents of failed script and expression steps (incident.task_id) and the tamper-evident audit chain
(audit_event.chain_seq / instance_hash / chain_hash, table audit_chain) (issue 14, items 7 and 11)

Events written before this revision are sealed into the chain here, oldest first (engine/store/audit_chain.py, which
reads and writes only the columns named there), so ``phoihop audit verify`` passes right after the upgrade.

Revision ID: 0110
Revises: 0102
Create Date: 2026-12-07 14:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from phoihop.engine.store import audit_chain

revision: str = "0110"
down_revision: str | None = "0102"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch:
        batch.add_column(sa.Column("task_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
    with op.batch_alter_table("audit_event", schema=None) as batch:
        batch.add_column(sa.Column("chain_seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("instance_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column("chain_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.create_index("ix_audit_event_chain_seq", ["chain_seq"], unique=True)
        batch.create_index("ix_audit_event_instance_id_chain_seq", ["instance_id", "chain_seq"], unique=False)
    op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO audit_chain (id, seq, head_hash) VALUES (1, 0, '')")
    audit_chain.seal(op.get_bind())


def downgrade() -> None:
    op.drop_table("audit_chain")
    with op.batch_alter_table("audit_event", schema=None) as batch:
        batch.drop_index("ix_audit_event_instance_id_chain_seq")
        batch.drop_index("ix_audit_event_chain_seq")
        batch.drop_column("chain_hash")
        batch.drop_column("instance_hash")
        batch.drop_column("chain_seq")
    with op.batch_alter_table("incident", schema=None) as batch:
        batch.drop_column("task_id")
