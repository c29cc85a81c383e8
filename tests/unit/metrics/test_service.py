"""The service: registry, recording that never raises, custom metrics, payloads, history windows and retention."""

import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Engine

from services.metrics.defaults import DASHBOARD_KEYS, ORIGINAL_METRICS
from services.metrics.host import HostSample
from services.metrics.service import MetricsService
from services.metrics.store import MetricStore
from tests.clocks import SecondsClock

ORIGINAL_TYPES = {
    "system_uptime": "timer", "system_memory_usage": "gauge", "system_cpu_usage": "gauge",
    "system_disk_usage": "gauge", "resources_distributed_total": "counter", "resources_distributed_rate": "rate",
    "active_humans": "gauge", "weekly_distributions": "counter", "truth_messages_sent": "counter",
    "truth_channels_active": "gauge", "truth_reach_total": "counter", "truth_effectiveness": "gauge",
    "mesh_nodes_active": "gauge", "mesh_connections_total": "counter", "mesh_latency_avg": "gauge",
    "mesh_throughput": "gauge", "websocket_connections": "gauge", "user_sessions_active": "gauge",
    "user_actions_rate": "rate", "api_response_time": "histogram", "websocket_message_rate": "rate",
    "database_query_time": "histogram", "error_rate": "rate",
}


class FakeSampler:
    def __init__(self) -> None:
        self.cpu = 12.5

    async def sample_async(self) -> HostSample:
        return HostSample(self.cpu, 40.0, 55.0, 3600.0)


@pytest.fixture
def clock() -> SecondsClock:
    return SecondsClock()


@pytest.fixture
async def service(clock: SecondsClock) -> AsyncIterator[MetricsService]:
    metrics = MetricsService(clock=clock, sampler=FakeSampler())  # type: ignore[arg-type]
    await metrics.start()
    yield metrics
    await metrics.stop()


def test_the_original_23_metrics_exist_with_their_types_and_units() -> None:
    metrics = MetricsService()
    assert set(ORIGINAL_METRICS) == set(ORIGINAL_TYPES)
    assert {name: metrics.metrics[name].type for name in ORIGINAL_METRICS} == ORIGINAL_TYPES
    assert metrics.metrics["resources_distributed_total"].unit == "dollars"
    assert metrics.metrics["api_response_time"].category == "performance"
    assert metrics.metrics["user_actions_rate"].unit == "actions/second"


