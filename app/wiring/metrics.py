"""Wiring of the metrics feature (see app/wiring/__init__.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psutil
from fastapi import FastAPI
from nicegui import Client, ui

from app.api import metrics as metrics_api
from app.jobs import Job
from app.live import AdminPanel, AdminSection, DashboardSection
from app.metrics_hooks import ApiTiming, watch_queries
from components.common.guard import Authorize
from components.metrics.alert_rules import AlertRulesPanel
from components.metrics.cleanup import MetricCleanup
from components.metrics.custom_form import CustomMetricForm
from components.metrics.explorer import MetricsExplorer
from components.metrics.strip import SPARK_SECONDS, MetricStrip, StripModel, epoch
from services.events import LIVE_CHANNEL, EventType
from services.metrics import (
    DASHBOARD_KEYS,
    CumulativeFeed,
    DomainFeeds,
    MetricsService,
    collect_event_system,
    collect_websocket,
)
from services.replicas import deployment_figures
from services.users import Principal

if TYPE_CHECKING:
    from app.container import Services
    from app.live import LiveBridge, Section

log = logging.getLogger(__name__)
ALERT_EVENTS = {EventType.METRIC_ALERT_FIRED.value, EventType.METRIC_ALERT_RESOLVED.value}


def build(services: Services) -> None:
    """Construct this feature's services and attach them to `services` (no I/O)."""
    settings = services.settings
    metrics = MetricsService(services.engine, services.events.publish, health_report=services.health,
                             retention_days=settings.metrics_retention_days)
    services.metrics = metrics
    metrics.deployment = lambda: _deployment(services)
    feeds = DomainFeeds(metrics, settings.mesh_node_timeout)
    # Every replica follows every replica's events (local ones too, as the broker hands them back at once).
    services.lifecycle.append(_Following(services, feeds))
    cumulative = CumulativeFeed(metrics)

    def event_bus() -> None:
        collect_event_system(cumulative, metrics, services.events.get_metrics())

    def hub() -> None:
        if services.websocket is not None:  # built by the realtime feature; absent until it is
            collect_websocket(cumulative, metrics, services.websocket.get_stats())

    metrics.collectors += [event_bus, hub, feeds.expire_mesh_nodes]
    services.lifecycle.append(_Running(services))
    services.jobs += [
        Job("metrics_sample", lambda s: s.settings.metrics_collection_interval, sample),
        Job("metrics_push", lambda s: s.settings.metrics_push_interval, push),
        Job("metrics_alerts", lambda s: s.settings.metrics_push_interval, evaluate_alerts),
        Job("metrics_persist", lambda s: 60.0, persist),
        Job("replica_report", lambda s: s.settings.metrics_push_interval, report_replica),
        Job("metrics_prune", lambda s: 3600.0, prune),  # every process: it trims its own memory too
    ]


def register(services: Services, live: LiveBridge, api: FastAPI) -> None:
    """Add this feature's REST routers, the metric cards of `/`, the Metrics tab of `/admin` and jobs."""
    metrics: MetricsService = services.metrics
    settings = services.settings
    api.include_router(metrics_api.router(services.auth, metrics, settings.metrics_retention_days))
    api.include_router(metrics_api.prometheus_router(services.auth, metrics, settings.metrics_public,
                                                     services.replicas.name))
    api.add_middleware(ApiTiming, metrics=metrics)
    metrics.collectors.append(lambda: metrics.record_metric("user_sessions_active", _open_views()))
    live.sections.append(DashboardSection("strip", _cards_section(metrics, live)))
    live.admin_panels.append(AdminPanel("Metrics", "insights",
                                        _admin_panel(metrics, live, settings.metrics_retention_days)))


def _cards_section(metrics: MetricsService, live: LiveBridge) -> Section:
    dashboard = live.channel("dashboard")
    model = StripModel(DASHBOARD_KEYS)
    seeded = False

    async def section(principal: Principal) -> None:
        nonlocal seeded
        if not seeded:  # the sparklines start from stored history once; pushes extend them for every view
            model.seed({name: metrics.get_metric_history(name, window=SPARK_SECONDS, limit=240)
                        for name in DASHBOARD_KEYS})
            seeded = True
        strip = MetricStrip(model, model.latest or await metrics.get_dashboard_metrics()).mark("metric-strip")

        def on_envelope(envelope: dict[str, Any]) -> None:
            data = envelope.get("data")
            if envelope.get("type") == "metrics_update" and isinstance(data, dict):
                strip.show(data)

        dashboard.subscribe(on_envelope)  # inside the page: the subscription ends with the tab

    return section


