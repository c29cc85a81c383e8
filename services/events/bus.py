"""The event bus: validate, enrich (middleware), persist in batches, run handlers, broadcast live."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine

from services.batch_writer import BatchWriter
from services.events.outbox import Settler, replay_of
from services.events.store import EventFilter, EventStore
from services.events.types import (
    Event,
    EventRejected,
    EventType,
    EventValidationError,
    channel_for,
    check_meta,
    check_type,
    encode_data,
    new_event_id,
    validate_data,
)
from services.models import as_utc, utcnow

__all__ = [
    "Event",
    "EventFilter",
    "EventHandler",
    "EventRejected",
    "EventSystem",
    "EventType",
    "EventValidationError",
    "channel_for",
]

log = logging.getLogger(__name__)

LIVE_CHANNEL = "#events"
"""Broker channel every published event is broadcast on, to every process ('#' is outside the hub's channel names,
so no WebSocket client or broadcast can put a forged event there)."""
HandlerFunc = Callable[[Event], Awaitable[None]]
Middleware = Callable[[Event], Event | Awaitable[Event | None] | None]
MAX_TYPE_COUNTERS = 1000  # distinct types counted in metrics; custom types beyond this go under "other"

# The event whose handlers are running: events published from inside a handler are chained to it.
REPLAY_AFTER = 30.0
"""Seconds after which an event whose reactions have not settled counts as abandoned (settling takes ~0.3 s)."""
MAX_REACTION_ATTEMPTS = 5
"""Replays of one event's reactions before it is given up (its handlers keep failing); logged each time."""
_handling: contextvars.ContextVar[Event | None] = contextvars.ContextVar("handling_event", default=None)


class LiveBroker(Protocol):
    async def publish(self, channel: str, message: dict[str, Any]) -> None: ...


class EventHandler(ABC):
    """A handler object; register an instance with `EventSystem.register_handler`."""

    @property
    def name(self) -> str:
        return type(self).__name__

    @abstractmethod
    async def handle(self, event: Event) -> None: ...


@dataclass(slots=True, frozen=True)
class _Entry:
    handler: object  # as registered, to find it again on unregister
    call: Callable[[Event], Any]
    name: str
    is_async: bool
    reliable: bool = False

    @classmethod
    def of(cls, handler: HandlerFunc | EventHandler, reliable: bool = False) -> _Entry:
        if isinstance(handler, EventHandler):
            return cls(handler, handler.handle, handler.name, True, reliable)
        if not callable(handler):
            raise TypeError(f"handler must be an async function or an EventHandler, got {handler!r}")
        name = getattr(handler, "__qualname__", None) or repr(handler)
        is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
            type(handler).__call__  # an object with an async __call__
        )
        return cls(handler, handler, name, is_async, reliable)


