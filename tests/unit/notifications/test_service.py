"""NotificationService on SQLite and PostgreSQL: targeting, per-recipient state, delivery, expiry, retention."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from services.events.bus import Event, EventSystem
from services.notifications.models import NotificationReceipt, NotificationRecord
from services.notifications.service import NotificationError, NotificationService
from services.notifications.store import NotificationStore
from tests.clocks import DateClock

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Accounts:
    """The slice of UserStore the service uses: who exists, and with which role."""

    def __init__(self, **roles: str) -> None:
        self.roles = dict(roles)

    async def get(self, username: str) -> dict[str, object] | None:
        role = self.roles.get(username)
        return {"username": username, "role": role} if role else None

    async def existing(self, usernames: list[str]) -> set[str]:
        return {name for name in usernames if name in self.roles}


class Recorder:
    """A delivery that remembers every envelope it was asked to push."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    async def deliver(self, channel: str, message_type: str, data: dict[str, Any]) -> dict[str, Any]:
        self.sent.append((channel, message_type, data))
        return {"channel": channel, "type": message_type, "data": data}

    def on(self, channel: str, message_type: str | None = None) -> list[dict[str, Any]]:
        return [d for c, t, d in self.sent if c == channel and message_type in (None, t)]


@pytest.fixture
def clock() -> DateClock:
    return DateClock(START)


@pytest.fixture
def accounts() -> Accounts:
    return Accounts(alice="user", bob="user", root="admin", ops="admin")


@pytest.fixture
def delivery() -> Recorder:
    return Recorder()


@pytest.fixture
def bus() -> EventSystem:
    # No engine: the event history is tested elsewhere, and an in-memory SQLite connection is not shared safely.
    return EventSystem()


@pytest.fixture
def published(bus: EventSystem) -> list[Event]:
    seen: list[Event] = []

    async def record(event: Event) -> None:
        seen.append(event)

    bus.register_handler("*", record)
    return seen


@pytest.fixture
async def service(engine: Engine, accounts: Accounts, bus: EventSystem, delivery: Recorder,
                  clock: DateClock) -> AsyncIterator[NotificationService]:
    notifications = NotificationService(engine, accounts, bus, delivery, clock=clock,  # type: ignore[arg-type]
                                        history_size=1000)
    await notifications.start()
    yield notifications
    await notifications.stop()


def rows(engine: Engine, table: type = NotificationRecord) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


async def titles(service: NotificationService, user: str, **options: Any) -> list[str]:
    return [n["title"] for n in await service.get_user_notifications(user, **options)]


async def test_a_user_notification_reaches_only_that_user(service: NotificationService,
                                                          delivery: Recorder) -> None:
    sent = await service.send_notification("alice", "resource_distribution", {"amount": 800})
    [mine] = await service.get_user_notifications("alice")
    assert mine["id"] == sent
    assert mine["message"] == "You received $800.00 from the Liberation System"
    assert mine["user_id"] == "alice" and mine["role"] is None and mine["broadcast"] is False
    assert mine["read_at"] is None and mine["created_at"] == START.isoformat()
    assert await service.get_user_notifications("bob") == []
    assert [d["id"] for d in delivery.on("user:alice", "notification")] == [sent]
    assert delivery.on("user:bob") == [] and delivery.on("broadcast") == []


async def test_a_role_notification_reaches_every_account_of_that_role(service: NotificationService,
                                                                      delivery: Recorder) -> None:
    await service.send_notification(None, "warning", {"message": "Backups are late"}, role="admin")
    assert await titles(service, "root") == ["⚠️ Warning"]
    assert await titles(service, "ops") == ["⚠️ Warning"]
    assert await titles(service, "alice") == []
    assert await titles(service, "alice", role="admin") == ["⚠️ Warning"], "an explicit role is trusted"
    assert len(delivery.on("role:admin", "notification")) == 1


async def test_a_broadcast_is_one_row_and_receipts_appear_only_when_someone_acts(
        engine: Engine, service: NotificationService, accounts: Accounts, delivery: Recorder) -> None:
    accounts.roles.update({f"user{n}": "user" for n in range(200)})
    sent = await service.send_notification(None, "info", {"message": "Hello everyone"}, broadcast=True)
    await service.flush()
    assert rows(engine) == 1 and rows(engine, NotificationReceipt) == 0
    assert len(delivery.on("broadcast", "notification")) == 1
    for user in ("alice", "user7", "root", "someone-without-an-account"):
        assert await titles(service, user) == ["ℹ️ Information"]
    assert await service.mark_notification_read(sent, "user7")
    assert rows(engine) == 1 and rows(engine, NotificationReceipt) == 1


