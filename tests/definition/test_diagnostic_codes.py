"""Every diagnostic code fires on a small file, at the exact line and column.

Line and column are 1-based and point at the offending YAML node. Every YAML text used
here is small enough to count lines by eye; the two base texts carry their line numbers
in comments.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import networkx as nx
import pytest

import coachflow
from coachflow import Definition, DefinitionError, Diagnostic

ROOT = Path(__file__).resolve().parents[2]

# A minimal valid definition. Line numbers on the right.
MINIMAL = """\
coachflow: 1
id: demo
version: 1
roles:
  coach: {}
initial: start
states:
  start: {}
  done: {final: true}
transitions:
  - event: go
    from: start
    to: done
    by: [coach]
"""
#  1 coachflow    5 coach      9 done        13 to
#  2 id           6 initial   10 transitions 14 by
#  3 version      7 states    11 - event
#  4 roles        8 start     12 from

# A valid definition that uses every kind of declaration (so: no warnings). Tests
# append a guard (line 31) or effects (lines 31-32) to its last transition, ``go``,
# which declares the input ``x``.
RICH = """\
coachflow: 1
id: demo
version: 1
roles:
  coach: {}
facts:
  n: {type: int, default: 0, min: 0, max: 9}
  kind: {type: enum, values: [a, b]}
  day: {type: date}
  flag: {type: bool}
  name: {type: str}
consents:
  report: {granted_by: coach}
predicates: [ready]
initial: start
states:
  start: {}
  done: {final: true}
transitions:
  - event: other
    from: start
    to: done
    by: [coach]
    when: n >= 0 and kind == "a" and day is None and flag and name is None and consent.report and ready()
  - event: go
    from: start
    to: done
    by: [coach]
    input:
      x: {type: int}
