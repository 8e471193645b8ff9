"""``coachflow graph`` and ``coachflow workload``, run as a subprocess.

The edges of both diagram formats are parsed back and compared with the definition's
transitions (one edge per source state, ``from: "*"`` expanded; the self-loops of a state
are one edge, a line of its label per transition). Exit statuses: 0 when
all went well, 2 for bad usage (a missing file, a bad ``--count``), 1 for an invalid
definition - always with a clear ``coachflow: error:`` line and never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import coachflow
from coachflow import Definition

ROOT = Path(__file__).resolve().parents[2]
NT2 = ROOT / "definitions" / "nt2-consult.yaml"

Edge = tuple[str, str, str, tuple[str, ...], str | None]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the command; identical runs (same arguments, same files) are made once."""
    key = (args, tuple(sorted((env or {}).items())))
    if key not in _RUNS:
        _RUNS[key] = _run(*args, env=env)
    return _RUNS[key]


_RUNS: dict[tuple[object, ...], subprocess.CompletedProcess[str]] = {}


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coachflow", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def expected_edges(d: Definition) -> list[Edge]:
    edges = []
    for t in d.transitions:
        guard = " ".join(t.when.split()) if t.when else None
        for source in d.sources(t):
            edges.append((source, t.to, t.event, t.by, guard))
    return edges


LABEL = re.compile(r"^(?P<event>[a-z][a-z0-9_]*) \((?P<roles>[^)]*)\)(?: \[(?P<guard>.*)\])?$")


def parse_label(label: str) -> tuple[str, tuple[str, ...], str | None]:
    m = LABEL.match(label)
    assert m, f"not an 'event (roles) [guard]' label: {label!r}"
    return m["event"], tuple(m["roles"].split(", ")), m["guard"]


MERMAID_EDGE = re.compile(r"^    (?P<src>\S+) --> (?P<dst>\S+): (?P<label>.+)$")


def assert_one_loop_a_state(pairs: list[tuple[str, str]]) -> None:
    """The edges (source, target) of a diagram have at most one self-loop on each state."""
    loops = Counter(source for source, target in pairs if source == target)
    assert [state for state, n in loops.items() if n > 1] == []


def parse_mermaid(text: str) -> tuple[list[Edge], list[str], list[str]]:
    """The transition edges (a merged self-loop split into one a line of its label), the
    targets of ``[*] -->`` and the sources of ``--> [*]``."""
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    edges: list[Edge] = []
    initial: list[str] = []
    finals: list[str] = []
    pairs: list[tuple[str, str]] = []
    for line in lines[1:]:
        if m := re.fullmatch(r"    \[\*\] --> (\S+)", line):
            initial.append(m[1])
        elif m := re.fullmatch(r"    (\S+) --> \[\*\]", line):
            finals.append(m[1])
        elif m := MERMAID_EDGE.match(line):
            pairs.append((m["src"], m["dst"]))
            labels = m["label"].split("<br/>")
            assert len(labels) == 1 or m["src"] == m["dst"], line  # only loops are merged
            edges.extend((m["src"], m["dst"], *parse_label(label)) for label in labels)
        else:
            assert re.fullmatch(r'    state "[^"]*" as [a-z][a-z0-9_]*', line), line
    assert_one_loop_a_state(pairs)
    return edges, initial, finals


DOT_STR = r'"((?:[^"\\]|\\.)*)"'
DOT_EDGE = re.compile(rf"^    {DOT_STR} -> {DOT_STR} \[label={DOT_STR}\];$")


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def dot_lines(label: str) -> list[str]:
    """The lines of the inside of a DOT string, unescaped (``\\n`` ends a line)."""
    lines = [""]
    for token in re.findall(r"\\.|[^\\]", label):
        if token == "\\n":
            lines.append("")
        else:
            lines[-1] += token[-1]
    return lines


def parse_dot(text: str) -> tuple[list[Edge], list[str], list[str]]:
    """The transition edges (a merged self-loop split into one a line of its label), the
    start edge's target and the states with a double outline."""
    lines = text.splitlines()
    assert re.fullmatch(rf"digraph {DOT_STR} \{{", lines[0]), lines[0]
    assert lines[-1] == "}"
    edges: list[Edge] = []
    initial: list[str] = []
    finals: list[str] = []
    pairs: list[tuple[str, str]] = []
    for line in lines[1:-1]:
        if m := DOT_EDGE.match(line):
            source, target = unescape(m[1]), unescape(m[2])
            pairs.append((source, target))
            labels = [x for x in dot_lines(m[3]) if not x.startswith("declassifies ")]
            assert len(labels) == 1 or source == target, line  # only loops are merged
            edges.extend((source, target, *parse_label(label)) for label in labels)
        elif m := re.fullmatch(rf"    __start -> {DOT_STR};", line):
            initial.append(unescape(m[1]))
        else:
            node = re.fullmatch(rf"    {DOT_STR} \[label={DOT_STR}(, peripheries=2)?\];", line)
            assert node or line.startswith(("    rankdir", "    node ", "    __start [")), line
            if node and node[3]:
                finals.append(unescape(node[1]))
    assert_one_loop_a_state(pairs)
    return edges, initial, finals


