"""Unit tests of the located YAML reader, ``coachflow.files.reader.read_yaml``."""

from __future__ import annotations

from typing import Any

import pytest

from coachflow.diagnostics import Mark
from coachflow.files.reader import read_yaml


def data(text: str | bytes) -> Any:
    document, diagnostics = read_yaml(text)
    assert diagnostics == []
    return document.data


def value(scalar: str) -> Any:
    """What ``a: <scalar>`` reads as."""
    return data(f"a: {scalar}\n")["a"]


def problems(text: str | bytes) -> list[tuple[str, int, int, str]]:
    return [(d.code, d.line, d.column, d.message) for d in read_yaml(text)[1]]


# --- marks -------------------------------------------------------------------------------

TEXT = """\
top: 1
nested:
  key: value
  list:
    - first
    - {inner: 2}
flow: [a, b]
"""


def test_marks_are_one_based() -> None:
    document, diagnostics = read_yaml(TEXT)
    assert diagnostics == []
    assert document.root == Mark(1, 1)
    assert document.locate(("top",)) == Mark(1, 6)
    assert document.locate(("top",), key=True) == Mark(1, 1)
    assert document.locate(("nested",)) == Mark(3, 3)
    assert document.locate(("nested",), key=True) == Mark(2, 1)
    assert document.locate(("nested", "key")) == Mark(3, 8)
    assert document.locate(("nested", "key"), key=True) == Mark(3, 3)
    assert document.locate(("nested", "list", 0)) == Mark(5, 7)
    assert document.locate(("nested", "list", 1)) == Mark(6, 7)
    assert document.locate(("nested", "list", 1, "inner")) == Mark(6, 15)
    assert document.locate(("flow", 1)) == Mark(7, 11)


def test_locate_skips_components_that_are_not_in_the_data() -> None:
    document, _ = read_yaml(TEXT)
    # a pydantic union tag in the middle of a path is skipped
    assert document.locate(("nested", "str", "key")) == Mark(3, 8)
    # a path that ends early gives the deepest node reached
    assert document.locate(("nested", "missing")) == Mark(3, 3)
    assert document.locate(("flow", 7)) == Mark(7, 7)
    assert document.locate(()) == Mark(1, 1)


def test_mark_of_a_collection() -> None:
    document, _ = read_yaml(TEXT)
    assert document.mark_of(document.data["nested"]["list"]) == Mark(5, 5)
    assert document.mark_of(document.data["flow"]) == Mark(7, 7)


def test_marks_with_a_byte_order_mark_and_crlf() -> None:
    document, diagnostics = read_yaml("\ufeffa: 1\r\nb: 2\r\n".encode())
    assert diagnostics == []
    assert document.data == {"a": 1, "b": 2}
    assert document.locate(("b",)) == Mark(2, 4)


# --- duplicate keys -------------------------------------------------------------------------


def test_duplicate_key_names_the_first_position() -> None:
    document, diagnostics = read_yaml("a: 1\nb:\n  c: 2\n  c: 3\na: 4\n")
    assert [(d.code, d.severity, d.line, d.column, d.message) for d in diagnostics] == [
        ("duplicate-key", "error", 4, 3, "duplicate key 'c' (first defined at line 3, column 3)"),
        ("duplicate-key", "error", 5, 1, "duplicate key 'a' (first defined at line 1, column 1)"),
    ]
    # the first value is kept (PyYAML would keep the last)
    assert document.data == {"a": 1, "b": {"c": 2}}


def test_duplicate_key_in_a_flow_mapping() -> None:
    assert problems("{x: 1, y: 2, x: 3}") == [
        ("duplicate-key", 1, 14, "duplicate key 'x' (first defined at line 1, column 2)")
    ]


def test_keys_of_different_types_are_not_duplicates() -> None:
    assert data('1: a\n"1": b\n') == {1: "a", "1": "b"}


def test_repeated_key_three_times_gives_two_diagnostics() -> None:
    assert [(c, line) for c, line, _, _ in problems("a: 1\na: 2\na: 3\n")] == [
        ("duplicate-key", 2),
        ("duplicate-key", 3),
    ]


