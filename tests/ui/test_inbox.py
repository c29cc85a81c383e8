"""The inbox on /: notifications sent through REST appear without a reload; read, dismiss, actions, read-all."""

import httpx
from nicegui import ui
from nicegui.testing import User

from tests.app_fixtures import USER_PASSWORD, create_account

SEND = "/api/v1/notifications/send"
PATIENCE = 50  # should_see retries (0.1 s apart): the page renders in a worker round-trip or two, slower on a busy box


async def log_in(user: User, username: str = "alice", password: str = USER_PASSWORD) -> None:
    await user.open("/login")
    user.find(marker="username").type(username)
    user.find(marker="password").type(password)
    user.find(marker="login").click()
    await user.should_see(marker="notification-inbox", retries=PATIENCE)


async def send(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> str:
    response = await client.post(SEND, headers=headers, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def badge(user: User) -> str:
    [element] = user.find(marker="unread-badge").elements
    assert isinstance(element, ui.badge)
    return str(element.text)


async def test_a_sent_notification_appears_live_and_reading_it_drops_the_badge(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    await log_in(user)
    await user.should_see("No notifications.", retries=PATIENCE)
    await user.should_not_see(marker="unread-badge", retries=PATIENCE)

    sent = await send(client, admin_headers, user_id="alice", notification_type="resource_distribution",
                      data={"amount": 800})
    await user.should_see("You received $800.00 from the Liberation System", retries=PATIENCE)
    await user.should_see(marker=f"notification-{sent}", retries=PATIENCE)
    await user.should_not_see("No notifications.", retries=PATIENCE)
    assert badge(user) == "1"

    user.find(marker=f"read-{sent}").click()
    await user.should_not_see(marker="unread-badge", retries=PATIENCE)
    await user.should_not_see(marker=f"read-{sent}", retries=PATIENCE)
    unread = (await client.get("/api/v1/notifications", headers=user_headers)).json()["unread_count"]
    assert unread == 0


async def test_other_people_notifications_never_show(user: User, client: httpx.AsyncClient,
                                                     admin_headers: dict[str, str]) -> None:
    await create_account(client, admin_headers, "alice")
    await create_account(client, admin_headers, "bob")
    await log_in(user)
    await send(client, admin_headers, user_id="bob", notification_type="info", message="for bob only")
    await send(client, admin_headers, role="admin", notification_type="info", message="for admins only")
    await send(client, admin_headers, broadcast=True, notification_type="info", message="for everyone")
    await user.should_see("for everyone", retries=PATIENCE)
    await user.should_not_see("for bob only", retries=PATIENCE)
    await user.should_not_see("for admins only", retries=PATIENCE)
    assert badge(user) == "1"


async def test_stored_notifications_are_listed_on_open_newest_first(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    older = await send(client, admin_headers, user_id="alice", notification_type="info", message="older")
    newer = await send(client, admin_headers, user_id="alice", notification_type="warning", message="newer")
    await client.post(f"/api/v1/notifications/{older}/read", headers=user_headers)
    await log_in(user)
    await user.should_see("newer", retries=PATIENCE)
    await user.should_see("older", retries=PATIENCE)
    cards = user.find(marker="notification-list").elements.pop().default_slot.children
    [top] = user.find(marker=f"notification-{newer}").elements
    [below] = user.find(marker=f"notification-{older}").elements
    assert cards.index(top) == 0 and cards.index(below) == 1
    assert badge(user) == "1"
    await user.should_not_see(marker=f"read-{older}", retries=PATIENCE)


async def test_dismiss_and_read_all(user: User, client: httpx.AsyncClient, admin_headers: dict[str, str],
                                    user_headers: dict[str, str]) -> None:
    first = await send(client, admin_headers, user_id="alice", notification_type="info", message="first")
    await send(client, admin_headers, user_id="alice", notification_type="info", message="second")
    await send(client, admin_headers, broadcast=True, notification_type="info", message="third")
    await log_in(user)
    assert badge(user) == "3"
    user.find(marker=f"dismiss-{first}").click()
    await user.should_not_see("first", retries=PATIENCE)
    await user.should_see("second", retries=PATIENCE)
    assert badge(user) == "2"
    user.find(marker="read-all").click()
    await user.should_not_see(marker="unread-badge", retries=PATIENCE)
    body = (await client.get("/api/v1/notifications", headers=user_headers)).json()
    assert body["unread_count"] == 0 and body["total_count"] == 2


async def test_an_action_button_publishes_user_action_and_marks_read(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    sent = await send(client, admin_headers, user_id="alice", notification_type="user_action",
                      message="Confirm your housing choice", actions=[{"label": "Confirm", "action": "confirm"}])
    await log_in(user)
    user.find(marker=f"action-{sent}-confirm").click()
    await user.should_not_see(marker="unread-badge", retries=PATIENCE)
    history = (await client.get("/api/v1/realtime/events/history", headers=admin_headers,
                                params={"event_type": "user.action"})).json()
    assert [e["data"] for e in history["events"]] == [
        {"user_id": "alice", "action": "confirm", "notification_id": sent}]


async def test_a_read_on_another_device_updates_this_page(user: User, client: httpx.AsyncClient,
                                                          admin_headers: dict[str, str],
                                                          user_headers: dict[str, str]) -> None:
    sent = await send(client, admin_headers, user_id="alice", notification_type="info", message="elsewhere")
    await log_in(user)
    assert badge(user) == "1"
    await client.post(f"/api/v1/notifications/{sent}/read", headers=user_headers)  # e.g. from the phone app
    await user.should_not_see(marker="unread-badge", retries=PATIENCE)
    await user.should_not_see(marker=f"read-{sent}", retries=PATIENCE)
    await client.delete(f"/api/v1/notifications/{sent}", headers=user_headers)
    await user.should_not_see("elsewhere", retries=PATIENCE)
    await user.should_see("No notifications.", retries=PATIENCE)
