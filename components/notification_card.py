"""One notification: priority colour, title, message, its action buttons, read and dismiss."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from theme.tokens import CYAN, PRIORITY_COLORS

PRIORITY_NAMES = {1: "low", 2: "medium", 3: "high", 4: "critical", 5: "emergency"}

Handler = Callable[[str], Awaitable[None]]
ActionHandler = Callable[[str, dict[str, str]], Awaitable[None]]


class NotificationCard:
    """Draws a notification dict (the REST shape); `set_read` greys it out and hides its read button."""

    def __init__(self, notification: dict[str, Any], *, on_read: Handler, on_dismiss: Handler,
                 on_action: ActionHandler) -> None:
        self.id: str = notification["id"]
        priority = int(notification.get("priority") or 2)
        color = PRIORITY_COLORS.get(priority, CYAN)
        with ui.card().classes("notification-card w-full gap-1 p-3").style(
                f"border-left: 4px solid {color}").mark(f"notification-{self.id}") as self.element:
            if priority >= 5:
                self.element.classes("pulse")
            with ui.row().classes("items-baseline w-full gap-2 no-wrap"):
                ui.label(notification["title"]).classes("font-bold break-words").style(f"color: {color}")
                ui.label(PRIORITY_NAMES.get(priority, str(priority))).classes("mono text-xs muted")
                ui.label(_time(notification.get("created_at"))).classes("mono text-xs muted ml-auto")
            ui.label(notification["message"]).classes("text-sm break-words").mark(f"message-{self.id}")
            with ui.row().classes("items-center gap-2"):
                for action in notification.get("actions") or ():
                    ui.button(action["label"], on_click=lambda a=action: on_action(self.id, a)).props(
                        "dense outline no-caps").mark(f"action-{self.id}-{action['action']}")
                self.read_button = ui.button("Mark read", on_click=lambda: on_read(self.id)).props(
                    "flat dense no-caps").mark(f"read-{self.id}")
                ui.button("Dismiss", on_click=lambda: on_dismiss(self.id)).props(
                    "flat dense no-caps color=secondary").mark(f"dismiss-{self.id}")
        self.read = False
        self.set_read(notification.get("read_at") is not None)

    def set_read(self, read: bool) -> None:
        self.read = read
        self.read_button.set_visibility(not read)
        if read:
            self.element.classes(add="opacity-60", remove="unread")
        else:
            self.element.classes(add="unread", remove="opacity-60")


def _time(iso: str | None) -> str:
    """`HH:MM` of an ISO time (UTC), or nothing."""
    return f"{iso[11:16]} UTC" if iso and len(iso) >= 16 else ""
