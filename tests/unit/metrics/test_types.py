"""Metric types behave as their names say: counters only rise, histograms give true quantiles, rates are per second."""

import asyncio
import random
import statistics

import pytest

from services.metrics import types as metric_types
from services.metrics.types import Counter, Gauge, Histogram, MinutePoint, Rate, Timer
from tests.clocks import SecondsClock


def test_counter_only_goes_up() -> None:
    counter = Counter("payments", "resource", unit="dollars")
    counter.inc()
    counter.inc(799)
    assert counter.get_latest_value() == 800
    with pytest.raises(ValueError, match="cannot decrease"):
        counter.inc(-1)
    assert counter.total == 800
    assert counter.points()[1] == [1, 800]  # the running total, not each increment


def test_gauge_sets_and_moves() -> None:
    gauge = Gauge("nodes")
    assert gauge.get_latest_value() is None  # never set: unknown, not a fake zero
    gauge.set(5)
    gauge.inc(2)
    gauge.dec(4)
    assert gauge.get_latest_value() == 3
    assert gauge.points()[1] == [5, 7, 3]


def test_histogram_quantiles_match_statistics_on_random_data() -> None:
    rng = random.Random(7)
    data = [rng.lognormvariate(3, 1) for _ in range(500)]  # fewer than the ring holds: quantiles are exact
    histogram = Histogram("latency", unit="milliseconds")
    for value in data:
        histogram.observe(value)
    from services.metrics.analysis import summarize

    summary = summarize(histogram.points()[1])
    reference = statistics.quantiles(data, n=100, method="inclusive")
    for name, k in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99)):
        assert summary[name] == pytest.approx(reference[k - 1], rel=1e-12), name
    assert summary["mean"] == pytest.approx(statistics.fmean(data))
    assert summary["stddev"] == pytest.approx(statistics.pstdev(data))
    # Cumulative buckets count every observation at or below each bound, as Prometheus defines them.
    for bound, count in histogram.cumulative_buckets():
        assert count == sum(1 for v in data if v <= bound)
    assert histogram.count == 500 and histogram.sum == pytest.approx(sum(data))


def test_histogram_keeps_a_bounded_reservoir_of_the_newest_observations() -> None:
    histogram = Histogram("latency", ring_size=100)
    for value in range(1000):
        histogram.observe(value)
    _, values = histogram.points()
    assert values == list(range(900, 1000))
    assert histogram.count == 1000  # the buckets still count everything


def test_rate_is_events_per_second_over_the_window() -> None:
    clock = SecondsClock()
    rate = Rate("actions", window=10, clock=clock)
    for _ in range(10):  # 3 events a second for 10 seconds
        rate.mark(3)
        clock.now += 1
    clock.now -= 1
    assert rate.rate() == pytest.approx(3.0)
    clock.now += 5  # half the window is now quiet
    assert rate.rate() == pytest.approx(1.5)
    clock.now += 100
    assert rate.rate() == 0.0
    assert rate.total == 30
    with pytest.raises(ValueError):
        rate.mark(-1)


def test_rate_tick_lets_a_quiet_rate_be_seen_falling() -> None:
    clock = SecondsClock()
    rate = Rate("actions", window=10, clock=clock)
    rate.mark(20)
    clock.now += 30
    rate.tick()
    assert rate.points()[1] == [2.0, 0.0]


def test_timer_measures_blocks_and_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter([10.0, 10.25, 20.0, 20.5, 30.0, 30.125])
    monkeypatch.setattr(metric_types.time, "perf_counter", lambda: next(ticks))
    timer = Timer("work", unit="milliseconds")
    with timer.time():
        pass

    @timer.time()
    def work() -> str:
        return "done"

    @timer.time()
    async def async_work() -> str:
        return "async done"

    assert work() == "done"
    assert asyncio.run(async_work()) == "async done"
    assert timer.points()[1] == [250.0, 500.0, 125.0]


def test_minutes_roll_up_with_the_meaning_of_each_type() -> None:
    clock = SecondsClock(6000.0)  # the start of a minute
    closed: list[MinutePoint] = []
    counter = Counter("c", clock=clock, sink=closed.append)
    gauge = Gauge("g", clock=clock, sink=closed.append)
    rate = Rate("r", clock=clock, sink=closed.append)
    for value in (1, 2, 3):
        counter.inc(value)
        gauge.set(value * 10)
        rate.mark(value * 20)
        clock.now += 10
    clock.now = 6060.0
    for metric in (counter, gauge, rate):
        metric.flush()
    by_name = {p.name: p for p in closed}
    assert by_name["c"].value == 6 and by_name["c"].total == 6  # running total at minute end; increase
    assert by_name["g"].value == 20 and (by_name["g"].low, by_name["g"].high) == (10, 30)  # mean, min, max
    assert by_name["r"].value == pytest.approx(120 / 60)  # events per second over the minute
    assert all(p.minute == 6000.0 and p.count == 3 for p in closed)


def test_tags_keep_bounded_children_beside_the_aggregate() -> None:
    counter = Counter("requests")
    counter.inc(2, {"route": "/a"})
    counter.inc(3, {"route": "/b"})
    counter.inc(5)
    assert counter.total == 10
    children = counter.children()
    assert {key: child.get_latest_value() for key, child in children.items()} == {
        (("route", "/a"),): 2, (("route", "/b"),): 3}
    for n in range(100):
        counter.inc(1, {"route": f"/{n}"})
    assert len(counter.children()) == metric_types.MAX_CHILDREN
    assert counter.dropped_tags > 0 and counter.total == 110
