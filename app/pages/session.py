"""Browser sessions: who is signed in to this tab, and the redirect to /login when nobody is."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import RedirectResponse
from nicegui import app as nicegui_app
from nicegui import ui

from app.security import Auth
from services.users import Principal


async def signed_in(auth: Auth) -> Principal | None:
    """The active account of this browser session, if any."""
    username = nicegui_app.storage.user.get("username")
    return await auth.active(username) if isinstance(username, str) else None


def to_login(path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?redirect_to={quote(path)}")


def remember(principal: Principal) -> None:
    nicegui_app.storage.user.update(username=principal.username)


def log_out() -> None:
    nicegui_app.storage.user.clear()
    ui.navigate.to("/login")
