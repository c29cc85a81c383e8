"""GET /api/v1/notifications/{id}/trace against a running server with a raw WebSocket client connected."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.test_ws_support import get, on, opened, post, tokens_for, until
from tests.browser.conftest import Server, start_server, stop_server

BASE = "/api/v1/notifications"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("trace"), REPLICA_NAME="replica-a")
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def tokens(server: Server) -> dict[str, str]:
    return tokens_for(server, "alice", "bob")


async def test_a_rule_made_notification_shows_event_rule_decision_delivery_and_read(
        server: Server, tokens: dict[str, str]) -> None:
    ws = await opened(server, tokens["alice"])
    try:
        published = await post(server, tokens["admin"], "/api/v1/realtime/events/publish", {
            "event_type": "resource.distributed", "source": "ledger", "data": {"human_id": "alice", "amount": 800}})
        assert published.status_code == 201, published.text
        event = published.json()
        frame = await until(ws, on("user:alice", "notification"))
    finally:
        await ws.close()
    notification_id = frame["data"]["id"]
    assert (await post(server, tokens["alice"], f"{BASE}/{notification_id}/read", {})).status_code == 200

    answer = await get(server, tokens["alice"], f"{BASE}/{notification_id}/trace")
    assert answer.status_code == 200, answer.text
    steps = answer.json()["steps"]
    assert [s["step"] for s in steps] == ["event", "rule", "decision", "delivered", "read"]
    assert steps[0]["detail"] == {"event_id": event["id"], "type": "resource.distributed", "source": "ledger",
                                  "correlation_id": event["correlation_id"], "timestamp": event["timestamp"]}
    assert "resource distributed → the human" in steps[1]["text"]
    assert steps[2]["detail"] == {"decision": "pushed"} and steps[2]["recipient"] == "alice"
    assert steps[3]["detail"]["channel"] == "user:alice" and steps[3]["detail"]["connections"] >= 1
    assert steps[4]["text"] == "read by alice"
    assert {s["replica"] for s in steps} == {"replica-a"}
    assert [s["at"] for s in steps] == sorted(s["at"] for s in steps)


async def test_a_broadcast_trace_names_the_sender_and_counts_recipients(server: Server,
                                                                        tokens: dict[str, str]) -> None:
    ws = await opened(server, tokens["alice"])
    try:
        sent = await post(server, tokens["admin"], f"{BASE}/send",
                          {"broadcast": True, "notification_type": "info", "message": "to everyone"})
        assert sent.status_code == 201, sent.text
        await until(ws, on("broadcast", "notification"))
    finally:
        await ws.close()
    notification_id = sent.json()["notification_id"]

    body = (await get(server, tokens["admin"], f"{BASE}/{notification_id}/trace")).json()
    assert body["steps"][0]["step"] == "sent_by" and body["steps"][0]["text"] == "sent by admin"
    assert ("decision", "alice") in {(s["step"], s["recipient"]) for s in body["steps"]}
    delivered = [s for s in body["steps"] if s["step"] == "delivered"]
    assert [s["detail"]["channel"] for s in delivered] == ["broadcast"]
    assert delivered[0]["detail"]["connections"] >= 1
    assert body["recipients_listed"] >= 1 and body["recipients_not_listed"] == 0

    mine = (await get(server, tokens["bob"], f"{BASE}/{notification_id}/trace")).json()
    assert all(s["recipient"] in (None, "bob") for s in mine["steps"])  # a recipient sees their own steps only


async def test_someone_elses_or_an_unknown_notification_is_404_and_anonymous_401(server: Server,
                                                                                  tokens: dict[str, str]) -> None:
    sent = await post(server, tokens["admin"], f"{BASE}/send",
                      {"user_id": "alice", "notification_type": "info", "message": "private"})
    notification_id = sent.json()["notification_id"]
    other = await get(server, tokens["bob"], f"{BASE}/{notification_id}/trace")
    assert other.status_code == 404 and "not found" in other.json()["detail"]
    unknown = await get(server, tokens["admin"], f"{BASE}/0190aaaa-0000-7000-8000-000000000001/trace")
    assert unknown.status_code == 404
    async with httpx.AsyncClient(base_url=server.url) as api:
        assert (await api.get(f"{BASE}/{notification_id}/trace")).status_code == 401
    nonsense = await get(server, tokens["alice"], f"{BASE}/{'x' * 80}/trace")
    assert nonsense.status_code == 404  # like the other notification routes: not an id is not found
