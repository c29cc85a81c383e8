"""Two server processes on one Redis and one database: what acts for the whole deployment happens once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.api.test_ws_support import eventually, get, on, opened, post, tokens_for, two_processes, until
from tests.browser.conftest import Server

pytestmark = pytest.mark.redis
PUSH_INTERVAL = 0.4


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """The first process to start leads, the second follows."""
    with two_processes(tmp_path_factory.mktemp, METRICS_PUSH_INTERVAL=str(PUSH_INTERVAL)) as servers:
        yield servers


@pytest.fixture(scope="module")
def admin(cluster: tuple[Server, Server]) -> str:
    return tokens_for(cluster[0])["admin"]


def role_of(server: Server) -> str:
    return str(httpx.get(f"{server.url}/api/v1/health").json()["leadership"]["role"])


def test_exactly_one_process_leads(cluster: tuple[Server, Server]) -> None:
    assert [role_of(server) for server in cluster] == ["leader", "follower"]


async def test_an_alert_rule_created_through_the_follower_fires_once_for_the_deployment(
        cluster: tuple[Server, Server], admin: str) -> None:
    leader, follower = cluster
    created = await post(follower, admin, "/api/v1/metrics/alert-rules",
                         {"metric_name": "system_uptime", "threshold": 0, "condition": ">", "severity": "info",
                          "cooldown_seconds": 0})
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]

    async def fired() -> list[dict[str, object]]:
        history = (await get(leader, admin, "/api/v1/realtime/events/history?event_type=metric.alert.fired")).json()
        return [e for e in history["events"] if e["data"]["rule_id"] == rule_id]

    async def has_fired() -> bool:
        return bool(await fired())

    await eventually(has_fired)
    await asyncio.sleep(PUSH_INTERVAL * 4)  # several more rounds in both processes
    assert len(await fired()) == 1
    # The follower shows the same firing rule as the leader (it follows the stored state).
    listed = (await get(follower, admin, "/api/v1/metrics/alert-rules")).json()
    assert {r["id"]: r["state"] for r in listed["rules"]}[rule_id] == "firing"
    async with httpx.AsyncClient(base_url=follower.url) as api:
        deleted = await api.delete(f"/api/v1/metrics/alert-rules/{rule_id}",
                                   headers={"Authorization": f"Bearer {admin}"})
    assert deleted.status_code == 200


async def test_dashboards_get_one_metrics_update_per_interval_whichever_process_they_are_on(
        cluster: tuple[Server, Server], admin: str) -> None:
    for server in cluster:
        ws = await opened(server, admin, "dashboard")
        try:
            first = await until(ws, on("dashboard", "metrics_update"))
            arrivals = [first]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + PUSH_INTERVAL * 5
            while loop.time() < deadline:
                try:
                    arrivals.append(await until(ws, on("dashboard", "metrics_update"),
                                                seconds=max(0.05, deadline - loop.time())))
                except TimeoutError:
                    break
            # One pusher: about 5 more in 5 intervals; two pushing processes would send about 10. (A loaded
            # machine may run the job late, never early: the upper bound is what matters.)
            assert 1 <= len(arrivals) - 1 <= 7, [f["timestamp"] for f in arrivals]
            assert [f["seq"] for f in arrivals] == sorted({f["seq"] for f in arrivals})
        finally:
            await ws.close()
