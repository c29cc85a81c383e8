"""notifications and per-recipient receipts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 01:26:01.679815
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notifications',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('actions', sa.Text(), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('broadcast', sa.Boolean(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('correlation_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_broadcast_id', ['broadcast', 'id'], unique=False, sqlite_where=sa.text('broadcast = 1'), postgresql_where=sa.text('broadcast'))
        batch_op.create_index('ix_notifications_correlation_id', ['correlation_id'], unique=False, sqlite_where=sa.text('correlation_id IS NOT NULL'), postgresql_where=sa.text('correlation_id IS NOT NULL'))
        batch_op.create_index('ix_notifications_expires_at', ['expires_at'], unique=False, sqlite_where=sa.text('expires_at IS NOT NULL'), postgresql_where=sa.text('expires_at IS NOT NULL'))
        batch_op.create_index('ix_notifications_role_id', ['role', 'id'], unique=False, sqlite_where=sa.text('role IS NOT NULL'), postgresql_where=sa.text('role IS NOT NULL'))
        batch_op.create_index('ix_notifications_user_id_id', ['user_id', 'id'], unique=False, sqlite_where=sa.text('user_id IS NOT NULL'), postgresql_where=sa.text('user_id IS NOT NULL'))

    op.create_table('notification_receipts',
    sa.Column('notification_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dismissed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('notification_id', 'user_id')
    )


def downgrade() -> None:
    op.drop_table('notification_receipts')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_id_id')
        batch_op.drop_index('ix_notifications_role_id')
        batch_op.drop_index('ix_notifications_expires_at')
        batch_op.drop_index('ix_notifications_correlation_id')
        batch_op.drop_index('ix_notifications_broadcast_id')

    op.drop_table('notifications')
