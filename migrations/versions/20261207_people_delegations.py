"""people (the directory a lead assigns to) and delegations (ủy quyền)

Revision ID: 0104
Revises: 0101
Create Date: 2026-12-07 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import phoihop.engine.store.types

revision: str = '0104'
down_revision: str | None = '0101'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('person',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('groups', _json(), nullable=False),
    sa.Column('roles', _json(), nullable=False),
    sa.Column('last_seen_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('delegation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('from_user_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('from_name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('from_groups', _json(), nullable=False),
    sa.Column('from_roles', _json(), nullable=False),
    sa.Column('to_user_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('starts_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_delegation_from_user_id'), 'delegation', ['from_user_id'], unique=False)
    op.create_index('ix_delegation_to_user_ends', 'delegation', ['to_user_id', 'ends_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_delegation_to_user_ends', table_name='delegation')
    op.drop_index(op.f('ix_delegation_from_user_id'), table_name='delegation')
    op.drop_table('delegation')
    op.drop_table('person')
