"""Composition root: settings -> services -> routes and pages -> server."""

import logging

from nicegui import ui

from app.container import build_services
from app.settings import load_settings
from app.web import setup

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

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
        fastapi_docs=True,
        show_welcome_message=False,
        favicon="⚡",
    )
