"""Anonymous page loads that never connect leave no lasting state: the pages waiting for their socket and the
sessions' storage stay bounded, and go soon after the loads stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from nicegui import Client
from nicegui import app as nicegui_app
from nicegui.testing import User

import app.asgi

pytestmark = pytest.mark.reliability

LOADS = 300
LIMIT = 50
GRACE = 2.0


@pytest.fixture
def small_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """A few waiting pages at most, for two seconds (set before the app starts: request it before `user`)."""
    monkeypatch.setattr(app.asgi, "MAX_UNCONNECTED", LIMIT, raising=False)
    monkeypatch.setattr(app.asgi, "UNCONNECTED_GRACE", GRACE, raising=False)


def unconnected() -> int:
    return sum(1 for client in Client.instances.values() if not client.has_socket_connection)


def sessions() -> int:
    return len(nicegui_app.storage._users)


async def eventually(check: Callable[[], bool], seconds: float) -> bool:
    for _ in range(int(seconds * 10)):
        if check():
            return True
        await asyncio.sleep(0.1)
    return check()


async def test_anonymous_page_loads_leave_bounded_state(small_bounds: None, user: User) -> None:
    client: httpx.AsyncClient = user.http_client
    before = sessions()
    for _ in range(LOADS):
        client.cookies.clear()  # a new visitor each time: no session cookie
        answer = await client.get("/login")
        assert answer.status_code == 200
    assert await eventually(lambda: unconnected() <= LIMIT, 3), f"{unconnected()} pages wait for a socket"
    assert sessions() <= before + LIMIT, f"{sessions()} session storages for {LOADS} anonymous loads"

    assert await eventually(lambda: unconnected() == 0, GRACE + 3), f"{unconnected()} pages still wait"
    assert sessions() <= before + 1, f"{sessions()} session storages kept after the visitors left"

    await user.open("/login")  # a person arriving now gets a working page
    await user.should_see(marker="login")
