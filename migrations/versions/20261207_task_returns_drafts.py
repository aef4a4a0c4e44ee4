"""send-back (trả lại) records and officers' drafts awaiting a lead's approval (issue 11, items 3 and 4)

Revision ID: 0103
Revises: 0104
Create Date: 2026-12-07 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import phoihop.engine.store.types

revision: str = '0103'
down_revision: str | None = '0104'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('task_return',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('task_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('element_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('reopened_task_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('reopened_element_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('returned_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('returned_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_task_return_instance_id'), 'task_return', ['instance_id'], unique=False)
    op.create_index(op.f('ix_task_return_reopened_task_id'), 'task_return', ['reopened_task_id'], unique=False)
    op.create_table('task_draft',
    sa.Column('task_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('instance_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('drafted_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('drafted_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], ),
    sa.PrimaryKeyConstraint('task_id')
    )
    op.create_index(op.f('ix_task_draft_instance_id'), 'task_draft', ['instance_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_task_draft_instance_id'), table_name='task_draft')
    op.drop_table('task_draft')
    op.drop_index(op.f('ix_task_return_reopened_task_id'), table_name='task_return')
    op.drop_index(op.f('ix_task_return_instance_id'), table_name='task_return')
    op.drop_table('task_return')
