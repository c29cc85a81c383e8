"""/admin Notifications tab: send through the form to a user's inbox, every form error beside its field, system
alerts, statistics that follow sends live, and the cleanup button's report."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from tests.app_fixtures import PATIENCE, USER_PASSWORD, log_in, open_admin_tab

INBOX = "/api/v1/notifications"


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No scheduled sweep during a test (the cleanup button is the one that runs it); a history of 2 per target."""
    monkeypatch.setenv("NOTIFICATION_CLEANUP_INTERVAL", "3600")
    monkeypatch.setenv("NOTIFICATION_HISTORY_SIZE", "2")


async def open_tab(user: User) -> None:
    await log_in(user)
    await open_admin_tab(user, "notifications", "send-run")


def element(user: User, marker: str) -> Any:
    return next(iter(user.find(marker=marker).elements))


def pick(user: User, marker: str, value: object) -> None:
    """Set a toggle or number the way a click would (the simulation has no click for toggles)."""
    with user:
        element(user, marker).set_value(value)


def choose(user: User, marker: str, label: str) -> None:
    """Open the select marked `marker` and click its option `label`."""
    found = user.find(marker=marker)
    found.click()
    UserInteraction(user, found.elements, label).click()


def error_of(user: User, marker: str) -> str | None:
    props = element(user, marker).props
    return str(props["error-message"]) if props.get("error") else None


async def field_error(user: User, marker: str, want: str) -> None:
    for _ in range(PATIENCE):
        if error_of(user, marker) == want:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{marker} says {error_of(user, marker)!r}, expected {want!r}")


async def bell_lists(user: User, title: str, *, listed: bool = True) -> None:
    """Wait until the header bell's latest titles include `title` (or no longer do)."""
    titles: list[str] = []
    for _ in range(PATIENCE):
        titles = [str(t) for t in element(user, "notification-bell")._displayed_contents(only_visible=False)]
        if (title in titles) is listed:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the bell lists {titles!r}")


async def result(user: User, marker: str, prefix: str) -> str:
    """Wait for the status label `marker` to start with `prefix`; its text."""
    for _ in range(PATIENCE):
        text = str(element(user, marker).text)
        if text.startswith(prefix):
            return text
        await asyncio.sleep(0.1)
    raise AssertionError(f"{marker} shows {element(user, marker).text!r}, expected {prefix!r}…")


async def stat(user: User, key: str, want: str) -> None:
    """Wait until the statistics tile `key` shows `want` (the view is redrawn, so look it up each time)."""
    shown = None
    for _ in range(PATIENCE):
        tiles = user.find(marker=f"stat-{key}").elements
        shown = next(iter(tiles)).default_slot.children[0].text if tiles else None
        if shown == want:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"stat-{key} shows {shown!r}, expected {want!r}")


async def test_admin_sends_to_a_user_and_the_user_finds_it_in_their_inbox(
        user: User, client: httpx.AsyncClient, user_headers: dict[str, str]) -> None:
    await open_tab(user)
    user.find(marker="send-user").type("alice")
    choose(user, "send-type", "warning")
    user.find(marker="send-priority").type("4")
    user.find(marker="send-title").type("Pool update")
    user.find(marker="send-message").type("The housing pool opens at noon")
    user.find(marker="send-add-action").click()
    user.find(marker="send-action-0-label").type("See pool")
    user.find(marker="send-action-0-id").type("view_pool")
    user.find(marker="send-action-0-url").type("/")
    pick(user, "send-expiry", "ttl")
    user.find(marker="send-ttl").type("30")
    user.find(marker="send-run").click()
    text = await result(user, "send-result", "sent · id ")
    await user.should_see("Notification sent: Pool update")
    for marker in ("send-user", "send-title", "send-message"):  # ready for the next one
        assert element(user, marker).value == ""
    assert element(user, "send-expiry").value == "none"
    await user.should_not_see(marker="send-action-0-label")

    inbox = (await client.get(INBOX, headers=user_headers)).json()
    [got] = inbox["notifications"]
    assert text == f"sent · id {got['id']} · to user:alice"
    assert (got["type"], got["priority"], got["title"], got["message"]) == (
        "warning", 4, "Pool update", "The housing pool opens at noon")
    assert got["actions"] == [{"label": "See pool", "action": "view_pool", "url": "/"}]
    expires = datetime.fromisoformat(got["expires_at"])
    assert timedelta(minutes=29) < expires - datetime.now(UTC) <= timedelta(minutes=30)

    user.find(marker="logout").click()
    await log_in(user, "alice", USER_PASSWORD)
    await user.should_see("The housing pool opens at noon")
    [inbox_view] = user.find(marker="inbox").elements
    [shown] = [n for n in inbox_view.props["items"] if n["id"] == got["id"]]
    assert shown["actions"] == [{"label": "See pool", "action": "view_pool", "url": "/"}]


