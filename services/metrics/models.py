"""Persisted metric tables: per-minute points, custom metric definitions, alert rules with their state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index
from sqlmodel import Field, SQLModel

from services.models import utcnow


class MetricPoint(SQLModel, table=True):
    """What one process recorded for one metric during one minute (several processes may add rows for a minute)."""

    __tablename__ = "metric_points"
    __table_args__ = (Index("ix_metric_points_name_minute", "name", "minute"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    minute: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    count: int
    total: float
    low: float
    high: float
    last: float
    value: float


class MetricDefinition(SQLModel, table=True):
    """A metric created at run time (`create_custom_metric`), recreated at every start."""

    __tablename__ = "metric_definitions"

    name: str = Field(primary_key=True, max_length=100)
    metric_type: str = Field(max_length=16)
    category: str = Field(max_length=16)
    description: str = Field(default="", max_length=500)
    unit: str = Field(default="", max_length=50)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class MetricAlertRule(SQLModel, table=True):
    """An alert rule and where its evaluation stands, so a restart neither forgets nor re-fires a firing alert."""

    __tablename__ = "metric_alert_rules"

    id: str = Field(primary_key=True, max_length=32)
    metric_name: str = Field(max_length=100, index=True)
    condition: str = Field(max_length=2)
    threshold: float
    severity: str = Field(max_length=16)
    for_seconds: float = 0.0
    cooldown_seconds: float = 0.0
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    state: str = Field(default="ok", max_length=16)
    pending_since: float | None = None  # epoch seconds of the injected clock
    fired_at: float | None = None
    last_fired_at: float | None = None
    resolved_at: float | None = None
    last_value: float | None = None


class MetricSilence(SQLModel, table=True):
    """An admin's silence of one alert rule, or of every rule on one metric, until `ends_at` (or ended early)."""

    __tablename__ = "metric_silences"

    id: str = Field(primary_key=True, max_length=36)
    rule_id: str | None = Field(default=None, max_length=64)
    metric_name: str | None = Field(default=None, max_length=100)
    reason: str = Field(max_length=500)
    created_by: str = Field(max_length=64)
    starts_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ends_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    ended_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    ended_by: str | None = Field(default=None, max_length=64)