def mermaid_quotes(edges: list[Edge]) -> list[Edge]:
    """Mermaid labels cannot hold '"': the diagram writes "'" instead."""
    return [(s, d, e, r, g.replace('"', "'") if g else g) for s, d, e, r, g in edges]


# --- graph --------------------------------------------------------------------------------


def test_graph_of_the_nt2_definition_as_mermaid() -> None:
    d = coachflow.load_definition(NT2)
    result = run("graph", str(NT2))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    edges, initial, finals = parse_mermaid(result.stdout)
    assert Counter(edges) == Counter(mermaid_quotes(expected_edges(d)))
    assert len(edges) == sum(len(d.sources(t)) for t in d.transitions)
    assert initial == [d.initial]
    assert finals == [name for name, state in d.states.items() if state.final]
    for name, state in d.states.items():
        title = coachflow.definition.plain.text_of(state.title)
        if title and title != name:
            assert f'    state "{title}" as {name}' in result.stdout.splitlines()


def test_graph_of_the_nt2_definition_as_dot_has_the_same_edges() -> None:
    d = coachflow.load_definition(NT2)
    dot = run("graph", str(NT2), "--format", "dot")
    mermaid = run("graph", str(NT2))
    assert dot.returncode == 0 and mermaid.returncode == 0
    edges, initial, finals = parse_dot(dot.stdout)
    assert Counter(edges) == Counter(expected_edges(d))
    assert Counter(mermaid_quotes(edges)) == Counter(parse_mermaid(mermaid.stdout)[0])
    assert initial == [d.initial]
    assert sorted(finals) == sorted(d.final_states)
    assert dot.stdout.startswith('digraph "nt2-consult" {')


TRICKY = """\
coachflow: 1
id: tricky
version: 1
roles:
  coach: {}
  teacher: {}
facts:
  note: {type: str}
  n: {type: int, default: 0}
initial: start
states:
  start: {title: 'Start "here"'}
  middle: {title: middle}
  done: {final: true}
  stopped: {final: true, title: Gestopt}
transitions:
  - event: go
    from: start
    to: middle
    by: [coach, teacher]
    when: >-
      note != "a;b"
      and n >= 0
  - event: again
    from: middle
    to: middle
    by: [coach]
    set: {n: n + 1}
  - event: reset
    from: [start, middle]
    to: middle
    by: [teacher]
    set: {n: 0}
  - event: finish
    from: middle
    to: done
    by: [coach]
    when: n > 2
  - event: stop
    from: "*"
    to: stopped
    by: [teacher]
"""


def test_graph_of_a_definition_with_wildcards_folded_guards_and_quotes(tmp_path: Path) -> None:
    path = tmp_path / "tricky.yaml"
    path.write_text(TRICKY, encoding="utf-8")
    d = coachflow.load_definition(path)
    expected = expected_edges(d)
    assert ("middle", "stopped", "stop", ("teacher",), None) in expected
    assert ("middle", "middle", "reset", ("teacher",), None) in expected
    dot = run("graph", str(path), "--format", "dot")
    assert dot.returncode == 0, dot.stderr
    edges, initial, finals = parse_dot(dot.stdout)
    assert Counter(edges) == Counter(expected)
    assert (initial, sorted(finals)) == (["start"], ["done", "stopped"])
    assert '[label="Start \\"here\\""]' in dot.stdout
    # the two loops on middle are one edge, the two edges from start to middle stay two
    assert '"middle" -> "middle" [label="again (coach)\\nreset (teacher)"];' in dot.stdout
    assert dot.stdout.count('    "start" -> "middle" [') == 2
    mermaid = run("graph", str(path))
    assert mermaid.returncode == 0, mermaid.stderr
    m_edges, m_initial, m_finals = parse_mermaid(mermaid.stdout)
    assert {(s, t, e, r) for s, t, e, r, _ in m_edges} == {
        (s, t, e, r) for s, t, e, r, _ in expected
    }
    assert len(m_edges) == len(expected)
    [go] = [g for s, t, e, r, g in m_edges if e == "go"]
    assert go is not None and ";" not in go  # Mermaid would end the label there
    assert "n >= 0" in go
    assert "    middle --> middle: again (coach)<br/>reset (teacher)" in mermaid.stdout
    assert (m_initial, sorted(m_finals)) == (["start"], ["done", "stopped"])


