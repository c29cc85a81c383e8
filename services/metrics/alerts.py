"""Alert rules on metric values: conditions, a `for` duration, cooldown and resolution, plus the derived health."""

from __future__ import annotations

import math
import operator
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.metrics.types import Clock
from services.models import as_utc, utcnow

CONDITIONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
}
SEVERITIES = ("info", "warning", "error", "critical")
HEALTH_LEVELS = ("healthy", "degraded", "unhealthy", "critical")
SEVERITY_HEALTH = {"info": "healthy", "warning": "degraded", "error": "unhealthy", "critical": "critical"}
MAX_RULES = 1000


class AlertRuleError(ValueError):
    """A rule with bad fields; the message is safe to show."""


@dataclass(slots=True)
class AlertRule:
    """A rule and its evaluation state: `ok` -> `pending` (condition holds) -> `firing` (held `for_seconds`)."""

    id: str
    metric_name: str
    condition: str
    threshold: float
    severity: str = "warning"
    for_seconds: float = 0.0
    cooldown_seconds: float = 300.0
    enabled: bool = True
    created_at: datetime = field(default_factory=utcnow)
    state: str = "ok"
    pending_since: float | None = None
    fired_at: float | None = None
    last_fired_at: float | None = None
    resolved_at: float | None = None
    last_value: float | None = None

    def holds(self, value: float) -> bool:
        return CONDITIONS[self.condition](value, self.threshold)

    def to_row(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AlertRule:
        fields = {k: row[k] for k in cls.__dataclass_fields__ if k in row}
        fields["created_at"] = as_utc(fields.get("created_at") or utcnow())
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        """The REST shape; times of the evaluation clock as ISO-8601 UTC."""
        out = self.to_row()
        out["created_at"] = self.created_at.isoformat()
        for name in ("pending_since", "fired_at", "last_fired_at", "resolved_at"):
            value = out[name]
            out[name] = datetime.fromtimestamp(value, UTC).isoformat() if value is not None else None
        return out


@dataclass(slots=True, frozen=True)
class Transition:
    kind: str  # "fired" or "resolved"
    rule: AlertRule
    value: float


# Created by migration 0003 in the database (keep in step); used as they are when running without one.
DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"id": "default-cpu-high", "metric_name": "system_cpu_usage", "condition": ">=", "threshold": 90.0,
     "severity": "warning", "for_seconds": 120.0, "cooldown_seconds": 900.0},
    {"id": "default-memory-high", "metric_name": "system_memory_usage", "condition": ">=", "threshold": 90.0,
     "severity": "warning", "for_seconds": 60.0, "cooldown_seconds": 900.0},
    {"id": "default-memory-critical", "metric_name": "system_memory_usage", "condition": ">=", "threshold": 97.0,
     "severity": "critical", "for_seconds": 60.0, "cooldown_seconds": 900.0},
    {"id": "default-disk-high", "metric_name": "system_disk_usage", "condition": ">=", "threshold": 90.0,
     "severity": "warning", "for_seconds": 0.0, "cooldown_seconds": 900.0},
    {"id": "default-disk-critical", "metric_name": "system_disk_usage", "condition": ">=", "threshold": 97.0,
     "severity": "critical", "for_seconds": 0.0, "cooldown_seconds": 900.0},
)


