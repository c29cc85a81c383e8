"""Prometheus text read back with prometheus_client's parser; request and query timing hooks."""

import asyncio
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, text

from app.metrics_hooks import ApiTiming, watch_queries
from services.metrics.prometheus import PrometheusExport
from services.metrics.service import MetricsService


def families(metrics: MetricsService) -> dict[str, Any]:
    rendered = PrometheusExport(lambda: metrics.metrics, process=False).render().decode()
    return {family.name: family for family in text_string_to_metric_families(rendered)}


def samples(family: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}


def test_prometheus_text_parses_back_with_types_help_and_values() -> None:
    metrics = MetricsService()
    metrics.record_metric("resources_distributed_total", 800)
    metrics.record_metric("truth_messages_sent", 3)
    metrics.record_metric("system_cpu_usage", 42.5)
    metrics.record_metric("user_actions_rate", 120)
    for value in (0.7, 3, 3, 40, 20000):
        metrics.record_metric("api_response_time", value)
    parsed = families(metrics)

    resources = parsed["resources_distributed"]
    assert resources.type == "counter" and resources.documentation == "Resources distributed to humans (dollars)"
    assert samples(resources) == {("resources_distributed_total", ()): 800}
    assert samples(parsed["truth_messages_sent"]) == {("truth_messages_sent_total", ()): 3}
    assert parsed["system_cpu_usage"].type == "gauge"
    assert samples(parsed["system_cpu_usage"]) == {("system_cpu_usage", ()): 42.5}
    assert parsed["user_actions_rate"].type == "gauge"
    assert samples(parsed["user_actions_rate"]) == {("user_actions_rate", ()): 2.0}  # events per second

    latency = samples(parsed["api_response_time"])
    assert parsed["api_response_time"].type == "histogram"
    assert latency[("api_response_time_bucket", (("le", "1.0"),))] == 1
    assert latency[("api_response_time_bucket", (("le", "5.0"),))] == 3
    assert latency[("api_response_time_bucket", (("le", "50.0"),))] == 4
    assert latency[("api_response_time_bucket", (("le", "+Inf"),))] == 5
    assert latency[("api_response_time_count", ())] == 5
    assert latency[("api_response_time_sum", ())] == 20046.7
    assert parsed["system_uptime"].type == "histogram"  # a timer
    assert samples(parsed["active_humans"]) == {}  # never set: no made-up value


def test_tagged_values_become_labelled_series_that_add_up() -> None:
    metrics = MetricsService()
    metrics.create_custom_metric("requests", "counter", "performance", "Requests", "count")
    metrics.record_metric("requests", 2, {"route": "/a"})
    metrics.record_metric("requests", 3, {"route": "/b", "method": "POST"})
    metrics.record_metric("requests", 5)
    got = samples(families(metrics)["requests"])
    assert got == {
        ("requests_total", (("method", ""), ("route", "/a"))): 2,
        ("requests_total", (("method", "POST"), ("route", "/b"))): 3,
        ("requests_total", (("method", ""), ("route", ""))): 5,  # the untagged remainder: the series sum to the total
    }


def test_a_hundred_metrics_render() -> None:
    metrics = MetricsService()
    for n in range(100 - len(metrics.metrics)):
        metrics.record_metric(f"custom_{n}", n)
    parsed = families(metrics)
    assert len(parsed) == 100 and samples(parsed["custom_7"]) == {("custom_7", ()): 7}


async def test_query_hooks_time_every_statement(sqlite_engine: Engine) -> None:
    metrics = MetricsService()
    await metrics.start()
    stop = watch_queries(sqlite_engine, metrics)

    def query() -> None:
        with sqlite_engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            connection.execute(text("SELECT 2"))

    await asyncio.to_thread(query)  # from a worker thread, as the services run SQL
    await asyncio.sleep(0)  # the values are handed to the loop
    histogram = metrics.metrics["database_query_time"]
    assert histogram.count == 2 and all(v >= 0 for v in histogram.points()[1])
    stop()
    await asyncio.to_thread(query)
    await asyncio.sleep(0)
    assert histogram.count == 2
    await metrics.stop()


async def test_api_timing_middleware() -> None:
    metrics = MetricsService()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["path"] == "/api/boom":
            raise RuntimeError("boom")
        code = 503 if scope["path"] == "/api/down" else 200
        await send({"type": "http.response.start", "status": code, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    timing = ApiTiming(app, metrics)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    for path in ("/api/v1/ping", "/api/down", "/", "/login"):
        await timing({"type": "http", "path": path}, receive, send)
    with pytest.raises(RuntimeError):  # the crash still reaches the server's error handling
        await timing({"type": "http", "path": "/api/boom"}, receive, send)
    assert metrics.metrics["api_response_time"].records == 3  # only /api/ requests
    assert metrics.metrics["error_rate"].total == 2  # the 503 and the crash
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [200, 503, 200, 200]
