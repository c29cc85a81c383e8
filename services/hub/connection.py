"""One raw WebSocket connection: who it is, its channels, its bounded outbound buffer and its rate limit."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, KeysView
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

from services.hub.protocol import ConnectionType, Outgoing
from services.models import utcnow

log = logging.getLogger(__name__)

MAX_BUFFER_BYTES = 8 * 1024 * 1024
"""Whatever WS_SEND_QUEUE says, a connection never holds more than this many unsent bytes."""
CLOSE_TIMEOUT = 2.0


class Transport(Protocol):
    """The part of an asyncio transport that direct writes use."""

    def write(self, data: bytes) -> None: ...
    def get_write_buffer_size(self) -> int: ...
    def is_closing(self) -> bool: ...
    def abort(self) -> None: ...


class Socket(Protocol):
    """An accepted WebSocket as the server framework offers it (see app/api/realtime.py)."""

    client: str

    @property
    def transport(self) -> Transport | None:
        """The server's transport when frames may be written to it directly; None means use `send_text`."""
        ...

    async def receive(self) -> str | bytes | None:
        """The next frame's text or bytes; None once the client is gone."""
        ...

    async def send_text(self, text: str) -> None: ...
    async def close(self, code: int, reason: str) -> None: ...

    def unanswered_ping(self) -> float | None:
        """Seconds since a protocol ping that has not been answered yet, or None."""
        ...


class Verdict(Enum):
    ALLOW = "allow"
    LIMITED = "limited"  # refused; tell the client once per streak
    DROP = "drop"  # refused silently
    CLOSE = "close"  # flooding: close the connection


class RateLimiter:
    """A token bucket (`rate` frames/s, `burst` at once); more than `burst` refusals in one refill period closes."""

    __slots__ = ("burst", "clock", "rate", "stamp", "streak", "strikes", "tokens", "window_start")

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.stamp = self.window_start = clock()
        self.strikes = 0
        self.streak = False

    def check(self) -> Verdict:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.streak = False
            return Verdict.ALLOW
        if now - self.window_start > self.burst / self.rate:
            self.window_start = now
            self.strikes = 0
        self.strikes += 1
        if self.strikes > self.burst:
            return Verdict.CLOSE
        if self.streak:
            return Verdict.DROP
        self.streak = True
        return Verdict.LIMITED


