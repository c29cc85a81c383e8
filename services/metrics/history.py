"""Metric history: minute points queued for the database, written in batches, read back by window and step."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from services.metrics.analysis import raw_points, steps_from_minutes, steps_from_points
from services.metrics.store import MetricStore
from services.metrics.types import MINUTE, Clock, Metric, MinutePoint

log = logging.getLogger(__name__)

MAX_PENDING = 100_000  # minute points waiting for the database (about 2 days of 35 metrics)
MAX_LIMIT = 5000


class MetricHistory:
    """Closed minutes arrive through `sink`; `persist` writes them, `prune` ages them out, `fetch` reads them."""

    def __init__(self, store: MetricStore | None, clock: Clock = time.time, max_pending: int = MAX_PENDING) -> None:
        self._store = store
        self._clock = clock
        self.pending: deque[MinutePoint] = deque(maxlen=max_pending)
        self.dropped = 0
        self.persisted = 0

    def sink(self, point: MinutePoint) -> None:
        if len(self.pending) == self.pending.maxlen:
            self.dropped += 1  # the database has been away for days: the oldest unsaved minute goes
        self.pending.append(point)

    async def persist(self, metrics: Iterable[Metric], *, store: bool = True) -> int:
        """Close finished minutes of every metric and write all pending minutes in one transaction (or, without
        `store`, drop them: another process writes the same figures)."""
        now = self._clock()
        for metric in metrics:
            metric.flush(now)
        if self._store is None or not store:
            self.pending.clear()
            return 0
        batch = list(self.pending)
        self.pending.clear()
        if not batch:
            return 0
        try:
            await asyncio.to_thread(self._store.insert_points, batch)
        except Exception:  # keep them for the next run; the database may be back by then
            log.warning("writing %d metric points failed; retrying next time", len(batch), exc_info=True)
            room = (self.pending.maxlen or 0) - len(self.pending)
            self.pending.extendleft(reversed(batch[-room:] if room else []))
            return 0
        self.persisted += len(batch)
        return len(batch)

    async def prune(self, metrics: Iterable[Metric], retention_seconds: float) -> int:
        """Drop minutes older than the retention, in memory and in the database; the number of rows deleted."""
        cutoff = self._clock() - retention_seconds
        for metric in metrics:
            while metric.minutes and metric.minutes[0].minute < cutoff:
                metric.minutes.popleft()
        if self._store is None:
            return 0
        return await asyncio.to_thread(self._store.prune, datetime.fromtimestamp(cutoff, UTC))

    def recent(self, metric: Metric, window: float, limit: int = 1000,
               step: float | None = None) -> list[dict[str, Any]]:
        """History from memory only: raw points (`step` None), sub-minute steps from them, or minute steps."""
        since = self._clock() - window
        limit = max(1, min(limit, MAX_LIMIT))
        if step is None or step < MINUTE:
            times, values = metric.points(since)
            if step is None:
                return raw_points(times[-limit:], values[-limit:])
            return steps_from_points(times, values, step, metric.kind)[-limit:]
        return self._steps(metric, list(_in_window(metric.minutes, since)), step, limit)

    async def fetch(self, metric: Metric, window: float, limit: int = 1000,
                    step: float | None = None) -> list[dict[str, Any]]:
        """Like `recent`, and for minute steps the stored minutes from before what memory holds."""
        if step is None or step < MINUTE or self._store is None:
            return self.recent(metric, window, limit, step)
        now = self._clock()
        since = now - window
        memory = list(_in_window(metric.minutes, since))
        # Memory holds every minute since its oldest one (or since the open minute): only older ones come from SQL.
        held_from = metric.minutes[0].minute if metric.minutes else (self._open_start(metric) or now + MINUTE)
        stored = await asyncio.to_thread(self._store.query_points, metric.name, since - since % MINUTE, held_from)
        return self._steps(metric, stored + memory, step, max(1, min(limit, MAX_LIMIT)))

    def _steps(self, metric: Metric, minutes: list[MinutePoint], step: float, limit: int) -> list[dict[str, Any]]:
        open_minute = metric.open_minute()
        if open_minute is not None:
            minutes.append(open_minute)
        step = math.ceil(step / MINUTE) * MINUTE
        return steps_from_minutes(minutes, step, metric.minute_value)[-limit:]

    @staticmethod
    def _open_start(metric: Metric) -> float | None:
        point = metric.open_minute()
        return point.minute if point is not None else None


def _in_window(minutes: Iterable[MinutePoint], since: float) -> Iterable[MinutePoint]:
    return (p for p in minutes if p.minute + MINUTE > since)
