"""The header bell: the signed-in user's live unread count, and the way to their inbox."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from nicegui import Event as UiEvent
from nicegui import ui

INBOX_PATH = "/"
MAX_SHOWN = 99
KINDS = frozenset({"notification", "notification_read", "notification_dismissed", "notification_expired"})
SCROLL_JS = """
const inbox = document.querySelector('.notification-inbox');
if (inbox) { inbox.scrollIntoView({behavior: 'smooth', block: 'start'}); inbox.focus({preventScroll: true}); }
"""
BADGE_STYLE = ("position:absolute;top:4px;right:2px;min-width:1.15rem;height:1.15rem;padding:0 .3rem;"
               "border-radius:999px;background:var(--neon-magenta);color:#000;font:700 .7rem/1.15rem "
               "'JetBrains Mono',monospace;text-align:center;box-shadow:0 0 8px var(--neon-magenta);"
               "pointer-events:none")


class CountSource(Protocol):
    """What the bell needs from the notification service."""

    async def unread_count(self, user_id: str, *, role: str | None = ...) -> int: ...


async def notification_bell(source: CountSource, username: str, role: str,
                            channels: Iterable[UiEvent[dict[str, Any]]]) -> NotificationBell:
    """Draw the bell, follow the delivery `channels` (user, role, broadcast), then ask for the count."""
    bell = NotificationBell(source, username, role)
    for channel in channels:  # subscribed inside the page, so the subscription ends with the tab
        channel.subscribe(bell.handle)
    await bell.refresh()
    return bell


class NotificationBell:
    """A bell button with an unread badge (hidden at 0); it pulses after an emergency arrives until it is opened."""

    def __init__(self, source: CountSource, username: str, role: str) -> None:
        self.source = source
        self.username = username
        self.role = role
        self.count = 0
        self._version = 0  # bumped by every envelope, so a count asked meanwhile is known to be stale
        self._asking = False
        with ui.button(icon="notifications", on_click=self.open).props("flat round color=primary") \
                .classes("notification-bell priority-5").mark("notification-bell") as self.button:
            # A plain span rather than a q-badge: the inbox's badge stays the only `.q-badge` on the page.
            self.badge = ui.label("0").style(BADGE_STYLE).props("aria-hidden=true").mark("bell-badge")
            self.tooltip = ui.tooltip("")
        self._show(0)

    @property
    def label(self) -> str:
        """What a screen reader announces for the button, e.g. "3 unread notifications"."""
        if self.count == 0:
            return "No unread notifications"
        return f"{self.count} unread notification{'' if self.count == 1 else 's'}"

    async def handle(self, envelope: dict[str, Any]) -> None:
        """A delivery envelope: a read/dismiss/expiry on the user's own channel carries the new count; anything
        else (a new notification, an expiry on a shared channel) makes the bell ask the service."""
        kind, data = envelope.get("type"), envelope.get("data") or {}
        if kind not in KINDS:
            return
        self._version += 1
        if kind == "notification" and data.get("priority") == 5 and data.get("read_at") is None:
            self.button.classes(add="pulse")
        count = data.get("unread_count")
        if isinstance(count, int) and not isinstance(count, bool):
            self._show(count)
        else:  # counting +1 here could count twice: the page's first query may already include it
            await self.refresh()

    async def refresh(self) -> None:
        """Ask the service for the count; one question at a time per bell, asked again while envelopes arrive."""
        if self._asking:
            return  # the question in flight sees the version change and asks again
        self._asking = True
        try:
            while True:
                asked = self._version
                count = await self.source.unread_count(self.username, role=self.role)
                if self.button.is_deleted:
                    return
                self._show(count)
                if asked == self._version:
                    return
        finally:
            self._asking = False

    def open(self) -> None:
        """On the inbox's page scroll to the inbox; elsewhere go there."""
        self.button.classes(remove="pulse")
        if ui.context.client.page.path == INBOX_PATH:
            ui.run_javascript(SCROLL_JS)
        else:
            ui.navigate.to(INBOX_PATH)

    def _show(self, count: int) -> None:
        self.count = max(0, count)
        self.badge.set_text(str(self.count) if self.count <= MAX_SHOWN else f"{MAX_SHOWN}+")
        self.badge.set_visibility(self.count > 0)
        self.button.props(f'aria-label="{self.label}"')
        self.tooltip.set_text(self.label)
        if self.count == 0:
            self.button.classes(remove="pulse")
