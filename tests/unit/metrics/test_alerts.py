"""Alert rules with an injected clock: `for` duration, cooldown, resolution, published events, derived health."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Engine

from services.metrics.alerts import DEFAULT_RULES, AlertRuleError, derive_health
from services.metrics.host import HostSample
from services.metrics.service import MetricsService
from services.metrics.store import MetricStore
from tests.clocks import SecondsClock


class FakeSampler:
    """Host figures without psutil, so the default host rules never see this machine's load."""

    async def sample_async(self) -> HostSample:
        return HostSample(10.0, 20.0, 30.0, 40.0)


class Published:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, event_type: str, data: dict[str, Any], source: str) -> None:
        assert source == "metrics"
        self.events.append((str(event_type), data))

    def of(self, event_type: str) -> list[dict[str, Any]]:
        return [data for kind, data in self.events if kind == event_type]


@pytest.fixture
def clock() -> SecondsClock:
    return SecondsClock()


@pytest.fixture
def published() -> Published:
    return Published()


@pytest.fixture
async def service(clock: SecondsClock, published: Published) -> AsyncIterator[MetricsService]:
    metrics = MetricsService(publish=published, clock=clock, sampler=FakeSampler())  # type: ignore[arg-type]
    await metrics.start()
    metrics.create_custom_metric("queue_depth", "gauge", "performance", "Jobs waiting", "count")
    yield metrics
    await metrics.stop()


async def test_fires_only_after_the_condition_held_for_its_duration(service: MetricsService, clock: SecondsClock,
                                                                    published: Published) -> None:
    rule_id = service.add_alert_rule(metric_name="queue_depth", threshold=100, condition=">", severity="warning",
                                     for_seconds=60, cooldown_seconds=0)
    service.record_metric("queue_depth", 150)
    assert await service.evaluate_alerts() == []
    assert service.alerts.get(rule_id).state == "pending"  # type: ignore[union-attr]
    clock.now += 59
    assert await service.evaluate_alerts() == []
    clock.now += 1
    fired = await service.evaluate_alerts()
    assert [t.kind for t in fired] == ["fired"]
    assert published.of("metric.alert.fired") == [{"rule_id": rule_id, "metric_name": "queue_depth", "value": 150,
                                                   "threshold": 100.0, "condition": ">", "severity": "warning",
                                                   "unit": "count"}]
    clock.now += 30
    assert await service.evaluate_alerts() == []  # still firing: no second announcement
    assert len(published.of("metric.alert.fired")) == 1


async def test_a_blip_shorter_than_the_duration_never_fires(service: MetricsService, clock: SecondsClock,
                                                            published: Published) -> None:
    service.add_alert_rule(metric_name="queue_depth", threshold=100, for_seconds=60)
    service.record_metric("queue_depth", 150)
    await service.evaluate_alerts()
    clock.now += 30
    service.record_metric("queue_depth", 10)
    await service.evaluate_alerts()
    clock.now += 40
    service.record_metric("queue_depth", 150)
    await service.evaluate_alerts()  # the duration starts again from here
    assert published.of("metric.alert.fired") == []


async def test_resolves_when_the_condition_stops_holding(service: MetricsService, clock: SecondsClock,
                                                         published: Published) -> None:
    rule_id = service.add_alert_rule(metric_name="queue_depth", threshold=100, condition=">=", severity="error")
    service.record_metric("queue_depth", 100)
    await service.evaluate_alerts()
    clock.now += 5
    service.record_metric("queue_depth", 20)
    transitions = await service.evaluate_alerts()
    assert [t.kind for t in transitions] == ["resolved"]
    resolved = published.of("metric.alert.resolved")
    assert resolved == [{"rule_id": rule_id, "metric_name": "queue_depth", "value": 20, "threshold": 100.0,
                         "condition": ">=", "severity": "error", "unit": "count"}]
    assert service.alerts.get(rule_id).state == "ok"  # type: ignore[union-attr]


async def test_cooldown_holds_back_a_second_firing(service: MetricsService, clock: SecondsClock,
                                                   published: Published) -> None:
    service.add_alert_rule(metric_name="queue_depth", threshold=100, cooldown_seconds=300)
    start = clock.now
    fired_at: list[float] = []
    for at, value in ((0, 150), (10, 10), (20, 150), (120, 150), (299, 150), (300, 150), (400, 150)):
        clock.now = start + at
        service.record_metric("queue_depth", value)
        if any(t.kind == "fired" for t in await service.evaluate_alerts()):
            fired_at.append(at)
    # fired at 0, resolved at 10, held again from 20 but may fire again only 300 s after the first firing
    assert fired_at == [0, 300]
    assert len(published.of("metric.alert.resolved")) == 1


