"""Notifications over REST: the original scenario end to end, targeting, ownership, validation, catch-up, admin."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.notifications.store import NotificationStore
from tests.api.app_databases import app_database  # noqa: F401  (a fixture: the app on SQLite, then PostgreSQL)
from tests.app_fixtures import create_account

BASE = "/api/v1/notifications"
PUBLISH = "/api/v1/realtime/events/publish"


async def send(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post(f"{BASE}/send", headers=headers, json=body)


async def inbox(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get(BASE, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_the_original_scenario_a_distribution_lands_in_the_humans_inbox(
        client: httpx.AsyncClient, system_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    published = await client.post(PUBLISH, headers=system_headers, json={
        "event_type": "resource.distributed", "source": "ledger", "data": {"human_id": "alice", "amount": 800}})
    assert published.status_code == 201
    event = published.json()

    body = await inbox(client, user_headers)
    [note] = body["notifications"]
    assert note["message"] == "You received $800.00 from the Liberation System"
    assert note["title"] == "💰 Resource Distribution" and note["type"] == "resource_distribution"
    assert note["correlation_id"] == event["id"]
    assert note["user_id"] == "alice" and note["created_at"].endswith("+00:00")
    assert [a["action"] for a in note["actions"]] == ["view_transaction", "acknowledge"]
    assert (body["unread_count"], body["total_count"]) == (1, 1)


async def test_an_admin_sends_and_only_the_target_sees_it(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                          user_headers: dict[str, str]) -> None:
    bob = await create_account(client, admin_headers, "bob")
    response = await send(client, admin_headers, user_id="alice", notification_type="info",
                          title="Hello Alice", message="Just for you {really}", priority=3,
                          actions=[{"label": "Open", "action": "open", "url": "/"}], data={"k": 1})
    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["notification_id"] == sent["id"]
    assert (sent["title"], sent["message"], sent["priority"]) == ("Hello Alice", "Just for you {really}", 3)

    assert [n["id"] for n in (await inbox(client, user_headers))["notifications"]] == [sent["id"]]
    assert (await inbox(client, bob))["notifications"] == []
    one = await client.get(f"{BASE}/{sent['id']}", headers=user_headers)
    assert one.status_code == 200 and one.json()["data"] == {"k": 1}


async def test_other_users_notifications_are_404(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                 user_headers: dict[str, str]) -> None:
    bob = await create_account(client, admin_headers, "bob")
    sent = (await send(client, admin_headers, user_id="alice", notification_type="welcome")).json()["id"]
    for method, path in (("GET", f"{BASE}/{sent}"), ("POST", f"{BASE}/{sent}/read"), ("DELETE", f"{BASE}/{sent}"),
                         ("POST", f"{BASE}/{sent}/actions/onboarding"), ("POST", f"{BASE}/nope/read"),
                         ("DELETE", f"{BASE}/01a21f00-0000-7000-8000-000000000000")):
        response = await client.request(method, path, headers=bob)
        assert response.status_code == 404, (method, path)
        assert response.json()["detail"].startswith("notification not found")
    assert (await inbox(client, user_headers))["unread_count"] == 1, "bob's attempts changed nothing"


async def test_read_dismiss_read_all_and_actions(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                 user_headers: dict[str, str]) -> None:
    ids = [(await send(client, admin_headers, user_id="alice", notification_type="resource_distribution",
                       data={"amount": n})).json()["id"] for n in range(4)]
    read = await client.post(f"{BASE}/{ids[0]}/read", headers=user_headers)
    assert read.json().items() >= {"notification_id": ids[0], "read": True, "unread_count": 3}.items()
    dismissed = await client.delete(f"{BASE}/{ids[1]}", headers=user_headers)
    assert dismissed.json().items() >= {"notification_id": ids[1], "dismissed": True, "unread_count": 2}.items()
    acted = await client.post(f"{BASE}/{ids[2]}/actions/acknowledge", headers=user_headers)
    assert acted.status_code == 200
    assert acted.json()["action"] == {"label": "Thank You", "action": "acknowledge"}
    assert acted.json()["unread_count"] == 1
    assert (await client.post(f"{BASE}/{ids[3]}/actions/launch_rockets", headers=user_headers)).status_code == 404

    unread = await inbox(client, user_headers, unread_only=True)
    assert [n["id"] for n in unread["notifications"]] == [ids[3]]
    everything = await client.post(f"{BASE}/read-all", headers=user_headers)
    assert everything.json() == {"marked_count": 1, "unread_count": 0}
    body = await inbox(client, user_headers)
    assert [n["id"] for n in body["notifications"]] == [ids[3], ids[2], ids[0]]
    assert all(n["read_at"] for n in body["notifications"]) and body["total_count"] == 3


async def test_role_and_broadcast_targets(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                          user_headers: dict[str, str]) -> None:
    staff = (await send(client, admin_headers, role="admin", notification_type="warning",
                        message="Backups are late")).json()
    everyone = (await send(client, admin_headers, broadcast=True, notification_type="info",
                           message="Maintenance at noon")).json()
    assert staff["role"] == "admin" and everyone["broadcast"] is True
    assert [n["message"] for n in (await inbox(client, admin_headers))["notifications"]] == [
        "Maintenance at noon", "Backups are late"]
    assert [n["message"] for n in (await inbox(client, user_headers))["notifications"]] == ["Maintenance at noon"]
    await client.post(f"{BASE}/{everyone['id']}/read", headers=user_headers)
    assert (await inbox(client, admin_headers))["unread_count"] == 2, "alice's read is hers alone"


@pytest.mark.parametrize(("body", "needle"), [
    ({"user_id": "alice", "notification_type": "birthday"}, "notification_type: unknown type 'birthday'"),
    ({"user_id": "alice", "notification_type": "info", "priority": 6}, "priority: must be an integer from 1"),
    ({"user_id": "alice", "notification_type": "info", "priority": 0}, "priority"),
    ({"user_id": "alice", "notification_type": "info",
      "actions": [{"label": f"L{n}", "action": f"a{n}"} for n in range(4)]}, "actions: at most 3 actions, got 4"),
    ({"user_id": "alice", "notification_type": "info", "title": ""}, "title: must not be empty"),
    ({"user_id": "alice", "notification_type": "info", "title": "t" * 201}, "title: is 201 characters"),
    ({"user_id": "nobody", "notification_type": "info"}, "user_id: no active account named 'nobody'"),
    ({"role": "wizard", "notification_type": "info"}, "role: unknown role 'wizard'"),
    ({"notification_type": "info"}, "target: give exactly one of user_id, role or broadcast"),
    ({"user_id": "alice", "broadcast": True, "notification_type": "info"}, "target: give exactly one"),
    ({"user_id": "alice", "notification_type": "info", "expires_at": "2001-01-01T00:00:00Z"},
     "expires_at: 2001-01-01T00:00:00+00:00 is in the past"),
    ({"user_id": "alice", "notification_type": "info", "ttl_seconds": -5}, "ttl_seconds"),
    ({"user_id": "alice", "notification_type": "info",
      "actions": [{"label": "x", "action": "go", "url": "javascript:alert(1)"}]}, "actions[0].url"),
])
async def test_validation_answers_422_with_a_message(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                     user_headers: dict[str, str], body: dict[str, Any],
                                                     needle: str) -> None:
    response = await send(client, admin_headers, **body)
    assert response.status_code == 422, response.text
    assert needle in response.json()["detail"]
    assert (await inbox(client, user_headers))["total_count"] == 0


async def test_unknown_fields_and_wrong_types_are_422_too(client: httpx.AsyncClient,
                                                          admin_headers: dict[str, str]) -> None:
    typo = await send(client, admin_headers, user_id="admin", notification_type="info", titel="oops")
    assert typo.status_code == 422 and "titel" in str(typo.json()["detail"])
    wrong = await send(client, admin_headers, user_id="admin", notification_type="info", priority="high")
    assert wrong.status_code == 422


async def test_roles_are_checked(client: httpx.AsyncClient, user_headers: dict[str, str],
                                 system_headers: dict[str, str]) -> None:
    assert (await client.get(BASE)).status_code == 401
    for path in ("/send", "/system-alert"):
        assert (await client.post(f"{BASE}{path}", headers=user_headers, json={})).status_code == 403
        assert (await client.post(f"{BASE}{path}", headers=system_headers, json={})).status_code == 403
    assert (await client.get(f"{BASE}/stats", headers=user_headers)).status_code == 403
    assert (await client.post(f"{BASE}/cleanup", headers=user_headers)).status_code == 403
    assert (await client.get(BASE, headers=system_headers)).status_code == 200


async def test_since_returns_only_what_arrived_after(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                     user_headers: dict[str, str]) -> None:
    first = (await send(client, admin_headers, user_id="alice", notification_type="info", message="one")).json()
    second = (await send(client, admin_headers, user_id="alice", notification_type="info", message="two")).json()
    third = (await send(client, admin_headers, broadcast=True, notification_type="info", message="three")).json()
    after_first = await inbox(client, user_headers, since=first["id"])
    assert [n["id"] for n in after_first["notifications"]] == [third["id"], second["id"]]
    assert after_first["unread_count"] == 3, "the unread count always covers the whole inbox"
    assert (await inbox(client, user_headers, since=third["id"]))["notifications"] == []
    by_time = await inbox(client, user_headers, since=first["created_at"])
    assert first["id"] not in [n["id"] for n in by_time["notifications"]]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (await inbox(client, user_headers, since=future))["notifications"] == []
    bad = await client.get(BASE, headers=user_headers, params={"since": "last tuesday"})
    assert bad.status_code == 422 and "since" in bad.json()["detail"]


async def test_system_alert_reaches_admins(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                           user_headers: dict[str, str]) -> None:
    response = await client.post(f"{BASE}/system-alert", headers=admin_headers, json={
        "title": "Disk", "message": "Disk is 95% full", "alert_level": "critical", "target_channel": "system"})
    assert response.status_code == 201
    alert = response.json()
    assert (alert["type"], alert["priority"], alert["role"], alert["channel"]) == ("system_alert", 4, "admin",
                                                                                   "system")
    assert [n["id"] for n in (await inbox(client, admin_headers))["notifications"]] == [alert["id"]]
    assert (await inbox(client, user_headers))["notifications"] == []
    bad = await client.post(f"{BASE}/system-alert", headers=admin_headers,
                            json={"title": "x", "message": "y", "alert_level": "doom"})
    assert bad.status_code == 422 and "alert_level" in bad.json()["detail"]


async def test_stats_and_cleanup(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                 user_headers: dict[str, str]) -> None:
    await send(client, admin_headers, user_id="alice", notification_type="info", message="stays")
    await send(client, admin_headers, user_id="alice", notification_type="info", message="goes", ttl_seconds=0.05)
    stats = (await client.get(f"{BASE}/stats", headers=admin_headers)).json()
    assert stats["total_notifications"] == 2 and stats["by_user"] == {"alice": 2}
    assert stats["by_type"] == {"info": 2} and len(stats["recent"]) == 2
    expired_at = datetime.now(UTC) + timedelta(seconds=0.05)
    while datetime.now(UTC) <= expired_at:  # the one real wait in this suite: 50 ms of wall clock
        await client.get("/api/v1/ping")
    cleaned = (await client.post(f"{BASE}/cleanup", headers=admin_headers)).json()
    assert cleaned.items() >= {"cleaned_count": 1, "pruned_count": 0}.items()
    assert [n["message"] for n in (await inbox(client, user_headers))["notifications"]] == ["stays"]


async def test_the_cleanup_job_is_scheduled(client: httpx.AsyncClient) -> None:
    health = (await client.get("/api/v1/health")).json()
    assert "notification_cleanup" in {job["id"] for job in health["scheduler"]["jobs"]}


@pytest.fixture
def refusing_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store refuses any batch holding a notification titled `poison`, as a driver refuses a value it cannot
    encode: a failure no check foresaw. Request it before `client` (the app binds the insert when it starts)."""
    insert = NotificationStore.insert

    def refusing(self: NotificationStore, rows: list[dict[str, Any]]) -> None:
        if any(row["title"] == "poison" for row in rows):
            raise UnicodeEncodeError("utf-8", "poison", 0, 1, "surrogates not allowed")
        insert(self, rows)

    monkeypatch.setattr(NotificationStore, "insert", refusing)


