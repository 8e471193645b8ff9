"""Hostile input: every one gives a diagnostic, never an exception, a hang or code execution."""

from __future__ import annotations

import json
import random
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import coachflow
from coachflow import DefinitionError

Diags = Callable[[str | bytes], list[tuple[str, int, int]]]

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (ROOT / "definitions" / "nt2-consult.yaml").read_text(encoding="utf-8")

MINIMAL = """\
coachflow: 1
id: demo
version: 1
roles:
  coach: {}
facts:
  flag: {type: bool, default: false}
initial: start
states:
  start: {}
  done: {final: true}
transitions:
  - event: wait
    from: start
    to: start
    by: [coach]
    when: not flag
    set: {flag: true}
  - event: go
    from: start
    to: done
    by: [coach]
"""
GUARD_LINE = 23  # the line of a guard (or anything) appended to MINIMAL


def with_guard(expression: str) -> str:
    return MINIMAL + f"    when: {json.dumps(expression)}\n"


def codes(text: str | bytes) -> list[str]:
    return [d.code for d in coachflow.validate_text(text)]


def refused(text: str | bytes) -> list[str]:
    """The codes of ``text``'s diagnostics; asserts there is at least one error and that
    loading raises DefinitionError (not anything else)."""
    diagnostics = coachflow.validate_text(text)
    assert any(d.is_error for d in diagnostics)
    assert all(d.line >= 1 and d.column >= 1 for d in diagnostics)
    with pytest.raises(DefinitionError):
        coachflow.loads_definition(text)
    return [d.code for d in diagnostics]


