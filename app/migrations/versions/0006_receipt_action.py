"""notification_receipts.action / acted_at: the one action a recipient took on a notification

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 14:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notification_receipts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('action', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('acted_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notification_receipts', schema=None) as batch_op:
        batch_op.drop_column('acted_at')
        batch_op.drop_column('action')
