"""Blocking SQL for metrics (call through `asyncio.to_thread`): minute points, definitions, alert rules."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from services.metrics.alerts import AlertRule
from services.metrics.models import MetricAlertRule, MetricDefinition, MetricPoint
from services.metrics.types import MinutePoint
from services.models import as_utc

POINTS = MetricPoint.metadata.tables["metric_points"]
DEFINITIONS = MetricDefinition.metadata.tables["metric_definitions"]
RULES = MetricAlertRule.metadata.tables["metric_alert_rules"]


class MetricStore:
    """The three metric tables on one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # One shared connection (in-memory SQLite): a reader's rollback-on-return would undo a concurrent write.
        shared = isinstance(engine.pool, StaticPool | SingletonThreadPool)
        self._lock: contextlib.AbstractContextManager[Any] = threading.Lock() if shared else contextlib.nullcontext()

    def insert_points(self, points: Sequence[MinutePoint]) -> None:
        """Insert minute points in one transaction (executemany)."""
        if not points:
            return
        rows = [{"name": p.name, "minute": _dt(p.minute), "count": p.count, "total": p.total, "low": p.low,
                 "high": p.high, "last": p.last, "value": p.value} for p in points]
        with self._lock, self._engine.begin() as connection:
            connection.execute(insert(POINTS), rows)

    def query_points(self, name: str, since: float, until: float) -> list[MinutePoint]:
        """Stored minutes of `name` in [since, until), oldest first."""
        c = POINTS.c
        query = (select(c.name, c.minute, c.count, c.total, c.low, c.high, c.last, c.value)
                 .where(c.name == name, c.minute >= _dt(since), c.minute < _dt(until)).order_by(c.minute, c.id))
        with self._lock, self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [MinutePoint(name_, as_utc(minute).timestamp(), count, total, low, high, last, value)
                for name_, minute, count, total, low, high, last, value in rows]

    def prune(self, older_than: datetime) -> int:
        """Delete minute points before `older_than`; the number deleted."""
        with self._lock, self._engine.begin() as connection:
            result = connection.execute(delete(POINTS).where(POINTS.c.minute < older_than))
        return int(result.rowcount or 0)

    def load_definitions(self) -> list[dict[str, Any]]:
        with self._lock, self._engine.connect() as connection:
            rows = connection.execute(select(DEFINITIONS).order_by(DEFINITIONS.c.created_at)).mappings().all()
        return [dict(row) for row in rows]

    def save_definition(self, row: dict[str, Any]) -> bool:
        """Insert a definition; False when one with that name exists."""
        with self._lock, self._engine.begin() as connection:
            if connection.execute(select(DEFINITIONS.c.name).where(DEFINITIONS.c.name == row["name"])).first():
                return False
            connection.execute(insert(DEFINITIONS), [row])
        return True

    def load_rules(self) -> list[AlertRule]:
        with self._lock, self._engine.connect() as connection:
            rows = connection.execute(select(RULES).order_by(RULES.c.created_at)).mappings().all()
        return [AlertRule.from_row(dict(row)) for row in rows]

    def save_rules(self, rules: Sequence[AlertRule], *, insert_missing: bool = True) -> None:
        """Insert or update rules (their state included) in one transaction. With `insert_missing` False only rules
        still stored are updated: a state change must not bring back a rule another process has just deleted."""
        if not rules:
            return
        with self._lock, self._engine.begin() as connection:
            for rule in rules:
                row = rule.to_row()
                found = connection.execute(update(RULES).where(RULES.c.id == rule.id).values(**row))
                if not found.rowcount and insert_missing:
                    connection.execute(insert(RULES), [row])

    def delete_rule(self, rule_id: str) -> bool:
        with self._lock, self._engine.begin() as connection:
            return bool(connection.execute(delete(RULES).where(RULES.c.id == rule_id)).rowcount)


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
