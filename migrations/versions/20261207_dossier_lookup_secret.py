"""process_instance.lookup_secret: the secret printed on a dossier's receipt for the public lookup (issue 14.4)

Revision ID: 0111
Revises: 0112
Create Date: 2026-12-07 14:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0111"
down_revision: str | None = "0112"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch:
        batch.add_column(sa.Column("lookup_secret", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("process_instance", schema=None) as batch:
        batch.drop_column("lookup_secret")