@pytest.mark.reliability
@pytest.mark.usefixtures("app_database", "refusing_store")
@pytest.mark.parametrize(("poison", "field"), [
    ({"title": "a\x00b"}, "title"),
    ({"message": "a\x00b"}, "message"),
    ({"data": {"note": "a\x00b"}}, "data.note"),
    ({"title": "t" * 201}, "title"),
    ({"message": "m" * 2001}, "message"),
    ({"expires_at": "9999-12-31T23:59:59-14:00"}, "expires_at"),
    ({"title": "poison"}, "notification"),  # passes every check; the store refuses it
], ids=["nul-title", "nul-message", "nul-data", "long-title", "long-message", "edge-expiry", "refused-row"])
async def test_one_poisoned_send_among_sixty_fails_alone(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                         user_headers: dict[str, str], poison: dict[str, Any],
                                                         field: str) -> None:
    bodies = [{"user_id": "alice", "notification_type": "info", "title": f"note {n}"} for n in range(60)]
    bodies[29].update(poison)
    answers = await asyncio.gather(*(send(client, admin_headers, **body) for body in bodies))

    refused = answers.pop(29)
    assert 400 <= refused.status_code < 500, refused.text
    assert field in str(refused.json()["detail"])
    assert [a.status_code for a in answers] == [201] * 59
    got = await inbox(client, user_headers, limit=100)
    assert sorted(n["title"] for n in got["notifications"]) == sorted(f"note {n}" for n in range(60) if n != 29)
