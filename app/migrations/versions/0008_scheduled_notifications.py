"""scheduled_notifications: sends stored now and delivered later by the leader

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 14:20:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scheduled_notifications',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('request', sa.Text(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('deliver_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notification_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('scheduled_notifications', schema=None) as batch_op:
        batch_op.create_index('ix_scheduled_notifications_due', ['deliver_at'], unique=False,
                              sqlite_where=sa.text("status = 'scheduled'"),
                              postgresql_where=sa.text("status = 'scheduled'"))


def downgrade() -> None:
    with op.batch_alter_table('scheduled_notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduled_notifications_due')
    op.drop_table('scheduled_notifications')
