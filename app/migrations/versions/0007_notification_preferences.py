"""notification_preferences: per-person types, minimum live priority and quiet hours

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 14:10:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_preferences',
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('settings', sa.Text(), nullable=False),
    sa.Column('quiet', sa.Boolean(), nullable=False),
    sa.Column('summarized_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('username')
    )
    with op.batch_alter_table('notification_preferences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_preferences_quiet'), ['quiet'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notification_preferences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_preferences_quiet'))
    op.drop_table('notification_preferences')
