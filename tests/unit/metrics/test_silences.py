"""Alert silences: a silenced rule fires and shows as firing, its announcements carry the silence so no
notification is made, and the silence expires by itself (or is ended early) on every process."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from services.broker import MemoryBroker
from services.events.bus import Event
from services.metrics.alerts import AlertRules
from services.metrics.monitor import AlertMonitor
from services.metrics.silences import SilenceError, Silences
from services.notifications.rules import metric_alert_fired, metric_alert_resolved
from tests.clocks import DateClock, SecondsClock

START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


class World:
    """One rule on cpu, a monitor announcing into `published`, silences on the clocks the test moves."""

    def __init__(self, engine: Engine, broker: MemoryBroker | None = None) -> None:
        self.clock, self.seconds = DateClock(START), SecondsClock()
        self.values: dict[str, float] = {"cpu": 50.0}
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.rules = AlertRules(self.seconds)
        self.rule = self.rules.add("cpu", 90.0, ">", "critical", cooldown_seconds=0)

        async def publish(event_type: str, data: dict[str, Any], _source: str) -> None:
            self.published.append((str(event_type), data))

        self.monitor = AlertMonitor(self.rules, None, publish, None, self.values.get, lambda _: "percent",
                                    lambda *_: None)
        self.silences = Silences(engine, broker, clock=self.clock, monotonic=self.seconds)
        self.monitor.silenced = self.silences.silence_for
        self.monitor.silenced_now = self.silences.silenced_now

    async def swing(self) -> list[tuple[str, dict[str, Any]]]:
        """The value goes over the threshold and back: one fired and one resolved announcement."""
        self.published.clear()
        self.values["cpu"] = 95.0
        await self.monitor.evaluate()
        assert self.rules.firing() == [self.rule], "silenced or not, the rule shows as firing"
        self.values["cpu"] = 50.0
        await self.monitor.evaluate()
        return list(self.published)

    def alerts(self, announcements: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
        return [(kind, data) for kind, data in announcements if kind.startswith("metric.alert")]


async def notifications_for(announcements: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """What the notification rules would send for these announcements."""

    class Service:
        async def send_system_alert(self, title: str, *_: Any, **__: Any) -> str:
            return title

    made: list[str] = []
    for kind, data in announcements:
        rule = metric_alert_fired if kind.endswith("fired") else metric_alert_resolved
        event = Event(id="e-1", type=kind, source="metrics", timestamp=START, data=data)
        made += await rule(Service(), event)  # type: ignore[arg-type]
    return made


async def test_a_silenced_rule_fires_without_a_notification_until_the_silence_expires(engine: Engine) -> None:
    world = World(engine)
    silence = await world.silences.create(rule_id=world.rule.id, duration_seconds=600, reason="maintenance",
                                          created_by="root")
    swung = await world.swing()
    assert "system.health.changed" not in [kind for kind, _ in swung], "a silenced rule leaves the health alone"
    quiet = world.alerts(swung)
    assert [kind for kind, _ in quiet] == ["metric.alert.fired", "metric.alert.resolved"]
    assert all(data["silenced"]["id"] == silence.id for _, data in quiet)
    assert await notifications_for(quiet) == []

    world.clock.advance(minutes=10)  # the silence ends by itself
    world.seconds.now += 10
    loud = world.alerts(await world.swing())
    assert not any("silenced" in data for _, data in loud)
    assert await notifications_for(loud) == ["🚨 Metric Alert: cpu", "✅ Metric Alert Resolved: cpu"]
    assert await world.silences.listing() == []
    [old] = await world.silences.listing(include_ended=True)
    assert old["active"] is False


async def test_a_metric_silence_covers_every_rule_on_it_and_ends_early_on_every_process(engine: Engine) -> None:
    broker = MemoryBroker()
    await broker.start()
    world, other = World(engine, broker), World(engine, broker)
    await world.silences.start()
    await other.silences.start()
    try:
        assert await other.silences.silence_for(other.rule) is None  # read once: cached for a while
        silence = await world.silences.create(metric_name="cpu", duration_seconds=3600, reason="noisy",
                                              created_by="root")
        await asyncio.sleep(0)
        assert (await other.silences.silence_for(other.rule) or {}).get("id") == silence.id, "told at once"
        ended = await world.silences.end(silence.id, "ops")
        assert ended is not None and ended.ended_by == "ops"
        assert await world.silences.end(silence.id, "ops") is None
        await asyncio.sleep(0)
        assert await other.silences.silence_for(other.rule) is None
    finally:
        await world.silences.stop()
        await other.silences.stop()
        await broker.stop()


@pytest.mark.parametrize(("fields", "words"), [
    ({"duration_seconds": 600, "reason": "x"}, "target"),
    ({"rule_id": "r", "metric_name": "m", "duration_seconds": 600, "reason": "x"}, "target"),
    ({"rule_id": "r", "duration_seconds": 10, "reason": "x"}, "duration_seconds"),
    ({"rule_id": "r", "duration_seconds": float("inf"), "reason": "x"}, "duration_seconds"),
    ({"rule_id": "r", "duration_seconds": 600, "reason": "  "}, "reason"),
    ({"rule_id": "r", "duration_seconds": 600, "reason": "x" * 501}, "reason"),
    ({"rule_id": "r r", "duration_seconds": 600, "reason": "x"}, "rule_id"),
])
async def test_a_bad_silence_is_refused_naming_the_field(engine: Engine, fields: dict[str, Any], words: str) -> None:
    with pytest.raises(SilenceError, match=f"^{words}:"):
        await Silences(engine).create(**fields, created_by="root")
