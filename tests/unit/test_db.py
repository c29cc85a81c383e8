from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from app.container import build_services
from app.db import (
    MIGRATIONS,
    SAFETY_CHECKPOINT_PAGES,
    SCHEMA_HEADS,
    checkpoint,
    create_db_engine,
    is_sqlite_file,
    migrate,
    ping,
    stored_revisions,
)
from app.settings import load_settings


def test_migrations_create_the_schema(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {"users", "events", "alembic_version"} <= tables
    assert stored_revisions(engine) == SCHEMA_HEADS
    migrate(engine)  # a second start upgrades nothing and does not fail
    assert ping(engine)["status"] == "ok"


def test_schema_heads_names_the_newest_migrations() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = frozenset(ScriptDirectory.from_config(config).get_heads())
    assert heads == SCHEMA_HEADS, f"a migration was added: set SCHEMA_HEADS in app/db.py to {set(heads)}"


NEWER_TABLES = ("notification_preferences", "scheduled_notifications", "metric_silences", "notification_trace",
                "notification_digests", "notification_digest_items")
"""Tables of the migrations after 0006."""


def test_a_database_behind_the_newest_migration_is_upgraded_at_start(tmp_path: Path) -> None:
    db = create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        migrate(db)
        with db.begin() as connection:  # as a database written by a release before 0003 (metrics) and later would be
            for table in ("metric_points", "metric_definitions", "metric_alert_rules"):
                connection.exec_driver_sql(f"DROP TABLE {table}")
            connection.exec_driver_sql("ALTER TABLE users DROP COLUMN token_generation")
            connection.exec_driver_sql("DROP INDEX ix_events_reactions_pending")
            connection.exec_driver_sql("ALTER TABLE events DROP COLUMN reactions_pending")
            connection.exec_driver_sql("ALTER TABLE events DROP COLUMN reaction_attempts")
            connection.exec_driver_sql("ALTER TABLE notification_receipts DROP COLUMN action")
            connection.exec_driver_sql("ALTER TABLE notification_receipts DROP COLUMN acted_at")
            for table in NEWER_TABLES:
                connection.exec_driver_sql(f"DROP TABLE {table}")
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0002'")
        assert stored_revisions(db) == {"0002"}
        migrate(db)
        assert stored_revisions(db) == SCHEMA_HEADS
        assert "metric_points" in inspect(db).get_table_names()
        assert "token_generation" in {c["name"] for c in inspect(db).get_columns("users")}
        assert {"action", "acted_at"} <= {c["name"] for c in inspect(db).get_columns("notification_receipts")}
        assert set(NEWER_TABLES) <= set(inspect(db).get_table_names())
    finally:
        db.dispose()


def test_a_sqlite_file_is_checkpointed_in_the_background_not_by_commits(tmp_path: Path) -> None:
    db = create_db_engine(f"sqlite:///{tmp_path / 'liberation.db'}")
    try:
        assert is_sqlite_file(db)
        with db.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == SAFETY_CHECKPOINT_PAGES
        migrate(db)  # enough pages to be worth copying
        with db.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE filler (blob TEXT)")
            connection.exec_driver_sql("INSERT INTO filler VALUES (?)", [("x" * 4000,) for _ in range(1500)])
        first = checkpoint(db)
        assert first["busy"] == 0 and first["wal_pages"] >= 1500 and first["copied"] == first["wal_pages"]
    finally:
        db.dispose()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:db?mode=memory&uri=true"])
def test_in_memory_sqlite_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="in-memory SQLite is not supported"):
        create_db_engine(url)


def test_the_checkpoint_job_is_scheduled_only_for_a_sqlite_file(tmp_path: Path) -> None:
    on_file = build_services(load_settings(data_dir=tmp_path, redis_url="", admin_password="admin-password-1"))
    assert "sqlite_checkpoint" in {job.id for job in on_file.jobs}
    on_file.engine.dispose()
