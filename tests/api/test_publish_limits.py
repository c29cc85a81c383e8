"""One account's publish flood is cut off with 429 and Retry-After; other accounts publish on, and so does the
flooding account once it has waited."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.app_fixtures import create_account

pytestmark = pytest.mark.reliability

PUBLISH = "/api/v1/realtime/events/publish"
EVENT = {"event_type": "resource.pool.updated", "data": {"total": 1}, "source": "ledger"}


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """5 events at once then 2 per second; 40 kB at once then 20 kB per second (read when main.py runs)."""
    for name, value in (("EVENT_PUBLISH_RATE", "2"), ("EVENT_PUBLISH_BURST", "5"),
                        ("EVENT_PUBLISH_BYTES_RATE", "20000"), ("EVENT_PUBLISH_BYTES_BURST", "40000")):
        monkeypatch.setenv(name, value)


async def _flood(client: httpx.AsyncClient, headers: dict[str, str], count: int,
                 body: dict[str, object] = EVENT) -> list[httpx.Response]:
    return [await client.post(PUBLISH, headers=headers, json=body) for _ in range(count)]


def _refused(answers: list[httpx.Response]) -> list[httpx.Response]:
    assert {a.status_code for a in answers} <= {201, 429}, [a.text for a in answers if a.status_code not in (201, 429)]
    return [a for a in answers if a.status_code == 429]


async def test_a_burst_over_the_event_rate_gets_429_and_others_are_not_affected(
        client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    flooder = await create_account(client, admin_headers, "ingest", role="system")
    neighbour = await create_account(client, admin_headers, "ledger", role="system")

    answers = await _flood(client, flooder, 12)
    refused = _refused(answers)
    assert 1 <= len(refused) <= 12 - 5, [a.status_code for a in answers]
    assert all(a.status_code == 201 for a in answers[:5])  # the burst itself passes
    for answer in refused:
        assert answer.headers["content-type"].startswith("application/json")
        assert "rate limit" in answer.json()["detail"]
        assert 1 <= int(answer.headers["Retry-After"]) <= 2

    assert all(a.status_code == 201 for a in await _flood(client, neighbour, 5))  # another account: its own bucket
    assert all(a.status_code == 201 for a in await _flood(client, admin_headers, 5))

    await asyncio.sleep(int(refused[-1].headers["Retry-After"]))
    again = await client.post(PUBLISH, headers=flooder, json=EVENT)
    assert again.status_code == 201, again.text
    history = await client.get("/api/v1/realtime/events/history", headers=admin_headers,
                               params={"event_type": EVENT["event_type"], "limit": 1000})
    stored = history.json()["total_count"]
    assert stored == 12 - len(refused) + 5 + 5 + 1  # a refused publish stored nothing


async def test_large_events_are_limited_by_bytes(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    flooder = await create_account(client, admin_headers, "ingest", role="system")
    large = {**EVENT, "data": {"total": 1, "note": "x" * 15_000}}  # about 15 kB: two fit in the 40 kB burst
    answers = await _flood(client, flooder, 8, large)
    refused = _refused(answers)
    assert [a.status_code for a in answers[:2]] == [201, 201]
    assert len(refused) >= 2, [a.status_code for a in answers]  # well under the event limit, over the byte limit
    assert all(a.status_code == 201 for a in await _flood(client, flooder, 1))  # a small one still fits
    await asyncio.sleep(int(refused[-1].headers["Retry-After"]))
    assert (await client.post(PUBLISH, headers=flooder, json=large)).status_code == 201
