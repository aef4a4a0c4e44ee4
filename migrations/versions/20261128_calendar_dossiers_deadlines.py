"""business calendar overrides, dossier codes and sequences, task warning times and roles, timer start schedules

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 04:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import phoihop.engine.store.types

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calendar_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.Column('name_vi', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('name_en', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('updated_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('dossier_sequence',
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('day', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', 'day')
    )
    op.create_table('start_schedule',
    sa.Column('process_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('element_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('timer_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('timer_text', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('occurrence', sa.Integer(), nullable=False),
    sa.Column('next_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'], ),
    sa.PrimaryKeyConstraint('process_key')
    )
    op.create_index(op.f('ix_start_schedule_next_at'), 'start_schedule', ['next_at'], unique=False)
    with op.batch_alter_table('human_task') as batch:
        batch.add_column(sa.Column('warn_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('required_role', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True))
    with op.batch_alter_table('process_instance') as batch:
        batch.add_column(sa.Column('dossier_code', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch.create_unique_constraint('uq_process_instance_dossier_code', ['dossier_code'])


def downgrade() -> None:
    with op.batch_alter_table('process_instance') as batch:
        batch.drop_constraint('uq_process_instance_dossier_code', type_='unique')
        batch.drop_column('dossier_code')
    with op.batch_alter_table('human_task') as batch:
        batch.drop_column('required_role')
        batch.drop_column('warn_at')
    op.drop_index(op.f('ix_start_schedule_next_at'), table_name='start_schedule')
    op.drop_table('start_schedule')
    op.drop_table('dossier_sequence')
    op.drop_table('calendar_day')
