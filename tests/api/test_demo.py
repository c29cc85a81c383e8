"""`DEMO=1`: a real server fills every panel through its own REST API, and the generator survives error answers."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from app.demo import SYSTEM_ACCOUNT, Sender, app_url, demo_password, register
from app.settings import Settings
from services.demo import ACCOUNTS, FIRST_HUMANS, HUMANS, Publish, Record
from tests.browser.conftest import ADMIN_PASSWORD, Server, start_server, stop_server

LOGIN = re.compile(r"Demo account: username '([^']+)', password '([^']+)'")
MOVING = ("resources_distributed_total", "active_humans", "truth_messages_sent", "mesh_nodes_active")


async def test_the_demo_moves_every_panel_through_the_rest_api(tmp_path: Path) -> None:
    server = start_server(tmp_path, DEMO="1", DEMO_RATE="10")
    try:
        logins = await _printed_logins(server)
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
            admin = await _bearer(client, "admin", ADMIN_PASSWORD)
            username, password = logins[0]
            human = await _bearer(client, username, password)
            seen = await _until_everything_moves(client, admin, human)
            # An admin stops the demo by deactivating its system account.
            response = await client.patch(f"/api/v1/users/{SYSTEM_ACCOUNT}", json={"is_active": False}, headers=admin)
            assert response.status_code == 200, response.text
            await asyncio.sleep(1)  # a request already on its way may still land
            before = await _published(client, admin)
            await asyncio.sleep(1.5)
            assert await _published(client, admin) == before
            final = await client.get("/api/v1/realtime/events/history", params={"limit": 1000}, headers=admin)
    finally:
        stop_server(server)

    dashboard, events, inbox = seen
    values = {card["name"]: card["value"] for card in dashboard["key_metrics"]}
    assert all(values[name] and values[name] > 0 for name in MOVING), values
    assert len(values) == 7
    assert {e["type"].partition(".")[0] for e in events} >= {"resource", "human", "truth", "mesh"}
    external = [e for e in events if e["type"].partition(".")[0] in {"resource", "human", "truth", "mesh"}]
    assert {e["user_id"] for e in external} == {SYSTEM_ACCOUNT}  # published over REST with the system account
    # One correlation id per weekly run: the pool update that closes a run shares it with every payment of the run.
    history = final.json()["events"]
    runs = Counter(e["correlation_id"] for e in history if e["type"] == "resource.distributed")
    closed = [e for e in history if e["type"] == "resource.pool.updated"]
    assert closed and all(runs[e["correlation_id"]] == e["data"]["active_humans"] >= FIRST_HUMANS for e in closed)
    paid = [n for n in inbox if n["type"] == "resource_distribution"]
    assert paid and paid[0]["user_id"] == username and paid[0]["data"]["amount"] == 800
    assert "$800.00" in paid[0]["message"]
    assert [name for name, _ in logins] == [h.human_id for h in HUMANS[:ACCOUNTS]]
    log = (server.data_dir / "server.log").read_text()
    assert "Traceback" not in log and " ERROR " not in log
    # Nothing went wrong at start-up, while running or at shutdown; the one warning says why the traffic stopped.
    assert re.findall(r"WARNING app\.demo: (.*)", log) == [
        f"demo traffic stopped: the account '{SYSTEM_ACCOUNT}' is deactivated or no longer a system account"]


async def test_error_answers_are_logged_backed_off_and_survived(caplog: pytest.LogCaptureFixture) -> None:
    answers = iter([503, 503, 201, 422, 200])
    waits: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers), json={"detail": "busy"})

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://demo") as client:
        sender = Sender(client, _tokens(["t"]), sleep=wait, exiting=lambda: False)
        event = Publish("truth.message.sent", {"message": "m"}, "truth-network")
        with caplog.at_level(logging.WARNING, logger="app.demo"):
            results = [await sender.send(event), await sender.send(event), await sender.send(event),
                       await sender.send(event), await sender.send(Record("mesh_throughput", 1.0))]
    assert results == [False, False, True, False, True]
    assert waits == [1.0, 2.0, 1.0]  # doubling while failing, from the start again after a success
    assert sender.backoff == 0.0 and sender.sent == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3 and "answered 503" in warnings[0] and "answered 422" in warnings[2]


async def test_an_unreachable_app_is_a_warning_and_a_rejected_token_is_renewed_once(
        caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["Authorization"])
        if len(calls) == 1:
            raise httpx.ConnectError("refused")
        return httpx.Response(401 if request.headers["Authorization"] == "Bearer old" else 201)

    async def wait(seconds: float) -> None:
        return None

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://demo") as client:
        sender = Sender(client, _tokens(["old", "new"]), sleep=wait, exiting=lambda: False)
        event = Publish("mesh.node.connected", {"node_id": "n"}, "mesh-network")
        with caplog.at_level(logging.WARNING, logger="app.demo"):
            assert not await sender.send(event)
            assert await sender.send(event)
    assert calls == ["Bearer old", "Bearer old", "Bearer new"]
    assert any("could not be reached" in r.getMessage() for r in caplog.records)


def test_the_app_reaches_itself_on_a_loopback_address_when_it_listens_everywhere() -> None:
    assert app_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert app_url("::", 8000) == "http://[::1]:8000"
    assert app_url("127.0.0.1", 8123) == "http://127.0.0.1:8123"
    assert app_url("fe80::1", 80) == "http://[fe80::1]:80"


def test_demo_logins_stay_the_same_for_one_secret_key() -> None:
    assert demo_password("k" * 48, "demo-ada") == demo_password("k" * 48, "demo-ada")
    assert demo_password("k" * 48, "demo-ada") != demo_password("k" * 48, "demo-grace")
    assert demo_password("j" * 48, "demo-ada") != demo_password("k" * 48, "demo-ada")
    assert len(demo_password("k" * 48, "demo-ada")) == 16


@pytest.mark.parametrize(("env", "demo", "runs"), [("development", True, True), ("development", False, False),
                                                   ("production", True, False)])
def test_demo_runs_only_when_asked_and_never_in_production(env: str, demo: bool, runs: bool) -> None:
    settings = Settings(demo=demo, env=env, secret_key="s" * 40)  # type: ignore[arg-type]  # Literal from a str
    services: Any = SimpleNamespace(settings=settings, lifecycle=[])
    register(services)
    assert bool(services.lifecycle) is runs


async def _published(client: httpx.AsyncClient, admin: dict[str, str]) -> int:
    """How many events the three simulated systems have published so far."""
    total = 0
    for source in ("resource-system", "truth-network", "mesh-network"):
        response = await client.get("/api/v1/realtime/events/history", params={"source": source, "limit": 1},
                                    headers=admin)
        total += response.json()["total_count"]
    return total


def _tokens(values: list[str]) -> Any:
    remaining = iter(values)

    async def token() -> str:
        return next(remaining)

    return token


async def _printed_logins(server: Server) -> list[tuple[str, str]]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = LOGIN.findall((server.data_dir / "server.log").read_text())
        if len(found) == ACCOUNTS:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("the demo logins were not printed")


async def _bearer(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _until_everything_moves(client: httpx.AsyncClient, admin: dict[str, str],
                                  human: dict[str, str]) -> tuple[dict[str, Any], list[dict], list[dict]]:
    """The dashboard, the event history and the human's inbox, once all three show the demo (or after 12 s)."""
    deadline = time.monotonic() + 12
    while True:
        dashboard = (await client.get("/api/v1/metrics/dashboard", headers=admin)).json()
        events = (await client.get("/api/v1/realtime/events/history", params={"limit": 1000}, headers=admin)).json()
        inbox = (await client.get("/api/v1/notifications", headers=human)).json()
        values = {card["name"]: card["value"] for card in dashboard["key_metrics"]}
        families = {e["type"].partition(".")[0] for e in events["events"]}
        paid = any(n["type"] == "resource_distribution" for n in inbox["notifications"])
        if (all(values.get(name) for name in MOVING) and {"resource", "truth", "mesh"} <= families and paid) \
                or time.monotonic() > deadline:
            return dashboard, events["events"], inbox["notifications"]
        await asyncio.sleep(0.25)
