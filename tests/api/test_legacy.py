"""Clients of the original system keep working: every original route in its original form, with the keys they read."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.app_fixtures import create_account

# (method, path, query, body, keys the original's clients read, admin only)
ORIGINAL: list[tuple[str, str, dict[str, Any], Any, set[str], bool]] = [
    ("GET", "/api/v1/notifications/notifications", {"unread_only": "true"}, None,
     {"notifications", "total_count", "unread_only", "success", "timestamp"}, False),
    ("POST", "/api/v1/notifications/notifications/send",
     {"user_id": "alice", "title": "Hi", "message": "Hello", "notification_type": "info", "priority": "3"},
     {"amount": 5}, {"notification_id", "success", "timestamp"}, True),
    ("POST", "/api/v1/notifications/notifications/system-alert",
     {"title": "Heads up", "message": "Pumps", "alert_level": "warning", "target_channel": "system"},
     {"site": "north"}, {"notification_id", "success", "timestamp"}, True),
    ("GET", "/api/v1/notifications/notifications/stats", {}, None,
     {"total_notifications", "success", "timestamp"}, True),
    ("POST", "/api/v1/notifications/notifications/cleanup", {}, None, {"cleaned_count", "success", "timestamp"}, True),
    ("POST", "/api/v1/realtime/events/publish", {"event_type": "mesh.node.connected", "source": "mesh-net"},
     {"node_id": "n-1"}, {"id", "type", "data", "success", "timestamp"}, True),
    ("POST", "/api/v1/realtime/ws/broadcast", {"channel": "system", "message_type": "announcement"},
     {"text": "hello"}, {"sent_count", "success", "timestamp"}, True),
    ("POST", "/api/v1/realtime/ws/notify/alice", {"message_type": "note"}, {"text": "hi"},
     {"sent_count", "success", "timestamp"}, True),
    ("GET", "/api/v1/realtime/ws/stats", {}, None, {"websocket_stats", "event_stats", "timestamp"}, True),
    ("GET", "/api/v1/metrics/dashboard", {}, None, {"timestamp", "metrics", "summary", "key_metrics"}, False),
]


@pytest.mark.parametrize(("method", "path", "query", "body", "keys", "admin_only"), ORIGINAL,
                         ids=[f"{m} {p}" for m, p, *_ in ORIGINAL])
async def test_an_original_route_answers_in_its_original_form(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                              method: str, path: str, query: dict[str, Any], body: Any,
                                                              keys: set[str], admin_only: bool) -> None:
    user = await create_account(client, admin_headers, "alice")
    answer = await client.request(method, path, params=query, json=body, headers=admin_headers)
    assert answer.is_success, answer.text
    assert keys <= answer.json().keys()
    assert (await client.request(method, path, params=query, json=body)).status_code == 401
    as_user = await client.request(method, path, params=query, json=body, headers=user)
    assert as_user.status_code == (403 if admin_only else 200), as_user.text


async def test_original_forms_check_their_input(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await create_account(client, admin_headers, "alice")
    bad = [
        ("/api/v1/notifications/notifications/send", {"user_id": "alice", "priority": "9"}, {}),
        ("/api/v1/notifications/notifications/send", {"user_id": "nobody-here"}, {}),
        ("/api/v1/realtime/ws/broadcast", {"channel": "no spaces allowed", "message_type": "x"}, {}),
        ("/api/v1/realtime/events/publish", {"event_type": "resource.distributed"}, {"amount": -5}),
    ]
    for path, query, body in bad:
        answer = await client.post(path, params=query, json=body, headers=admin_headers)
        assert answer.status_code == 422, (path, answer.text)


async def test_the_dashboard_metrics_are_keyed_by_name_in_the_original_order(client: httpx.AsyncClient,
                                                                             admin_headers: dict[str, str]) -> None:
    payload = (await client.get("/api/v1/metrics/dashboard", headers=admin_headers)).json()
    assert list(payload["metrics"]) == ["resources_distributed_total", "active_humans", "truth_messages_sent",
                                        "mesh_nodes_active", "websocket_connections", "system_cpu_usage",
                                        "system_memory_usage"]
    assert payload["metrics"]["active_humans"].keys() == {"current_value", "average", "trend", "unit"}


async def test_the_aliases_are_marked_deprecated_in_the_docs(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert paths["/api/v1/notifications/notifications"]["get"]["deprecated"] is True
    assert paths["/api/v1/notifications/notifications/send"]["post"]["deprecated"] is True
    broadcast = {p["name"]: p for p in paths["/api/v1/realtime/ws/broadcast"]["post"]["parameters"]}
    assert broadcast["channel"]["deprecated"] is True
