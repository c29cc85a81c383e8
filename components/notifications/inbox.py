"""The signed-in person's inbox: filters, text search, days, paging back, actions taken once, read, dismiss with
undo; live. One element per view: the browser draws the cards (inbox.js) from the data sent once per change."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from nicegui import Event as UiEvent
from nicegui import ui
from nicegui.events import GenericEventArguments

from services.notifications import ActionTaken, NotificationType

log = logging.getLogger(__name__)

PAGE = 30
"""Notifications loaded at once (the first screen, and each "Load older")."""
KEPT = 200
"""The most cards one view holds; older ones are dropped from the view (the server keeps them)."""
VIEW_ACTIONS = frozenset({"view_transaction", "view_truth", "view_mesh", "view_details", "check_system",
                          "onboarding", "learn_more"})
"""Template actions whose meaning is "show me more": they open the details."""
TYPE_LABELS = {
    "resource_distribution": "Resource distributions", "truth_update": "Truth updates",
    "mesh_network_change": "Mesh changes", "system_alert": "System alerts", "user_action": "User actions",
    "welcome": "Welcome", "warning": "Warnings", "error": "Errors", "success": "Successes", "info": "Info",
}
LiveGate = Callable[[str, dict[str, Any]], bool]
"""(channel, notification) → whether it goes live to this view (the person's preferences)."""
_SHOWN = ("id", "type", "priority", "title", "message", "actions", "created_at", "expires_at", "read_at",
          "action_taken")


class InboxSource(Protocol):
    """What the inbox needs from the notification service."""

    async def get_inbox(self, user_id: str, *, role: str | None = ..., limit: int = ..., unread_only: bool = ...,
                        since: Any = ..., before: str | None = ..., types: Sequence[str] = ...,
                        min_priority: int | None = ..., text: str | None = ...) -> dict[str, Any]: ...
    async def get_notification(self, notification_id: str, user_id: str, *,
                               role: str | None = ...) -> dict[str, Any] | None: ...
    async def unread_count(self, user_id: str, *, role: str | None = ...) -> int: ...
    async def mark_notification_read(self, notification_id: str, user_id: str, *, role: str | None = ...) -> bool: ...
    async def dismiss_notification(self, notification_id: str, user_id: str, *, role: str | None = ...) -> bool: ...
    async def mark_all_read(self, user_id: str, *, role: str | None = ...) -> int: ...
    async def perform_action(self, notification_id: str, user_id: str, action: str, *,
                             role: str | None = ...) -> dict[str, str] | None: ...


def shown(notification: dict[str, Any]) -> dict[str, Any]:
    """What a card needs (the data object stays on the server until someone asks for the details; a digest
    entry brings its items' titles and messages, for the card to expand)."""
    card = {key: notification.get(key) for key in _SHOWN}
    data = notification.get("data")
    digest = data.get("digest") if isinstance(data, dict) else None
    if isinstance(digest, dict) and isinstance(digest.get("items"), list):
        card["digest"] = {"count": digest.get("count"), "items": [
            {key: item.get(key) for key in ("id", "title", "message", "created_at")}
            for item in digest["items"] if isinstance(item, dict)]}
    return card


class Inbox(ui.element, component="inbox.js", dependencies=["../common/neon_time.js"]):
    """One person's inbox in one view. `load()` fills it; `handle(envelope)` follows the delivery channels."""

    def __init__(self, source: InboxSource, username: str, role: str, *, gate: LiveGate | None = None) -> None:
        super().__init__()
        self.gate = gate
        self.source = source
        self.username = username
        self.role = role
        self.filters: dict[str, Any] = {}
        self._texts: dict[str, tuple[str, str]] = {}  # id -> (title, message) of what this view shows
        self._props["types"] = [[value.value, TYPE_LABELS.get(value.value, value.value)]
                                for value in NotificationType]
        self._props["size"] = KEPT
        for name, handler in (("filter", self._filter), ("more", self._more), ("read", self._read),
                              ("read_all", self._read_all), ("dismiss", self._dismiss), ("action", self._act),
                              ("detail", self._detail)):
            self.on(name, handler)

    async def load(self) -> dict[str, Any]:
        """The first page and the unread count, as props (before the page is sent; no message needed)."""
        page = await self._page()
        self._props["items"] = [shown(n) for n in page["notifications"]]
        self._props["unreadCount"] = page["unread_count"]
        self._props["hasMore"] = page["has_more"]
        self._remember(page["notifications"], replace=True)
        return page

    def follow(self, channels: Iterable[UiEvent[dict[str, Any]]]) -> None:
        """Subscribe to the delivery channels (inside the page, so the subscriptions end with it)."""
        for channel in channels:
            channel.subscribe(self.handle)

    async def handle(self, envelope: dict[str, Any]) -> None:
        """A delivery envelope from the user, role or broadcast channel."""
        kind, data = envelope.get("type"), envelope.get("data") or {}
        if kind == "notification" and isinstance(data.get("id"), str):
            if self.gate is not None and not self.gate(str(envelope.get("channel", "")), data):
                return  # the person's preferences keep it out of the live view (it is there on the next load)
            replaced = data.get("replaces")
            if isinstance(replaced, list):  # a digest entry taking the place of the items it collected
                for notification_id in replaced:
                    self._texts.pop(notification_id, None)
                self.run_method("remove", replaced)
            self._remember([data])
            self.run_method("add", shown(data), True)
            if isinstance(replaced, list):
                await self._count_from(data)
        elif kind == "notification_read":
            self.run_method("markRead", _ids(data), bool(data.get("all")), now_iso())
            await self._count_from(data)
        elif kind == "notification_acted":
            for notification_id in _ids(data):
                self.run_method("acted", notification_id, data.get("action"), now_iso())
            await self._count_from(data)
        elif kind in ("notification_dismissed", "notification_expired"):
            gone = _ids(data)
            for notification_id in gone:
                self._texts.pop(notification_id, None)
            self.run_method("remove", gone)
            await self._count_from(data)

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        return [text for pair in self._texts.values() for text in pair]

    async def _page(self, before: str | None = None) -> dict[str, Any]:
        f = self.filters
        return await self.source.get_inbox(
            self.username, role=self.role, limit=PAGE, unread_only=bool(f.get("unreadOnly")), before=before,
            types=[f["type"]] if f.get("type") else [], min_priority=int(f.get("priority") or 0) or None,
            text=str(f.get("q") or "").strip()[:200] or None)

    async def _filter(self, event: GenericEventArguments) -> None:
        self.filters = dict(event.args) if isinstance(event.args, dict) else {}
        page = await self._page()
        self._remember(page["notifications"], replace=True)
        self.run_method("replace", [shown(n) for n in page["notifications"]], page["has_more"])

    async def _more(self, event: GenericEventArguments) -> None:
        before = event.args.get("before") if isinstance(event.args, dict) else None
        page = await self._page(before if isinstance(before, str) else None)
        self._remember(page["notifications"])
        self.run_method("append", [shown(n) for n in page["notifications"]], page["has_more"])

    async def _read(self, event: GenericEventArguments) -> None:
        notification_id = str(event.args.get("id", ""))
        if not await self.source.mark_notification_read(notification_id, self.username, role=self.role):
            self.run_method("remove", [notification_id])
        # the service pushes notification_read with the count to every view of this account

    async def _read_all(self, _: GenericEventArguments) -> None:
        await self.source.mark_all_read(self.username, role=self.role)

    async def _dismiss(self, event: GenericEventArguments) -> None:
        await self.source.dismiss_notification(str(event.args.get("id", "")), self.username, role=self.role)

    async def _detail(self, event: GenericEventArguments) -> None:
        found = await self.source.get_notification(str(event.args.get("id", "")), self.username, role=self.role)
        if found is None:
            ui.notify("This notification is no longer available.", type="warning")
            self.run_method("remove", [event.args.get("id")])
        else:
            self.run_method("showDetail", found)

    async def _act(self, event: GenericEventArguments) -> None:
        """Take one of a card's actions (once), then do what the button says."""
        notification_id, action = str(event.args.get("id", "")), str(event.args.get("action", ""))
        try:
            chosen = await self.source.perform_action(notification_id, self.username, action, role=self.role)
        except ActionTaken as taken:
            self.run_method("acted", notification_id, taken.action, now_iso())
            ui.notify(f"Already answered: {taken.action}", type="warning")
            return
        except Exception:  # the database or broker is away: say so, the notification stays as it was
            log.warning("performing %s on %s failed", action, notification_id, exc_info=True)
            self.run_method("settle", notification_id)
            ui.notify("That did not go through. Please try again.", type="negative")
            return
        if chosen is None:
            ui.notify("This notification is no longer available.", type="warning")
            self.run_method("remove", [notification_id])
            return
        self.run_method("acted", notification_id, action, now_iso())
        url = chosen.get("url")
        if url:
            ui.navigate.to(url, new_tab=not url.startswith("/"))  # our own pages open in place
        elif action in VIEW_ACTIONS:
            found = await self.source.get_notification(notification_id, self.username, role=self.role)
            if found is not None:
                self.run_method("showDetail", found)
        else:
            ui.notify(f"“{chosen['label']}” recorded", type="positive")

    async def _count_from(self, data: dict[str, Any]) -> None:
        count = data.get("unread_count")
        if not isinstance(count, int):  # an expiry of a role's or everyone's notification: ask once
            count = await self.source.unread_count(self.username, role=self.role)
        self.run_method("setUnread", count)

    def _remember(self, notifications: Iterable[dict[str, Any]], *, replace: bool = False) -> None:
        if replace:
            self._texts.clear()
        for notification in notifications:
            self._texts[notification["id"]] = (str(notification.get("title", "")), str(notification.get("message", "")))
        while len(self._texts) > KEPT:
            del self._texts[min(self._texts)]


def _ids(data: dict[str, Any]) -> list[str]:
    ids = data.get("notification_ids") or [data.get("notification_id")]
    return [i for i in ids if isinstance(i, str)]


def now_iso() -> str:
    return datetime.now(UTC).isoformat()
