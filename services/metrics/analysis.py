"""Statistics over a window of points: summary (count, min, max, mean, stddev, percentiles), trend, history steps."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from services.metrics.types import MINUTE, Metric, MetricType, MinutePoint

STABLE_BELOW = 0.05  # a fitted change under 5 % of the series' typical magnitude counts as stable
LARGE = 2.0 ** 400
"""Beyond this magnitude a series is divided by a power of two before sums and squares are taken, which could
overflow otherwise (1e308 squared, or 1e308 + 1e308): every statistic of finite values then stays finite."""


def finite(value: float | None) -> float | None:
    """`value`, or None when it is not a finite number (JSON has no inf or NaN)."""
    return value if value is not None and math.isfinite(value) else None


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean, finite for any finite values (None when there are none)."""
    if not values:
        return None
    scale, scaled = _scaled(values)
    if scale is None:
        return None
    return _between(math.fsum(scaled) / len(values) * scale, min(values), max(values))


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of sorted values by linear interpolation (= `statistics.quantiles(method='inclusive')`)."""
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    fraction = position - low
    a, b = ordered[low], ordered[high]
    value = a + (b - a) * fraction
    if not math.isfinite(value):  # b - a overflowed (-1e308 and 1e308): weigh the two ends instead
        value = a * (1.0 - fraction) + b * fraction
    return _between(value, a, b)


def summarize(values: Sequence[float]) -> dict[str, float | int | None]:
    """count, min, max, mean, population stddev, p50/p90/p95/p99 and the latest value (None when empty)."""
    if not values:
        return {"count": 0, "min": None, "max": None, "mean": None, "stddev": None, "p50": None, "p90": None,
                "p95": None, "p99": None, "latest": None}
    ordered = sorted(values)
    n = len(ordered)
    low, high = ordered[0], ordered[-1]
    scale, scaled = _scaled(ordered)
    center = spread = None
    if scale is not None:
        middle = math.fsum(scaled) / n
        variance = math.fsum((v - middle) ** 2 for v in scaled) / n
        center = _between(middle * scale, low, high)
        # never more than half the range, which keeps it finite when the range is near the largest float
        spread = min(math.sqrt(variance) * scale, high / 2 - low / 2)
    return {
        "count": n,
        "min": finite(low),
        "max": finite(high),
        "mean": finite(center),
        "stddev": finite(spread),
        "p50": finite(percentile(ordered, 0.50)),
        "p90": finite(percentile(ordered, 0.90)),
        "p95": finite(percentile(ordered, 0.95)),
        "p99": finite(percentile(ordered, 0.99)),
        "latest": finite(values[-1]),
    }


def trend(times: Sequence[float], values: Sequence[float], stable_below: float = STABLE_BELOW) -> dict[str, Any]:
    """Least-squares trend: direction up/down/stable and the fitted change relative to the series' magnitude.

    The relative change is the fitted change over the window divided by the mean absolute value, so it keeps its
    sign and size for negative series and for series that cross zero (where "percent of the first value" breaks).
    It does not depend on the scale of the values; the slope in units per second is None where it is too large
    for a float.
    """
    flat = {"direction": "stable", "change": 0.0, "change_percent": 0.0, "slope_per_second": 0.0,
            "points": len(values)}
    if len(values) < 2 or times[-1] == times[0]:
        return flat
    scale, scaled = _scaled(values)
    if scale is None:  # not a series of numbers (stored minutes whose totals overflowed are left out before)
        return {**flat, "change": None, "change_percent": None, "slope_per_second": None}
    t0 = times[0]
    n = len(values)
    mean_t = math.fsum(t - t0 for t in times) / n
    mean_v = math.fsum(scaled) / n
    sxx = math.fsum((t - t0 - mean_t) ** 2 for t in times)
    sxy = math.fsum((t - t0 - mean_t) * (v - mean_v) for t, v in zip(times, scaled, strict=True))
    slope = sxy / sxx if sxx else 0.0
    change = slope * (times[-1] - t0)
    magnitude = math.fsum(abs(v) for v in scaled) / n
    relative = finite(change / magnitude if magnitude else 0.0)
    if relative is None:
        return {**flat, "change": None, "change_percent": None, "slope_per_second": finite(slope * scale)}
    direction = "stable" if abs(relative) < stable_below else ("up" if relative > 0 else "down")
    return {"direction": direction, "change": relative, "change_percent": finite(relative * 100.0),
            "slope_per_second": finite(slope * scale), "points": n}


def window_series(metric: Metric, since: float) -> tuple[list[float], list[float]]:
    """The metric's points since `since`: raw ring points when the ring reaches back that far, else minutes."""
    if metric.ring_covers(since):
        return metric.points(since)
    # A stored minute whose total overflowed has no usable value (history shows it as None): leave it out
    minutes = [p for p in metric.minutes if p.minute >= since and math.isfinite(p.value)]
    cut = minutes[-1].minute + MINUTE if minutes else since
    times, values = metric.points(cut)
    return [p.minute + MINUTE for p in minutes] + times, [p.value for p in minutes] + values


