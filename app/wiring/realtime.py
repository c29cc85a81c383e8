"""Wiring of the realtime feature (see app/wiring/__init__.py): the WebSocket hub, its routes and its sweep."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.headers import OriginPolicy
from app.jobs import Job
from app.live import AdminPanel
from services.hub import History, HubConfig, MemoryHistory, WebSocketHub
from services.hub import hub as websocket

if TYPE_CHECKING:
    from fastapi import FastAPI

    from app.container import Services
    from app.live import LiveBridge


def build(services: Services) -> None:
    """Construct the hub; it becomes `services.delivery`, so later features push through it."""
    settings = services.settings
    history: History
    if settings.broker_url.startswith(("redis://", "rediss://")):
        from services.hub.redis_history import RedisHistory  # only Redis deployments load the client

        history = RedisHistory(settings.broker_url, settings.ws_history_size, settings.ws_history_seconds,
                               prefix=settings.redis_prefix, max_bytes=settings.ws_history_bytes // 4)
    else:
        history = MemoryHistory(settings.ws_history_size, settings.ws_history_seconds,
                                max_bytes=settings.ws_history_bytes)
    config = HubConfig(
        max_connections=settings.ws_max_connections,
        ping_interval=settings.ws_ping_interval,
        send_queue=settings.ws_send_queue,
        max_message_bytes=settings.ws_max_message_bytes,
        rate_limit=settings.ws_rate_limit,
        rate_burst=settings.ws_rate_burst,
        write_mode=websocket.WRITE_MODE,
        max_connections_per_user=settings.ws_max_connections_per_user,
    )
    hub = WebSocketHub(services.broker, history, services.auth.principal_from_token, services.events, config)
    services.websocket = hub
    services.delivery = hub
    services.lifecycle.append(hub)
    services.jobs.append(Job("websocket_sweep", lambda s: s.settings.ws_cleanup_interval, _sweep))
    services.health_checks["websocket"] = hub.health
    services.events.register_handler("*", hub.on_event)
    services.auth.on_account_change(
        lambda change: hub.revoke(change.username, active=change.is_active, role=change.role))


def register(services: Services, live: LiveBridge, api: FastAPI) -> None:
    """Add the hub's admin routes and its WebSocket endpoint."""
    from app.api import realtime as realtime_api

    api.include_router(realtime_api.router(services.auth, services.websocket, services.events,
                                                   services.users))
    settings = services.settings
    realtime_api.mount(services.websocket, realtime_api.CookieSessions(
        services.auth, settings.resolved_secret_key(), settings.session_max_age, OriginPolicy(settings.origins)))
    live.admin_panels.append(AdminPanel("Connections", "lan",
                                        lambda _principal, _authorize: _connections_panel(services, live)))


async def _connections_panel(services: Services, live: LiveBridge) -> None:
    """Browser views, WebSocket API clients and hub/bus figures, redrawn when clients come and go and on every admin
    metrics push."""
    import time
    from datetime import UTC, datetime

    from nicegui import Client

    from app.pages.session import view_owners
    from components.admin.connections import HubAdmin, duration

    def browser_views() -> list[dict[str, Any]]:
        """The pages open in browsers of this process (NiceGUI clients with a live socket), newest first."""
        owners, now = view_owners(), time.time()
        views = sorted((c for c in list(Client.instances.values()) if c.has_socket_connection and not c.is_deleted),
                       key=lambda c: c.created, reverse=True)
        return [{"id": c.id, "user": owners.get(c.id, "(signed out)"), "page": c.page.path,
                 "open_for": duration(now - c.created),
                 "opened_at": datetime.fromtimestamp(c.created, UTC).strftime("%Y-%m-%d %H:%M:%S")} for c in views]

    def replicas() -> list[dict[str, Any]]:
        now = time.time()
        return [{"id": r.name, "name": r.name + (" (this one)" if r.name == services.replicas.name else ""),
                 "role": r.role, "websocket_clients": r.websocket_clients, "browser_views": r.browser_views,
                 "cpu": "–" if r.cpu_percent is None else f"{r.cpu_percent:.0f} %",
                 "memory": "–" if r.rss_bytes is None else f"{r.rss_bytes / 2**20:,.0f} MiB",
                 "heartbeat": f"{duration(now - r.sent_at)} ago"} for r in services.replicas.current()]

    hub = services.websocket
    panel = HubAdmin(hub.get_stats, lambda: hub.get_connections(limit=500), services.events.get_metrics,
                     services.leadership.describe, browser_views, replicas)

    def on_event(event: dict[str, Any]) -> None:
        if event.get("type") in ("user.connected", "user.disconnected"):
            panel.refresh()

    live.event_published.subscribe(on_event)
    live.channel("admin").subscribe(lambda _envelope: panel.refresh())


async def _sweep(services: Services) -> int:
    return int(await services.websocket.sweep())
