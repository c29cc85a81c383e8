"""Event history search for admins: every filter, paging, and a detail view with the correlated events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nicegui import ui

from components.common.json_view import json_view
from components.notifications.trace import TraceLinks, trace_button
from services.events import Event, EventSystem
from theme import section_heading

PAGE_SIZE = 25
DATA_PREVIEW = 120
"""Characters of an event's data shown in its row; the rest is one click (or Enter) away, in the detail."""
FIELD = "dense outlined clearable stack-label"
ROW = "w-full grid gap-x-3 gap-y-0.5 items-baseline grid-cols-[auto_minmax(0,1fr)] " \
      "lg:grid-cols-[10.5rem_minmax(0,14rem)_minmax(0,9rem)_minmax(0,1fr)]"
"""Time, type, source and data in columns on a wide screen; on a phone time and type, then source and data."""


class EventSearch:
    """Filters on top, results below; clicking a result opens its detail with every event of its correlation."""

    def __init__(self, events: EventSystem, traces: TraceLinks | None = None) -> None:
        self.traces = traces
        self.events = events
        self.offset = 0
        self.total = 0
        self._refresh_pending = False
        with ui.column().classes("w-full gap-3") as self.root:  # outlives the rows: the detail dialog lives here
            with ui.element("div").classes("w-full grid gap-2 items-start grid-cols-1 sm:grid-cols-2 lg:grid-cols-3 "
                                           "xl:grid-cols-[repeat(6,minmax(0,1fr))_auto]"):
                self.event_type = ui.input("Type", placeholder="resource.distributed or resource.*") \
                    .props(FIELD).classes("min-w-0").mark("search-type")
                self.source = ui.input("Source").props(FIELD).classes("min-w-0").mark("search-source")
                self.correlation = ui.input("Correlation id").props(FIELD).classes("min-w-0") \
                    .mark("search-correlation")
                self.text = ui.input("Text in data").props(FIELD).classes("min-w-0").mark("search-text")
                self.since = ui.input("Since (UTC)", placeholder="YYYY-MM-DD HH:MM").props(FIELD) \
                    .classes("min-w-0").mark("search-since")
                self.until = ui.input("Until (UTC)", placeholder="YYYY-MM-DD HH:MM").props(FIELD) \
                    .classes("min-w-0").mark("search-until")
                ui.button("Search", icon="search", on_click=self.first_page).props("unelevated color=primary") \
                    .classes("self-start mt-1").mark("search-run")
            for field in self.fields:
                field.on("keydown.enter", self.first_page)
            with ui.row().classes("w-full items-center gap-3"):
                self.summary = ui.label().classes("muted text-body").props("role=status").mark("search-summary")
                self.clear = ui.button("Clear filters", icon="filter_alt_off", on_click=self.clear_filters) \
                    .props("flat dense color=primary").mark("search-clear")
            self.results = ui.column().classes("w-full gap-0").mark("search-results")
            with ui.row().classes("gap-2"):
                self.previous = ui.button("Newer", icon="chevron_left", on_click=lambda: self.turn(-PAGE_SIZE)) \
                    .props("flat color=primary").mark("search-newer")
                self.next = ui.button("Older", on_click=lambda: self.turn(PAGE_SIZE)) \
                    .props("flat color=primary icon-right=chevron_right").mark("search-older")
        self.clear.set_visibility(False)

    @property
    def fields(self) -> tuple[ui.input, ...]:
        return self.event_type, self.source, self.correlation, self.text, self.since, self.until

    def event_arrived(self, _event: dict[str, Any]) -> None:
        """A new event was published: refresh the first page, at most once a second however many arrive."""
        if self.offset == 0 and not self._refresh_pending:
            self._refresh_pending = True
            with self.root:
                ui.timer(1.0, self._refresh_now, once=True)

    async def _refresh_now(self) -> None:
        self._refresh_pending = False
        await self.load()

    async def first_page(self) -> None:
        self.offset = 0
        await self.load()

    async def clear_filters(self) -> None:
        for field in self.fields:
            field.set_value("")
        await self.first_page()

    async def turn(self, delta: int) -> None:
        self.offset = max(0, self.offset + delta)
        await self.load()

    async def load(self) -> None:
        filtered = any((field.value or "").strip() for field in self.fields)
        self.clear.set_visibility(filtered)
        try:
            filters = self._filters()
        except ValueError:  # the field says what is wrong
            self.summary.set_text("Fix the marked filter to search.")
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
        if found:
            self.summary.set_text(f"{self.offset + 1}–{self.offset + len(found)} of {self.total:,} events")
        elif filtered:
            self.summary.set_text("No events match these filters. Clear them to see every event.")
        else:
            self.summary.set_text("No events recorded yet.")
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
        data = ", ".join(f"{k}={v}" for k, v in event.data.items())
        with ui.element("div").classes(ROW + " list-row cursor-pointer event-row hover:bg-white/5") \
                .props('role=button tabindex=0').on("click", lambda e=event: self.show(e)) \
                .on("keydown.enter", lambda e=event: self.show(e)).mark(f"result-{event.id}") as row:
            ui.label(event.timestamp.strftime("%Y-%m-%d %H:%M:%S")).classes("text-technical muted")
            ui.label(event.type).classes("text-technical neon-subtitle wrap-anywhere")
            ui.label(event.source).classes("text-caption muted wrap-anywhere")
            ui.label(_preview(data)).classes("text-technical wrap-anywhere").mark(f"result-data-{event.id}")
        row.props["aria-label"] = f"{event.type} from {event.source}: show the whole event"

    async def show(self, event: Event) -> None:
        """A dialog with the event and every event sharing its correlation id, oldest first."""
        chain = await self.events.get_event_history(limit=200, correlation_id=event.correlation_id)
        with self.root, ui.dialog(value=True) as dialog, \
                ui.card().classes("neon-card w-[48rem] max-w-full gap-3").mark("event-detail"):
            section_heading(event.type).classes("wrap-anywhere")
            json_view(event.to_dict())
            section_heading(f"Correlated events ({len(chain)})", 3)
            for other in reversed(chain):
                marker = " ← this event" if other.id == event.id else ""
                ui.label(f"{other.timestamp:%H:%M:%S} {other.type} {other.id[:8]}{marker}") \
                    .classes("text-technical wrap-anywhere").mark(f"correlated-{other.id}")
            if self.traces is not None:
                await self._caused(event)
            ui.button("Close", on_click=dialog.close).props("flat color=primary").classes("self-end") \
                .mark("event-detail-close")
        dialog.on_value_change(lambda e: dialog.delete() if not e.value else None)


    async def _caused(self, event: Event) -> None:
        """The notifications this event caused, each with its delivery trace a click away."""
        assert self.traces is not None
        try:
            caused = await self.traces.caused_by(event.id)
        except Exception:  # the notification tables are away: the event itself still shows
            caused = []
        if not caused:
            return
        section_heading(f"Notifications it caused ({len(caused)})", 3)
        with ui.column().classes("w-full gap-1").mark("event-notifications") as host:
            for item in caused:
                with ui.row().classes("w-full gap-2 items-baseline no-wrap"):
                    ui.label(f"{item['title']} → {item['recipients']}").classes("text-body wrap-anywhere min-w-0")
                    trace_button(self.traces.load, item["id"], str(item["title"]), authorize=self.traces.authorize,
                                 parent=host)


def _preview(text: str) -> str:
    """The first DATA_PREVIEW characters, and "…" when there is more."""
    return text if len(text) <= DATA_PREVIEW else text[:DATA_PREVIEW].rstrip() + "…"


def _parse_time(field: ui.input, name: str) -> datetime | None:
    """A UTC time from a filter field; the field shows what is wrong."""
    text = (field.value or "").strip()
    if not text:
        field.props(remove="error error-message")
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        field.props.update({"error": True, "error-message": "Write the time as YYYY-MM-DD HH:MM (UTC)."})
        field.update()
        raise ValueError(f"{name} is not a time") from None
    field.props(remove="error error-message")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
