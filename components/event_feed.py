"""A live list of events, newest on top, bounded to `size` rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nicegui import ui

from theme.tokens import MAGENTA


class EventFeed:
    """Shows event dicts (the REST/WS event shape); `add` puts a new one on top and drops the oldest."""

    def __init__(self, events: Iterable[dict[str, Any]] = (), *, size: int = 50) -> None:
        self.size = size
        with ui.column().classes("w-full gap-2").mark("event-feed") as self.container:
            self.empty = ui.label("No events yet.").classes("muted")
        for event in reversed(list(events)[:size]):
            self.add(event)

    def add(self, event: dict[str, Any]) -> None:
        self.empty.set_visibility(False)
        with self.container:
            row = _event_row(event)
        row.move(target_index=1)  # index 0 is the "no events" label
        rows = self.container.default_slot.children
        while len(rows) > self.size + 1:
            self.container.remove(rows[-1])

    @property
    def count(self) -> int:
        return len(self.container.default_slot.children) - 1


def _event_row(event: dict[str, Any]) -> ui.element:
    with ui.column().classes("event-row w-full gap-0").mark(f"event-{event['id']}") as row:
        with ui.row().classes("items-baseline gap-3 w-full"):
            ui.label(event["type"]).classes("mono font-bold").style(f"color: {MAGENTA}")
            ui.label(event.get("source", "")).classes("text-sm muted")
            ui.label(str(event.get("timestamp", ""))[11:19]).classes("mono text-sm muted ml-auto")
        ui.label(_summary(event.get("data") or {})).classes("mono text-sm break-all")
    return row


def _summary(data: dict[str, Any], limit: int = 160) -> str:
    text = ", ".join(f"{k}={v}" for k, v in data.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"