async def test_read_and_dismissed_state_belongs_to_each_recipient(service: NotificationService) -> None:
    sent = await service.send_notification(None, "info", {"message": "Hi"}, broadcast=True)
    assert await service.mark_notification_read(sent, "alice")
    assert (await service.get_user_notifications("alice"))[0]["read_at"] == START.isoformat()
    assert (await service.get_user_notifications("bob"))[0]["read_at"] is None
    assert await service.unread_count("alice") == 0 and await service.unread_count("bob") == 1

    assert await service.dismiss_notification(sent, "bob")
    assert await service.get_user_notifications("bob") == []
    assert len(await service.get_user_notifications("alice")) == 1


async def test_newest_first_with_the_limit_applied_after_the_unread_filter(service: NotificationService,
                                                                            clock: DateClock) -> None:
    ids = []
    for n in range(5):
        ids.append(await service.send_notification("alice", "info", {"message": f"n{n}"}))
        clock.advance(seconds=1)
    await service.mark_notification_read(ids[4], "alice")
    await service.mark_notification_read(ids[3], "alice")
    assert [n["message"] for n in await service.get_user_notifications("alice")] == ["n4", "n3", "n2", "n1", "n0"]
    assert [n["message"] for n in await service.get_user_notifications("alice", limit=2, unread_only=True)] == [
        "n2", "n1"]
    inbox = await service.get_inbox("alice", limit=1)
    assert (inbox["unread_count"], inbox["total_count"], len(inbox["notifications"])) == (3, 5, 1)


async def test_ids_order_sends_made_within_one_millisecond(service: NotificationService) -> None:
    ids = [await service.send_notification("alice", "info", {"message": str(n)}) for n in range(300)]
    assert ids == sorted(ids) and len(set(ids)) == 300
    assert [n["message"] for n in await service.get_user_notifications("alice", limit=3)] == ["299", "298", "297"]


async def test_reading_pushes_the_new_unread_count_and_publishes_an_event(
        service: NotificationService, delivery: Recorder, published: list[Event]) -> None:
    first = await service.send_notification("alice", "info", {"message": "one"})
    await service.send_notification("alice", "info", {"message": "two"})
    assert await service.mark_notification_read(first, "alice")
    assert delivery.on("user:alice", "notification_read") == [
        {"notification_id": first, "notification_ids": [first], "unread_count": 1}]
    assert await service.mark_notification_read(first, "alice"), "reading twice is still fine"
    assert len(delivery.on("user:alice", "notification_read")) == 1, "but changes nothing"
    read_events = [e for e in published if e.type == "notification.read"]
    assert [(e.data, e.user_id) for e in read_events] == [({"notification_id": first, "user_id": "alice"}, "alice")]
    assert next(e.data["notification_id"] for e in published if e.type == "notification.sent") == first


async def test_nobody_can_touch_what_is_not_in_their_inbox(service: NotificationService) -> None:
    mine = await service.send_notification("alice", "info", {"message": "private"})
    admins = await service.send_notification(None, "info", {"message": "staff"}, role="admin")
    for notification_id, user in ((mine, "bob"), (admins, "alice"), ("not-an-id", "alice"),
                                  ("01a21f00-0000-7000-8000-000000000000", "alice")):
        assert not await service.mark_notification_read(notification_id, user)
        assert not await service.dismiss_notification(notification_id, user)
        assert await service.get_notification(notification_id, user) is None
        assert await service.perform_action(notification_id, user, "acknowledge") is None
    assert await service.unread_count("alice") == 1


async def test_dismiss_removes_it_and_pushes_the_change(service: NotificationService, delivery: Recorder,
                                                        published: list[Event]) -> None:
    sent = await service.send_notification("alice", "info", {"message": "bye"})
    assert await service.dismiss_notification(sent, "alice")
    assert not await service.dismiss_notification(sent, "alice")
    assert not await service.mark_notification_read(sent, "alice")
    assert await service.get_user_notifications("alice") == []
    assert delivery.on("user:alice", "notification_dismissed") == [
        {"notification_id": sent, "notification_ids": [sent], "unread_count": 0}]
    assert [e.data["notification_id"] for e in published if e.type == "notification.dismissed"] == [sent]