# --- plain scalars --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        ("1", 1),
        ("0", 0),
        ("-3", -3),
        ("+3", 3),
        ("-0", 0),
        ("0x1F", 31),
        ("0o17", 15),
        ("1234567890123456789", 1234567890123456789),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
        ("0x7fffffffffffffff", 2**63 - 1),
        ("0o777777777777777777777", 2**63 - 1),
        ("000000000000000000000000042", 42),
    ],
)
def test_ints(scalar: str, expected: int) -> None:
    result = value(scalar)
    assert type(result) is int
    assert result == expected


@pytest.mark.parametrize(
    "scalar",
    [
        "9223372036854775808",
        "-9223372036854775809",
        "12345678901234567890",
        "0x8000000000000000",
        "0o1000000000000000000000",
        "!!int 0x" + "f" * 4000,
        "0x" + "f" * 4000,
        "0o" + "7" * 5000,
        "9" * 5000,
    ],
)
def test_ints_beyond_64_bits_are_a_schema_diagnostic(scalar: str) -> None:
    document, diagnostics = read_yaml(f"a: {scalar}\n")
    assert [(d.code, d.line, d.column) for d in diagnostics] == [("schema", 1, 4)]
    assert "out of range" in diagnostics[0].message
    assert len(diagnostics[0].message) < 200  # the literal is cut, not repeated
    assert document.data == {"a": None}


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [("1.5", 1.5), (".5", 0.5), ("-.5e-3", -0.0005), ("1e3", 1000.0), ("1.", 1.0)],
)
def test_floats(scalar: str, expected: float) -> None:
    result = value(scalar)
    assert type(result) is float
    assert result == expected


@pytest.mark.parametrize("scalar", ["null", "Null", "NULL", "~", ""])
def test_nulls(scalar: str) -> None:
    assert value(scalar) is None


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("False", False),
        ("FALSE", False),
    ],
)
def test_booleans(scalar: str, expected: bool) -> None:
    assert value(scalar) is expected


@pytest.mark.parametrize(
    "scalar",
    [
        "on",
        "off",
        "yes",
        "no",
        "On",
        "OFF",
        "Yes",
        "NO",
        "y",
        "n",
        "tRUE",
        "nULL",
        "2026-09-01",
        "2026-09-01T10:00:00",
        "12:30",
        "1:00:00",
        "1_000",
        "1,000",
        "0b101",
        ".inf",
        "-.inf",
        ".nan",
        "=",
        "<<",
    ],
)
def test_yaml_11_surprises_stay_strings(scalar: str) -> None:
    assert value(scalar) == scalar


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [('"4"', "4"), ("'4'", "4"), ('"true"', "true"), ("'null'", "null"), ('"1.5"', "1.5")],
)
def test_quoted_scalars_stay_strings(scalar: str, expected: str) -> None:
    assert value(scalar) == expected


def test_block_scalars() -> None:
    assert value("|\n  x\n  y\n") == "x\ny\n"
    assert value(">-\n  x\n  y\n") == "x y"
    assert value("|\n  42\n") == "42\n"


@pytest.mark.parametrize("scalar", ["017", "00", "007"])
def test_leading_zero_digits_are_not_floats(scalar: str) -> None:
    assert not isinstance(value(scalar), float)


def test_huge_int_is_a_diagnostic_not_an_exception() -> None:
    document, diagnostics = read_yaml("a: " + "9" * 5000 + "\n")
    assert diagnostics or isinstance(document.data["a"], int)


# --- explicit tags ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        ("!!str 4", "4"),
        ("!!str true", "true"),
        ("!!str", ""),
        ("! 12", "12"),
        ('!!int "7"', 7),
        ("!!int 0x10", 16),
        ("!!float 1", 1.0),
        ("!!bool true", True),
        ("!!bool FALSE", False),
        ("!!null", None),
        ("!!null ~", None),
    ],
)
def test_core_tags(scalar: str, expected: Any) -> None:
    result = value(scalar)
    assert type(result) is type(expected)
    assert result == expected


def test_core_collection_tags() -> None:
    assert value("!!map {x: 1}") == {"x": 1}
    assert value("!!seq [1]") == [1]


