"""Wiring of alert silences (see app/wiring/__init__.py): the store, the monitor's hook, routes and a part of the
Metrics tab. Registered before the metrics feature, so `/api/v1/metrics/silences` is matched before the metrics
router's `/api/v1/metrics/{name}`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.metrics.silences import Silences
from services.users import Principal

if TYPE_CHECKING:
    from fastapi import FastAPI

    from app.container import Services
    from app.live import LiveBridge
    from components.common.guard import Authorize


def build(services: Services) -> None:
    """Nothing to build before the web layer: the silences are made in `register`, once metrics exist."""


def register(services: Services, live: LiveBridge, api: FastAPI) -> None:
    from app.api import silences as silences_api
    from app.live import AdminPanel

    silences = Silences(services.engine, services.broker)
    services.lifecycle.append(silences)  # started with the other features, after this runs
    services.metrics.monitor.silenced = silences.silence_for
    services.metrics.monitor.silenced_now = silences.silenced_now
    api.include_router(silences_api.router(services.auth, silences, services.metrics))

    async def draw(principal: Principal, authorize: Authorize) -> None:
        from nicegui import ui

        from components.metrics.silences import SilencesPanel
        from theme import section_heading

        metrics = services.metrics

        def rules() -> dict[str, str]:
            return {rule.id: f"{rule.metric_name} {rule.condition} {rule.threshold:g} · {rule.severity}"
                    for rule in metrics.alerts.all()}

        with ui.card().classes("neon-card w-full"):
            section_heading("Silences")
            panel = SilencesPanel(silences, rules, lambda: sorted(metrics.metrics), principal.username, authorize)
        await panel.refresh()

    live.admin_panels.append(AdminPanel("Metrics", "insights", draw, part=1))
