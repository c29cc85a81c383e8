"""Scheduled sends over REST: stored at once, listed for admins, delivered by the leader's job, cancellable."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

SEND = "/api/v1/notifications/send"
SCHEDULED = "/api/v1/notifications/scheduled"


@pytest.fixture
def fast_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The delivery job every second (before the app starts: ask for it ahead of `client`)."""
    monkeypatch.setenv("NOTIFICATION_SCHEDULED_INTERVAL", "1")


async def test_a_scheduled_send_waits_then_arrives_once(fast_jobs: None, client: httpx.AsyncClient,
                                                         admin_headers: dict[str, str],
                                                         user_headers: dict[str, str]) -> None:
    when = datetime.now(UTC) + timedelta(seconds=1.5)
    answer = await client.post(SEND, headers=admin_headers, json={
        "user_id": "alice", "notification_type": "info", "title": "At the tone", "deliver_at": when.isoformat()})
    assert answer.status_code == 201, answer.text
    scheduled = answer.json()
    assert scheduled["status"] == "scheduled" and scheduled["created_by"] == "admin"
    assert (await client.get("/api/v1/notifications", headers=user_headers)).json()["notifications"] == []

    async with asyncio.timeout(10):
        while not (found := (await client.get("/api/v1/notifications", headers=user_headers)).json()[  # noqa: ASYNC110 - the state is behind the API
                "notifications"]):
            await asyncio.sleep(0.2)
    assert [n["title"] for n in found] == ["At the tone"]
    [listed] = (await client.get(SCHEDULED, headers=admin_headers)).json()["scheduled"]
    assert (listed["status"], listed["notification_id"]) == ("delivered", found[0]["id"])
    again = await client.delete(f"{SCHEDULED}/{listed['scheduled_id']}", headers=admin_headers)
    assert again.status_code == 409 and "already delivered" in again.text


async def test_a_scheduled_send_is_cancelled_and_bad_times_are_refused(
        client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    answer = await client.post(SEND, headers=admin_headers, json={
        "broadcast": True, "notification_type": "warning", "deliver_at": later})
    assert answer.status_code == 201, answer.text
    scheduled_id = answer.json()["scheduled_id"]
    assert (await client.get(SCHEDULED, headers=admin_headers, params={"status": "scheduled"})).json()["count"] == 1
    cancelled = await client.delete(f"{SCHEDULED}/{scheduled_id}", headers=admin_headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await client.delete(f"{SCHEDULED}/nope", headers=admin_headers)).status_code == 404
    assert (await client.get(SCHEDULED, headers=admin_headers, params={"status": "lost"})).status_code == 422

    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    refused = await client.post(SEND, headers=admin_headers, json={
        "user_id": "alice", "notification_type": "info", "deliver_at": past})
    assert refused.status_code == 422 and "deliver_at" in refused.text
    expiring = await client.post(SEND, headers=admin_headers, json={
        "user_id": "alice", "notification_type": "info", "deliver_at": later, "ttl_seconds": 60,
        "expires_at": later})
    assert expiring.status_code == 422
    assert (await client.get(SCHEDULED, headers=user_headers)).status_code == 403
