"""/: the live view every signed-in user gets: the feature sections (inbox, metrics) and the live event feed."""

from __future__ import annotations

from typing import Any

from fastapi.responses import RedirectResponse
from nicegui import ui

from app.live import LiveBridge
from app.pages.session import log_out, signed_in, to_login, track
from app.security import Auth
from components.events.feed import CHANNELS, EventFeed
from services.events import EventSystem, channel_for
from services.hub import join_refusal
from theme import frame

FEED_SIZE = 50
HISTORY_PAGE = 100
HISTORY_PAGES = 4  # a user's first screen skips private events; look this far back for public ones at most


def register(auth: Auth, events: EventSystem, live: LiveBridge) -> None:
    @ui.page("/")
    async def dashboard() -> RedirectResponse | None:
        principal = await signed_in(auth)
        if principal is None:
            return to_login("/")
        track(principal)
        # The WebSocket's channel rules decide what the feed may show this account: one rule for both.
        excluded = frozenset(c for c in CHANNELS if join_refusal(principal.username, principal.role, c) is not None)
        recent = await _recent(events, excluded)
        with frame("Dashboard", username=principal.username, role=principal.role, on_logout=log_out) as page:
            with page.extras:
                for item in live.header_items:
                    await item(principal)
            for section in live.sections:
                await section(principal)
            with ui.card().classes("neon-card w-full"):
                ui.label("Live events").classes("neon-title text-xl")
                feed = EventFeed(recent, size=FEED_SIZE, excluded=excluded)
        live.event_published.subscribe(feed.add)
        return None


async def _recent(events: EventSystem, excluded: frozenset[str]) -> list[dict[str, Any]]:
    """The newest events this viewer may see, newest first: who got notified or did what stays with admins."""
    found: list[dict[str, Any]] = []
    for page in range(HISTORY_PAGES if excluded else 1):
        batch = await events.get_event_history(limit=HISTORY_PAGE if excluded else FEED_SIZE,
                                               offset=page * HISTORY_PAGE)
        found += [e.to_dict() for e in batch if channel_for(e.type) not in excluded]
        if len(found) >= FEED_SIZE or len(batch) < HISTORY_PAGE:
            break
    return found[:FEED_SIZE]
