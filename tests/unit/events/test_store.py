"""Event history on SQLite and PostgreSQL: durability, filters, paging, restart, pruning."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from services.events.bus import Event, EventSystem, EventType
from services.models import EventRecord
from tests.clocks import DateClock

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> DateClock:
    return DateClock(START)


@pytest.fixture
async def bus(engine: Engine, clock: DateClock) -> AsyncIterator[EventSystem]:
    system = EventSystem(engine, clock=clock)
    await system.start()
    yield system
    await system.stop()


def stored_rows(engine: Engine) -> int:
    """Rows in the events table, read on a connection of its own."""
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(EventRecord)).scalar_one())


async def test_a_durable_publish_is_committed_when_it_returns(engine: Engine) -> None:
    bus = EventSystem(engine, flush_interval=10)  # a background flush would not come in time
    await bus.start()
    event = await bus.publish("resource.distributed", {"human_id": "alice", "amount": 800}, durable=True)
    assert stored_rows(engine) == 1
    assert await bus.get_event_history() == [event]
    await bus.stop()


async def test_stop_writes_everything_still_pending(engine: Engine) -> None:
    bus = EventSystem(engine, flush_interval=10)
    await bus.start()
    for n in range(250):
        await bus.publish("custom.tick", {"n": n})
    await bus.stop()
    await bus.stop()  # idempotent
    assert stored_rows(engine) == 250
    assert bus.get_metrics()["history_size"] == 250


async def test_history_filters_combine(bus: EventSystem, clock: DateClock) -> None:
    paid = await bus.publish("resource.distributed", {"human_id": "alice", "amount": 800}, source="scheduler")
    clock.advance(seconds=1)
    pool = await bus.publish("resource.pool.updated", {"available": 5}, source="api", correlation_id="batch-1")
    clock.advance(seconds=1)
    node = await bus.publish("mesh.node.connected", {"node_id": "n1"}, source="api", correlation_id="batch-1")

    assert await bus.get_event_history(event_type="resource.distributed") == [paid]
    assert await bus.get_event_history(event_type=EventType.RESOURCE_DISTRIBUTED) == [paid]
    assert await bus.get_event_history(event_type="resource.*") == [pool, paid]
    assert await bus.get_event_history(source="api") == [node, pool]
    assert await bus.get_event_history(correlation_id="batch-1", source="api", event_type="mesh.node.connected") == [
        node
    ]
    assert await bus.get_event_history(event_type="human.registered") == []


async def test_history_time_range_includes_since_and_excludes_until(bus: EventSystem, clock: DateClock) -> None:
    events = []
    for minute in range(5):
        events.append(await bus.publish("custom.tick", {"minute": minute}))
        clock.advance(minutes=1)

    window = await bus.get_event_history(since=START + timedelta(minutes=1), until=START + timedelta(minutes=3))
    assert window == [events[2], events[1]]
    assert await bus.get_event_history(since=START + timedelta(minutes=4)) == [events[4]]
    # a non-UTC bound means the same instant
    plus_two = START.astimezone(datetime.now().astimezone().tzinfo) + timedelta(minutes=3)
    assert await bus.count_event_history(until=plus_two) == 3
    assert events[0].timestamp == START


async def test_history_free_text_is_case_insensitive_and_literal(bus: EventSystem) -> None:
    truth = await bus.publish("truth.message.sent", {"message": "Free Housing for ALL", "reach": 100})
    percent = await bus.publish("custom.note", {"text": "100% done"})
    await bus.publish("custom.note", {"text": "1000 done"})

    assert await bus.get_event_history(text="housing for all") == [truth]
    assert await bus.get_event_history(text="100%") == [percent]
    assert await bus.get_event_history(text="10_") == []  # "_" is not a wildcard
    assert await bus.count_event_history(text="done") == 2


async def test_history_is_newest_first_and_pages(bus: EventSystem, clock: DateClock) -> None:
    published = []
    for n in range(7):
        published.append(await bus.publish("custom.tick", {"n": n}))
        clock.advance(seconds=1)
    newest_first = published[::-1]

    assert await bus.get_event_history(limit=3) == newest_first[:3]
    assert await bus.get_event_history(limit=3, offset=3) == newest_first[3:6]
    assert await bus.get_event_history(limit=3, offset=6) == newest_first[6:]
    assert await bus.count_event_history() == 7
    assert await bus.count_event_history(event_type="custom.tick", since=START + timedelta(seconds=5)) == 2


async def test_history_survives_a_restart(engine: Engine) -> None:
    first = EventSystem(engine)
    await first.start()
    event = await first.publish("human.registered", {"human_id": "alice"})
    await first.stop()

    second = EventSystem(engine)
    await second.start()
    assert second.get_metrics()["history_size"] == 1
    found = await second.get_event_history()
    await second.stop()
    assert found == [event]
    assert isinstance(found[0], Event) and found[0].timestamp.tzinfo is not None


async def test_prune_removes_only_old_events_and_updates_the_size(bus: EventSystem, clock: DateClock) -> None:
    for _ in range(3):
        await bus.publish("custom.tick")
    clock.advance(days=31)
    recent = await bus.publish("custom.tick")
    await bus.flush()
    assert bus.get_metrics()["history_size"] == 4  # counts committed rows

    removed = await bus.prune_history(older_than=clock.now - timedelta(days=30))

    assert removed == 3
    assert await bus.get_event_history() == [recent]
    assert bus.get_metrics()["history_size"] == 1


async def test_metrics_track_persistence(bus: EventSystem) -> None:
    for _ in range(5):
        await bus.publish("custom.tick")
    await bus.flush()
    metrics = bus.get_metrics()
    assert metrics["events_published"] == 5
    assert metrics["events_persisted"] == 5
    assert metrics["history_size"] == 5
    assert metrics["pending_writes"] == 0
    assert metrics["events_lost"] == 0


async def test_events_published_outside_start_and_stop_are_still_stored(engine: Engine) -> None:
    bus = EventSystem(engine)
    early = await bus.publish("custom.tick", {"when": "before start"})
    await bus.start()
    await bus.stop()
    late = await bus.publish("custom.tick", {"when": "after stop"}, durable=True)
    assert {event.id for event in await bus.get_event_history()} == {early.id, late.id}


async def test_a_bad_row_loses_only_itself_not_its_batch(engine: Engine) -> None:
    bus = EventSystem(engine, flush_interval=10)
    await bus.start()

    def reuse_id(event: Event) -> Event:
        if event.data.get("clone"):
            event.id = "00000000-0000-7000-8000-000000000001"
        return event

    bus.register_middleware(reuse_id)
    for n in range(3):  # one batch: the second clone violates the primary key
        await bus.publish("custom.tick", {"n": n, "clone": n > 0})
    await bus.flush()
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await bus.publish("custom.tick", {"clone": True}, durable=True)
    await bus.stop()

    assert stored_rows(engine) == 2
    assert bus.get_metrics()["events_lost"] == 2
    assert bus.get_metrics()["history_size"] == 2
