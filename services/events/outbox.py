"""At-least-once reactions: an event whose handlers must not be lost is stored marked `reactions_pending`, in the
same row (so in the same transaction) as the event itself, and unmarked only once what its handlers wrote is
committed too. A crash in between leaves the mark, and `EventSystem.replay_pending` runs the handlers again;
they see `replaying()` and skip what the first run already did (notifications deduplicate by the event's id)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from services.events.types import Event

log = logging.getLogger(__name__)

SETTLE_INTERVAL = 0.25
"""Seconds between settlements: the handlers' writes are flushed, then their events are unmarked in one UPDATE."""
MAX_SETTLING = 100_000
"""Event ids waiting to be unmarked; beyond this the oldest are left marked (a later replay deduplicates them)."""

Flush = Callable[[], Awaitable[None]]

_replaying: ContextVar[dict[str, Any] | None] = ContextVar("replaying_event", default=None)


def replaying() -> dict[str, Any] | None:
    """While handlers run again for a replayed event: a dict with its `event` and a `memo` the handlers may use
    to remember what they found done (say, who already has a notification); None on a first run."""
    return _replaying.get()


@contextmanager
def replay_of(event: Event) -> Iterator[None]:
    token = _replaying.set({"event": event, "memo": {}})
    try:
        yield
    finally:
        _replaying.reset(token)


class Settler:
    """Unmarks events whose reactions are durable: waits for the event writer and every registered flush (the
    notification writer, say), then clears the marks of the events handled before the flush began."""

    def __init__(self, unmark: Callable[[list[str]], Awaitable[int]], flush_events: Flush) -> None:
        self._unmark = unmark
        self._flushes: list[Flush] = [flush_events]
        self._done: list[str] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.settled = 0

    def add_flush(self, flush: Flush) -> None:
        """Register the flush of a writer that handlers write through; it must commit what was queued before."""
        self._flushes.append(flush)

    def done(self, event_id: str) -> None:
        if len(self._done) < MAX_SETTLING:
            self._done.append(event_id)
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="event-reactions-settler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.settle()

    async def settle(self) -> int:
        """Flush every writer, then unmark the events that were done before the flush started."""
        if not self._done:
            return 0
        ids, self._done = self._done, []
        try:
            for flush in self._flushes:
                await flush()
            count = await self._unmark(ids)
        except Exception:
            log.warning("settling %d event reactions failed; they stay marked and are replayed later", len(ids),
                        exc_info=True)
            return 0
        self.settled += count
        return count

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(SETTLE_INTERVAL)  # gather a batch: one UPDATE for every event of the interval
            await self.settle()
