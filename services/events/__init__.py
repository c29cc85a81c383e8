"""The event bus: typed events, validated, passed through middleware, stored in batches and handed to handlers."""

from __future__ import annotations

from services.events.bus import LIVE_CHANNEL, EventHandler, EventSystem
from services.events.outbox import replaying
from services.events.platform import PLATFORM_FAMILIES, emitted_by_platform, note, reactions
from services.events.store import EventFilter, EventStore
from services.events.types import Event, EventRejected, EventType, EventValidationError, channel_for

__all__ = [
    "LIVE_CHANNEL",
    "PLATFORM_FAMILIES",
    "Event",
    "EventFilter",
    "EventHandler",
    "EventRejected",
    "EventStore",
    "EventSystem",
    "EventType",
    "EventValidationError",
    "channel_for",
    "emitted_by_platform",
    "note",
    "reactions",
    "replaying",
]