@pytest.mark.parametrize(("condition", "value", "holds"), [
    (">", 10, False), (">", 11, True), (">=", 10, True), ("<", 10, False), ("<", 9, True), ("<=", 10, True),
    ("==", 10, True), ("==", 10.5, False), ("!=", 10, False), ("!=", 3, True),
])
async def test_conditions(service: MetricsService, published: Published, condition: str, value: float,
                          holds: bool) -> None:
    service.add_alert_rule(metric_name="queue_depth", threshold=10, condition=condition)
    service.record_metric("queue_depth", value)
    await service.evaluate_alerts()
    assert bool(published.of("metric.alert.fired")) is holds


async def test_several_rules_on_one_metric_and_the_derived_health(service: MetricsService, clock: SecondsClock,
                                                                  published: Published) -> None:
    service.add_alert_rule(metric_name="queue_depth", threshold=100, severity="warning")
    service.add_alert_rule(metric_name="queue_depth", threshold=1000, severity="critical")
    service.record_metric("queue_depth", 500)
    await service.evaluate_alerts()
    assert service.system_health == "degraded"
    service.record_metric("queue_depth", 5000)
    await service.evaluate_alerts()
    assert service.system_health == "critical"
    assert len(published.of("metric.alert.fired")) == 2
    service.record_metric("queue_depth", 1)
    await service.evaluate_alerts()
    assert service.system_health == "healthy"
    assert published.of("system.health.changed") == [
        {"status": "degraded", "previous": "healthy"}, {"status": "critical", "previous": "degraded"},
        {"status": "healthy", "previous": "critical"}]
    assert service.metrics["metric_alerts_firing"].get_latest_value() == 0


async def test_health_checks_count_too(clock: SecondsClock, published: Published) -> None:
    report: dict[str, Any] = {"database": {"status": "ok"}, "broker": {"status": "ok"}}

    async def health() -> dict[str, Any]:
        return report

    service = MetricsService(publish=published, clock=clock, health_report=health,
                             sampler=FakeSampler())  # type: ignore[arg-type]
    await service.evaluate_alerts()
    assert service.system_health == "healthy"
    report["broker"] = {"status": "reconnecting"}
    await service.evaluate_alerts()
    assert service.system_health == "degraded"
    report["database"] = {"status": "error"}
    await service.evaluate_alerts()
    assert service.system_health == "unhealthy"
    assert derive_health([], None) == "healthy"


async def test_deleting_a_firing_rule_resolves_it(service: MetricsService, published: Published) -> None:
    rule_id = service.add_alert_rule(metric_name="queue_depth", threshold=1, severity="critical")
    service.record_metric("queue_depth", 5)
    await service.evaluate_alerts()
    assert await service.delete_alert_rule(rule_id)
    assert published.of("metric.alert.resolved")[0]["rule_id"] == rule_id
    assert service.system_health == "healthy"
    assert not await service.delete_alert_rule(rule_id)


async def test_bad_rules_are_refused(service: MetricsService) -> None:
    with pytest.raises(AlertRuleError, match="condition"):
        service.add_alert_rule(metric_name="queue_depth", threshold=1, condition="=>")
    with pytest.raises(AlertRuleError, match="severity"):
        service.add_alert_rule(metric_name="queue_depth", threshold=1, severity="loud")
    with pytest.raises(AlertRuleError, match="threshold"):
        service.add_alert_rule(metric_name="queue_depth", threshold=float("nan"))
    with pytest.raises(AlertRuleError, match="for_seconds"):
        service.add_alert_rule(metric_name="queue_depth", threshold=1, for_seconds=-1)


async def test_rules_and_their_state_survive_a_restart(engine: Engine, clock: SecondsClock,
                                                       published: Published) -> None:
    first = MetricsService(engine, published, clock=clock, sampler=FakeSampler())  # type: ignore[arg-type]
    await first.start()
    rule = await first.create_alert_rule("system_memory_usage", 50, ">", "critical", 0, 600)
    first.record_metric("system_memory_usage", 80)
    await first.evaluate_alerts()
    await first.stop()
    assert len(published.of("metric.alert.fired")) == 1

    second = MetricsService(engine, published, clock=clock, sampler=FakeSampler())  # type: ignore[arg-type]
    await second.start()
    restored = second.alerts.get(rule.id)
    assert restored is not None and restored.state == "firing" and restored.last_fired_at == clock.now
    second.record_metric("system_memory_usage", 80)
    await second.evaluate_alerts()
    assert len(published.of("metric.alert.fired")) == 1  # already firing before the restart: not announced twice
    assert await second.delete_alert_rule(rule.id)
    await second.stop()
    assert rule.id not in {r.id for r in MetricStore(engine).load_rules()}


