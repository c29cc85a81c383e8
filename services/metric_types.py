"""Metric types with real semantics: counter, gauge, histogram, timer and rate.

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
        return self.records <= self._cap or self._times[self._pos] < since

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


class Counter(Metric):
    """Only goes up: `inc(amount)` with amount >= 0; history shows the running total."""

    kind = MetricType.COUNTER
    __slots__ = ("total",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.total = 0.0

    def inc(self, value: float = 1.0, tags: Mapping[str, Any] | None = None) -> None:
        if value < 0:
            raise ValueError(f"counter {self.name} cannot decrease (got {value})")
        self.total += value
        self._store(value, self.total, self._clock())
        if tags and (child := self._child(tags)) is not None:
            child.record(value)

    record = inc

    def get_latest_value(self) -> float:
        return self.total

    @staticmethod
    def minute_value(count: int, total: float, last: float, seconds: float) -> float:
        return last


class Gauge(Metric):
    """A value that goes up and down: `set`, `inc`, `dec`."""

    kind = MetricType.GAUGE
    __slots__ = ("value",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.value = 0.0

    def set(self, value: float, tags: Mapping[str, Any] | None = None) -> None:
        self.value = value
        self._store(value, value, self._clock())
        if tags and (child := self._child(tags)) is not None:
            child.record(value)

    record = set

    def inc(self, amount: float = 1.0, tags: Mapping[str, Any] | None = None) -> None:
        self.set(self.value + amount)
        if tags and (child := self._child(tags)) is not None:
            assert isinstance(child, Gauge)
            child.set(child.value + amount)

    def dec(self, amount: float = 1.0, tags: Mapping[str, Any] | None = None) -> None:
        self.inc(-amount, tags)


DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BUCKETS_BY_UNIT: dict[str, tuple[float, ...]] = {
    "milliseconds": (0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
    "seconds": (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400),
    "percent": (10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 100),
}


class Histogram(Metric):
    """Observations in cumulative buckets (all time) plus a reservoir of the recent ones for exact quantiles."""

    kind = MetricType.HISTOGRAM
    __slots__ = ("bounds", "bucket_counts", "sum")

    def __init__(self, *args: Any, buckets: tuple[float, ...] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        chosen = buckets or BUCKETS_BY_UNIT.get(self.unit, DEFAULT_BUCKETS)
        self.bounds = sorted(float(b) for b in chosen)
        self.bucket_counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, value: float, tags: Mapping[str, Any] | None = None) -> None:
        self.bucket_counts[bisect_left(self.bounds, value)] += 1
        self.sum += value
        self._store(value, value, self._clock())
        if tags and (child := self._child(tags)) is not None:
            child.record(value)

    record = observe

    @property
    def count(self) -> int:
        return self.records

    def cumulative_buckets(self) -> list[tuple[float, int]]:
        """(upper bound, observations <= bound), ending with +Inf, as Prometheus exposes them."""
        out: list[tuple[float, int]] = []
        running = 0
        for bound, n in zip((*self.bounds, float("inf")), self.bucket_counts, strict=True):
            running += n
            out.append((bound, running))
        return out

    def _new_child(self) -> Metric:
        return type(self)(self.name, self.category, self.description, self.unit, clock=self._clock,
                          ring_size=CHILD_RING_SIZE, minutes=1, buckets=tuple(self.bounds))


class Timer(Histogram):
    """A histogram of durations in its unit; `with timer.time():` or `@timer.time()` records one."""

    kind = MetricType.TIMER
    __slots__ = ("scale",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scale = 1000.0 if self.unit == "milliseconds" else 1.0

    def time(self) -> Timing:
        return Timing(self)


class Timing:
    """One measurement: a context manager, or a decorator for sync and async functions."""

    __slots__ = ("_start", "_timer")

    def __init__(self, timer: Timer) -> None:
        self._timer = timer
        self._start = 0.0

    def __enter__(self) -> Timing:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._timer.observe((time.perf_counter() - self._start) * self._timer.scale)

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        import functools
        import inspect

        timer = self._timer
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                with Timing(timer):
                    return await fn(*args, **kwargs)
            return timed_async

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with Timing(timer):
                return fn(*args, **kwargs)
        return timed


class Rate(Metric):
    """Events per second over a sliding window of whole seconds: `mark(n)` counts n events now."""

    kind = MetricType.RATE
    __slots__ = ("_buckets", "_sec", "_wsum", "total", "window")

    def __init__(self, *args: Any, window: int = 60, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window = max(1, int(window))
        self._buckets = [0.0] * self.window
        self._sec = int(self._clock())
        self._wsum = 0.0
        self.total = 0.0

    def mark(self, value: float = 1.0, tags: Mapping[str, Any] | None = None) -> None:
        """Count `value` events now."""
        n = value
        if n < 0:
            raise ValueError(f"rate {self.name} counts events; got {n}")
        now = self._clock()
        sec = int(now)
        if sec > self._sec:
            self._advance(sec)
        self._buckets[sec % self.window] += n
        self._wsum += n
        self.total += n
        self._store(n, self._wsum / self.window, now)
        if tags and (child := self._child(tags)) is not None:
            child.record(n)

    record = mark

    def rate(self, now: float | None = None) -> float:
        """Events per second over the last `window` seconds (the current second included)."""
        sec = int(self._clock() if now is None else now)
        if sec > self._sec:
            self._advance(sec)
        return self._wsum / self.window

    def get_latest_value(self) -> float:
        return self.rate()

    def tick(self) -> None:
        """Add a point with the current rate (so a quiet rate is seen falling to zero)."""
        now = self._clock()
        self._sample(self.rate(now), now)

    @staticmethod
    def minute_value(count: int, total: float, last: float, seconds: float) -> float:
        return total / seconds

    def _advance(self, sec: float) -> None:
        if sec - self._sec >= self.window:
            self._buckets = [0.0] * self.window
        else:
            for s in range(self._sec + 1, int(sec) + 1):
                self._buckets[s % self.window] = 0.0
        self._wsum = sum(self._buckets)  # recomputed, not patched, so float error never accumulates
        self._sec = int(sec)

    def _new_child(self) -> Metric:
        return type(self)(self.name, self.category, self.description, self.unit, clock=self._clock,
                          ring_size=CHILD_RING_SIZE, minutes=1, window=self.window)


TYPES: dict[str, type[Metric]] = {cls.kind.value: cls for cls in (Counter, Gauge, Histogram, Timer, Rate)}
