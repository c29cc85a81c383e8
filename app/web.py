"""Wires the services into the web layer: the REST app, the pages, the middlewares and the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from nicegui import Client, core
from nicegui import app as nicegui_app
from starlette.middleware import Middleware

from app import demo
from app.api import auth as auth_api
from app.api import events as events_api
from app.api import health as health_api
from app.api import users as users_api
from app.asgi import add_api_not_found, build_api, replace_slow_middlewares
from app.collector import FREEZE_SECONDS, Collector
from app.container import Services
from app.headers import OriginPolicy, SecurityHeaders
from app.live import LiveBridge
from app.pages import admin, dashboard, login, session
from app.wiring import FEATURES
from components.styles import register as register_styles
from theme import register_assets

Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]
_NICEGUI_LIFESPAN: Lifespan | None = None


@dataclass(frozen=True, slots=True)
class Web:
    live: LiveBridge
    api: FastAPI
    """The REST app; served in front of the pages once the app has started (see replace_slow_middlewares)."""


def setup(services: Services) -> Web:
    """Register every route and page, and run the services for as long as the app runs."""
    live = LiveBridge(services.broker)
    register_assets()
    register_styles()
    api = build_api()
    # Routes are matched in the order they are included, walking every route of each router before it: the
    # machine traffic (probes, publishes, sends, records) comes first, account management last.
    api.include_router(health_api.router(services.health))
    api.include_router(events_api.router(services.auth, services.events))
    for feature in FEATURES:
        feature.register(services, live, api)
    api.include_router(auth_api.router(services.auth))
    api.include_router(users_api.router(services.auth))
    add_api_not_found(api)
    login.register(services.auth)
    dashboard.register(services.auth, services.events, live)
    admin.register(services.auth, services.events, live)
    services.auth.on_account_change(session.end_revoked_views)
    demo.register(services)
    origins = OriginPolicy(services.settings.origins)
    core.sio.eio.cors_allowed_origins = origins.for_engineio  # NiceGUI's own socket: not '*' with credentials
    _run_with_app(services, live, api)
    return Web(live, api)


def _run_with_app(services: Services, live: LiveBridge, api: FastAPI) -> None:
    """Start the services inside NiceGUI's lifespan (awaited, unlike async on_startup handlers)."""
    global _NICEGUI_LIFESPAN  # kept once: the user-simulation tests run main.py (and so this) many times
    if _NICEGUI_LIFESPAN is None:
        _NICEGUI_LIFESPAN = nicegui_app.router.lifespan_context
    nicegui_lifespan: Lifespan = _NICEGUI_LIFESPAN

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with nicegui_lifespan(app):
            replace_slow_middlewares(nicegui_app, api)
            nicegui_app.user_middleware.insert(0, Middleware(SecurityHeaders,
                                                             docs_public=services.settings.docs_public))
            await services.start()
            live.start()
            # Everything built at start-up lives as long as the process, and every open page for a while: keep
            # them out of the collector's scans, which otherwise walk every live object (app/collector.py).
            collector = Collector(lambda: Client.instances.keys())
            collector.tick()
            nicegui_app.timer(FREEZE_SECONDS, collector.tick)
            try:
                yield
            finally:
                live.stop()
                await services.stop()

    nicegui_app.router.lifespan_context = lifespan