async def test_read_all_marks_everything_visible(service: NotificationService, delivery: Recorder,
                                                 published: list[Event]) -> None:
    ids = [await service.send_notification("alice", "info", {"message": str(n)}) for n in range(3)]
    await service.send_notification(None, "info", {"message": "all"}, broadcast=True)
    await service.send_notification(None, "info", {"message": "staff"}, role="admin")
    assert await service.mark_all_read("alice") == 4
    assert await service.unread_count("alice") == 0 and await service.unread_count("bob") == 1
    [pushed] = delivery.on("user:alice", "notification_read")
    assert pushed["all"] is True and pushed["unread_count"] == 0 and set(ids) <= set(pushed["notification_ids"])
    assert [e.data["count"] for e in published if e.type == "notification.read"] == [4]
    assert await service.mark_all_read("alice") == 0


async def test_an_action_publishes_user_action_and_marks_read(service: NotificationService,
                                                              published: list[Event]) -> None:
    sent = await service.send_notification("alice", "resource_distribution", {"amount": 5},
                                           correlation_id="payment-42")
    assert await service.perform_action(sent, "alice", "no_such_action") is None
    assert await service.perform_action(sent, "alice", "acknowledge") == {"label": "Thank You",
                                                                          "action": "acknowledge"}
    [action] = [e for e in published if e.type == "user.action"]
    assert action.data == {"user_id": "alice", "action": "acknowledge", "notification_id": sent}
    assert action.correlation_id == "payment-42"
    assert await service.unread_count("alice") == 0


async def test_custom_words_priority_actions_and_channel(service: NotificationService) -> None:
    actions = [{"label": "Open", "action": "open", "url": "https://example.org/x?y={z}"},
               {"label": "Later", "action": "later", "url": "/inbox"}]
    sent = await service.send_notification("alice", "user_action", {"message": "ignored"}, "{Custom} title",
                                           "Braces {stay} and %s too", 5, "housing", actions)
    found = await service.get_notification(sent, "alice")
    assert found is not None
    assert (found["title"], found["message"], found["priority"]) == ("{Custom} title", "Braces {stay} and %s too", 5)
    assert found["actions"] == actions and found["channel"] == "housing"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"notification_type": "birthday"}, "notification_type"),
    ({"priority": 0}, "priority"), ({"priority": 6}, "priority"), ({"priority": True}, "priority"),
    ({"actions": [{"label": str(n), "action": f"a{n}"} for n in range(4)]}, "actions"),
    ({"actions": [{"label": "x", "action": "go", "url": "javascript:alert(1)"}]}, "actions[0].url"),
    ({"actions": [{"label": "x", "action": "go", "url": "//evil.example"}]}, "actions[0].url"),
    ({"actions": [{"label": "", "action": "go"}]}, "actions[0].label"),
    ({"actions": [{"label": "x", "action": "has space"}]}, "actions[0].action"),
    ({"actions": [{"label": "x", "action": "go", "colour": "red"}]}, "actions[0]"),
    ({"custom_title": ""}, "title"), ({"custom_title": "   "}, "title"), ({"custom_title": "t" * 201}, "title"),
    ({"custom_message": "m" * 2001}, "message"),
    ({"user_id": None}, "target"), ({"role": "admin"}, "target"), ({"user_id": "u" * 65}, "user_id"),
    ({"user_id": None, "role": "wizard"}, "role"),
    ({"data": ["not", "a", "dict"]}, "data"), ({"data": {"blob": "x" * 20000}}, "data"),
    ({"expires_at": START - timedelta(seconds=1)}, "expires_at"), ({"expires_at": START}, "expires_at"),
    ({"ttl_seconds": 0}, "ttl_seconds"), ({"ttl_seconds": 10, "expires_at": START + timedelta(days=1)}, "expires_at"),
    ({"channel": "has space"}, "channel"),
])
async def test_bad_input_is_refused_with_a_message_naming_the_field(service: NotificationService, engine: Engine,
                                                                    kwargs: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"user_id": "alice", "notification_type": "info", **kwargs}
    with pytest.raises(NotificationError) as refused:
        await service.send_notification(**arguments)
    assert refused.value.field == field and str(refused.value).startswith(f"{field}: ")
    await service.flush()
    assert rows(engine) == 0


