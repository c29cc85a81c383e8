"""PostgreSQL refusing connections: REST answers 503 with Retry-After (never 500), health says degraded, the pages
say the data is unavailable, and everything answers again once connections are allowed, without a restart.

The outage is made for a scratch database only (`ALLOW_CONNECTIONS false` and its sessions ended): the PostgreSQL
server keeps running for every other test."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from nicegui.testing import User
from sqlalchemy import Engine, create_engine, make_url, text

from app.security import Auth
from tests.app_fixtures import ADMIN, ADMIN_PASSWORD
from tests.browser.conftest import start_server, stop_server
from tests.conftest import service_url

pytestmark = [pytest.mark.reliability, pytest.mark.postgres]

PASSWORD = "user-password-1"
UNAVAILABLE = "unavailable right now"
UNAVAILABLE_MARKER = "data-unavailable"
SIGNED_IN = "user-menu"  # the account menu of a page drawn for a signed-in account
RECOVERY_SECONDS = 15.0


@pytest.fixture
def scratch_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Engine, str]]:
    """A fresh PostgreSQL database named in DATABASE_URL, and an engine on the server's maintenance database that can
    refuse and allow connections to it."""
    url = make_url(service_url("TEST_DATABASE_URL")).set(drivername="postgresql+psycopg")
    name = f"test_outage_{uuid.uuid4().hex[:12]}"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        monkeypatch.setenv("DATABASE_URL", url.set(database=name).render_as_string(hide_password=False))
        yield server, name
        with server.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        server.dispose()


@contextmanager
def refusing_connections(server: Engine, name: str) -> Iterator[None]:
    """PostgreSQL refuses new connections to `name` and ends the open ones, until the block ends."""
    with server.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                           {"name": name})
    try:
        yield
    finally:
        with server.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))


def _requests(user_token: str, admin_token: str) -> list[tuple[str, str, str, dict[str, object] | None]]:
    """Routes that need the database, for each kind of caller: (method, path, token, JSON body)."""
    return [
        ("GET", "/api/v1/notifications", user_token, None),
        ("POST", "/api/v1/notifications/read-all", user_token, None),
        ("GET", "/api/v1/users", admin_token, None),
        ("GET", "/api/v1/realtime/events/history", admin_token, None),
        ("GET", "/api/v1/notifications/stats", admin_token, None),
        ("POST", "/api/v1/realtime/events/publish", admin_token,
         {"event_type": "resource.distributed", "data": {"human_id": "alice", "amount": 800}}),
        ("POST", "/api/v1/notifications/send", admin_token,
         {"user_id": "alice", "notification_type": "info", "title": "hello", "message": "there"}),
    ]


def _status(api: httpx.Client, method: str, path: str, token: str, body: dict[str, object] | None) -> httpx.Response:
    return api.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})


def test_rest_answers_503_while_the_database_refuses_and_recovers_after(
        scratch_database: tuple[Engine, str], tmp_path: Path) -> None:
    server_engine, name = scratch_database
    server = start_server(tmp_path)  # on the scratch database: DATABASE_URL is in the environment it inherits
    try:
        with httpx.Client(base_url=server.url, timeout=30) as api:
            admin_token = api.post("/api/v1/auth/token",
                                   json={"username": "admin", "password": ADMIN_PASSWORD}).json()["access_token"]
            created = api.post("/api/v1/users", headers={"Authorization": f"Bearer {admin_token}"},
                               json={"username": "alice", "password": PASSWORD, "role": "user"})
            assert created.status_code == 201, created.text
            user_token = api.post("/api/v1/auth/token",
                                  json={"username": "alice", "password": PASSWORD}).json()["access_token"]
            requests = _requests(user_token, admin_token)
            for method, path, token, body in requests:
                assert _status(api, method, path, token, body).is_success, (method, path)

            with refusing_connections(server_engine, name):
                time.sleep(Auth.CACHE_SECONDS + 0.5)  # past the account cache: even the token check needs the database
                health = api.get("/api/v1/health")
                assert health.status_code == 503
                assert health.json()["status"] == "degraded"
                assert health.json()["database"]["status"] != "ok"
                login = api.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD})
                answers = [("POST", "/api/v1/auth/token", login),
                           *((m, p, _status(api, m, p, t, b)) for m, p, t, b in requests)]
                for method, path, answer in answers:
                    assert answer.status_code == 503, (method, path, answer.status_code, answer.text)
                    assert int(answer.headers["Retry-After"]) > 0, (method, path)
                    assert answer.headers["content-type"].startswith("application/json")
                    assert "database is unavailable" in answer.json()["detail"], (method, path)

            deadline = time.monotonic() + RECOVERY_SECONDS
            pending = requests
            while pending and time.monotonic() < deadline:
                pending = [r for r in pending if not _status(api, *r).is_success]
                time.sleep(0.2)
            assert not pending, f"still failing after the database came back: {[(m, p) for m, p, _, _ in pending]}"
            assert api.get("/api/v1/health").json()["status"] == "ok"
            assert api.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD}).status_code == 200
    finally:
        stop_server(server)


async def sign_in(user: User) -> None:
    """Sign in as admin through /login and wait for a signed-in page (its account menu)."""
    await user.open("/")
    await user.should_see(marker="login")
    user.find(marker="username").type(ADMIN)
    user.find(marker="password").type(ADMIN_PASSWORD)
    user.find(marker="login").click()
    await user.should_see(marker=SIGNED_IN)


async def test_pages_say_the_data_is_unavailable_and_recover(
        scratch_database: tuple[Engine, str], user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    server_engine, name = scratch_database
    monkeypatch.setattr(Auth, "CACHE_SECONDS", 3600.0)  # the signed-in account is known without the database
    await sign_in(user)
    with refusing_connections(server_engine, name):
        await user.open("/admin")  # drawn, but the data of its tabs cannot be loaded
        await user.should_see("Control panel")
        await user.should_see(marker=UNAVAILABLE_MARKER)
        await user.should_see(UNAVAILABLE)
        await user.open("/")  # drawn, but the data of its sections cannot be loaded
        await user.should_see(marker=UNAVAILABLE_MARKER)
        await user.should_see(UNAVAILABLE)
        monkeypatch.setattr(Auth, "CACHE_SECONDS", 0.0)  # now not even who is signed in can be checked
        for path in ("/", "/admin"):
            await user.open(path)
            await user.should_see(UNAVAILABLE)
            await user.should_not_see(marker=SIGNED_IN)
            await user.should_not_see("Control panel")
    for path in ("/", "/admin"):
        await user.open(path)
        await user.should_see(marker=SIGNED_IN, retries=int(RECOVERY_SECONDS * 10))
        await user.should_not_see(marker=UNAVAILABLE_MARKER)
    await user.should_see("Control panel")
