"""The deployment `make cluster` starts, used the way people and machines use it: through nginx, with replicas
killed and restarted under them."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
import orjson
import pytest
from playwright.async_api import Browser, expect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.cluster.conftest import PUSH_INTERVAL, ROOT, USER_PASSWORD, Cluster, load_script

pytestmark = [pytest.mark.cluster, pytest.mark.postgres, pytest.mark.redis]
Frame = dict[str, Any]


# --- a user on one replica, a sender on another ----------------------------------------------------------------

async def test_a_browser_sees_live_what_another_replica_sends(cluster: Cluster, browser: Browser) -> None:
    user = await account(cluster)
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.goto(f"{cluster.proxy}/")
        await page.get_by_label("Username").fill(user)
        await page.get_by_label("Password").fill(USER_PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await expect(page.locator(".inbox")).to_be_attached()
        # The page lives in one replica; each replica in turn sends, so one of them is surely another one.
        for number, replica in enumerate(cluster.replicas, start=1):
            title = f"Sent through app-{number} {uuid.uuid4().hex[:6]}"
            sent = await call("POST", f"{replica}/api/v1/notifications/send", cluster.admin,
                              {"user_id": user, "notification_type": "info", "title": title, "message": "hi"})
            assert sent.status_code == 201, sent.text
            await expect(page.locator(".inbox").get_by_text(title)).to_be_visible(timeout=10_000)
        served_by = {line.split("upstream=")[1].split()[0] for line in access_log(cluster)
                     if '"GET / ' in line or "/_nicegui_ws/" in line}
        assert len(served_by) == 1, f"the page and its socket went to several replicas: {served_by}"
    finally:
        await context.close()


async def test_a_token_issued_by_one_replica_is_accepted_by_every_other(cluster: Cluster) -> None:
    token = await sign_in(cluster.replicas[0], await account(cluster))
    for replica in cluster.replicas[1:]:
        assert (await call("GET", f"{replica}/api/v1/notifications", token)).status_code == 200
    answers = [(await call("GET", f"{cluster.proxy}/api/v1/notifications", token)).status_code
               for _ in range(2 * len(cluster.replicas))]
    assert answers == [200] * len(answers)


# --- replicas dying and restarting under their clients -------------------------------------------------------

async def test_a_websocket_client_whose_replica_is_killed_reconnects_through_the_proxy_and_misses_nothing(
        cluster: Cluster) -> None:
    channel = f"k-{uuid.uuid4().hex[:10]}"
    # On a replica that does not lead: killing the leader is the next story (it waits for the lease).
    ws, victim = await on_a_follower(cluster)
    await command(ws, "subscription_confirmed", type="subscribe", channel=channel)
    await broadcast(cluster.proxy, cluster.admin, channel, {"n": 0})
    last = (await until(ws, on(channel)))["seq"]

    cluster.kill(victim)
    with pytest.raises(ConnectionClosed):  # the proxy closes it
        await until(ws, on(channel), seconds=10)
    for n in range(1, 6):  # meanwhile, through the proxy: the surviving replica takes them
        await broadcast(cluster.proxy, cluster.admin, channel, {"n": n})

    async with await opened(cluster.proxy, cluster.admin, "admin") as again:
        assert await replica_of(cluster, again) != victim
        confirmed = await command(again, "subscription_confirmed", type="subscribe", channel=channel, since=last)
        assert (confirmed["data"]["recovered"], confirmed["data"]["replayed"]) == (True, 5)
        replayed = [await until(again, on(channel)) for _ in range(5)]
        assert [(f["seq"], f["data"]["n"]) for f in replayed] == [(last + n, n) for n in range(1, 6)]
        await broadcast(cluster.proxy, cluster.admin, channel, {"n": 6})
        assert (await until(again, on(channel)))["seq"] == last + 6
    cluster.start()  # make cluster again: brings the killed replica back


async def test_periodic_jobs_run_once_per_interval_and_again_after_the_leader_is_killed(cluster: Cluster) -> None:
    leader = cluster.leader()
    assert leader is not None
    assert await pushes_per_interval(cluster) == pytest.approx(1, abs=0.4)  # two leaders would push twice

    cluster.kill(leader)
    began = time.monotonic()
    restart = asyncio.create_task(asyncio.to_thread(cluster.start))  # it rejoins while the lease runs out
    while (successor := await asyncio.to_thread(cluster.leader)) is None:
        assert time.monotonic() - began < 30, "nobody took over the jobs"
        await asyncio.sleep(0.5)
    took_over = time.monotonic() - began
    await restart
    assert await pushes_per_interval(cluster) == pytest.approx(1, abs=0.4)
    print(f"\nleader app-{leader} killed; app-{successor} leads after {took_over:.1f} s")


async def test_requests_through_the_proxy_keep_succeeding_while_a_replica_restarts(cluster: Cluster) -> None:
    token = await sign_in(cluster.proxy, await account(cluster))
    counts = {"get": 0, "post": 0}
    errors: list[str] = []
    stop = asyncio.Event()

    async def reader(api: httpx.AsyncClient) -> None:
        while not stop.is_set():
            await record(api.get("/api/v1/notifications?limit=5", headers=bearer(token)), "get", 200)

    async def publisher(api: httpx.AsyncClient) -> None:
        while not stop.is_set():
            await record(api.post("/api/v1/realtime/events/publish", headers=bearer(cluster.admin),
                                  json={"event_type": "mesh.node.connected", "source": "cluster-test",
                                        "data": {"node_id": f"n-{uuid.uuid4().hex[:6]}", "address": "10.0.0.1"}}),
                         "post", 201)
            await asyncio.sleep(0.02)

    async def record(request: Any, kind: str, expected: int) -> None:
        counts[kind] += 1
        try:
            response = await request
            if response.status_code != expected:
                errors.append(f"{kind} {response.status_code} {response.text[:100]}")
        except httpx.HTTPError as error:
            errors.append(f"{kind} {type(error).__name__}")

    async with httpx.AsyncClient(base_url=cluster.proxy, timeout=10) as api:
        load = [asyncio.create_task(reader(api)) for _ in range(3)] + [asyncio.create_task(publisher(api))]
        await asyncio.sleep(0.5)
        await asyncio.to_thread(cluster.kill, 2, signal.SIGTERM)  # a rolling restart: stop, then start again
        await asyncio.to_thread(cluster.start)
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*load)
    print(f"\nduring a replica restart: {counts['get']} GETs and {counts['post']} POSTs through the proxy, "
          f"{len(errors)} errors")
    assert counts["get"] > 50 and counts["post"] > 10
    assert errors == []


# --- one key for the deployment ---------------------------------------------------------------------------------

def test_a_replica_with_another_secret_key_refuses_to_start(cluster: Cluster) -> None:
    script = load_script()
    config = script.Config.from_env(cluster.env)
    env = {**cluster.env, **script.replica_environment(config, 9, secrets.token_urlsafe(32))}
    env.update(PORT=str(_free_port()), DATA_DIR=str(cluster.run_dir / "intruder"))
    os.makedirs(env["DATA_DIR"], exist_ok=True)
    started = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=60)
    assert started.returncode != 0
    assert "SECRET_KEY" in started.stdout + started.stderr
    assert "differs" in started.stdout + started.stderr


# --- figures that agree ------------------------------------------------------------------------------------------

async def test_dashboard_figures_agree(cluster: Cluster) -> None:
    one, two = cluster.replicas[:2]
    human = await account(cluster)
    before = (await dashboard(one, cluster.admin))["resources_distributed_total"]
    for replica, amount in ((one, 100.0), (two, 250.0), (two, 50.0)):
        published = await call("POST", f"{replica}/api/v1/realtime/events/publish", cluster.admin,
                               {"event_type": "resource.distributed", "source": "ledger",
                                "data": {"human_id": human, "amount": amount}})
        assert published.status_code == 201, published.text
    clients = [await opened(replica, cluster.admin, "dashboard") for replica in (one, two, two)]
    try:
        deadline = time.monotonic() + 8 * PUSH_INTERVAL + 5
        while True:
            stats = [(await call("GET", f"{r}/api/v1/realtime/ws/stats", cluster.admin)).json()
                     for r in cluster.replicas]
            sockets = sum(s["total_connections"] for s in stats)
            shown = [await dashboard(replica, cluster.admin) for replica in (one, two)]
            expected = {"resources_distributed_total": before + 400.0, "active_connections": sockets}
            if all(figures == expected for figures in shown) or time.monotonic() > deadline:
                break
            await asyncio.sleep(PUSH_INTERVAL)
        assert shown == [expected, expected]
    finally:
        for ws in clients:
            await ws.close()


# --- helpers -----------------------------------------------------------------------------------------------------

def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def call(method: str, url: str, token: str | None = None, body: Any = None) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as api:
        return await api.request(method, url, json=body, headers=bearer(token) if token else None)


async def account(cluster: Cluster) -> str:
    name = f"u-{uuid.uuid4().hex[:8]}"
    created = await call("POST", f"{cluster.proxy}/api/v1/users", cluster.admin,
                         {"username": name, "password": USER_PASSWORD, "role": "user"})
    assert created.status_code == 201, created.text
    return name


async def sign_in(base: str, user: str) -> str:
    answer = await call("POST", f"{base}/api/v1/auth/token", body={"username": user, "password": USER_PASSWORD})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def access_log(cluster: Cluster) -> list[str]:
    return (cluster.run_dir / "nginx-access.log").read_text().splitlines()


async def dashboard(replica: str, token: str) -> dict[str, float]:
    """The deployment-wide figures a replica's dashboard shows."""
    shown = (await call("GET", f"{replica}/api/v1/metrics/dashboard", token)).json()
    cards = {card["name"]: card["value"] for card in shown["key_metrics"]}
    return {"resources_distributed_total": float(cards["resources_distributed_total"] or 0),
            "active_connections": shown["summary"]["active_connections"]}


