"""The dashboard's metric cards show real values, trend arrows and sparklines that follow `metrics_update` pushes."""

import asyncio
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from nicegui.testing import User

from tests.app_fixtures import log_in


@pytest.fixture
def fast_push(monkeypatch: pytest.MonkeyPatch) -> None:
    """Push every 0.2 s so the test waits for the next push, not for the 5-second default (set before `user`)."""
    monkeypatch.setenv("METRICS_PUSH_INTERVAL", "0.2")


async def shown(user: User, marker: str, accept: Callable[[str], bool], attempts: int = 100) -> str:
    """The text of the element marked `marker`, once `accept` likes it (within about 5 seconds)."""
    text = ""
    for _ in range(attempts):
        elements = user.find(marker=marker).elements
        text = str(getattr(next(iter(elements)), "text", "")) if elements else ""
        if accept(text):
            return text
        await asyncio.sleep(0.05)
    raise AssertionError(f"{marker} shows {text!r}")


async def test_dashboard_shows_a_live_cpu_value_that_changes(fast_push: None, user: User,
                                                             client: httpx.AsyncClient,
                                                             admin_headers: dict[str, str]) -> None:
    await log_in(user)
    for name in ("system_cpu_usage", "system_memory_usage", "system_disk_usage", "resources_distributed_total",
                 "active_humans", "truth_messages_sent", "mesh_nodes_active", "websocket_connections"):
        await user.should_see(marker=f"metric-{name}")
    first = await shown(user, "metric-system_cpu_usage-value", lambda t: t.endswith(" %"))
    assert 0 <= float(first.removesuffix(" %")) <= 100  # the host's own figure, sampled by the server
    for value, text in ((42.5, "42.5 %"), (61.0, "61.0 %")):
        response = await client.post("/api/v1/metrics/system_cpu_usage/record", headers=admin_headers,
                                     json={"value": value})
        assert response.status_code == 200
        await shown(user, "metric-system_cpu_usage-value", lambda t, expected=text: t == expected)
    detail = await shown(user, "metric-system_cpu_usage-detail", lambda t: t.startswith("avg"))
    found = re.fullmatch(r"avg (\d+\.\d) % · [▲▼■] [+-]\d+\.\d %", detail)
    assert found, detail
    average = (float(first.removesuffix(" %")) + 42.5 + 61.0) / 3  # the hour so far: the sample and both records
    assert float(found[1]) == pytest.approx(average, abs=0.1)


async def test_published_events_move_the_key_metrics(fast_push: None, user: User, client: httpx.AsyncClient,
                                                     admin_headers: dict[str, str]) -> None:
    await log_in(user)
    await user.should_see(marker="metric-resources_distributed_total")
    for human in ("alice", "bob"):
        response = await client.post("/api/v1/realtime/events/publish", headers=admin_headers, json={
            "event_type": "resource.distributed", "data": {"human_id": human, "amount": 800}, "source": "ledger"})
        assert response.status_code == 201
    await shown(user, "metric-resources_distributed_total-value", lambda t: t == "$1,600.00")
    await shown(user, "metric-active_humans-value", lambda t: t == "2")
    await shown(user, "system-health", lambda t: t == "healthy")


async def test_trend_arrow_and_sparkline_follow_recorded_values(fast_push: None, user: User,
                                                               client: httpx.AsyncClient,
                                                               admin_headers: dict[str, str]) -> None:
    await log_in(user)
    await user.should_see(marker="metric-mesh_nodes_active")
    assert await shown(user, "metric-mesh_nodes_active-trend", lambda t: t == "■")
    assert "trend-stable" in _element(user, "metric-mesh_nodes_active-trend").classes
    assert "no data" in _element(user, "metric-mesh_nodes_active-spark").content

    # Nothing but mesh events feeds this metric here, so the test owns it. The sparkline samples what each push
    # carries: wait for 10 to be shown before going on.
    await record(client, admin_headers, "mesh_nodes_active", 10)
    await shown(user, "metric-mesh_nodes_active-value", lambda t: t == "10")
    for value in (20, 30):
        await record(client, admin_headers, "mesh_nodes_active", value)
    await shown(user, "metric-mesh_nodes_active-value", lambda t: t == "30")
    await shown(user, "metric-mesh_nodes_active-trend", lambda t: t == "▲")
    arrow = _element(user, "metric-mesh_nodes_active-trend")
    assert "trend-up" in arrow.classes and "trend-stable" not in arrow.classes
    assert arrow.props["aria-label"].startswith("trend rising +")
    await _spark_label(user, "from 10 to 30")
    assert _element(user, "metric-mesh_nodes_active-spark").content.count("<polyline") == 1

    for value in (0, 0, 0, 0, 0, 0):
        await record(client, admin_headers, "mesh_nodes_active", value)
    await shown(user, "metric-mesh_nodes_active-trend", lambda t: t == "▼")
    arrow = _element(user, "metric-mesh_nodes_active-trend")
    assert "trend-down" in arrow.classes and "trend-up" not in arrow.classes
    assert arrow.props["aria-label"].startswith("trend falling -")
    await _spark_label(user, "from 0 to 30")


async def record(client: httpx.AsyncClient, headers: dict[str, str], name: str, value: float) -> None:
    response = await client.post(f"/api/v1/metrics/{name}/record", headers=headers, json={"value": value})
    assert response.status_code == 200, response.text


def _element(user: User, marker: str) -> Any:
    return next(iter(user.find(marker=marker).elements))


async def _spark_label(user: User, about: str) -> None:
    """The sparkline's accessible name comes to name the range it draws."""
    wanted = f'aria-label="Mesh nodes over the last 30 minutes: {about}"'
    for _ in range(100):
        if wanted in _element(user, "metric-mesh_nodes_active-spark").content:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(_element(user, "metric-mesh_nodes_active-spark").content)
