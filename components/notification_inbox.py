"""The signed-in user's inbox: unread badge, newest notifications, actions, read, dismiss, read-all; live."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from nicegui import Event as UiEvent
from nicegui import ui

from components.notification_card import NotificationCard


class InboxSource(Protocol):
    """What the inbox needs from the notification service."""

    async def get_inbox(self, user_id: str, *, role: str | None = ..., limit: int = ...) -> dict[str, Any]: ...
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
        self.cards: dict[str, NotificationCard] = {}
        self._loading = False
        self._changed_while_loading = False
        with ui.card().classes("neon-card w-full").mark("notification-inbox"):
            with ui.row().classes("items-center w-full gap-3"):
                ui.label("Notifications").classes("neon-title text-xl")
                self.badge = ui.badge("0", color="secondary").classes("text-sm").mark("unread-badge")
                ui.button("Mark all read", on_click=self.read_all).props("flat dense no-caps").classes(
                    "ml-auto").mark("read-all")
            self.empty = ui.label("No notifications.").classes("muted").mark("no-notifications")
            self.list = ui.column().classes("w-full gap-2").mark("notification-list")
        self._show_unread(0)

    async def load(self) -> None:
        """Fill in the stored notifications and the unread count from the service."""
        self._loading = True
        try:
            inbox = await self.source.get_inbox(self.username, role=self.role, limit=self.size)
        finally:
            self._loading = False
        for notification in reversed(inbox["notifications"]):
            self._add(notification)
        self._show_unread(inbox["unread_count"])
        if self._changed_while_loading:  # something arrived between the query and now: ask again
            await self._refresh_count()

    async def handle(self, envelope: dict[str, Any]) -> None:
        """A delivery envelope from the user, role or broadcast channel."""
        kind, data = envelope.get("type"), envelope.get("data") or {}
        self._changed_while_loading = self._changed_while_loading or self._loading
        if kind == "notification":
            if data.get("id") not in self.cards and self._add(data) and data.get("read_at") is None:
                self._show_unread(self.unread + 1)
        elif kind == "notification_read":
            for card in (self.cards.values() if data.get("all") else self._cards(data)):
                card.set_read(True)
            self._count_from(data)
        elif kind in ("notification_dismissed", "notification_expired"):
            for card in self._cards(data):
                self._remove(card.id)
            if not self._count_from(data):
                await self._refresh_count()

    async def read_all(self) -> None:
        await self.source.mark_all_read(self.username, role=self.role)
        for card in self.cards.values():
            card.set_read(True)
        await self._refresh_count()

    async def _read(self, notification_id: str) -> None:
        card = self.cards.get(notification_id)  # a live dismiss from another device may remove it meanwhile
        if not await self.source.mark_notification_read(notification_id, self.username, role=self.role):
            self._remove(notification_id)
        elif card is not None and not card.element.is_deleted:
            card.set_read(True)
        await self._refresh_count()

    async def _dismiss(self, notification_id: str) -> None:
        await self.source.dismiss_notification(notification_id, self.username, role=self.role)
        self._remove(notification_id)
        await self._refresh_count()

    async def _act(self, notification_id: str, action: dict[str, str]) -> None:
        chosen = await self.source.perform_action(notification_id, self.username, action["action"], role=self.role)
        if chosen is None:
            ui.notify("This notification is no longer available.")
            self._remove(notification_id)
        else:
            if notification_id in self.cards:
                self.cards[notification_id].set_read(True)
            if chosen.get("url"):
                ui.navigate.to(chosen["url"], new_tab=True)
        await self._refresh_count()

    def _add(self, notification: dict[str, Any]) -> bool:
        if notification.get("id") in self.cards or notification.get("dismissed_at"):
            return False
        with self.list:
            card = NotificationCard(notification, on_read=self._read, on_dismiss=self._dismiss, on_action=self._act)
        card.element.move(target_index=0)
        self.cards[card.id] = card
        while len(self.cards) > self.size:  # the oldest card goes; the server keeps it
            self._remove(next(iter(self.cards)))
        self.empty.set_visibility(False)
        return True

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
