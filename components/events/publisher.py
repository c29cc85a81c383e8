"""Publish an event from the admin panel, with the data checked as JSON and against the type's schema."""

from __future__ import annotations

import json
import logging

from nicegui import ui

from components.common.guard import Authorize, always
from services.events import EventRejected, EventSystem, EventType, EventValidationError, emitted_by_platform

log = logging.getLogger(__name__)


class EventPublisher:
    """Type, source, optional correlation id and a JSON object of data; errors appear beside the field."""

    def __init__(self, events: EventSystem, username: str, authorize: Authorize = always) -> None:
        self.events = events
        self.username = username
        self.authorize = authorize
        with ui.column().classes("w-full gap-2"):
            with ui.row().classes("w-full gap-2"):
                self.event_type = ui.select([t.value for t in EventType if not emitted_by_platform(t.value)],
                                            label="Event type", with_input=True,
                                            new_value_mode="add-unique", value=EventType.RESOURCE_DISTRIBUTED.value) \
                    .props("dense outlined").classes("min-w-[16rem]").mark("publish-type")
                self.source = ui.input("Source", value="admin-panel").props("dense outlined").mark("publish-source")
                self.correlation = ui.input("Correlation id (optional)").props("dense outlined clearable") \
                    .mark("publish-correlation")
            self.data = ui.textarea("Data (JSON object)", value='{"human_id": "alice", "amount": 800}') \
                .props("outlined autogrow").classes("w-full mono").mark("publish-data")
            self.result = ui.label().classes("mono text-sm").mark("publish-result")
            self.button = ui.button("Publish", icon="send", on_click=self.publish) \
                .props("color=primary text-color=black").mark("publish-run")

    async def publish(self) -> None:
        if not await self.authorize():
            return
        self._clear_errors()
        try:
            data = json.loads(self.data.value or "{}")
        except json.JSONDecodeError as error:
            self._error(self.data, f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}")
            return
        if not isinstance(data, dict):
            self._error(self.data, "data must be a JSON object ({...})")
            return
        if emitted_by_platform(self.event_type.value or ""):
            self._error(self.event_type, "the platform emits this event about itself; it cannot be published here")
            return
        self.result.set_text("publishing…")
        self.button.disable()
        try:
            event = await self.events.publish(self.event_type.value or "", data, self.source.value or "admin-panel",
                                              self.correlation.value or None, user_id=self.username, durable=True)
        except EventValidationError as error:
            target = self.data if error.field.startswith("data") else self.event_type
            self._error(target, str(error))
            return
        except EventRejected as error:
            self.result.set_text(f"rejected: {error.reason}")
            return
        except Exception as error:  # storage trouble: say so here; the form keeps what was typed
            log.exception("publishing %s from the admin panel failed", self.event_type.value)
            self.result.set_text(f"not published: {type(error).__name__}; see the server log")
            ui.notify("Publishing failed", type="negative")
            return
        finally:
            self.button.enable()
        self.result.set_text(f"published {event.type} · id {event.id}")
        ui.notify(f"Published {event.type}", type="positive")

    def _error(self, field: ui.element, message: str) -> None:
        field.props(f"error error-message={json.dumps(message)}")
        self.result.set_text(message)

    def _clear_errors(self) -> None:
        for field in (self.data, self.event_type):
            field.props(remove="error error-message")
        self.result.set_text("")
