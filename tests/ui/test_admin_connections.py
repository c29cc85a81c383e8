"""/admin Connections tab: hub and event-bus figures, redrawn by the admin push."""

import asyncio

import httpx
import pytest
from nicegui.testing import User

from components.admin.connections import duration, role_text
from tests.app_fixtures import log_in, open_admin_tab


@pytest.fixture(autouse=True)
def fast_push(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_PUSH_INTERVAL", "0.2")


def figure(user: User, name: str) -> int:
    label = next(iter(user.find(marker=f"figure-{name}").elements))
    return int(str(label.text).replace(",", ""))


async def test_connections_tab_shows_live_figures(user: User, client: httpx.AsyncClient,
                                                  admin_headers: dict[str, str]) -> None:
    await log_in(user)
    await open_admin_tab(user, "connections")
    await user.should_see("No program is connected to the WebSocket API right now.")
    await user.should_see("Single process: it runs every scheduled job.")  # no Redis: nobody to share with
    before = figure(user, "events_published")
    for n in range(3):
        response = await client.post("/api/v1/realtime/events/publish", headers=admin_headers,
                                     json={"event_type": "mesh.node.connected", "data": {"node_id": f"n{n}"}})
        assert response.status_code == 201
    for _ in range(50):  # the next admin push (every 0.2 s here) redraws the figures
        if figure(user, "events_published") >= before + 3:
            break
        await asyncio.sleep(0.1)
    assert figure(user, "events_published") >= before + 3
    assert figure(user, "total_connections") == 0


@pytest.mark.parametrize(("described", "shown"), [
    ({"role": "leader", "backend": "memory"}, "Single process"),
    ({"role": "leader", "backend": "redis"}, "This process leads"),
    ({"role": "follower", "backend": "redis"}, "another process runs"),
    ({"role": "alone", "backend": "redis", "status": "degraded"}, "Redis is unreachable"),
])
def test_the_process_role_in_words(described: dict[str, str], shown: str) -> None:
    assert shown in role_text(described)


async def test_the_admins_own_browser_view_is_listed(user: User) -> None:
    """The admin watching the tab is a browser view: counted and listed apart from the raw WebSocket clients."""
    await log_in(user)
    await open_admin_tab(user, "connections", "views-table")
    await user.should_see("Pages open in a browser")
    await user.should_see("Programs connected to the WebSocket API")
    rows = []
    for _ in range(50):
        rows = next(iter(user.find(marker="views-table").elements)).rows
        if any(r["user"] == "admin" and r["page"] == "/admin" for r in rows):
            break
        await asyncio.sleep(0.1)
    mine = next(r for r in rows if r["user"] == "admin" and r["page"] == "/admin")
    assert mine["open_for"].endswith(" s")  # opened a moment ago
    count = str(next(iter(user.find(marker="view-count").elements)).text)
    assert count == f"{len(rows)} browser view{'s' if len(rows) > 1 else ''}"
    await user.should_not_see(marker="no-views")
    assert figure(user, "total_connections") == 0  # the hub counts raw WebSocket clients only


@pytest.mark.parametrize(("seconds", "said"), [
    (0, "0 s"), (59, "59 s"), (60, "1 min"), (3599, "59 min"), (3600, "1 h 00 min"), (7500, "2 h 05 min"),
    (90000, "1 d 1 h"),
])
def test_how_long_a_view_has_been_open_in_words(seconds: float, said: str) -> None:
    assert duration(seconds) == said


async def test_this_replica_is_listed_with_its_role_and_clients(user: User) -> None:
    """Each process reports itself every push interval; the tab lists every replica that reported."""
    await log_in(user)
    await open_admin_tab(user, "connections", "replicas-table")
    rows: list[dict[str, object]] = []
    for _ in range(100):
        rows = next(iter(user.find(marker="replicas-table").elements)).rows
        if rows:
            break
        await asyncio.sleep(0.1)
    [mine] = rows
    assert str(mine["name"]).endswith("(this one)") and mine["role"] == "sole"
    assert str(mine["heartbeat"]).endswith(" ago")
    assert str(next(iter(user.find(marker="replica-count").elements)).text) == "1 replica"
