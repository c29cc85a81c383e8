"""Digests as a person sees them: notifications of a type they collect are held (stored, not pushed) and collapse
into one inbox entry with a summary and the items, when the window closes or when they read one, once across two
processes and after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from services.broker import MemoryBroker
from services.events import EventSystem
from services.notifications.digests import summary
from services.notifications.preference_book import PreferenceBook
from services.notifications.preferences import Decision, NotificationError, decide, parse_preferences
from services.notifications.service import NotificationService
from services.notifications.trace import Tracer
from tests.clocks import DateClock
from tests.unit.notifications.test_preference_service import make, pushed
from tests.unit.notifications.test_service import Accounts, Recorder

NOON = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
FIFTEEN_MINUTES = {"digest_seconds": {"resource_distribution": 900, "truth_update": 900}}


@pytest.fixture
def clock() -> DateClock:
    return DateClock(NOON)


@pytest.fixture
async def broker() -> AsyncIterator[MemoryBroker]:
    memory = MemoryBroker()
    await memory.start()
    yield memory
    await memory.stop()


@pytest.fixture
async def service(engine: Engine, clock: DateClock,
                  broker: MemoryBroker) -> AsyncIterator[NotificationService]:
    notifications = make(engine, Recorder(), clock, broker)
    await notifications.start()
    await notifications.set_preferences("alice", FIFTEEN_MINUTES)
    yield notifications
    await notifications.stop()


async def distribute(service: NotificationService, amounts: list[float], clock: DateClock) -> list[str]:
    ids = []
    for amount in amounts:
        ids.append(await service.send_notification("alice", "resource_distribution", {"amount": amount}))
        clock.advance(minutes=1)
    return ids


def entries(service: NotificationService, kind: str = "notification") -> list[dict[str, Any]]:
    return service._deliver.__self__.on("user:alice", kind)  # type: ignore[attr-defined]


async def test_items_within_the_window_collapse_into_one_entry_when_it_closes(
        service: NotificationService, clock: DateClock) -> None:
    await distribute(service, [800, 800, 800, 800, 800], clock)
    await service.send_notification("alice", "welcome", custom_title="not collected")
    assert pushed(service) == ["not collected"], "held items are not pushed live"
    inbox = await service.get_inbox("alice")
    assert len(inbox["notifications"]) == 6, "held items are stored and listed until they collapse"
    assert inbox["unread_count"] == 1, "held items count on the bell once their digest collapses"

    assert await service.collapse_digests() == 0, "the window is still open"
    clock.advance(minutes=11)  # 16 minutes after the first
    assert await service.collapse_digests() == 1
    assert await service.collapse_digests() == 0, "collapsed once"

    inbox = await service.get_inbox("alice")
    titles = [n["title"] for n in inbox["notifications"]]
    assert titles == ["💰 5 resource distributions, $4,000.00 in total", "not collected"]
    digest = inbox["notifications"][0]["data"]["digest"]
    assert digest["count"] == 5 and digest["total"] == 4000
    assert [item["data"]["amount"] for item in digest["items"]] == [800] * 5
    assert inbox["unread_count"] == 2
    [push] = [d for d in entries(service) if "digest" in d["data"]]
    assert len(push["replaces"]) == 5 and push["unread_count"] == 2, "one push replacing the items, with the count"


async def test_reading_an_item_collapses_the_digest_before_the_window_ends(
        service: NotificationService, clock: DateClock) -> None:
    ids = await distribute(service, [100, 250.5], clock)
    assert await service.mark_notification_read(ids[0], "alice")
    [entry] = (await service.get_inbox("alice"))["notifications"]
    assert entry["title"] == "💰 2 resource distributions, $350.50 in total"
    assert entry["read_at"] is not None, "the person read the digest"
    assert await service.get_notification(ids[0], "alice") is None, "the item lives on inside the entry"

    await distribute(service, [5], clock)  # a new digest opens after the collapse
    clock.advance(minutes=15)
    assert await service.collapse_digests() == 1
    titles = [n["title"] for n in (await service.get_inbox("alice"))["notifications"]]
    assert titles == ["💰 1 resource distribution, $5.00 in total", entry["title"]]


async def test_admin_opt_out_emergencies_and_other_types_are_not_collected(
        service: NotificationService, clock: DateClock) -> None:
    await service.send(notification_type="resource_distribution", user_id="alice", data={"amount": 1},
                       title="opted out", digest=False)
    await service.send_notification("alice", "resource_distribution", {"amount": 2}, custom_title="urgent",
                                    priority=5)
    await service.send_notification("alice", "info", custom_title="info")
    await service.send_notification("bob", "resource_distribution", {"amount": 3}, custom_title="bob's")
    assert pushed(service) == ["opted out", "urgent", "info"]
    assert pushed(service, "user:bob") == ["bob's"]
    shared = await service.send(notification_type="resource_distribution", broadcast=True, data={"amount": 4},
                                title="everyone's")
    assert pushed(service, "broadcast") == ["everyone's"]
    assert service.live_for("alice", "broadcast", shared), "a shared notification is never collected"
    clock.advance(days=1)
    assert await service.collapse_digests() == 0, "nothing was held"


async def test_one_collapse_when_two_processes_race(engine: Engine, service: NotificationService, clock: DateClock,
                                                    broker: MemoryBroker) -> None:
    await distribute(service, [10, 20, 30], clock)
    other = make(engine, Recorder(), clock, broker)
    await other.start()
    try:
        clock.advance(minutes=15)
        results = await asyncio.gather(service.collapse_digests(), other.collapse_digests())
        assert sorted(results) == [0, 1]
        pushes = [d for s in (service, other) for d in entries(s) if "digest" in d["data"]]
        assert len(pushes) == 1
        titles = [n["title"] for n in (await other.get_inbox("alice"))["notifications"]]
        assert titles == ["💰 3 resource distributions, $60.00 in total"]
    finally:
        await other.stop()


async def test_held_items_survive_a_restart(engine: Engine, service: NotificationService, clock: DateClock,
                                            broker: MemoryBroker) -> None:
    await service.send_notification("alice", "truth_update", {"message": "one"})
    await service.send_notification("alice", "truth_update", {"message": "two"})
    await service.stop()
    restarted = make(engine, Recorder(), clock, broker)
    await restarted.start()
    try:
        clock.advance(hours=1)
        assert await restarted.collapse_digests() == 1
        [entry] = (await restarted.get_inbox("alice"))["notifications"]
        assert entry["title"] == "🌐 2 truth updates"
        assert [i["data"]["message"] for i in entry["data"]["digest"]["items"]] == ["one", "two"]
    finally:
        await restarted.stop()


def test_preferences_bound_the_window_and_refuse_system_alerts() -> None:
    assert parse_preferences({"digest_seconds": {"info": 60, "warning": None}}).digest == (("info", 60),)
    for bad in ({"info": 59}, {"info": 86_401}, {"info": "900"}, {"info": True}, {"system_alert": 600},
                {"nope": 600}):
        with pytest.raises(NotificationError):
            parse_preferences({"digest_seconds": bad})
    collect = parse_preferences({"digest_seconds": {"info": 600}})
    assert decide(collect, "info", 2, NOON) is Decision.DIGESTED
    assert decide(collect, "info", 4, NOON) is Decision.PUSHED, "critical and above are never held"
    assert decide(collect, "info", 2, NOON, digestible=False) is Decision.PUSHED


def test_the_summary_counts_and_totals_per_type() -> None:
    from services.notifications.types import Notification

    def item(amount: object) -> Notification:
        return Notification("x", "resource_distribution", 2, "t", "m", {"amount": amount}, [], "a", None, False,
                            None, None, NOON)

    assert summary("resource_distribution", [item(1000.5), item("junk"), item(None)]) == \
        "3 resource distributions, $1,000.50 in total"
    assert summary("mesh_network_change", [item(1)]) == "1 mesh network change"


async def test_items_read_before_the_collapse_make_a_read_entry(service: NotificationService,
                                                                clock: DateClock) -> None:
    await distribute(service, [1, 2], clock)
    assert await service.mark_all_read("alice") == 2
    clock.advance(minutes=15)
    assert await service.collapse_digests() == 1
    inbox = await service.get_inbox("alice")
    assert inbox["notifications"][0]["read_at"] is not None and inbox["unread_count"] == 0


async def test_the_trace_says_an_item_was_kept_for_its_digest(engine: Engine, clock: DateClock,
                                                               broker: MemoryBroker) -> None:
    trace = Tracer(engine, replica="r1", clock=clock, tally_seconds=0.01)
    notifications = NotificationService(engine, Accounts(alice="user"), EventSystem(),  # type: ignore[arg-type]
                                        Recorder(), clock=clock, trace=trace,
                                        preferences=PreferenceBook(engine, broker, clock=clock))
    await notifications.start()
    try:
        await notifications.set_preferences("alice", FIFTEEN_MINUTES)
        [held] = await distribute(notifications, [800], clock)
        found = await notifications.get_trace(held, "alice")
        assert found is not None
        [decision] = [s for s in found["steps"] if s["step"] == "decision"]
        assert decision["detail"]["decision"] == "digested"
        assert "digest" in decision["text"]
        assert not [s for s in found["steps"] if s["step"] == "delivered"], "held, so not pushed live"
    finally:
        await notifications.stop()
