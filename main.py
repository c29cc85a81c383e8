"""Composition root: settings -> services -> routes and pages -> server."""

import logging

from nicegui import ui

from app.container import build_services
from app.settings import load_settings
from app.web import setup

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
# Every job run (some every few seconds) would otherwise log two INFO lines.
logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)

settings = load_settings()
services = build_services(settings)
setup(services)

if __name__ in {"__main__", "__mp_main__"}:
    ui.run(
        host=settings.host,
        port=settings.port,
        title="Liberation System",
        dark=True,
        reload=False,
        show=False,
        storage_secret=settings.resolved_secret_key(),
        fastapi_docs=False,  # the REST app (app/asgi.py build_api) serves /docs
        show_welcome_message=True,
        favicon="⚡",
        # A phone on a flaky network, or a busy browser, may miss heartbeats for a few seconds; keep its page state
        # that long instead of forcing a reload.
        reconnect_timeout=10,
        # Raw WebSocket hub (services/hub/hub.py): no per-connection compressor (it costs far more memory than
        # small JSON frames save), keepalive pings by the server at WS_PING_INTERVAL with as long for the pong,
        # room above WS_MAX_MESSAGE_BYTES so oversized frames get an error frame instead of a hard close, and a
        # listen backlog deep enough for thousands of clients reconnecting at once.
        ws_per_message_deflate=False,
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_interval,
        ws_max_size=max(4 * 1024 * 1024, 2 * settings.ws_max_message_bytes),
        backlog=4096,
        # Sessions end after SESSION_MAX_AGE; the cookie is Lax, and Secure behind TLS (app/headers.py).
        session_middleware_kwargs={"max_age": settings.session_max_age, "same_site": "lax"},
        # X-Forwarded-For / -Proto are believed only from the proxies named in FORWARDED_ALLOW_IPS (none by
        # default): otherwise any local caller could pose as any address to the login throttle.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
    )
