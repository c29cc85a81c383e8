"""The metrics service: registry and recording, summaries and live payloads, history, alert rules, host samples."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from sqlalchemy import Engine

from services.checks import check_text
from services.metrics.alerts import DEFAULT_RULES, AlertRule, AlertRules, Transition
from services.metrics.analysis import iso
from services.metrics.defaults import DASHBOARD_KEYS, DEFAULT_METRICS, SYSTEM_KEYS
from services.metrics.history import MetricHistory
from services.metrics.host import HostSampler
from services.metrics.monitor import AlertMonitor, HealthReport, Publish
from services.metrics.payloads import blank_card, card, summary
from services.metrics.store import MetricStore
from services.metrics.types import MINUTE, TYPES, Clock, Metric, MetricCategory, Rate
from services.models import utcnow

log = logging.getLogger(__name__)

NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,99}")
MAX_METRICS = 500
MAX_WARNINGS = 1000
HOUR = 3600.0


class MetricError(ValueError):
    """A metric cannot be created or recorded as asked; the message is safe to show."""


def _metric_error(field: str, reason: str) -> MetricError:
    return MetricError(f"{field}: {reason}")


class MetricsService:
    """Every metric of this process; recording is synchronous and never raises."""

    def __init__(self, engine: Engine | None = None, publish: Publish | None = None, *, clock: Clock = time.time,
                 health_report: HealthReport | None = None, retention_days: float = 30.0,
                 max_metrics: int = MAX_METRICS, sampler: HostSampler | None = None) -> None:
        self.metrics: dict[str, Metric] = {}
        self._recorders: dict[str, Callable[..., None]] = {}
        self._clock = clock
        self._store = MetricStore(engine) if engine is not None else None
        self.history = MetricHistory(self._store, clock)
        self.alerts = AlertRules(clock)
        self.monitor = AlertMonitor(self.alerts, self._store, publish, health_report, self._alert_value,
                                    self._unit_of, self.record_metric)
        self.retention_seconds = retention_days * 86400.0
        self.max_metrics = max_metrics
        self.sampler = sampler or HostSampler()
        self.collectors: list[Callable[[], object]] = []
        self.deployment: Callable[[], dict[str, float]] | None = None
        """With several replicas: the deployment-wide figures of process-level metrics (connections summed, CPU
        and memory averaged) that the dashboard shows instead of this process's own; empty when alone."""
        self._warned: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._leading = False  # whether the last watch_alerts round evaluated (see there)
        for spec in DEFAULT_METRICS:
            self._register(spec.name, spec.type, spec.category, spec.description, spec.unit)

    async def start(self) -> None:
        """Load custom metrics and alert rules, and take the first host sample in the background."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        if self._store is not None:
            for row in await asyncio.to_thread(self._store.load_definitions):
                if row["name"] not in self.metrics:
                    self._register(row["name"], row["metric_type"], row["category"], row["description"], row["unit"])
            self.alerts.load(await asyncio.to_thread(self._store.load_rules))
        else:
            self.alerts.load(AlertRule(**rule) for rule in DEFAULT_RULES)
        self._spawn(self.sample_host())

    async def stop(self) -> None:
        """Finish background writes and store every minute recorded so far."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        closing = self._clock() + MINUTE  # close the open minute too: it would be lost otherwise
        for metric in self.metrics.values():
            metric.flush(closing)
        await self.history.persist(())
        self._loop = None

    # --- recording -------------------------------------------------------------------------------------------

    def record_metric(self, name: str, value: float, tags: dict[str, Any] | None = None) -> bool:
        """Record `value` with the metric's meaning; an unknown name becomes a gauge. Never raises; False if refused."""
        recorder = self._recorders.get(name) or self._auto_create(name)
        if recorder is None:
            return False
        try:
            if value - value:  # NaN and infinities (and non-numbers, which raise)
                raise ValueError(f"{value!r} is not a finite number")
            recorder(value, tags)
        except Exception as error:  # a bad value must never break the caller (a request, a handler, a job)
            self._warn_once(f"refused:{name}", "metric %s refused a value: %s", name, error)
            return False
        return True

    def record_threadsafe(self, name: str, value: float, tags: dict[str, Any] | None = None) -> None:
        """`record_metric` from any thread: values from worker threads are handed to the event loop."""
        loop = self._loop
        if loop is None or threading.get_ident() == self._loop_thread:
            self.record_metric(name, value, tags)
            return
        with contextlib.suppress(RuntimeError):  # the loop closed during shutdown; the value has nowhere to go
            loop.call_soon_threadsafe(self.record_metric, name, value, tags)

    def create_custom_metric(self, name: str, metric_type: str = "gauge", category: str = "system",
                             description: str = "", unit: str = "") -> bool:
        """Create a metric (stored in the background); False when the name exists or a field is invalid."""
        try:
            metric = self._define(name, metric_type, category, description, unit)
        except MetricError as error:
            log.warning("custom metric %s not created: %s", name, error)
            return False
        self._spawn_or_run(self._save_definition, metric)
        return True

    async def define_metric(self, name: str, metric_type: str, category: str, description: str = "",
                            unit: str = "") -> Metric:
        """Create a metric and wait until it is stored; MetricError when the name exists or a field is invalid."""
        metric = self._define(name, metric_type, category, description, unit)
        if self._store is not None:
            await asyncio.to_thread(self._save_definition, metric)
        return metric

    # --- reading ---------------------------------------------------------------------------------------------

    def get_metric_summary(self, name: str, window: float = HOUR) -> dict[str, Any] | None:
        """count, min, max, mean, stddev, p50/p90/p95/p99 and latest of the points in `window` s, with the trend."""
        metric = self.metrics.get(name)
        return None if metric is None else summary(metric, self._clock() - window, window)

    def get_metric_history(self, name: str, window: float = HOUR, limit: int = 1000,
                           step: float | None = None) -> list[dict[str, Any]]:
        """Recent history from memory: raw points, or buckets of `step` seconds (see `fetch_metric_history`)."""
        metric = self.metrics.get(name)
        return [] if metric is None else self.history.recent(metric, window, limit, step)

    async def fetch_metric_history(self, name: str, window: float = HOUR, limit: int = 1000,
                                   step: float | None = None) -> list[dict[str, Any]] | None:
        """History including stored minutes (any window up to the retention); None for an unknown metric."""
        metric = self.metrics.get(name)
        if metric is None:
            return None
        return await self.history.fetch(metric, window, limit, step)

    def card(self, name: str, window: float = HOUR) -> dict[str, Any] | None:
        """What a live card shows: current value, average and trend over `window`, unit."""
        metric = self.metrics.get(name)
        if metric is None:
            return None
        try:
            return card(metric, self._clock() - window)
        except Exception as error:  # one metric's card must not take down a list or a push of every metric
            self._warn_once(f"card:{name}", "metric %s: its card could not be computed: %r", name, error)
            return blank_card(metric)

    @property
    def system_health(self) -> str:
        """healthy / degraded / unhealthy / critical, derived from firing rules and health checks."""
        return self.monitor.system_health

    async def get_dashboard_metrics(self) -> dict[str, Any]:
        """The 7 key metrics (original order), the host figures, and a summary with the derived system health."""
        figures = self.deployment() if self.deployment is not None else {}
        connections = figures.get("websocket_connections",
                                  self.metrics["websocket_connections"].get_latest_value() or 0)
        views = figures.get("browser_views", self.metrics["user_sessions_active"].get_latest_value() or 0)

        def cards(names: Iterable[str]) -> list[dict[str, Any]]:
            shown = [c for name in names if (c := self.card(name)) is not None]
            return [{**c, "value": figures[c["name"]]} if c["name"] in figures else c for c in shown]

        summary: dict[str, Any] = {"total_metrics": len(self.metrics), "active_connections": int(connections),
                                   "browser_views": int(views), "system_health": self.system_health,
                                   "active_alerts": len(self.alerts.firing())}
        if "replicas" in figures:
            summary["replicas"] = int(figures["replicas"])
        return {"timestamp": iso(self._clock()), "key_metrics": cards(DASHBOARD_KEYS), "system": cards(SYSTEM_KEYS),
                "summary": summary}

    async def get_admin_metrics(self) -> dict[str, Any]:
        """Every metric by category, the firing alerts and the system health."""
        categories: dict[str, list[dict[str, Any]]] = {c.value: [] for c in MetricCategory}
        for name in list(self.metrics):
            card = self.card(name)
            if card is not None:
                categories.setdefault(card["category"], []).append(card)
        return {
            "timestamp": iso(self._clock()),
            "system_health": self.system_health,
            "categories": categories,
            "active_alerts": self.monitor.active(),
            "alert_rules": len(self.alerts.all()),
            "summary": {"total_metrics": len(self.metrics), "pending_points": len(self.history.pending),
                        "persisted_points": self.history.persisted},
        }

    # --- alert rules -----------------------------------------------------------------------------------------

    def add_alert_rule(self, metric_name: str, threshold: float, condition: str = ">", severity: str = "warning",
                       for_seconds: float = 0.0, cooldown_seconds: float = 300.0) -> str:
        """Add a rule (stored in the background) and return its id; AlertRuleError on bad input."""
        rule = self.alerts.add(metric_name, threshold, condition, severity, for_seconds, cooldown_seconds)
        self._spawn_or_run(self._save_rules, [rule])
        return rule.id

    async def create_alert_rule(self, metric_name: str, threshold: float, condition: str = ">",
                                severity: str = "warning", for_seconds: float = 0.0,
                                cooldown_seconds: float = 300.0) -> AlertRule:
        """Add a rule and wait until it is stored."""
        rule = self.alerts.add(metric_name, threshold, condition, severity, for_seconds, cooldown_seconds)
        if self._store is not None:
            await asyncio.to_thread(self._store.save_rules, [rule])
            self.alerts.mark_stored(rule.id)
        return rule

    async def delete_alert_rule(self, rule_id: str) -> bool:
        """Remove a rule; a firing one is announced as resolved."""
        return await self.monitor.delete(rule_id)

    async def evaluate_alerts(self) -> list[Transition]:
        """Advance every rule on the current values, store changes, publish fired/resolved, update the health."""
        return await self.monitor.evaluate()

    async def watch_alerts(self, leading: bool) -> list[Transition]:
        """One round of alerting in a deployment of one or more processes sharing the database.

        Every process first follows the stored rules (created or deleted through any process). The leading
        process then evaluates them and announces transitions, once for the deployment; the others adopt the
        stored state, so their pages and REST answers show the same firing rules and health."""
        if self._store is not None:
            known_stored = self.alerts.stored_ids()
            rules = await asyncio.to_thread(self._store.load_rules)
            self.alerts.sync(rules, take_state=not (leading and self._leading), known_stored=known_stored)
        self._leading = leading
        if leading:
            return await self.monitor.evaluate()
        await self.monitor.update_health(announce=False)
        return []

    # --- jobs ------------------------------------------------------------------------------------------------

    async def sample_host(self) -> None:
        """Record CPU, memory, disk and uptime (psutil runs in a worker thread)."""
        sample = await self.sampler.sample_async()
        self.record_metric("system_cpu_usage", sample.cpu_percent)
        self.record_metric("system_memory_usage", sample.memory_percent)
        self.record_metric("system_disk_usage", sample.disk_percent)
        self.record_metric("system_uptime", sample.uptime_seconds)

    def collect(self) -> None:
        """Run the collectors (other services' statistics) and let quiet rates fall towards zero."""
        for collector in list(self.collectors):
            try:
                collector()
            except Exception:  # one broken source must not stop the others or the push
                log.warning("metrics collector %r failed", collector, exc_info=True)
        for metric in list(self.metrics.values()):
            if isinstance(metric, Rate):
                metric.tick()

    async def persist(self, *, store: bool = True) -> int:
        """Close finished minutes; with `store`, write them to the database (the number of points written)."""
        return await self.history.persist(list(self.metrics.values()), store=store)

    async def prune(self) -> int:
        return await self.history.prune(list(self.metrics.values()), self.retention_seconds)

    # --- helpers ---------------------------------------------------------------------------------------------

    def _register(self, name: str, metric_type: str, category: str, description: str, unit: str) -> Metric:
        metric = TYPES[metric_type](name, category, description, unit, clock=self._clock, sink=self.history.sink)
        self.metrics[name] = metric
        self._recorders[name] = metric.record
        return metric

    def _define(self, name: str, metric_type: str, category: str, description: str, unit: str) -> Metric:
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise MetricError("name must be letters, digits and underscores (not first), at most 100 characters")
        if name in self.metrics:
            raise MetricError(f"metric {name} already exists")
        if metric_type not in TYPES:
            raise MetricError(f"metric_type must be one of {', '.join(TYPES)}")
        if category not in {c.value for c in MetricCategory}:
            raise MetricError(f"category must be one of {', '.join(c.value for c in MetricCategory)}")
        if len(description) > 500 or len(unit) > 50:
            raise MetricError("description is limited to 500 characters and unit to 50")
        for field, text in (("description", description), ("unit", unit)):
            check_text(text, field, _metric_error)
        if len(self.metrics) >= self.max_metrics:
            raise MetricError(f"at most {self.max_metrics} metrics")
        return self._register(name, metric_type, category, description, unit)

    def _auto_create(self, name: str) -> Callable[..., None] | None:
        try:
            metric = self._define(name, "gauge", "system", "created by record_metric", "")
        except MetricError as error:
            self._warn_once(f"unknown:{name}", "metric %s is unknown and cannot be created: %s", name, error)
            return None
        self._warn_once(f"auto:{name}", "metric %s was unknown; created it as a gauge", name)
        self._spawn_or_run(self._save_definition, metric)
        return self._recorders[name]

    def _save_definition(self, metric: Metric) -> None:
        if self._store is not None:
            self._store.save_definition({"name": metric.name, "metric_type": metric.type,
                                         "category": metric.category, "description": metric.description,
                                         "unit": metric.unit, "created_at": utcnow()})

    def _save_rules(self, rules: list[AlertRule]) -> None:
        if self._store is not None:
            self._store.save_rules(rules)
            for rule in rules:  # a set discard is atomic, also from this worker thread
                self.alerts.mark_stored(rule.id)

    def _spawn_or_run(self, fn: Callable[..., None], *args: Any) -> None:
        """Run blocking storage work in a worker thread when a loop is running, inline otherwise."""
        if self._store is None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            fn(*args)
            return
        self._spawn(asyncio.to_thread(fn, *args))

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("metrics background task failed", exc_info=task.exception())

    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        if key not in self._warned and len(self._warned) < MAX_WARNINGS:
            self._warned.add(key)
            log.warning(message, *args)

    def _alert_value(self, name: str) -> float | None:
        metric = self.metrics.get(name)
        return None if metric is None else metric.get_latest_value()

    def _unit_of(self, name: str) -> str:
        metric = self.metrics.get(name)
        return metric.unit if metric is not None else ""
