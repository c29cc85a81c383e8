"""Bridges broker channels to NiceGUI events, so page functions subscribe and the subscription dies with the tab."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import Event as UiEvent

from services.broker import Broker


class LiveBridge:
    """One broker listener per channel per process, re-emitted as a NiceGUI event every open page can subscribe to."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.event_published: UiEvent[dict[str, Any]] = UiEvent()
        self._unsubscribe: list[Callable[[], None]] = []

    def start(self) -> None:
        if not self._unsubscribe:
            self._unsubscribe.append(self.broker.add_listener("events", self._on_event))

    def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    def _on_event(self, _channel: str, message: dict[str, Any]) -> None:
        self.event_published.emit(message)

    @property
    def page_subscribers(self) -> int:
        return len(self.event_published.callbacks)
