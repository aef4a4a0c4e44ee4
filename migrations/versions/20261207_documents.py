"""documents attached to cases and tasks; their bytes for the database content store

Revision ID: 0101
Revises: 0109
Create Date: 2026-12-07 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import phoihop.engine.store.types

revision: str = '0101'
down_revision: str | None = '0109'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('document',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('instance_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('task_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('signature_count', sa.Integer(), nullable=False),
    sa.Column('added_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('added_by_name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('added_by_agencies', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
              nullable=False),
    sa.Column('added_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('deleted_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('deleted_by_name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('delete_reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_document_instance_id'), 'document', ['instance_id'], unique=False)
    op.create_table('document_content',
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )


def downgrade() -> None:
    op.drop_table('document_content')
    op.drop_index(op.f('ix_document_instance_id'), table_name='document')
    op.drop_table('document')
