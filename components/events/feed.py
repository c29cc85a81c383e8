"""A live list of events, newest on top, bounded to `size` rows, with channel filters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nicegui import ui

from services.events import channel_for
from theme.tokens import MAGENTA

CHANNELS = ("resources", "humans", "truth", "mesh", "communities", "system", "users", "notifications", "metrics",
            "events")


class EventFeed:
    """Shows event dicts (the REST/WS event shape); `add` puts a new one on top and drops the oldest.

    Events of `excluded` channels are dropped before anything is drawn, so they never reach the browser."""

    def __init__(self, events: Iterable[dict[str, Any]] = (), *, size: int = 50,
                 excluded: frozenset[str] = frozenset()) -> None:
        self.size = size
        self.excluded = excluded
        self.hidden: set[str] = set()
        self._rows: list[tuple[str, ui.element]] = []  # (channel, row), newest first
        with ui.row().classes("w-full gap-1").mark("feed-filters"):
            for channel in (c for c in CHANNELS if c not in excluded):
                chip = ui.chip(channel, icon="check").props("dense color=primary text-color=black") \
                    .classes("mono").mark(f"filter-{channel}")
                chip.on_click(lambda c=channel, chip=chip: self._flip(c, chip))
        with ui.column().classes("w-full gap-2").mark("event-feed") as self.container:
            self.empty = ui.label("No events yet.").classes("muted")
        for event in reversed([e for e in events if self.shows(e)][:size]):
            self.add(event)

    def shows(self, event: dict[str, Any]) -> bool:
        """Whether this viewer may see the event at all (channel filters only hide it)."""
        return channel_for(str(event.get("type", ""))) not in self.excluded

    def add(self, event: dict[str, Any]) -> None:
        if not self.shows(event):
            return
        channel = channel_for(str(event.get("type", "")))
        self.empty.set_visibility(False)
        with self.container:
            row = _event_row(event)
        row.move(target_index=1)  # index 0 is the "no events" label
        row.set_visibility(channel not in self.hidden)
        self._rows.insert(0, (channel, row))
        while len(self._rows) > self.size:
            _, oldest = self._rows.pop()
            self.container.remove(oldest)

    def _flip(self, channel: str, chip: ui.chip) -> None:
        """Chip click: show a hidden channel again, or hide a shown one (outlined chip = hidden)."""
        shown = channel in self.hidden
        if shown:
            chip.props("icon=check text-color=black aria-pressed=true", remove="outline")
        else:
            chip.props("outline icon=block text-color=primary aria-pressed=false")
        self.toggle(channel, shown)

    def toggle(self, channel: str, shown: bool) -> None:
        if shown:
            self.hidden.discard(channel)
        else:
            self.hidden.add(channel)
        for row_channel, row in self._rows:
            if row_channel == channel:
                row.set_visibility(shown)

    @property
    def count(self) -> int:
        return len(self._rows)


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
