"""events.reactions_pending / reaction_attempts: rule reactions of an acknowledged event happen at least once

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reactions_pending', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('reaction_attempts', sa.Integer(), nullable=False, server_default='0'))
    # Only the few marked rows are ever looked up: a partial index stays tiny however long the history is.
    op.create_index('ix_events_reactions_pending', 'events', ['timestamp'], unique=False,
                    sqlite_where=sa.text('reactions_pending'), postgresql_where=sa.text('reactions_pending'))


def downgrade() -> None:
    op.drop_index('ix_events_reactions_pending', table_name='events')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('reaction_attempts')
        batch_op.drop_column('reactions_pending')
