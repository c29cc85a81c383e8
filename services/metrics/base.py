"""What every metric shares: a bounded ring of recent points, per-minute rollups and tagged children.

Every metric keeps a bounded ring of its recent points (time, value) for live views and exact recent quantiles,
and rolls what was recorded into one `MinutePoint` per minute for history and persistence. Recording is lock-free
and allocation-light: metrics are owned by the event loop thread (worker threads hand values over with
`loop.call_soon_threadsafe`), and the clock is read once per record.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

Clock = Callable[[], float]
MINUTE = 60.0
RING_SIZE = 600  # recent points per metric: 5 hours of 30-second samples
CHILD_RING_SIZE = 60
MAX_CHILDREN = 32  # distinct tag sets per metric; more are counted in `dropped_tags` only
MINUTES_IN_MEMORY = 24 * 60


class MetricType(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"
    TIMER = "timer"
    RATE = "rate"


class MetricCategory(StrEnum):
    SYSTEM = "system"
    RESOURCE = "resource"
    TRUTH = "truth"
    MESH = "mesh"
    USER = "user"
    PERFORMANCE = "performance"
    SECURITY = "security"


@dataclass(slots=True, frozen=True)
class MinutePoint:
    """What one metric recorded during one minute; `value` is what history shows for the metric's type."""

    name: str
    minute: float  # epoch seconds at the start of the minute
    count: int
    total: float  # sum of the recorded inputs (increments, observations, set values, events)
    low: float
    high: float
    last: float  # the metric's value at the end of the minute
    value: float


TagKey = tuple[tuple[str, str], ...]


class Metric:
    """Shared state: description, the ring of recent points, the open minute and tagged children."""

    kind: ClassVar[MetricType]
    __slots__ = ("_cap", "_children", "_clock", "_m_count", "_m_end", "_m_max", "_m_min", "_m_start", "_m_sum",
                 "_pos", "_sink", "_times", "_values", "category", "description", "dropped_tags", "latest",
                 "minutes", "name", "records", "unit")

    def __init__(self, name: str, category: str = MetricCategory.SYSTEM, description: str = "", unit: str = "",
                 *, clock: Clock = time.time, ring_size: int = RING_SIZE,
                 sink: Callable[[MinutePoint], Any] | None = None, minutes: int = MINUTES_IN_MEMORY) -> None:
        self.name = name
        self.category = str(category)
        self.description = description
        self.unit = unit
        self._clock = clock
        self._cap = max(1, ring_size)
        self._times = [0.0] * self._cap
        self._values = [0.0] * self._cap
        self._pos = 0
        self.records = 0
        self.latest: float | None = None
        self.dropped_tags = 0
        self._sink = sink
        self._children: dict[TagKey, Metric] = {}
        self.minutes: deque[MinutePoint] = deque(maxlen=minutes)
        self._m_start = self._m_end = 0.0
        self._m_count = 0
        self._m_sum = 0.0
        self._m_min = float("inf")
        self._m_max = float("-inf")

    def record(self, value: float, tags: Mapping[str, Any] | None = None) -> None:
        """Record one value with the type's meaning (counter: increment, gauge: set, histogram: observe...)."""
        raise NotImplementedError

    def get_latest_value(self) -> float | None:
        return self.latest

    @property
    def type(self) -> str:
        return self.kind.value

    def points(self, since: float = float("-inf")) -> tuple[list[float], list[float]]:
        """Recent (times, values) from the ring, oldest first, at or after `since`."""
        n = min(self.records, self._cap)
        start = (self._pos - n) % self._cap
        order = [(start + k) % self._cap for k in range(n)]
        times = [self._times[i] for i in order]
        values = [self._values[i] for i in order]
        first = bisect_left(times, since)
        return times[first:], values[first:]

    def ring_covers(self, since: float) -> bool:
        """Whether the ring still holds every point recorded at or after `since`."""
        return self.records <= self._cap or self._times[self._pos] <= since

    def flush(self, now: float | None = None) -> None:
        """Close the open minute once it is over (for metrics that went quiet)."""
        now = self._clock() if now is None else now
        if now >= self._m_end:
            self._roll(now)

    def open_minute(self) -> MinutePoint | None:
        """The minute being recorded now, as a point (not yet closed)."""
        if not self._m_count:
            return None
        return self._minute_point()

    def children(self) -> dict[TagKey, Metric]:
        return dict(self._children)

    def _store(self, x: float, point: float, now: float) -> None:
        if now >= self._m_end:
            self._roll(now)
        self._m_count += 1
        self._m_sum += x
        if x < self._m_min:
            self._m_min = x
        if x > self._m_max:
            self._m_max = x
        self._sample(point, now)

    def _sample(self, point: float, now: float) -> None:
        i = self._pos
        self._values[i] = point
        self._times[i] = now
        i += 1
        self._pos = i if i < self._cap else 0
        self.records += 1
        self.latest = point

    def _roll(self, now: float) -> None:
        if self._m_count:
            point = self._minute_point()
            self.minutes.append(point)
            if self._sink is not None:
                self._sink(point)
        self._m_start = now - now % MINUTE
        self._m_end = self._m_start + MINUTE
        self._m_count = 0
        self._m_sum = 0.0
        self._m_min = float("inf")
        self._m_max = float("-inf")

    def _minute_point(self) -> MinutePoint:
        last = self.latest if self.latest is not None else 0.0
        return MinutePoint(self.name, self._m_start, self._m_count, self._m_sum, self._m_min, self._m_max, last,
                           self.minute_value(self._m_count, self._m_sum, last, MINUTE))

    @staticmethod
    def minute_value(count: int, total: float, last: float, seconds: float) -> float:
        """The value history shows for a span that recorded `count` inputs summing to `total`."""
        return total / count if count else last

    def _child(self, tags: Mapping[str, Any]) -> Metric | None:
        key = tuple(sorted((str(k), str(v)) for k, v in tags.items()))
        child = self._children.get(key)
        if child is None:
            if len(self._children) >= MAX_CHILDREN:
                self.dropped_tags += 1
                return None
            child = self._children[key] = self._new_child()
        return child

    def _new_child(self) -> Metric:
        return type(self)(self.name, self.category, self.description, self.unit, clock=self._clock,
                          ring_size=CHILD_RING_SIZE, minutes=1)
