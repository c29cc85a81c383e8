"""Metrics over REST: role checks, validation, summaries, history, alert rules and the Prometheus endpoint."""

import json
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.app_fixtures import bearer, create_account

METRICS = "/api/v1/metrics"
RULES = "/api/v1/metrics/alert-rules"


async def test_anonymous_callers_get_401_and_users_can_read(client: httpx.AsyncClient,
                                                            user_headers: dict[str, str]) -> None:
    for path in (METRICS, f"{METRICS}/dashboard", f"{METRICS}/system_cpu_usage",
                 f"{METRICS}/system_cpu_usage/history"):
        assert (await client.get(path)).status_code == 401, path
        assert (await client.get(path, headers=user_headers)).status_code == 200, path
    listed = (await client.get(METRICS, headers=user_headers)).json()
    names = {m["name"] for m in listed["metrics"]}
    assert {"system_cpu_usage", "api_response_time", "error_rate", "mesh_nodes_active"} <= names
    cpu = next(m for m in listed["metrics"] if m["name"] == "system_cpu_usage")
    assert cpu["unit"] == "percent" and cpu["category"] == "system" and "trend" in cpu


async def test_roles_for_writing(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                 user_headers: dict[str, str], system_headers: dict[str, str]) -> None:
    body = {"name": "homes_built", "metric_type": "counter", "category": "resource", "unit": "count"}
    assert (await client.post(METRICS, headers=user_headers, json=body)).status_code == 403
    assert (await client.post(METRICS, headers=system_headers, json=body)).status_code == 403
    created = await client.post(METRICS, headers=admin_headers, json=body)
    assert created.status_code == 201 and created.json()["type"] == "counter"
    record = f"{METRICS}/homes_built/record"
    assert (await client.post(record, headers=user_headers, json={"value": 1})).status_code == 403
    assert (await client.post(record, headers=system_headers, json={"value": 2})).status_code == 200
    answer = await client.post(record, headers=admin_headers, json={"value": 3})
    assert answer.json() == {"name": "homes_built", "type": "counter", "recorded": 3, "value": 5, "created": False}
    for method in ("get", "post"):
        assert (await client.request(method, RULES, headers=user_headers, json={})).status_code == 403
    assert (await client.delete(f"{RULES}/default-cpu-high", headers=system_headers)).status_code == 403