def peak_memory(fn: Callable[[], object]) -> int:
    """Peak bytes allocated by Python while ``fn`` runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_minimal_is_valid() -> None:
    assert coachflow.validate_text(MINIMAL) == []


# --- alias bombs -------------------------------------------------------------------------------


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The classic alias bomb: width ** levels strings from a few hundred bytes."""
    rows = ["l0: &l0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        rows.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(rows) + "\n"


def test_billion_laughs_is_rejected_in_small_memory(diags: Diags) -> None:
    text = billion_laughs()
    assert len(text) < 1000
    result: list[tuple[str, int, int]] = []
    peak = peak_memory(lambda: result.extend(diags(text)))
    assert [code for code, _, _ in result] == ["yaml-too-large"]
    assert peak < 50 * 1024 * 1024


def test_billion_laughs_inside_a_definition(diags: Diags) -> None:
    body = "".join("  " + row + "\n" for row in billion_laughs().splitlines())
    text = MINIMAL.replace("version: 1\n", "version: 1\ndescription:\n" + body)
    peak = peak_memory(lambda: refused(text))
    assert [code for code, _, _ in diags(text)] == ["yaml-too-large"]
    assert peak < 50 * 1024 * 1024


def test_mapping_alias_bomb(diags: Diags) -> None:
    rows = ["m0: &m0 {" + ", ".join(f"k{j}: x" for j in range(10)) + "}"]
    for i in range(1, 9):
        rows.append(f"m{i}: &m{i} {{" + ", ".join(f"k{j}: *m{i - 1}" for j in range(10)) + "}")
    text = "\n".join(rows) + "\n"
    peak = peak_memory(lambda: refused(text))
    assert [code for code, _, _ in diags(text)] == ["yaml-too-large"]
    assert peak < 50 * 1024 * 1024


def test_many_plain_nodes_are_bounded_too(diags: Diags) -> None:
    text = MINIMAL + "x: [" + "1," * 300_000 + "1]\n"
    assert [code for code, _, _ in diags(text)] == ["yaml-too-large"]


@pytest.mark.parametrize(
    "text",
    ["a: &a [*a]\n", "a: &a [1, [2, *a]]\n", "a: &a {b: *a}\n", "&a [*a]\n"],
)
def test_recursive_alias(text: str) -> None:
    assert refused(text) == ["yaml-too-large"]


def test_recursive_alias_position(diags: Diags) -> None:
    assert diags("a: &a [*a]\n") == [("yaml-too-large", 1, 8)]


# --- size and depth ----------------------------------------------------------------------------


def test_ten_megabyte_text(diags: Diags) -> None:
    text = MINIMAL + "description: " + "x" * (10 * 1024 * 1024) + "\n"
    assert diags(text) == [("yaml-too-large", 1, 1)]
    with pytest.raises(DefinitionError):
        coachflow.loads_definition(text)


def test_ten_megabyte_bytes_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(MINIMAL.encode() + b"# " + b"x" * (10 * 1024 * 1024) + b"\n")
    [d] = coachflow.validate_file(path)
    assert (d.code, d.line, d.column) == ("yaml-too-large", 1, 1)
    with pytest.raises(DefinitionError):
        coachflow.load_definition(path)


def test_a_large_but_allowed_file_still_validates() -> None:
    padding = "".join(f"# comment line {i:07d} " + "x" * 60 + "\n" for i in range(30_000))
    assert len(padding) > 2 * 1024 * 1024
    assert coachflow.validate_text(padding + MINIMAL) == []


@pytest.mark.parametrize(
    "text",
    [
        "[" * 10_000 + "]" * 10_000,
        "[" * 10_000,
        "{a: " * 10_000 + "}" * 10_000,
        "{a: " * 10_000,
        "- " * 10_000 + "x\n",
        "".join(" " * i + f"k{i}:\n" for i in range(2_000)),
        MINIMAL + "description: " + "[" * 10_000 + "]" * 10_000 + "\n",
        MINIMAL + "description: " + "{a: " * 10_000 + "}" * 10_000 + "\n",
    ],
    ids=[
        "flow-lists",
        "unclosed-flow-lists",
        "flow-maps",
        "unclosed-flow-maps",
        "block-lists",
        "block-maps",
        "lists-in-definition",
        "maps-in-definition",
    ],
)
def test_deep_nesting(text: str) -> None:
    assert refused(text) == ["yaml-too-large"]


def test_deep_nesting_position(diags: Diags) -> None:
    # the 65th "[" is one level too deep
    assert diags("[" * 10_000 + "]" * 10_000) == [("yaml-too-large", 1, 65)]
    assert diags("{a: " * 10_000 + "}" * 10_000) == [("yaml-too-large", 1, 64 * 4 + 1)]


# --- bytes that are not YAML text --------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes(seed: int) -> None:
    garbage = random.Random(seed).randbytes(4096)
    assert refused(garbage)


@pytest.mark.parametrize(
    "garbage",
    [
        bytes(range(256)) * 16,
        b"\x89PNG\r\n\x1a\n" + bytes(100),
        b"\x7fELF\x02\x01\x01" + bytes(100),
        b"PK\x03\x04" + bytes(range(200)),
        "coachflow: 1\nid: dëmo\n".encode("latin-1"),
        MINIMAL.encode("utf-16"),
        MINIMAL.encode("utf-32"),
        b"\xef\xbb\xbf" + b"\xff" * 10,
    ],
    ids=["all-bytes", "png", "elf", "zip", "latin-1", "utf-16", "utf-32", "bom-then-garbage"],
)
def test_binary_garbage(garbage: bytes) -> None:
    assert refused(garbage) == ["yaml-syntax"]


def test_binary_garbage_position(diags: Diags) -> None:
    assert diags(b"a: 1\nb: \xff\xfe\n") == [("yaml-syntax", 2, 4)]


@pytest.mark.parametrize(
    "text",
    [
        MINIMAL.replace("id: demo", "id: de\x00mo"),
        "\x00" + MINIMAL,
        MINIMAL + "\x00",
        MINIMAL + "    when: 'flag\x00'\n",
        "\x00" * 1000,
        MINIMAL.replace("id: demo", "id: de\x1bmo"),
    ],
)
def test_nul_and_control_characters(text: str) -> None:
    assert refused(text) == ["yaml-syntax"]
    assert refused(text.encode()) == ["yaml-syntax"]


def test_nul_position(diags: Diags) -> None:
    assert diags(MINIMAL.replace("id: demo", "id: de\x00mo")) == [("yaml-syntax", 2, 7)]
    assert diags(MINIMAL.encode().replace(b"id: demo", b"id: de\x00mo")) == [("yaml-syntax", 2, 7)]


def test_lone_surrogate_in_text() -> None:
    assert refused(MINIMAL.replace("id: demo", "id: \udcff"))


def test_huge_integer() -> None:
    assert refused(MINIMAL.replace("version: 1", "version: " + "9" * 5000))


def test_huge_hex_version_is_out_of_range(diags: Diags) -> None:
    # hex digits are not limited by Python, but a version fits a 32-bit SQL column
    text = MINIMAL.replace("version: 1", "version: 0x" + "f" * 5000)
    assert diags(text) == [("schema", 3, 10)]
    assert refused(text) == ["schema"]


# --- tags: no Python object is ever constructed ------------------------------------------------


def python_tags(target: Path) -> list[str]:
    t = json.dumps(str(target))
    return [
        f'!!python/object/apply:os.system ["touch {target}"]',
        f"!!python/object/apply:builtins.open [{t}, w]",
        f"!!python/object/new:builtins.open [{t}, w]",
        f"!!python/object/apply:subprocess.check_call [[touch, {t}]]",
        f"!!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path [{t}]]",
        "!!python/name:os.system",
        "!!python/module:os",
        "!!python/object:builtins.object {}",
    ]


@pytest.mark.parametrize("index", range(8))
def test_python_tags_run_no_code(tmp_path: Path, index: int) -> None:
    target = tmp_path / "pwned"
    tag = python_tags(target)[index]
    text = MINIMAL + f"description: {tag}\n"
    assert "yaml-tag" in refused(text)
    assert not target.exists()
    # at the top of the file and as the whole document too
    assert "yaml-tag" in refused(f"coachflow: {tag}\n")
    assert "yaml-tag" in refused(f"{tag}\n")
    assert not target.exists()


def test_python_tag_position(tmp_path: Path, diags: Diags) -> None:
    text = MINIMAL + f'description: !!python/object/apply:os.system ["touch {tmp_path}/x"]\n'
    assert diags(text) == [("yaml-tag", GUARD_LINE, 14)]
    assert list(tmp_path.iterdir()) == []


def test_python_tag_on_a_key(tmp_path: Path) -> None:
    text = MINIMAL + f'? !!python/object/apply:os.system ["touch {tmp_path}/x"]\n: 1\n'
    assert "yaml-tag" in refused(text)
    assert list(tmp_path.iterdir()) == []


# --- hostile guards ----------------------------------------------------------------------------


def hostile_guards(target: Path) -> list[str]:
    return [
        f'__import__("os").system("touch {target}")',
        "().__class__.__bases__[0].__subclasses__()",
        f'open("{target}", "w")',
        f"exec(\"open('{target}', 'w')\")",
        f"eval(\"open('{target}', 'w')\")",
        f'compile("open(\'{target}\', \'w\')", "x", "exec")',
        f'getattr(__builtins__, "open")("{target}", "w")',
        "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'x']"
        f' or open("{target}")',
        f'flag or __import__("os").system("touch {target}") == 0',
        f'(lambda: __import__("os").system("touch {target}"))()',
        "globals()",
        "vars()",
        "breakpoint()",
        "consent.__class__",
        "flag.__class__.__mro__",
        "input.__dict__",
        '"".join([])',
        "__builtins__",
        "date.today() is None",
    ]


@pytest.mark.parametrize("index", range(19))
def test_hostile_guard(tmp_path: Path, index: int, diags: Diags) -> None:
    target = tmp_path / "pwned"
    expression = hostile_guards(target)[index]
    result = diags(with_guard(expression))
    assert result
    assert all(line == GUARD_LINE and column == 11 for _, line, column in result)
    assert {code for code, _, _ in result} <= {
        "guard-forbidden",
        "guard-syntax",
        "unknown-predicate",
        "unknown-fact",
    }
    assert not target.exists()


def test_dunder_guards_are_forbidden(diags: Diags) -> None:
    assert diags(with_guard('__import__("os").system("touch x")')) == [
        ("guard-forbidden", GUARD_LINE, 11)
    ]
    assert diags(with_guard("().__class__.__bases__[0].__subclasses__()")) == [
        ("guard-forbidden", GUARD_LINE, 11)
    ]


@pytest.mark.parametrize("index", range(19))
def test_hostile_effect(tmp_path: Path, index: int) -> None:
    target = tmp_path / "pwned"
    expression = hostile_guards(target)[index]
    text = MINIMAL + f"    set:\n      flag: {json.dumps(expression)}\n"
    assert refused(text)
    assert not target.exists()


def test_hundred_thousand_character_guard(diags: Diags) -> None:
    assert diags(with_guard("flag or " * 12_500 + "flag")) == [("guard-syntax", GUARD_LINE, 11)]
    assert diags(with_guard("x" * 100_000)) == [("guard-syntax", GUARD_LINE, 11)]
    assert diags(with_guard("(" * 100_000)) == [("guard-syntax", GUARD_LINE, 11)]


@pytest.mark.parametrize(
    "expression",
    [
        "not " * 10_000 + "flag",
        "not " * 499 + "flag",
        "-" * 1_990 + "1 > 0",
        "(" * 999 + "flag" + ")" * 999,
        "[" * 999 + "]" * 999,
    ],
    ids=["not-10000", "not-499", "minus-1990", "parens-999", "lists-999"],
)
def test_deeply_nested_guard(expression: str, diags: Diags) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = diags(with_guard(expression))
    assert len(result) == 1
    [(code, line, column)] = result
    assert code in ("guard-syntax", "guard-forbidden", "guard-type")
    assert (line, column) == (GUARD_LINE, 11)


def test_nested_guard_within_limits_is_fine() -> None:
    assert coachflow.validate_text(with_guard("not " * 100 + "flag")) == []
    assert coachflow.validate_text(with_guard("(" * 150 + "flag" + ")" * 150)) == []
    nested_and = "flag and (" * 150 + "flag" + ")" * 150
    assert coachflow.validate_text(with_guard(nested_and)) == []


# --- more than one document ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (MINIMAL + "---\n" + MINIMAL, 23),
        ("---\n" + MINIMAL + "...\n---\na: 1\n", 25),
        (MINIMAL + "--- 5\n", 23),
        ("--- {a: 1}\n--- {b: 2}\n", 2),
    ],
)
def test_multiple_documents(text: str, line: int, diags: Diags) -> None:
    assert refused(text) == ["schema"]
    assert diags(text) == [("schema", line, 1)]


