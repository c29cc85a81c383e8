"""Preferences applied by the service: held personal notifications, the bell count, shared channels decided per
person, the quiet-hours summary once across two processes, and a change reaching every process's cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from services.broker import MemoryBroker
from services.events.bus import EventSystem
from services.notifications.preference_book import PreferenceBook
from services.notifications.service import NotificationService
from tests.clocks import DateClock
from tests.unit.notifications.test_service import Accounts, Recorder

EVENING = datetime(2026, 1, 15, 21, 0, tzinfo=UTC)
QUIET = {"start": "22:00", "end": "07:00", "timezone": "UTC"}


def make(engine: Engine, delivery: Recorder, clock: DateClock, broker: MemoryBroker) -> NotificationService:
    return NotificationService(engine, Accounts(alice="user", bob="user", root="admin"),  # type: ignore[arg-type]
                               EventSystem(), delivery, clock=clock,
                               preferences=PreferenceBook(engine, broker, clock=clock))


@pytest.fixture
def clock() -> DateClock:
    return DateClock(EVENING)


@pytest.fixture
async def broker() -> AsyncIterator[MemoryBroker]:
    memory = MemoryBroker()
    await memory.start()
    yield memory
    await memory.stop()


@pytest.fixture
async def service(engine: Engine, clock: DateClock, broker: MemoryBroker) -> AsyncIterator[NotificationService]:
    notifications = make(engine, Recorder(), clock, broker)
    await notifications.start()
    yield notifications
    await notifications.stop()


def pushed(service: NotificationService, channel: str = "user:alice") -> list[str]:
    delivery = service._deliver.__self__  # type: ignore[attr-defined]
    return [d["title"] for d in delivery.on(channel, "notification")]


async def test_a_muted_type_or_low_priority_is_kept_without_a_push_or_a_bell_count(
        service: NotificationService) -> None:
    await service.set_preferences("alice", {"types": {"truth_update": False}, "min_priority": 2})
    await service.send_notification("alice", "truth_update", {"message": "x"}, custom_title="muted")
    await service.send_notification("alice", "info", custom_title="low", priority=1)
    await service.send_notification("alice", "system_alert", custom_title="critical", priority=4)
    await service.send_notification("alice", "warning", custom_title="wanted", priority=3)

    assert pushed(service) == ["critical", "wanted"]
    inbox = await service.get_inbox("alice")
    assert [n["title"] for n in inbox["notifications"]] == ["wanted", "critical", "low", "muted"]
    assert inbox["unread_count"] == 2, "only what the person wants to be told of counts on the bell"
    assert await service.get_preferences("bob") == (await service.get_preferences("nobody"))


async def test_shared_channels_are_decided_per_person_where_they_are_fanned_out(
        service: NotificationService) -> None:
    await service.set_preferences("alice", {"types": {"warning": False}})
    sent = await service.send(notification_type="warning", broadcast=True, title="everyone")
    assert pushed(service, "broadcast") == ["everyone"], "one push on the shared channel"
    assert service.live_for("alice", "broadcast", sent) is False
    assert service.live_for("bob", "broadcast", sent) is True
    assert service.live_for("alice", "user:alice", sent) is True, "personal ones were decided when sent"


async def test_quiet_hours_hold_all_but_emergencies_and_one_summary_follows_across_two_processes(
        engine: Engine, service: NotificationService, clock: DateClock, broker: MemoryBroker) -> None:
    await service.set_preferences("alice", {"quiet_hours": QUIET})
    clock.advance(hours=2)  # 23:00
    await service.send_notification("alice", "info", custom_title="one")
    await service.send(notification_type="warning", broadcast=True, title="two")
    await service.send_notification("alice", "warning", custom_title="fire", priority=5)
    assert pushed(service) == ["fire"]
    assert await service.summarize_quiet_hours() == 0, "no summary while quiet"

    other = make(engine, Recorder(), clock, broker)  # a second process on the same database
    await other.start()
    try:
        clock.advance(hours=8, seconds=5)  # 07:00:05
        results = await asyncio.gather(service.summarize_quiet_hours(), other.summarize_quiet_hours())
        assert sorted(results) == [0, 1], "claimed once"
        summaries = pushed(service) + pushed(other)
        assert summaries == ["fire", "🌙 Quiet hours ended"]
        [summary] = [n for n in await service.get_user_notifications("alice") if n["title"].startswith("🌙")]
        assert summary["message"] == "2 notifications arrived during quiet hours"
        assert summary["data"]["quiet_hours_summary"]["count"] == 2
        clock.advance(minutes=5)
        assert await service.summarize_quiet_hours() == 0 and await other.summarize_quiet_hours() == 0
    finally:
        await other.stop()


async def test_a_change_reaches_every_processs_cache(engine: Engine, clock: DateClock,
                                                      broker: MemoryBroker) -> None:
    here, there = PreferenceBook(engine, broker, clock=clock), PreferenceBook(engine, broker, clock=clock, size=2)
    here.start()
    there.start()
    try:
        assert (await there.get("alice")).is_default
        from services.notifications.preferences import parse_preferences

        await here.put("alice", parse_preferences({"min_priority": 4}))
        for _ in range(100):
            found = there.cached("alice")
            if found is not None and found.min_priority == 4:
                break
            await asyncio.sleep(0.01)
        assert there.cached("alice") is not None and there.cached("alice").min_priority == 4  # type: ignore[union-attr]
        for name in ("a", "b", "c"):
            await there.get(name)
        assert there.size == 2, "the cache is bounded"
    finally:
        here.stop()
        there.stop()