def _admin_panel(metrics: MetricsService, live: LiveBridge, retention_days: float) -> AdminSection:
    admin = live.channel("admin")

    async def draw(principal: Principal, authorize: Authorize) -> None:
        with ui.card().classes("neon-card w-full"):
            ui.label("Metrics explorer").classes("neon-subtitle text-lg")
            explorer = MetricsExplorer(metrics)
        with ui.card().classes("neon-card w-full"):
            ui.label("Alert rules").classes("neon-subtitle text-lg")
            rules = AlertRulesPanel(metrics, authorize)
        with ui.element("div").classes("w-full grid gap-4 grid-cols-1 lg:grid-cols-[2fr_1fr]"):
            with ui.card().classes("neon-card w-full min-w-0"):
                ui.label("Custom metric").classes("neon-subtitle text-lg")

                def created(name: str) -> None:
                    explorer.refresh_names(select=name)
                    rules.refresh_names()

                CustomMetricForm(metrics, created, authorize)
            with ui.card().classes("neon-card w-full min-w-0"):
                ui.label("Retention").classes("neon-subtitle text-lg")
                MetricCleanup(metrics.prune, retention_days, authorize)
        await explorer.show()
        known = len(metrics.metrics)

        def on_push(envelope: dict[str, Any]) -> None:
            nonlocal known
            data = envelope.get("data")
            if envelope.get("type") != "admin_metrics" or not isinstance(data, dict) \
                    or not isinstance(data.get("timestamp"), str):
                return
            if len(metrics.metrics) != known:  # created elsewhere (REST, another admin, record_metric)
                known = len(metrics.metrics)
                explorer.refresh_names()
                rules.refresh_names()
            explorer.on_push(epoch(data["timestamp"]))
            rules.refresh()

        def on_event(event: dict[str, Any]) -> None:
            if event.get("type") in ALERT_EVENTS:
                rules.refresh()

        admin.subscribe(on_push)  # both end with the tab
        live.event_published.subscribe(on_event)

    return draw


async def sample(services: Services) -> None:
    await services.metrics.sample_host()


async def push(services: Services) -> None:
    """Collect the figures other services keep; the leading process then pushes both payloads to every process's
    views (through the broker), so each view gets one update per interval however many processes serve."""
    metrics: MetricsService = services.metrics
    metrics.collect()
    if not services.leadership.leader:
        return
    # Each part on its own: a failing one is logged and retried next interval, and the other still goes out.
    for channel, message_type, build in (("dashboard", "metrics_update", metrics.get_dashboard_metrics),
                                         ("admin", "admin_metrics", metrics.get_admin_metrics)):
        try:
            await services.delivery.deliver(channel, message_type, await build())
        except Exception:
            log.warning("pushing %s failed", message_type, exc_info=True)


def _deployment(services: Services) -> dict[str, float]:
    """Deployment-wide process figures once another replica reports; nothing while this one is alone."""
    reports = services.replicas.current()
    if len(reports) < 2:
        return {}
    return {**deployment_figures(reports), "replicas": float(len(reports))}


_PROCESS = psutil.Process()


async def report_replica(services: Services) -> None:
    """Tell every replica this one's role, clients and load; keep the deployment's key fingerprint alive."""
    metrics: MetricsService = services.metrics
    latest = {name: metrics.metrics[name].get_latest_value() for name in (
        "websocket_connections", "user_sessions_active", "system_cpu_usage", "system_memory_usage")}
    role = "sole" if services.shared_secret is None else "leader" if services.leadership.leader else "follower"
    try:
        rss = _PROCESS.memory_info().rss
    except psutil.Error:
        rss = None
    await services.replicas.report(
        role=role, websocket_clients=int(latest["websocket_connections"] or 0),
        browser_views=int(latest["user_sessions_active"] or 0), cpu_percent=latest["system_cpu_usage"],
        memory_percent=latest["system_memory_usage"], rss_bytes=rss)
    if services.shared_secret is not None:
        await services.shared_secret.renew()


async def evaluate_alerts(services: Services) -> None:
    """Every process follows the stored rules; only the leading one evaluates and announces (watch_alerts)."""
    await services.metrics.watch_alerts(services.leadership.leader)


async def persist(services: Services) -> None:
    """Every process closes its finished minutes; only the leader stores them, as every replica holds the same
    deployment-wide figures (one writer, no doubled rows)."""
    await services.metrics.persist(store=services.leadership.leader)


async def prune(services: Services) -> None:
    await services.metrics.prune()


def _open_views() -> int:
    return sum(1 for client in Client.instances.values() if client.has_socket_connection)


@dataclass(eq=False)
class _Running:
    """Starts the service and the query timing with the app, stops them in reverse."""

    services: Services
    _unwatch: Callable[[], None] | None = field(default=None, init=False)

    async def start(self) -> None:
        self._unwatch = watch_queries(self.services.engine, self.services.metrics)
        await self.services.metrics.start()

    async def stop(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        await self.services.metrics.stop()


@dataclass(eq=False)
class _Following:
    """The domain feeds listen to every process's events on the broker while the app runs."""

    services: Services
    feeds: DomainFeeds
    _unfollow: Callable[[], None] | None = field(default=None, init=False)

    async def start(self) -> None:
        self._unfollow = self.feeds.follow(self.services.broker, LIVE_CHANNEL)

    async def stop(self) -> None:
        if self._unfollow is not None:
            self._unfollow()
            self._unfollow = None