@pytest.mark.parametrize(
    ("scalar", "message"),
    [
        ("!!int x", "'x' is not a valid !!int"),
        ("!!int 1.5", "'1.5' is not a valid !!int"),
        ("!!float x", "'x' is not a valid !!float"),
        ("!!float .inf", "'.inf' is not a valid !!float"),
        ("!!bool yes", "'yes' is not a valid !!bool"),
        ("!!null x", "'x' is not a valid !!null"),
    ],
)
def test_core_tag_with_a_value_it_does_not_fit(scalar: str, message: str) -> None:
    document, diagnostics = read_yaml(f"a: {scalar}\nb: 2\n")
    assert [(d.code, d.severity, d.line, d.column, d.message) for d in diagnostics] == [
        ("yaml-syntax", "error", 1, 4, message)
    ]
    # reading goes on: the value is None, the rest is read
    assert document.data == {"a": None, "b": 2}


def test_int_tag_accepts_what_a_plain_int_accepts() -> None:
    assert value("!!int 0o17") == 15


@pytest.mark.parametrize(
    "tagged",
    [
        "!!python/object/apply:os.system ['echo']",
        "!!python/name:os.system",
        "!!python/object:builtins.object {}",
        "!!binary aGVsbG8=",
        "!!timestamp 2026-01-01",
        "!!set {x}",
        "!!omap [x: 1]",
        "!custom 1",
        "!<tag:example.com,2000:x> 1",
    ],
)
def test_other_tags_are_refused(tagged: str) -> None:
    [(code, line, column, message)] = problems(f"a: {tagged}\n")
    assert (code, line, column) == ("yaml-tag", 1, 4)
    assert message.startswith("unsupported YAML tag ")


# --- anchors, aliases and merge keys ------------------------------------------------------------


def test_aliases_share_the_anchored_value() -> None:
    result = data("a: &x {c: 1}\nb: *x\nc: &s 5\nd: *s\n")
    assert result == {"a": {"c": 1}, "b": {"c": 1}, "c": 5, "d": 5}


def test_merge_key_is_just_a_key() -> None:
    result = data("base: &b {c: 1}\nthing:\n  <<: *b\n  d: 2\n")
    assert result["thing"] == {"<<": {"c": 1}, "d": 2}
    assert data("<<: 1\n") == {"<<": 1}


def test_undefined_alias() -> None:
    document, diagnostics = read_yaml("a: *nope\n")
    assert document.data is None
    assert [(d.code, d.line, d.column) for d in diagnostics] == [("yaml-syntax", 1, 4)]


def test_recursive_alias() -> None:
    document, diagnostics = read_yaml("a: &a [1, *a]\n")
    assert document.data is None
    assert [(d.code, d.line, d.column) for d in diagnostics] == [("yaml-too-large", 1, 11)]


# --- documents and errors ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "# comment only\n", "---\n", "null\n", "---\n...\n"])
def test_empty_documents(text: str) -> None:
    document, diagnostics = read_yaml(text)
    assert document.data is None
    assert diagnostics == []


def test_scalar_and_list_documents() -> None:
    assert data("42\n") == 42
    assert data("- a\n- b\n") == ["a", "b"]


def test_more_than_one_document() -> None:
    document, diagnostics = read_yaml("a: 1\n---\nb: 2\n")
    assert document.data is None
    assert [(d.code, d.line, d.column) for d in diagnostics] == [("schema", 2, 1)]


def test_syntax_error_position() -> None:
    document, diagnostics = read_yaml("a: 1\nb: [1, 2\nc: 3\n")
    assert document.data is None
    [d] = diagnostics
    assert d.code == "yaml-syntax"
    assert d.line >= 2


def test_not_utf8() -> None:
    [(code, line, column, message)] = problems(b"a: 1\nb: \xff\n")
    assert (code, line, column) == ("yaml-syntax", 2, 4)
    assert "UTF-8" in message


def test_control_character() -> None:
    [(code, line, column, _message)] = problems("a: 1\nb: x\x07y\n")
    assert (code, line, column) == ("yaml-syntax", 2, 5)


def test_collection_as_a_key() -> None:
    _, diagnostics = read_yaml("? [a]\n: 1\nb: 2\n")
    assert [(d.code, d.line, d.column) for d in diagnostics] == [("schema", 1, 3)]


def test_collection_key_entry_is_dropped() -> None:
    document, _ = read_yaml("? [a]\n: 1\nb: 2\n")
    assert document.data == {"b": 2}


def test_path_is_carried_into_diagnostics() -> None:
    _, diagnostics = read_yaml("a: 1\na: 2\n", "some/file.yaml")
    assert diagnostics[0].path == "some/file.yaml"