async def test_template_defaults_are_used_for_blank_fields_and_shown_as_placeholders(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await open_tab(user)
    choose(user, "send-type", "welcome")
    assert element(user, "send-title").props["placeholder"] == "default: 🎉 Welcome to Liberation System"
    assert element(user, "send-priority").props["placeholder"] == "default: 2 · medium"
    pick(user, "send-target", "role")
    choose(user, "send-role", "admin")
    user.find(marker="send-run").click()
    await result(user, "send-result", "sent · id ")
    [got] = (await client.get(INBOX, headers=admin_headers)).json()["notifications"]
    assert (got["title"], got["priority"], got["role"]) == ("🎉 Welcome to Liberation System", 2, "admin")
    assert [a["action"] for a in got["actions"]] == ["onboarding", "learn_more"]


async def test_every_bad_field_is_explained_beside_it_and_nothing_is_sent(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await open_tab(user)
    user.find(marker="send-user").type("nobody")
    user.find(marker="send-priority").type("7")
    user.find(marker="send-title").type("   ")
    for n in range(3):
        user.find(marker="send-add-action").click()
        user.find(marker=f"send-action-{n}-label").type(f"Button {n}")
        user.find(marker=f"send-action-{n}-id").type(f"b{n}" if n else "b1")
    assert not element(user, "send-add-action").enabled  # three is the most a notification may carry
    user.find(marker="send-add-action").click()
    await user.should_not_see(marker="send-action-3-label")
    pick(user, "send-expiry", "at")
    user.find(marker="send-expires-at").type("2020-01-31 18:00")
    user.find(marker="send-run").click()
    await result(user, "send-result", "The notification was not sent: see the 5 marked fields.")
    assert error_of(user, "send-user") == "There is no active account named nobody."
    assert error_of(user, "send-priority") == "Use a whole number from 1 (low) to 5 (emergency), or leave it blank."
    assert error_of(user, "send-title") == "Write a title, or clear the field to use the template's."
    assert element(user, "send-actions-error").text == "Give each button its own action id."
    assert error_of(user, "send-expires-at") == "That time has passed: choose a later one."
    assert not [m for m in user.notify.messages if "not sent" in m]  # said once, on the form, not in a toast

    user.find(marker="send-user").clear().type("admin")
    user.find(marker="send-priority").clear()
    user.find(marker="send-title").clear().type("x" * 201)
    user.find(marker="send-action-2-remove").click()
    assert element(user, "send-add-action").enabled
    user.find(marker="send-action-0-id").clear().type("b0")
    user.find(marker="send-action-1-id").clear().type("bad id!")
    user.find(marker="send-expires-at").clear().type("tomorrow")
    user.find(marker="send-run").click()
    await field_error(user, "send-title", "Too long: 201 characters, at most 200.")
    assert error_of(user, "send-user") is None and error_of(user, "send-priority") is None
    assert error_of(user, "send-action-1-id") == "Use 1 to 64 letters, digits or _ . : - (no spaces)."
    assert element(user, "send-actions-error").text == ""
    assert error_of(user, "send-expires-at") == "Write the time as YYYY-MM-DD HH:MM (UTC)."

    stats = (await client.get(f"{INBOX}/stats", headers=admin_headers)).json()
    assert stats["total_notifications"] == 0


async def test_system_alert_reaches_the_admins_and_rings_the_bell(user: User, client: httpx.AsyncClient,
                                                                  admin_headers: dict[str, str]) -> None:
    await open_tab(user)
    user.find(marker="alert-run").click()
    await user.should_see("The alert was not sent: see the 2 marked fields.")
    assert error_of(user, "alert-title") == "Write the alert's title."
    assert error_of(user, "alert-message") == "Write the alert's message."

    user.find(marker="alert-title").type("Disk almost full")
    user.find(marker="alert-message").type("93% of the data disk is used")
    choose(user, "alert-level", "critical · priority 4")
    user.find(marker="alert-run").click()
    text = await result(user, "alert-result", "alert sent")
    assert error_of(user, "alert-title") is None
    [got] = (await client.get(INBOX, headers=admin_headers)).json()["notifications"]
    assert text == f"alert sent · id {got['id']} · priority 4 · #system"
    assert (got["title"], got["message"], got["type"], got["role"]) == (
        "Disk almost full", "93% of the data disk is used", "system_alert", "admin")
    await bell_lists(user, "Disk almost full")  # its count is drawn by the browser
    assert (await client.get(INBOX, headers=admin_headers)).json()["unread_count"] == 1


async def test_statistics_follow_sends_without_a_reload(user: User, client: httpx.AsyncClient,
                                                       admin_headers: dict[str, str],
                                                       user_headers: dict[str, str]) -> None:
    await open_tab(user)
    await stat(user, "total", "0")
    await user.should_see("Nothing sent yet.")
    response = await client.post(f"{INBOX}/send", headers=admin_headers, json={
        "user_id": "alice", "notification_type": "success", "message": "Counted", "priority": 3})
    assert response.status_code == 201
    await stat(user, "total", "1")
    await stat(user, "users", "1")
    await stat(user, "unread", "1")
    with user.scope(marker="stats-by-type"):
        await user.should_see("success")
    with user.scope(marker="stats-by-priority"):
        await user.should_see("3 · high")
    with user.scope(marker="stats-recent"):
        await user.should_see("✅ Success")

    await client.post(f"{INBOX}/{response.json()['id']}/read", headers=user_headers)
    await stat(user, "read", "1")
    await stat(user, "unread", "0")


async def test_cleanup_reports_what_it_removed(user: User, client: httpx.AsyncClient,
                                               admin_headers: dict[str, str]) -> None:
    for n in range(3):  # a history of 2 per target: the oldest of these is pruned
        response = await client.post(f"{INBOX}/send", headers=admin_headers,
                                     json={"role": "user", "notification_type": "info", "message": f"m{n}"})
        assert response.status_code == 201
    await open_tab(user)
    response = await client.post(f"{INBOX}/send", headers=admin_headers, json={
        "role": "admin", "notification_type": "info", "title": "Short-lived", "message": "short-lived",
        "ttl_seconds": 0.2})
    assert response.status_code == 201
    await bell_lists(user, "Short-lived")
    await asyncio.sleep(0.3)  # real time must pass the expiry: the app's clock is the wall clock
    user.find(marker="notifications-cleanup").click()
    assert await result(user, "cleanup-result", "removed") == "removed 1 expired, pruned 1"
    await user.should_see("Notification cleanup: removed 1 expired, pruned 1")
    await bell_lists(user, "Short-lived", listed=False)  # the expiry push took it off the bell
    user.find(marker="notifications-cleanup").click()
    await user.should_see("Notification cleanup: removed 0 expired, pruned 0")


async def test_a_user_target_without_a_name_is_explained_in_the_forms_words(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await open_tab(user)
    user.find(marker="send-run").click()
    await field_error(user, "send-user", "Choose who receives it: a user, a role, or everyone.")
    assert "user_id" not in str(element(user, "send-user").props["error-message"])
    assert (await client.get(f"{INBOX}/stats", headers=admin_headers)).json()["total_notifications"] == 0


@pytest.mark.parametrize(("field", "reason", "words"), [
    ("target", "give exactly one of user_id, role or broadcast=true",
     "Choose who receives it: a user, a role, or everyone."),
    ("priority", "must be an integer from 1 (low) to 5 (emergency), got 0",
     "Use a whole number from 1 (low) to 5 (emergency), or leave it blank."),
    ("message", "is 2001 characters, longer than 2000", "Too long: 2,001 characters, at most 2,000."),
    ("data", "JSON is 20000 bytes, over the 16384-byte limit", "Too much data: 20,000 bytes, at most 16,384."),
    ("actions[0].url", "must start with https://, http:// or / (a path on this site)",
     "Start with https://, http:// or / (a page of this site)."),
    ("ttl_seconds", "must be more than 0 and at most 315360000", "Use more than 0 minutes and at most ten years."),
])
def test_check_reasons_in_the_forms_words(field: str, reason: str, words: str) -> None:
    from components.notifications.admin import in_words

    assert in_words(field, reason) == words


def test_toasts_sit_in_the_lower_right_corner(monkeypatch: pytest.MonkeyPatch) -> None:
    from nicegui import ui

    from theme import toast

    shown: list[dict[str, Any]] = []
    monkeypatch.setattr(ui, "notify", lambda message, **options: shown.append({"message": message, **options}))
    toast("Sent")
    toast("Could not send", "negative")
    assert [(t["message"], t["type"], t["position"]) for t in shown] == [
        ("Sent", "positive", "bottom-right"), ("Could not send", "negative", "bottom-right")]


async def test_dont_digest_sends_past_the_persons_digest(
        user: User, client: httpx.AsyncClient, user_headers: dict[str, str]) -> None:
    window = {"digest_seconds": {"warning": 3600}}
    assert (await client.put(f"{INBOX}/preferences", headers=user_headers, json=window)).status_code == 200
    await open_tab(user)
    for title, no_digest in (("Held", False), ("Right now", True)):
        user.find(marker="send-user").type("alice")
        choose(user, "send-type", "warning")
        user.find(marker="send-title").type(title)
        pick(user, "send-no-digest", no_digest)
        user.find(marker="send-run").click()
        await user.should_see(f"Notification sent: {title}")
    assert element(user, "send-no-digest").value is False, "cleared for the next one"
    inbox = (await client.get(INBOX, headers=user_headers)).json()["notifications"]
    for notification in inbox:  # reading a held one collapses its digest; the other is read as it is
        await client.post(f"{INBOX}/{notification['id']}/read", headers=user_headers)
    titles = [n["title"] for n in (await client.get(INBOX, headers=user_headers)).json()["notifications"]]
    assert sorted(titles) == ["Right now", "🗂️ 1 warning"]
