"""Values <-> JSON text: the one codec of every JSON column the store writes and reads.

Facts, consents, participants, counts, the input, changes and labels of history records
and school calendars go through :func:`encode` on the way in and :func:`decode` on the way
out, whether SQLAlchemy or the driver's hot path moves them. Dates are stored as
``{"$date": "YYYY-MM-DD"}`` and moments as ``{"$datetime": "..."}``, an encrypted value as
``{"$sealed": "..."}`` (:class:`Sealed`) and an erased one as ``{"$erased": 1}``
(:data:`~coachflow.runtime.privacy.ERASED`); JSON lists come back
as tuples (list facts and inputs are tuples). A record's labels (:func:`encode_labels`)
are ``{"field": [{"visible_to": [roles] or null, "disclose_to": {role: consent}}]}``.
:func:`content_hash` is the canonical JSON of a definition and its SHA-256, the identity of
a recorded definition version.

The standard library and the runtime's record types only (and lazily the definition's own
serialisation): the in-memory store uses it too, and ``import coachflow`` pulls in no
SQLAlchemy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import lru_cache
from json.encoder import encode_basestring_ascii
from json.scanner import make_scanner
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from coachflow.calendar import SchoolCalendar
from coachflow.definition.plain import Label, Rule
from coachflow.runtime.privacy import ERASED

if TYPE_CHECKING:
    from coachflow.definition.model import Definition

JsonValue: TypeAlias = Any
"""Data as JSON holds it (objects, arrays, strings, numbers, booleans, null), or a value
decoded from it: what the driver gives and what :func:`decode` returns is not narrower."""


class Sealed:
    """An encrypted value as it is stored: ``{"$sealed": "<class>:<base64>"}``
    (:mod:`coachflow.store.sealing` makes and opens it)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    @property
    def value_class(self) -> str:
        return self.text.partition(":")[0]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Sealed({self.value_class!r})"


def _default(value: object) -> JsonValue:
    """What the C encoder cannot write itself: dates, moments, read-only mappings, an
    erased value (``{"$erased": 1}``) and a sealed one."""
    if value is ERASED:
        return {"$erased": 1}
    if isinstance(value, Sealed):
        return {"$sealed": value.text}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} cannot be stored")


# made once: stored values are trees, never cycles, so the circular check is skipped
_ENCODER = json.JSONEncoder(default=_default, check_circular=False)
_C_ENCODER: Callable[[object, int], list[str]] | None
try:
    from _json import make_encoder
except ImportError:  # an interpreter without json's C accelerator: _ENCODER.encode
    _C_ENCODER = None
else:  # what _ENCODER.encode runs, without its Python frames
    _C_ENCODER = make_encoder(
        None,  # markers: no circular check
        _default,
        encode_basestring_ascii,
        None,  # indent
        _ENCODER.key_separator,
        _ENCODER.item_separator,
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )


def encode(value: Mapping[str, object]) -> str:
    """The JSON text of a stored mapping (facts, consents, participants, counts, a
    record's input or changes, a calendar's data), in one pass of the C encoder. An empty
    mapping is ``{}`` without encoding it, and a mapping :func:`decode_frozen` made is
    the text it was decoded from."""
    if not value:
        return "{}"
    known = _TEXTS.get(id(value))
    if known is not None and known[0] is value:
        return known[1]
    if _C_ENCODER is None:  # an interpreter without the C accelerator
        return _ENCODER.encode(value)
    # a dict (of any class) goes to the encoder as it is; another mapping as a dict
    return "".join(_C_ENCODER(value if isinstance(value, dict) else dict(value), 0))


_PLAIN = frozenset({str, int, float, bool, type(None)})
"""Types :func:`_revive` returns as they are (checked by exact type: no call needed)."""
_SCAN = make_scanner(cast("make_scanner", json.JSONDecoder()))
"""What ``json.loads`` ends in (the C scanner), called at once: a decoder has the settings
the scanner reads."""