def steps_from_minutes(points: Iterable[MinutePoint], step: float, value_of: Callable[[int, float, float, float],
                       float]) -> list[dict[str, Any]]:
    """Aggregate minute points (sorted by minute) into buckets of `step` seconds (a multiple of a minute)."""
    buckets: dict[float, list[Any]] = {}
    for p in points:
        start = p.minute - p.minute % step
        b = buckets.get(start)
        if b is None:
            buckets[start] = [p.count, p.total, p.low, p.high, p.last]
        else:
            b[0] += p.count
            b[1] += p.total
            b[2] = min(b[2], p.low)
            b[3] = max(b[3], p.high)
            b[4] = p.last
    return [_step(start, value_of(c, total, last, step), low, high, c)
            for start, (c, total, low, high, last) in sorted(buckets.items())]


def steps_from_points(times: Sequence[float], values: Sequence[float], step: float,
                      kind: MetricType) -> list[dict[str, Any]]:
    """Aggregate raw points into buckets of `step` seconds: the last value for counters, the mean otherwise."""
    buckets: dict[float, list[float]] = {}
    for t, v in zip(times, values, strict=True):
        buckets.setdefault(t - t % step, []).append(v)
    out = []
    for start, vs in sorted(buckets.items()):
        value = vs[-1] if kind == MetricType.COUNTER else mean(vs)
        out.append(_step(start, value, min(vs), max(vs), len(vs)))
    return out


def raw_points(times: Sequence[float], values: Sequence[float]) -> list[dict[str, Any]]:
    return [{"timestamp": iso(t), "value": finite(v)} for t, v in zip(times, values, strict=True)]


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _step(start: float, value: float | None, low: float, high: float, count: int) -> dict[str, Any]:
    # A step's value sums minute totals, which may exceed the largest float: it is then None
    return {"timestamp": iso(start), "value": finite(value), "min": finite(low), "max": finite(high), "count": count}


def _scaled(values: Sequence[float]) -> tuple[float | None, Sequence[float]]:
    """(scale, values / scale): 1.0 and the values themselves unless they are larger than LARGE, else a power of
    two that brings the largest into [1, 2) (exact, bar tiny values that underflow and cannot matter beside it).
    The scale is None when a value is not finite: no statistic of such a series means anything."""
    if not all(map(math.isfinite, values)):
        return None, values
    largest = max(abs(min(values)), abs(max(values)))
    if largest <= LARGE:
        return 1.0, values
    scale = math.ldexp(1.0, math.frexp(largest)[1] - 1)
    return scale, [v / scale for v in values]


def _between(value: float, low: float, high: float) -> float:
    """`value` held inside [low, high], where a mean or an interpolation lies (rounding may step just outside)."""
    return min(max(value, low), high)
