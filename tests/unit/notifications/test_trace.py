"""Delivery traces: steps in time order, the recipient cap, retention, and a full buffer that drops instead of
waiting; and the service recording a rule-made notification's path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from services.events.bus import EventSystem
from services.notifications.rules import RULES
from services.notifications.service import NotificationService
from services.notifications.trace import MAX_LISTED, Step, Tracer
from tests.clocks import DateClock
from tests.unit.notifications.test_service import Accounts, Recorder

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NID = "0190aaaa-0000-7000-8000-000000000001"


@pytest.fixture
def clock() -> DateClock:
    return DateClock(START)


@pytest.fixture
async def tracer(engine: Engine, clock: DateClock) -> AsyncIterator[Tracer]:
    trace = Tracer(engine, replica="r1", days=7, clock=clock, tally_seconds=0.01)
    trace.start()
    yield trace
    await trace.stop()


async def test_steps_come_back_in_time_order_with_their_replica(tracer: Tracer, clock: DateClock) -> None:
    clock.advance(seconds=5)
    tracer.record(NID, Step.READ, "read by alice", recipient="alice")
    clock.now = START
    tracer.record(NID, Step.SENT_BY, "sent by root")
    clock.advance(seconds=1)
    tracer.decided(NID, "alice", "pushed")
    clock.advance(seconds=1)
    tracer.delivered(NID, "user:alice", connections=2)
    tracer.delivered(NID, "user:alice", views=1)  # the same delivery heard by the views: one step

    found = await tracer.trace(NID)
    assert [s["step"] for s in found["steps"]] == ["sent_by", "decision", "delivered", "read"]
    assert {s["replica"] for s in found["steps"]} == {"r1"}
    delivered = found["steps"][2]
    assert delivered["detail"] == {"channel": "user:alice", "connections": 2, "views": 1}
    assert delivered["at"] == "2026-03-01T12:00:02+00:00"
    assert "2 WebSocket connections, 1 browser view on r1" in delivered["text"]


async def test_a_broadcast_lists_the_first_hundred_recipients_and_counts_the_rest(tracer: Tracer) -> None:
    for n in range(MAX_LISTED + 50):
        tracer.decided(NID, f"user{n}", "pushed")
        tracer.decided(NID, f"user{n}", "pushed")  # a second view of the same person asks again: not a new row
    tracer.record(NID, Step.READ, "read by user3", recipient="user3")  # a listed person stays listed
    tracer.record(NID, Step.READ, "read by user120", recipient="user120")

    found = await tracer.trace(NID)
    assert found["recipients_listed"] == MAX_LISTED
    assert found["recipients_not_listed"] == 50 * 2 + 1
    decisions = [s for s in found["steps"] if s["step"] == "decision"]
    assert len(decisions) == MAX_LISTED and decisions[0]["recipient"] == "user0"
    assert [s["recipient"] for s in found["steps"] if s["step"] == "read"] == ["user3"]
    [rest] = [s for s in found["steps"] if s["step"] == "recipients_not_listed"]
    assert "101 more recipient steps not listed" in rest["text"]


async def test_a_recipient_sees_only_their_own_recipient_steps(tracer: Tracer) -> None:
    tracer.record(NID, Step.SENT_BY, "sent by root")
    tracer.decided(NID, "alice", "pushed")
    tracer.decided(NID, "bob", "muted")
    found = await tracer.trace(NID, viewer="bob")
    assert [(s["step"], s["recipient"]) for s in found["steps"]] == [("sent_by", None), ("decision", "bob")]
    assert "muted" in found["steps"][1]["text"]


async def test_steps_older_than_the_retention_are_expired(tracer: Tracer, clock: DateClock) -> None:
    tracer.record(NID, Step.SENT_BY, "sent by root")
    clock.advance(days=6)
    tracer.record(NID, Step.READ, "read by alice", recipient="alice")
    await tracer.flush()
    clock.advance(days=1, seconds=1)  # the first step is now 7 days and a second old
    assert await tracer.expire() == 1
    assert [s["step"] for s in (await tracer.trace(NID))["steps"]] == ["read"]


async def test_a_full_buffer_drops_and_counts_instead_of_waiting(engine: Engine, clock: DateClock) -> None:
    trace = Tracer(engine, replica="r1", clock=clock, buffer_size=3)  # not started: nothing drains it
    for n in range(5):
        trace.record(NID, Step.SENT_BY, f"step {n}")
    assert (trace.recorded, trace.dropped) == (3, 2)
    trace.start()
    try:
        assert [s["text"] for s in (await trace.trace(NID))["steps"]] == ["step 0", "step 1", "step 2"]
    finally:
        await trace.stop()


async def test_a_rule_made_notification_records_event_rule_decision_delivery_and_read(
        engine: Engine, clock: DateClock) -> None:
    trace = Tracer(engine, replica="r1", clock=clock, tally_seconds=0.01)
    bus = EventSystem()
    service = NotificationService(engine, Accounts(alice="user"), bus, Recorder(),  # type: ignore[arg-type]
                                  clock=clock, rules=RULES, trace=trace)
    await bus.start()
    await service.start()
    try:
        event = await bus.publish("resource.distributed", {"human_id": "alice", "amount": 800}, "ledger")
        [note] = await service.get_user_notifications("alice")
        assert await service.mark_notification_read(note["id"], "alice")
        found = await service.get_trace(note["id"], "alice")
        assert found is not None
        assert [s["step"] for s in found["steps"]] == ["event", "rule", "decision", "delivered", "read"]
        assert found["steps"][0]["detail"]["event_id"] == event.id
        assert "resource distributed" in found["steps"][1]["text"]
        assert await service.get_trace(note["id"], "bob") is None  # not theirs
        assert await service.get_trace(note["id"], "root", admin=True) is not None
    finally:
        await service.stop()
        await bus.stop()


async def test_a_scheduled_send_names_who_scheduled_it(engine: Engine, clock: DateClock) -> None:
    trace = Tracer(engine, replica="r1", clock=clock, tally_seconds=0.01)
    service = NotificationService(engine, Accounts(alice="user"), EventSystem(), Recorder(),  # type: ignore[arg-type]
                                  clock=clock, trace=trace)
    await service.start()
    try:
        await service.scheduled.schedule({"user_id": "alice", "notification_type": "info", "title": "Later"},
                                         START.replace(hour=13), "root")
        clock.advance(hours=2)
        assert await service.scheduled.deliver_due() == 1
        [note] = await service.get_user_notifications("alice")
        found = await service.get_trace(note["id"], "alice")
        assert found is not None
        assert [(s["step"], s["text"]) for s in found["steps"][:1]] == [("scheduled", "scheduled by root")]
    finally:
        await service.stop()


async def test_an_action_and_a_dismissal_are_recorded_with_who_and_which(engine: Engine, clock: DateClock) -> None:
    trace = Tracer(engine, replica="r1", clock=clock, tally_seconds=0.01)
    service = NotificationService(engine, Accounts(alice="user"), EventSystem(), Recorder(),  # type: ignore[arg-type]
                                  clock=clock, trace=trace)
    await service.start()
    try:
        sent = await service.send(user_id="alice", notification_type="info", title="Approve?",
                                  actions=[{"label": "Approve", "action": "approve"}], sent_by="root")
        clock.advance(seconds=1)
        assert await service.perform_action(sent["id"], "alice", "approve")
        clock.advance(seconds=1)
        assert await service.dismiss_notification(sent["id"], "alice")
        found = await service.get_trace(sent["id"], "root", admin=True)
        assert found is not None
        assert [s["step"] for s in found["steps"]] == ["sent_by", "decision", "delivered", "acted", "dismissed"]
        assert found["steps"][3]["detail"] == {"action": "approve"} and "'Approve'" in found["steps"][3]["text"]
        assert found["steps"][4]["text"] == "dismissed by alice"
    finally:
        await service.stop()
