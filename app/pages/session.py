"""Browser sessions: who is signed in to this tab, the redirect to /login when nobody is, and the end of every open
view of an account the moment it is deactivated or its role changes."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from urllib.parse import quote, urlsplit
from weakref import WeakSet

from fastapi.responses import RedirectResponse
from nicegui import Client, ui
from nicegui import app as nicegui_app

from app.security import AccountChange, Auth
from components.common.guard import Authorize
from services.users import Principal

log = logging.getLogger(__name__)

REVOKED_GRACE = 1.0
"""Seconds a deactivated account's view has to follow its reload before this process deletes it."""

_views: defaultdict[str, WeakSet[Client]] = defaultdict(WeakSet)
"""Open browser views per username in this process (weak: a closed tab simply disappears)."""

_UNSAFE_REDIRECT = re.compile(r"[\\\x00-\x20\x7f]")
"""Backslashes, whitespace and control characters: browsers drop or fold them, so `/\\evil` or `/\t/evil` would
become `//evil`, another site."""


async def signed_in(auth: Auth) -> Principal | None:
    """The active account of this browser session, if any, as long as the session was not revoked since."""
    storage = nicegui_app.storage.user
    username = storage.get("username")
    if not isinstance(username, str):
        return None
    principal = await auth.active(username)
    if principal is None or principal.generation != storage.get("generation", 0):
        storage.clear()
        return None
    return principal


async def session_principal(auth: Auth, session_id: str) -> Principal | None:
    """The active account signed in to a browser session, found by the session's id (outside a page request)."""
    storage = nicegui_app.storage
    users = storage._users
    if session_id not in users:
        await storage._create_user_storage(session_id)
    stored = users[session_id]
    username = stored.get("username")
    if not isinstance(username, str):
        return None
    principal = await auth.active(username)
    return principal if principal is not None and principal.generation == stored.get("generation", 0) else None


def to_login(path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?redirect_to={quote(path)}")


def safe_redirect(target: str | None) -> str:
    """`target` when it is a path of this site, else "/": never another origin after a login."""
    if not target or not target.startswith("/") or target.startswith("//") or _UNSAFE_REDIRECT.search(target):
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def remember(principal: Principal) -> None:
    nicegui_app.storage.user.update(username=principal.username, generation=principal.generation)


def log_out() -> None:
    nicegui_app.storage.user.clear()
    ui.navigate.to("/login")


def track(principal: Principal) -> None:
    """Count this page among the account's open views, so an account change reaches it (call inside a page)."""
    _views[principal.username].add(ui.context.client)


def open_views(username: str) -> int:
    return len(_views.get(username, ()))


def view_owners() -> dict[str, str]:
    """The account of every open view this process tracks, by NiceGUI client id (read-only: the admin panel lists
    the browser views with it)."""
    return {client.id: username for username, clients in list(_views.items()) for client in list(clients)}


def admin_guard(auth: Auth, principal: Principal) -> Authorize:
    """An Authorize for admin actions on this page: the account's role as the database has it when the action
    runs; when it is no longer an admin, the page says so and reloads (as a plain user, or to the login)."""
    client = ui.context.client

    async def still_admin() -> bool:
        current = await auth.current(principal.username)
        if current is not None and current.is_admin and current.generation == principal.generation:
            return True
        with client:
            ui.notify("Your admin access has ended; nothing was changed.", type="warning")
        _reload(client)
        return False

    return still_admin


def end_revoked_views(change: AccountChange) -> None:
    """Reload every open view of the account (an account-change listener): the page is drawn again for what the
    account may do now, or the login page when it was deactivated."""
    for client in list(_views.get(change.username, ())):
        _reload(client)
        if not change.is_active:  # and whatever a tampered page does instead of reloading, it ends on our side
            asyncio.get_running_loop().call_later(REVOKED_GRACE, _delete, client)
    _views.pop(change.username, None)


def _delete(client: Client) -> None:
    if not client.is_deleted:
        client.delete()


def _reload(client: Client) -> None:
    if client.has_socket_connection:
        try:
            client.run_javascript("window.location.reload()")
        except Exception:  # the tab is going away anyway
            log.debug("could not reload a revoked view", exc_info=True)
