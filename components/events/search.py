"""Event history search for admins: every filter, paging, and a detail view with the correlated events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nicegui import ui

from components.common.json_view import json_view
from services.events import Event, EventSystem

PAGE_SIZE = 25


class EventSearch:
    """Filters on top, results below; clicking a result opens its detail with every event of its correlation."""

    def __init__(self, events: EventSystem) -> None:
        self.events = events
        self.offset = 0
        self.total = 0
        self._refresh_pending = False
        with ui.row().classes("w-full items-end gap-2"):
            self.event_type = ui.input("Type", placeholder="resource.distributed or resource.*") \
                .props("dense outlined clearable stack-label").mark("search-type")
            self.source = ui.input("Source").props("dense outlined clearable").mark("search-source")
            self.correlation = ui.input("Correlation id").props("dense outlined clearable").mark("search-correlation")
            self.text = ui.input("Text in data").props("dense outlined clearable").mark("search-text")
            self.since = ui.input("Since (UTC)", placeholder="YYYY-MM-DD HH:MM") \
                .props("dense outlined clearable stack-label").mark("search-since")
            self.until = ui.input("Until (UTC)", placeholder="YYYY-MM-DD HH:MM") \
                .props("dense outlined clearable stack-label").mark("search-until")
            ui.button("Search", icon="search", on_click=self.first_page).props("color=primary text-color=black") \
                .mark("search-run")
        self.summary = ui.label().classes("muted text-sm").mark("search-summary")
        self.results = ui.column().classes("w-full gap-1").mark("search-results")
        with ui.row().classes("gap-2"):
            self.previous = ui.button("Newer", on_click=lambda: self.turn(-PAGE_SIZE)).props("flat")
            self.next = ui.button("Older", on_click=lambda: self.turn(PAGE_SIZE)).props("flat")

    def event_arrived(self, _event: dict[str, Any]) -> None:
        """A new event was published: refresh the first page, at most once a second however many arrive."""
        if self.offset == 0 and not self._refresh_pending:
            self._refresh_pending = True
            ui.timer(1.0, self._refresh_now, once=True)

    async def _refresh_now(self) -> None:
        self._refresh_pending = False
        await self.load()

    async def first_page(self) -> None:
        self.offset = 0
        await self.load()

    async def turn(self, delta: int) -> None:
        self.offset = max(0, self.offset + delta)
        await self.load()

    async def load(self) -> None:
        try:
            filters = self._filters()
        except ValueError as error:
            self.summary.set_text(str(error))
            return
        try:
            found = await self.events.get_event_history(limit=PAGE_SIZE, offset=self.offset, **filters)
            self.total = await self.events.count_event_history(**filters)
        except ValueError as error:  # EventValidationError: a time outside the calendar, a NUL in the text
            self.summary.set_text(str(error))
            return
        self.results.clear()
        with self.results:
            for event in found:
                self._row(event)
        shown = f"{self.offset + 1}–{self.offset + len(found)}" if found else "0"
        self.summary.set_text(f"{shown} of {self.total} events")
        self.previous.set_enabled(self.offset > 0)
        self.next.set_enabled(self.offset + len(found) < self.total)

    def _filters(self) -> dict[str, Any]:
        return {
            "event_type": self.event_type.value or None,
            "source": self.source.value or None,
            "correlation_id": self.correlation.value or None,
            "text": self.text.value or None,
            "since": _parse_time(self.since, "Since"),
            "until": _parse_time(self.until, "Until"),
        }

    def _row(self, event: Event) -> None:
        with ui.row().classes("w-full items-baseline gap-3 cursor-pointer event-row") \
                .on("click", lambda e=event: self.show(e)).mark(f"result-{event.id}"):
            ui.label(event.timestamp.strftime("%Y-%m-%d %H:%M:%S")).classes("mono text-sm muted")
            ui.label(event.type).classes("mono neon-subtitle")
            ui.label(event.source).classes("text-sm muted")
            ui.label(", ".join(f"{k}={v}" for k, v in event.data.items())[:120]).classes("mono text-sm")

    async def show(self, event: Event) -> None:
        """A dialog with the event and every event sharing its correlation id, oldest first."""
        chain = await self.events.get_event_history(limit=200, correlation_id=event.correlation_id)
        with ui.dialog(value=True) as dialog, ui.card().classes("neon-card w-full max-w-3xl").mark("event-detail"):
            ui.label(event.type).classes("neon-title text-lg")
            json_view(event.to_dict())
            ui.label(f"Correlated events ({len(chain)})").classes("neon-subtitle")
            for other in reversed(chain):
                marker = " ← this event" if other.id == event.id else ""
                ui.label(f"{other.timestamp:%H:%M:%S} {other.type} {other.id[:8]}{marker}") \
                    .classes("mono text-sm").mark(f"correlated-{other.id}")
            ui.button("Close", on_click=dialog.close).props("flat")


def _parse_time(field: ui.input, name: str) -> datetime | None:
    """A UTC time from a filter field; the field shows what is wrong."""
    text = (field.value or "").strip()
    if not text:
        field.props(remove="error error-message")
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        field.props(f'error error-message="{name}: use YYYY-MM-DD HH:MM"')
        raise ValueError(f"{name} is not a time: {text}") from None
    field.props(remove="error error-message")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
