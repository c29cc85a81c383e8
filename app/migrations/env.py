"""Alembic environment: runs on the connection the app hands over (see app/db.py)."""

import importlib
import pkgutil

from alembic import context
from sqlmodel import SQLModel

import services

# Every table module registers itself on SQLModel.metadata: services/models.py and each feature's models.py.
for module in pkgutil.walk_packages(services.__path__, prefix="services."):
    if module.name.rsplit(".", 1)[-1] == "models":
        importlib.import_module(module.name)

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
