"""The write side of fan-out: every connection's pending frames, written by one task in as few writes as it can."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from services.hub.connection import Connection
from services.hub.protocol import Outgoing

log = logging.getLogger(__name__)

FLUSH_SLICE = 256
"""Connections the flusher writes to before it lets the event loop serve others (about 3 ms of work)."""


class Flusher:
    """Appends a broadcast's frame to each member's pending bytes, and writes them from one task.

    Broadcasting therefore costs a few microseconds per member and never waits; the task writes each connection's
    pending bytes in one write, oldest first, and yields every `FLUSH_SLICE` connections so that requests and other
    clients are served during a 10,000-client fan-out (~100 ms). Frames that arrive meanwhile join their connection's
    pending bytes, so an overloaded process makes fewer, larger writes instead of falling further behind.
    """

    def __init__(self, send_queue: int, on_slow: Callable[[Connection], None]) -> None:
        self.send_queue = send_queue
        self.on_slow = on_slow
        self._dirty: deque[Connection] = deque()  # connections whose `pending` holds frames, each once
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._flush_forever(), name="ws-flusher")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def queue_all(self, members: set[Connection], channel: str, out: Outgoing, behind: list[Connection]) -> int:
        """Queue `out` for every member that has not had it; the hot loop of every broadcast, hence inlined."""
        seq, frame, limit, dirty = out.seq, out.frame, self.send_queue, self._dirty
        queued = 0
        for conn in members:
            if seq is not None:
                lasts = conn.last
                last = lasts[channel]
                if seq <= last:
                    continue  # replayed to this connection already
                if not last:
                    conn.first[channel] = seq
                lasts[channel] = seq
            if conn.transport is None or conn.closed:  # queued writes, or a connection on its way out
                if conn.send(out):
                    queued += 1
                else:
                    behind.append(conn)
                continue
            pending = conn.pending
            if pending is None:
                conn.pending = frame
                conn.pending_count = 1
                dirty.append(conn)
            elif conn.pending_count < limit:
                conn.pending = pending + frame
                conn.pending_count += 1
            else:
                behind.append(conn)
                continue
            queued += 1
        if dirty:
            self._wake.set()
        return queued

    async def _flush_forever(self) -> None:
        """Write every connection's pending frames, oldest first, yielding every `FLUSH_SLICE` connections."""
        dirty, wake = self._dirty, self._wake
        while True:
            await wake.wait()
            wake.clear()
            written = 0
            while dirty:
                conn = dirty.popleft()
                try:
                    if not conn.flush():
                        self.on_slow(conn)
                except Exception:  # one broken connection must not stop delivery to all the others
                    log.warning("writing to WebSocket connection %s failed", conn.id, exc_info=True)
                    conn.abort()
                written += 1
                if written % FLUSH_SLICE == 0:
                    await asyncio.sleep(0)
