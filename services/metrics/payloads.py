"""The shapes clients read: a metric's card (value, average, trend) and its summary over a window."""

from __future__ import annotations

import math
from typing import Any

from services.metrics.analysis import summarize, trend, window_series
from services.metrics.types import Counter, Histogram, Metric, Rate


def describe(metric: Metric) -> dict[str, Any]:
    return {"name": metric.name, "type": metric.type, "category": metric.category, "unit": metric.unit,
            "description": metric.description}


def card(metric: Metric, since: float) -> dict[str, Any]:
    """Current value, the average and least-squares trend of the series since `since`, and the unit."""
    times, values = window_series(metric, since)
    average = math.fsum(values) / len(values) if values else None
    return {**describe(metric), "value": metric.get_latest_value(), "average": average,
            "trend": trend(times, values)}


def summary(metric: Metric, since: float, window: float) -> dict[str, Any]:
    """Statistics of the recent points since `since`, the trend, and the figures of the metric's type."""
    _, values = metric.points(since)
    out: dict[str, Any] = {**describe(metric), "window_seconds": window, **summarize(values),
                           "value": metric.get_latest_value(), "complete": metric.ring_covers(since),
                           "trend": trend(*window_series(metric, since)), "records_total": metric.records}
    if isinstance(metric, Counter):
        out["total"] = metric.total
    elif isinstance(metric, Histogram):
        out.update(count_total=metric.count, sum_total=metric.sum,
                   buckets=[{"le": le, "count": n} for le, n in metric.cumulative_buckets()])
    elif isinstance(metric, Rate):
        out.update(rate=metric.rate(), total=metric.total, rate_window_seconds=metric.window)
    return out