def test_graph_output_is_the_same_in_every_run() -> None:
    # final states are listed in file order, not in a set's (hash-seeded) order
    outputs = {run("graph", str(NT2), env={"PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2)}
    assert len(outputs) == 1


# --- workload -----------------------------------------------------------------------------

WORKLOAD = """\
coachflow: 1
id: starter-year
version: 3
roles:
  coach: {}
  starter: {}
  director: {}
initial: period_1
states:
  period_1: {weeks: {from: 1, to: 18}}
  after_christmas: {weeks: {from: 19, to: 40}}
  closed: {final: true}
transitions:
  - event: next
    from: period_1
    to: after_christmas
    by: [director]
  - event: close
    from: after_christmas
    to: closed
    by: [director]
activities:
  visit_w2: {by: [coach], during: [period_1], due: {week: 2}, hours: {coach: 0.5}}
  talk_w2: {by: [coach], during: [period_1], due: {week: 2}, hours: {coach: 0.75, starter: 0.75}}
  visit_w4: {by: [coach], during: [period_1], due: {week: 4}, hours: {coach: 0.5}}
  talk_w4: {by: [coach], during: [period_1], due: {week: 4}, hours: {coach: 0.75, starter: 0.75}}
  monthly_contact:
    by: [coach, starter]
    during: [after_christmas]
    recurring: {every: month, at_least: 1}
    hours: {coach: 1, starter: 1}
"""
# once: coach 2 x 0.5 + 2 x 0.75 + 5 months x 1 = 7.5 h; starter 2 x 0.75 + 5 = 6.5 h


@pytest.fixture
def workload_file(tmp_path: Path) -> Path:
    path = tmp_path / "starter-year.yaml"
    path.write_text(WORKLOAD, encoding="utf-8")
    return path


def test_workload_text(workload_file: Path) -> None:
    result = run("workload", str(workload_file), "--count", "10")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "starter-year version 3, 10 trajectories:"
    rows = {}
    for line in lines[1:]:
        m = re.fullmatch(r"  (\S+) +(\d+\.\d\d) h", line)
        assert m, line
        rows[m[1]] = float(m[2])
    assert rows == {"coach": 75.0, "starter": 65.0}
    assert rows == coachflow.load_definition(workload_file).workload(10)


def test_workload_json(workload_file: Path) -> None:
    result = run("workload", str(workload_file), "--count", "10", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data == {
        "definition": "starter-year",
        "version": 3,
        "count": 10,
        "hours": {"coach": 75.0, "starter": 65.0},
        "not_counted": [],
    }
    once = json.loads(run("workload", str(workload_file), "--format", "json").stdout)
    assert once["count"] == 1
    assert once["hours"] == {"coach": 7.5, "starter": 6.5}


def test_workload_of_a_definition_without_hours(tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(WORKLOAD.split("activities:")[0], encoding="utf-8")
    text = run("workload", str(path), "--count", "4")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines() == [
        "starter-year version 3, 4 trajectories:",
        "  (no activity declares hours)",
    ]


def test_workload_of_the_shipped_definition_matches_the_library() -> None:
    result = run("workload", str(NT2), "--count", "10", "--format", "json")
    assert result.returncode == 0, result.stderr
    d = coachflow.load_definition(NT2)
    uncounted = sorted(name for name, a in d.activities.items() if not a.hours)
    assert uncounted  # the NT2 route declares no hours: every activity is named
    assert json.loads(result.stdout) == {
        "definition": d.id,
        "version": d.version,
        "count": 10,
        "hours": d.workload(10),
        "not_counted": uncounted,
    }
    text = run("workload", "nt2-consult", "--count", "10")  # by its id, as a file
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[-1] == f"not counted, no hours declared: {', '.join(uncounted)}"


def test_graph_and_workload_take_a_definition_id(tmp_path: Path) -> None:
    by_id = run("graph", "nt2-consult", "--format", "dot")
    assert by_id.returncode == 0, by_id.stderr
    assert by_id.stdout == run("graph", str(NT2), "--format", "dot").stdout
    unknown = run("graph", "no-such-route")
    assert unknown.returncode == 2
    assert unknown.stderr == (
        "coachflow: error: no file and no known definition 'no-such-route' "
        "(coachflow definitions lists them)\n"
    )
    version = coachflow.load_definition(NT2).version
    assert run("graph", "nt2-consult", "--version", str(version)).returncode == 0
    missing = run("workload", "nt2-consult", "--version", str(version + 1))
    assert missing.returncode == 2
    assert f"'nt2-consult' has no version {version + 1} (known: {version})" in missing.stderr
    on_file = run("graph", str(NT2), "--version", "1")
    assert on_file.returncode == 2 and "--version is for a definition id" in on_file.stderr
    routes = tmp_path / "routes"
    routes.mkdir()
    (routes / "a.yaml").write_text(WORKLOAD, encoding="utf-8")
    mine = run("workload", "starter-year", "--definitions", str(routes), "--format", "json")
    assert json.loads(mine.stdout)["hours"] == {"coach": 7.5, "starter": 6.5}


def test_definitions_lists_the_known_definitions_and_versions(tmp_path: Path) -> None:
    listed = run("definitions", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    shipped = [coachflow.load_definition(p) for p in sorted(NT2.parent.glob("*.yaml"))]
    assert [(r["id"], r["versions"]) for r in rows] == sorted((d.id, [d.version]) for d in shipped)
    text = run("definitions").stdout.splitlines()
    assert text[-1] == f"{len(shipped)} definitions"
    assert any(line.startswith("nt2-consult ") for line in text)
    routes = tmp_path / "routes"
    routes.mkdir()
    (routes / "v3.yaml").write_text(WORKLOAD, encoding="utf-8")
    (routes / "v4.yaml").write_text(WORKLOAD.replace("version: 3", "version: 4"), encoding="utf-8")
    mine = run("definitions", "--definitions", str(routes), "--format", "json")
    assert [(r["id"], r["versions"]) for r in json.loads(mine.stdout)] == [("starter-year", [3, 4])]
    assert run("definitions", "--definitions", str(tmp_path / "none")).returncode == 2


# --- exit statuses ------------------------------------------------------------------------


def assert_clean_failure(result: subprocess.CompletedProcess[str], status: int) -> str:
    assert result.returncode == status, (result.returncode, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines, "no message on stderr"
    return lines[-1]


@pytest.mark.parametrize("command", ["graph", "workload"])
def test_a_missing_file_exits_2(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    last = assert_clean_failure(run(command, str(missing)), 2)
    assert last == f"coachflow: error: no such file: {missing}"
    assert len(run(command, str(missing)).stderr.splitlines()) == 1  # the same run


@pytest.mark.parametrize("count", ["0", "ten", "2.5"])
def test_a_bad_count_exits_2(count: str, workload_file: Path) -> None:
    last = assert_clean_failure(run("workload", str(workload_file), "--count", count), 2)
    assert last.startswith("coachflow workload: error: argument --count")


def test_bad_usage_exits_2(workload_file: Path) -> None:
    assert_clean_failure(run("graph", str(workload_file), "--format", "png"), 2)
    assert_clean_failure(run("workload"), 2)


def test_an_unreadable_path_exits_2(tmp_path: Path) -> None:
    last = assert_clean_failure(run("graph", str(tmp_path)), 2)
    assert last.startswith("coachflow: error: cannot read")


INVALID = [
    ("schema", "graph", "coachflow: 1\nid: x\n"),
    ("reference", "workload", WORKLOAD.replace("by: [director]\n", "by: [ghost]\n", 1)),
    ("activity", "graph", WORKLOAD.replace("due: {week: 2}", "due: {week: 2, days: 1}", 1)),
    ("yaml", "workload", "coachflow: [1\n"),
]


@pytest.mark.parametrize(("kind", "command", "text"), INVALID, ids=[k for k, *_ in INVALID])
def test_an_invalid_definition_exits_1(kind: str, command: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    result = run(command, str(path))
    last = assert_clean_failure(result, 1)
    assert last.startswith("coachflow: error: ") and str(path) in last
    assert "not a valid definition" in last
    # the lines before it are the located diagnostics, one a line
    for line in result.stderr.splitlines()[:-1]:
        assert re.match(rf"{re.escape(str(path))}:\d+:\d+: error [a-z-]+: ", line), line


def test_a_binary_file_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00\x01")
    assert_clean_failure(run("graph", str(path)), 1)


def test_warnings_do_not_fail_graph_or_workload(tmp_path: Path) -> None:
    path = tmp_path / "warn.yaml"
    text = WORKLOAD.replace("  director: {}", "  director: {}\n  idle: {}")
    path.write_text(text, encoding="utf-8")
    assert [d.code for d in coachflow.validate_file(path)] == ["unused-role"]
    result = run("workload", str(path), "--format", "json")
    assert result.returncode == 0 and result.stderr == ""
