"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 01:45:53.104583
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql
import phoihop.engine.store.types

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('roles', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('groups', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash'),
    sa.UniqueConstraint('name')
    )
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('element_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('task_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_instance_id_id', ['instance_id', 'id'], unique=False)

    op.create_table('deployment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('files', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('deployed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('deployed_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deployment_content_hash'), ['content_hash'], unique=False)

    op.create_table('idempotency_key',
    sa.Column('caller', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('instance_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('caller', 'key')
    )
    op.create_table('process_definition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('deployed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('deployed_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('start_messages', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', 'content_hash', name='uq_process_definition_key_hash'),
    sa.UniqueConstraint('key', 'version', name='uq_process_definition_key_version')
    )
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_definition_deployment_id'), ['deployment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_definition_key'), ['key'], unique=False)

    op.create_table('process_instance',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('process_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('business_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('serializer_version', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('variables', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('error', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('started_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('started_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_instance_business_key'), ['business_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_instance_definition_id'), ['definition_id'], unique=False)
        batch_op.create_index('ix_process_instance_key_status', ['process_key', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_instance_status'), ['status'], unique=False)

    op.create_table('human_task',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('instance_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('process_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('element_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('lane', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('candidate_groups', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('candidate_users', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('assignee', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('documentation', sa.Text(), nullable=True),
    sa.Column('form_key', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('completed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('due_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.create_index('ix_human_task_assignee_status', ['assignee', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_human_task_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_human_task_process_key'), ['process_key'], unique=False)
        batch_op.create_index('ix_human_task_status_due', ['status', 'due_at'], unique=False)

    op.create_table('instance_task',
    sa.Column('instance_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('task_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('instance_id', 'seq')
    )
    op.create_table('message_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('message_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('business_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('correlations', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('message_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_subscription_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index('ix_message_subscription_name_bk', ['message_name', 'business_key'], unique=False)

    op.create_table('timer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('task_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('element_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('due_at', phoihop.engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timer_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_timer_instance_id'), ['instance_id'], unique=False)

    op.create_table('task_candidate',
    sa.Column('task_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], ),
    sa.PrimaryKeyConstraint('task_id', 'kind', 'value')
    )
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.create_index('ix_task_candidate_kind_value', ['kind', 'value'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidate_kind_value')

    op.drop_table('task_candidate')
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timer_instance_id'))
        batch_op.drop_index(batch_op.f('ix_timer_due_at'))

    op.drop_table('timer')
    with op.batch_alter_table('message_subscription', schema=None) as batch_op:
        batch_op.drop_index('ix_message_subscription_name_bk')
        batch_op.drop_index(batch_op.f('ix_message_subscription_instance_id'))

    op.drop_table('message_subscription')
    op.drop_table('instance_task')
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_status_due')
        batch_op.drop_index(batch_op.f('ix_human_task_process_key'))
        batch_op.drop_index(batch_op.f('ix_human_task_instance_id'))
        batch_op.drop_index('ix_human_task_assignee_status')

    op.drop_table('human_task')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_instance_status'))
        batch_op.drop_index('ix_process_instance_key_status')
        batch_op.drop_index(batch_op.f('ix_process_instance_definition_id'))
        batch_op.drop_index(batch_op.f('ix_process_instance_business_key'))

    op.drop_table('process_instance')
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_definition_key'))
        batch_op.drop_index(batch_op.f('ix_process_definition_deployment_id'))

    op.drop_table('process_definition')
    op.drop_table('idempotency_key')
    with op.batch_alter_table('deployment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployment_content_hash'))

    op.drop_table('deployment')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_instance_id_id')

    op.drop_table('audit_event')
    op.drop_table('api_key')

