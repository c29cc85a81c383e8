"""Autogenerate a migration from the models against a scratch SQLite database: `make migration MESSAGE=...`."""

import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config

from app.db import MIGRATIONS, create_db_engine

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_db_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")
            number = len(list((MIGRATIONS / "versions").glob("*.py"))) + 1
            command.revision(config, message=sys.argv[1], autogenerate=True, head="heads",
                             rev_id=f"{number:04d}")  # based on every head: a merge when there are several
    print(f'Now set SCHEMA_HEADS in app/db.py to frozenset({{"{number:04d}"}}) (tests/unit/test_db.py checks it).')
