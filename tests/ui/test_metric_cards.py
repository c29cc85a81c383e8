"""The dashboard's metric cards show real values and follow `metrics_update` pushes live, without a reload."""

import asyncio
import re
from collections.abc import Callable

import httpx
import pytest
from nicegui.testing import User

from tests.ui.test_dashboard import log_in


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
