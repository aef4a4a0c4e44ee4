"""external tasks (camunda:type="external" service tasks fetched and locked by workers)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 05:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import phoihop.engine.store.types

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('external_task',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('instance_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('process_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('element_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('worker_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('lock_expires_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('retries', sa.Integer(), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('error_details', sa.Text(), nullable=True),
    sa.Column('retry_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('created_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('incident_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_external_task_instance_id'), 'external_task', ['instance_id'], unique=False)
    op.create_index('ix_external_task_topic_status', 'external_task', ['topic', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_external_task_topic_status', table_name='external_task')
    op.drop_index(op.f('ix_external_task_instance_id'), table_name='external_task')
    op.drop_table('external_task')