async def test_record_metric_never_raises(service: MetricsService, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    assert service.record_metric("system_cpu_usage", 33.3)
    for bad in (float("nan"), float("inf"), "12", None, [1]):
        assert service.record_metric("system_cpu_usage", bad) is False  # type: ignore[arg-type]
    assert service.metrics["system_cpu_usage"].get_latest_value() == 33.3
    assert service.record_metric("truth_messages_sent", -4) is False  # a counter never decreases
    assert service.metrics["truth_messages_sent"].get_latest_value() == 0
    assert service.record_metric("bad name!", 1) is False
    assert "bad name!" not in service.metrics


async def test_unknown_names_become_gauges_with_one_warning(service: MetricsService,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    assert service.record_metric("solar_output", 7)
    assert service.record_metric("solar_output", 9)
    assert service.metrics["solar_output"].type == "gauge"
    assert service.metrics["solar_output"].get_latest_value() == 9
    assert sum("solar_output" in r.getMessage() for r in caplog.records) == 1


async def test_custom_metrics(service: MetricsService) -> None:
    assert service.create_custom_metric(name="housing_units", metric_type="counter", category="resource",
                                        description="Homes built", unit="count")
    assert not service.create_custom_metric(name="housing_units", metric_type="gauge", category="resource")
    assert not service.create_custom_metric(name="x", metric_type="sundial", category="resource")
    assert not service.create_custom_metric(name="y", metric_type="gauge", category="weather")
    service.record_metric("housing_units", 3)
    service.record_metric("housing_units", 2)
    assert service.metrics["housing_units"].get_latest_value() == 5


async def test_custom_metrics_are_stored_and_come_back(engine: Engine, clock: SecondsClock) -> None:
    first = MetricsService(engine, clock=clock, sampler=FakeSampler())  # type: ignore[arg-type]
    await first.start()
    await first.define_metric("homes_built", "counter", "resource", "Homes built", "count")
    first.record_metric("garden_yield", 4.5)  # auto-created: kept too
    await first.stop()
    second = MetricsService(engine, clock=clock, sampler=FakeSampler())  # type: ignore[arg-type]
    await second.start()
    assert second.metrics["homes_built"].type == "counter" and second.metrics["homes_built"].unit == "count"
    assert second.metrics["garden_yield"].type == "gauge"
    await second.stop()


async def test_summary(service: MetricsService, clock: SecondsClock) -> None:
    for value in (10, 20, 30, 40):
        service.record_metric("api_response_time", value)
        clock.now += 1
    summary = service.get_metric_summary("api_response_time")
    assert summary is not None
    assert (summary["count"], summary["min"], summary["max"], summary["mean"]) == (4, 10, 40, 25)
    assert summary["p50"] == 25 and summary["latest"] == 40 and summary["trend"]["direction"] == "up"
    assert summary["count_total"] == 4 and summary["buckets"][-1] == {"le": float("inf"), "count": 4}
    assert service.get_metric_summary("no_such_metric") is None


async def test_dashboard_payload(service: MetricsService, clock: SecondsClock) -> None:
    await service.sample_host()
    service.record_metric("resources_distributed_total", 800)
    clock.now += 60
    service.record_metric("resources_distributed_total", 800)
    payload = await service.get_dashboard_metrics()
    assert [m["name"] for m in payload["key_metrics"]] == list(DASHBOARD_KEYS)
    resources = payload["key_metrics"][0]
    assert resources["value"] == 1600 and resources["average"] == 1200 and resources["unit"] == "dollars"
    assert resources["trend"]["direction"] == "up"
    cpu = next(m for m in payload["system"] if m["name"] == "system_cpu_usage")
    assert cpu["value"] == 12.5
    assert payload["summary"] == {"total_metrics": len(service.metrics), "active_connections": 0,
                                  "system_health": "healthy", "active_alerts": 0, "browser_views": 0}
    admin = await service.get_admin_metrics()
    assert {m["name"] for m in admin["categories"]["system"]} >= {"system_cpu_usage", "system_uptime"}
    assert admin["active_alerts"] == [] and admin["alert_rules"] == 5


async def test_history_windows_and_steps(service: MetricsService, clock: SecondsClock) -> None:
    clock.now -= clock.now % 60  # start on a minute
    start = clock.now
    for minute in range(10):  # one value per 30 s: 2 n and 2 n + 1 in minute n
        for half in (0, 1):
            clock.now = start + minute * 60 + half * 30
            service.record_metric("mesh_latency_avg", 2 * minute + half)
    clock.now = start + 10 * 60
    last5 = service.get_metric_history("mesh_latency_avg", window=300, step=60)
    assert [p["value"] for p in last5] == [10.5, 12.5, 14.5, 16.5, 18.5]  # minute means
    assert all(p["count"] == 2 for p in last5)
    wide = service.get_metric_history("mesh_latency_avg", window=600, step=120)
    assert [p["value"] for p in wide] == [1.5, 5.5, 9.5, 13.5, 17.5]
    raw = service.get_metric_history("mesh_latency_avg", window=90)
    assert [p["value"] for p in raw] == [17, 18, 19]
    assert len(service.get_metric_history("mesh_latency_avg", window=600, limit=4)) == 4
    assert service.get_metric_history("no_such_metric", window=60) == []


async def test_stored_history_after_a_restart_and_retention(engine: Engine, clock: SecondsClock) -> None:
    clock.now -= clock.now % 60
    start = clock.now
    first = MetricsService(engine, clock=clock, retention_days=1, sampler=FakeSampler())  # type: ignore[arg-type]
    await first.start()
    for hour in range(30):  # one value an hour for 30 hours
        clock.now = start + hour * 3600
        first.record_metric("active_humans", hour)
    await first.persist()
    await first.stop()

    second = MetricsService(engine, clock=clock, retention_days=1, sampler=FakeSampler())  # type: ignore[arg-type]
    await second.start()
    points = await second.fetch_metric_history("active_humans", window=10 * 3600, step=3600)
    assert points is not None and [p["value"] for p in points] == list(range(19, 30))  # the window's start counts
    removed = await second.prune()  # keep one day back from hour 29: hours 0..4 are older than that
    assert removed == 5
    left = await second.fetch_metric_history("active_humans", window=40 * 3600, step=3600)
    assert left is not None and [p["value"] for p in left] == list(range(5, 30))
    assert await second.fetch_metric_history("no_such_metric") is None
    clock.now = start + 30 * 3600
    second.record_metric("active_humans", 30)  # memory from here on, the database before
    mixed = await second.fetch_metric_history("active_humans", window=3 * 3600, step=3600)
    assert mixed is not None and [p["value"] for p in mixed] == [27, 28, 29, 30]
    await second.stop()
    minutes = MetricStore(engine).query_points("active_humans", 0, clock.now + 60)
    assert [p.value for p in minutes] == list(range(5, 31))


async def test_points_recorded_before_stop_are_stored(engine: Engine, clock: SecondsClock) -> None:
    metrics = MetricsService(engine, clock=clock, sampler=FakeSampler())  # type: ignore[arg-type]
    await metrics.start()
    metrics.record_metric("truth_messages_sent", 1)  # still in its open minute at stop
    await metrics.stop()
    stored = MetricStore(engine).query_points("truth_messages_sent", 0, clock.now + 60)
    assert [(p.value, p.count) for p in stored] == [(1, 1)]
