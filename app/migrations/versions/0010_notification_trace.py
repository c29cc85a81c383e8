"""notification_trace: each notification's delivery path (cause, decisions, deliveries per replica, reads)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 18:10:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_trace',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('notification_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replica', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification_trace', schema=None) as batch_op:
        batch_op.create_index('ix_notification_trace_notification_id_at', ['notification_id', 'at'], unique=False)
        batch_op.create_index('ix_notification_trace_at', ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notification_trace', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_trace_at')
        batch_op.drop_index('ix_notification_trace_notification_id_at')
    op.drop_table('notification_trace')
