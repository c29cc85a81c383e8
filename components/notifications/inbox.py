"""The signed-in user's inbox: unread badge and filter, newest notifications, actions, read, dismiss, read-all; live."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from nicegui import Event as UiEvent
from nicegui import ui

from components.notifications.card import NotificationCard, NotificationDetails

log = logging.getLogger(__name__)

TICK_SECONDS = 30.0  # "3 min ago" moves in whole minutes; half a minute keeps it honest at one update per card
VIEW_ACTIONS = frozenset({"view_transaction", "view_truth", "view_mesh", "view_details", "check_system",
                          "onboarding", "learn_more"})
"""Template actions whose meaning is "show me more": they open the detail view."""


class InboxSource(Protocol):
    """What the inbox needs from the notification service."""

    async def get_inbox(self, user_id: str, *, role: str | None = ..., limit: int = ...,
                        unread_only: bool = ...) -> dict[str, Any]: ...
    async def unread_count(self, user_id: str, *, role: str | None = ...) -> int: ...
    async def mark_notification_read(self, notification_id: str, user_id: str, *, role: str | None = ...) -> bool: ...
    async def dismiss_notification(self, notification_id: str, user_id: str, *, role: str | None = ...) -> bool: ...
    async def mark_all_read(self, user_id: str, *, role: str | None = ...) -> int: ...
    async def perform_action(self, notification_id: str, user_id: str, action: str, *,
                             role: str | None = ...) -> dict[str, str] | None: ...


async def notification_inbox(source: InboxSource, username: str, role: str,
                             channels: Iterable[UiEvent[dict[str, Any]]], *, size: int = 50) -> NotificationInbox:
    """Draw the inbox, follow the delivery `channels` (user, role, broadcast), then load what is stored."""
    inbox = NotificationInbox(source, username, role, size=size)
    for channel in channels:  # subscribed inside the page, so the subscription ends with the tab
        channel.subscribe(inbox.handle)
    await inbox.load()
    return inbox


class NotificationInbox:
    def __init__(self, source: InboxSource, username: str, role: str, *, size: int = 50) -> None:
        self.source = source
        self.username = username
        self.role = role
        self.size = size
        self.unread = 0
        self.unread_only = False
        self.cards: dict[str, NotificationCard] = {}
        self._loading = False
        self._changed_while_loading = False
        with ui.card().classes("neon-card notification-inbox w-full").props("tabindex=-1") \
                .style("scroll-margin-top: 5rem").mark("notification-inbox") as self.root:
            with ui.row().classes("items-center w-full gap-x-3 gap-y-1"):
                ui.label("Notifications").classes("neon-title text-xl")
                self.badge = ui.badge("0", color="secondary").classes("text-sm").mark("unread-badge")
                with ui.row().classes("items-center gap-2 ml-auto"):
                    ui.switch("Unread only", on_change=lambda e: self.set_unread_only(bool(e.value))) \
                        .props("dense color=primary").mark("unread-only")
                    ui.button("Mark all read", on_click=self.read_all).props("flat dense no-caps").mark("read-all")
            self.empty = ui.label("No notifications.").classes("muted").mark("no-notifications")
            self.list = ui.column().classes("w-full gap-2").mark("notification-list")
            self.details = NotificationDetails()
            # Not immediate: an immediate timer waits for the socket at once, which makes NiceGUI serve the page
            # before the rest of it (this inbox's load, later sections) is built.
            ui.timer(TICK_SECONDS, self._tick, immediate=False)
        self._show_unread(0)

    async def load(self) -> None:
        """Fill in the stored notifications and the unread count from the service."""
        self._loading, self._changed_while_loading = True, False
        try:
            inbox = await self.source.get_inbox(self.username, role=self.role, limit=self.size,
                                                unread_only=self.unread_only)
        finally:
            self._loading = False
        for notification in inbox["notifications"]:
            self._add(notification)
        self._show_unread(inbox["unread_count"])
        if self._changed_while_loading:  # something arrived between the query and now: ask again
            await self._refresh_count()

    async def set_unread_only(self, unread_only: bool) -> None:
        """Show only unread notifications (asked from the server, so older unread ones appear too), or all."""
        self.unread_only = unread_only
        for notification_id in list(self.cards):
            self._remove(notification_id)
        self.empty.set_text("No unread notifications." if unread_only else "No notifications.")
        await self.load()

    async def handle(self, envelope: dict[str, Any]) -> None:
        """A delivery envelope from the user, role or broadcast channel."""
        kind, data = envelope.get("type"), envelope.get("data") or {}
        self._changed_while_loading = self._changed_while_loading or self._loading
        if kind == "notification":
            if data.get("id") not in self.cards and self._add(data) and data.get("read_at") is None:
                self._show_unread(self.unread + 1)
        elif kind == "notification_read":
            for card in (list(self.cards.values()) if data.get("all") else self._cards(data)):
                self._mark_read(card)
            self._count_from(data)
        elif kind in ("notification_dismissed", "notification_expired"):
            for card in self._cards(data):
                self._remove(card.id)
            if not self._count_from(data):
                await self._refresh_count()

    async def read_all(self) -> None:
        await self.source.mark_all_read(self.username, role=self.role)
        for card in list(self.cards.values()):
            self._mark_read(card)
        await self._refresh_count()

    async def _read(self, notification_id: str) -> None:
        card = self.cards.get(notification_id)  # a live dismiss from another device may remove it meanwhile
        if not await self.source.mark_notification_read(notification_id, self.username, role=self.role):
            self._remove(notification_id)
        elif card is not None and not card.element.is_deleted:
            self._mark_read(card)
        await self._refresh_count()

    async def _dismiss(self, notification_id: str) -> None:
        await self.source.dismiss_notification(notification_id, self.username, role=self.role)
        self._remove(notification_id)
        await self._refresh_count()

    async def _act(self, notification_id: str, action: dict[str, str]) -> None:
        """Perform one of the card's actions: publish `user.action`, mark read, then do what the button says."""
        card = self.cards.get(notification_id)
        notification = card.notification if card is not None else None
        if card is not None:
            card.set_busy(True)
        try:
            chosen = await self.source.perform_action(notification_id, self.username, action["action"],
                                                      role=self.role)
        except Exception:  # the database or broker is away: say so, the notification stays as it was
            log.warning("performing %s on %s failed", action.get("action"), notification_id, exc_info=True)
            ui.notify(f"“{action['label']}” did not go through. Please try again.", type="negative")
            return
        finally:
            if card is not None and not card.element.is_deleted:
                card.set_busy(False)
        if chosen is None:
            ui.notify("This notification is no longer available.", type="warning")
            self._remove(notification_id)
        else:
            current = self.cards.get(notification_id)
            if current is not None:
                self._mark_read(current)
            self._follow(chosen, notification)
        await self._refresh_count()

    def _follow(self, action: dict[str, str], notification: dict[str, Any] | None) -> None:
        """What the button means once it is recorded: open its link, show the details, or confirm."""
        url = action.get("url")
        if url:
            ui.notify(f"Opening {url}", type="info")
            ui.navigate.to(url, new_tab=not url.startswith("/"))  # our own pages open in place
        elif action["action"] in VIEW_ACTIONS and notification is not None:
            self.details.show(notification, action["action"])
        else:
            ui.notify(f"“{action['label']}” recorded", type="positive")

    def _add(self, notification: dict[str, Any]) -> bool:
        notification_id = notification.get("id")
        if notification_id in self.cards or notification.get("dismissed_at"):
            return False
        if self.unread_only and notification.get("read_at") is not None:
            return False
        with self.list:
            card = NotificationCard(notification, on_read=self._read, on_dismiss=self._dismiss, on_action=self._act)
        # Ids are time-ordered: a card arriving during a load still lands in its place, newest first.
        card.element.move(target_index=sum(1 for other in self.cards if other > card.id))
        self.cards[card.id] = card
        while len(self.cards) > self.size:  # the oldest card goes; the server keeps it
            self._remove(min(self.cards))
        self.empty.set_visibility(False)
        return True

    def _mark_read(self, card: NotificationCard) -> None:
        if self.unread_only:
            self._remove(card.id)
        else:
            card.set_read(True)

    def _remove(self, notification_id: str) -> None:
        card = self.cards.pop(notification_id, None)
        if card is not None:
            self.list.remove(card.element)
        self.empty.set_visibility(not self.cards)

    def _cards(self, data: dict[str, Any]) -> list[NotificationCard]:
        ids = data.get("notification_ids") or [data.get("notification_id")]
        return [self.cards[i] for i in ids if i in self.cards]

    def _count_from(self, data: dict[str, Any]) -> bool:
        count = data.get("unread_count")
        if isinstance(count, int):
            self._show_unread(count)
            return True
        return False

    async def _refresh_count(self) -> None:
        self._show_unread(await self.source.unread_count(self.username, role=self.role))

    def _show_unread(self, count: int) -> None:
        self.unread = max(0, count)
        self.badge.set_text(str(self.unread))
        self.badge.set_visibility(self.unread > 0)

    def _tick(self) -> None:
        now = datetime.now(UTC)
        for card in self.cards.values():
            card.refresh_time(now)