def test_the_migration_seeds_the_default_host_rules(engine: Engine) -> None:
    stored = {r.id: r for r in MetricStore(engine).load_rules()}
    assert set(stored) == {rule["id"] for rule in DEFAULT_RULES}
    for rule in DEFAULT_RULES:
        got = stored[rule["id"]]
        assert {k: getattr(got, k) for k in rule} == rule
    assert {r.metric_name for r in stored.values()} == {"system_cpu_usage", "system_memory_usage",
                                                        "system_disk_usage"}


async def test_processes_sharing_the_database_announce_each_transition_once(engine: Engine,
                                                                           clock: SecondsClock) -> None:
    """Two processes on one database: the leading one evaluates, the other follows what it stored."""
    heard = {"leader": Published(), "follower": Published()}
    leader, follower = (MetricsService(engine, heard[n], clock=clock, sampler=FakeSampler())  # type: ignore[arg-type]
                        for n in ("leader", "follower"))
    for process in (leader, follower):
        await process.start()
        process.create_custom_metric("queue_depth", "gauge", "performance", "Jobs waiting", "count")
        process.record_metric("queue_depth", 150)
    try:
        # A rule created through the follower (its REST routes, say) is evaluated by the leader.
        rule = await follower.create_alert_rule("queue_depth", 100, ">", "critical", cooldown_seconds=0)
        for _ in range(3):
            await leader.watch_alerts(leading=True)
            await follower.watch_alerts(leading=False)
            clock.now += 5
        assert len(heard["leader"].of("metric.alert.fired")) == 1
        assert heard["follower"].events == []  # nothing announced twice, health changes included
        assert follower.alerts.get(rule.id).state == "firing"  # type: ignore[union-attr]
        assert follower.system_health == leader.system_health == "critical"

        # Leadership moves: the new leader carries on from the stored state instead of firing again.
        follower.record_metric("queue_depth", 120)
        await follower.watch_alerts(leading=True)
        assert heard["follower"].events == []
        follower.record_metric("queue_depth", 3)
        await follower.watch_alerts(leading=True)
        assert [d["rule_id"] for d in heard["follower"].of("metric.alert.resolved")] == [rule.id]

        # A rule deleted through one process disappears from the other at its next round.
        await follower.delete_alert_rule(rule.id)
        await leader.watch_alerts(leading=False)
        assert leader.alerts.get(rule.id) is None
    finally:
        await leader.stop()
        await follower.stop()


async def test_a_rule_added_here_survives_a_round_that_ran_before_it_was_stored(engine: Engine,
                                                                               clock: SecondsClock) -> None:
    service = MetricsService(engine, Published(), clock=clock, sampler=FakeSampler())  # type: ignore[arg-type]
    await service.start()
    try:
        rule = service.alerts.add("system_cpu_usage", 99)  # in memory; its row is not written yet
        await service.watch_alerts(leading=True)
        assert service.alerts.get(rule.id) is rule
    finally:
        await service.stop()


async def test_a_state_change_does_not_bring_back_a_rule_deleted_by_another_process(
        engine: Engine, clock: SecondsClock) -> None:
    leader = MetricsService(engine, Published(), clock=clock, sampler=FakeSampler())  # type: ignore[arg-type]
    await leader.start()
    try:
        leader.create_custom_metric("queue_depth", "gauge", "performance", "Jobs waiting", "count")
        rule = await leader.create_alert_rule("queue_depth", 100)
        MetricStore(engine).delete_rule(rule.id)  # another process deletes it before this one syncs
        leader.record_metric("queue_depth", 150)
        assert [t.kind for t in await leader.evaluate_alerts()] == ["fired"]  # stores the new state...
        assert rule.id not in {r.id for r in MetricStore(engine).load_rules()}  # ...without re-inserting the rule
        await leader.watch_alerts(leading=True)
        assert leader.alerts.get(rule.id) is None
    finally:
        await leader.stop()
