"""Publish an event from the admin panel, with the data checked as JSON and against the type's schema."""

from __future__ import annotations

import json
import logging

from nicegui import ui

from components.common.guard import Authorize, always
from services.events import EventRejected, EventSystem, EventType, EventValidationError, emitted_by_platform
from theme import toast

log = logging.getLogger(__name__)


class EventPublisher:
    """Type, source, optional correlation id and a JSON object of data; errors appear beside the field."""

    def __init__(self, events: EventSystem, username: str, authorize: Authorize = always) -> None:
        self.events = events
        self.username = username
        self.authorize = authorize
        with ui.column().classes("w-full gap-3") as self.root:
            with ui.element("div").classes("w-full grid gap-2 items-start grid-cols-1 sm:grid-cols-3"):
                self.event_type = ui.select([t.value for t in EventType if not emitted_by_platform(t.value)],
                                            label="Event type", with_input=True,
                                            new_value_mode="add-unique", value=EventType.RESOURCE_DISTRIBUTED.value) \
                    .props("dense outlined stack-label").classes("min-w-0").mark("publish-type")
                self.source = ui.input("Source", value="admin-panel").props("dense outlined stack-label") \
                    .classes("min-w-0").mark("publish-source")
                self.correlation = ui.input("Correlation id (optional)") \
                    .props("dense outlined clearable stack-label").classes("min-w-0").mark("publish-correlation")
            self.data = ui.textarea("Data (JSON object)", value='{"human_id": "alice", "amount": 800}') \
                .props("outlined autogrow stack-label").classes("w-full mono").mark("publish-data")
            with ui.row().classes("w-full items-center gap-3"):
                self.button = ui.button("Publish", icon="send", on_click=self.publish) \
                    .props("unelevated color=primary").mark("publish-run")
                self.result = ui.label().classes("text-technical wrap-anywhere min-w-0 flex-1") \
                    .props("role=status").mark("publish-result")

    async def publish(self) -> None:
        if not await self.authorize():
            return
        self._clear_errors()
        try:
            data = json.loads(self.data.value or "{}")
        except json.JSONDecodeError as error:
            self._error(self.data, f"This is not valid JSON: {error.msg.lower()} at line {error.lineno}, "
                                   f"column {error.colno}.")
            return
        if not isinstance(data, dict):
            self._error(self.data, 'Write a JSON object, such as {"human_id": "alice", "amount": 800}.')
            return
        if emitted_by_platform(self.event_type.value or ""):
            self._error(self.event_type, "The platform sends this event about itself; it cannot be published here.")
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
            self.result.set_text(f"Rejected: {error.reason}")
            return
        except Exception as error:  # storage trouble: say so here; the form keeps what was typed
            log.exception("publishing %s from the admin panel failed", self.event_type.value)
            self.result.set_text(f"not published: {type(error).__name__}; see the server log")
            return
        finally:
            self.button.enable()
        self.result.set_text(f"published {event.type} · id {event.id}")
        with self.root:
            toast(f"Published {event.type}")

    def _error(self, field: ui.element, message: str) -> None:
        """The message beside the field, and only there."""
        field.props.update({"error": True, "error-message": message})
        field.update()
        self.result.set_text("")

    def _clear_errors(self) -> None:
        for field in (self.data, self.event_type):
            field.props(remove="error error-message")
        self.result.set_text("")
