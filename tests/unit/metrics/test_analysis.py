"""Summaries and trends on known series, including negative values and series that cross zero."""

import random
import statistics

import pytest

from services.metrics.analysis import percentile, steps_from_minutes, steps_from_points, summarize, trend
from services.metrics.types import Counter, Gauge, MetricType, MinutePoint, Rate


def series(values: list[float], every: float = 60.0) -> tuple[list[float], list[float]]:
    return [n * every for n in range(len(values))], values


def test_summary_matches_statistics() -> None:
    rng = random.Random(3)
    data = [rng.gauss(50, 12) for _ in range(301)]
    summary = summarize(data)
    quantiles = statistics.quantiles(data, n=100, method="inclusive")
    assert summary["count"] == 301
    assert summary["min"] == min(data) and summary["max"] == max(data)
    assert summary["mean"] == pytest.approx(statistics.fmean(data))
    assert summary["stddev"] == pytest.approx(statistics.pstdev(data))
    assert summary["p50"] == pytest.approx(statistics.median(data))
    assert summary["p95"] == pytest.approx(quantiles[94]) and summary["p99"] == pytest.approx(quantiles[98])
    assert summary["latest"] == data[-1]


def test_summary_of_nothing_and_of_one_value() -> None:
    assert summarize([])["count"] == 0 and summarize([])["mean"] is None
    one = summarize([4.0])
    assert (one["p50"], one["p99"], one["stddev"]) == (4.0, 4.0, 0.0)
    assert percentile([1.0, 2.0], 0.5) == 1.5


@pytest.mark.parametrize(("values", "direction"), [
    ([10, 12, 14, 16, 18, 20], "up"),
    ([20, 18, 16, 14, 12, 10], "down"),
    ([50, 50, 50, 50], "stable"),
    ([50, 50.2, 49.9, 50.1, 50], "stable"),  # noise well under 5 %
    ([-5, -3, -1, 1, 3, 5], "up"),  # crosses zero: (last-first)/first would call this "down"
    ([5, 3, 1, -1, -3, -5], "down"),
    ([-10, -12, -14, -16], "down"),  # more negative is down, whatever the sign of the ratio
    ([-16, -14, -12, -10], "up"),
    ([0, 0, 0, 0], "stable"),
    ([1, -1, 1, -1, 1, -1, 1], "stable"),  # oscillating around zero: no slope
])
def test_trend_direction(values: list[float], direction: str) -> None:
    assert trend(*series(values))["direction"] == direction


def test_trend_reports_the_fitted_change_relative_to_the_magnitude() -> None:
    rising = trend(*series([100, 110, 120, 130, 140]))
    assert rising["change"] == pytest.approx(40 / 120)  # fitted change 40 over a mean magnitude of 120
    assert rising["change_percent"] == pytest.approx(100 * 40 / 120)
    assert rising["slope_per_second"] == pytest.approx(10 / 60)
    across = trend(*series([-2, -1, 0, 1, 2]))
    assert across["change"] == pytest.approx(4 / 1.2) and across["direction"] == "up"
    assert trend([5.0], [1.0])["direction"] == "stable"


def test_minute_steps_use_each_type_meaning() -> None:
    minutes = [MinutePoint("m", 60.0 * n, 2, 10.0 * n, n, 2 * n, 100.0 + n, 5.0 * n) for n in range(6)]
    gauge = steps_from_minutes(minutes, 180, Gauge.minute_value)
    assert [s["value"] for s in gauge] == [pytest.approx((0 + 10 + 20) / 6), pytest.approx((30 + 40 + 50) / 6)]
    assert [s["count"] for s in gauge] == [6, 6] and gauge[1]["max"] == 10
    counter = steps_from_minutes(minutes, 180, Counter.minute_value)
    assert [s["value"] for s in counter] == [102.0, 105.0]  # the total at the end of each step
    rate = steps_from_minutes(minutes, 180, Rate.minute_value)
    assert [s["value"] for s in rate] == [pytest.approx(30 / 180), pytest.approx(120 / 180)]


def test_raw_steps() -> None:
    steps = steps_from_points([0, 5, 10, 15], [1.0, 3.0, 5.0, 7.0], 10, MetricType.GAUGE)
    assert [(s["value"], s["count"]) for s in steps] == [(2.0, 2), (6.0, 2)]
    counter = steps_from_points([0, 5, 10, 15], [1.0, 3.0, 5.0, 7.0], 10, MetricType.COUNTER)
    assert [s["value"] for s in counter] == [3.0, 7.0]
