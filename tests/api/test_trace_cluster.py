"""The delivery trace across two processes sharing Redis: each replica records its own live delivery."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.test_ws_support import eventually, get, on, opened, post, tokens_for, two_processes, until
from tests.browser.conftest import Server


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    with two_processes(tmp_path_factory.mktemp) as servers:
        yield servers


async def test_each_replica_records_its_own_delivery_row(cluster: tuple[Server, Server]) -> None:
    first, second = cluster
    tokens = tokens_for(first, "alice")
    here, there = await opened(first, tokens["alice"]), await opened(second, tokens["alice"])
    try:
        sent = await post(first, tokens["admin"], "/api/v1/notifications/send",
                          {"user_id": "alice", "notification_type": "info", "message": "to both replicas"})
        assert sent.status_code == 201, sent.text
        await until(here, on("user:alice", "notification"))
        await until(there, on("user:alice", "notification"))
    finally:
        await here.close()
        await there.close()
    path = f"/api/v1/notifications/{sent.json()['notification_id']}/trace"
    delivered: list[dict[str, object]] = []

    async def both_replicas_reported() -> bool:
        steps = (await get(second, tokens["alice"], path)).json()["steps"]
        delivered[:] = [s for s in steps if s["step"] == "delivered"]
        return len({s["replica"] for s in delivered}) == 2

    await eventually(both_replicas_reported)
    assert len(delivered) == 2  # one row per replica, not one per listener
    assert all(s["detail"]["connections"] == 1 for s in delivered)  # type: ignore[index]
