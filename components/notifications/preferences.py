"""The Preferences page's form: each type on or off, the minimum priority pushed live, and quiet hours."""

from __future__ import annotations

import logging
from typing import Any, Protocol
from zoneinfo import available_timezones

from nicegui import ui

from components.notifications.inbox import TYPE_LABELS
from components.notifications.stats import PRIORITIES
from services.notifications import NotificationError, NotificationType
from theme import section_heading, toast

log = logging.getLogger(__name__)

FIELD = "dense outlined stack-label"
ZONES = sorted(available_timezones())
DIGEST_WINDOWS = {0: "Off", 300: "5 min", 900: "15 min", 3600: "1 h", 86_400: "1 day"}
UNDIGESTED = {NotificationType.SYSTEM_ALERT.value}


class PreferencesSource(Protocol):
    async def get_preferences(self, username: str) -> dict[str, Any]: ...
    async def set_preferences(self, username: str, body: object) -> dict[str, Any]: ...


class PreferencesForm:
    """Drawn from the stored preferences; Save checks every field in the service and says what is wrong."""

    def __init__(self, source: PreferencesSource, username: str, current: dict[str, Any]) -> None:
        self.source = source
        self.username = username
        quiet = current.get("quiet_hours") or {}
        with ui.column().classes("w-full gap-4") as self.root:
            with ui.card().classes("neon-card w-full"):
                section_heading("What reaches you")
                ui.label("Switched off, a type still lands in your inbox, without a live push or a count on the "
                         "bell. Critical and emergency system alerts always reach you. Collected into a digest, a "
                         "type's notifications within the window become one inbox entry (critical and emergency "
                         "ones are not collected).").classes("text-body muted")
                self.switches: dict[str, ui.switch] = {}
                self.digests: dict[str, ui.select] = {}
                windows = current.get("digest_seconds") or {}
                with ui.element("div").classes("w-full grid grid-cols-1 sm:grid-cols-2 gap-x-4 gap-y-1"):
                    for kind in NotificationType:
                        with ui.row().classes("items-center gap-2 no-wrap min-w-0"):
                            self.switches[kind.value] = ui.switch(
                                TYPE_LABELS.get(kind.value, kind.value),
                                value=bool(current["types"].get(kind.value, True))
                            ).classes("flex-1 min-w-0").mark(f"pref-type-{kind.value}")
                            if kind.value not in UNDIGESTED:
                                self.digests[kind.value] = _digest_select(kind.value, windows.get(kind.value))
                options = {p: f"{p} · {PRIORITIES[p]}" for p in range(1, 6)}
                self.min_priority = ui.select(options, value=int(current.get("min_priority", 1)),
                                              label="Push live from priority").props(FIELD) \
                    .classes("w-full sm:w-72").mark("pref-min-priority")
            with ui.card().classes("neon-card w-full"):
                section_heading("Quiet hours")
                ui.label("During them only emergencies are pushed; when they end, one notification says what "
                         "arrived.").classes("text-body muted")
                self.quiet = ui.switch("Quiet hours", value=bool(quiet), on_change=self._show_quiet) \
                    .mark("pref-quiet")
                with ui.row().classes("w-full items-start gap-2") as self.quiet_fields:
                    self.start = ui.input("From (HH:MM)", value=quiet.get("start", "22:00")).props(FIELD) \
                        .classes("w-36").mark("pref-quiet-start")
                    self.end = ui.input("Until (HH:MM)", value=quiet.get("end", "07:00")).props(FIELD) \
                        .classes("w-36").mark("pref-quiet-end")
                    self.zone = ui.select(ZONES, value=quiet.get("timezone", "UTC"), label="Time zone",
                                          with_input=True).props(FIELD).classes("flex-1 min-w-[14rem]") \
                        .mark("pref-quiet-timezone")
                    ui.button("Use this device's", on_click=self._browser_zone) \
                        .props("flat dense no-caps color=primary").classes("mt-1")
            with ui.row().classes("w-full items-center gap-3"):
                ui.button("Save", icon="save", on_click=self.save).props("unelevated color=primary") \
                    .mark("pref-save")
                self.result = ui.label().classes("text-technical wrap-anywhere min-w-0 flex-1") \
                    .props("role=status").mark("pref-result")
        self._show_quiet()

    def body(self) -> dict[str, Any]:
        return {"types": {kind: switch.value for kind, switch in self.switches.items()},
                "min_priority": self.min_priority.value,
                "digest_seconds": {kind: select.value or None for kind, select in self.digests.items()},
                "quiet_hours": {"start": (self.start.value or "").strip(), "end": (self.end.value or "").strip(),
                                "timezone": self.zone.value or ""} if self.quiet.value else None}

    async def save(self) -> None:
        for element in (self.start, self.end, self.zone):
            element.props(remove="error error-message")
        self.result.classes(remove="danger-text")
        try:
            await self.source.set_preferences(self.username, self.body())
        except NotificationError as error:
            marked: ui.element | None = {"quiet_hours.start": self.start, "quiet_hours.end": self.end,
                       "quiet_hours.timezone": self.zone}.get(error.field)
            if marked is not None:
                marked.props.update({"error": True, "error-message": error.reason})
                marked.update()
            self.result.set_text(f"Not saved: {error}")
            self.result.classes(add="danger-text")
            return
        except Exception:  # the database is away: say the choice was not kept
            log.warning("saving preferences failed", exc_info=True)
            self.result.set_text("Not saved: the server could not store it. Please try again.")
            self.result.classes(add="danger-text")
            return
        self.result.set_text("Saved. Every open view follows it now.")
        with self.root:
            toast("Preferences saved")

    def _show_quiet(self) -> None:
        self.quiet_fields.set_visibility(bool(self.quiet.value))

    async def _browser_zone(self) -> None:
        zone = await ui.run_javascript("Intl.DateTimeFormat().resolvedOptions().timeZone")
        if isinstance(zone, str) and zone in ZONES:
            self.zone.set_value(zone)


def _digest_select(kind: str, seconds: object) -> ui.select:
    """Off or a window; a window set through the API that the list lacks is offered as it is."""
    options: dict[int, str] = dict(DIGEST_WINDOWS)
    value = seconds if isinstance(seconds, int) and not isinstance(seconds, bool) else 0
    if value not in options:
        options[value] = f"{value // 60} min" if value % 60 == 0 else f"{value} s"
    return ui.select(options, value=value, label="Collect into a digest").props(FIELD) \
        .classes("w-44 shrink-0").mark(f"pref-digest-{kind}")
