"""One notification: priority styling, title, message, relative time, its action buttons, read and dismiss."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from nicegui import ui

from components.common.json_view import json_view

PRIORITY_NAMES = {1: "low", 2: "medium", 3: "high", 4: "critical", 5: "emergency"}

Handler = Callable[[str], Awaitable[None]]
ActionHandler = Callable[[str, dict[str, str]], Awaitable[None]]


class NotificationCard:
    """Draws a notification dict (the REST shape); `set_read` drops the unread mark and hides its read button."""

    def __init__(self, notification: dict[str, Any], *, on_read: Handler, on_dismiss: Handler,
                 on_action: ActionHandler, now: datetime | None = None) -> None:
        self.id: str = notification["id"]
        self.notification = notification
        self.created_at = parse_time(notification.get("created_at"))
        self.expires_at = parse_time(notification.get("expires_at"))
        priority = int(notification.get("priority") or 2)
        self.priority = priority if priority in PRIORITY_NAMES else 2
        name = PRIORITY_NAMES[self.priority]
        with ui.card().classes(f"notification-card priority-bar priority-{self.priority} w-full gap-1 p-3") \
                .props(f'role=article aria-label="{name} priority notification"') \
                .mark(f"notification-{self.id}") as self.element:
            with ui.row().classes("items-center w-full gap-2 no-wrap"):
                self.dot = ui.element("span").classes("shrink-0").props('aria-label="unread" role=img') \
                    .style("width:.55rem;height:.55rem;border-radius:50%;background:var(--priority);"
                           "box-shadow:0 0 6px var(--priority)")
                self.title = ui.label(notification["title"]).classes("break-words min-w-0") \
                    .style("color: var(--priority)")
                ui.label(name).classes("priority-chip shrink-0").mark(f"priority-{self.id}")
                self.time = ui.label().classes("mono text-xs muted ml-auto shrink-0 whitespace-nowrap") \
                    .mark(f"time-{self.id}")
                if self.created_at is not None:
                    self.time.tooltip(f"{self.created_at:%Y-%m-%d %H:%M:%S} UTC")
            ui.label(notification["message"]).classes("text-sm break-words").mark(f"message-{self.id}")
            with ui.row().classes("items-center gap-2 w-full"):
                self.action_buttons: list[ui.button] = []
                for action in notification.get("actions") or ():
                    button = ui.button(action["label"], on_click=lambda a=action: on_action(self.id, a)).props(
                        "dense outline no-caps color=primary").mark(f"action-{self.id}-{action['action']}")
                    self.action_buttons.append(button)
                self.read_button = ui.button("Mark read", on_click=lambda: on_read(self.id)).props(
                    "flat dense no-caps").mark(f"read-{self.id}")
                ui.button("Dismiss", on_click=lambda: on_dismiss(self.id)).props(
                    "flat dense no-caps color=secondary").mark(f"dismiss-{self.id}")
                self.expiry = ui.label().classes("mono text-xs muted ml-auto").mark(f"expiry-{self.id}")
        self.read = False
        self.set_read(notification.get("read_at") is not None)
        self.refresh_time(now or datetime.now(UTC))

    def set_read(self, read: bool) -> None:
        self.read = read
        self.read_button.set_visibility(not read)
        self.dot.set_visibility(not read)
        if read:
            self.element.classes(add="is-read", remove="unread")
            self.title.classes(remove="font-bold")
        else:
            self.element.classes(add="unread", remove="is-read")
            self.title.classes(add="font-bold")

    def set_busy(self, busy: bool) -> None:
        """Disable the action buttons while one of them is being performed (no double sends)."""
        for button in self.action_buttons:
            button.set_enabled(not busy)

    def refresh_time(self, now: datetime) -> None:
        """Rewrite "3 min ago" and "expires in 5 min" for `now`; only changed text goes to the browser."""
        _set(self.time, relative_time(self.created_at, now) if self.created_at else "")
        _set(self.expiry, expires_in(self.expires_at, now) if self.expires_at else "")


def relative_time(then: datetime, now: datetime) -> str:
    """"just now", "3 min ago", "2 h ago", "yesterday", "4 days ago", then the date."""
    seconds = (now - then).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    if days < 7:
        return "yesterday" if days == 1 else f"{days} days ago"
    return f"{then:%Y-%m-%d}"


def expires_in(expiry: datetime, now: datetime) -> str:
    """"expires in 5 min" (rounded up, so it never says 0 while time is left), or "expired"."""
    seconds = (expiry - now).total_seconds()
    if seconds <= 0:
        return "expired"
    if seconds < 3600:
        return f"expires in {-int(-seconds // 60)} min"
    if seconds < 86400:
        return f"expires in {-int(-seconds // 3600)} h"
    return f"expires in {-int(-seconds // 86400)} days"


def parse_time(iso: object) -> datetime | None:
    """An aware UTC datetime from an ISO text (naive means UTC), or None."""
    if not isinstance(iso, str) or not iso:
        return None
    try:
        value = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _set(label: ui.label, text: str) -> None:
    if label.text != text:
        label.set_text(text)


INTROS = {
    "onboarding": "Start here: new notifications arrive in this inbox as they are sent, the metric cards show the "
                  "system's state, and the event feed shows what happens across the network, all live.",
    "learn_more": "Every human receives a weekly flow of $800, a housing credit of $104,000 and an investment pool "
                  "of $104,000 from the $19T pool; communities pool their members' credits.",
    "check_system": "The health card and the live metric cards on the dashboard show the system's state now.",
}


class NotificationDetails:
    """One dialog per inbox, refilled for whichever notification's "view" action was pressed."""

    def __init__(self) -> None:
        with ui.dialog() as self.dialog, ui.card().classes("neon-card w-full max-w-2xl").mark("notification-details"):
            self.body = ui.column().classes("w-full gap-2")
            ui.button("Close", on_click=self.dialog.close).props("flat").mark("details-close")

    def show(self, notification: dict[str, Any], action: str) -> None:
        self.body.clear()
        priority = int(notification.get("priority") or 2)
        with self.body:
            ui.label(notification["title"]).classes("neon-title text-lg break-words")
            if action in INTROS:
                ui.label(INTROS[action]).classes("text-sm").mark("details-intro")
            ui.label(notification["message"]).classes("break-words")
            created = parse_time(notification.get("created_at"))
            facts = [f"priority {PRIORITY_NAMES.get(priority, priority)}", f"type {notification.get('type')}"]
            if created:
                facts.append(f"sent {created:%Y-%m-%d %H:%M} UTC")
            if notification.get("correlation_id"):
                facts.append(f"event {notification['correlation_id']}")
            ui.label(" · ".join(facts)).classes("mono text-xs muted break-all")
            if notification.get("data"):
                json_view(notification["data"]).mark("details-data")
        self.dialog.open()