async def test_validation(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    record = f"{METRICS}/truth_messages_sent/record"
    for raw in (b'{"value": NaN}', b'{"value": Infinity}', b'{"value": "lots"}', b"{}"):
        response = await client.post(record, headers={**admin_headers, "Content-Type": "application/json"},
                                     content=raw)
        assert response.status_code == 422, raw
    decrement = await client.post(record, headers=admin_headers, json={"value": -1})
    assert decrement.status_code == 422 and "never decreases" in decrement.json()["detail"]
    rate = await client.post(f"{METRICS}/error_rate/record", headers=admin_headers, json={"value": -2})
    assert rate.status_code == 422
    gauge_down = await client.post(f"{METRICS}/mesh_latency_avg/record", headers=admin_headers, json={"value": -2})
    assert gauge_down.status_code == 200  # a gauge may go anywhere
    bad_name = await client.post(METRICS, headers=admin_headers, json={"name": "9 lives", "metric_type": "gauge"})
    assert bad_name.status_code == 422
    bad_type = await client.post(METRICS, headers=admin_headers, json={"name": "lives", "metric_type": "sundial"})
    assert bad_type.status_code == 422
    duplicate = await client.post(METRICS, headers=admin_headers, json={"name": "system_cpu_usage"})
    assert duplicate.status_code == 409
    assert (await client.get(f"{METRICS}/no_such_metric", headers=admin_headers)).status_code == 404
    assert (await client.get(f"{METRICS}/no_such_metric/history", headers=admin_headers)).status_code == 404
    window = await client.get(f"{METRICS}/system_cpu_usage", headers=admin_headers, params={"window": 0})
    assert window.status_code == 422


async def test_recording_shows_in_summary_and_history(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                      system_headers: dict[str, str]) -> None:
    for value in (120, 80, 100):
        response = await client.post(f"{METRICS}/mesh_latency_avg/record", headers=system_headers,
                                     json={"value": value})
        assert response.status_code == 200
    summary = (await client.get(f"{METRICS}/mesh_latency_avg", headers=admin_headers)).json()
    assert (summary["count"], summary["min"], summary["max"], summary["mean"], summary["latest"]) == (3, 80, 120,
                                                                                                      100, 100)
    assert summary["p50"] == 100 and summary["unit"] == "milliseconds" and "direction" in summary["trend"]
    history = (await client.get(f"{METRICS}/mesh_latency_avg/history", headers=admin_headers,
                                params={"window": 600})).json()
    assert history["step"] == 60 and sum(p["count"] for p in history["points"]) == 3
    assert history["points"][-1]["value"] == 100 and history["points"][-1]["max"] == 120
    raw = (await client.get(f"{METRICS}/mesh_latency_avg/history", headers=admin_headers,
                            params={"raw": True})).json()
    assert [p["value"] for p in raw["points"]] == [120, 80, 100]
    created = await client.post(f"{METRICS}/solar_output/record", headers=system_headers, json={"value": 7})
    assert created.json()["created"] is True and created.json()["type"] == "gauge"


async def test_alert_rules(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    listed = (await client.get(RULES, headers=admin_headers)).json()
    assert {r["metric_name"] for r in listed["rules"]} == {"system_cpu_usage", "system_memory_usage",
                                                          "system_disk_usage"}
    body = {"metric_name": "error_rate", "threshold": 5, "condition": ">=", "severity": "critical",
            "for_seconds": 30, "cooldown_seconds": 600}
    created = await client.post(RULES, headers=admin_headers, json=body)
    assert created.status_code == 201
    rule = created.json()
    assert {k: rule[k] for k in body} == body and rule["state"] == "ok"
    assert rule["id"] in {r["id"] for r in (await client.get(RULES, headers=admin_headers)).json()["rules"]}
    for bad in ({**body, "condition": "=>"}, {**body, "severity": "loud"}, {**body, "metric_name": "nope"},
                {**body, "for_seconds": -1}, {**body, "threshold": None}):
        assert (await client.post(RULES, headers=admin_headers, json=bad)).status_code == 422, bad
    for raw in (b'"threshold": NaN', b'"threshold": 1, "cooldown_seconds": Infinity'):
        not_finite = await client.post(RULES, headers={**admin_headers, "Content-Type": "application/json"},
                                       content=b'{"metric_name": "error_rate", ' + raw + b"}")
        assert not_finite.status_code == 422, raw
    assert (await client.delete(f"{RULES}/{rule['id']}", headers=admin_headers)).json() == {"deleted": rule["id"]}
    assert (await client.delete(f"{RULES}/{rule['id']}", headers=admin_headers)).status_code == 404


async def test_dashboard_payload(client: httpx.AsyncClient, user_headers: dict[str, str]) -> None:
    payload = (await client.get(f"{METRICS}/dashboard", headers=user_headers)).json()
    assert [m["name"] for m in payload["key_metrics"]] == [
        "resources_distributed_total", "active_humans", "truth_messages_sent", "mesh_nodes_active",
        "websocket_connections", "system_cpu_usage", "system_memory_usage"]
    assert {"value", "average", "trend", "unit"} <= set(payload["key_metrics"][0])
    assert payload["summary"]["system_health"] in {"healthy", "degraded", "unhealthy", "critical"}


async def test_prometheus_endpoint_is_public_by_default(client: httpx.AsyncClient,
                                                        admin_headers: dict[str, str]) -> None:
    await client.post(f"{METRICS}/resources_distributed_total/record", headers=admin_headers, json={"value": 800})
    response = await client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    parsed = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert parsed["resources_distributed"].type == "counter"
    assert parsed["resources_distributed"].samples[0].value == 800
    assert parsed["api_response_time"].type == "histogram"
    count = next(s for s in parsed["api_response_time"].samples if s.name == "api_response_time_count")
    assert count.value >= 2  # the token request and the record above went through the timing middleware
    assert "process_cpu_seconds" in parsed


@pytest.fixture
def private_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_PUBLIC", "false")


async def test_prometheus_endpoint_can_require_a_token(private_metrics: None, client: httpx.AsyncClient,
                                                       admin_headers: dict[str, str],
                                                       user_headers: dict[str, str]) -> None:
    assert (await client.get("/metrics")).status_code == 401
    assert (await client.get("/metrics", headers=user_headers)).status_code == 403
    scraper = await create_account(client, admin_headers, "prometheus", role="system")
    assert (await client.get("/metrics", headers=scraper)).status_code == 200
    assert (await client.get("/metrics", headers=bearer("forged"))).status_code == 401


@pytest.mark.reliability
async def test_extreme_values_leave_every_metrics_route_answering_valid_json(
        client: httpx.AsyncClient, system_headers: dict[str, str], user_headers: dict[str, str]) -> None:
    for value in (1e308, -1e308):
        recorded = await client.post(f"{METRICS}/swing/record", headers=system_headers, json={"value": value})
        assert recorded.status_code == 200, recorded.text

    def strict(response: httpx.Response) -> Any:
        assert response.status_code == 200, response.text

        def refuse(constant: str) -> None:
            raise AssertionError(f"{constant} is not JSON")

        return json.loads(response.text, parse_constant=refuse)

    listed = strict(await client.get(METRICS, headers=user_headers))
    swing = next(m for m in listed["metrics"] if m["name"] == "swing")
    assert (swing["value"], swing["average"]) == (-1e308, 0.0) and swing["trend"]["direction"] == "down"
    strict(await client.get(f"{METRICS}/dashboard", headers=user_headers))
    summary = strict(await client.get(f"{METRICS}/swing", headers=user_headers))
    assert (summary["count"], summary["mean"], summary["stddev"]) == (2, 0.0, 1e308)
    strict(await client.get(f"{METRICS}/swing/history", headers=user_headers))
