"""/admin: a notification's delivery trace opens as a dialog from its row in the statistics, and from the event
that caused it."""

import httpx
from nicegui.testing import User

from tests.app_fixtures import log_in, open_admin_tab

INBOX = "/api/v1/notifications"


async def test_the_trace_dialog_opens_from_a_row_of_the_statistics(user: User, client: httpx.AsyncClient,
                                                                  admin_headers: dict[str, str],
                                                                  user_headers: dict[str, str]) -> None:
    sent = await client.post(f"{INBOX}/send", headers=admin_headers, json={
        "user_id": "alice", "notification_type": "info", "title": "Traced <b>words</b>", "message": "m"})
    assert sent.status_code == 201
    notification_id = sent.json()["id"]
    await client.post(f"{INBOX}/{notification_id}/read", headers=user_headers)
    await log_in(user)
    await open_admin_tab(user, "notifications", "stats-recent")
    await user.should_see(marker=f"trace-open-{notification_id}")
    user.find(marker=f"trace-open-{notification_id}").click()
    await user.should_see(marker="trace-dialog")
    with user.scope(marker="trace-dialog"):
        await user.should_see("Trace · Traced <b>words</b>")  # the title as text, not markup
        await user.should_see("sent by admin")
        await user.should_see("read by alice")
        await user.should_see(marker="trace-step-delivered")


async def test_the_event_detail_lists_the_notifications_it_caused_with_their_trace(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    published = await client.post("/api/v1/realtime/events/publish", headers=admin_headers, json={
        "event_type": "resource.distributed", "source": "ledger", "data": {"human_id": "alice", "amount": 800}})
    assert published.status_code == 201
    event_id = published.json()["id"]
    [note] = (await client.get(INBOX, headers=user_headers)).json()["notifications"]
    await log_in(user)
    await open_admin_tab(user, "events")
    await user.should_see(marker=f"result-{event_id}", retries=40)
    user.find(marker=f"result-{event_id}").trigger("click")
    await user.should_see(marker="event-notifications")
    user.find(marker=f"trace-open-{note['id']}").click()
    await user.should_see(marker="trace-dialog")
    with user.scope(marker="trace-dialog"):
        await user.should_see("resource distributed → the human", retries=40)