class Connection:
    """A connected client. `send` never waits: it writes or queues, and answers False when the client is too far
    behind (more than `send_queue` messages' worth of bytes unsent), which the hub answers by disconnecting it.

    With a transport, frames go straight to it; while `pending` holds frames (broadcasts waiting for the router's
    flusher), later frames queue behind them so that order holds. Without one, a writer task sends queued text.
    """

    __slots__ = ("_queue", "_wake", "_writer", "bytes", "client", "closed", "connected_at", "first",
                 "frames", "id", "last", "limiter", "pending", "pending_count", "received", "role", "send_queue",
                 "socket", "transport", "type", "username")

    def __init__(self, connection_id: str, username: str, role: str, connection_type: ConnectionType,
                 socket: Socket, *, send_queue: int, limiter: RateLimiter, direct: bool) -> None:
        self.id = connection_id
        self.username = username
        self.role = role
        self.type = connection_type
        self.socket = socket
        self.client = socket.client
        self.transport = socket.transport if direct else None
        self.send_queue = send_queue
        self.limiter = limiter
        self.connected_at: datetime = utcnow()
        self.last: dict[str, int] = {}
        """The channels this connection is in, each with the seq of the last message sent on it (0: none yet), so
        replay and live delivery never repeat one."""
        self.first: dict[str, int] = {}
        """Per channel, the lowest seq sent on it since joining."""
        self.frames = self.bytes = self.received = 0
        self.closed = False
        # Frames waiting for the router's flusher, joined as bytes: a list per connection per broadcast would feed
        # the cyclic garbage collector, whose full passes over 10,000 connections' objects take hundreds of ms.
        self.pending: bytes | None = None
        self.pending_count = 0
        self._queue: deque[str] | None = None
        self._wake: asyncio.Event | None = None
        self._writer: asyncio.Task[None] | None = None
        if self.transport is None:
            self._queue = deque()
            self._wake = asyncio.Event()
            self._writer = asyncio.create_task(self._write_queued(), name=f"ws-writer-{connection_id}")

    @property
    def channels(self) -> KeysView[str]:
        return self.last.keys()

    @property
    def mode(self) -> str:
        return "queue" if self.transport is None else "direct"

    def send(self, out: Outgoing) -> bool:
        """Write (or queue) one message without waiting; False when the client is too far behind."""
        if self.transport is None:
            return self._enqueue(out)
        if self.closed:
            return True  # on its way out: the connection's own task cleans up
        pending = self.pending
        if pending is None:
            return self.write(out.frame, 1)
        if self.pending_count >= self.send_queue:
            return False
        self.pending = pending + out.frame
        self.pending_count += 1
        return True

    def flush(self) -> bool:
        """Write the pending frames in one go; False when the client is too far behind."""
        data, count = self.pending, self.pending_count
        self.pending, self.pending_count = None, 0
        if self.closed or data is None:
            return True
        return self.write(data, count)

    def write(self, data: bytes, count: int) -> bool:
        """Hand `count` frames to the transport unless the client is already too far behind."""
        transport = self.transport
        assert transport is not None
        buffered = transport.get_write_buffer_size()
        if buffered and self.behind(buffered):
            return False
        try:
            transport.write(data)
        except RuntimeError:  # the transport closed under us; the connection's task cleans up
            return True
        self.frames += count
        self.bytes += len(data)
        return True

    def behind(self, buffered: int) -> bool:
        """True when `buffered` unsent bytes are more than `send_queue` frames of this connection's mean size."""
        return buffered > MAX_BUFFER_BYTES or buffered * self.frames > self.send_queue * self.bytes

    def buffered(self) -> int:
        """Unsent bytes (direct writes) or messages (queue) right now."""
        if self.transport is not None:
            return 0 if self.transport.is_closing() else self.transport.get_write_buffer_size()
        return len(self._queue or ())

    def detach(self) -> None:
        """Stop sending: the connection has ended or is ending."""
        self.closed = True
        self._stop_writer()

    def abort(self) -> None:
        """Drop the connection at once, discarding what it has not read (for clients too far behind)."""
        self.closed = True
        self._stop_writer()
        if self.transport is not None:
            self.transport.abort()
        else:
            asyncio.create_task(self.close(1008, "too far behind"))  # noqa: RUF006 - close() ends on its own

    async def close(self, code: int, reason: str) -> None:
        """Send a close frame (bounded wait), then make sure the connection is gone."""
        self.closed = True
        self._stop_writer()
        try:
            await asyncio.wait_for(self.socket.close(code, reason), CLOSE_TIMEOUT)
        except Exception:  # already gone or not draining: nothing else to tell it
            if self.transport is not None and not self.transport.is_closing():
                self.transport.abort()

    def stale(self, limit: float) -> bool:
        """True when the transport is gone or a keepalive ping has gone unanswered for over `limit` seconds."""
        if self.transport is not None and self.transport.is_closing():
            return True
        if self._writer is not None and self._writer.done():
            return True
        waited = self.socket.unanswered_ping()
        return waited is not None and waited > limit

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id, "user": self.username, "role": self.role, "connection_type": self.type.value,
            "client": self.client, "connected_at": self.connected_at.isoformat(), "channels": sorted(self.channels),
            "messages_sent": self.frames, "bytes_sent": self.bytes, "messages_received": self.received,
            "buffered": self.buffered(), "write_mode": self.mode,
        }

    def _enqueue(self, out: Outgoing) -> bool:
        queue = self._queue
        if self.closed or queue is None or self._wake is None:
            return True
        if len(queue) >= self.send_queue:
            return False
        queue.append(out.text)
        self.frames += 1
        self.bytes += len(out.payload)
        self._wake.set()
        return True

    async def _write_queued(self) -> None:
        queue, wake = self._queue, self._wake
        assert queue is not None and wake is not None
        try:
            while not self.closed:
                if not queue:
                    wake.clear()
                    await wake.wait()
                    continue
                await self.socket.send_text(queue.popleft())
        except Exception:  # the client went away; its connection task cleans up
            log.debug("writer of %s ended", self.id, exc_info=True)

    def _stop_writer(self) -> None:
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
