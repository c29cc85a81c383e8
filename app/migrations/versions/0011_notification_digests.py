"""notification_digests: notifications of a type a person collects, held and collapsed into one inbox entry

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 18:10:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_digests',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('collapsed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('entry_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification_digests', schema=None) as batch_op:
        batch_op.create_index('ux_notification_digests_open', ['username', 'type'], unique=True,
                              sqlite_where=sa.text('collapsed_at IS NULL'),
                              postgresql_where=sa.text('collapsed_at IS NULL'))
        batch_op.create_index('ix_notification_digests_closes_at', ['closes_at'], unique=False,
                              sqlite_where=sa.text('collapsed_at IS NULL'),
                              postgresql_where=sa.text('collapsed_at IS NULL'))
    op.create_table('notification_digest_items',
    sa.Column('notification_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('digest_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.PrimaryKeyConstraint('notification_id')
    )
    with op.batch_alter_table('notification_digest_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_digest_items_digest_id'), ['digest_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notification_digest_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_digest_items_digest_id'))
    op.drop_table('notification_digest_items')
    with op.batch_alter_table('notification_digests', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_digests_closes_at')
        batch_op.drop_index('ux_notification_digests_open')
    op.drop_table('notification_digests')
