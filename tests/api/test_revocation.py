"""Revoked access ends at once: deactivation or a role change closes the account's WebSockets on every process,
and tokens issued before a deactivation stay dead after the account is reactivated."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.api.test_ws_support import broadcast, command, opened, receive, tokens_for, two_processes
from tests.browser.conftest import Server, start_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("revocation"))
    yield running
    stop_server(running)


async def patch_user(server: Server, admin: str, username: str, **change: object) -> None:
    async with httpx.AsyncClient(base_url=server.url) as api:
        response = await api.patch(f"/api/v1/users/{username}", json=change,
                                   headers={"Authorization": f"Bearer {admin}"})
    assert response.status_code == 200, response.text


async def closed_with(ws: ClientConnection, seconds: float = 1.0) -> tuple[int, str]:
    """The close code and reason the server sends within `seconds` (other frames before it are skipped)."""
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(seconds):
            while True:
                await receive(ws, seconds)
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_deactivation_closes_the_open_websocket_within_a_second(server: Server) -> None:
    tokens = tokens_for(server, "dora")
    ws = await opened(server, tokens["dora"])
    started = time.monotonic()
    await patch_user(server, tokens["admin"], "dora", is_active=False)
    code, reason = await closed_with(ws)
    assert (code, reason) == (1008, "account deactivated")
    assert time.monotonic() - started < 1.0
    await broadcast(server, tokens["admin"], "broadcast", "announcement", {"text": "after"})  # nobody to reach


async def test_a_demoted_admin_loses_the_admin_connection_and_cannot_read_private_channels(server: Server) -> None:
    tokens = tokens_for(server, "vera", role="admin")
    tokens.update(tokens_for(server, "pat"))
    ws = await opened(server, tokens["vera"], "admin")
    joined = await command(ws, "subscription_confirmed", type="subscribe", channel="user:pat")
    assert joined["data"]["channel"] == "user:pat"
    await patch_user(server, tokens["admin"], "vera", role="user")
    assert await closed_with(ws) == (1008, "account role changed to user; reconnect")

    with pytest.raises(ConnectionClosed) as refused:  # the token is still good, but not for an admin connection
        again = await opened(server, tokens["vera"], "admin")
        await receive(again)
    assert refused.value.rcvd is not None and refused.value.rcvd.code == 1008
    plain = await opened(server, tokens["vera"], "dashboard")
    answer = await command(plain, "error", type="subscribe", channel="user:pat")
    assert answer["data"]["code"] == "forbidden"
    await plain.close()


async def test_reactivating_an_account_does_not_revive_old_tokens(server: Server) -> None:
    tokens = tokens_for(server, "remy")
    async with httpx.AsyncClient(base_url=server.url) as api:
        old = {"Authorization": f"Bearer {tokens['remy']}"}
        assert (await api.get("/api/v1/notifications", headers=old)).status_code == 200
        await patch_user(server, tokens["admin"], "remy", is_active=False)
        await patch_user(server, tokens["admin"], "remy", is_active=True)
        assert (await api.get("/api/v1/notifications", headers=old)).status_code == 401
        fresh = await api.post("/api/v1/auth/token", json={"username": "remy", "password": "user-password-1"})
        assert fresh.status_code == 200
        new = {"Authorization": f"Bearer {fresh.json()['access_token']}"}
        assert (await api.get("/api/v1/notifications", headers=new)).status_code == 200


@pytest.mark.redis
async def test_a_change_made_on_one_process_closes_connections_on_the_other(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    folder: Callable[[str], Path] = tmp_path_factory.mktemp
    with two_processes(folder) as (first, second):
        tokens = tokens_for(first, "nina")
        ws = await opened(second, tokens["nina"])
        started = time.monotonic()
        await patch_user(first, tokens["admin"], "nina", is_active=False)
        assert await closed_with(ws) == (1008, "account deactivated")
        assert time.monotonic() - started < 1.5
        async with httpx.AsyncClient(base_url=second.url) as api:  # and the other process refuses the token at once
            answer = await api.get("/api/v1/notifications", headers={"Authorization": f"Bearer {tokens['nina']}"})
        assert answer.status_code == 401
