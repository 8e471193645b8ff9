"""The documentation's examples run as tests.

Conventions for fenced blocks in every Markdown file under ``docs/`` (recursively):

* ```` ```yaml ```` is a complete definition file: it must validate with no diagnostics at
  all (no errors, no warnings);
* ```` ```yaml invalid ```` shows a mistake: an HTML comment ``<!-- expect: CODE[, CODE...] -->``
  in the three lines above the fence names the diagnostic codes it must produce (at least
  those; the severity of each must be the one ``docs/definition-format.md`` gives the code);
* ```` ```yaml fragment ```` is a piece of a file and is not checked;
* ```` ```console ```` blocks are shell sessions: their ``$ `` lines are run in a scratch
  directory holding copies of ``definitions/`` and ``schema/`` and every block marked
  ``<!-- file: NAME -->`` in the same document, and the output must be the one shown.

``docs/definition-format.md`` must document every diagnostic code the source can emit.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import stat
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

from coachflow import Diagnostic, validate_text
from coachflow.diagnostics import CODES as KNOWN_CODES
from coachflow.diagnostics import NOT_FROM_A_SINGLE_FILE

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SRC = ROOT / "src" / "coachflow"
FORMAT_DOC = DOCS / "definition-format.md"

EMITTERS = frozenset({"Diagnostic", "ExprProblem", "YamlProblem", "fail", "report", "error"})
"""Calls whose first argument is a diagnostic code."""

FENCE_RE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
EXPECT_RE = re.compile(r"<!--\s*expect:\s*(?P<codes>[a-z0-9 ,-]+?)\s*-->")
FILE_RE = re.compile(r"<!--\s*file:\s*(?P<name>[\w./-]+)\s*-->")
LINK_RE = re.compile(r"(?<!!)\[[^\]]*\]\((?P<target>[^)\s]+)\)")
CODE_NAME_RE = re.compile(r"^[a-z]+(?:-[a-z]+)+$|^schema$")
YAML_KINDS = {"": "complete", "invalid": "invalid", "fragment": "fragment"}


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # 1-based line of the opening fence
    language: str
    flags: tuple[str, ...]
    text: str
    before: tuple[str, ...]  # the (up to) three lines above the opening fence

    @property
    def id(self) -> str:
        return f"{self.doc.relative_to(DOCS).as_posix()}:{self.line}"

    def comment(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        for line in reversed(self.before):
            match = pattern.search(line)
            if match:
                return match
        return None


def doc_files() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def parse_blocks(doc: Path) -> list[Block]:
    """Every fenced code block of a Markdown file (CommonMark fences, not nested)."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE_RE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence = opening["fence"]
        words = opening["info"].split()
        indent = len(opening["indent"])
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = FENCE_RE.match(lines[j])
            if (
                closing
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            body.append(lines[j][indent:] if lines[j][:indent].isspace() else lines[j])
            j += 1
        else:
            raise AssertionError(f"{doc}:{i + 1}: code block is never closed")
        blocks.append(
            Block(
                doc=doc,
                line=i + 1,
                language=words[0].lower() if words else "",
                flags=tuple(words[1:]),
                text="\n".join(body) + "\n",
                before=tuple(lines[max(0, i - 3) : i]),
            )
        )
        i = j + 1
    return blocks


def all_blocks() -> list[Block]:
    return [block for doc in doc_files() for block in parse_blocks(doc)]


def yaml_blocks(kind: str) -> list[Block]:
    return [
        b
        for b in all_blocks()
        if b.language in ("yaml", "yml") and YAML_KINDS.get(" ".join(b.flags)) == kind
    ]


def expected_codes(block: Block) -> list[str]:
    match = block.comment(EXPECT_RE)
    assert match, (
        f"{block.id}: a ```yaml invalid block needs <!-- expect: CODE[, CODE...] --> "
        "in the three lines above it"
    )
    return [c.strip() for c in match["codes"].split(",") if c.strip()]


def show(diagnostics: list[Diagnostic]) -> str:
    return "\n".join("  " + d.format() for d in diagnostics) or "  (none)"


# --- the docs exist and their blocks follow the conventions ----------------------------------


def test_the_documents_exist() -> None:
    names = {p.relative_to(DOCS).as_posix() for p in doc_files()}
    assert {"definition-format.md", "cli.md"} <= names


def test_yaml_blocks_are_marked_as_complete_invalid_or_fragment() -> None:
    for block in all_blocks():
        if block.language in ("yaml", "yml"):
            kind = " ".join(block.flags)
            assert kind in YAML_KINDS, (
                f"{block.id}: unknown yaml block kind {kind!r}; "
                "use ```yaml, ```yaml invalid or ```yaml fragment"
            )
            if YAML_KINDS[kind] != "invalid":
                assert not block.comment(EXPECT_RE), (
                    f"{block.id}: an expect comment belongs above a ```yaml invalid block"
                )


def test_there_are_examples() -> None:
    assert len(yaml_blocks("complete")) >= 2
    assert len(yaml_blocks("invalid")) >= 20


@pytest.mark.parametrize("block", yaml_blocks("complete"), ids=lambda b: b.id)
def test_complete_example_validates_without_diagnostics(block: Block) -> None:
    diagnostics = validate_text(block.text, path=block.id)
    assert diagnostics == [], f"{block.id} should validate cleanly, but:\n{show(diagnostics)}"


@pytest.mark.parametrize("block", yaml_blocks("invalid"), ids=lambda b: b.id)
def test_invalid_example_gives_the_expected_codes(block: Block) -> None:
    expected = expected_codes(block)
    assert expected, f"{block.id}: the expect comment names no code"
    unknown = [c for c in expected if c not in KNOWN_CODES]
    assert not unknown, f"{block.id}: the expect comment names unknown codes {unknown}"
    diagnostics = validate_text(block.text, path=block.id)
    got = {d.code for d in diagnostics}
    missing = [c for c in expected if c not in got]
    assert not missing, f"{block.id}: expected {missing}, got:\n{show(diagnostics)}"
    severities = documented_severities()
    for d in diagnostics:
        if d.code in expected:
            assert d.severity == severities[d.code], (
                f"{block.id}: {d.code} is a {d.severity}, but {FORMAT_DOC.name} says "
                f"{severities[d.code]}"
            )


# --- every diagnostic code is documented -------------------------------------------------------


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def source_codes() -> tuple[set[str], list[re.Pattern[str]]]:
    """The diagnostic codes written in the source: literal first arguments of the calls
    that create diagnostics, and patterns for f-string codes (``f"unused-{kind}"``)."""
    literals: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    for file in sorted(SRC.rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _call_name(node) not in EMITTERS:
                continue
            if not node.args:
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                if CODE_NAME_RE.match(first.value):
                    literals.add(first.value)
            elif isinstance(first, ast.JoinedStr):
                parts = [
                    re.escape(v.value)
                    if isinstance(v, ast.Constant) and isinstance(v.value, str)
                    else "[a-z]+"
                    for v in first.values
                ]
                patterns.append(re.compile("^" + "".join(parts) + "$"))
    return literals, patterns


def test_known_codes_are_the_codes_in_the_source() -> None:
    literals, patterns = source_codes()
    assert "schema" in literals and "guard-type" in literals, "the source scan found nothing"
    assert patterns, "expected the f-string code unused-{kind} in the source"
    new = sorted(literals - set(KNOWN_CODES))
    assert not new, f"codes in the source missing from KNOWN_CODES (and maybe the docs): {new}"
    for pattern in patterns:
        assert any(pattern.match(c) for c in KNOWN_CODES), (
            f"the source builds codes matching {pattern.pattern} that KNOWN_CODES lacks"
        )
    stale = [c for c in KNOWN_CODES if c not in literals and not any(p.match(c) for p in patterns)]
    assert not stale, f"KNOWN_CODES lists codes the source never emits: {stale}"
    # the f-string codes are unused-<kind> for the kinds of declarations analysis checks
    analysis = "".join(
        f.read_text(encoding="utf-8") for f in sorted((SRC / "definition").rglob("*.py"))
    )
    for code in ("unused-role", "unused-fact", "unused-consent"):
        kind = code.removeprefix("unused-")
        assert f'("{kind}", ' in analysis, f"the checks no longer look for unused {kind}s"


def documented_severities() -> dict[str, str]:
    """Code -> severity, from the rows of the code table in definition-format.md."""
    rows = re.findall(
        r"^\|\s*\[?`(?P<code>[a-z-]+)`\]?(?:\(#[a-z-]+\))?\s*\|\s*(?P<sev>error|warning)\s*\|",
        FORMAT_DOC.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    return dict(rows)


@pytest.mark.parametrize("code", KNOWN_CODES)
def test_format_doc_documents_the_code(code: str) -> None:
    text = FORMAT_DOC.read_text(encoding="utf-8")
    assert f"`{code}`" in text, f"{FORMAT_DOC.name} does not mention `{code}`"
    if code in NOT_FROM_A_SINGLE_FILE and code not in documented_severities():
        return  # reserved codes need only be mentioned
    assert code in documented_severities(), f"{code} has no row in the code table"
    assert re.search(rf"^### `{re.escape(code)}`$", text, flags=re.MULTILINE), (
        f"{FORMAT_DOC.name} has no '### `{code}`' section"
    )


@pytest.mark.parametrize("code", [c for c in KNOWN_CODES if c not in NOT_FROM_A_SINGLE_FILE])
def test_every_code_has_an_invalid_example(code: str) -> None:
    shown = {c for block in yaml_blocks("invalid") for c in expected_codes(block)}
    assert code in shown, f"no ```yaml invalid example in docs/ expects {code}"


def test_warnings_are_exactly_the_unused_codes() -> None:
    severities = documented_severities()
    warnings = sorted(c for c, s in severities.items() if s == "warning")
    assert warnings == [
        "due-outside-during",
        "hook-never-runs",
        "migration-widens-access",
        "no-retention",
        "ungrantable-consent",
        "unknown-holiday",
        "unused-consent",
        "unused-fact",
        "unused-role",
    ]


# --- every key of the format is documented ------------------------------------------------------


def schema_keys(node: object) -> set[str]:
    """Every property name anywhere in a JSON Schema."""
    keys: set[str] = set()
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            keys |= set(properties)
        for value in node.values():
            keys |= schema_keys(value)
    elif isinstance(node, list):
        for value in node:
            keys |= schema_keys(value)
    return keys


def test_format_doc_documents_every_key_and_type() -> None:
    from coachflow import definition_json_schema
    from coachflow.definition.model import FACT_TYPES

    keys = schema_keys(definition_json_schema())
    assert {"coachflow", "transitions", "from", "granted_by", "values"} <= keys
    text = FORMAT_DOC.read_text(encoding="utf-8")
    missing = sorted(k for k in keys | set(FACT_TYPES) if f"`{k}`" not in text)
    assert not missing, f"{FORMAT_DOC.name} does not document the keys or types {missing}"


# --- links --------------------------------------------------------------------------------------


def github_anchor(heading: str) -> str:
    text = heading.strip().lower()
    text = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in ("L", "N"))
    return text.replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    fenced = {n for b in parse_blocks(doc) for n in range(b.line, b.line + b.text.count("\n") + 2)}
    found: set[str] = set()
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
        if number not in fenced and (m := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)):
            found.add(github_anchor(m.group(1)))
    return found


@pytest.mark.parametrize("doc", doc_files(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_relative_links_resolve(doc: Path) -> None:
    for match in LINK_RE.finditer(doc.read_text(encoding="utf-8")):
        target = match["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # http:, mailto: ...
        path_part, _, fragment = target.partition("#")
        linked = (doc.parent / path_part).resolve() if path_part else doc
        assert linked.exists(), f"{doc.name}: link to missing {target}"
        if fragment and linked.suffix == ".md":
            assert fragment in anchors(linked), f"{doc.name}: no heading for #{fragment}"


# --- console sessions ---------------------------------------------------------------------------


def console_blocks() -> list[Block]:
    return [b for b in all_blocks() if b.language == "console"]


def session(block: Block) -> tuple[list[str], str]:
    """The commands of a console block and the output it shows."""
    commands: list[str] = []
    output: list[str] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            commands.append(line[2:])
        else:
            output.append(line.rstrip())
    return commands, "\n".join(output).strip("\n")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A scratch directory with the shipped definitions and schema, and a ``coachflow``
    command on PATH that runs this interpreter's coachflow."""
    shutil.copytree(ROOT / "definitions", tmp_path / "definitions")
    shutil.copytree(ROOT / "schema", tmp_path / "schema")
    bin_dir = tmp_path / ".bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "coachflow"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m coachflow "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return tmp_path


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("block", console_blocks(), ids=lambda b: b.id)
def test_console_session_shows_real_output(block: Block, workdir: Path) -> None:
    for other in parse_blocks(block.doc):
        named = other.comment(FILE_RE)
        if named:
            target = workdir / named["name"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(other.text, encoding="utf-8")
    commands, expected = session(block)
    assert commands, f"{block.id}: a console block without '$ ' commands"
    env = {
        **os.environ,
        "PATH": f"{workdir / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "COLUMNS": "100",
    }
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", "\n".join(commands)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    got = "\n".join(line.rstrip() for line in result.stdout.splitlines()).strip("\n")
    assert got == expected, f"{block.id}: the documented output is not the real one"


# --- behaviour the documentation describes ------------------------------------------------------


def first_complete_example() -> str:
    return yaml_blocks("complete")[0].text


def test_duplicate_definition_as_documented(tmp_path: Path) -> None:
    from coachflow import DefinitionError, load_definitions

    text = first_complete_example()
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definitions(tmp_path)
    [d] = caught.value.diagnostics
    version_line = (
        text.splitlines().index(next(li for li in text.splitlines() if li.startswith("version:")))
        + 1
    )
    assert (d.code, d.severity, Path(d.path).name, d.line, d.column) == (
        "duplicate-definition",
        "error",
        "b.yaml",
        version_line,
        10,
    )
    assert "a.yaml" in d.message
    # documented: `coachflow validate` reports it too, for the later file
    result = subprocess.run(
        [sys.executable, "-m", "coachflow", "validate", "--strict", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"b.yaml:{version_line}:10: error duplicate-definition" in result.stdout


UNSET = [
    ("sessions < 5", False),
    ("sessions <= 5", False),
    ("sessions > 5", False),
    ("sessions >= 5", False),
    ("not (sessions < 5)", True),
    ("sessions == 3", False),
    ("sessions == other", True),
    ("sessions != 3", True),
    ("sessions != other", False),
    ("sessions in [1, 2]", False),
    ("sessions not in [1, 2]", True),
    ("sessions + 1 is None", True),
    ("sessions - 1 is None", True),
    ("-sessions is None", True),
    ("not goals_agreed", True),
    ("goals_agreed or False", False),
    ("goals_agreed and True", False),
    ("sessions is None", True),
    ("sessions is not None", False),
]


@pytest.mark.parametrize(("source", "value"), UNSET)
def test_unset_facts_behave_as_documented(source: str, value: bool) -> None:
    from coachflow.definition.expressions import BOOL, INT, EvalContext, Scope, compile_expression

    scope = Scope(facts={"sessions": INT, "other": INT, "goals_agreed": BOOL})
    compiled = compile_expression(source, scope, expect=BOOL)
    assert compiled.ok, compiled.problems
    assert compiled(EvalContext(facts={}, consents={})) is value


# --- known bugs (found while documenting; the source is not changed here) -----------------------

MINI = """\
coachflow: 1
id: mini
version: 1
{title}roles:
  teacher: {role}
{predicates}initial: intake
states:
  intake: {{title: Intake}}
  completed: {{title: Afgerond, final: true}}
transitions:
  - event: finish
    from: {source}
    to: completed
    by: [teacher]
{extra}"""


def mini(
    *,
    title: str = "",
    role: str = "{title: Leerkracht}",
    predicates: str = "",
    source: str = "intake",
    extra: str = "",
) -> str:
    return MINI.format(title=title, role=role, predicates=predicates, source=source, extra=extra)


def test_mini_is_valid() -> None:
    assert validate_text(mini()) == []


def test_diagnostics_are_sorted_even_when_the_structure_is_broken() -> None:
    text = mini(role="{title: [Leerkracht]}", extra="    when: true\n")
    diagnostics = validate_text(text)
    assert len(diagnostics) == 2
    positions = [(d.line, d.column) for d in diagnostics]
    assert positions == sorted(positions)


def test_bare_consent_message_does_not_forbid_the_right_form() -> None:
    text = mini(
        extra="    when: consent\n",
        role="{title: Leerkracht}\nconsents:\n  report: {granted_by: teacher}",
    )
    [d] = [d for d in validate_text(text) if d.code == "guard-forbidden"]
    assert "consent.<name>, which is not allowed" not in d.message


def test_one_type_mistake_gives_one_diagnostic() -> None:
    text = mini(
        role="{title: Leerkracht}\nfacts:\n  help_question: {type: str}",
        extra='    when: -help_question == "a"\n',
    )
    assert [d.code for d in validate_text(text)] == ["guard-type"]


def test_bad_language_code_gives_one_diagnostic() -> None:
    diagnostics = validate_text(mini(title="title: {nl: Intake, EN: Intake}\n"))
    assert len(diagnostics) == 1, "\n".join(d.format() for d in diagnostics)


def test_empty_from_list_says_it_is_empty() -> None:
    [d] = validate_text(mini(source="[]"))
    assert d.code == "schema" and "empty" in d.message


def test_uncallable_predicate_names_are_rejected() -> None:
    diagnostics = validate_text(mini(predicates="predicates: [date]\n"))
    assert [d.code for d in diagnostics] == ["schema"]
