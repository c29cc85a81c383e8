"""With REDIS_URL pointing at a Redis that is not there, the app still serves its own clients and says degraded."""

import httpx
import pytest
from nicegui.testing import User

from tests.app_fixtures import log_in


@pytest.fixture(autouse=True)
def missing_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6390/0")  # nothing listens there


async def test_health_is_degraded_and_events_still_reach_the_page(user: User, client: httpx.AsyncClient,
                                                                  admin_headers: dict[str, str]) -> None:
    health = await client.get("/api/v1/health")
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "degraded"
    assert body["broker"]["backend"] == "redis" and body["broker"]["status"] == "degraded"
    assert body["database"]["status"] == "ok"

    await log_in(user)
    published = await client.post("/api/v1/realtime/events/publish", headers=admin_headers,
                                  json={"event_type": "mesh.node.connected", "data": {"node_id": "lonely"}})
    assert published.status_code == 201
    await user.should_see("Node lonely connected", retries=100)
