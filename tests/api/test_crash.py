"""kill -9 during a stream of acknowledged events: after the restart every one of them has caused its notification,
and none has caused two (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, func, make_url, select, text

from services.notifications.models import NotificationRecord
from tests.browser.conftest import ADMIN_PASSWORD, Server, start_server, stop_server
from tests.conftest import service_url

pytestmark = pytest.mark.reliability
NOTIFICATIONS = NotificationRecord.metadata.tables["notifications"]
PUBLISHERS = 8


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[dict[str, str], Engine]]:
    """The server's DATABASE_URL (empty: the SQLite file in its data directory) and an engine on the same data."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'liberation.db'}")
        yield {}, engine
        engine.dispose()
        return
    url = make_url(service_url("TEST_DATABASE_URL")).set(drivername="postgresql+psycopg")
    name = f"test_crash_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(url.set(database=name))
    try:
        yield {"DATABASE_URL": url.set(database=name).render_as_string(hide_password=False)}, engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def notifications_per_event(engine: Engine, event_ids: list[str]) -> dict[str, int]:
    query = (select(NOTIFICATIONS.c.correlation_id, func.count())
             .where(NOTIFICATIONS.c.correlation_id.in_(event_ids)).group_by(NOTIFICATIONS.c.correlation_id))
    with engine.connect() as connection:
        return {row[0]: int(row[1]) for row in connection.execute(query)}


async def publish_until_killed(server: Server, token: str, acknowledged: list[str], worker: int) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as api:
        for n in range(100_000):
            try:
                answer = await api.post("/api/v1/realtime/events/publish", headers={"Authorization": f"Bearer {token}"},
                                        json={"event_type": "resource.distributed", "source": "ledger",
                                              "data": {"human_id": "alice", "amount": 800,
                                                       "transaction_id": f"t-{worker}-{n}"}})
            except httpx.HTTPError:
                return  # the server is gone
            if answer.status_code == 201:
                acknowledged.append(answer.json()["id"])


async def test_acknowledged_events_cause_their_notification_once_across_a_kill_9(
        tmp_path: Path, database: tuple[dict[str, str], Engine]) -> None:
    env, engine = database
    env = {**env, "REACTIONS_REPLAY_SECONDS": "1", "EVENT_PUBLISH_RATE": "100000", "EVENT_PUBLISH_BURST": "100000"}
    server = start_server(tmp_path, **env)
    async with httpx.AsyncClient(base_url=server.url) as api:
        admin = {"Authorization": "Bearer " + (await api.post("/api/v1/auth/token", json={
            "username": "admin", "password": ADMIN_PASSWORD})).json()["access_token"]}
        for username, role in (("alice", "user"), ("ledger", "system")):
            await api.post("/api/v1/users", headers=admin, json={"username": username, "password": "pass-word-1",
                                                                 "role": role})
        token = (await api.post("/api/v1/auth/token", json={"username": "ledger", "password": "pass-word-1"}
                                )).json()["access_token"]

    acknowledged: list[str] = []
    workers = [asyncio.ensure_future(publish_until_killed(server, token, acknowledged, k)) for k in range(PUBLISHERS)]
    await asyncio.sleep(1.5)
    server.process.kill()  # SIGKILL: no shutdown, no flush
    server.process.wait()
    server.log.close()
    await asyncio.gather(*workers)
    assert len(acknowledged) > 50, "the publishers barely ran"

    restarted = start_server(tmp_path, **env)
    try:
        counts: dict[str, int] = {}
        async with asyncio.timeout(20):
            while True:
                counts = notifications_per_event(engine, acknowledged)
                if len(counts) == len(acknowledged):
                    break
                await asyncio.sleep(0.2)
        assert set(counts) == set(acknowledged), f"{len(acknowledged) - len(counts)} acknowledged events lost theirs"
        assert max(counts.values()) == 1, "an event caused a second notification"
    finally:
        stop_server(restarted)
