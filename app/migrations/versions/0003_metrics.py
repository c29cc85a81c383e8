"""metrics: per-minute points, custom metric definitions, alert rules (with the default host rules)

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-28 12:00:00.000000
"""

from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None

# Seeded once here (not at every start), so an admin who deletes a default rule does not get it back.
# Keep in step with services.metric_alerts.DEFAULT_RULES (a unit test compares them).
DEFAULT_RULES = [
    ("default-cpu-high", "system_cpu_usage", ">=", 90.0, "warning", 120.0, 900.0),
    ("default-memory-high", "system_memory_usage", ">=", 90.0, "warning", 60.0, 900.0),
    ("default-memory-critical", "system_memory_usage", ">=", 97.0, "critical", 60.0, 900.0),
    ("default-disk-high", "system_disk_usage", ">=", 90.0, "warning", 0.0, 900.0),
    ("default-disk-critical", "system_disk_usage", ">=", 97.0, "critical", 0.0, 900.0),
]


def upgrade() -> None:
    op.create_table('metric_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('minute', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('total', sa.Float(), nullable=False),
    sa.Column('low', sa.Float(), nullable=False),
    sa.Column('high', sa.Float(), nullable=False),
    sa.Column('last', sa.Float(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('metric_points', schema=None) as batch_op:
        batch_op.create_index('ix_metric_points_name_minute', ['name', 'minute'], unique=False)
        batch_op.create_index(batch_op.f('ix_metric_points_minute'), ['minute'], unique=False)

    op.create_table('metric_definitions',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('metric_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )

    rules = op.create_table('metric_alert_rules',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('metric_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('condition', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('for_seconds', sa.Float(), nullable=False),
    sa.Column('cooldown_seconds', sa.Float(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('pending_since', sa.Float(), nullable=True),
    sa.Column('fired_at', sa.Float(), nullable=True),
    sa.Column('last_fired_at', sa.Float(), nullable=True),
    sa.Column('resolved_at', sa.Float(), nullable=True),
    sa.Column('last_value', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('metric_alert_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metric_alert_rules_metric_name'), ['metric_name'], unique=False)

    now = datetime.now(UTC)
    op.bulk_insert(rules, [
        {"id": rule_id, "metric_name": name, "condition": condition, "threshold": threshold, "severity": severity,
         "for_seconds": for_seconds, "cooldown_seconds": cooldown, "enabled": True, "created_at": now,
         "state": "ok"}
        for rule_id, name, condition, threshold, severity, for_seconds, cooldown in DEFAULT_RULES
    ])


def downgrade() -> None:
    with op.batch_alter_table('metric_alert_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metric_alert_rules_metric_name'))

    op.drop_table('metric_alert_rules')
    op.drop_table('metric_definitions')
    with op.batch_alter_table('metric_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metric_points_minute'))
        batch_op.drop_index('ix_metric_points_name_minute')

    op.drop_table('metric_points')