async def opened(base: str, token: str, kind: str) -> ClientConnection:
    """A raw WebSocket whose welcome has been read."""
    url = base.replace("http://", "ws://") + f"/api/v1/realtime/ws?connection_type={kind}&token={token}"
    ws = await connect(url, ping_interval=None, open_timeout=10)
    welcome = await receive(ws)
    assert welcome["type"] == "connection_established", welcome
    ws.connection_id = welcome["data"]["connection_id"]  # type: ignore[attr-defined]
    for _ in welcome["data"]["channels"]:
        assert (await receive(ws))["type"] == "subscription_confirmed"
    return ws


async def replica_of(cluster: Cluster, ws: ClientConnection) -> int:
    """Which replica (1-based) holds this connection, asked of each directly."""
    wanted = ws.connection_id  # type: ignore[attr-defined]
    async with httpx.AsyncClient(headers=bearer(cluster.admin), timeout=5) as api:
        for number, replica in enumerate(cluster.replicas, start=1):
            try:
                listed = (await api.get(f"{replica}/api/v1/realtime/ws/connections?limit=1000")).json()
            except httpx.HTTPError:
                continue
            if any(c["id"] == wanted for c in listed["connections"]):
                return number
    raise AssertionError(f"no replica holds connection {wanted}")


async def on_a_follower(cluster: Cluster) -> tuple[ClientConnection, int]:
    """A raw WebSocket opened through the proxy that landed on a replica other than the leader."""
    leader = await asyncio.to_thread(cluster.leader)
    for _ in range(20):  # the proxy spreads token clients at random
        ws = await opened(cluster.proxy, cluster.admin, "admin")
        if (number := await replica_of(cluster, ws)) != leader:
            return ws, number
        await ws.close()
    raise AssertionError("the proxy sent 20 WebSocket clients in a row to the leader")


