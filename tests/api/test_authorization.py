"""Who may call what: one row per route of the OpenAPI schema, checked for five identities.

A route added without a row here fails `test_every_route_has_a_row`, so nobody ships a route unchecked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.app_fixtures import create_account

PUBLIC = frozenset({"anonymous", "user", "other", "admin", "system"})
SIGNED_IN = frozenset({"user", "other", "admin", "system"})
ADMIN = frozenset({"admin"})
ADMIN_OR_SYSTEM = frozenset({"admin", "system"})
OWNER = frozenset({"user"})
"""Routes on one notification: only its recipient ("user"); anyone else signed in gets 404, never a hint."""
OWNER_OR_ADMIN = frozenset({"user", "admin"})
"""The delivery trace: its recipient or an admin; anyone else signed in gets 404, as for OWNER."""


UNKNOWN_ID_PATHS = ("rule", "scheduled/", "silences/")
"""Rows that name an id nobody made: the allowed caller gets an honest 404."""


@dataclass(frozen=True)
class Row:
    allowed: frozenset[str]
    body: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)


ROUTES: dict[tuple[str, str], Row] = {
    ("GET", "/api/v1/ping"): Row(PUBLIC),
    ("GET", "/api/v1/health"): Row(PUBLIC),
    ("POST", "/api/v1/auth/token"): Row(PUBLIC, {"username": "admin", "password": "admin-password-1"}),
    ("GET", "/metrics"): Row(PUBLIC),
    ("POST", "/api/v1/realtime/events/publish"): Row(ADMIN_OR_SYSTEM, {"event_type": "mesh.node.connected",
                                                                       "data": {"node_id": "n-1"}}),
    ("GET", "/api/v1/realtime/events/history"): Row(ADMIN),
    ("GET", "/api/v1/realtime/ws/stats"): Row(ADMIN),
    ("GET", "/api/v1/realtime/ws/connections"): Row(ADMIN),
    ("POST", "/api/v1/realtime/ws/broadcast"): Row(ADMIN, {"channel": "system", "message_type": "note",
                                                           "data": {"text": "hi"}}),
    ("POST", "/api/v1/realtime/ws/notify/{user_id}"): Row(ADMIN, {"message_type": "note", "data": {}},
                                                          {"user_id": "alice"}),
    ("GET", "/api/v1/notifications"): Row(SIGNED_IN),
    ("POST", "/api/v1/notifications/read-all"): Row(SIGNED_IN),
    ("POST", "/api/v1/notifications/send"): Row(ADMIN, {"user_id": "alice", "notification_type": "info"}),
    ("POST", "/api/v1/notifications/system-alert"): Row(ADMIN, {"title": "t", "message": "m"}),
    ("GET", "/api/v1/notifications/stats"): Row(ADMIN),
    ("POST", "/api/v1/notifications/cleanup"): Row(ADMIN),
    ("GET", "/api/v1/notifications/preferences"): Row(SIGNED_IN),
    ("PUT", "/api/v1/notifications/preferences"): Row(SIGNED_IN, {"min_priority": 2}),
    ("POST", "/api/v1/notifications/digests/collapse"): Row(SIGNED_IN),
    ("GET", "/api/v1/notifications/scheduled"): Row(ADMIN),
    ("DELETE", "/api/v1/notifications/scheduled/{scheduled_id}"): Row(ADMIN, params={"scheduled_id": "nope"}),
    ("GET", "/api/v1/notifications/{notification_id}"): Row(OWNER),
    ("DELETE", "/api/v1/notifications/{notification_id}"): Row(OWNER),
    ("POST", "/api/v1/notifications/{notification_id}/read"): Row(OWNER),
    ("GET", "/api/v1/notifications/{notification_id}/trace"): Row(OWNER_OR_ADMIN),
    ("POST", "/api/v1/notifications/{notification_id}/actions/{action}"): Row(OWNER, params={"action": "go"}),
    ("GET", "/api/v1/metrics"): Row(SIGNED_IN),
    ("POST", "/api/v1/metrics"): Row(ADMIN, {"name": "built_homes", "metric_type": "counter",
                                             "category": "resource", "description": "", "unit": "count"}),
    ("GET", "/api/v1/metrics/dashboard"): Row(SIGNED_IN),
    ("GET", "/api/v1/metrics/alert-rules"): Row(ADMIN),
    ("POST", "/api/v1/metrics/alert-rules"): Row(ADMIN, {"metric_name": "system_cpu_usage", "threshold": 99,
                                                         "condition": ">", "severity": "warning"}),
    ("DELETE", "/api/v1/metrics/alert-rules/{rule_id}"): Row(ADMIN, params={"rule_id": "no-such-rule"}),
    ("GET", "/api/v1/metrics/silences"): Row(ADMIN),
    ("POST", "/api/v1/metrics/silences"): Row(ADMIN, {"metric_name": "system_cpu_usage", "duration_seconds": 600,
                                                      "reason": "maintenance"}),
    ("DELETE", "/api/v1/metrics/silences/{silence_id}"): Row(ADMIN, params={"silence_id": "nope"}),
    ("GET", "/api/v1/metrics/{name}"): Row(SIGNED_IN, params={"name": "system_cpu_usage"}),
    ("GET", "/api/v1/metrics/{name}/history"): Row(SIGNED_IN, params={"name": "system_cpu_usage"}),
    ("POST", "/api/v1/metrics/{name}/record"): Row(ADMIN_OR_SYSTEM, {"value": 1}, {"name": "custom_reading"}),
    # the original system's forms (app/api/legacy.py)
    ("GET", "/api/v1/notifications/notifications"): Row(SIGNED_IN),
    ("POST", "/api/v1/notifications/notifications/send"): Row(ADMIN, {"amount": 5},
                                                              query={"user_id": "alice", "notification_type": "info"}),
    ("POST", "/api/v1/notifications/notifications/system-alert"): Row(ADMIN, {}, query={"title": "t", "message": "m"}),
    ("GET", "/api/v1/notifications/notifications/stats"): Row(ADMIN),
    ("POST", "/api/v1/notifications/notifications/cleanup"): Row(ADMIN),
    ("POST", "/api/v1/notifications/notifications/{notification_id}/read"): Row(OWNER),
    ("DELETE", "/api/v1/notifications/notifications/{notification_id}"): Row(OWNER),
    ("GET", "/api/v1/users"): Row(ADMIN),
    ("POST", "/api/v1/users"): Row(ADMIN, {"username": "zed", "password": "zed-password", "role": "user"}),
    ("PATCH", "/api/v1/users/{username}"): Row(ADMIN, {"role": "user"}, {"username": "bob"}),
}


async def test_every_route_has_a_row(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    served = {(method.upper(), path) for path, operations in schema["paths"].items() for method in operations}
    assert served - ROUTES.keys() == set(), "a route without an authorization row"
    assert ROUTES.keys() - served == set(), "a row for a route that is no longer served"


@pytest.mark.parametrize("route", list(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
async def test_each_identity_gets_what_its_role_allows(route: tuple[str, str], client: httpx.AsyncClient,
                                                       admin_headers: dict[str, str]) -> None:
    method, path = route
    row = ROUTES[route]
    identities = {
        "anonymous": {},
        "user": await create_account(client, admin_headers, "alice"),
        "other": await create_account(client, admin_headers, "bob"),
        "admin": admin_headers,
        "system": await create_account(client, admin_headers, "feeder", role="system"),
    }
    for identity, headers in identities.items():
        params = dict(row.params)
        if "{notification_id}" in path:  # a fresh notification of alice's for every call
            sent = await client.post("/api/v1/notifications/send", headers=admin_headers, json={
                "user_id": "alice", "notification_type": "info", "actions": [{"label": "Go", "action": "go"}]})
            params["notification_id"] = sent.json()["notification_id"]
        url = path.format(**params)
        answer = await client.request(method, url, headers=headers, json=row.body, params=row.query)
        if identity in row.allowed:
            assert answer.status_code not in (401, 403, 404) or (answer.status_code == 404 and any(
                part in url for part in UNKNOWN_ID_PATHS)), \
                f"{identity} refused: {answer.status_code} {answer.text[:200]}"
            assert answer.status_code < 500, answer.text[:200]
        elif identity == "anonymous":
            assert answer.status_code == 401, f"anonymous: {answer.status_code}"
        elif row.allowed in (OWNER, OWNER_OR_ADMIN):
            assert answer.status_code == 404, f"{identity} on alice's notification: {answer.status_code}"
        else:
            assert answer.status_code == 403, f"{identity}: {answer.status_code} {answer.text[:200]}"