class AlertRules:
    """The rule set and its state machine; the caller persists changed rules and publishes transitions."""

    def __init__(self, clock: Clock = time.time, max_rules: int = MAX_RULES) -> None:
        self._clock = clock
        self._max = max_rules
        self._rules: dict[str, AlertRule] = {}
        self._unstored: set[str] = set()  # added here and not yet seen in the store

    def load(self, rules: Iterable[AlertRule]) -> None:
        for rule in rules:
            self._rules[rule.id] = rule

    def stored_ids(self) -> frozenset[str]:
        """Rules whose row is known to be written: take this just before reading the store for `sync`."""
        return frozenset(self._rules.keys() - self._unstored)

    def mark_stored(self, rule_id: str) -> None:
        """The row of a rule added here has been written."""
        self._unstored.discard(rule_id)

    def sync(self, stored: Iterable[AlertRule], *, take_state: bool, known_stored: frozenset[str]) -> None:
        """Follow the store, which every process writes: add rules created elsewhere; drop rules deleted elsewhere,
        that is, rules in `known_stored` (written before the store was read) that the store no longer has. With
        `take_state`, adopt the stored state of known rules too (a process that does not evaluate, or has just
        started to)."""
        seen: set[str] = set()
        for rule in stored:
            seen.add(rule.id)
            if take_state or rule.id not in self._rules:
                self._rules[rule.id] = rule
        self._unstored -= seen
        for rule_id in known_stored - seen:
            self._rules.pop(rule_id, None)

    def add(self, metric_name: str, threshold: float, condition: str = ">", severity: str = "warning",
            for_seconds: float = 0.0, cooldown_seconds: float = 300.0, rule_id: str | None = None) -> AlertRule:
        """Validate and add a rule (AlertRuleError on bad input)."""
        if condition not in CONDITIONS:
            raise AlertRuleError(f"condition must be one of {', '.join(CONDITIONS)}")
        if severity not in SEVERITIES:
            raise AlertRuleError(f"severity must be one of {', '.join(SEVERITIES)}")
        if not isinstance(threshold, int | float) or not math.isfinite(threshold):
            raise AlertRuleError("threshold must be a finite number")
        for name, seconds in (("for_seconds", for_seconds), ("cooldown_seconds", cooldown_seconds)):
            if not math.isfinite(seconds) or seconds < 0:
                raise AlertRuleError(f"{name} must be a finite number >= 0")
        if len(self._rules) >= self._max:
            raise AlertRuleError(f"at most {self._max} alert rules")
        rule = AlertRule(rule_id or uuid.uuid4().hex, metric_name, condition, float(threshold), severity,
                         float(for_seconds), float(cooldown_seconds))
        self._rules[rule.id] = rule
        self._unstored.add(rule.id)
        return rule

    def remove(self, rule_id: str) -> AlertRule | None:
        self._unstored.discard(rule_id)
        return self._rules.pop(rule_id, None)

    def get(self, rule_id: str) -> AlertRule | None:
        return self._rules.get(rule_id)

    def all(self) -> list[AlertRule]:
        return list(self._rules.values())

    def firing(self) -> list[AlertRule]:
        return [rule for rule in self._rules.values() if rule.state == "firing"]

    def evaluate(self, value_of: Callable[[str], float | None]) -> tuple[list[Transition], list[AlertRule]]:
        """Advance every enabled rule on the current values: (fired/resolved transitions, rules whose state changed)."""
        now = self._clock()
        transitions: list[Transition] = []
        changed: list[AlertRule] = []
        for rule in list(self._rules.values()):
            if not rule.enabled:
                continue
            value = value_of(rule.metric_name)
            if value is None:  # no data yet: nothing to judge, the state stays
                continue
            rule.last_value = value
            before = rule.state
            if rule.holds(value):
                if rule.state == "ok":
                    rule.state, rule.pending_since = "pending", now
                if rule.state == "pending" and self._may_fire(rule, now):
                    rule.state, rule.fired_at, rule.last_fired_at = "firing", now, now
                    transitions.append(Transition("fired", rule, value))
            elif rule.state != "ok":
                if rule.state == "firing":
                    rule.resolved_at = now
                    transitions.append(Transition("resolved", rule, value))
                rule.state, rule.pending_since = "ok", None
            if rule.state != before:
                changed.append(rule)
        return transitions, changed

    @staticmethod
    def _may_fire(rule: AlertRule, now: float) -> bool:
        held = rule.pending_since is not None and now - rule.pending_since >= rule.for_seconds
        rested = rule.last_fired_at is None or now - rule.last_fired_at >= rule.cooldown_seconds
        return held and rested


def derive_health(firing: Iterable[AlertRule], report: dict[str, Any] | None) -> str:
    """healthy / degraded / unhealthy / critical from the firing rules' severities and the health report."""
    level = 0
    for rule in firing:
        level = max(level, HEALTH_LEVELS.index(SEVERITY_HEALTH.get(rule.severity, "degraded")))
    if report is not None:
        for name, part in report.items():
            if isinstance(part, dict) and part.get("status") != "ok":
                level = max(level, 2 if name == "database" else 1)
    return HEALTH_LEVELS[level]
