"""The inbox on / and the header bell, as the server sees them: what each view is sent, and what its buttons do.

The cards, counts and times are drawn in the browser (tests/browser/test_dashboard.py checks those); here a view's
element knows the titles and messages it sent, and its events (read, dismiss, action, filter, more) are triggered
as the browser would."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from nicegui.testing import User

from components.notifications.inbox import PAGE, Inbox
from services.notifications import NotificationService
from tests.app_fixtures import USER_PASSWORD, create_account

SEND = "/api/v1/notifications/send"


async def log_in(user: User, username: str = "alice", password: str = USER_PASSWORD) -> None:
    await user.open("/login")
    user.find(marker="username").type(username)
    user.find(marker="password").type(password)
    user.find(marker="login").click()
    await user.should_see(marker="inbox")


async def send(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> str:
    response = await client.post(SEND, headers=headers, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll the API until `check` passes: a triggered event's handler runs after `trigger` returns."""
    async with asyncio.timeout(10):
        while not await check():  # noqa: ASYNC110 - the state is behind the API
            await asyncio.sleep(0.05)


def inbox(user: User) -> Inbox:
    [element] = user.find(marker="inbox").elements
    assert isinstance(element, Inbox)
    return element


async def test_a_sent_notification_appears_live_and_a_read_reaches_the_server(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    await log_in(user)
    sent = await send(client, admin_headers, user_id="alice", notification_type="resource_distribution",
                      data={"amount": 800})
    await user.should_see("You received $800.00 from the Liberation System")
    user.find(marker="inbox").trigger("read", {"id": sent})

    async def read() -> bool:
        return (await client.get("/api/v1/notifications", headers=user_headers)).json()["unread_count"] == 0

    await eventually(read)


async def test_other_people_notifications_never_show(user: User, client: httpx.AsyncClient,
                                                     admin_headers: dict[str, str]) -> None:
    await create_account(client, admin_headers, "alice")
    await create_account(client, admin_headers, "bob")
    await log_in(user)
    await send(client, admin_headers, user_id="bob", notification_type="info", message="for bob only")
    await send(client, admin_headers, role="admin", notification_type="info", message="for admins only")
    await send(client, admin_headers, user_id="alice", notification_type="info", message="for alice")
    await user.should_see("for alice")
    await user.should_not_see("for bob only")
    await user.should_not_see("for admins only")


async def test_stored_notifications_are_sent_newest_first_and_older_ones_page_in(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await create_account(client, admin_headers, "alice")
    for n in range(PAGE + 5):
        await send(client, admin_headers, user_id="alice", notification_type="info", message=f"number {n:02d}")
    await log_in(user)
    items = inbox(user).props["items"]
    assert [i["message"] for i in items[:2]] == [f"number {PAGE + 4:02d}", f"number {PAGE + 3:02d}"]
    assert len(items) == PAGE and inbox(user).props["hasMore"] is True
    await user.should_not_see("number 00")
    user.find(marker="inbox").trigger("more", {"before": items[-1]["id"]})
    await user.should_see("number 00")


async def test_filters_ask_the_server_for_matching_notifications(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await create_account(client, admin_headers, "alice")
    await send(client, admin_headers, user_id="alice", notification_type="warning", priority=4,
               message="the reactor is warm")
    await send(client, admin_headers, user_id="alice", notification_type="info", priority=1, message="lunch is ready")
    await log_in(user)
    await user.should_see("lunch is ready")
    user.find(marker="inbox").trigger("filter", {"q": "reactor", "type": "", "priority": 0, "unreadOnly": False})
    await user.should_not_see("lunch is ready")
    await user.should_see("the reactor is warm")
    user.find(marker="inbox").trigger("filter", {"q": "", "type": "info", "priority": 0, "unreadOnly": False})
    await user.should_see("lunch is ready")
    await user.should_not_see("the reactor is warm")
    user.find(marker="inbox").trigger("filter", {"q": "", "type": "", "priority": 3, "unreadOnly": False})
    await user.should_see("the reactor is warm")
    await user.should_not_see("lunch is ready")


async def test_dismiss_and_read_all_reach_the_server(user: User, client: httpx.AsyncClient,
                                                     admin_headers: dict[str, str],
                                                     user_headers: dict[str, str]) -> None:
    await log_in(user)
    first = await send(client, admin_headers, user_id="alice", notification_type="info", message="first")
    await send(client, admin_headers, user_id="alice", notification_type="info", message="second")
    await user.should_see("second")
    user.find(marker="inbox").trigger("dismiss", {"id": first})
    await user.should_not_see("first")
    user.find(marker="inbox").trigger("read_all")

    async def done() -> bool:
        listed = (await client.get("/api/v1/notifications", headers=user_headers)).json()
        return [n["message"] for n in listed["notifications"]] == ["second"] and listed["unread_count"] == 0

    await eventually(done)


async def test_a_choice_is_made_once_and_recorded(user: User, client: httpx.AsyncClient,
                                                   admin_headers: dict[str, str],
                                                   user_headers: dict[str, str]) -> None:
    await log_in(user)
    sent = await send(client, admin_headers, user_id="alice", notification_type="info", title="Approve the budget?",
                      actions=[{"label": "Approve", "action": "approve"}, {"label": "Decline", "action": "decline"}])
    await user.should_see("Approve the budget?")
    user.find(marker="inbox").trigger("action", {"id": sent, "action": "approve"})
    await user.should_see("“Approve” recorded")
    user.find(marker="inbox").trigger("action", {"id": sent, "action": "decline"})  # a stale second device
    await user.should_see("Already answered: approve")
    mine = (await client.get(f"/api/v1/notifications/{sent}", headers=user_headers)).json()
    assert mine["action_taken"] == "approve" and mine["read_at"] is not None
    again = await client.post(f"/api/v1/notifications/{sent}/actions/decline", headers=user_headers)
    assert again.status_code == 409 and "approve" in again.json()["detail"]
    actions = (await client.get("/api/v1/realtime/events/history", headers=admin_headers,
                                params={"event_type": "user.action"})).json()["events"]
    assert [e["data"]["action"] for e in actions] == ["approve"]


async def test_the_bell_lists_the_latest_titles_live(user: User, client: httpx.AsyncClient,
                                                     admin_headers: dict[str, str]) -> None:
    await create_account(client, admin_headers, "alice")
    await log_in(user)
    await send(client, admin_headers, user_id="alice", notification_type="warning", title="Check the pumps")
    bell = user.find(marker="notification-bell")
    await user.should_see("Check the pumps")
    assert bell.elements


async def test_three_open_views_of_one_account_cost_one_unread_count_per_change(
        user: User, create_user: Callable[[], User], client: httpx.AsyncClient, admin_headers: dict[str, str],
        user_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The count is computed once where the change happens and rides on the push to every view of the account;
    no view asks the database again."""
    views = [user, create_user(), create_user()]
    for view in views:
        await log_in(view)
    sent = await send(client, admin_headers, user_id="alice", notification_type="info", title="Counted once")
    for view in views:
        await view.should_see("Counted once")
    asked: list[str] = []
    original = NotificationService.unread_count

    async def counted(self: NotificationService, user_id: str, **options: object) -> int:
        asked.append(user_id)
        return await original(self, user_id, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(NotificationService, "unread_count", counted)
    read = await client.post(f"/api/v1/notifications/{sent}/read", headers=user_headers)
    assert read.status_code == 200, read.text
    await asyncio.sleep(0.5)  # every view has had the push
    assert asked == ["alice"]
