"""Scheduled sends: checked at once, delivered when due exactly once across two processes and a restart,
cancellable until then."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from services.events.bus import EventSystem
from services.notifications import NotificationError
from services.notifications.service import NotificationService
from tests.clocks import DateClock
from tests.unit.notifications.test_service import Accounts, Recorder

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def process(engine: Engine, clock: DateClock) -> tuple[NotificationService, Recorder]:
    delivery = Recorder()
    return NotificationService(engine, Accounts(alice="user"), EventSystem(), delivery,  # type: ignore[arg-type]
                               clock=clock), delivery


async def test_a_scheduled_send_survives_a_restart_and_is_delivered_once_by_two_processes(engine: Engine) -> None:
    clock = DateClock(NOW)
    first, _ = process(engine, clock)
    await first.start()
    scheduled = await first.scheduled.schedule({"user_id": "alice", "notification_type": "info", "title": "Later"},
                                               NOW + timedelta(minutes=10), "root")
    assert scheduled["status"] == "scheduled" and scheduled["target"] == "user:alice"
    assert await first.get_user_notifications("alice") == []
    await first.stop()  # a restart: nothing of it lives in memory

    (one, pushed_one), (two, pushed_two) = process(engine, clock), process(engine, clock)
    await one.start()
    await two.start()
    try:
        assert await asyncio.gather(one.scheduled.deliver_due(), two.scheduled.deliver_due()) == [0, 0], "not due"
        clock.advance(minutes=10)
        assert sorted(await asyncio.gather(one.scheduled.deliver_due(), two.scheduled.deliver_due())) == [0, 1]
        [note] = await one.get_user_notifications("alice")
        assert note["title"] == "Later" and note["created_at"] == clock.now.isoformat()
        assert len(pushed_one.on("user:alice", "notification") + pushed_two.on("user:alice", "notification")) == 1
        [listed] = await one.scheduled.listing()
        assert (listed["status"], listed["notification_id"]) == ("delivered", note["id"])
        assert await one.scheduled.cancel(scheduled["scheduled_id"]) == "delivered"
    finally:
        await one.stop()
        await two.stop()


async def test_a_cancelled_send_is_never_delivered(engine: Engine) -> None:
    clock = DateClock(NOW)
    service, _ = process(engine, clock)
    await service.start()
    try:
        scheduled = await service.scheduled.schedule({"broadcast": True, "notification_type": "warning"},
                                                     NOW + timedelta(hours=1), "root")
        assert await service.scheduled.cancel(scheduled["scheduled_id"]) is None
        assert await service.scheduled.cancel("no-such-id") == "missing"
        clock.advance(hours=2)
        assert await service.scheduled.deliver_due() == 0
        assert [s["status"] for s in await service.scheduled.listing()] == ["cancelled"]
    finally:
        await service.stop()


async def test_a_delivery_cut_short_after_the_send_is_finished_not_repeated(engine: Engine) -> None:
    clock = DateClock(NOW)
    service, _ = process(engine, clock)
    await service.start()
    try:
        await service.scheduled.schedule({"user_id": "alice", "notification_type": "info"}, NOW + timedelta(1),
                                         "root")
        clock.advance(days=1)
        [due] = await asyncio.to_thread(service.scheduled._claim_due, clock.now)
        await service.send(notification_type="info", user_id="alice", notification_id=due.notification_id,
                           durable=True)  # sent, then the process died before marking it delivered
        assert await service.scheduled.deliver_due() == 0, "the claim is not stale yet"
        clock.advance(minutes=2)
        await service.scheduled.deliver_due()
        assert len(await service.get_user_notifications("alice")) == 1
        assert [s["status"] for s in await service.scheduled.listing()] == ["delivered"]
    finally:
        await service.stop()


@pytest.mark.parametrize(("request_", "deliver_at", "field"), [
    ({"user_id": "alice", "notification_type": "info"}, NOW - timedelta(seconds=1), "deliver_at"),
    ({"user_id": "alice", "notification_type": "info"}, NOW + timedelta(days=400), "deliver_at"),
    ({"user_id": "alice", "notification_type": "nope"}, NOW + timedelta(hours=1), "notification_type"),
    ({"user_id": "alice", "notification_type": "info", "expires_at": NOW + timedelta(minutes=30)},
     NOW + timedelta(hours=1), "expires_at"),
])
async def test_a_bad_schedule_is_refused_at_once(engine: Engine, request_: dict[str, object], deliver_at: datetime,
                                                 field: str) -> None:
    service, _ = process(engine, DateClock(NOW))
    with pytest.raises(NotificationError) as refused:
        await service.scheduled.schedule(request_, deliver_at, "root")
    assert refused.value.field == field