def _parse(text: str) -> JsonValue:
    """``json.loads(text)`` of a text the store wrote (no whitespace around the value)
    without its Python frames; anything else goes through ``json.loads`` (and its
    errors)."""
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        return json.loads(text)
    if end != len(text):
        return json.loads(text)
    return value


def decode(value: str | JsonValue) -> JsonValue:
    """The values of a stored JSON object: from its text (SQLite's driver) or from what a
    driver or SQLAlchemy decoded already (PostgreSQL's JSON). Every stored column is an
    object or null, never a JSON string, so text is always JSON to parse. A text without
    ``$``, ``[`` and ``\\`` (no escaped ``$`` either) holds no date, moment or list: it is
    as JSON parses it."""
    if isinstance(value, str):
        parsed = _parse(value)
        if "$" not in value and "[" not in value and "\\" not in value:
            return parsed
        return _revive(parsed)
    return _revive(value)


_FROZEN: dict[str, Mapping[str, JsonValue]] = {}
"""Texts decoded by :func:`decode_frozen`, and the read-only mapping of each."""
_TEXTS: dict[int, tuple[Mapping[str, JsonValue], str]] = {}
"""The mappings of :data:`_FROZEN` by identity, with their text (the mapping is held, so
its id is not another object's while it is here)."""
_FROZEN_MAX = 4096


def decode_frozen(value: str | JsonValue) -> Mapping[str, JsonValue]:
    """A read-only mapping of a stored JSON object of flat values that seldom changes (a
    trajectory's consents, counts, participants), shared by every snapshot read with the
    same text: decoded once per text, and :func:`encode` of it is that text again."""
    if not isinstance(value, str):
        return MappingProxyType(decode(value))
    found = _FROZEN.get(value)
    if found is None:
        if len(_FROZEN) >= _FROZEN_MAX:  # no LRU bookkeeping on the hot path: start again
            _FROZEN.clear()
            _TEXTS.clear()
        found = MappingProxyType(decode(value))
        _FROZEN[value] = found
        _TEXTS[id(found)] = (found, value)
    return found


def _revive(value: JsonValue) -> JsonValue:
    if isinstance(value, dict):
        if len(value) == 1:
            if "$date" in value:
                return date.fromisoformat(value["$date"])
            if "$datetime" in value:
                return datetime.fromisoformat(value["$datetime"])
            if "$sealed" in value:
                return Sealed(value["$sealed"])
            if "$erased" in value:
                return ERASED
        return {k: v if v.__class__ in _PLAIN else _revive(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(v if v.__class__ in _PLAIN else _revive(v) for v in value)
    return value


def encode_labels(labels: Mapping[str, Label]) -> str:
    """The JSON text of a record's labels: for each field, its rules in order."""
    return encode(
        {
            name: [
                {"visible_to": rule.visible_to, "disclose_to": dict(rule.disclose_to)}
                for rule in label
            ]
            for name, label in labels.items()
        }
    )


_LABELS: dict[str, Mapping[str, Label]] = {}
"""Label texts decoded by :func:`decode_labels`: the records of one transition share one."""


def decode_labels(value: str | JsonValue) -> Mapping[str, Label]:
    """A record's labels from their stored JSON (text or decoded), read-only; decoded once
    per text (labels are immutable, and shared)."""
    if isinstance(value, str):
        found = _LABELS.get(value)
        if found is None:
            if len(_LABELS) >= _FROZEN_MAX:
                _LABELS.clear()
            found = _LABELS[value] = _labels(decode(value))
        return found
    return _labels(decode(value))


def _labels(data: JsonValue) -> Mapping[str, Label]:
    labels: dict[str, Label] = {}
    for name, rules in data.items():
        labels[str(name)] = tuple(
            Rule(
                None if rule["visible_to"] is None else tuple(map(str, rule["visible_to"])),
                tuple(sorted((str(r), str(c)) for r, c in rule["disclose_to"].items())),
            )
            for rule in rules
        )
    return MappingProxyType(labels)


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
