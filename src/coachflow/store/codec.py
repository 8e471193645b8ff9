"""Values <-> JSON text: the one codec of every JSON column the store writes and reads.

Facts, consents, participants, counts, the input and changes of history records and
school calendars go through :func:`encode` on the way in and :func:`decode` on the way
out, whether SQLAlchemy or the driver's hot path moves them. Dates are stored as
``{"$date": "YYYY-MM-DD"}`` and moments as ``{"$datetime": "..."}``; JSON lists come back
as tuples (list facts and inputs are tuples). :func:`content_hash` is the canonical JSON
of a definition and its SHA-256, the identity of a recorded definition version.

Stdlib only (and lazily the definition's own serialisation): the in-memory store uses it
too, and ``import coachflow`` pulls in no SQLAlchemy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeAlias

from coachflow.calendar import SchoolCalendar

if TYPE_CHECKING:
    from coachflow.definition.model import Definition

JsonValue: TypeAlias = Any
"""Data as JSON holds it (objects, arrays, strings, numbers, booleans, null), or a value
decoded from it: what the driver gives and what :func:`decode` returns is not narrower."""


def _default(value: object) -> JsonValue:
    """What the C encoder cannot write itself: dates, moments, read-only mappings."""
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} cannot be stored")


# made once: stored values are trees, never cycles, so the circular check is skipped
_ENCODER = json.JSONEncoder(default=_default, check_circular=False)


def encode(value: Mapping[str, object]) -> str:
    """The JSON text of a stored mapping (facts, consents, participants, counts, a
    record's input or changes, a calendar's data), in one pass of the C encoder."""
    return _ENCODER.encode(value)


_PLAIN = frozenset({str, int, float, bool, type(None)})
"""Types :func:`_revive` returns as they are (checked by exact type: no call needed)."""


def decode(value: str | JsonValue) -> JsonValue:
    """The values of a stored JSON object: from its text (SQLite's driver) or from what a
    driver or SQLAlchemy decoded already (PostgreSQL's JSON). Every stored column is an
    object or null, never a JSON string, so text is always JSON to parse."""
    return _revive(json.loads(value) if isinstance(value, str) else value)


def _revive(value: JsonValue) -> JsonValue:
    if isinstance(value, dict):
        if len(value) == 1:
            if "$date" in value:
                return date.fromisoformat(value["$date"])
            if "$datetime" in value:
                return datetime.fromisoformat(value["$datetime"])
        return {k: v if v.__class__ in _PLAIN else _revive(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(v if v.__class__ in _PLAIN else _revive(v) for v in value)
    return value


def encode_calendar(calendar: SchoolCalendar | None) -> str | None:
    """The JSON text of a trajectory's calendar (None: it has none)."""
    if calendar is None:
        return None
    if not isinstance(calendar, SchoolCalendar):  # an object of its own kind: as it says
        return encode(calendar.as_data())
    return _calendar_text(calendar)


@lru_cache(maxsize=64)
def _calendar_text(calendar: SchoolCalendar) -> str:
    # a SchoolCalendar is a frozen dataclass of frozen holidays: hashable, never changed
    return encode(calendar.as_data())


def decode_calendar(value: str | JsonValue) -> SchoolCalendar | None:
    """A trajectory's calendar from its stored JSON (text or decoded); None for none.
    Decoded from text once per text: the calendar is immutable, and shared."""
    if isinstance(value, str):
        return _calendar_of(value)
    data = decode(value)
    return SchoolCalendar.from_data(data) if data else None


@lru_cache(maxsize=64)
def _calendar_of(text: str) -> SchoolCalendar | None:
    data = decode(text)
    return SchoolCalendar.from_data(data) if data else None


def content_hash(definition: Definition) -> tuple[str, str]:
    """The canonical JSON of a definition and its SHA-256."""
    from coachflow.files.definitions import definition_data

    text = json.dumps(definition_data(definition), sort_keys=True, ensure_ascii=False)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()
