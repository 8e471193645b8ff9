"""Where trajectories are kept: the port every store implements, the in-memory store and
the SQL store (SQLite, PostgreSQL) with its schema migrations, and the JSON codec they
share. Never imports the engine.

The SQL names load on first use, so that ``import coachflow`` does not pull in SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from coachflow.errors import StoreError
from coachflow.store.memory import MemoryStore
from coachflow.store.port import Store

if TYPE_CHECKING:
    from coachflow.store.aio import AsyncMemoryStore, AsyncSqlStore, AsyncStore
    from coachflow.store.codec import content_hash
    from coachflow.store.sql import (
        SCHEMA_REVISION,
        SqlStore,
        StoreCheck,
        access_entries,
        definitions,
        history,
        masked_url,
        metadata,
        outbox,
        outbox_claims,
        participants,
        trajectories,
    )

_LAZY = {
    "AsyncMemoryStore": "coachflow.store.aio",
    "AsyncSqlStore": "coachflow.store.aio",
    "AsyncStore": "coachflow.store.aio",
    "SCHEMA_REVISION": "coachflow.store.sql",
    "SqlStore": "coachflow.store.sql",
    "StoreCheck": "coachflow.store.sql",
    "access_entries": "coachflow.store.sql",
    "content_hash": "coachflow.store.codec",
    "definitions": "coachflow.store.sql",
    "history": "coachflow.store.sql",
    "masked_url": "coachflow.store.sql",
    "metadata": "coachflow.store.sql",
    "outbox": "coachflow.store.sql",
    "outbox_claims": "coachflow.store.sql",
    "participants": "coachflow.store.sql",
    "trajectories": "coachflow.store.sql",
}
"""Each lazily loaded name and the module that defines it."""


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'coachflow.store' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "AsyncMemoryStore",
    "AsyncSqlStore",
    "AsyncStore",
    "MemoryStore",
    "SCHEMA_REVISION",
    "SqlStore",
    "Store",
    "StoreCheck",
    "StoreError",
    "access_entries",
    "content_hash",
    "definitions",
    "history",
    "masked_url",
    "metadata",
    "outbox",
    "outbox_claims",
    "participants",
    "trajectories",
]
