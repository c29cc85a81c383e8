"""Shared fixtures: database engines on SQLite and PostgreSQL, Redis URLs, service requirements."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from app.db import create_db_engine, migrate

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def service_url(variable: str) -> str:
    """The URL in `variable`, else skip (or fail when REQUIRE_SERVICES=1)."""
    url = os.environ.get(variable, "")
    if not url:
        message = f"{variable} is not set"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message} but REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(message)
    return url


def _drop_everything(engine: Engine) -> None:
    """Empty the PostgreSQL test database, whatever tables earlier runs or other features left."""
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database: a SQLite file as the app uses by default, and PostgreSQL from TEST_DATABASE_URL.

    Not in-memory SQLite: that is one connection shared by every thread, so a service's background write and a
    test's own query could interleave inside one transaction, which no deployment does."""
    if request.param == "sqlite":
        db = create_db_engine(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        from app.settings import Settings

        db = create_db_engine(Settings(database_url=service_url("TEST_DATABASE_URL")).effective_database_url)
        _drop_everything(db)
    migrate(db)
    yield db
    if request.param == "postgres":
        _drop_everything(db)
    db.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite file (for tests that do not need both backends)."""
    db = create_db_engine(f"sqlite:///{tmp_path / 'test.db'}")
    migrate(db)
    yield db
    db.dispose()


@pytest.fixture
def redis_url() -> str:
    return service_url("TEST_REDIS_URL")


@pytest.fixture
def unique() -> str:
    """A short unique string for channel names and keys shared with other runs."""
    return uuid.uuid4().hex[:10]
