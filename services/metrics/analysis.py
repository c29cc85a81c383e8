"""Statistics over a window of points: summary (count, min, max, mean, stddev, percentiles), trend, history steps."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from services.metrics.types import MINUTE, Metric, MetricType, MinutePoint

STABLE_BELOW = 0.05  # a fitted change under 5 % of the series' typical magnitude counts as stable


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of sorted values by linear interpolation (= `statistics.quantiles(method='inclusive')`)."""
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    fraction = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * fraction


def summarize(values: Sequence[float]) -> dict[str, float | int | None]:
    """count, min, max, mean, population stddev, p50/p90/p95/p99 and the latest value (None when empty)."""
    if not values:
        return {"count": 0, "min": None, "max": None, "mean": None, "stddev": None, "p50": None, "p90": None,
                "p95": None, "p99": None, "latest": None}
    ordered = sorted(values)
    n = len(ordered)
    mean = math.fsum(ordered) / n
    variance = math.fsum((v - mean) ** 2 for v in ordered) / n
    return {
        "count": n,
        "min": ordered[0],
        "max": ordered[-1],
        "mean": mean,
        "stddev": math.sqrt(variance),
        "p50": percentile(ordered, 0.50),
        "p90": percentile(ordered, 0.90),
        "p95": percentile(ordered, 0.95),
        "p99": percentile(ordered, 0.99),
        "latest": values[-1],
    }


def trend(times: Sequence[float], values: Sequence[float], stable_below: float = STABLE_BELOW) -> dict[str, Any]:
    """Least-squares trend: direction up/down/stable and the fitted change relative to the series' magnitude.

    The relative change is the fitted change over the window divided by the mean absolute value, so it keeps its
    sign and size for negative series and for series that cross zero (where "percent of the first value" breaks).
    """
    flat = {"direction": "stable", "change": 0.0, "change_percent": 0.0, "slope_per_second": 0.0,
            "points": len(values)}
    if len(values) < 2 or times[-1] == times[0]:
        return flat
    t0 = times[0]
    n = len(values)
    mean_t = math.fsum(t - t0 for t in times) / n
    mean_v = math.fsum(values) / n
    sxx = math.fsum((t - t0 - mean_t) ** 2 for t in times)
    sxy = math.fsum((t - t0 - mean_t) * (v - mean_v) for t, v in zip(times, values, strict=True))
    slope = sxy / sxx if sxx else 0.0
    change = slope * (times[-1] - t0)
    scale = math.fsum(abs(v) for v in values) / n
    relative = change / scale if scale else 0.0
    direction = "stable" if abs(relative) < stable_below else ("up" if relative > 0 else "down")
    return {"direction": direction, "change": relative, "change_percent": relative * 100.0,
            "slope_per_second": slope, "points": n}


def window_series(metric: Metric, since: float) -> tuple[list[float], list[float]]:
    """The metric's points since `since`: raw ring points when the ring reaches back that far, else minutes."""
    if metric.ring_covers(since):
        return metric.points(since)
    minutes = [p for p in metric.minutes if p.minute >= since]
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
        value = vs[-1] if kind == MetricType.COUNTER else math.fsum(vs) / len(vs)
        out.append(_step(start, value, min(vs), max(vs), len(vs)))
    return out


def raw_points(times: Sequence[float], values: Sequence[float]) -> list[dict[str, Any]]:
    return [{"timestamp": iso(t), "value": v} for t, v in zip(times, values, strict=True)]


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _step(start: float, value: float, low: float, high: float, count: int) -> dict[str, Any]:
    return {"timestamp": iso(start), "value": value, "min": low, "max": high, "count": count}
