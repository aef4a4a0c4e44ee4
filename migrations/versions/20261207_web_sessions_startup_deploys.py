"""web sessions kept server-side; what deploy-on-start last deployed from each folder

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 05:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import phoihop.engine.store.types

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('web_session',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('groups', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('roles', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('csrf', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_web_session_user_id'), 'web_session', ['user_id'], unique=False)
    op.create_index(op.f('ix_web_session_expires_at'), 'web_session', ['expires_at'], unique=False)
    op.create_table('startup_deploy',
    sa.Column('folder', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('deployed_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('folder')
    )


def downgrade() -> None:
    op.drop_table('startup_deploy')
    op.drop_index(op.f('ix_web_session_expires_at'), table_name='web_session')
    op.drop_index(op.f('ix_web_session_user_id'), table_name='web_session')
    op.drop_table('web_session')
