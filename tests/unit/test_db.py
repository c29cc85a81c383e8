from sqlalchemy import Engine, inspect

from app.db import migrate, ping


def test_migrations_create_the_schema(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {"users", "events", "alembic_version"} <= tables
    migrate(engine)  # a second start upgrades nothing and does not fail
    assert ping(engine)["status"] == "ok"