async def receive(ws: ClientConnection, seconds: float = 5) -> Frame:
    return dict(orjson.loads(await asyncio.wait_for(ws.recv(), seconds)))


async def until(ws: ClientConnection, check: Any, seconds: float = 5) -> Frame:
    async with asyncio.timeout(seconds):
        while True:
            frame = await receive(ws, seconds)
            if check(frame):
                return frame


async def command(ws: ClientConnection, reply: str, **frame: Any) -> Frame:
    await ws.send(orjson.dumps(frame).decode())
    return await until(ws, lambda f: f["type"] == reply)


def on(channel: str, message_type: str | None = None) -> Any:
    return lambda f: f["channel"] == channel and (message_type is None or f["type"] == message_type)


async def broadcast(base: str, token: str, channel: str, data: dict[str, Any]) -> None:
    async with httpx.AsyncClient(timeout=10) as api:
        response = await api.post(f"{base}/api/v1/realtime/ws/broadcast", headers=bearer(token),
                                  json={"channel": channel, "message_type": "note", "data": data})
    assert response.status_code == 200, response.text


async def pushes_per_interval(cluster: Cluster, intervals: int = 6) -> float:
    """`metrics_update` pushes a dashboard client gets through the proxy per METRICS_PUSH_INTERVAL."""
    async with await opened(cluster.proxy, cluster.admin, "dashboard") as ws:
        await until(ws, on("dashboard", "metrics_update"), seconds=10)  # in step with the pusher
        began, count = time.monotonic(), 0
        loop_end = began + intervals * PUSH_INTERVAL
        while (left := loop_end - time.monotonic()) > 0:
            try:
                await until(ws, on("dashboard", "metrics_update"), seconds=left)
                count += 1
            except TimeoutError:
                break
        return count / intervals


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
