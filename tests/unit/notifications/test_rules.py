"""Every event → notification rule, through a real event bus: who is notified, with which words, level and channel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine

from services.events import reactions
from services.events.bus import Event, EventSystem
from services.notifications.rules import MAX_MEMBERS, RULES
from services.notifications.service import NotificationService
from tests.clocks import DateClock
from tests.unit.notifications.test_service import START, Accounts, Recorder


@dataclass
class World:
    """A started service on a real event bus, with what it delivered and what was published."""

    engine: Engine
    bus: EventSystem = field(default_factory=EventSystem)
    delivery: Recorder = field(default_factory=Recorder)
    accounts: Accounts = field(default_factory=lambda: Accounts(alice="user", bob="user", root="admin", ops="admin"))
    published: list[Event] = field(default_factory=list)
    service: NotificationService = field(init=False)

    def __post_init__(self) -> None:
        self.service = NotificationService(self.engine, self.accounts, self.bus, self.delivery,  # type: ignore[arg-type]
                                           clock=DateClock(START))

        async def record(event: Event) -> None:
            self.published.append(event)

        self.bus.register_handler("*", record)


@pytest.fixture
async def world(engine: Engine) -> AsyncIterator[World]:
    created = World(engine)
    await created.service.start()
    yield created
    await created.service.stop()


async def inbox(world: World, user: str) -> list[dict[str, Any]]:
    return await world.service.get_user_notifications(user)


async def test_resource_distributed_tells_the_human_in_money(world: World) -> None:
    event = await world.bus.publish("resource.distributed", {"human_id": "alice", "amount": 800, "note": "x" * 10_000})
    [mine] = await inbox(world, "alice")
    assert mine["type"] == "resource_distribution"
    assert mine["message"] == "You received $800.00 from the Liberation System"
    assert mine["correlation_id"] == event.id
    assert mine["data"] == {"human_id": "alice", "amount": 800}, "only the fields that matter are copied"
    assert [d["id"] for d in world.delivery.on("user:alice", "notification")] == [mine["id"]]


async def test_an_amount_of_zero_still_notifies(world: World) -> None:
    await world.bus.publish("resource.distributed", {"human_id": "bob", "amount": 0})
    assert [n["message"] for n in await inbox(world, "bob")] == ["You received $0.00 from the Liberation System"]


async def test_human_registered_welcomes_the_human(world: World) -> None:
    event = await world.bus.publish("human.registered", {"human_id": "carol"})
    [welcome] = await inbox(world, "carol")
    assert (welcome["type"], welcome["title"], welcome["correlation_id"]) == (
        "welcome", "🎉 Welcome to Liberation System", event.id)
    assert [a["action"] for a in welcome["actions"]] == ["onboarding", "learn_more"]


async def test_truth_message_alerts_admins_on_the_truth_channel(world: World) -> None:
    short = await world.bus.publish("truth.message.sent", {"message": "the pool is open", "channel": "billboard"})
    await world.bus.publish("truth.message.sent", {"message": "w" * 150})
    newest, first = await inbox(world, "root")
    assert (first["title"], first["message"]) == ("🌐 Truth Network Update", "New truth spreading: the pool is open")
    assert first["correlation_id"] == short.id and first["priority"] == 1 and first["channel"] == "truth"
    assert newest["message"] == "New truth spreading: " + "w" * 100 + "..."
    assert [a["title"] for a in world.delivery.on("truth", "system_alert")] == ["🌐 Truth Network Update"] * 2
    assert await inbox(world, "alice") == []


async def test_mesh_changes_alert_on_the_mesh_channel(world: World) -> None:
    await world.bus.publish("mesh.network.updated", {"change_type": "partition healed"})
    await world.bus.publish("mesh.node.disconnected", {"node_id": "node-7"})
    gone, updated = await inbox(world, "ops")
    assert (updated["title"], updated["message"], updated["priority"]) == (
        "🔗 Mesh Network Update", "Network change: partition healed", 1)
    assert (gone["title"], gone["message"], gone["priority"]) == (
        "🔗 Mesh Node Disconnected", "Node node-7 disconnected from the mesh", 2)
    assert [a["alert_level"] for a in world.delivery.on("mesh", "system_alert")] == ["info", "warning"]


@pytest.mark.parametrize(("status", "level", "priority"), [("unhealthy", "warning", 2), ("critical", "critical", 4)])
async def test_bad_health_alerts_with_the_matching_level(world: World, status: str, level: str, priority: int) -> None:
    event = await world.bus.publish("system.health.changed", {"status": status, "reason": "database unreachable"})
    [alert] = await inbox(world, "root")
    assert alert["title"] == "⚠️ System Health Alert"
    assert alert["message"] == f"System health is {status}: database unreachable"
    assert (alert["priority"], alert["data"]["alert_level"], alert["correlation_id"]) == (priority, level, event.id)
    assert [a["alert_level"] for a in world.delivery.on("system", "system_alert")] == [level]


@pytest.mark.parametrize("status", ["healthy", "degraded"])
async def test_good_or_degraded_health_is_quiet(world: World, status: str) -> None:
    await world.bus.publish("system.health.changed", {"status": status})
    assert await inbox(world, "root") == []


async def test_housing_allocated_tells_the_human(world: World) -> None:
    event = await world.bus.publish("housing.allocated", {"human_id": "alice", "amount": 104000, "housing_id": "h-1"})
    await world.bus.publish("housing.allocated", {"human_id": "bob"})
    [alice] = await inbox(world, "alice")
    assert (alice["type"], alice["title"], alice["correlation_id"]) == ("success", "🏠 Housing Allocated", event.id)
    assert alice["message"] == "A housing credit of $104,000.00 has been allocated to you."
    assert [n["message"] for n in await inbox(world, "bob")] == ["Your housing has been allocated."]


async def test_community_created_tells_each_member_with_an_account_once(world: World) -> None:
    world.accounts.roles["carol"] = "user"
    with reactions() as caused:
        event = await world.bus.publish("community.created", {
            "community_id": "c-9", "name": "Riverside", "members": ["alice", "bob", "alice", "ghost"],
            "created_by": "carol"})
    for member in ("alice", "bob", "carol"):
        [note] = await inbox(world, member)
        assert note["message"] == "You are a member of the new community Riverside."
        assert note["correlation_id"] == event.id
    assert await inbox(world, "root") == []
    assert await inbox(world, "ghost") == []  # no account: no row waiting for one
    assert caused["community_members"] == {"named": 4, "notified": 3, "skipped_unknown": 1, "capped": False,
                                           "cap": MAX_MEMBERS}


async def test_a_community_fan_out_is_capped_and_says_so(world: World) -> None:
    for i in range(MAX_MEMBERS + 5):
        world.accounts.roles[f"m{i}"] = "user"
    with reactions() as caused:
        await world.bus.publish("community.created", {"community_id": "c-10", "name": "Big",
                                                      "members": [f"m{i}" for i in range(MAX_MEMBERS + 5)]})
    assert caused["community_members"]["notified"] == MAX_MEMBERS
    assert caused["community_members"]["capped"] is True
    assert await inbox(world, f"m{MAX_MEMBERS + 4}") == []


async def test_metric_alert_fired_and_resolved(world: World) -> None:
    data = {"rule_id": "r1", "metric_name": "system_cpu_usage", "value": 91.5, "threshold": 90,
            "condition": "gt", "severity": "critical", "unit": "percent"}
    fired = await world.bus.publish("metric.alert.fired", data)
    await world.bus.publish("metric.alert.resolved", {**data, "value": 42.0})
    await world.bus.publish("metric.alert.fired", {**data, "severity": "bogus", "unit": ""})
    odd, resolved, alert = await inbox(world, "root")
    assert (alert["title"], alert["message"]) == (
        "🚨 Metric Alert: system_cpu_usage", "Metric system_cpu_usage is 91.5 percent (threshold: 90)")
    assert alert["priority"] == 4 and alert["correlation_id"] == fired.id and alert["data"]["rule_id"] == "r1"
    assert resolved["priority"] == 1
    assert resolved["message"] == "Metric system_cpu_usage is back to 42 percent (threshold: 90)"
    assert odd["data"]["alert_level"] == "warning" and odd["message"].endswith("is 91.5 (threshold: 90)")
    assert [a["alert_level"] for a in world.delivery.on("system", "system_alert")] == ["critical", "info", "warning"]


async def test_the_notification_sent_event_is_chained_to_its_cause(world: World) -> None:
    cause = await world.bus.publish("resource.distributed", {"human_id": "alice", "amount": 1})
    [sent] = [e for e in world.published if e.type == "notification.sent"]
    assert sent.correlation_id == cause.id and sent.causation_id == cause.id
    assert sent.data["target"] == "user:alice"


async def test_the_registry_covers_every_promised_event_once(world: World) -> None:
    assert {str(rule.event_type) for rule in RULES} >= {
        "resource.distributed", "human.registered", "truth.message.sent", "mesh.node.disconnected",
        "mesh.network.updated", "system.health.changed", "housing.allocated", "community.created",
        "metric.alert.fired", "metric.alert.resolved"}
    assert len({rule.event_type for rule in RULES}) == len(RULES)


async def test_stopping_the_service_unregisters_its_rules(world: World) -> None:
    await world.service.stop()
    await world.bus.publish("human.registered", {"human_id": "dave"})
    assert await inbox(world, "dave") == []
    assert world.bus.get_metrics()["handlers"] == 1, "only the test's own recorder is left"


async def test_a_bad_event_for_a_rule_is_logged_not_raised(world: World, caplog: pytest.LogCaptureFixture) -> None:
    await world.bus.publish("resource.distributed", {"human_id": "h" * 100, "amount": 5})  # longer than a username
    assert "notification_rule[resource distributed" in caplog.text
    assert world.bus.get_metrics()["handler_failures"] == 1
