"""The inbox on / and the header bell: notifications sent through REST appear without a reload; read, dismiss,
actions, read-all, the unread filter, priorities and times; the bell's live count and where it leads."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from nicegui import ui
from nicegui.testing import User

from components.notifications.card import expires_in, relative_time
from tests.app_fixtures import PATIENCE, USER_PASSWORD, create_account

SEND = "/api/v1/notifications/send"


async def log_in(user: User, username: str = "alice", password: str = USER_PASSWORD) -> None:
    await user.open("/login")
    user.find(marker="username").type(username)
    user.find(marker="password").type(password)
    user.find(marker="login").click()
    await user.should_see(marker="notification-inbox")


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
    await user.should_see("No notifications.")
    await user.should_not_see(marker="unread-badge")

    sent = await send(client, admin_headers, user_id="alice", notification_type="resource_distribution",
                      data={"amount": 800})
    await user.should_see("You received $800.00 from the Liberation System")
    await user.should_see(marker=f"notification-{sent}")
    await user.should_not_see("No notifications.")
    assert badge(user) == "1"

    user.find(marker=f"read-{sent}").click()
    await user.should_not_see(marker="unread-badge")
    await user.should_not_see(marker=f"read-{sent}")
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
    await user.should_see("for everyone")
    await user.should_not_see("for bob only")
    await user.should_not_see("for admins only")
    assert badge(user) == "1"


async def test_stored_notifications_are_listed_on_open_newest_first(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    older = await send(client, admin_headers, user_id="alice", notification_type="info", message="older")
    newer = await send(client, admin_headers, user_id="alice", notification_type="warning", message="newer")
    await client.post(f"/api/v1/notifications/{older}/read", headers=user_headers)
    await log_in(user)
    await user.should_see("newer")
    await user.should_see("older")
    cards = user.find(marker="notification-list").elements.pop().default_slot.children
    [top] = user.find(marker=f"notification-{newer}").elements
    [below] = user.find(marker=f"notification-{older}").elements
    assert cards.index(top) == 0 and cards.index(below) == 1
    assert badge(user) == "1"
    await user.should_not_see(marker=f"read-{older}")


async def test_dismiss_and_read_all(user: User, client: httpx.AsyncClient, admin_headers: dict[str, str],
                                    user_headers: dict[str, str]) -> None:
    first = await send(client, admin_headers, user_id="alice", notification_type="info", message="first")
    await send(client, admin_headers, user_id="alice", notification_type="info", message="second")
    await send(client, admin_headers, broadcast=True, notification_type="info", message="third")
    await log_in(user)
    assert badge(user) == "3"
    user.find(marker=f"dismiss-{first}").click()
    await user.should_not_see("first")
    await user.should_see("second")
    assert badge(user) == "2"
    user.find(marker="read-all").click()
    await user.should_not_see(marker="unread-badge")
    body = (await client.get("/api/v1/notifications", headers=user_headers)).json()
    assert body["unread_count"] == 0 and body["total_count"] == 2


async def test_an_action_button_publishes_user_action_and_marks_read(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    sent = await send(client, admin_headers, user_id="alice", notification_type="user_action",
                      message="Confirm your housing choice", actions=[{"label": "Confirm", "action": "confirm"}])
    await log_in(user)
    user.find(marker=f"action-{sent}-confirm").click()
    await user.should_not_see(marker="unread-badge")
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
    await user.should_not_see(marker="unread-badge")
    await user.should_not_see(marker=f"read-{sent}")
    await client.delete(f"/api/v1/notifications/{sent}", headers=user_headers)
    await user.should_not_see("elsewhere")
    await user.should_see("No notifications.")


def bell(user: User) -> tuple[str | None, str]:
    """The bell's badge text (None while hidden) and its accessible label."""
    [button] = user.find(marker="notification-bell").elements
    shown = user.find(marker="bell-badge").elements if user._sees(marker="bell-badge") else set()
    return (str(next(iter(shown)).text) if shown else None), str(button.props["aria-label"])


async def bell_shows(user: User, badge_text: str | None, label: str) -> None:
    for _ in range(PATIENCE):
        if bell(user) == (badge_text, label):
            return
        await asyncio.sleep(0.1)
    assert bell(user) == (badge_text, label)


