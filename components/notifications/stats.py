"""Notification statistics and the cleanup button of the admin Notifications tab."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from nicegui import ui

from components.common.guard import Authorize, always
from components.notifications.trace import TraceLoad, trace_button
from theme import section_heading, toast

log = logging.getLogger(__name__)

PRIORITIES = {1: "low", 2: "medium", 3: "high", 4: "critical", 5: "emergency"}
STATS_THROTTLE = 1.0  # seconds between two stats queries of one view while a burst of sends goes on


class Sweeper(Protocol):
    async def sweep(self) -> dict[str, int]: ...


class Cleanup:
    """Runs the expiry sweep and history retention now and says what they removed."""

    def __init__(self, source: Sweeper, authorize: Authorize = always) -> None:
        self.source = source
        self.authorize = authorize
        ui.label("Removes expired notifications (live views are told) and prunes read or dismissed history "
                 "beyond each user's limit. It also runs on a schedule.").classes("text-body muted")
        with ui.row().classes("items-center gap-3"):
            self.button = ui.button("Run cleanup now", icon="cleaning_services", on_click=self.run) \
                .props("outline color=secondary").mark("notifications-cleanup")
            self.result = ui.label().classes("text-technical").props("role=status").mark("cleanup-result")

    async def run(self) -> None:
        if not await self.authorize():
            return
        self.button.disable()
        self.result.classes(remove="danger-text")
        try:
            swept = await self.source.sweep()
        except Exception:  # the database is away: say so instead of failing silently
            log.warning("notification cleanup failed", exc_info=True)
            self.result.set_text("Cleanup failed: the database did not answer; nothing was removed.")
            self.result.classes(add="danger-text")
            return
        finally:
            self.button.enable()
        text = f"removed {swept['cleaned_count']:,} expired, pruned {swept['pruned_count']:,}"
        self.result.set_text(text)
        toast(f"Notification cleanup: {text}")


class NotificationStats:
    """Totals, by type, priority and user, and the newest sends; redrawn when a `notification.*` event passes."""

    def __init__(self, load: Callable[[], Awaitable[dict[str, Any]]], *, throttle: float,
                 trace: TraceLoad | None = None, authorize: Authorize = always) -> None:
        self.load = load
        self.throttle = throttle
        self.trace = trace
        self.authorize = authorize
        self._busy = False
        self._stale = False
        with ui.column().classes("w-full gap-3") as self.root:  # outlives the redrawn rows: trace dialogs live here
            self.body = ui.column().classes("w-full gap-3").mark("notification-stats")

    async def on_event(self, event: dict[str, Any]) -> None:
        """Refresh now; events arriving meanwhile cost one more refresh after `throttle`, not one each."""
        if not str(event.get("type", "")).startswith("notification."):
            return
        self._stale = True
        if self._busy:
            return
        self._busy = True
        try:
            while self._stale and not self.body.is_deleted:
                self._stale = False
                await self.refresh()
                await asyncio.sleep(self.throttle)
        finally:
            self._busy = False

    async def refresh(self) -> None:
        try:
            stats = await self.load()
        except Exception:  # keep the last figures on screen; the next event tries again
            log.warning("loading notification statistics failed", exc_info=True)
            return
        if self.body.is_deleted:
            return
        self.body.clear()
        with self.body:
            self._draw(stats)

    def _draw(self, stats: dict[str, Any]) -> None:
        receipts = stats.get("receipts", {})
        with ui.element("div").classes("w-full grid gap-3 grid-cols-2 sm:grid-cols-3 lg:grid-cols-6"):
            for key, label, value in (
                    ("total", "notifications", stats["total_notifications"]),
                    ("users", "users addressed", stats["total_users"]),
                    ("unread", "unread (personal)", stats.get("unread_personal", 0)),
                    ("expired", "expired, not swept", stats.get("expired_pending", 0)),
                    ("read", "read receipts", receipts.get("read", 0)),
                    ("dismissed", "dismissed", receipts.get("dismissed", 0))):
                with ui.column().classes("gap-0 min-w-0").mark(f"stat-{key}"):
                    ui.label(f"{value:,}").classes("neon-title text-title mono")
                    ui.label(label).classes("text-caption muted")
        with ui.element("div").classes("w-full grid gap-4 grid-cols-1 sm:grid-cols-2 lg:grid-cols-4"):
            _counts("By type", stats.get("by_type", {}), "type")
            _counts("By priority", {f"{k} · {PRIORITIES.get(int(k), k)}": v
                                    for k, v in sorted(stats.get("by_priority", {}).items())}, "priority")
            _counts("By user (top 20)", stats.get("by_user", {}), "user")
            _counts("By target", stats.get("by_target", {}), "target")
        section_heading("Most recent", 3)
        with ui.column().classes("w-full gap-1").mark("stats-recent"):
            if not stats.get("recent"):
                ui.label("Nothing sent yet.").classes("muted text-body")
            for item in stats.get("recent", []):
                # Titles are anyone's words: they wrap (never widen the page) and show whole.
                with ui.element("div").classes(f"w-full grid gap-x-2 items-baseline priority-{item['priority']} "
                                               "grid-cols-[auto_auto_minmax(0,1fr)_auto] sm:grid-cols-"
                                               "[auto_auto_minmax(0,1fr)_minmax(0,12rem)_auto] list-row"):
                    ui.label(str(item["created_at"])[11:19]).classes("text-technical muted")
                    ui.label(PRIORITIES.get(item["priority"], "?")).classes("priority-chip")
                    ui.label(item["title"]).classes("text-body wrap-anywhere")
                    ui.label(item["channel"] or "").classes("text-technical muted wrap-anywhere col-start-3 "
                                                            "sm:col-start-auto sm:text-right")
                    if self.trace is not None and isinstance(item.get("id"), str):
                        trace_button(self.trace, item["id"], str(item["title"]), authorize=self.authorize,
                                     parent=self.root)


def _counts(title: str, counts: dict[str, int], key: str) -> None:
    with ui.column().classes("gap-0 min-w-0").mark(f"stats-by-{key}"):
        section_heading(title, 3)
        if not counts:
            ui.label("—").classes("muted")
        for name, count in counts.items():
            with ui.row().classes("w-full gap-2 no-wrap items-baseline"):
                ui.label(str(name)).classes("text-technical wrap-anywhere min-w-0")
                ui.label(f"{count:,}").classes("text-technical ml-auto")
