"""At-least-once reactions: an event's rule reactions survive a crash between the event's commit and theirs, and
running them again never makes a second notification."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from services.events.bus import MAX_REACTION_ATTEMPTS, EventSystem
from services.events.types import Event
from services.models import EventRecord
from services.notifications.models import NotificationRecord
from services.notifications.service import NotificationService
from tests.clocks import DateClock
from tests.unit.notifications.test_service import START, Accounts, Recorder

pytestmark = pytest.mark.reliability
EVENTS = EventRecord.metadata.tables["events"]
NOTIFICATIONS = NotificationRecord.metadata.tables["notifications"]


async def started(engine: Engine, **accounts: str) -> tuple[EventSystem, NotificationService]:
    bus = EventSystem(engine, clock=DateClock(START))
    service = NotificationService(engine, Accounts(alice="user", bob="user", carol="user", **accounts), bus,
                                  Recorder(), clock=DateClock(START))  # type: ignore[arg-type]
    await bus.start()
    await service.start()
    return bus, service


async def stopped(bus: EventSystem, service: NotificationService) -> None:
    await service.stop()
    await bus.stop()


@pytest.fixture
async def world(engine: Engine) -> AsyncIterator[tuple[EventSystem, NotificationService]]:
    bus, service = await started(engine)
    yield bus, service
    await stopped(bus, service)


def marked(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(EVENTS.c.id).where(EVENTS.c.reactions_pending.is_(True))))


def caused_by(engine: Engine, event_id: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(NOTIFICATIONS.c.user_id, NOTIFICATIONS.c.role).where(NOTIFICATIONS.c.correlation_id == event_id))]


def crash_after_the_event_commit(engine: Engine, event: Event) -> None:
    """What a kill -9 leaves: the event stored and still marked, the notifications its rules queued never stored."""
    with engine.begin() as connection:
        connection.execute(NOTIFICATIONS.delete().where(NOTIFICATIONS.c.correlation_id == event.id))
        connection.execute(update(EVENTS).where(EVENTS.c.id == event.id).values(reactions_pending=True))


async def test_an_event_with_rules_is_stored_marked_and_unmarked_once_its_notifications_are(
        world: tuple[EventSystem, NotificationService], engine: Engine) -> None:
    bus, _ = world
    plain = await bus.publish("mesh.node.connected", {"node_id": "n1"}, durable=True)
    ruled = await bus.publish("resource.distributed", {"human_id": "alice", "amount": 800}, durable=True)
    assert marked(engine) == [ruled.id] and plain.id not in marked(engine)
    assert bus._settler is not None
    await bus._settler.settle()
    assert marked(engine) == []
    assert len(caused_by(engine, ruled.id)) == 1


async def test_after_a_crash_the_reactions_run_again_exactly_once(engine: Engine) -> None:
    bus, service = await started(engine)
    event = await bus.publish("resource.distributed", {"human_id": "alice", "amount": 800}, durable=True)
    await stopped(bus, service)
    crash_after_the_event_commit(engine, event)
    assert caused_by(engine, event.id) == []

    bus, service = await started(engine)  # the restart
    try:
        assert await bus.replay_pending(older_than=0) == 1
        assert caused_by(engine, event.id) == [("alice", None)]
        assert marked(engine) == []
        assert await bus.replay_pending(older_than=0) == 0  # settled: nothing left to run
    finally:
        await stopped(bus, service)


async def test_a_replay_completes_a_half_done_fan_out_without_repeating_any_of_it(engine: Engine) -> None:
    bus, service = await started(engine)
    event = await bus.publish("community.created", {"community_id": "c", "name": "Riverside",
                                                    "members": ["alice", "bob", "carol"]}, durable=True)
    await stopped(bus, service)
    with engine.begin() as connection:  # the crash came after alice's notification was stored, before the others
        connection.execute(NOTIFICATIONS.delete().where(NOTIFICATIONS.c.correlation_id == event.id,
                                                        NOTIFICATIONS.c.user_id != "alice"))
        connection.execute(update(EVENTS).where(EVENTS.c.id == event.id).values(reactions_pending=True))

    bus, service = await started(engine)
    try:
        await bus.replay_pending(older_than=0)
        assert sorted(caused_by(engine, event.id)) == [("alice", None), ("bob", None), ("carol", None)]
        assert (await service.get_notification_stats())["replay_skipped"] == 1
    finally:
        await stopped(bus, service)


async def test_young_marks_are_left_to_the_process_still_settling_them(
        world: tuple[EventSystem, NotificationService], engine: Engine) -> None:
    bus, _ = world
    event = await bus.publish("resource.distributed", {"human_id": "bob", "amount": 5}, durable=True)
    crash_after_the_event_commit(engine, event)
    assert await bus.replay_pending(older_than=60) == 0  # it may be in flight somewhere
    assert await bus.replay_pending(older_than=0) == 1


async def test_an_event_whose_reliable_handler_keeps_failing_is_given_up(engine: Engine) -> None:
    bus = EventSystem(engine, clock=DateClock(START))
    calls: list[str] = []

    async def broken(event: Event) -> None:
        calls.append(event.id)
        raise RuntimeError("always")

    bus.register_handler("mesh.node.connected", broken, reliable=True)
    await bus.start()
    try:
        event = await bus.publish("mesh.node.connected", {"node_id": "n"}, durable=True)
        with engine.begin() as connection:  # as if it never settled
            connection.execute(update(EVENTS).where(EVENTS.c.id == event.id).values(reactions_pending=True))
        for _ in range(MAX_REACTION_ATTEMPTS + 3):
            with engine.begin() as connection:
                connection.execute(update(EVENTS).where(EVENTS.c.id == event.id).values(reactions_pending=True))
            await bus.replay_pending(older_than=0)
        assert len(calls) == 1 + MAX_REACTION_ATTEMPTS
        with engine.connect() as connection:
            attempts = connection.scalar(select(func.max(EVENTS.c.reaction_attempts)))
        assert attempts == MAX_REACTION_ATTEMPTS
    finally:
        await bus.stop()


async def test_replay_takes_events_older_than_asked(world: tuple[EventSystem, NotificationService],
                                                    engine: Engine) -> None:
    bus, _ = world
    event = await bus.publish("resource.distributed", {"human_id": "carol", "amount": 1}, durable=True)
    crash_after_the_event_commit(engine, event)
    with engine.begin() as connection:
        connection.execute(update(EVENTS).where(EVENTS.c.id == event.id)
                           .values(timestamp=START - timedelta(minutes=5)))
    assert await bus.replay_pending(older_than=60) == 1
