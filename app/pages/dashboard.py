"""/: the system at a glance (health and key metrics), the inbox beside the live event feed; tabs on a phone."""

from __future__ import annotations

from typing import Any

from fastapi.responses import RedirectResponse
from nicegui import ui

from app.asgi import database_unavailable
from app.live import LiveBridge
from app.pages.session import log_out, signed_in, to_login, track
from app.pages.unavailable import unavailable_page, unless_unavailable
from app.security import Auth
from components.common.dashboard import DashboardLayout
from components.events.feed import CHANNELS, SIZE, EventFeed
from services.events import EventSystem, channel_for
from services.hub import join_refusal
from theme import frame

HISTORY_PAGE = 100
HISTORY_PAGES = 4  # a user's first screen skips events of channels they may not see; look this far back at most


def register(auth: Auth, events: EventSystem, live: LiveBridge) -> None:
    @ui.page("/")
    async def dashboard() -> RedirectResponse | None:
        try:
            principal = await signed_in(auth)
        except Exception as error:
            if not database_unavailable(error):
                raise
            unavailable_page("Dashboard")
            return None
        if principal is None:
            return to_login("/")
        track(principal)
        # The WebSocket's channel rules decide what the feed may show this account: one rule for both.
        excluded = frozenset(c for c in CHANNELS if join_refusal(principal.username, principal.role, c) is not None)
        try:
            recent = await _recent(events, excluded)
        except Exception as error:
            if not database_unavailable(error):
                raise
            recent = []
        with frame("Dashboard", username=principal.username, role=principal.role, on_logout=log_out,
                   current="/") as page:
            with page.extras:
                for item in live.header_items:
                    await unless_unavailable(item(principal), explain=False)
            layout = DashboardLayout().mark("dashboard")
            for section in live.sections:
                with layout.add_slot(section.slot):
                    await unless_unavailable(section.draw(principal))
            with layout.add_slot("feed"):
                feed = EventFeed(recent, describer=live.describer, excluded=excluded,
                                 admin=principal.is_admin).mark("event-feed")
        live.event_published.subscribe(feed.add)
        return None


async def _recent(events: EventSystem, excluded: frozenset[str]) -> list[dict[str, Any]]:
    """The newest events this viewer may see, newest first: who got notified or did what stays with admins."""
    found: list[dict[str, Any]] = []
    for page in range(HISTORY_PAGES if excluded else 1):
        batch = await events.get_event_history(limit=HISTORY_PAGE if excluded else SIZE,
                                               offset=page * HISTORY_PAGE)
        found += [e.to_dict() for e in batch if channel_for(e.type) not in excluded]
        if len(found) >= SIZE or len(batch) < HISTORY_PAGE:
            break
    return found[:SIZE]
