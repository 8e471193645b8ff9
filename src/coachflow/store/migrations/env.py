"""Alembic environment: runs on the connection coachflow hands it (or on a URL)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from coachflow.store.sql import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
