"""metric_silences: an alert rule, or every rule on a metric, silenced for a while with a reason

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 14:30:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('metric_silences',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('rule_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('metric_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('metric_silences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metric_silences_ends_at'), ['ends_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('metric_silences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metric_silences_ends_at'))
    op.drop_table('metric_silences')
