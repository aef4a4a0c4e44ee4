"""process definition versions: change notes, suspension stamps, an explicit default version per key, reverts as new
versions, and the process key on definition-level audit events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 06:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import phoihop.engine.store.types

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # On SQLite, dropping the unique constraint rebuilds process_definition, which instances reference: engine.store.
    # migrate.upgrade turns foreign keys off around the migration and checks them before the commit.
    op.create_table('process_default_version',
    sa.Column('process_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('set_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('set_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'], ),
    sa.PrimaryKeyConstraint('process_key')
    )
    with op.batch_alter_table('audit_event') as batch:
        batch.add_column(sa.Column('process_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch.create_index('ix_audit_event_process_key_id', ['process_key', 'id'], unique=False)
    with op.batch_alter_table('deployment') as batch:
        batch.add_column(sa.Column('change_note', sa.Text(), nullable=True))
    with op.batch_alter_table('process_definition') as batch:
        batch.add_column(sa.Column('status_changed_at', phoihop.engine.store.types.UtcDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('status_changed_by', sqlmodel.sql.sqltypes.AutoString(length=200),
                                   nullable=True))
        batch.drop_constraint('uq_process_definition_key_hash', type_='unique')


def downgrade() -> None:
    # Versions that repeat an older content (reverts) would violate the restored constraint: they are refused here
    # rather than deleted, since instances may run on them.
    with op.batch_alter_table('process_definition') as batch:
        batch.create_unique_constraint('uq_process_definition_key_hash', ['key', 'content_hash'])
        batch.drop_column('status_changed_by')
        batch.drop_column('status_changed_at')
    with op.batch_alter_table('deployment') as batch:
        batch.drop_column('change_note')
    with op.batch_alter_table('audit_event') as batch:
        batch.drop_index('ix_audit_event_process_key_id')
        batch.drop_column('process_key')
    op.drop_table('process_default_version')
