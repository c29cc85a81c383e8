"""The header bell: the live unread count, and a panel of the latest notifications that leads to the inbox."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from nicegui import Event as UiEvent
from nicegui import ui

from components.notifications.inbox import LiveGate, now_iso, shown

LATEST = 8
"""Notifications the bell's panel lists."""


class BellSource(Protocol):
    async def get_inbox(self, user_id: str, *, role: str | None = ..., limit: int = ...) -> dict[str, Any]: ...
    async def unread_count(self, user_id: str, *, role: str | None = ...) -> int: ...


class Bell(ui.element, component="bell.js", dependencies=["../common/neon_time.js"]):
    """One view's bell; `seed(page)` fills it from an inbox page, `handle(envelope)` follows the channels."""

    def __init__(self, source: BellSource, username: str, role: str, *, inbox_path: str = "/",
                 gate: LiveGate | None = None) -> None:
        super().__init__()
        self.gate = gate
        self.source = source
        self.username = username
        self.role = role
        self._props["inbox"] = inbox_path
        self._props["size"] = LATEST
        self._titles: dict[str, str] = {}

    async def load(self) -> None:
        self.seed(await self.source.get_inbox(self.username, role=self.role, limit=LATEST))

    def seed(self, page: dict[str, Any]) -> None:
        """Start from an inbox page (before the page is sent)."""
        latest = page["notifications"][:LATEST]
        self._props["items0"] = [shown(n) for n in latest]
        self._props["unread0"] = page["unread_count"]
        self._titles = {n["id"]: str(n.get("title", "")) for n in latest}

    def follow(self, channels: Iterable[UiEvent[dict[str, Any]]]) -> None:
        for channel in channels:  # inside the page: the subscriptions end with it
            channel.subscribe(self.handle)

    async def handle(self, envelope: dict[str, Any]) -> None:
        kind, data = envelope.get("type"), envelope.get("data") or {}
        if kind == "notification" and isinstance(data.get("id"), str):
            if self.gate is not None and not self.gate(str(envelope.get("channel", "")), data):
                return  # the person's preferences keep it in the inbox only
            self._titles[data["id"]] = str(data.get("title", ""))
            while len(self._titles) > LATEST:
                del self._titles[min(self._titles)]
            replaced = data.get("replaces")
            if isinstance(replaced, list):  # a digest entry taking the place of the items it collected
                for notification_id in replaced:
                    self._titles.pop(notification_id, None)
                self.run_method("remove", replaced)
            self.run_method("add", shown(data), True)
            if isinstance(replaced, list) and isinstance(data.get("unread_count"), int):
                self.run_method("setUnread", data["unread_count"])
            return
        ids = [i for i in (data.get("notification_ids") or [data.get("notification_id")]) if isinstance(i, str)]
        if kind == "notification_read":
            self.run_method("markRead", ids, bool(data.get("all")), now_iso())
        elif kind == "notification_acted":
            for notification_id in ids:
                self.run_method("acted", notification_id, data.get("action"), now_iso())
        elif kind in ("notification_dismissed", "notification_expired"):
            for notification_id in ids:
                self._titles.pop(notification_id, None)
            self.run_method("remove", ids)
        else:
            return
        count = data.get("unread_count")
        if not isinstance(count, int):
            count = await self.source.unread_count(self.username, role=self.role)
        self.run_method("setUnread", count)

    def _displayed_contents(self, *, only_visible: bool) -> list[Any]:
        return list(self._titles.values())
