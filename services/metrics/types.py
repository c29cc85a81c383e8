"""Metric types with real semantics: counter, gauge, histogram, timer and rate (see `metric_base` for storage)."""

from __future__ import annotations

import functools
import inspect
import time
from bisect import bisect_left
from collections.abc import Callable, Mapping
from typing import Any

from services.metrics.base import (
    CHILD_RING_SIZE,
    MAX_CHILDREN,
    MINUTE,
    Clock,
    Metric,
    MetricCategory,
    MetricType,
    MinutePoint,
    TagKey,
)

__all__ = ["MAX_CHILDREN", "MINUTE", "TYPES", "Clock", "Counter", "Gauge", "Histogram", "Metric", "MetricCategory",
           "MetricType", "MinutePoint", "Rate", "TagKey", "Timer", "Timing"]


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
        self.total = _sum(self.total, value, self.name)
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
        self.set(_sum(self.value, amount, self.name))
        if tags and (child := self._child(tags)) is not None:
            assert isinstance(child, Gauge)
            child.set(_sum(child.value, amount, self.name))

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
        total = _sum(self.sum, value, self.name)
        self.bucket_counts[bisect_left(self.bounds, value)] += 1
        self.sum = total
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
        total = _sum(self.total, n, self.name)  # every window sum is at most the total: finite too
        now = self._clock()
        sec = int(now)
        if sec > self._sec:
            self._advance(sec)
        self._buckets[sec % self.window] += n
        self._wsum += n
        self.total = total
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


def _sum(total: float, value: float, name: str) -> float:
    """`total + value`, or ValueError when that is no finite number: a running total that overflowed to inf would
    break every statistic and answer built on it, for as long as the process runs."""
    result = total + value
    if result - result:  # inf or NaN (a NaN value too)
        raise ValueError(f"{name}: adding {value!r} to {total!r} leaves the range of numbers it can hold")
    return result


TYPES: dict[str, type[Metric]] = {cls.kind.value: cls for cls in (Counter, Gauge, Histogram, Timer, Rate)}
