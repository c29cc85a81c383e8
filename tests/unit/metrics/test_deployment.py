"""Several replicas, one set of figures: every replica counts every replica's events once, the dashboard sums and
averages the process figures the replicas report, and /metrics names the replica."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.broker import Broker, MemoryBroker, create_broker
from services.events import LIVE_CHANNEL, EventSystem
from services.metrics.feeds import DomainFeeds
from services.metrics.prometheus import PrometheusExport
from services.metrics.service import MetricsService
from services.replicas import CHANNEL, Replicas, deployment_figures
from tests.clocks import SecondsClock


class Replica:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.events = EventSystem(broker=broker)
        self.metrics = MetricsService()
        self.unfollow = DomainFeeds(self.metrics).follow(broker, LIVE_CHANNEL)

    def total(self) -> float | None:
        return self.metrics.metrics["resources_distributed_total"].get_latest_value()


@pytest.fixture
async def two_replicas(redis_url: str, unique: str) -> AsyncIterator[tuple[Replica, Replica]]:
    brokers = [create_broker(redis_url, prefix=f"test-{unique}") for _ in range(2)]
    for broker in brokers:
        await broker.start()
    yield Replica(brokers[0]), Replica(brokers[1])
    for broker in brokers:
        await broker.stop()


@pytest.mark.redis
async def test_every_replica_counts_every_replicas_events_exactly_once(two_replicas: tuple[Replica, Replica]) -> None:
    a, b = two_replicas
    await asyncio.sleep(0.2)  # both are listening
    await a.events.publish("resource.distributed", {"human_id": "ada", "amount": 800})
    await b.events.publish("resource.distributed", {"human_id": "bo", "amount": 200})
    await b.events.publish("resource.distributed", {"human_id": "cy", "amount": 50})
    for _ in range(100):
        if a.total() == b.total() == 1050:
            break
        await asyncio.sleep(0.02)
    assert (a.total(), b.total()) == (1050, 1050)
    await asyncio.sleep(0.2)  # nothing arrives twice later
    assert (a.total(), b.total()) == (1050, 1050)
    assert a.metrics.metrics["active_humans"].get_latest_value() == 3


async def test_one_process_counts_its_own_events_once() -> None:
    replica = Replica(MemoryBroker())
    await replica.events.publish("resource.distributed", {"human_id": "ada", "amount": 800})
    assert replica.total() == 800


async def test_a_malformed_broadcast_does_not_stop_the_figures(caplog: pytest.LogCaptureFixture) -> None:
    replica = Replica(MemoryBroker())
    await replica.broker.publish(LIVE_CHANNEL, {"type": "resource.distributed", "id": "x"})  # no timestamp
    await replica.events.publish("resource.distributed", {"human_id": "ada", "amount": 800})
    assert replica.total() == 800
    assert "could not move the metrics" in caplog.text


async def test_the_dashboard_sums_connections_and_averages_load_once_another_replica_reports() -> None:
    broker = MemoryBroker()
    replicas = Replicas(broker, "a:8001")
    replicas.start()
    metrics = MetricsService()
    metrics.deployment = lambda: ({**deployment_figures(r), "replicas": len(r)}
                                  if len(r := replicas.current()) > 1 else {})
    metrics.record_metric("websocket_connections", 7)
    metrics.record_metric("system_cpu_usage", 20.0)
    await replicas.report(role="leader", websocket_clients=7, browser_views=2, cpu_percent=20.0, memory_percent=40.0)
    alone = await metrics.get_dashboard_metrics()
    assert alone["summary"]["active_connections"] == 7 and "replicas" not in alone["summary"]

    await broker.publish(CHANNEL, {"name": "b:8002", "role": "follower", "started_at": 0.0, "sent_at": replicas.clock(),
                                   "websocket_clients": 5, "browser_views": 1, "cpu_percent": 60.0,
                                   "memory_percent": 50.0})
    both = await metrics.get_dashboard_metrics()
    assert both["summary"]["active_connections"] == 12 and both["summary"]["browser_views"] == 3
    assert both["summary"]["replicas"] == 2
    cards = {c["name"]: c for c in both["key_metrics"] + both["system"]}
    assert cards["websocket_connections"]["value"] == 12
    assert cards["system_cpu_usage"]["value"] == 40.0
    replicas.stop()


def test_a_replica_that_stops_reporting_is_forgotten_and_bad_reports_are_ignored() -> None:
    clock = SecondsClock()
    broker = MemoryBroker()
    replicas = Replicas(broker, "a:8001", stale_after=30, clock=clock)
    replicas.start()
    replicas._on_report(CHANNEL, {"name": "b:8002", "role": "follower", "started_at": 0.0, "sent_at": clock()})
    replicas._on_report(CHANNEL, {"role": "follower"})  # no name: ignored
    assert [r.name for r in replicas.current()] == ["b:8002"]
    clock.now += 31
    assert replicas.current() == []


def test_every_series_names_the_replica_that_serves_it() -> None:
    metrics = MetricsService()
    metrics.record_metric("resources_distributed_total", 800)
    rendered = PrometheusExport(lambda: metrics.metrics, labels={"replica": "a:8001"}).render().decode()
    families = list(text_string_to_metric_families(rendered))
    assert families and all(s.labels.get("replica") == "a:8001" for f in families for s in f.samples)
    assert any(f.name == "process_resident_memory_bytes" for f in families)  # the process's own figures too
