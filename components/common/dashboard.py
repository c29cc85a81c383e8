"""The dashboard's layout (dashboard.js): named slots for the strip, the inbox and the feed."""

from __future__ import annotations

from nicegui import ui


class DashboardLayout(ui.element, component="dashboard.js"):
    """`with layout.add_slot("strip" | "inbox" | "feed"): ...` draws into each part."""

    def __init__(self, unread: int = 0) -> None:
        super().__init__()
        self._props["unread0"] = unread
