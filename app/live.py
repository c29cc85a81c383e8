"""Bridges broker channels to NiceGUI events, so page functions subscribe and the subscription dies with the tab."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nicegui import Event as UiEvent

from components.common.guard import Authorize
from components.events.describe import Describer
from components.notifications import TraceLinks
from services.broker import Broker
from services.events import LIVE_CHANNEL
from services.users import Principal

Section = Callable[[Principal], Awaitable[None]]
"""Draws one part of the dashboard for the signed-in principal, inside the page's content column."""

AdminSection = Callable[[Principal, Authorize], Awaitable[None]]
"""Draws one admin tab; every action in it first awaits `authorize()` (the caller's role as it is now)."""


@dataclass(slots=True, frozen=True)
class DashboardSection:
    """One part of `/`: drawn into the layout's `slot` ("strip" or "inbox"; the page draws the feed itself)."""

    slot: str
    draw: Section


@dataclass(slots=True, frozen=True)
class AdminPanel:
    """One tab of `/admin`, or a part of one: panels of the same name share a tab, drawn by `part` then in the
    order they were added (the tab takes the first one's icon)."""

    name: str
    icon: str
    draw: AdminSection
    part: int = 0


class LiveBridge:
    """One broker listener per channel per process, re-emitted as a NiceGUI event every open page can subscribe to.

    `event_published` carries every event (the broker's `#events` channel); `channel(name)` carries the delivery
    envelopes of one delivery channel (`user:alice`, `role:admin`, `broadcast`, `dashboard`, ...). Pages subscribe
    inside the page function, so NiceGUI drops the subscription when the tab goes away.
    """

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.event_published: UiEvent[dict[str, Any]] = UiEvent()
        self.sections: list[DashboardSection] = []
        """Parts of `/`, drawn in order for every signed-in user."""
        self.describer = Describer()
        """Feed rows, described once per event for every view."""
        self.admin_panels: list[AdminPanel] = []
        """Tabs of `/admin`, in order, drawn for admins."""
        self.header_items: list[Section] = []
        """Header widgets (e.g. the notification bell), drawn on every signed-in page."""
        self._channels: dict[str, UiEvent[dict[str, Any]]] = {}
        self._unsubscribe: dict[str, Callable[[], None]] = {}
        self._running = False
        self.notification_traces: TraceLinks | None = None
        """Delivery traces for the admin panels (set by the notifications feature)."""
        self.notification_observer: Callable[[str, str, int], None] | None = None
        """Told (notification id, channel, browser views subscribed) for each `notification` this process hears."""

    def start(self) -> None:
        self._running = True
        self._listen(LIVE_CHANNEL, self.event_published)
        for name, event in self._channels.items():
            self._listen(name, event)

    def stop(self) -> None:
        self._running = False
        for unsubscribe in self._unsubscribe.values():
            unsubscribe()
        self._unsubscribe.clear()

    def channel(self, name: str) -> UiEvent[dict[str, Any]]:
        """The NiceGUI event that fires with every envelope delivered on channel `name` in any process."""
        event = self._channels.get(name)
        if event is None:
            event = self._channels[name] = UiEvent()
            if self._running:
                self._listen(name, event)
        return event

    @property
    def page_subscribers(self) -> int:
        """Open browser views listening to the event feed (one per dashboard tab)."""
        return len(self.event_published.callbacks)

    def _listen(self, name: str, event: UiEvent[dict[str, Any]]) -> None:
        if name not in self._unsubscribe:
            self._unsubscribe[name] = self.broker.add_listener(name, lambda _channel, message: self._emit(
                name, event, message))

    def _emit(self, name: str, event: UiEvent[dict[str, Any]], message: dict[str, Any]) -> None:
        event.emit(message)
        observer = self.notification_observer
        if observer is not None and isinstance(message, dict) and message.get("type") == "notification":
            data = message.get("data")
            if isinstance(data, dict) and isinstance(data.get("id"), str):
                observer(data["id"], name, len(event.callbacks))  # each open inbox or bell of the channel
