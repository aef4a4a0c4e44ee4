"""jobs fail alone: retry bookkeeping on timers and start schedules, and the incident table

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 05:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import phoihop.engine.store.types

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_TABLES = ('timer', 'start_schedule')


def upgrade() -> None:
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('process_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('element_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('job_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_incident_instance_id'), 'incident', ['instance_id'], unique=False)
    for table in JOB_TABLES:
        op.add_column(table, sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        op.add_column(table, sa.Column('retry_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=True))
        op.add_column(table, sa.Column('last_error', sa.Text(), nullable=True))
        op.add_column(table, sa.Column('incident_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in JOB_TABLES:
        with op.batch_alter_table(table) as batch:
            for column in ('incident_id', 'last_error', 'retry_at', 'attempts'):
                batch.drop_column(column)
    op.drop_index(op.f('ix_incident_instance_id'), table_name='incident')
    op.drop_table('incident')