"""  # noqa: E501
OTHER_GUARD_LINE = 24
GUARD_LINE = 31
GUARD_COLUMN = 11  # "    when: " is 10 characters
EFFECT_LINE = 32


def guard(expression: str) -> str:
    """RICH with ``when: <expression>`` (as a double-quoted YAML scalar) on line 31."""
    return RICH + f"    when: {json.dumps(expression)}\n"


def effect(fact: str, value: str) -> str:
    """RICH with ``set: {fact: value}`` (value written as YAML) on line 32."""
    return RICH + f"    set:\n      {fact}: {value}\n"


def effect_column(fact: str) -> int:
    return len(f"      {fact}: ") + 1


def found(text: str | bytes) -> list[tuple[str, str, int, int]]:
    """``(code, severity, line, column)`` of every diagnostic."""
    return [(d.code, d.severity, d.line, d.column) for d in coachflow.validate_text(text)]


def with_code(text: str | bytes, code: str) -> list[Diagnostic]:
    return [d for d in coachflow.validate_text(text) if d.code == code]


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# --- the base texts are valid -----------------------------------------------------------


def test_minimal_base_is_valid() -> None:
    assert coachflow.validate_text(MINIMAL) == []


def test_rich_base_is_valid_and_has_no_warnings() -> None:
    assert coachflow.validate_text(RICH) == []


def test_shipped_definition_is_valid() -> None:
    path = ROOT / "definitions" / "nt2-consult.yaml"
    assert coachflow.validate_file(path) == []
    assert coachflow.load_definition(path).id == "nt2-consult"


# --- YAML-level codes ---------------------------------------------------------------------


def test_yaml_syntax_position_comes_from_the_parser() -> None:
    text = MINIMAL.replace("id: demo", "id: demo: x")
    [d] = coachflow.validate_text(text)
    assert (d.code, d.severity, d.line, d.column) == ("yaml-syntax", "error", 2, 9)


def test_yaml_syntax_unclosed_flow_sequence() -> None:
    text = MINIMAL.replace("by: [coach]", "by: [coach\n    title: x")
    [(code, severity, line, _column)] = found(text)
    assert (code, severity) == ("yaml-syntax", "error")
    assert line in (14, 15)


def test_yaml_syntax_tab_indentation() -> None:
    text = MINIMAL.replace("  start: {}", "\tstart: {}")
    assert found(text) == [("yaml-syntax", "error", 8, 1)]


def test_duplicate_key_points_at_the_repeat_and_names_the_first() -> None:
    text = MINIMAL.replace("  done: {final: true}", "  done: {final: true}\n  start: {}")
    [d] = coachflow.validate_text(text)
    assert (d.code, d.severity, d.line, d.column) == ("duplicate-key", "error", 10, 3)
    assert "'start'" in d.message
    assert "line 8, column 3" in d.message


def test_duplicate_key_in_a_flow_mapping_and_in_a_transition() -> None:
    text = MINIMAL.replace("start: {}", "start: {final: false, final: true}").replace(
        "    to: done\n", "    to: done\n    to: start\n"
    )
    assert found(text) == [("duplicate-key", "error", 8, 25), ("duplicate-key", "error", 14, 5)]


def test_duplicate_key_keeps_the_first_value() -> None:
    # PyYAML would silently keep the last one ("nowhere"); the first one is kept here
    text = MINIMAL.replace("    to: done\n", "    to: done\n    to: nowhere\n")
    assert found(text) == [("duplicate-key", "error", 14, 5)]


def test_yaml_too_large_alias_bomb() -> None:
    rows = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        name, prev = chr(ord("a") + i), chr(ord("a") + i - 1)
        rows.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    text = "\n".join(rows) + "\n"
    # a..e hold 74,733 nodes; each *e adds 66,430: the third *e on line 6 crosses 250,000
    [d] = coachflow.validate_text(text)
    assert (d.code, d.severity, d.line) == ("yaml-too-large", "error", 6)
    assert d.column == len("f: &f [*e, *e, ") + 1


def test_yaml_too_large_nesting() -> None:
    text = MINIMAL + "description: " + "[" * 100 + "]" * 100 + "\n"
    # the root mapping is level 1: the 64th "[" is level 65, one too deep
    assert found(text) == [("yaml-too-large", "error", 15, len("description: ") + 64)]


def test_yaml_too_large_file() -> None:
    text = MINIMAL + "# " + "x" * (5 * 1024 * 1024) + "\n"
    assert found(text) == [("yaml-too-large", "error", 1, 1)]


def test_yaml_tag() -> None:
    text = MINIMAL + "description: !!python/object/apply:os.system [echo]\n"
    [d] = coachflow.validate_text(text)
    assert (d.code, d.severity, d.line, d.column) == ("yaml-tag", "error", 15, 14)
    assert "!!python/object/apply:os.system" in d.message


def test_yaml_tag_on_a_scalar() -> None:
    text = MINIMAL.replace("id: demo", "id: !!binary ZGVtbw==")
    assert ("yaml-tag", "error", 2, 5) in found(text)


# --- schema ------------------------------------------------------------------------------


def test_schema_missing_required_top_level_key() -> None:
    [d] = coachflow.validate_text(MINIMAL.replace("initial: start\n", ""))
    assert (d.code, d.severity, d.line, d.column) == ("schema", "error", 1, 1)
    assert "missing required key 'initial'" in d.message


def test_schema_missing_required_key_in_a_transition() -> None:
    [d] = coachflow.validate_text(MINIMAL.replace("    by: [coach]\n", ""))
    # points at the transition's mapping
    assert (d.code, d.severity, d.line, d.column) == ("schema", "error", 11, 5)
    assert "missing required key 'by'" in d.message


def test_schema_missing_fact_type() -> None:
    text = MINIMAL.replace("initial:", "facts:\n  n: {default: 1}\ninitial:")
    [d] = coachflow.validate_text(text)
    assert (d.code, d.line, d.column) == ("schema", 7, 6)
    assert "'type'" in d.message


def test_schema_wrong_type() -> None:
    [d] = coachflow.validate_text(MINIMAL.replace("version: 1", "version: one"))
    assert (d.code, d.severity, d.line, d.column) == ("schema", "error", 3, 10)
    assert "expected an integer" in d.message


@pytest.mark.parametrize(
    ("old", "new", "line", "column"),
    [
        ("version: 1", "version: 0", 3, 10),
        ("version: 1", "version: 1.5", 3, 10),
        ("version: 1", "version: '1'", 3, 10),
        ("by: [coach]", "by: coach", 14, 9),
        ("by: [coach]", "by: [5]", 14, 10),
        ("to: done", "to: [done]", 13, 9),
        ("start: {}", "start: []", 8, 10),
        ("start: {}", "start:", 8, 9),
        ("roles:\n  coach: {}", "roles: [coach]", 4, 8),
        ("version: 1\n", "version: 1\ntitle: 5\n", 4, 8),
        ("by: [coach]", "by: [coach]\n    when: 5", 15, 11),
        ("by: [coach]", "by: [coach]\n    set: {n: 1.5}", 15, 14),
        ("by: [coach]", "by: [coach]\n    input: []", 15, 12),
    ],
)
def test_schema_wrong_types_point_at_the_value(old: str, new: str, line: int, column: int) -> None:
    assert found(MINIMAL.replace(old, new)) == [("schema", "error", line, column)]


def test_schema_unknown_top_level_key_lists_the_allowed_ones() -> None:
    [d] = coachflow.validate_text(MINIMAL + "colour: red\n")
    assert (d.code, d.severity, d.line, d.column) == ("schema", "error", 15, 1)
    assert "unknown key 'colour'" in d.message
    _, allowed = d.message.split("allowed:")
    names = {a.strip() for a in allowed.split(",")}
    assert {"coachflow", "id", "version", "roles", "initial", "states", "transitions"} <= names
    assert {"facts", "consents", "predicates", "title", "description"} <= names


def test_schema_unknown_key_in_a_state() -> None:
    [d] = coachflow.validate_text(MINIMAL.replace("start: {}", "start: {titel: x}"))
    assert (d.code, d.severity, d.line, d.column) == ("schema", "error", 8, 11)
    assert "unknown key 'titel'" in d.message
    assert "allowed: title, description, final" in d.message


def test_schema_unknown_key_in_a_transition() -> None:
    [d] = coachflow.validate_text(MINIMAL + "    wen: x\n")
    assert (d.code, d.severity, d.line, d.column) == ("schema", "error", 15, 5)
    names = {a.strip() for a in d.message.split("allowed:")[1].split(",")}
    assert {"event", "from", "to", "by", "when", "input", "set"} <= names


def test_schema_unknown_key_in_a_consent() -> None:
    text = MINIMAL.replace("initial:", "consents:\n  c: {granted_by: coach, by: x}\ninitial:")
    [d] = with_code(text, "schema")
    assert (d.line, d.column) == (7, 26)
    assert "allowed: title, description, granted_by" in d.message


def test_schema_bad_identifier_as_a_key() -> None:
    [d] = with_code(MINIMAL.replace("  start: {}", "  Start: {}"), "schema")
    assert (d.severity, d.line, d.column) == ("error", 8, 3)
    assert "'Start' is not a valid name" in d.message


def test_schema_bad_identifier_as_a_value() -> None:
    [d] = coachflow.validate_text(MINIMAL.replace("event: go", "event: Go-Now"))
    assert (d.code, d.severity, d.line, d.column) == ("schema", "error", 11, 12)


def test_schema_bad_definition_id() -> None:
    assert found(MINIMAL.replace("id: demo", "id: Demo")) == [("schema", "error", 2, 5)]
    # a '-' is allowed in the definition id, not in other identifiers
    assert found(MINIMAL.replace("id: demo", "id: my-demo_2")) == []


def test_schema_bad_identifier_in_a_list() -> None:
    text = MINIMAL.replace("initial:", "predicates: [ok, Ok]\ninitial:")
    assert found(text) == [("schema", "error", 6, 18)]


def test_schema_fact_name_reserved_in_expressions() -> None:
    text = MINIMAL.replace("initial:", "facts:\n  consent: {type: int}\ninitial:")
    [d] = with_code(text, "schema")
    assert (d.line, d.column) == (7, 3)


def test_schema_input_name_that_is_a_python_keyword() -> None:
    text = MINIMAL.replace("by: [coach]", "by: [coach]\n    input:\n      if: {type: int}")
    assert found(text) == [("schema", "error", 16, 7)]


def test_schema_unknown_format_version() -> None:
    [d] = coachflow.validate_text(MINIMAL.replace("coachflow: 1", "coachflow: 2"))
    assert (d.code, d.severity, d.line, d.column) == ("schema", "error", 1, 12)
    assert "unsupported format version 2" in d.message


def test_schema_unknown_fact_type() -> None:
    text = MINIMAL.replace("initial:", "facts:\n  n: {type: float}\ninitial:")
    [d] = coachflow.validate_text(text)
    assert (d.code, d.line, d.column) == ("schema", 7, 13)
    assert "bool, int, str, date, enum" in d.message


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("{type: int, min: 5, max: 1}", "greater than max"),
        ("{type: int, default: 7, max: 5}", "above max"),
        ("{type: int, default: 0, min: 1}", "below min"),
        ("{type: enum, values: [a], default: b}", "not one of the values"),
    ],
)
def test_schema_bad_fact_default_min_max(spec: str, words: str) -> None:
    # errors between several keys of a fact point at the fact's mapping
    text = MINIMAL.replace("initial:", f"facts:\n  n: {spec}\ninitial:")
    [d] = coachflow.validate_text(text)
    assert (d.code, d.severity, d.line, d.column) == ("schema", "error", 7, 6)
    assert words in d.message


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("default", "x", "expected an integer"),
        ("min", "low", "expected an integer"),
        ("max", "[9]", "expected an integer"),
    ],
)
def test_schema_bad_fact_default_min_max_points_at_the_value(
    key: str, value: str, message: str
) -> None:
    text = MINIMAL.replace("initial:", f"facts:\n  n:\n    type: int\n    {key}: {value}\ninitial:")
    [d] = coachflow.validate_text(text)
    assert message in d.message
    assert (d.code, d.severity, d.line, d.column) == ("schema", "error", 9, len(key) + 7)


def test_schema_bad_date_default_points_at_the_value() -> None:
    text = MINIMAL.replace(
        "initial:", "facts:\n  d:\n    type: date\n    default: 2026-13-01\ninitial:"
    )
    assert found(text) == [("schema", "error", 9, 14)]


def test_schema_bad_date_default_is_reported() -> None:
    text = MINIMAL.replace("initial:", "facts:\n  d: {type: date, default: 2026-13-01}\ninitial:")
    [d] = coachflow.validate_text(text)
    assert (d.code, d.line) == ("schema", 7)
    assert "2026-13-01" in d.message


def test_schema_unknown_key_in_a_fact_points_at_the_key() -> None:
    text = MINIMAL.replace("initial:", "facts:\n  n: {type: int, colour: red}\ninitial:")
    [d] = coachflow.validate_text(text)
    assert "allowed: title, description, personal, type, default, min, max" in d.message
    assert "fact 'n'" in d.message
    assert (d.line, d.column) == (7, 18)


def test_schema_unknown_key_in_an_input_points_at_the_key() -> None:
    text = MINIMAL.replace(
        "by: [coach]", "by: [coach]\n    input:\n      x: {type: int, colour: x}"
    )
    assert found(text) == [("schema", "error", 16, 22)]


def test_schema_empty_roles() -> None:
    text = MINIMAL.replace("roles:\n  coach: {}", "roles: {}")
    [d] = with_code(text, "schema")
    assert (d.severity, d.line, d.column) == ("error", 4, 8)
    assert "must not be empty" in d.message


def test_schema_empty_states() -> None:
    text = MINIMAL.replace("states:\n  start: {}\n  done: {final: true}", "states: {}")
    [d] = with_code(text, "schema")
    assert (d.line, d.column) == (7, 9)


@pytest.mark.parametrize(
    ("old", "new", "key", "line", "column"),
    [("by: [coach]", "by: []", "by", 14, 9), ("from: start", "from: []", "from", 12, 11)],
)
def test_schema_empty_list_names_the_key(
    old: str, new: str, key: str, line: int, column: int
) -> None:
    [d] = coachflow.validate_text(MINIMAL.replace(old, new))
    assert (d.code, d.line, d.column) == ("schema", line, column)
    assert f"'{key}'" in d.message


def test_schema_empty_by_and_from() -> None:
    [d] = coachflow.validate_text(MINIMAL.replace("by: [coach]", "by: []"))
    assert (d.code, d.line, d.column) == ("schema", 14, 9)
    assert "must not be empty" in d.message
    [d] = coachflow.validate_text(MINIMAL.replace("from: start", "from: []"))
    assert (d.code, d.line, d.column) == ("schema", 12, 11)
    assert "must not be empty" in d.message


def test_schema_empty_enum_values() -> None:
    text = MINIMAL.replace("initial:", "facts:\n  n: {type: enum, values: []}\ninitial:")
    [d] = coachflow.validate_text(text)
    assert "values" in d.message
    assert (d.line, d.column) == (7, 27)


def test_schema_bad_entry_in_a_from_list() -> None:
    [d] = coachflow.validate_text(MINIMAL.replace("from: start", "from: [5]"))
    assert (d.code, d.line, d.column) == ("schema", 12, 12)
    assert "got the number 5" in d.message


def test_schema_non_mapping_document() -> None:
    assert found("- a\n- b\n") == [("schema", "error", 1, 1)]
    assert found("") == [("schema", "error", 1, 1)]
    assert found("# only a comment\n") == [("schema", "error", 1, 1)]


def test_schema_collection_as_a_mapping_key_is_reported() -> None:
    assert ("schema", "error", 15, 3) in found(MINIMAL + "? [a]\n: 1\n")


def test_schema_collection_as_a_mapping_key_gives_one_diagnostic() -> None:
    assert found(MINIMAL + "? [a]\n: 1\n") == [("schema", "error", 15, 3)]


NON_STRING_KEYS = [
    ("version: 1\n", "version: 1\n1: x\n", 4, 1),
    ("version: 1\n", "version: 1\ntrue: x\n", 4, 1),
    ("version: 1\n", "version: 1\nnull: [x]\n", 4, 1),
    ("start: {}", "start: {1: x}", 8, 11),
    ("start: {}", "start: {~: x}", 8, 11),
    ("    by: [coach]\n", "    by: [coach]\n    null: 1\n", 15, 5),
    ("  coach: {}", "  coach: {}\n  ~: {}", 6, 3),
]


@pytest.mark.parametrize(("old", "new", "line", "column"), NON_STRING_KEYS)
def test_schema_non_string_key_is_an_error(old: str, new: str, line: int, column: int) -> None:
    text = MINIMAL.replace(old, new)
    assert [code for code, severity, _, _ in found(text) if severity == "error"] == ["schema"]
    with pytest.raises(DefinitionError):
        coachflow.loads_definition(text)


@pytest.mark.parametrize(("old", "new", "line", "column"), NON_STRING_KEYS)
def test_schema_non_string_key_points_at_the_key(
    old: str, new: str, line: int, column: int
) -> None:
    assert found(MINIMAL.replace(old, new)) == [("schema", "error", line, column)]


def test_loads_definition_never_returns_a_definition_missing_its_initial_state() -> None:
    text = MINIMAL.replace("start: {}", "start: {~: x}")
    try:
        definition = coachflow.loads_definition(text)
    except DefinitionError:
        return
    assert definition.initial in definition.states


@pytest.mark.parametrize(
    "text",
    [
        MINIMAL + "null: [whatever]\n",
        MINIMAL.replace("start: {}", "start: {~: x}"),
        MINIMAL + "? [a]\n: 1\n",
        MINIMAL.replace("version: 1", "version: one"),
    ],
)
def test_validate_text_and_loads_definition_agree(text: str) -> None:
    diagnostics = coachflow.validate_text(text)
    try:
        coachflow.loads_definition(text)
    except DefinitionError as exc:
        assert exc.diagnostics
        assert diagnostics == exc.diagnostics
    else:
        assert not any(d.is_error for d in diagnostics)


# --- yes/no/on/off stay strings ------------------------------------------------------------


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "Yes", "ON", "y", "n"])
def test_yaml_11_booleans_are_strings(word: str) -> None:
    [d] = coachflow.validate_text(MINIMAL.replace("final: true", f"final: {word}"))
    assert (d.code, d.severity, d.line, d.column) == ("schema", "error", 9, 17)
    assert repr(word) in d.message


def test_yaml_11_booleans_stay_strings_in_values() -> None:
    text = MINIMAL.replace(
        "initial:",
        "facts:\n  answer: {type: enum, values: [yes, no], default: no}\n"
        "  word: {type: str, default: off}\ninitial:",
    ).replace("by: [coach]", 'by: [coach]\n    when: answer == "yes" and word == "on"')
    definition = coachflow.loads_definition(text)
    answer = definition.facts["answer"]
    assert answer.values == ("yes", "no")  # type: ignore[union-attr]
    assert answer.default == "no"
    assert definition.facts["word"].default == "off"


# --- references ----------------------------------------------------------------------------


def test_unknown_initial() -> None:
    [d] = coachflow.validate_text(MINIMAL.replace("initial: start", "initial: begin"))
    assert (d.code, d.severity, d.line, d.column) == ("unknown-initial", "error", 6, 10)
    assert "'begin'" in d.message


@pytest.mark.parametrize(
    ("old", "new", "line", "column"),
    [
        ("from: start", "from: nowhere", 12, 11),
        ("from: start", "from: [start, nowhere]", 12, 19),
        ("from: start", "from:\n      - start\n      - nowhere", 14, 9),
        ("to: done", "to: nowhere", 13, 9),
    ],
    ids=["from", "from-flow-list", "from-block-list", "to"],
)
def test_unknown_state(old: str, new: str, line: int, column: int) -> None:
    [d] = with_code(MINIMAL.replace(old, new), "unknown-state")
    assert (d.severity, d.line, d.column) == ("error", line, column)
    assert "'nowhere'" in d.message


def test_unknown_role_in_by() -> None:
    text = MINIMAL.replace("by: [coach]", "by: [coach, boss]")
    assert found(text) == [("unknown-role", "error", 14, 17)]


def test_unknown_role_in_a_block_list() -> None:
    text = MINIMAL.replace("by: [coach]", "by:\n      - coach\n      - boss")
    assert found(text) == [("unknown-role", "error", 16, 9)]


def test_unknown_role_in_consent_granted_by() -> None:
    text = MINIMAL.replace("initial:", "consents:\n  report: {granted_by: boss}\ninitial:")
    [d] = with_code(text, "unknown-role")
    assert (d.severity, d.line, d.column) == ("error", 7, 24)
    assert "'boss'" in d.message


def test_unknown_fact_in_a_guard() -> None:
    [d] = coachflow.validate_text(guard("sessions < 5"))
    assert (d.code, d.severity, d.line, d.column) == ("unknown-fact", "error", GUARD_LINE, 11)
    assert "'sessions'" in d.message


def test_unknown_fact_in_a_plain_and_a_folded_guard() -> None:
    assert found(RICH + "    when: sessions < 5\n") == [("unknown-fact", "error", 31, 11)]
    assert found(RICH + "    when: >-\n      sessions\n      < 5\n") == [
        ("unknown-fact", "error", 31, 11)
    ]


def test_unknown_fact_as_an_effect_target() -> None:
    [d] = coachflow.validate_text(effect("sessions", "1"))
    # points at the key
    assert (d.code, d.severity, d.line, d.column) == ("unknown-fact", "error", EFFECT_LINE, 7)
    assert "'sessions'" in d.message


def test_unknown_fact_in_an_effect_value() -> None:
    assert found(effect("n", "sessions + 1")) == [
        ("unknown-fact", "error", EFFECT_LINE, effect_column("n"))
    ]


def test_unknown_consent() -> None:
    assert found(guard("consent.nope")) == [("unknown-consent", "error", GUARD_LINE, 11)]


def test_unknown_input_not_declared() -> None:
    [d] = coachflow.validate_text(guard("input.y > 1"))
    assert (d.code, d.severity, d.line, d.column) == ("unknown-input", "error", GUARD_LINE, 11)
    assert "'y'" in d.message


def test_unknown_input_declared_only_on_another_transition() -> None:
    # ``x`` is an input of ``go``; ``other`` (line 24) does not declare it
    text = RICH.replace("    when: n >= 0", "    when: input.x > 0 and n >= 0")
    assert found(text) == [("unknown-input", "error", OTHER_GUARD_LINE, 11)]


def test_unknown_input_in_an_effect() -> None:
    assert found(effect("n", "input.y")) == [
        ("unknown-input", "error", EFFECT_LINE, effect_column("n"))
    ]


def test_unknown_predicate() -> None:
    [d] = coachflow.validate_text(guard("signed()"))
    assert (d.code, d.severity, d.line, d.column) == ("unknown-predicate", "error", 31, 11)
    assert "signed" in d.message


# --- expressions --------------------------------------------------------------------------


@pytest.mark.parametrize("expression", ["n <", "n > > 1", "(n", "", "flag and", "True; 1"])
def test_guard_syntax(expression: str) -> None:
    assert found(guard(expression)) == [("guard-syntax", "error", GUARD_LINE, 11)]


def test_guard_syntax_in_an_effect() -> None:
    assert found(effect("n", "'n +'")) == [
        ("guard-syntax", "error", EFFECT_LINE, effect_column("n"))
    ]


@pytest.mark.parametrize(
    "expression",
    [
        "n[0] > 1",  # subscript
        "(lambda: True)()",  # lambda (called: the call is refused too)
        "lambda: True",
        "[i for i in [1]] == [1]",  # comprehension
        "{i for i in [1]}",
        "any(x for x in [1])",
        'name.upper() == "X"',  # method call
        "__debug__",  # dunder name
        "_private",
        "flag.real",  # attribute access
        "consent.report.real",
        "n > 1.5",  # float literal
        "n is 1",  # 'is' with non-None
        "flag is True",
        "flag if n > 1 else True",  # IfExp
        "n ** 2 > 1",
        "n * 2 > 1",
        "{1: 2} == n",
        "(n := 1) > 0",
        'f"{n}" == "1"',
        "~n > 0",
    ],
)
def test_guard_forbidden(expression: str) -> None:
    diagnostics = found(guard(expression))
    assert diagnostics
    assert all(d == ("guard-forbidden", "error", GUARD_LINE, 11) for d in diagnostics)


def test_guard_forbidden_message() -> None:
    [d] = coachflow.validate_text(guard("n[0] > 1"))
    assert "subscript" in d.message


@pytest.mark.parametrize(
    "expression",
    [
        'n < "x"',
        "n",  # a guard must be bool
        'name == "x" and n',
        'kind == "c"',  # enum compared with a value outside its values
        'kind in ["a", "c"]',
        "n == None",  # compare with None using 'is None'
        "flag == 1",
        "not n",
        "n + flag > 1",
        'day < "2026-01-01"',
        'day < date("2026-02-30")',
        "input.x",
    ],
)
def test_guard_type(expression: str) -> None:
    assert found(guard(expression)) == [("guard-type", "error", GUARD_LINE, 11)]


def test_guard_type_message_for_an_enum_value_outside_its_values() -> None:
    [d] = coachflow.validate_text(guard('kind == "c"'))
    assert "'c'" in d.message
    assert "['a', 'b']" in d.message


@pytest.mark.parametrize(
    ("fact", "value"),
    [
        ("n", "\"'x'\""),  # str into int
        ("n", "true"),  # bool into int
        ("name", "input.x"),  # int into str
        ("flag", "n"),  # int into bool
        ("kind", "\"'c'\""),  # enum literal outside its values
        ("kind", "name"),  # str into enum
        ("day", "'\"2026-01-01\"'"),  # str into date
    ],
)
def test_guard_type_of_an_effect(fact: str, value: str) -> None:
    assert found(effect(fact, value)) == [("guard-type", "error", EFFECT_LINE, effect_column(fact))]


@pytest.mark.parametrize(
    "expression",
    [
        "0 < n < 5",
        "n >= 0 and n <= 9 or not flag",
        'kind in ["a", "b"]',
        'kind not in ["a"]',
        'kind == "a"',
        "n in [1, 2, 3]",
        'name in ["x", "y"]',
        'day < date("2026-09-01")',
        'date("2026-01-01") <= day',
        "day is None",
        "day is not None",
        "name is None or n is not None",
        "ready()",
        "not ready() and flag",
        "input.x > 1",
        "input.x is not None and input.x - 1 >= n + -1",
        "consent.report",
        "not consent.report or flag",
        "(n > 1) == flag",
        "True",
        'name < "m"',
    ],
)
def test_valid_guard_gives_no_diagnostic(expression: str) -> None:
    assert coachflow.validate_text(guard(expression)) == []


@pytest.mark.parametrize(
    ("fact", "value"),
    [
        ("n", "n + 1"),
        ("n", "input.x"),
        ("n", "3"),
        ("n", "null"),  # unsets the fact
        ("kind", "b"),  # a bare enum value
        ("kind", "a"),
        ("kind", "\"'b'\""),
        ("flag", "true"),
        ("flag", "not flag"),
        ("flag", "consent.report and ready()"),
        ("day", 'date("2026-09-01")'),
        ("name", "\"'text'\""),
    ],
)
def test_valid_effect_gives_no_diagnostic(fact: str, value: str) -> None:
    assert coachflow.validate_text(effect(fact, value)) == []


def test_enum_effect_bare_value() -> None:
    text = dedent(
        """
        coachflow: 1
        id: demo
        version: 1
        roles:
          adviser: {}
        facts:
          support: {type: enum, values: [consult, coaching]}
        initial: start
        states:
          start: {}
          done: {final: true}
        transitions:
          - event: choose
            from: start
            to: done
            by: [adviser]
            set:
              support: coaching
        """
    )
    assert coachflow.validate_text(text) == []
    assert coachflow.loads_definition(text).transitions[0].set == {"support": "coaching"}


# --- the graph ------------------------------------------------------------------------------


def test_unreachable_state() -> None:
    text = MINIMAL.replace("  done: {final: true}", "  done: {final: true}\n  limbo: {}") + (
        "  - event: leave\n    from: limbo\n    to: done\n    by: [coach]\n"
    )
    [d] = coachflow.validate_text(text)
    assert (d.code, d.severity, d.line, d.column) == ("unreachable-state", "error", 10, 3)
    assert "'limbo'" in d.message


def test_dead_end() -> None:
    text = MINIMAL.replace("  done: {final: true}", "  done: {final: true}\n  stuck: {}") + (
        "  - event: jam\n    from: start\n    to: stuck\n    by: [coach]\n"
    )
    [d] = coachflow.validate_text(text)
    assert (d.code, d.severity, d.line, d.column) == ("dead-end", "error", 10, 3)
    assert "'stuck'" in d.message


def test_no_final_path() -> None:
    text = MINIMAL.replace("  done: {final: true}", "  done: {final: true}\n  loop: {}") + (
        "  - event: spin\n    from: start\n    to: loop\n    by: [coach]\n"
        "  - event: again\n    from: loop\n    to: loop\n    by: [coach]\n"
    )
    [d] = coachflow.validate_text(text)
    assert (d.code, d.severity, d.line, d.column) == ("no-final-path", "error", 10, 3)
    assert "'loop'" in d.message


def test_final_has_exit() -> None:
    text = MINIMAL + "  - event: reopen\n    from: done\n    to: start\n    by: [coach]\n"
    [d] = coachflow.validate_text(text)
    assert (d.code, d.severity, d.line, d.column) == ("final-has-exit", "error", 16, 11)
    assert "'done'" in d.message


def test_final_has_exit_in_a_from_list_and_as_a_self_loop() -> None:
    text = MINIMAL + (
        "  - event: reopen\n    from: [start, done]\n    to: start\n    by: [coach]\n"
        "  - event: stay\n    from: done\n    to: done\n    by: [coach]\n"
    )
    assert found(text) == [("final-has-exit", "error", 16, 19), ("final-has-exit", "error", 20, 11)]


def test_star_leaves_every_non_final_state_only() -> None:
    text = MINIMAL + "  - event: reset\n    from: '*'\n    to: start\n    by: [coach]\n"
    assert coachflow.validate_text(text) == []


def test_ambiguous_transition() -> None:
    text = MINIMAL + "  - event: go\n    from: start\n    to: start\n    by: [coach]\n"
    [d] = coachflow.validate_text(text)
    # points at the later transition's event
    assert (d.code, d.severity, d.line, d.column) == ("ambiguous-transition", "error", 15, 12)
    assert "'go'" in d.message


def test_ambiguous_when_only_one_has_a_guard() -> None:
    text = MINIMAL + "  - event: go\n    from: start\n    to: start\n    by: [coach]\n"
    text += "    when: 1 < 2\n"
    assert found(text) == [("ambiguous-transition", "error", 15, 12)]


def test_ambiguous_through_star() -> None:
    text = MINIMAL + "  - event: go\n    from: '*'\n    to: done\n    by: [coach]\n"
    assert found(text) == [("ambiguous-transition", "error", 15, 12)]


def test_not_ambiguous_when_both_have_guards() -> None:
    text = MINIMAL.replace("    by: [coach]\n", "    by: [coach]\n    when: 1 < 2\n")
    text += "  - event: go\n    from: start\n    to: start\n    by: [coach]\n    when: 2 < 1\n"
    assert coachflow.validate_text(text) == []


def test_not_ambiguous_from_different_states() -> None:
    text = MINIMAL.replace("  done: {final: true}", "  done: {final: true}\n  mid: {}")
    text = text.replace("to: done", "to: mid") + (
        "  - event: go\n    from: mid\n    to: done\n    by: [coach]\n"
    )
    assert coachflow.validate_text(text) == []


def test_repeated_source_is_not_ambiguous_with_itself() -> None:
    text = MINIMAL.replace("from: start", "from: [start, start]")
    assert with_code(text, "ambiguous-transition") == []


# --- warnings ---------------------------------------------------------------------------------


def test_unused_role() -> None:
    [d] = coachflow.validate_text(MINIMAL.replace("  coach: {}", "  coach: {}\n  boss: {}"))
    assert (d.code, d.severity, d.line, d.column) == ("unused-role", "warning", 6, 3)
    assert "'boss'" in d.message
    assert not d.is_error


def test_role_used_only_to_grant_a_consent_is_used() -> None:
    text = MINIMAL.replace("  coach: {}", "  coach: {}\n  boss: {}").replace(
        "initial:", "consents:\n  report: {granted_by: boss}\ninitial:"
    )
    text = text.replace("by: [coach]", "by: [coach]\n    when: consent.report")
    assert coachflow.validate_text(text) == []


def test_unused_fact() -> None:
    text = MINIMAL.replace("initial:", "facts:\n  n: {type: int}\ninitial:")
    assert found(text) == [("unused-fact", "warning", 7, 3)]


def test_fact_used_only_as_an_effect_target_is_used() -> None:
    text = MINIMAL.replace("initial:", "facts:\n  n: {type: int}\ninitial:")
    assert found(text + "    set: {n: 1}\n") == []


def test_unused_consent() -> None:
    text = MINIMAL.replace("initial:", "consents:\n  report: {granted_by: coach}\ninitial:")
    assert found(text) == [("unused-consent", "warning", 7, 3)]


def test_warnings_alone_do_not_make_loading_fail() -> None:
    text = MINIMAL.replace("  coach: {}", "  coach: {}\n  boss: {}")
    assert coachflow.loads_definition(text).id == "demo"


# --- every problem at once ------------------------------------------------------------------

MANY = """\
coachflow: 1
id: demo
version: 1
roles:
  coach: {}
  spare: {}
