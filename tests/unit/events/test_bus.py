"""The event bus: validation, middleware, handlers, chaining, live broadcast and metrics."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from services.broker import create_broker
from services.events.bus import (
    LIVE_CHANNEL,
    Event,
    EventHandler,
    EventRejected,
    EventSystem,
    EventType,
    EventValidationError,
    channel_for,
)

PAYMENT = {"human_id": "alice", "amount": 800}


async def test_type_handlers_run_before_wildcard_handlers_in_registration_order() -> None:
    bus = EventSystem()
    seen: list[tuple[str, str]] = []

    async def first(event: Event) -> None:
        seen.append(("first", event.type))

    async def second(event: Event) -> None:
        seen.append(("second", event.type))

    async def anything(event: Event) -> None:
        seen.append(("any", event.type))

    bus.register_handler("*", anything)
    bus.register_handler(EventType.RESOURCE_DISTRIBUTED, first)
    bus.register_handler("resource.distributed", second)

    await bus.publish("resource.distributed", PAYMENT)
    await bus.publish(EventType.MESH_NODE_CONNECTED, {"node_id": "n1"})

    assert seen == [
        ("first", "resource.distributed"),
        ("second", "resource.distributed"),
        ("any", "resource.distributed"),
        ("any", "mesh.node.connected"),
    ]


async def test_unregistered_handler_no_longer_runs() -> None:
    bus = EventSystem()
    calls: list[str] = []

    async def handler(event: Event) -> None:
        calls.append(event.id)

    bus.register_handler("custom.ping", handler)
    await bus.publish("custom.ping")
    assert bus.unregister_handler("custom.ping", handler) is True
    assert bus.unregister_handler("custom.ping", handler) is False
    await bus.publish("custom.ping")

    assert len(calls) == 1
    assert bus.get_metrics()["handlers"] == 0


async def test_registering_the_same_handler_twice_for_a_type_is_refused() -> None:
    bus = EventSystem()

    async def handler(event: Event) -> None:
        pass

    bus.register_handler("custom.ping", handler)
    with pytest.raises(ValueError, match="already registered"):
        bus.register_handler("custom.ping", handler)
    bus.register_handler("custom.pong", handler)  # another type is fine
    with pytest.raises(ValueError, match="event_type"):
        bus.register_handler("Not A Type", handler)
    assert bus.get_metrics()["handlers"] == 2


async def test_event_handler_subclass_receives_events_and_can_be_unregistered() -> None:
    class Ledger(EventHandler):
        def __init__(self) -> None:
            self.amounts: list[float] = []

        async def handle(self, event: Event) -> None:
            self.amounts.append(event.data["amount"])

    bus = EventSystem()
    ledger = Ledger()
    bus.register_handler(EventType.RESOURCE_DISTRIBUTED, ledger)
    await bus.publish(EventType.RESOURCE_DISTRIBUTED, PAYMENT)
    assert bus.unregister_handler(EventType.RESOURCE_DISTRIBUTED, ledger)
    await bus.publish(EventType.RESOURCE_DISTRIBUTED, {"human_id": "bob", "amount": 5})

    assert ledger.amounts == [800]
    assert ledger.name == "Ledger"


async def test_middleware_enriches_and_changes_events_in_order(sqlite_engine: Engine) -> None:
    bus = EventSystem(sqlite_engine)
    await bus.start()
    handled: list[Event] = []

    def enrich(event: Event) -> Event:
        event.data = {**event.data, "region": "eu"}
        return event

    async def relabel(event: Event) -> Event:
        assert event.data["region"] == "eu"  # runs after `enrich`
        event.source = "relabelled"
        return event

    async def handler(event: Event) -> None:
        handled.append(event)

    bus.register_middleware(enrich)
    bus.register_middleware(relabel)
    bus.register_handler("*", handler)
    published = await bus.publish("resource.distributed", PAYMENT, source="api")
    stored = await bus.get_event_history()
    await bus.stop()

    assert published.source == "relabelled" and published.data["region"] == "eu"
    assert handled == [published]
    assert stored == [published]
    assert bus.unregister_middleware(enrich) and not bus.unregister_middleware(enrich)
    assert bus.get_metrics()["middleware"] == 1


async def test_a_vetoed_event_is_not_stored_handled_or_broadcast(sqlite_engine: Engine) -> None:
    broker = FakeBroker()
    bus = EventSystem(sqlite_engine, broker)
    await bus.start()
    handled: list[Event] = []

    async def handler(event: Event) -> None:
        handled.append(event)

    def no_spam(event: Event) -> Event | None:
        return None if event.source == "spammer" else event

    bus.register_middleware(no_spam)
    bus.register_handler("*", handler)
    with pytest.raises(EventRejected) as rejected:
        await bus.publish("custom.note", {"text": "buy now"}, source="spammer")
    kept = await bus.publish("custom.note", {"text": "hello"})

    assert "no_spam" in rejected.value.reason
    assert handled == [kept]
    assert [message["id"] for _, message in broker.published] == [kept.id]
    assert await bus.count_event_history() == 1
    assert bus.get_metrics()["events_rejected"] == 1
    assert bus.get_metrics()["events_published"] == 1
    await bus.stop()


async def test_a_failing_handler_is_logged_counted_and_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventSystem()
    ran: list[str] = []

    async def broken(event: Event) -> None:
        raise RuntimeError("boom")

    async def healthy(event: Event) -> None:
        ran.append(event.id)

    bus.register_handler("custom.job", broken)
    bus.register_handler("*", healthy)
    with caplog.at_level(logging.WARNING, logger="services.events.bus"):
        event = await bus.publish("custom.job")

    assert ran == [event.id]
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert event.id in warnings[0].getMessage() and "broken" in warnings[0].getMessage()
    metrics = bus.get_metrics()
    assert metrics["handler_failures"] == 1
    assert metrics["events_handled"] == 1


@pytest.mark.parametrize(
    ("event_type", "data", "field", "reason"),
    [
        ("resource.distributed", {"amount": 800}, "data.human_id", "required"),
        ("resource.distributed", {"human_id": "alice", "amount": -1}, "data.amount", "greater than or equal to 0"),
        ("resource.distributed", {"human_id": "alice", "amount": "800"}, "data.amount", "valid number"),
        ("system.health.changed", {"status": "fine"}, "data.status", "'healthy'"),
        ("custom.thing", ["not", "a", "dict"], "data", "JSON object"),
        ("custom.thing", {"when": datetime.now(UTC)}, "data", "JSON-serialisable"),
        ("custom.thing", {"blob": "x" * 70_000}, "data", "65536-byte limit"),
        ("Resource Distributed", {}, "event_type", "dotted lowercase"),
        ("a." + "b" * 100, {}, "event_type", "longer than 100"),
    ],
)
async def test_invalid_events_are_refused_with_the_field_and_the_reason(
    event_type: str, data: Any, field: str, reason: str
) -> None:
    bus = EventSystem()
    with pytest.raises(EventValidationError) as error:
        await bus.publish(event_type, data)
    assert error.value.field == field
    assert reason in str(error.value)
    assert bus.get_metrics()["validation_errors"] == 1
    assert bus.get_metrics()["events_published"] == 0


async def test_custom_types_and_extra_fields_are_accepted() -> None:
    bus = EventSystem()
    custom = await bus.publish("garden.plant_watered", {"litres": 2}, source="sensor-7")
    known = await bus.publish("resource.distributed", {**PAYMENT, "memo": "weekly flow"})
    assert custom.type == "garden.plant_watered"
    assert known.data["memo"] == "weekly flow"


async def test_events_published_from_a_handler_are_chained_to_the_event_being_handled() -> None:
    bus = EventSystem()
    children: list[Event] = []

    async def notify(event: Event) -> None:
        children.append(await bus.publish(EventType.NOTIFICATION_SENT, {"to": event.data["human_id"]}))

    bus.register_handler(EventType.RESOURCE_DISTRIBUTED, notify)
    root = await bus.publish(EventType.RESOURCE_DISTRIBUTED, PAYMENT)
    traced = await bus.publish(EventType.RESOURCE_DISTRIBUTED, PAYMENT, correlation_id="trace-42")
    after = await bus.publish(EventType.NOTIFICATION_SENT, {})

    assert root.correlation_id == root.id and root.causation_id is None
    assert (children[0].causation_id, children[0].correlation_id) == (root.id, root.id)
    assert (children[1].causation_id, children[1].correlation_id) == (traced.id, "trace-42")
    assert after.causation_id is None and after.correlation_id == after.id  # outside any handler


async def test_every_published_event_is_broadcast_on_the_live_channel() -> None:
    broker = create_broker("memory://")
    await broker.start()
    received: list[tuple[str, dict[str, Any]]] = []
    broker.add_listener(LIVE_CHANNEL, lambda channel, message: received.append((channel, message)))
    bus = EventSystem(broker=broker)

    event = await bus.publish("resource.distributed", PAYMENT, source="api", user_id="admin")
    await broker.stop()

    assert received == [("#events", event.to_dict())]  # not a name a hub client or broadcast can use
    message = received[0][1]
    assert message["timestamp"].endswith("+00:00")
    assert message["data"] == PAYMENT and message["user_id"] == "admin"
    assert Event.from_dict(message) == event


async def test_a_live_channel_can_be_chosen() -> None:
    broker = FakeBroker()
    bus = EventSystem(broker=broker, live_channel="feed")
    await bus.publish("custom.ping")
    assert [channel for channel, _ in broker.published] == ["feed"]


async def test_metrics_count_what_happened_without_a_database() -> None:
    bus = EventSystem()

    async def handler(event: Event) -> None:
        pass

    bus.register_handler("*", handler)
    for _ in range(3):
        await bus.publish("resource.distributed", PAYMENT)
    await bus.publish("mesh.node.connected", {"node_id": "n1"})

    metrics = bus.get_metrics()
    assert metrics["events_published"] == 4
    assert metrics["events_handled"] == 4
    assert metrics["by_type"] == {"resource.distributed": 3, "mesh.node.connected": 1}
    assert metrics["handlers"] == 1 and metrics["middleware"] == 0
    assert metrics["history_size"] == 0 and metrics["pending_writes"] == 0 and metrics["events_lost"] == 0
    assert await bus.get_event_history() == [] and await bus.count_event_history() == 0


def test_events_round_trip_through_dicts_and_records() -> None:
    event = Event.create(EventType.HUMAN_REGISTERED, {"human_id": "alice"}, source="registry", user_id="admin")
    assert event.correlation_id == event.id and event.timestamp.tzinfo is not None
    assert Event.from_dict(event.to_dict()) == event
    assert Event.from_record(event.to_record()) == event
    assert event.to_record().data == '{"human_id":"alice"}'


def test_event_types_map_to_live_channels() -> None:
    assert channel_for("resource.pool.updated") == "resources"
    assert channel_for("human.registered") == "humans"
    assert channel_for("truth.message.sent") == "truth"
    assert channel_for("mesh.node.connected") == "mesh"
    assert channel_for("community.created") == channel_for("housing.allocated") == "communities"
    assert channel_for("system.health.changed") == "system"
    assert channel_for("user.action") == "users"
    assert channel_for("notification.read") == "notifications"
    assert channel_for("metric.alert.fired") == "metrics"
    assert channel_for("garden.plant_watered") == "events"


def test_the_original_event_type_values_are_kept() -> None:
    original = {
        "resource.distributed", "resource.pool.updated", "human.registered", "human.status.changed",
        "truth.message.sent", "truth.channel.converted", "mesh.node.connected", "mesh.node.disconnected",
        "mesh.network.updated", "community.created", "housing.allocated", "system.health.changed",
        "system.metrics.updated", "user.connected", "user.disconnected",
    }  # fmt: skip
    assert original <= {member.value for member in EventType}
    assert len(EventType) == 22


async def test_publishing_blocks_instead_of_growing_memory_when_the_writer_lags(sqlite_engine: Engine) -> None:
    bus = EventSystem(sqlite_engine, queue_size=8, batch_size=4)
    await bus.start()
    peak = 0
    for n in range(200):
        await bus.publish("custom.tick", {"n": n})
        peak = max(peak, bus.get_metrics()["pending_writes"])
    await bus.stop()
    assert peak <= 8
    assert await bus.count_event_history() == 200


async def test_a_batch_that_cannot_be_written_is_retried_then_counted_lost(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("services.batch_writer.RETRY_DELAY", 0.001)
    bus = EventSystem(sqlite_engine)
    await bus.start()
    with sqlite_engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE events RENAME TO events_away")
    with caplog.at_level(logging.WARNING, logger="services.batch_writer"):
        with pytest.raises(Exception, match="no such table"):
            await bus.publish("custom.tick", durable=True)
        await bus.publish("custom.tick")  # not durable: the loss is only logged and counted
        await bus.flush()
    await bus.stop()

    assert bus.get_metrics()["events_lost"] == 2
    assert any("attempt 1 of 4" in record.getMessage() for record in caplog.records)
    assert any("lost" in record.getMessage() for record in caplog.records)


class FakeBroker:
    """Records what would be broadcast."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        self.published.append((channel, message))
        await asyncio.sleep(0)
