"""Real data for the defaults: published events, other services' statistics and the host sampler move the metrics."""

import threading
from typing import Any

import pytest

from services.events.bus import EventSystem
from services.metrics import host as host_sampler
from services.metrics.feeds import CumulativeFeed, DomainFeeds, collect_event_system, collect_websocket
from services.metrics.host import HostSampler
from services.metrics.service import MetricsService
from tests.clocks import SecondsClock


def value(metrics: MetricsService, name: str) -> Any:
    return metrics.metrics[name].get_latest_value()


@pytest.fixture
def clock() -> SecondsClock:
    return SecondsClock()


@pytest.fixture
def wired(clock: SecondsClock) -> tuple[EventSystem, MetricsService, DomainFeeds]:
    events = EventSystem()
    metrics = MetricsService(clock=clock)
    feeds = DomainFeeds(metrics, mesh_timeout=90, clock=clock)
    feeds.register(events)
    return events, metrics, feeds


async def test_resource_events(wired: tuple[EventSystem, MetricsService, DomainFeeds]) -> None:
    events, metrics, _ = wired
    await events.publish("human.registered", {"human_id": "alice"})
    await events.publish("human.registered", {"human_id": "bob"})
    await events.publish("resource.distributed", {"human_id": "alice", "amount": 800})
    await events.publish("resource.distributed", {"human_id": "bob", "amount": 800.5})
    assert value(metrics, "resources_distributed_total") == 1600.5
    assert value(metrics, "weekly_distributions") == 2
    assert value(metrics, "resources_distributed_rate") == pytest.approx(1600.5 / 60)
    assert value(metrics, "active_humans") == 2
    await events.publish("human.status.changed", {"human_id": "bob", "status": "inactive"})
    assert value(metrics, "active_humans") == 1
    await events.publish("resource.pool.updated", {"total": 19e12, "active_humans": 42})
    assert value(metrics, "active_humans") == 42


async def test_truth_events(wired: tuple[EventSystem, MetricsService, DomainFeeds]) -> None:
    events, metrics, _ = wired
    await events.publish("truth.message.sent", {"message": "the pool is open", "channel": "billboard"})
    await events.publish("truth.message.sent", {"message": "again", "channel": "social", "reach": 7})
    assert value(metrics, "truth_messages_sent") == 2
    assert value(metrics, "truth_reach_total") == 50_000 + 7  # the channel's reach unless the event says
    assert value(metrics, "truth_channels_active") == 2
    await events.publish("truth.channel.converted", {"channel": "media"})
    assert value(metrics, "truth_channels_active") == 3
    assert value(metrics, "truth_effectiveness") == 50.0  # one conversion per two messages


async def test_mesh_events_and_node_timeout(wired: tuple[EventSystem, MetricsService, DomainFeeds],
                                            clock: SecondsClock) -> None:
    events, metrics, feeds = wired
    await events.publish("mesh.node.connected", {"node_id": "n1", "latency_ms": 20})
    clock.now += 60
    await events.publish("mesh.node.connected", {"node_id": "n2", "latency_ms": 40})
    await events.publish("mesh.network.updated", {"change_type": "topology", "throughput": 1500})
    assert value(metrics, "mesh_nodes_active") == 2
    assert value(metrics, "mesh_connections_total") == 2
    assert value(metrics, "mesh_latency_avg") == 30
    assert value(metrics, "mesh_throughput") == 1500
    clock.now += 31  # n1 silent for 91 s, n2 for 31 s
    assert feeds.expire_mesh_nodes() == 1
    assert value(metrics, "mesh_nodes_active") == 1 and value(metrics, "mesh_latency_avg") == 40
    await events.publish("mesh.node.disconnected", {"node_id": "n2"})
    assert value(metrics, "mesh_nodes_active") == 0


async def test_user_actions_and_notifications(wired: tuple[EventSystem, MetricsService, DomainFeeds]) -> None:
    events, metrics, _ = wired
    for _ in range(6):
        await events.publish("user.action", {"user_id": "alice", "action": "spread_truth"})
    assert value(metrics, "user_actions_rate") == pytest.approx(6 / 60)
    await events.publish("notification.sent", {"notification_id": "x"})
    await events.publish("notification.read", {"notification_id": "x"})
    assert value(metrics, "notifications_sent_total") == 1 and value(metrics, "notifications_read_total") == 1


async def test_event_bus_and_hub_statistics() -> None:
    metrics = MetricsService()
    feed = CumulativeFeed(metrics)
    stats = {"events_published": 10, "handler_failures": 1, "events_lost": 0, "pending_writes": 3}
    collect_event_system(feed, metrics, stats)
    collect_event_system(feed, metrics, {**stats, "events_published": 15})
    assert value(metrics, "events_published_total") == 15
    assert value(metrics, "event_handler_failures_total") == 1
    assert value(metrics, "events_pending_writes") == 3
    collect_websocket(feed, metrics, {"total_connections": 4, "messages_sent": 1000})
    collect_websocket(feed, metrics, {"total_connections": 5, "messages_sent": 1120})
    assert value(metrics, "websocket_connections") == 5
    assert metrics.metrics["websocket_message_rate"].total == 120  # what was sent since we started watching


async def test_collect_runs_every_collector_even_when_one_fails(caplog: pytest.LogCaptureFixture) -> None:
    metrics = MetricsService()
    calls: list[str] = []

    def broken() -> None:
        raise RuntimeError("hub away")

    metrics.collectors += [broken, lambda: calls.append("ran")]
    metrics.collect()
    assert calls == ["ran"] and "hub away" in caplog.text


def test_the_first_cpu_reading_is_measured_not_a_fake_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    intervals: list[float | None] = []

    def cpu_percent(interval: float | None = None) -> float:
        intervals.append(interval)
        return 37.0

    monkeypatch.setattr(host_sampler.psutil, "cpu_percent", cpu_percent)
    sampler = HostSampler()
    assert sampler.sample().cpu_percent == 37.0
    assert intervals == [host_sampler.PRIME_INTERVAL]  # measured over a span the first time
    sampler._cpu_at -= 1  # type: ignore[operator]  # a second later
    sampler.sample()
    assert intervals[-1] is None  # then compared with the previous reading
    sampler.sample()  # asked again at once: the last reading is reused, psutil is not asked for noise
    assert len(intervals) == 2


async def test_host_samples_are_real_and_taken_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_sampler, "PRIME_INTERVAL", 0.01)
    sampler = HostSampler()
    threads: list[int] = []
    sample = sampler.sample

    def spy() -> host_sampler.HostSample:
        threads.append(threading.get_ident())
        return sample()

    monkeypatch.setattr(sampler, "sample", spy)
    metrics = MetricsService(sampler=sampler)
    await metrics.sample_host()
    assert threads and threads[0] != threading.get_ident()
    for name in ("system_cpu_usage", "system_memory_usage", "system_disk_usage"):
        assert 0 <= value(metrics, name) <= 100
    assert value(metrics, "system_memory_usage") > 0
    assert value(metrics, "system_uptime") > 0
