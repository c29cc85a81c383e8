"""End to end: a value recorded over REST trips an alert rule, admins are notified, and it resolves."""

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

METRICS = "/api/v1/metrics"


@pytest.fixture
def fast_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Evaluate rules every 0.2 s instead of every 5 s (set before the app starts)."""
    monkeypatch.setenv("METRICS_PUSH_INTERVAL", "0.2")


async def eventually(read: Callable[[], Any], attempts: int = 100) -> Any:
    """The first truthy answer of `read()` within about 5 seconds."""
    for _ in range(attempts):
        found = await read()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("nothing arrived")


async def test_an_alert_rule_fires_notifies_admins_and_resolves(fast_evaluation: None, client: httpx.AsyncClient,
                                                                admin_headers: dict[str, str],
                                                                system_headers: dict[str, str]) -> None:
    created = await client.post(METRICS, headers=admin_headers, json={
        "name": "queue_depth", "metric_type": "gauge", "category": "performance", "unit": "jobs"})
    assert created.status_code == 201
    rule = (await client.post(f"{METRICS}/alert-rules", headers=admin_headers, json={
        "metric_name": "queue_depth", "threshold": 100, "condition": ">", "severity": "critical"})).json()
    await client.post(f"{METRICS}/queue_depth/record", headers=system_headers, json={"value": 150})

    async def fired_events() -> list[dict[str, Any]]:
        history = (await client.get("/api/v1/realtime/events/history", headers=admin_headers,
                                    params={"event_type": "metric.alert.fired"})).json()
        return list(history["events"])

    fired = await eventually(fired_events)
    assert fired[0]["data"] == {"rule_id": rule["id"], "metric_name": "queue_depth", "value": 150,
                                "threshold": 100.0, "condition": ">", "severity": "critical", "unit": "jobs"}

    async def titles() -> set[str]:
        inbox = (await client.get("/api/v1/notifications", headers=admin_headers)).json()
        return {n["title"] for n in inbox["notifications"]}

    assert "🚨 Metric Alert: queue_depth" in await eventually(
        lambda: _having(titles, "🚨 Metric Alert: queue_depth"))
    rules = (await client.get(f"{METRICS}/alert-rules", headers=admin_headers)).json()
    assert rules["firing"] == 1 and rules["system_health"] == "critical"
    dashboard = (await client.get(f"{METRICS}/dashboard", headers=admin_headers)).json()
    assert dashboard["summary"]["system_health"] == "critical" and dashboard["summary"]["active_alerts"] == 1

    await client.post(f"{METRICS}/queue_depth/record", headers=system_headers, json={"value": 3})

    async def resolved() -> list[dict[str, Any]]:
        history = (await client.get("/api/v1/realtime/events/history", headers=admin_headers,
                                    params={"event_type": "metric.alert.resolved"})).json()
        return list(history["events"])

    assert (await eventually(resolved))[0]["data"]["value"] == 3
    health = (await client.get("/api/v1/realtime/events/history", headers=admin_headers,
                               params={"event_type": "system.health.changed"})).json()["events"]
    assert [e["data"] for e in reversed(health)] == [{"status": "critical", "previous": "healthy"},
                                                     {"status": "healthy", "previous": "critical"}]


async def _having(read: Callable[[], Any], wanted: str) -> set[str] | None:
    found = await read()
    return found if wanted in found else None
