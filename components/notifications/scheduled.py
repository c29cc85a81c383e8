"""Scheduled sends in the Notifications tab: what goes out when, to whom, and a Cancel until then."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from nicegui import ui

from components.common.guard import Authorize, always
from theme import toast

log = logging.getLogger(__name__)

SHOWN = 20
REFRESH_SECONDS = 15.0
"""Deliveries happen in the leader's job, which signals nothing to this view: look again now and then."""


class ScheduleSource(Protocol):
    async def listing(self, *, status: str | None = ..., limit: int = ...) -> list[dict[str, Any]]: ...
    async def cancel(self, scheduled_id: str) -> str | None: ...


class ScheduledList:
    """The newest scheduled sends; each still waiting has a Cancel button."""

    def __init__(self, source: ScheduleSource, authorize: Authorize = always) -> None:
        self.source = source
        self.authorize = authorize
        self.items: list[dict[str, Any]] = []
        self.root = ui.column().classes("w-full gap-2").mark("scheduled-list")
        ui.timer(REFRESH_SECONDS, self.refresh, immediate=False)  # the tab draws it once itself

    async def refresh(self) -> None:
        try:
            self.items = await self.source.listing(limit=SHOWN)
        except Exception:  # the database is away: keep what is shown
            log.warning("listing scheduled sends failed", exc_info=True)
            return
        self._draw()

    def _draw(self) -> None:
        self.root.clear()
        with self.root:
            if not self.items:
                ui.label("Nothing scheduled.").classes("text-body muted")
            for item in self.items:
                with ui.row().classes("w-full items-center gap-2 no-wrap").mark(f"scheduled-{item['scheduled_id']}"):
                    with ui.column().classes("gap-0 min-w-0 flex-1"):
                        ui.label(item["title"]).classes("text-body wrap-anywhere")
                        ui.label(f"{_when(item['deliver_at'])} · {item['target']} · {item['status']}"
                                 + (f" · {item['error']}" if item.get("error") else "")) \
                            .classes("text-technical muted wrap-anywhere")
                    if item["status"] == "scheduled":
                        ui.button("Cancel", on_click=lambda _, i=item: self.cancel(i)) \
                            .props("flat dense no-caps color=negative") \
                            .mark(f"scheduled-cancel-{item['scheduled_id']}")

    async def cancel(self, item: dict[str, Any]) -> None:
        if not await self.authorize():
            return
        state = await self.source.cancel(item["scheduled_id"])
        with self.root:
            if state is None:
                toast(f"Cancelled: {item['title']}")
            else:
                toast(f"Not cancelled: it is already {state}", "warning")
        await self.refresh()


def _when(iso: str | None) -> str:
    if not iso:
        return "?"
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
