"""The broker contract and the in-process fan-out every backend shares."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

logger = logging.getLogger(__name__)

Message = dict[str, Any]
Listener = Callable[[str, Message], None]

_CLOSED: Any = object()  # queue sentinel that wakes a waiting reader on close


class Unsubscribed(Exception):
    """Raised by `Subscription.get` once the subscription is closed and drained."""


class Subscription:
    """Messages of one channel for one consumer, in publish order, in a bounded queue."""

    def __init__(self, channel: str, queue_size: int) -> None:
        self.channel = channel
        self.dropped = 0
        self._queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=queue_size)
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        try:
            return await self.get()
        except Unsubscribed:
            raise StopAsyncIteration from None

    async def get(self, timeout: float | None = None) -> Message:  # noqa: ASYNC109 - the agreed interface
        """The next message; `TimeoutError` after `timeout` seconds, `Unsubscribed` once closed and drained."""
        async with asyncio.timeout(timeout):
            return await self._next()

    async def _next(self) -> Message:
        # A full queue at close time has no room for the sentinel, so the closed flag ends a drained queue.
        if self._closed and self._queue.empty():
            raise Unsubscribed(self.channel)
        message = await self._queue.get()
        if message is _CLOSED:
            raise Unsubscribed(self.channel)
        return message

    def _put(self, message: Message) -> int:
        """Queue without blocking; on overflow drop the oldest message. Returns how many were dropped."""
        dropped = 0
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
            dropped = 1
        self._queue.put_nowait(message)
        return dropped

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self._queue.full():
            self._queue.put_nowait(_CLOSED)


class Broker(ABC):
    """Publish/subscribe with synchronous local fan-out; backends add start/stop and cross-process delivery."""

    backend = "abstract"

    def __init__(self, *, queue_size: int = 1000) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.queue_size = queue_size
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._listeners: dict[str, dict[object, Listener]] = {}
        self._stopped = False
        self._reconnect_callbacks: list[Callable[[], None]] = []
        self._published = 0
        self._delivered = 0
        self._dropped = 0

    @abstractmethod
    async def start(self) -> None:
        """Connect and start background work; idempotent."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop background work, close connections and end every subscription; idempotent."""

    @abstractmethod
    async def publish(self, channel: str, message: Message) -> None:
        """Deliver `message` to every subscriber of `channel`; never raises for a backend outage."""

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        """`async with broker.subscribe(channel) as sub: async for message in sub: ...`."""
        return self._subscription(channel)

    def add_listener(self, channel: str, callback: Listener) -> Callable[[], None]:
        """Call `callback(channel, message)` synchronously on every delivery; returns the unsubscribe function."""
        token = object()  # per registration, so the same callback may be added twice and removed once
        self._listeners.setdefault(channel, {})[token] = callback

        def remove() -> None:
            listeners = self._listeners.get(channel)
            if listeners is not None and listeners.pop(token, None) is not None and not listeners:
                del self._listeners[channel]

        return remove

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        """Call `callback()` each time the broker is connected to the other processes again after an outage
        (messages they published meanwhile did not arrive here). Never called by the in-process broker."""
        self._reconnect_callbacks.append(callback)

    def _reconnected(self) -> None:
        for callback in tuple(self._reconnect_callbacks):
            try:
                callback()
            except Exception:
                logger.warning("broker reconnect callback %r failed", callback, exc_info=True)

    def health(self) -> dict[str, Any]:
        """Counters and connection state, the shape `/api/v1/health` reports under `broker`."""
        listeners = sum(len(callbacks) for callbacks in self._listeners.values())
        subscriptions = sum(len(subs) for subs in self._subscriptions.values())
        return {
            "backend": self.backend,
            "status": "ok",
            "connected": True,
            "published": self._published,
            "delivered": self._delivered,
            "dropped": self._dropped,
            "subscribers": subscriptions + listeners,
            "listeners": listeners,
            "channels": len(self._subscriptions.keys() | self._listeners.keys()),
            "error": None,
        }

    @property
    def healthy(self) -> bool:
        return bool(self.health()["status"] == "ok")

    def _deliver_local(self, channel: str, message: Message) -> None:
        """Hand `message` to this process's subscribers and listeners of `channel` before returning."""
        subscriptions = self._subscriptions.get(channel)
        if subscriptions:
            for subscription in subscriptions:
                if not subscription.closed:
                    self._dropped += subscription._put(message)
                    self._delivered += 1
        listeners = self._listeners.get(channel)
        if listeners:
            # A snapshot, because a callback may remove itself (or others) while we iterate.
            for callback in tuple(listeners.values()):
                self._delivered += 1
                try:
                    callback(channel, message)
                except Exception:
                    logger.warning("broker listener %r failed on channel %r", callback, channel, exc_info=True)

    def _close_subscriptions(self) -> None:
        for subscriptions in self._subscriptions.values():
            for subscription in subscriptions:
                subscription._close()

    @asynccontextmanager
    async def _subscription(self, channel: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(channel, self.queue_size)
        if self._stopped:
            subscription._close()  # a stopped broker delivers nothing, so iteration ends at once
        subscriptions = self._subscriptions.setdefault(channel, set())
        subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            subscription._close()
            subscriptions.discard(subscription)
            if not subscriptions and self._subscriptions.get(channel) is subscriptions:
                del self._subscriptions[channel]
