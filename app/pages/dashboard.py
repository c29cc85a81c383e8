"""/: the live view every signed-in user gets (events for now; notifications and metrics join later)."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import ui

from app.live import LiveBridge
from app.pages.session import log_out, signed_in, to_login
from app.security import Auth
from components.event_feed import EventFeed
from services.events import EventSystem
from theme import frame


def register(auth: Auth, events: EventSystem, live: LiveBridge) -> None:
    @ui.page("/")
    async def dashboard() -> RedirectResponse | None:
        principal = await signed_in(auth)
        if principal is None:
            return to_login("/")
        recent = [e.to_dict() for e in await events.get_event_history(limit=50)]
        with frame("Dashboard", username=principal.username, role=principal.role, on_logout=log_out) as page:
            with page.extras:
                for item in live.header_items:
                    await item(principal)
            for section in live.sections:
                await section(principal)
            with ui.card().classes("neon-card w-full"):
                ui.label("Live events").classes("neon-title text-xl")
                feed = EventFeed(recent, size=50)
        live.event_published.subscribe(feed.add)
        return None