class EventSystem:
    """Publishes events; without an engine there is no history (queries answer empty)."""

    def __init__(
        self,
        engine: Engine | None = None,
        broker: LiveBroker | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = 1000,
        flush_interval: float = 0.005,
        queue_size: int = 20000,
        live_channel: str = LIVE_CHANNEL,
    ) -> None:
        self._store = EventStore(engine) if engine is not None else None
        self._writer = (
            BatchWriter(self._store.insert, name="event", batch_size=batch_size,
                        flush_interval=flush_interval, queue_size=queue_size)
            if self._store is not None
            else None
        )
        self._settler = Settler(self._unmark, self.flush) if self._store is not None else None
        self._broker = broker
        self._clock = clock
        self._live_channel = live_channel
        self._handlers: dict[str, tuple[_Entry, ...]] = {}
        self._middleware: list[Middleware] = []
        self._published = self._handled = self._failures = self._rejected = self._invalid = self._replayed = 0
        self._by_type: dict[str, int] = {}

    async def start(self) -> None:
        """Count the stored history and start the writer task (idempotent)."""
        if self._writer is None or self._writer.running or self._store is None:
            return
        await asyncio.to_thread(self._store.refresh_size)
        self._writer.start()
        if self._settler is not None:
            self._settler.start()

    async def stop(self) -> None:
        """Write everything pending, then end the writer task (idempotent)."""
        if self._settler is not None:
            await self._settler.stop()
        if self._writer is not None:
            await self._writer.stop()

    async def publish(
        self,
        event_type: str | EventType,
        data: dict[str, Any] | None = None,
        source: str = "system",
        correlation_id: str | None = None,
        *,
        causation_id: str | None = None,
        user_id: str | None = None,
        durable: bool = False,
    ) -> Event:
        """Validate, run middleware, queue for storage, run handlers, broadcast; `durable` waits for the commit."""
        try:
            kind = check_type(event_type)
            if data is None:
                data = {}
            validate_data(kind, data)
            check_meta(source, correlation_id, causation_id, user_id)
            parent = _handling.get()
            if parent is not None:
                causation_id = causation_id or parent.id
                correlation_id = correlation_id or parent.correlation_id
            event_id = new_event_id()
            timestamp = self._clock()
            if timestamp.tzinfo is not UTC:  # an injected clock: naive means UTC
                timestamp = as_utc(timestamp)
            event = Event(event_id, kind, source, timestamp, data, correlation_id or event_id, causation_id, user_id)
            if self._middleware:
                event = await self._apply_middleware(event)
            row = event.to_row(encode_data(event.data))
        except EventValidationError:
            self._invalid += 1
            raise
        reliable = self._settler is not None and self._has_reliable(event.type)
        row["reactions_pending"] = reliable
        committed = await self._persist(row, durable)
        self._count(event.type)
        if event.type in self._handlers or "*" in self._handlers:
            await self._run_handlers(event)
        if reliable:
            assert self._settler is not None
            self._settler.done(event.id)
        if self._broker is not None:
            try:
                await self._broker.publish(self._live_channel, event.to_dict())
            except Exception:  # the broker promises not to raise; a live push is never worth failing a publish
                log.warning("broadcasting event %s failed", event.id, exc_info=True)
        if committed is not None:
            await committed
        return event

    def register_handler(self, event_type: str | EventType, handler: HandlerFunc | EventHandler, *,
                         reliable: bool = False) -> None:
        """Run `handler` for every event of `event_type` ('*' for all), after the type's own handlers.

        A `reliable` handler runs at least once for every stored event, also across a crash: the event is stored
        marked, and `replay_pending` runs the handler again for events still marked (see services.events.outbox).
        It must then skip what it already did; `replaying()` tells it that it runs again."""
        key = "*" if event_type == "*" else check_type(event_type)
        entry = _Entry.of(handler, reliable)
        existing = self._handlers.get(key, ())
        if any(other.handler == handler for other in existing):
            raise ValueError(f"handler {entry.name} is already registered for {key!r}")
        self._handlers[key] = (*existing, entry)

    def unregister_handler(self, event_type: str | EventType, handler: HandlerFunc | EventHandler) -> bool:
        key = "*" if event_type == "*" else str(event_type)
        existing = self._handlers.get(key, ())
        kept = tuple(entry for entry in existing if entry.handler != handler)
        if len(kept) == len(existing):
            return False
        if kept:
            self._handlers[key] = kept
        else:
            del self._handlers[key]
        return True

    def register_middleware(self, fn: Middleware) -> None:
        """Add `fn(event) -> Event | None` (sync or async); returning None vetoes the event."""
        if fn in self._middleware:
            raise ValueError(f"middleware {fn!r} is already registered")
        self._middleware.append(fn)

    def unregister_middleware(self, fn: Middleware) -> bool:
        if fn not in self._middleware:
            return False
        self._middleware.remove(fn)
        return True

    async def flush(self) -> None:
        """Wait until every event published so far is committed."""
        if self._writer is not None:
            await self._writer.flush()

    def add_reaction_flush(self, flush: Callable[[], Awaitable[None]]) -> None:
        """Register the flush of a writer that reliable handlers write through (see services.events.outbox)."""
        if self._settler is not None:
            self._settler.add_flush(flush)

    async def replay_pending(self, older_than: float = REPLAY_AFTER, limit: int = 500) -> int:
        """Run the reliable handlers again for stored events whose reactions never settled (a crash came between
        the event's commit and theirs) and that are older than `older_than` seconds (younger ones may still be
        settling in some process). Returns how many events were replayed."""
        if self._store is None or self._settler is None:
            return 0
        before = self._clock() - timedelta(seconds=older_than)
        found = await asyncio.to_thread(self._store.pending, as_utc(before), limit, MAX_REACTION_ATTEMPTS)
        for event in found:
            with replay_of(event):
                await self._run_handlers(event, reliable_only=True)
            self._settler.done(event.id)
        if found:
            log.warning("replayed the reactions of %d events whose reactions had not settled (a crash?)",
                        len(found))
            await self._settler.settle()
        self._replayed += len(found)
        return len(found)

    async def get_event_history(
        self,
        limit: int = 100,
        offset: int = 0,
        event_type: str | None = None,
        source: str | None = None,
        correlation_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        text: str | None = None,
    ) -> list[Event]:
        """Stored events, newest first; `limit` is capped at 1000, `event_type` may be a family like 'mesh.*'."""
        if self._store is None:
            return []
        await self.flush()
        where = EventFilter(event_type, source, correlation_id, since, until, text)
        return await asyncio.to_thread(self._store.query, where, limit, offset)

    async def count_event_history(
        self,
        event_type: str | None = None,
        source: str | None = None,
        correlation_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        text: str | None = None,
    ) -> int:
        if self._store is None:
            return 0
        await self.flush()
        where = EventFilter(event_type, source, correlation_id, since, until, text)
        return await asyncio.to_thread(self._store.count, where)

    async def prune_history(self, older_than: datetime) -> int:
        """Delete events stored before `older_than`; the number deleted."""
        if self._store is None:
            return 0
        await self.flush()
        return await asyncio.to_thread(self._store.prune, older_than)

    def get_metrics(self) -> dict[str, Any]:
        """Counters for dashboards and /metrics; no database access."""
        writer = self._writer
        return {
            "events_published": self._published,
            "events_handled": self._handled,
            "handler_failures": self._failures,
            "events_rejected": self._rejected,
            "validation_errors": self._invalid,
            "handlers": sum(len(entries) for entries in self._handlers.values()),
            "middleware": len(self._middleware),
            "history_size": self._store.size if self._store is not None else 0,
            "pending_writes": writer.pending if writer is not None else 0,
            "events_persisted": writer.persisted if writer is not None else 0,
            "events_lost": writer.lost if writer is not None else 0,
            "reactions_replayed": self._replayed,
            "reactions_settled": self._settler.settled if self._settler is not None else 0,
            "by_type": dict(self._by_type),
        }

    async def _apply_middleware(self, event: Event) -> Event:
        for fn in tuple(self._middleware):
            try:
                result = fn(event)
                if inspect.isawaitable(result):
                    result = await result
            except EventRejected:
                self._rejected += 1
                raise
            if result is None:
                self._rejected += 1
                raise EventRejected(f"vetoed by middleware {getattr(fn, '__qualname__', fn)!r}", event)
            event = result
        # Middleware may have rewritten the envelope: it must still fit the table.
        event.type = check_type(event.type)
        check_meta(event.source, event.correlation_id, event.causation_id, event.user_id)
        validate_data(event.type, event.data)
        return event

    async def _persist(self, row: dict[str, Any], durable: bool) -> asyncio.Future[None] | None:
        """Queue the row (waiting while the queue is full); for `durable`, the future of its commit."""
        if self._writer is None:
            return None
        return await self._writer.write(row, durable=durable)

    def _has_reliable(self, event_type: str) -> bool:
        return any(entry.reliable for entry in (*self._handlers.get(event_type, ()), *self._handlers.get("*", ())))

    async def _unmark(self, ids: list[str]) -> int:
        assert self._store is not None
        return await asyncio.to_thread(self._store.unmark, ids)

    async def _run_handlers(self, event: Event, *, reliable_only: bool = False) -> None:
        token = _handling.set(event)
        try:
            for entry in (*self._handlers.get(event.type, ()), *self._handlers.get("*", ())):
                if reliable_only and not entry.reliable:
                    continue
                try:
                    if entry.is_async:
                        await entry.call(event)
                    else:
                        result = entry.call(event)
                        if inspect.isawaitable(result):
                            await result
                except Exception:
                    self._failures += 1
                    log.warning("handler %s failed on event %s (%s)", entry.name, event.id, event.type, exc_info=True)
                else:
                    self._handled += 1
        finally:
            _handling.reset(token)

    def _count(self, event_type: str) -> None:
        self._published += 1
        counts = self._by_type
        if event_type in counts:
            counts[event_type] += 1
        elif len(counts) < MAX_TYPE_COUNTERS:
            counts[event_type] = 1
        else:
            counts["other"] = counts.get("other", 0) + 1
