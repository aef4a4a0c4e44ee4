"""comments and instructions; people's notification preferences; notifications, deadline notices and the email outbox

Revision ID: 0102
Revises: 0103
Create Date: 2026-12-07 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import phoihop.engine.store.types

revision: str = '0102'
down_revision: str | None = '0103'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _ts() -> phoihop.engine.store.types.UtcDateTime:
    return phoihop.engine.store.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('task_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('author_name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('author_groups', JSON, nullable=False),
    sa.Column('mentions', JSON, nullable=False),
    sa.Column('created_at', _ts(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_comment_instance_id_id', 'comment', ['instance_id', 'id'], unique=False)
    # person was made by the delegations revision (0104); notifications add the preferences and first sight
    with op.batch_alter_table('person', schema=None) as batch:
        batch.alter_column('email', type_=sqlmodel.sql.sqltypes.AutoString(length=320), existing_nullable=True)
        batch.add_column(sa.Column('email_mode', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False,
                                   server_default='immediate'))
        batch.add_column(sa.Column('first_seen_at', _ts(), nullable=True))
    op.execute("UPDATE person SET first_seen_at = last_seen_at")
    with op.batch_alter_table('person', schema=None) as batch:
        batch.alter_column('first_seen_at', existing_type=_ts(), nullable=False)
        batch.alter_column('email_mode', existing_type=sqlmodel.sql.sqltypes.AutoString(length=20),
                           server_default=None)
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('instance_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('task_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('text_vi', sa.Text(), nullable=False),
    sa.Column('created_at', _ts(), nullable=False),
    sa.Column('read_at', _ts(), nullable=True),
    sa.Column('email_state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_notification_recipient_id', 'notification', ['recipient', 'id'], unique=False)
    op.create_index('ix_notification_email_state', 'notification', ['email_state'], unique=False)
    op.create_table('deadline_notice',
    sa.Column('task_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', _ts(), nullable=False),
    sa.PrimaryKeyConstraint('task_id', 'kind')
    )
    op.create_table('email_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('to_address', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', _ts(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', _ts(), nullable=False),
    sa.Column('sent_at', _ts(), nullable=True),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    op.create_index('ix_email_outbox_status_next', 'email_outbox', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_email_outbox_status_next', table_name='email_outbox')
    op.drop_table('email_outbox')
    op.drop_table('deadline_notice')
    op.drop_index('ix_notification_email_state', table_name='notification')
    op.drop_index('ix_notification_recipient_id', table_name='notification')
    op.drop_table('notification')
    with op.batch_alter_table('person', schema=None) as batch:
        batch.drop_column('first_seen_at')
        batch.drop_column('email_mode')
        batch.alter_column('email', type_=sqlmodel.sql.sqltypes.AutoString(length=254), existing_nullable=True)
    op.drop_index('ix_comment_instance_id_id', table_name='comment')
    op.drop_table('comment')
