"""Alembic environment: runs on the connection the app hands over (see app/db.py)."""

import importlib
import pkgutil

from alembic import context
from sqlmodel import SQLModel

import services

# Every table module registers itself on SQLModel.metadata: services/models.py and services/*_models.py.
for module in pkgutil.iter_modules(services.__path__):
    if module.name == "models" or module.name.endswith("_models"):
        importlib.import_module(f"services.{module.name}")

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
