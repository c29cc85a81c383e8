"""Database engine and schema migrations (Alembic, applied at start)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import create_engine

from app.settings import is_sqlite_memory

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def create_db_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get WAL and a busy timeout. In-memory SQLite is refused (see settings)."""
    if url.startswith("sqlite"):
        if is_sqlite_memory(url):
            raise ValueError("in-memory SQLite is not supported: name a SQLite file")
        _private_file(Path(url.removeprefix("sqlite:///")))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (it holds password hashes); SQLite gives its WAL and
    shared-memory files the same mode. An existing file keeps the mode its owner chose."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if str(path) and not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


CHECKPOINT_SECONDS = 2.0
"""How often `checkpoint` runs for a SQLite file (a job): WAL pages go back to the database off the commit path."""
SAFETY_CHECKPOINT_PAGES = 20_000
"""A commit still checkpoints by itself once the WAL holds this many pages (about 80 MB): the job fell behind."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # By default the commit that fills 1,000 WAL pages also copies them into the database and syncs it, which held
    # that commit (and every request waiting on it) for tens of milliseconds. `checkpoint` does it in the background.
    cursor.execute(f"PRAGMA wal_autocheckpoint={SAFETY_CHECKPOINT_PAGES}")
    cursor.execute(f"PRAGMA journal_size_limit={64 * 1024 * 1024}")
    cursor.close()


def is_sqlite_file(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


def checkpoint(engine: Engine) -> dict[str, int]:
    """Copy committed WAL pages into a SQLite database without waiting for readers or writers (blocking)."""
    with engine.connect() as connection:
        busy, wal_pages, copied = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    return {"busy": int(busy), "wal_pages": int(wal_pages), "copied": int(copied)}


SCHEMA_HEADS = frozenset({"0011"})
"""The newest revisions in migrations/versions (a test holds this to Alembic's own answer). A database already at
them needs no upgrade, so a restart does not load Alembic at all: about a tenth of a second of every start."""


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revisions (blocking: call it off the event loop)."""
    if stored_revisions(engine) == SCHEMA_HEADS:
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def stored_revisions(engine: Engine) -> frozenset[str]:
    """The revisions the database says it is at; empty for a new database."""
    try:
        with engine.connect() as connection:
            return frozenset(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except SQLAlchemyError:  # no alembic_version table yet
        return frozenset()


def ping(engine: Engine) -> dict[str, object]:
    """A cheap round trip for the health check (blocking)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ok", "backend": engine.dialect.name, "tables": len(inspect(engine).get_table_names())}
