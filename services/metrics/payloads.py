"""The shapes clients read: a metric's card (value, average, trend) and its summary over a window.

Every number in them is finite or None: JSON has no inf or NaN, and one metric's extreme values must not break an
answer (or a live push) that carries every metric."""

from __future__ import annotations

from typing import Any

from services.metrics.analysis import finite, mean, summarize, trend, window_series
from services.metrics.types import Counter, Histogram, Metric, Rate


def describe(metric: Metric) -> dict[str, Any]:
    return {"name": metric.name, "type": metric.type, "category": metric.category, "unit": metric.unit,
            "description": metric.description}


def card(metric: Metric, since: float) -> dict[str, Any]:
    """Current value, the average and least-squares trend of the series since `since`, and the unit."""
    times, values = window_series(metric, since)
    return {**describe(metric), "value": finite(metric.get_latest_value()), "average": mean(values),
            "trend": trend(times, values)}


def blank_card(metric: Metric) -> dict[str, Any]:
    """A card whose figures could not be computed: the metric is still listed, its numbers are None."""
    return {**describe(metric), "value": None, "average": None,
            "trend": {"direction": "stable", "change": None, "change_percent": None, "slope_per_second": None,
                      "points": 0}}


def summary(metric: Metric, since: float, window: float) -> dict[str, Any]:
    """Statistics of the recent points since `since`, the trend, and the figures of the metric's type."""
    _, values = metric.points(since)
    out: dict[str, Any] = {**describe(metric), "window_seconds": window, **summarize(values),
                           "value": finite(metric.get_latest_value()), "complete": metric.ring_covers(since),
                           "trend": trend(*window_series(metric, since)), "records_total": metric.records}
    if isinstance(metric, Counter):
        out["total"] = finite(metric.total)
    elif isinstance(metric, Histogram):
        out.update(count_total=metric.count, sum_total=finite(metric.sum),
                   buckets=[{"le": le, "count": n} for le, n in metric.cumulative_buckets()])
    elif isinstance(metric, Rate):
        out.update(rate=finite(metric.rate()), total=finite(metric.total), rate_window_seconds=metric.window)
    return out
