"""/admin Connections tab: hub and event-bus figures, redrawn by the admin push."""

import asyncio

import httpx
import pytest
from nicegui.testing import User

from components.admin.connections import role_text
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
    await user.should_see("No WebSocket clients are connected.")
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
