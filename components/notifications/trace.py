"""The delivery trace of one notification as a timeline dialog, built only when it is opened."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nicegui import ui

from components.common.guard import Authorize, always
from theme import section_heading, toast

TraceLoad = Callable[[str], Awaitable[dict[str, Any] | None]]
"""notification id → the trace (GET /api/v1/notifications/{id}/trace), or None when unknown."""
CausedBy = Callable[[str], Awaitable[list[dict[str, Any]]]]
"""event id → the notifications it caused: `{id, title, recipients}`."""
MAX_SHOWN = 300
"""Steps drawn at once; a larger trace says how many more there are (the REST route has them all)."""


@dataclass(slots=True, frozen=True)
class TraceLinks:
    """What the admin panels need to open traces: from a notification, or from the event that caused some."""

    load: TraceLoad
    caused_by: CausedBy
    authorize: Authorize = always


async def show_trace(load: TraceLoad, notification_id: str, title: str = "", *, authorize: Authorize = always,
                     parent: ui.element | None = None) -> ui.dialog | None:
    """Load the trace and open a dialog listing its steps in time order (inside `parent`, an element that outlives
    redrawn rows); None when it could not be shown."""
    if not await authorize():
        return None
    try:
        trace = await load(notification_id)
    except Exception:  # the database is away: say so, keep the panel
        toast("The trace could not be loaded; try again in a moment.", "negative")
        return None
    if trace is None:
        toast("No trace: the notification is unknown or its trace has expired.", "warning")
        return None
    with parent or ui.context.slot.parent, ui.dialog(value=True) as dialog, \
            ui.card().classes("neon-card w-[48rem] max-w-full gap-2").mark("trace-dialog"):
        section_heading(f"Trace · {title}" if title else "Trace", 3).classes("wrap-anywhere")
        ui.label(notification_id).classes("text-technical muted wrap-anywhere")
        _steps(trace)
        ui.button("Close", on_click=dialog.close).props("flat color=primary").classes("self-end").mark("trace-close")
    dialog.on_value_change(lambda e: dialog.delete() if not e.value else None)
    return dialog


def trace_button(load: TraceLoad, notification_id: str, title: str = "", *, authorize: Authorize = always,
                 parent: ui.element | None = None) -> ui.button:
    """A small "Trace" button that opens the dialog (nothing is loaded or built before the click)."""
    async def open_it() -> None:
        await show_trace(load, notification_id, title, authorize=authorize, parent=parent)

    button = ui.button("Trace", on_click=open_it).props("flat dense size=sm color=primary no-caps")
    button.props['aria-label'] = f"show the delivery trace of {title or notification_id}"
    return button.mark(f"trace-open-{notification_id}")


def _steps(trace: dict[str, Any]) -> None:
    steps = trace.get("steps", [])
    with ui.column().classes("w-full gap-1 max-h-[60vh] overflow-y-auto").mark("trace-steps"):
        if not steps:
            ui.label("No steps recorded.").classes("muted text-body")
        for step in steps[:MAX_SHOWN]:
            with ui.element("div").classes("w-full grid gap-x-2 items-baseline list-row "
                                           "grid-cols-[auto_minmax(0,1fr)] sm:grid-cols-"
                                           "[auto_auto_minmax(0,1fr)_minmax(0,10rem)]") \
                    .mark(f"trace-step-{step.get('step', '')}"):
                ui.label(str(step.get("at", ""))[11:23]).classes("text-technical muted")
                ui.label(str(step.get("step", ""))).classes("text-technical neon-subtitle")
                ui.label(str(step.get("text", ""))).classes("text-body wrap-anywhere col-span-2 sm:col-span-1")
                ui.label(str(step.get("replica", ""))).classes("text-technical muted wrap-anywhere sm:text-right")
        hidden = len(steps) - MAX_SHOWN
        if hidden > 0:
            ui.label(f"… and {hidden:,} more steps").classes("muted text-caption")
    rest = int(trace.get("recipients_not_listed") or 0)
    if rest:
        ui.label(f"{trace.get('recipients_listed', 0):,} recipients listed; {rest:,} more recipient steps only "
                 f"counted").classes("muted text-caption").mark("trace-not-listed")
