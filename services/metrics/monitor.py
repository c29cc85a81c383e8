"""Watches metric values with the alert rules: stores rule state, announces fired/resolved, derives system health."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from services.events import EventType
from services.metrics.alerts import AlertRule, AlertRules, Transition, derive_health
from services.metrics.store import MetricStore

log = logging.getLogger(__name__)

Publish = Callable[..., Awaitable[Any]]
HealthReport = Callable[[], Awaitable[dict[str, Any]]]
SilenceFor = Callable[[AlertRule], Awaitable[dict[str, Any] | None]]
SOURCE = "metrics"


class AlertMonitor:
    """Runs `AlertRules` against current values and tells everyone (through published events) what changed."""

    def __init__(self, rules: AlertRules, store: MetricStore | None, publish: Publish | None,
                 health_report: HealthReport | None, value_of: Callable[[str], float | None],
                 unit_of: Callable[[str], str], record: Callable[[str, float], Any]) -> None:
        self.rules = rules
        self.system_health = "healthy"
        self._store = store
        self._publish = publish
        self._health_report = health_report
        self._value_of = value_of
        self._unit_of = unit_of
        self._record = record
        self.silenced: SilenceFor | None = None
        """Set by the silences feature: the active silence of a rule, carried by its announcements (a silenced
        alert still fires and shows as firing; the notification rules send nothing for it)."""
        self.silenced_now: Callable[[AlertRule], bool] | None = None
        """Whether a rule is silenced (from what `silenced` last read): a silenced rule does not raise the derived
        health either, or the health alert would notify what the silence keeps quiet."""

    async def evaluate(self) -> list[Transition]:
        """Advance every rule, store changed state, publish fired/resolved, then update the health."""
        transitions, changed = self.rules.evaluate(self._value_of)
        if changed and self._store is not None:
            try:
                await asyncio.to_thread(self._store.save_rules, changed, insert_missing=False)
            except Exception:  # the in-memory state is right; the next change stores it again
                log.warning("storing alert rule state failed", exc_info=True)
        for transition in transitions:
            await self._announce(transition)
        await self.update_health()
        return transitions

    async def delete(self, rule_id: str) -> bool:
        """Remove a rule; a firing one is resolved first, so nobody is left with a stale alert."""
        rule = self.rules.remove(rule_id)
        if rule is None:
            return False
        if self._store is not None:
            await asyncio.to_thread(self._store.delete_rule, rule_id)
        if rule.state == "firing":
            await self._announce(Transition("resolved", rule, rule.last_value or 0.0))
            await self.update_health()
        return True

    def active(self) -> list[dict[str, Any]]:
        """The firing rules with the metric's unit and the value that made them fire (or the latest seen)."""
        return [{**rule.to_dict(), "unit": self._unit_of(rule.metric_name), "value": rule.last_value}
                for rule in self.rules.firing()]

    async def update_health(self, *, announce: bool = True) -> str:
        """Derive the health from firing rules and health checks; `announce` publishes a change (the leading
        process does; the others only follow, so a change is announced once)."""
        report = None
        if self._health_report is not None:
            try:
                report = await self._health_report()
            except Exception as error:  # an unanswerable health check is itself a finding
                report = {"health": {"status": "error", "error": str(error)[:200]}}
        firing = self.rules.firing()
        self._record("metric_alerts_firing", len(firing))
        quiet = self.silenced_now
        status = derive_health([rule for rule in firing if not quiet(rule)] if quiet else firing, report)
        if status != self.system_health:
            previous, self.system_health = self.system_health, status
            if announce:
                await self._publish_safely(EventType.SYSTEM_HEALTH_CHANGED, {"status": status, "previous": previous})
        return status

    async def _announce(self, transition: Transition) -> None:
        rule: AlertRule = transition.rule
        data = {"rule_id": rule.id, "metric_name": rule.metric_name, "value": transition.value,
                "threshold": rule.threshold, "condition": rule.condition, "severity": rule.severity,
                "unit": self._unit_of(rule.metric_name)}
        if self.silenced is not None:
            silence = await self.silenced(rule)
            if silence is not None:
                data["silenced"] = silence
        fired = transition.kind == "fired"
        log.log(logging.WARNING if fired else logging.INFO, "metric alert %s: %s %s %s (value %s)",
                transition.kind, rule.metric_name, rule.condition, rule.threshold, transition.value)
        await self._publish_safely(EventType.METRIC_ALERT_FIRED if fired else EventType.METRIC_ALERT_RESOLVED, data)

    async def _publish_safely(self, event_type: str, data: dict[str, Any]) -> None:
        if self._publish is None:
            return
        try:
            await self._publish(event_type, data, SOURCE)
        except Exception:  # the state change stands; only its announcement was lost
            log.warning("publishing %s failed", event_type, exc_info=True)