async def test_the_bell_counts_unread_live_and_drops_on_read(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    await log_in(user)
    await bell_shows(user, None, "No unread notifications")
    first = await send(client, admin_headers, user_id="alice", notification_type="info", message="one")
    second = await send(client, admin_headers, user_id="alice", notification_type="info", message="two")
    await send(client, admin_headers, broadcast=True, notification_type="info", message="three")
    await bell_shows(user, "3", "3 unread notifications")

    user.find(marker=f"read-{first}").click()
    await bell_shows(user, "2", "2 unread notifications")
    await client.post(f"/api/v1/notifications/{second}/read", headers=user_headers)  # another device
    await bell_shows(user, "1", "1 unread notification")
    user.find(marker="read-all").click()
    await bell_shows(user, None, "No unread notifications")


async def test_the_bell_leads_to_the_inbox(user: User, client: httpx.AsyncClient, admin_headers: dict[str, str],
                                          user_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    await send(client, admin_headers, user_id="alice", notification_type="info", message="waiting for you")
    await log_in(user)
    scripts: list[str] = []  # the simulation runs no JavaScript: record what the browser would be asked to do
    monkeypatch.setattr(ui, "run_javascript", lambda code, **_: scripts.append(code))
    user.find(marker="notification-bell").click()
    for _ in range(PATIENCE):
        if scripts:
            break
        await asyncio.sleep(0.1)
    assert len(scripts) == 1 and "querySelector('.notification-inbox')" in scripts[0]
    assert "scrollIntoView" in scripts[0]
    await user.should_see("waiting for you")  # still on /

    await user.open("/admin")  # refused to a plain user, but the header and its bell are there
    await user.should_see(marker="admin-refused")
    await bell_shows(user, "1", "1 unread notification")
    user.find(marker="notification-bell").click()
    await user.should_see("waiting for you")
    await user.should_not_see(marker="admin-refused")


async def test_unread_only_shows_just_the_unread_ones(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    old = await send(client, admin_headers, user_id="alice", notification_type="info", message="already read")
    new = await send(client, admin_headers, user_id="alice", notification_type="info", message="still new")
    await client.post(f"/api/v1/notifications/{old}/read", headers=user_headers)
    await log_in(user)
    await user.should_see("already read")
    user.find(marker="unread-only").click()
    await user.should_not_see("already read")
    await user.should_see("still new")

    user.find(marker=f"read-{new}").click()  # read in this view: it leaves the view
    await user.should_not_see("still new")
    await user.should_see("No unread notifications.")
    latest = await send(client, admin_headers, user_id="alice", notification_type="info", message="just came")
    await user.should_see(marker=f"notification-{latest}")

    user.find(marker="unread-only").click()
    await user.should_see("already read")
    await user.should_see("still new")
    await user.should_see("just came")


async def test_priority_styling_and_relative_time(user: User, client: httpx.AsyncClient,
                                                 admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    urgent = await send(client, admin_headers, user_id="alice", notification_type="warning", priority=5,
                        message="Evacuate the east wing")
    calm = await send(client, admin_headers, user_id="alice", notification_type="info", message="calm")
    await log_in(user)
    await user.should_see(marker=f"notification-{urgent}")
    [card] = user.find(marker=f"notification-{urgent}").elements
    assert {"priority-bar", "priority-5"} <= set(card.classes)  # the theme's pulsing emergency bar
    [other] = user.find(marker=f"notification-{calm}").elements
    assert {"priority-bar", "priority-1"} <= set(other.classes)
    [chip] = user.find(marker=f"priority-{urgent}").elements
    assert chip.text == "emergency" and "priority-chip" in chip.classes
    [time] = user.find(marker=f"time-{urgent}").elements
    assert time.text == "just now"


def test_relative_times_read_like_speech() -> None:
    now = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
    cases = {timedelta(seconds=5): "just now", timedelta(seconds=-30): "just now",
             timedelta(minutes=3, seconds=59): "3 min ago", timedelta(hours=2, minutes=59): "2 h ago",
             timedelta(days=1, hours=5): "yesterday", timedelta(days=4): "4 days ago",
             timedelta(days=40): "2025-12-22"}
    assert {ago: relative_time(now - ago, now) for ago in cases} == cases
    assert expires_in(now + timedelta(seconds=30), now) == "expires in 1 min"
    assert expires_in(now + timedelta(minutes=90), now) == "expires in 2 h"
    assert expires_in(now + timedelta(days=2), now) == "expires in 2 days"
    assert expires_in(now - timedelta(seconds=1), now) == "expired"


async def test_actions_do_what_they_say(user: User, client: httpx.AsyncClient, admin_headers: dict[str, str],
                                        user_headers: dict[str, str]) -> None:
    money = await send(client, admin_headers, user_id="alice", notification_type="resource_distribution",
                       data={"amount": 800})
    await log_in(user)
    user.find(marker=f"action-{money}-acknowledge").click()
    await user.should_see("“Thank You” recorded")
    user.find(marker=f"action-{money}-view_transaction").click()
    await user.should_see(marker="details-data")
    [details] = user.find(marker="notification-details").elements
    assert details.parent_slot is not None and details.parent_slot.parent.value is True  # the dialog is open
    await user.should_see('"amount": 800')

    link = await send(client, admin_headers, user_id="alice", notification_type="info", message="go admin",
                      actions=[{"label": "Open panel", "action": "open", "url": "/admin"}])
    await user.should_see(marker=f"action-{link}-open")
    user.find(marker=f"action-{link}-open").click()
    await user.should_see(marker="admin-refused")  # our own page opens in place
    history = (await client.get("/api/v1/realtime/events/history", headers=admin_headers,
                                params={"event_type": "user.action"})).json()
    assert [e["data"]["action"] for e in history["events"]] == ["open", "view_transaction", "acknowledge"]
