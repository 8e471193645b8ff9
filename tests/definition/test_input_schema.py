"""The JSON Schema of a definition's facts and inputs (issue 18, ``coachflow schema ID``):
a valid draft 2020-12 schema for every built-in definition, and for every field of every
built-in definition it accepts exactly the JSON values the engine's value check accepts
(Hypothesis), but for ``1.0`` (a JSON Schema integer, a float to the engine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

import coachflow
from coachflow.definition.values import ValueProblem, coerce

DEFINITIONS = sorted(Path(__file__).parents[2].joinpath("definitions").glob("*.yaml"))
LOADED = [coachflow.load_definition(p) for p in DEFINITIONS]
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def _fields() -> list[tuple[str, Any, dict[str, Any]]]:
    """(where, spec, schema) of every fact and input field of the built-in definitions."""
    found = []
    for d in LOADED:
        schema = coachflow.input_json_schema(d)["properties"]
        for name, spec in d.facts.items():
            found.append((f"{d.id} fact {name}", spec, schema["facts"]["properties"][name]))
        for name, activity in d.activities.items():
            shape = schema["activities"]["properties"][name]
            for field, spec in activity.input.items():
                found.append((f"{d.id} {name}.{field}", spec, shape["properties"][field]))
        for t in d.transitions:
            shape = schema["events"]["properties"][t.event]
            shapes = shape.get("anyOf", [shape])
            for field, spec in t.input.items():
                at = next(s for s in shapes if field in s["properties"])
                found.append((f"{d.id} {t.event}.{field}", spec, at["properties"][field]))
    return found


FIELDS = _fields()


def test_every_built_in_definition_has_a_valid_schema() -> None:
    assert len(LOADED) == 5
    for d in LOADED:
        schema = coachflow.input_json_schema(d)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert set(schema["properties"]["events"]["properties"]) == {t.event for t in d.transitions}
        assert set(schema["properties"]["activities"]["properties"]) == set(d.activities)
    kinds = {spec.type for _, spec, _ in FIELDS}
    assert kinds == {"bool", "int", "str", "date", "enum", "list"}  # every type is checked


def _engine_accepts(spec: Any, value: object, required: bool) -> bool:
    if value is None:
        return not required
    try:
        coerce(spec, value)
    except ValueProblem:
        return False
    return True


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63) - 2, max_value=2**63 + 1),
    st.sampled_from([0, 1, 3, 5, 9, 10, 2**63 - 1, -(2**63)]),
    st.text(max_size=12),
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["2026-02-30", "20260907", "2026-9-7", "ja", "nee", "positive", "done"]),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=6))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FIELDS), VALUES, st.data())
def test_the_schema_accepts_what_the_engine_accepts(
    field: tuple[str, Any, dict[str, Any]], value: object, data: st.DataObject
) -> None:
    where, spec, schema = field
    if getattr(spec, "type", None) == "enum" or getattr(spec, "items", None) == "enum":
        values = list(getattr(spec, "values", None) or ())
        value = data.draw(st.one_of(st.just(value), st.sampled_from(values), st.lists(
            st.sampled_from(values), max_size=4)))  # fmt: skip
    required = bool(getattr(spec, "required", False)) and spec.default is None
    valid = jsonschema.Draft202012Validator(schema, format_checker=FORMATS).is_valid(value)
    assert valid == _engine_accepts(spec, value, required), (where, value, schema)


def test_one_point_zero_is_the_one_known_difference() -> None:
    where, spec, schema = next(f for f in FIELDS if f[1].type == "int")
    assert jsonschema.Draft202012Validator(schema).is_valid(3.0)
    assert not _engine_accepts(spec, 3.0, False), where


def test_an_event_payload_with_an_unknown_or_missing_field_is_refused() -> None:
    d = coachflow.load_definition(
        Path(__file__).parents[2] / "definitions" / "teacher-coaching.yaml"
    )
    schema = coachflow.input_json_schema(d)
    validator = jsonschema.Draft202012Validator(schema, format_checker=FORMATS)
    events = schema["properties"]["events"]["properties"]
    event, shape = next((e, s) for e, s in events.items() if s.get("required"))
    payload = {name: _example(s) for name, s in shape["properties"].items()}
    assert validator.is_valid({"events": {event: payload}}), payload
    assert not validator.is_valid({"events": {event: {**payload, "surprise": 1}}})
    missing = dict(payload)
    del missing[shape["required"][0]]
    assert not validator.is_valid({"events": {event: missing}})
    assert not validator.is_valid({"events": {"no_such_event": {}}})


def _example(schema: dict[str, Any]) -> object:
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    kind = kinds[0]
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "array":
        return [_example(schema["items"])] * schema.get("minItems", 1)
    if kind == "string":
        return "2026-09-07" if schema.get("format") == "date" else "tekst"
    if kind == "integer":
        return schema.get("minimum", 0) if schema.get("minimum", 0) > -(2**63) else 0
    return True


def test_the_cli_prints_it_for_an_id_and_a_file() -> None:
    by_id = subprocess.run(
        [sys.executable, "-m", "coachflow", "schema", "starter-year"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert by_id.returncode == 0, by_id.stderr
    path = next(p for p in DEFINITIONS if p.stem == "starter-year")
    by_file = subprocess.run(
        [sys.executable, "-m", "coachflow", "schema", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert by_file.stdout == by_id.stdout
    loaded = json.loads(by_id.stdout)
    assert loaded == coachflow.input_json_schema(coachflow.load_definition(path))
    assert loaded["title"].startswith("starter-year version ")


def test_a_required_field_with_a_default_may_be_left_out() -> None:
    d = coachflow.loads_definition(
        "coachflow: 1\nid: d\nversion: 1\nroles: {coach: {}}\ninitial: a\n"
        "states: {a: {}, b: {final: true}}\n"
        "transitions:\n  - event: go\n    from: a\n    to: b\n    by: [coach]\n"
        "    input:\n      mood: {type: enum, values: [ok, low], required: true, default: ok}\n"
        "      note: {type: str, required: true}\n"
    )
    go = coachflow.input_json_schema(d)["properties"]["events"]["properties"]["go"]
    assert go["required"] == ["note"]
    validator = jsonschema.Draft202012Validator(go, format_checker=FORMATS)
    assert validator.is_valid({"note": "x"}) and validator.is_valid({"note": "x", "mood": None})
    assert not validator.is_valid({"mood": "ok"}) and not validator.is_valid({"note": None})
    cases = (({"note": "x"}, True), ({"note": "x", "mood": None}, True), ({"mood": "ok"}, False))
    for payload, accepted in cases:
        engine = coachflow.Engine([d])  # the engine agrees
        engine.start("d", participants={"coach": "c"}, actor="c", trajectory_id="t")
        try:
            engine.fire("t", "go", actor="c", input=payload)
        except coachflow.InvalidInput:
            assert not accepted, payload
        else:
            assert accepted, payload