# --- fuzzing: whatever the input, a list of diagnostics comes back -------------------------------


def _check_never_raises(text: str | bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ast.parse may warn about odd literals
        diagnostics = coachflow.validate_text(text)
    for d in diagnostics:
        assert d.line >= 1
        assert d.column >= 1
        assert d.severity in ("error", "warning")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_fuzz_bytes(data: bytes) -> None:
    _check_never_raises(data)


YAMLISH = st.text(
    alphabet=st.sampled_from(list(" \n\t:-[]{}&*!|>'\"#,?%@`~.abcxyz019_\\\x00\x85\u2028")),
    max_size=300,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(YAMLISH)
def test_fuzz_yaml_like_text(text: str) -> None:
    _check_never_raises(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(SHIPPED) - 1),
            st.integers(min_value=0, max_value=8),
            st.text(alphabet=" :-[]{}&*!|'\"#\nabz01.", max_size=4),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_fuzz_mutated_shipped_definition(edits: list[tuple[int, int, str]]) -> None:
    text = SHIPPED
    for position, cut, insert in edits:
        position = min(position, len(text))
        text = text[:position] + insert + text[position + cut :]
    _check_never_raises(text)
    _check_never_raises(text.encode())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_fuzz_guard_text(expression: str) -> None:
    _check_never_raises(with_guard(expression))
