"""/preferences: what reaches the signed-in person live (types, minimum priority, quiet hours)."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import ui

from app.asgi import database_unavailable
from app.live import LiveBridge
from app.pages.session import log_out, signed_in, to_login, track
from app.pages.unavailable import unavailable_page, unless_unavailable
from app.security import Auth
from components.notifications.preferences import PreferencesForm, PreferencesSource
from theme import frame, page_heading

PATH = "/preferences"


def register(auth: Auth, source: PreferencesSource, live: LiveBridge) -> None:
    @ui.page(PATH, language="en-US")
    async def preferences_page() -> RedirectResponse | None:
        try:
            principal = await signed_in(auth)
            if principal is None:
                return to_login(PATH)
            current = await source.get_preferences(principal.username)
        except Exception as error:
            if not database_unavailable(error):
                raise
            unavailable_page("Preferences")
            return None
        track(principal)
        with frame("Preferences", username=principal.username, role=principal.role, on_logout=log_out,
                   current=PATH) as page:
            with page.extras:
                for item in live.header_items:
                    await unless_unavailable(item(principal), explain=False)
            page_heading("Notification preferences")
            PreferencesForm(source, principal.username, current)
        return None
