"""The one JSON codec of the stores (``coachflow.store.codec``): what it writes, what it
reads back, and the shortcuts of the hot path (the C encoder called at once, ``{}``
without encoding, texts without dates or lists as JSON parses them, and the read-only
mappings of seldom-changing columns decoded once per text and never encoded again)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from types import MappingProxyType

import pytest

from coachflow.store import codec
from coachflow.store.codec import decode, decode_frozen, encode

VALUES = {
    "n": 3,
    "x": 1.5,
    "ok": True,
    "none": None,
    "text": "ünïcode ✓ $[not a list]",
    "day": date(2026, 9, 1),
    "moment": datetime(2026, 9, 1, 9, 30, tzinfo=UTC),
    "items": ["a", "b"],
    "nested": MappingProxyType({"deep": [date(2026, 1, 2), {"k": 1}]}),
}
BACK = {
    **VALUES,
    "items": ("a", "b"),
    "nested": {"deep": (date(2026, 1, 2), {"k": 1})},
}


def test_values_come_back_as_they_were_written() -> None:
    text = encode(MappingProxyType(VALUES))
    assert decode(text) == BACK
    assert json.loads(text)["day"] == {"$date": "2026-09-01"}
    assert decode(json.loads(text)) == BACK  # as a driver that decodes JSON gives it


def test_the_text_is_what_the_json_encoder_writes() -> None:
    plain = {"n": 3, "s": "ü", "f": [1, 2], "b": None}
    assert encode(plain) == json.dumps(plain)
    assert encode(MappingProxyType(plain)) == json.dumps(plain)
    assert encode({}) == "{}" and encode(MappingProxyType({})) == "{}"

    class Frozen(dict[str, object]):  # a read-only dict class, as the runtime may use
        pass

    assert encode(Frozen(plain)) == json.dumps(plain)


def test_without_the_c_encoder_the_text_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = encode(MappingProxyType(VALUES))
    monkeypatch.setattr(codec, "_C_ENCODER", None)
    assert encode(MappingProxyType(VALUES)) == fast


def test_what_cannot_be_stored_is_refused() -> None:
    with pytest.raises(TypeError, match="set cannot be stored"):
        encode({"s": {1, 2}})


def test_texts_decode_whatever_their_spacing_and_bad_ones_are_value_errors() -> None:
    assert decode('  {"n": 1, "l": [1]} \n') == {"n": 1, "l": (1,)}
    assert decode('{"n":1}') == {"n": 1}
    assert decode("null") is None
    for bad in ("", "{", '{"n": 1} x', "[1] [2]"):
        with pytest.raises(ValueError):
            decode(bad)


def test_a_text_without_dates_or_lists_is_as_json_parses_it() -> None:
    assert decode('{"a": {"b": "c"}, "d": 1}') == {"a": {"b": "c"}, "d": 1}
    assert decode('{"a": "$date"}') == {"a": "$date"}  # a $ in a string: read as written
    assert decode('{"a": {"$date": "2026-09-01"}}') == {"a": date(2026, 9, 1)}
    assert decode('{"a": {"\\u0024date": "2026-09-01"}}') == {"a": date(2026, 9, 1)}


def test_a_frozen_mapping_is_decoded_once_and_its_text_is_not_encoded_again() -> None:
    text = '{"report":true,  "visit":false}'  # not how encode would space it
    first = decode_frozen(text)
    assert first == {"report": True, "visit": False}
    assert isinstance(first, MappingProxyType)
    with pytest.raises(TypeError):
        first["report"] = False  # type: ignore[index]
    assert decode_frozen(str(text)) is first  # the same text: the same mapping
    assert encode(first) == text  # its own text, as it was read
    assert encode(dict(first)) == '{"report": true, "visit": false}'  # an equal one: encoded
    assert decode_frozen({"report": True}) == {"report": True}  # decoded by the driver


def test_the_frozen_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "_FROZEN_MAX", 4)
    mappings = [decode_frozen(f'{{"n": {i}}}') for i in range(10)]
    assert len(codec._FROZEN) <= 4 and len(codec._TEXTS) <= 4
    assert [encode(m) for m in mappings] == [json.dumps({"n": i}) for i in range(10)]
