"""/admin Notifications tab: schedule a send for later from the form, see it listed, cancel it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from nicegui.testing import User

from tests.ui.test_admin_notifications import error_of, open_tab, pick

SCHEDULED = "/api/v1/notifications/scheduled"


async def test_an_admin_schedules_a_send_sees_it_listed_and_cancels_it(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    await open_tab(user)
    user.find(marker="send-user").type("alice")
    user.find(marker="send-title").type("Tomorrow's briefing")
    pick(user, "send-when", "later")
    user.find(marker="send-deliver-at").type("2020-01-01 09:00")
    user.find(marker="send-run").click()
    await user.should_see("That time has passed: choose a later one.")
    assert error_of(user, "send-deliver-at") == "That time has passed: choose a later one."

    when = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    user.find(marker="send-deliver-at").clear().type(when)  # the rest of the form kept what was typed
    user.find(marker="send-run").click()
    await user.should_see("Scheduled: Tomorrow's briefing")
    [listed] = (await client.get(SCHEDULED, headers=admin_headers)).json()["scheduled"]
    assert listed["status"] == "scheduled" and listed["target"] == "user:alice"
    assert (await client.get("/api/v1/notifications", headers=user_headers)).json()["notifications"] == []

    user.find(marker=f"scheduled-cancel-{listed['scheduled_id']}").click()
    await user.should_see("Cancelled: Tomorrow's briefing")
    [listed] = (await client.get(SCHEDULED, headers=admin_headers)).json()["scheduled"]
    assert listed["status"] == "cancelled"