facts:
  n: {type: int, default: 0}
initial: start
states:
  start: {}
  limbo: {}
  done: {final: true}
transitions:
  - event: go
    from: start
    to: done
    by: [boss]
  - event: go
    from: start
    to: nowhere
    by: [coach]
    when: consent.nope
    when: n > 0
    set:
      m: 1
  - event: reopen
    from: done
    to: start
    by: [coach]
    when: n < "x"
    set: {n: "'x'"}
"""


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    assert found(MANY) == [
        ("unused-role", "warning", 6, 3),
        ("dead-end", "error", 12, 3),
        ("unreachable-state", "error", 12, 3),
        ("unknown-role", "error", 18, 10),
        ("ambiguous-transition", "error", 19, 12),
        ("unknown-state", "error", 21, 9),
        ("unknown-consent", "error", 23, 11),
        ("duplicate-key", "error", 24, 5),
        ("unknown-fact", "error", 26, 7),
        ("final-has-exit", "error", 28, 11),
        ("guard-type", "error", 31, 11),
        ("guard-type", "error", 32, 14),
    ]


def test_every_error_is_in_the_definition_error() -> None:
    with pytest.raises(DefinitionError) as info:
        coachflow.loads_definition(MANY, path="many.yaml")
    assert info.value.diagnostics == coachflow.validate_text(MANY, path="many.yaml")
    errors = [d for d in info.value.diagnostics if d.is_error]
    assert len(errors) == 11
    assert all(d.path == "many.yaml" for d in info.value.diagnostics)
    assert str(info.value).startswith("many.yaml:12:3: error dead-end:")
    assert "(and 10 more)" in str(info.value)


def test_problems_in_several_transitions_and_declarations() -> None:
    text = dedent(
        """
        coachflow: 1
        id: demo
        version: 1
        roles:
          coach: {}
        consents:
          report: {granted_by: ghost}
        initial: begin
        states:
          start: {}
          done: {final: true}
        transitions:
          - event: go
            from: start
            to: done
            by: [coach]
            when: ready()
          - event: back
            from: done
            to: start
            by: [coach]
            when: input.x
        """
    )
    assert found(text) == [
        ("unused-consent", "warning", 7, 3),
        ("unknown-role", "error", 7, 24),
        ("unknown-initial", "error", 8, 10),
        ("unknown-predicate", "error", 17, 11),
        ("final-has-exit", "error", 19, 11),
        ("unknown-input", "error", 22, 11),
    ]


def test_a_bad_version_does_not_hide_other_problems() -> None:
    text = MINIMAL.replace("version: 1", "version: one").replace("by: [coach]", "by: [boss]")
    assert found(text) == [
        ("schema", "error", 3, 10),
        ("unused-role", "warning", 5, 3),  # coach: the only transition names boss instead
        ("unknown-role", "error", 14, 10),
    ]


def test_a_bad_fact_does_not_hide_graph_problems() -> None:
    text = MINIMAL.replace("initial:", "facts:\n  n: {type: int, default: x}\ninitial:")
    text = text.replace("  done: {final: true}", "  done: {final: true}\n  limbo: {}")
    text += "  - event: leave\n    from: limbo\n    to: done\n    by: [coach]\n    set: {n: 1}\n"
    codes = [d.code for d in coachflow.validate_text(text)]
    assert "schema" in codes
    assert "unreachable-state" in codes


def test_a_dropped_transition_gives_no_spurious_graph_errors() -> None:
    text = MINIMAL.replace("    by: [coach]\n", "    by: [coach]\n    bogus: 1\n")
    text += "  - event: stay\n    from: start\n    to: start\n    by: [coach]\n"
    assert found(text) == [("schema", "error", 15, 5)]


# --- the loaded definition --------------------------------------------------------------------


def test_definition_attributes() -> None:
    text = effect("n", "n + 1").replace("    set:", "    when: input.x > 1\n    set:")
    text += "      kind: b\n"
    definition = coachflow.loads_definition(text)
    assert isinstance(definition, Definition)
    assert (definition.id, definition.version, definition.key) == ("demo", 1, ("demo", 1))
    assert list(definition.states) == ["start", "done"]
    assert definition.states["done"].final is True
    assert definition.final_states == frozenset({"done"})
    assert list(definition.roles) == ["coach"]
    assert list(definition.facts) == ["n", "kind", "day", "flag", "name"]
    assert definition.facts["n"].type == "int"
    assert definition.facts["n"].default == 0
    assert list(definition.consents) == ["report"]
    assert definition.consents["report"].granted_by == "coach"
    assert definition.predicates == ("ready",)
    assert definition.initial == "start"
    go = definition.transitions[1]
    assert go.from_ == "start"
    assert go.event == "go"
    assert go.to == "done"
    assert go.by == ("coach",)
    assert go.when == "input.x > 1"
    assert list(go.input) == ["x"]
    assert go.input["x"].type == "int"
    assert go.set == {"n": "n + 1", "kind": "b"}
    assert definition.transitions[0].from_ == "start"
    assert definition.events == ("other", "go")


def test_definition_from_list_and_star() -> None:
    text = MINIMAL.replace("  done: {final: true}", "  mid: {}\n  done: {final: true}")
    text = text.replace("from: start", "from: [start, mid]")
    text += "  - event: pause\n    from: start\n    to: mid\n    by: [coach]\n"
    text += "  - event: reset\n    from: '*'\n    to: start\n    by: [coach]\n"
    definition = coachflow.loads_definition(text)
    assert definition.transitions[0].from_ == ("start", "mid")
    assert definition.transitions[2].from_ == "*"
    assert definition.sources(definition.transitions[2]) == ("start", "mid")
    assert [t.event for t in definition.outgoing("mid")] == ["go", "reset"]


def test_definition_graph() -> None:
    text = MINIMAL.replace("  done: {final: true}", "  mid: {}\n  done: {final: true}")
    text = text.replace("from: start", "from: [start, mid]")
    text += "  - event: pause\n    from: start\n    to: mid\n    by: [coach]\n"
    text += "  - event: reset\n    from: '*'\n    to: start\n    by: [coach]\n"
    graph = coachflow.loads_definition(text).graph()
    assert isinstance(graph, nx.MultiDiGraph)
    assert set(graph.nodes) == {"start", "mid", "done"}
    assert graph.nodes["done"]["final"] is True
    assert graph.nodes["start"]["final"] is False
    edges = sorted((u, v, data["event"]) for u, v, data in graph.edges(data=True))
    assert edges == [
        ("mid", "done", "go"),
        ("mid", "start", "reset"),
        ("start", "done", "go"),
        ("start", "mid", "pause"),
        ("start", "start", "reset"),
    ]
    assert graph.number_of_edges("start", "done") == 1
    assert all(data["by"] == ("coach",) for _, _, data in graph.edges(data=True))


def test_definition_is_frozen() -> None:
    definition = coachflow.loads_definition(MINIMAL)
    with pytest.raises(Exception):  # noqa: B017 - pydantic's ValidationError
        definition.id = "other"  # type: ignore[misc]
    with pytest.raises(Exception):  # noqa: B017
        definition.transitions[0].to = "start"  # type: ignore[misc]
    with pytest.raises(TypeError):
        definition.transitions[0].by[0] = "x"  # type: ignore[index]


def test_definition_mappings_are_immutable() -> None:
    definition = coachflow.loads_definition(MINIMAL)
    with pytest.raises(TypeError):
        definition.states["extra"] = definition.states["start"]  # type: ignore[index]


# --- the API: raising and not raising -------------------------------------------------------


def test_loads_definition_raises_with_every_error() -> None:
    text = MINIMAL.replace("to: done", "to: nowhere").replace("by: [coach]", "by: [boss]")
    with pytest.raises(DefinitionError) as info:
        coachflow.loads_definition(text)
    codes = {d.code for d in info.value.diagnostics if d.is_error}
    assert {"unknown-state", "unknown-role"} <= codes
    assert info.value.diagnostics == coachflow.validate_text(text)
    assert isinstance(info.value, coachflow.CoachflowError)


def test_loads_definition_accepts_bytes_and_a_path_name() -> None:
    definition = coachflow.loads_definition(MINIMAL.encode(), path="x.yaml")
    assert definition.id == "demo"
    with pytest.raises(DefinitionError) as info:
        coachflow.loads_definition(b"id: [", path="x.yaml")
    assert info.value.diagnostics[0].path == "x.yaml"
    assert info.value.diagnostics[0].code == "yaml-syntax"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "just a string",
        "- a list",
        "{",
        b"\xff\xfe\x00",
        "coachflow: 1",
        MANY,
        MINIMAL.replace("version: 1", "version: ["),
        "transitions: 5",
        MINIMAL.replace("states:", "states: 3\nx:"),
    ],
)
def test_validate_text_never_raises(text: str | bytes) -> None:
    diagnostics = coachflow.validate_text(text)
    assert any(d.is_error for d in diagnostics)
    assert all(isinstance(d, Diagnostic) and d.line >= 1 and d.column >= 1 for d in diagnostics)
    with pytest.raises(DefinitionError):
        coachflow.loads_definition(text)


def test_diagnostic_format_and_json() -> None:
    [d] = coachflow.validate_text(MINIMAL.replace("initial: start", "initial: x"), path="f.yaml")
    assert d.format() == "f.yaml:6:10: error unknown-initial: initial state 'x' is not declared"
    assert d.to_json() == {
        "code": "unknown-initial",
        "severity": "error",
        "message": "initial state 'x' is not declared",
        "line": 6,
        "column": 10,
    }


def test_validate_file_and_load_definition(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(MINIMAL)
    bad = tmp_path / "bad.yaml"
    bad.write_text(MINIMAL.replace("to: done", "to: nowhere"))
    assert coachflow.validate_file(good) == []
    assert coachflow.load_definition(good).id == "demo"
    [d] = [d for d in coachflow.validate_file(bad) if d.code == "unknown-state"]
    assert (d.path, d.line, d.column) == (str(bad), 13, 9)
    with pytest.raises(DefinitionError):
        coachflow.load_definition(bad)


# --- directories ------------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_load_definitions_recursively_newest_version(tmp_path: Path) -> None:
    _write(tmp_path / "demo-1.yaml", MINIMAL)
    _write(tmp_path / "sub" / "deeper" / "demo-2.yml", MINIMAL.replace("version: 1", "version: 2"))
    _write(tmp_path / "sub" / "other.yaml", MINIMAL.replace("id: demo", "id: other"))
    _write(tmp_path / "notes.txt", "not: [yaml")
    _write(tmp_path / "README.md", "# not a definition")
    loaded = coachflow.load_definitions(tmp_path)
    assert list(loaded) == ["demo", "other"]
    assert loaded["demo"].version == 2
    assert loaded["other"].version == 1
    versions = coachflow.load_definition_versions(tmp_path)
    assert sorted(d.key for d in versions) == [("demo", 1), ("demo", 2), ("other", 1)]


def test_load_definitions_same_id_and_version_twice(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", MINIMAL)
    _write(tmp_path / "sub" / "b.yml", MINIMAL)
    with pytest.raises(DefinitionError) as info:
        coachflow.load_definitions(tmp_path)
    [d] = info.value.diagnostics
    assert d.is_error
    assert "'demo'" in d.message
    with pytest.raises(DefinitionError):
        coachflow.load_definition_versions(tmp_path)


def test_load_definitions_reports_every_bad_file(tmp_path: Path) -> None:
    _write(tmp_path / "good.yaml", MINIMAL)
    _write(
        tmp_path / "bad1.yaml", MINIMAL.replace("id: demo", "id: one").replace("to: done", "to: x")
    )
    _write(
        tmp_path / "bad2.yml",
        MINIMAL.replace("id: demo", "id: two").replace("by: [coach]", "by: [x]"),
    )
    with pytest.raises(DefinitionError) as info:
        coachflow.load_definitions(tmp_path)
    paths = {Path(d.path).name for d in info.value.diagnostics if d.is_error}
    assert paths == {"bad1.yaml", "bad2.yml"}


def test_load_definitions_empty_directory(tmp_path: Path) -> None:
    assert coachflow.load_definitions(tmp_path) == {}
    assert coachflow.load_definition_versions(tmp_path) == []


def test_load_shipped_definitions() -> None:
    loaded = coachflow.load_definitions(ROOT / "definitions")
    assert "nt2-consult" in loaded


# --- control characters and integer ranges (issue 11) -------------------------------------------


def test_control_character_in_a_title_points_at_the_title() -> None:
    [d] = coachflow.validate_text(MINIMAL.replace("start: {}", 'start: {title: "x\\e[2J"}'))
    assert (d.code, d.severity, d.line, d.column) == ("control-character", "error", 8, 18)
    assert "U+001B (ESC)" in d.message


def test_control_character_in_a_description_but_line_feed_and_tab() -> None:
    ok = MINIMAL.replace("start: {}", 'start: {description: "a\\n\\tb"}')
    assert found(ok) == []
    bad = MINIMAL.replace("start: {}", 'start: {description: "a\\x9bb"}')
    assert found(bad) == [("control-character", "error", 8, 24)]


def test_control_character_in_a_guard_string_literal() -> None:
    # json.dumps writes the ESC as \u001b, which YAML reads back as ESC
    assert found(guard("name == '\x1b'")) == [
        ("control-character", "error", GUARD_LINE, GUARD_COLUMN)
    ]


def test_schema_integer_out_of_range_points_at_the_value() -> None:
    text = MINIMAL.replace("version: 1", "version: 0x" + "f" * 4000)
    [d] = coachflow.validate_text(text)
    assert (d.code, d.line, d.column) == ("schema", 3, 10)
    assert "out of range" in d.message
    assert found(guard("n < 9223372036854775808")) == [
        ("schema", "error", GUARD_LINE, GUARD_COLUMN)
    ]
