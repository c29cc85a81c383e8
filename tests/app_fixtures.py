"""Fixtures for tests that run the whole app (main.py) in-process through NiceGUI's user simulation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from nicegui import app as nicegui_app
from nicegui.app.app import State
from nicegui.testing import User
from nicegui.testing.general_fixtures import get_path_to_main_file
from nicegui.testing.user_simulation import user_simulation

ADMIN = "admin"
ADMIN_PASSWORD = "admin-password-1"
USER_PASSWORD = "user-password-1"
PATIENCE = 100  # tries 0.1 s apart (10 s) before a UI assertion fails: hashing and drawing are slow on a busy box


@pytest.fixture(autouse=True)
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory (SQLite file, secret) and a known admin password for every test."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ADMIN_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ADMIN_PASSWORD", ADMIN_PASSWORD)
    return tmp_path


@pytest.fixture(autouse=True)
def patient_assertions(monkeypatch: pytest.MonkeyPatch) -> None:
    """`user.should_see` and `should_not_see` wait up to PATIENCE tries instead of NiceGUI's three (0.3 s): a step
    that hashes a password or draws the admin page can take longer than that on a busy machine. A passing
    assertion returns at its first success, so only a failure takes longer to report."""
    for name in ("should_see", "should_not_see"):
        method = getattr(User, name)
        monkeypatch.setattr(method, "__kwdefaults__", {**(method.__kwdefaults__ or {}), "retries": PATIENCE})


def forget_a_failed_start() -> None:
    """Mark NiceGUI as stopped. A start-up that raises inside NiceGUI's lifespan never reaches its shutdown, so
    NiceGUI would count as started for the rest of the session and refuse the startup handlers of every later run
    of main.py ("NiceGUI has already been started"): one failure would become dozens of errors."""
    nicegui_app._state = State.STOPPED


@asynccontextmanager
async def app_user(main_file: Path) -> AsyncIterator[User]:
    """NiceGUI's user simulation of main.py, starting from a clean app and leaving one behind whatever happens."""
    forget_a_failed_start()
    try:
        async with user_simulation(main_file=main_file) as simulated:
            yield simulated
    finally:
        forget_a_failed_start()


@pytest.fixture
async def user(caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest) -> AsyncIterator[User]:
    """NiceGUI's `user` fixture (same checks: no ERROR log during the test), isolated from earlier failed starts."""
    main_file = get_path_to_main_file(request)
    assert main_file is not None
    async with app_user(main_file) as simulated:
        yield simulated
        if any(record.levelname == "ERROR" for record in caplog.get_records("call")):
            pytest.fail("There were unexpected ERROR logs.", pytrace=False)


@pytest.fixture
def client(user: User) -> httpx.AsyncClient:
    return user.http_client


async def token_for(client: httpx.AsyncClient, username: str, password: str) -> str:
    response = await client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return bearer(await token_for(client, ADMIN, ADMIN_PASSWORD))


async def create_account(client: httpx.AsyncClient, admin_headers: dict[str, str], username: str,
                         role: str = "user", password: str = USER_PASSWORD) -> dict[str, str]:
    """Create an account through the API and return its bearer headers."""
    response = await client.post("/api/v1/users", headers=admin_headers,
                                 json={"username": username, "password": password, "role": role})
    assert response.status_code == 201, response.text
    return bearer(await token_for(client, username, password))


@pytest.fixture
async def user_headers(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> dict[str, str]:
    return await create_account(client, admin_headers, "alice")


@pytest.fixture
async def system_headers(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> dict[str, str]:
    return await create_account(client, admin_headers, "ingest", role="system")


async def log_in(user: User, username: str = ADMIN, password: str = ADMIN_PASSWORD) -> None:
    """Sign in through /login and wait for the dashboard."""
    await user.open("/")
    await user.should_see(marker="login")
    user.find(marker="username").type(username)
    user.find(marker="password").type(password)
    user.find(marker="login").click()
    await user.should_see(marker="dashboard")


async def open_admin_tab(user: User, name: str, ready_marker: str | None = None) -> None:
    """Open /admin, switch to the tab `name` (lower case) and wait for `ready_marker` inside it."""
    await user.open("/admin")
    await user.should_see(marker=f"tab-{name}")
    user.find(marker=f"tab-{name}").click()
    if ready_marker:
        await user.should_see(marker=ready_marker)
