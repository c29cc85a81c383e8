"""The dashboard's strip shows real values, changes a reader can interpret and sparklines that follow the pushes.

The strip is drawn in the browser from card data the server builds once per push; these tests read that data
(tests/browser/test_dashboard.py looks at the drawing)."""

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from nicegui.testing import User

from components.metrics.strip import MetricStrip
from tests.app_fixtures import log_in

KEYS = ("resources_distributed_total", "active_humans", "truth_messages_sent", "mesh_nodes_active",
        "websocket_connections", "system_cpu_usage", "system_memory_usage")


@pytest.fixture
def fast_push(monkeypatch: pytest.MonkeyPatch) -> None:
    """Push every 0.2 s so the test waits for the next push, not for the 5-second default (set before `user`)."""
    monkeypatch.setenv("METRICS_PUSH_INTERVAL", "0.2")


def strip(user: User) -> MetricStrip:
    [element] = user.find(marker="metric-strip").elements
    assert isinstance(element, MetricStrip)
    return element


async def card(user: User, key: str, accept: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The card of `key`, once `accept` likes it (within about 5 seconds)."""
    found: dict[str, Any] = {}
    for _ in range(100):
        found = strip(user).card(key)
        if accept(found):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key}: {found}")


async def record(client: httpx.AsyncClient, headers: dict[str, str], name: str, value: float) -> None:
    response = await client.post(f"/api/v1/metrics/{name}/record", headers=headers, json={"value": value})
    assert response.status_code == 200, response.text


async def test_the_strip_shows_the_seven_key_metrics_and_a_live_cpu_value(fast_push: None, user: User,
                                                                        client: httpx.AsyncClient,
                                                                        admin_headers: dict[str, str]) -> None:
    await log_in(user)
    assert [c["key"] for c in strip(user).cards] == list(KEYS)
    first = await card(user, "system_cpu_usage", lambda c: c["unit"] == "%")
    assert 0 <= float(first["value"]) <= 100  # the host's own figure, sampled by the server
    for value, text in ((42.5, "42.5"), (61.0, "61.0")):
        await record(client, admin_headers, "system_cpu_usage", value)
        await card(user, "system_cpu_usage", lambda c, expected=text: c["value"] == expected)
    cpu = await card(user, "system_cpu_usage", lambda c: c["change"].endswith("pp this hour")
                     or c["change"] == "steady")
    assert "%" not in cpu["change"]  # percentage points, not a percent of a percent
    assert cpu["detail"].startswith("hour average ")


async def test_published_events_move_the_key_metrics(fast_push: None, user: User, client: httpx.AsyncClient,
                                                     admin_headers: dict[str, str]) -> None:
    await log_in(user)
    for human in ("alice", "bob"):
        response = await client.post("/api/v1/realtime/events/publish", headers=admin_headers, json={
            "event_type": "resource.distributed", "data": {"human_id": human, "amount": 800}, "source": "ledger"})
        assert response.status_code == 201
    await card(user, "resources_distributed_total", lambda c: c["value"] == "$1,600.00")
    await card(user, "active_humans", lambda c: c["value"] == "2")
    assert strip(user).health["status"] == "healthy"
    await user.should_see("no alerts firing")


async def test_trend_and_sparkline_follow_recorded_values(fast_push: None, user: User, client: httpx.AsyncClient,
                                                         admin_headers: dict[str, str]) -> None:
    await log_in(user)
    mesh = strip(user).card("mesh_nodes_active")
    assert mesh["trend"] == "stable" and mesh["spark"] == [] and mesh["range"] == "no data"

    # Nothing but mesh events feeds this metric here, so the test owns it. The sparkline samples what each push
    # carries: wait for each value to be shown before going on.
    for value in (10, 20, 30):
        await record(client, admin_headers, "mesh_nodes_active", value)
        await card(user, "mesh_nodes_active", lambda c, v=value: c["value"] == str(v))
    rising = await card(user, "mesh_nodes_active", lambda c: c["trend"] == "up")
    assert rising["words"] == "rising" and rising["change"].startswith("+")
    await card(user, "mesh_nodes_active", lambda c: c["range"] == "from 10 to 30")

    for _ in range(6):
        await record(client, admin_headers, "mesh_nodes_active", 0)
        await card(user, "mesh_nodes_active", lambda c: c["value"] == "0")
    falling = await card(user, "mesh_nodes_active", lambda c: c["trend"] == "down")
    assert falling["words"] == "falling"
    await card(user, "mesh_nodes_active", lambda c: c["range"] == "from 0 to 30")


@pytest.mark.parametrize(("entry", "change", "trend"), [
    # right after start-up: a CPU near zero falling from a first sample; no "-299.5 %"
    ({"unit": "percent", "value": 0.0, "average": 0.4, "trend": {"direction": "down", "change": -2.995,
                                                                  "points": 3}}, "-1.2 pp this hour", "down"),
    ({"unit": "percent", "value": 50.0, "average": 50.0, "trend": {"direction": "stable", "change": 0.0005,
                                                                    "points": 9}}, "steady", "stable"),
    ({"unit": "count", "value": 3, "average": 0.0, "trend": {"direction": "up", "change": 0.0, "points": 4}},
     "up from zero", "up"),
    ({"unit": "count", "value": 0, "average": 0.0, "trend": {"direction": "stable", "change": 0.0, "points": 4}},
     "steady at zero", "stable"),
    ({"unit": "dollars", "value": 1600, "average": 1200, "trend": {"direction": "up", "change": 0.25, "points": 5}},
     "+25.0 % this hour", "up"),
    ({"unit": "count", "value": 900, "average": 10, "trend": {"direction": "up", "change": 40.0, "points": 5}},
     "more than ten-fold", "up"),
    ({"unit": "count", "value": 1, "average": 1, "trend": {"direction": "stable", "points": 1}},
     "no trend yet", "stable"),
])
def test_a_change_reads_as_something_a_person_can_interpret(entry: dict[str, Any], change: str, trend: str) -> None:
    from components.metrics.strip import change_text

    assert change_text(entry) == (change, trend)


def test_a_unit_sits_beside_its_number_so_it_never_wraps_alone() -> None:
    from components.metrics.strip import value_and_unit

    assert value_and_unit(42.5, "percent") == ("42.5", "%")
    assert value_and_unit(1600, "dollars") == ("$1,600.00", "")
    assert value_and_unit(None, "percent") == ("—", "")
