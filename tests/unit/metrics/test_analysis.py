"""Summaries and trends on known series, including negative values and series that cross zero."""

import math
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


BIGGEST = 1.7976931348623157e308
EXTREMES = (BIGGEST, -BIGGEST, 1e308, -1e308, 1e300, -1e300, 2.0 ** 400, -(2.0 ** 401), 1.0, -1.0, 0.0, -0.0,
            1e-300, -1e-300, 5e-324, -5e-324)


def extreme_series(rng: random.Random) -> list[float]:
    """Mixes of the largest and the tiniest floats, and of everything between (finite numbers only)."""
    def one() -> float:
        if rng.random() < 0.6:
            return rng.choice(EXTREMES)
        return rng.choice((-1, 1)) * rng.random() * 10.0 ** rng.randint(-320, 308)
    return [one() for _ in range(rng.randint(1, 40))]


def finite_or_none(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and math.isfinite(value))


@pytest.mark.reliability
def test_statistics_of_any_finite_values_are_finite_or_none() -> None:
    rng = random.Random(20261205)
    for _ in range(3000):
        values = extreme_series(rng)
        times = sorted(rng.uniform(0, 3600) for _ in values)
        summary = summarize(values)
        assert all(finite_or_none(v) for v in summary.values()), (values, summary)
        low, high = min(values), max(values)
        assert summary["mean"] is not None and low <= summary["mean"] <= high, values
        assert summary["stddev"] is not None and summary["stddev"] <= high / 2 - low / 2, values
        for q in ("p50", "p90", "p95", "p99"):
            assert summary[q] is not None and low <= summary[q] <= high, (values, q)
        fitted = trend(times, values)
        assert all(finite_or_none(fitted[k]) for k in ("change", "change_percent", "slope_per_second")), values
        assert fitted["direction"] in ("up", "down", "stable")
        assert all(finite_or_none(p["value"]) for p in steps_from_points(times, values, 600, MetricType.GAUGE))


@pytest.mark.reliability
def test_the_largest_values_either_way_give_exact_simple_answers() -> None:
    summary = summarize([1e308, -1e308])
    assert (summary["mean"], summary["stddev"], summary["p50"]) == (0.0, 1e308, 0.0)
    assert summarize([BIGGEST, BIGGEST])["mean"] == BIGGEST
    falling = trend([0.0, 60.0], [1e308, -1e308])
    assert falling["direction"] == "down" and falling["change"] == pytest.approx(-2.0)
    assert percentile([-BIGGEST, BIGGEST], 0.0) == -BIGGEST and percentile([-BIGGEST, BIGGEST], 0.5) == 0.0


@pytest.mark.reliability
def test_a_step_whose_minute_totals_overflow_shows_none_not_inf() -> None:
    minutes = [MinutePoint("m", 60.0 * n, 1, 1e308, 1e308, 1e308, 1e308, 1e308) for n in range(3)]
    [step] = steps_from_minutes(minutes, 180, Gauge.minute_value)
    assert (step["value"], step["min"], step["max"], step["count"]) == (None, 1e308, 1e308, 3)
    stored = [MinutePoint("m", 0.0, 2, math.inf, 1e308, 1e308, 1e308, math.inf)]  # a minute that overflowed
    assert steps_from_minutes(stored, 60, Gauge.minute_value)[0]["value"] is None
