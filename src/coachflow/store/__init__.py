"""Where trajectories are kept: the port every store implements, the in-memory store and
the SQL store (SQLite, PostgreSQL) with its schema migrations. Never imports the engine.

The SQL names load on first use, so that ``import coachflow`` does not pull in SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from coachflow.errors import StoreError
from coachflow.store.memory import MemoryStore
from coachflow.store.port import Store

if TYPE_CHECKING:
    from coachflow.store.sql import (
        SCHEMA_REVISION,
        SqlStore,
        StoreCheck,
        content_hash,
        definitions,
        history,
        masked_url,
        metadata,
        participants,
        trajectories,
    )

_SQL = frozenset(
    {
        "SCHEMA_REVISION",
        "SqlStore",
        "StoreCheck",
        "content_hash",
        "definitions",
        "history",
        "masked_url",
        "metadata",
        "participants",
        "trajectories",
    }
)


def __getattr__(name: str) -> Any:
    if name not in _SQL:
        raise AttributeError(f"module 'coachflow.store' has no attribute {name!r}")
    value = getattr(importlib.import_module("coachflow.store.sql"), name)
    globals()[name] = value
    return value


__all__ = [
    "SCHEMA_REVISION",
    "MemoryStore",
    "SqlStore",
    "Store",
    "StoreCheck",
    "StoreError",
    "content_hash",
    "definitions",
    "history",
    "masked_url",
    "metadata",
    "participants",
    "trajectories",
]
