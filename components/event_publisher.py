"""Publish an event from the admin panel, with the data checked as JSON and against the type's schema."""

from __future__ import annotations

import json

from nicegui import ui

from services.events import EventRejected, EventSystem, EventType, EventValidationError


class EventPublisher:
    """Type, source, optional correlation id and a JSON object of data; errors appear beside the field."""

    def __init__(self, events: EventSystem, username: str) -> None:
        self.events = events
        self.username = username
        with ui.column().classes("w-full gap-2"):
            with ui.row().classes("w-full gap-2"):
                self.event_type = ui.select([t.value for t in EventType], label="Event type", with_input=True,
                                            new_value_mode="add-unique", value=EventType.RESOURCE_DISTRIBUTED.value) \
                    .props("dense outlined").classes("min-w-[16rem]").mark("publish-type")
                self.source = ui.input("Source", value="admin-panel").props("dense outlined").mark("publish-source")
                self.correlation = ui.input("Correlation id (optional)").props("dense outlined clearable") \
                    .mark("publish-correlation")
            self.data = ui.textarea("Data (JSON object)", value='{"human_id": "alice", "amount": 800}') \
                .props("outlined autogrow").classes("w-full mono").mark("publish-data")
            self.result = ui.label().classes("mono text-sm").mark("publish-result")
            ui.button("Publish", icon="send", on_click=self.publish).props("color=primary text-color=black") \
                .mark("publish-run")

    async def publish(self) -> None:
        self._clear_errors()
        try:
            data = json.loads(self.data.value or "{}")
        except json.JSONDecodeError as error:
            self._error(self.data, f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}")
            return
        if not isinstance(data, dict):
            self._error(self.data, "data must be a JSON object ({...})")
            return
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
        self.result.set_text(f"published {event.type} · id {event.id}")
        ui.notify(f"Published {event.type}", type="positive")

    def _error(self, field: ui.element, message: str) -> None:
        field.props(f"error error-message={json.dumps(message)}")
        self.result.set_text(message)

    def _clear_errors(self) -> None:
        for field in (self.data, self.event_type):
            field.props(remove="error error-message")
        self.result.set_text("")
