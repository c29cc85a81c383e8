"""The app's database for API tests: the default SQLite file, or a scratch PostgreSQL database.

The scratch database (created from TEST_DATABASE_URL and dropped afterwards) keeps these tests apart from any other
test run using the same server at the same time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.conftest import service_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app_database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Which database main.py uses (request it before `user`/`client`): "sqlite" or "postgres"."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    url = make_url(service_url("TEST_DATABASE_URL")).set(drivername="postgresql+psycopg")
    name = f"test_app_{uuid.uuid4().hex[:12]}"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        monkeypatch.setenv("DATABASE_URL", url.set(database=name).render_as_string(hide_password=False))
        yield "postgres"
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        server.dispose()
