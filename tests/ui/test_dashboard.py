"""The browser session: log in on /login, see events arrive live on / without reload, log out."""

import httpx
from nicegui.testing import User

from tests.app_fixtures import ADMIN, USER_PASSWORD, create_account, log_in

PUBLISH = "/api/v1/realtime/events/publish"


async def test_pages_require_a_login(user: User) -> None:
    await user.open("/")
    await user.should_see("Sign in")
    await user.should_not_see("Live events")


async def test_wrong_password_is_explained(user: User) -> None:
    await user.open("/login")
    user.find(marker="username").type(ADMIN)
    user.find(marker="password").type("wrong-password")
    user.find(marker="login").click()
    await user.should_see("Wrong username or password.")
    await user.should_not_see("Live events")


async def test_published_event_appears_live(user: User, client: httpx.AsyncClient,
                                            admin_headers: dict[str, str]) -> None:
    await log_in(user)
    await user.should_see(f"{ADMIN} · admin")
    response = await client.post("/api/v1/realtime/events/publish", headers=admin_headers, json={
        "event_type": "truth.message.sent", "data": {"message": "the pool is open", "channel": "billboard"},
        "source": "truth-net"})
    assert response.status_code == 201
    await user.should_see("“the pool is open” on billboard")  # in words, not as a payload
    await user.should_see("Truth message sent")


async def test_recent_events_are_listed_on_open(user: User, client: httpx.AsyncClient,
                                                admin_headers: dict[str, str]) -> None:
    await client.post("/api/v1/realtime/events/publish", headers=admin_headers,
                      json={"event_type": "human.registered", "data": {"human_id": "dora"}})
    await log_in(user)
    await user.should_see("dora joined")


async def test_logout_ends_the_session(user: User) -> None:
    await log_in(user)
    user.find(marker="logout").click()
    await user.should_see("Sign in")
    await user.open("/")
    await user.should_see("Sign in")


async def publish(client: httpx.AsyncClient, headers: dict[str, str], event_type: str, **data: object) -> None:
    response = await client.post(PUBLISH, headers=headers, json={"event_type": event_type, "data": data})
    assert response.status_code == 201, response.text


async def act(client: httpx.AsyncClient, admin_headers: dict[str, str], bob: dict[str, str], action: str) -> None:
    """Bob takes an action on a notification: the platform itself publishes `user.action` (nobody may forge it)."""
    sent = await client.post("/api/v1/notifications/send", headers=admin_headers, json={
        "user_id": "bob", "notification_type": "info", "message": "choose",
        "actions": [{"label": "Do it", "action": action}]})
    assert sent.status_code == 201, sent.text
    acted = await client.post(f"/api/v1/notifications/{sent.json()['notification_id']}/actions/{action}",
                              headers=bob)
    assert acted.is_success, acted.text


async def test_a_user_never_sees_who_else_was_notified_or_what_others_did(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    bob = await create_account(client, admin_headers, "bob")
    await create_account(client, admin_headers, "alice")
    await client.post("/api/v1/notifications/send", headers=admin_headers,
                      json={"user_id": "bob", "notification_type": "info", "message": "for bob"})
    await act(client, admin_headers, bob, "stored-secret")
    await publish(client, admin_headers, "human.registered", human_id="first-public")
    await log_in(user, "alice", USER_PASSWORD)
    await user.should_see("first-public joined")
    await user.should_not_see("stored-secret")
    await user.should_not_see("Notification sent")
    assert {"users", "notifications", "events"}.isdisjoint(user.find(marker="event-feed").elements.pop()
                                                           .props["channels"])

    await client.post("/api/v1/notifications/send", headers=admin_headers,
                      json={"user_id": "bob", "notification_type": "info", "message": "for bob, live"})
    await act(client, admin_headers, bob, "live-secret")
    await publish(client, admin_headers, "human.registered", human_id="later-public")
    await user.should_see("later-public joined")  # published last: the others came before
    await user.should_not_see("live-secret")
    await user.should_not_see("Notification sent")


async def test_an_admin_sees_every_channel(user: User, client: httpx.AsyncClient,
                                           admin_headers: dict[str, str]) -> None:
    bob = await create_account(client, admin_headers, "bob")
    await act(client, admin_headers, bob, "stored-action")
    await log_in(user)
    await user.should_see("bob chose “stored-action”")
    await client.post("/api/v1/notifications/send", headers=admin_headers,
                      json={"user_id": "bob", "notification_type": "info", "message": "for bob"})
    await act(client, admin_headers, bob, "live-action")
    await user.should_see("bob chose “live-action”")
    await user.should_see("Notification sent")
    assert "users" in user.find(marker="event-feed").elements.pop().props["channels"]