async def test_system_alert_is_stored_for_admins_and_pushed_on_its_channel(service: NotificationService,
                                                                           delivery: Recorder) -> None:
    sent = await service.send_system_alert("Disk", "Disk is 95% full", "critical", {"disk": "/"}, "system")
    [stored] = await service.get_user_notifications("root")
    assert (stored["id"], stored["type"], stored["priority"], stored["role"]) == (sent, "system_alert", 4, "admin")
    assert stored["data"] == {"disk": "/", "alert_level": "critical"} and stored["channel"] == "system"
    assert await service.get_user_notifications("alice") == []
    assert [d["id"] for d in delivery.on("role:admin", "notification")] == [sent]
    [alert] = delivery.on("system", "system_alert")
    assert (alert["id"], alert["title"], alert["alert_level"]) == (sent, "Disk", "critical")
    with pytest.raises(NotificationError, match="alert_level"):
        await service.send_system_alert("x", "y", "apocalyptic")
    with pytest.raises(NotificationError, match="target_channel"):
        await service.send_system_alert("x", "y", target_channel="")


async def test_expiry_follows_the_injected_clock(service: NotificationService, clock: DateClock, delivery: Recorder,
                                                 published: list[Event], engine: Engine) -> None:
    short = await service.send_notification("alice", "info", {"message": "soon gone"}, ttl_seconds=60)
    later = await service.send_notification("alice", "info", {"message": "later"},
                                            expires_at=START + timedelta(hours=1))
    shared = await service.send_notification(None, "info", {"message": "all"}, broadcast=True, ttl_seconds=30)
    await service.send_notification("alice", "info", {"message": "forever"})
    [stored] = [n for n in await service.get_user_notifications("alice") if n["id"] == short]
    assert stored["expires_at"] == (START + timedelta(seconds=60)).isoformat()

    clock.advance(seconds=61)
    assert [n["message"] for n in await service.get_user_notifications("alice")] == ["forever", "later"]
    assert await service.unread_count("alice") == 2
    assert not await service.mark_notification_read(short, "alice")

    assert await service.cleanup_expired_notifications() == 2
    assert delivery.on("user:alice", "notification_expired") == [
        {"notification_ids": [short], "count": 1, "unread_count": 2}]
    assert delivery.on("broadcast", "notification_expired") == [{"notification_ids": [shared], "count": 1}]
    assert [e.data["count"] for e in published if e.type == "notification.expired"] == [2]
    assert rows(engine) == 2
    assert await service.cleanup_expired_notifications() == 0

    clock.advance(hours=1)
    assert await service.cleanup_expired_notifications() == 1
    assert [n["message"] for n in await service.get_user_notifications("alice")] == ["forever"]
    assert later not in str(delivery.on("user:alice", "notification_expired")[0])
    assert delivery.on("user:alice", "notification_expired")[1]["notification_ids"] == [later]


async def test_history_is_pruned_to_history_size_per_user(engine: Engine, accounts: Accounts, bus: EventSystem,
                                                          delivery: Recorder, clock: DateClock) -> None:
    service = NotificationService(engine, accounts, bus, delivery, clock=clock,  # type: ignore[arg-type]
                                  history_size=3)
    await service.start()
    alice = [await service.send_notification("alice", "info", {"message": f"a{n}"}) for n in range(6)]
    bob = [await service.send_notification("bob", "info", {"message": f"b{n}"}) for n in range(2)]
    for notification_id in alice[:5]:
        await service.mark_notification_read(notification_id, "alice")
    await service.dismiss_notification(bob[0], "bob")
    shared = [await service.send_notification(None, "info", {"message": f"s{n}"}, broadcast=True)
              for n in range(5)]

    assert (await service.sweep()) == {"cleaned_count": 0, "pruned_count": 2 + 2}
    kept = [n["message"] for n in await service.get_user_notifications("alice")]
    assert kept == ["s4", "s3", "s2", "a5", "a4", "a3", "a2"], "3 read + the unread one, and 3 broadcasts"
    assert [n["message"] for n in await service.get_user_notifications("bob")] == ["s4", "s3", "s2", "b1"]
    assert shared[0] not in {n["id"] for n in await service.get_user_notifications("bob")}
    assert (await service.sweep())["pruned_count"] == 0
    await service.stop()


async def test_catch_up_since_an_id_or_a_time(service: NotificationService, clock: DateClock) -> None:
    first = await service.send_notification("alice", "info", {"message": "first"})
    clock.advance(seconds=10)
    await service.send_notification("alice", "info", {"message": "second"})
    clock.advance(seconds=10)
    await service.send_notification(None, "info", {"message": "third"}, broadcast=True)
    assert [n["message"] for n in await service.get_user_notifications("alice", since=first)] == ["third", "second"]
    since = (START + timedelta(seconds=5)).isoformat()
    assert [n["message"] for n in await service.get_user_notifications("alice", since=since)] == ["third", "second"]
    assert [n["message"] for n in await service.get_user_notifications("alice", since=START + timedelta(seconds=15))
            ] == ["third"]
    with pytest.raises(NotificationError, match="since"):
        await service.get_user_notifications("alice", since="yesterday")


