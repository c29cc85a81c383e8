"""The Preferences page: reached from the user menu, saved for every view, and what it changes on the inbox."""

from __future__ import annotations

import httpx
from nicegui import ui
from nicegui.testing import User

from components.notifications.inbox import Inbox
from tests.ui.test_inbox import eventually, log_in, send

PREFS = "/api/v1/notifications/preferences"


async def test_a_person_mutes_a_type_from_the_menu_and_its_broadcasts_stop_arriving_live(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    await log_in(user)
    user.find(marker="menu-preferences").click()
    await user.should_see(marker="pref-save")
    user.find(marker="pref-type-warning").click()  # off
    user.find(marker="pref-min-priority").elements.pop().set_value(2)
    user.find(marker="pref-save").click()
    await user.should_see("Saved. Every open view follows it now.")

    async def stored() -> bool:
        found = (await client.get(PREFS, headers=user_headers)).json()
        return found["types"]["warning"] is False and found["min_priority"] == 2

    await eventually(stored)

    await user.open("/")
    await user.should_see(marker="inbox")
    await send(client, admin_headers, broadcast=True, notification_type="warning", title="Muted broadcast")
    await send(client, admin_headers, broadcast=True, notification_type="info", title="Wanted broadcast",
               priority=3)
    await user.should_see("Wanted broadcast")
    [inbox] = user.find(marker="inbox").elements
    assert isinstance(inbox, Inbox)
    assert "Muted broadcast" not in inbox._displayed_contents(only_visible=True)


async def test_a_bad_quiet_hours_time_is_marked_and_nothing_is_saved(
        user: User, client: httpx.AsyncClient, user_headers: dict[str, str]) -> None:
    await log_in(user)
    await user.open("/preferences")
    user.find(marker="pref-quiet").click()
    start = user.find(marker="pref-quiet-start").elements.pop()
    assert isinstance(start, ui.input)
    start.set_value("25:99")
    user.find(marker="pref-save").click()
    await user.should_see("must be a time of day")
    assert (await client.get(PREFS, headers=user_headers)).json()["quiet_hours"] is None


async def test_a_type_collected_into_a_digest_shows_as_one_entry_with_its_items(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    await log_in(user)
    await user.open("/preferences")
    user.find(marker="pref-digest-resource_distribution").elements.pop().set_value(900)
    user.find(marker="pref-save").click()
    await user.should_see("Saved. Every open view follows it now.")

    async def stored() -> bool:
        found = (await client.get(PREFS, headers=user_headers)).json()
        return bool(found["digest_seconds"] == {"resource_distribution": 900})

    await eventually(stored)
    for amount in (800, 1200):
        await send(client, admin_headers, user_id="alice", notification_type="resource_distribution",
                   data={"amount": amount}, title="<b>paid</b>")
    await user.open("/")
    await user.should_see("<b>paid</b>")  # held, listed as they are until the digest collapses
    held = (await client.get("/api/v1/notifications", headers=user_headers)).json()["notifications"][0]
    assert (await client.post(f"/api/v1/notifications/{held['id']}/read", headers=user_headers)).status_code == 200
    await user.should_see("💰 2 resource distributions, $2,000.00 in total")
    [inbox] = user.find(marker="inbox").elements
    assert isinstance(inbox, Inbox)
    assert "<b>paid</b>" not in inbox._displayed_contents(only_visible=True), "the items are replaced by the entry"
    [bell] = user.find(marker="notification-bell").elements
    assert bell._displayed_contents(only_visible=True)[-1] == "💰 2 resource distributions, $2,000.00 in total"
    assert "<b>paid</b>" not in bell._displayed_contents(only_visible=True), "the bell's latest follow it too"