async def test_a_notification_for_a_missing_account_waits_for_it(service: NotificationService,
                                                                 accounts: Accounts) -> None:
    await service.send_notification("zoe", "welcome")
    accounts.roles["zoe"] = "user"
    assert await titles(service, "zoe") == ["🎉 Welcome to Liberation System"]


async def test_stats_count_by_type_priority_user_and_target(service: NotificationService) -> None:
    await service.send_notification("alice", "info", {"message": "1"})
    await service.send_notification("alice", "error", {"message": "2"})
    read = await service.send_notification("bob", "info", {"message": "3"})
    await service.send_notification(None, "info", {"message": "4"}, broadcast=True)
    await service.send_system_alert("t", "m", "warning")
    await service.mark_notification_read(read, "bob")
    stats = await service.get_notification_stats()
    assert stats["total_notifications"] == 5 and stats["total_users"] == 2
    assert stats["by_type"] == {"info": 3, "error": 1, "system_alert": 1}
    assert stats["by_priority"] == {"1": 3, "3": 1, "2": 1}
    assert stats["by_user"] == {"alice": 2, "bob": 1}
    assert stats["by_target"] == {"user": 3, "role": 1, "broadcast": 1}
    assert stats["unread_personal"] == 2 and stats["receipts"] == {"total": 1, "read": 1, "dismissed": 0}
    assert [n["message"] for n in stats["recent"]][:2] == ["m", "4"]
    assert stats["sent"] == 5 and stats["lost"] == 0


async def test_a_durable_send_is_committed_when_it_returns_and_survives_a_restart(
        engine: Engine, accounts: Accounts, bus: EventSystem, delivery: Recorder, clock: DateClock) -> None:
    first = NotificationService(engine, accounts, bus, delivery, clock=clock,  # type: ignore[arg-type]
                                flush_interval=10)
    await first.start()
    sent = await first.send_notification("alice", "welcome", durable=True)
    assert rows(engine) == 1
    await first.send_notification("alice", "info", {"message": "queued"})
    await first.stop()
    second = NotificationService(engine, accounts, bus, delivery, clock=clock)  # type: ignore[arg-type]
    await second.start()
    assert [n["message"] for n in await second.get_user_notifications("alice")][1:] == [
        "Your registration is complete. You're now part of the $19T transformation."]
    assert (await second.get_user_notifications("alice"))[1]["id"] == sent
    await second.stop()


async def test_a_failing_live_push_does_not_fail_the_send(engine: Engine, accounts: Accounts, bus: EventSystem,
                                                          clock: DateClock) -> None:
    async def broken(channel: str, message_type: str, data: dict[str, Any]) -> None:
        raise ConnectionError("hub is down")

    service = NotificationService(engine, accounts, bus, broken, clock=clock)  # type: ignore[arg-type]
    await service.start()
    sent = await service.send_notification("alice", "info", {"message": "still stored"})
    assert [n["id"] for n in await service.get_user_notifications("alice")] == [sent]
    assert (await service.get_notification_stats())["delivery_failures"] == 1
    await service.stop()


@pytest.fixture
def poisoned_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's batch insert refuses any batch holding a row titled `poison` (as a driver refuses a value it
    cannot encode); request it before `service`, which binds the insert when it is built."""
    insert = NotificationStore.insert

    def refusing(self: NotificationStore, batch: list[dict[str, Any]]) -> None:
        if any(row["title"] == "poison" for row in batch):
            raise UnicodeEncodeError("utf-8", "poison", 0, 1, "surrogates not allowed")
        insert(self, batch)

    monkeypatch.setattr(NotificationStore, "insert", refusing)


@pytest.mark.reliability
async def test_a_row_the_store_refuses_fails_only_its_own_sender(poisoned_store: None,
                                                                 service: NotificationService) -> None:
    sends = [service.send_notification("alice", "info", custom_title="poison" if n == 7 else f"note {n}",
                                       durable=True) for n in range(20)]
    outcomes = await asyncio.gather(*sends, return_exceptions=True)

    [refused] = [o for o in outcomes if isinstance(o, BaseException)]
    assert outcomes.index(refused) == 7
    assert isinstance(refused, NotificationError) and refused.field == "notification"
    assert "surrogates not allowed" in str(refused)
    inbox = await titles(service, "alice", limit=100)
    assert sorted(inbox) == sorted(f"note {n}" for n in range(20) if n != 7)
