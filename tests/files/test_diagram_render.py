"""The state diagrams, drawn by a real renderer: every built-in definition's DOT output is
rendered by Graphviz (``dot -Tsvg``, a subprocess) and every transition's label must be
in the SVG, on the edge it belongs to; the self-loops of a state are one edge (in Mermaid
and in DOT) that carries every loop's label; final states have a double outline.

Graphviz comes from Debian's packages (``.ci/run`` installs it): without ``dot`` the
rendering tests fail in CI (``CI`` set) and are skipped elsewhere.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

import coachflow
from coachflow import Definition
from coachflow.files.diagram import MERMAID_BREAK, to_dot, to_mermaid

ROOT = Path(__file__).resolve().parents[2]
BUILT_IN = sorted((ROOT / "definitions").glob("*.yaml"))
SVG = "{http://www.w3.org/2000/svg}"

THREE_LOOPS = """\
coachflow: 1
id: three-loops
version: 1
roles:
  coach: {}
  starter: {}
facts:
  n: {type: int, default: 0}
  note: {type: str, default: ""}
initial: waiting
states:
  waiting: {title: Wachten}
  open: {title: 'Open "now"'}
  done: {final: true, title: Klaar}
transitions:
  - event: begin
    from: waiting
    to: open
    by: [coach]
  - event: count
    from: open
    to: open
    by: [coach]
    set: {n: n + 1}
  - event: note_down
    from: open
    to: open
    by: [starter, coach]
    when: n < 3 and note != "a&b" and n >= 0
  - event: finish
    from: open
    to: done
    by: [coach]
    when: n > 2
  - event: bump
    from: "*"
    to: open
    by: [starter]
"""


def three_loops() -> Definition:
    return coachflow.loads_definition(THREE_LOOPS)


def label_lines(d: Definition) -> Counter[tuple[str, str, str]]:
    """(source, target, line) for every line of every transition's label, one per state
    it leaves: ``event (roles) [guard]``, then ``declassifies field: reason`` if any."""
    lines: Counter[tuple[str, str, str]] = Counter()
    for t in d.transitions:
        label = f"{t.event} ({', '.join(t.by)})"
        if t.when:
            label += f" [{' '.join(t.when.split())}]"
        texts = [label]
        if t.declassifies:
            reasons = (f"{k}: {' '.join(v.split())}" for k, v in t.declassifies.items())
            texts.append("declassifies " + ", ".join(reasons))
        for source in d.sources(t):
            lines.update((source, t.to, text) for text in texts)
    return lines


# --- rendering with Graphviz ------------------------------------------------------------------


@pytest.fixture(scope="module")
def dot() -> str:
    """The path of Graphviz's ``dot``: a failure in CI if it is missing, a skip elsewhere."""
    path = shutil.which("dot")
    if path is None:
        reason = "Graphviz's dot is not installed (apt-get install graphviz)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: .ci/run should have installed it")
        pytest.skip(reason)
    return path


def render(dot: str, d: Definition) -> ET.Element:
    """``to_dot(d)`` rendered by ``dot -Tsvg``, parsed (which undoes the SVG's escaping of
    ``&``, ``<``, ``>`` and quotes, and of repeated spaces as ``&#160;``)."""
    result = subprocess.run(
        [dot, "-Tsvg"], input=to_dot(d), capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "<svg" in result.stdout
    return ET.fromstring(result.stdout)


def groups(svg: ET.Element, kind: str) -> list[tuple[str, list[ET.Element]]]:
    """The ``<g class="node">`` or ``<g class="edge">`` of the SVG: (title, children)."""
    found = []
    for g in svg.iter(f"{SVG}g"):
        if g.get("class") == kind:
            title = g.find(f"{SVG}title")
            assert title is not None and title.text is not None
            found.append((title.text, list(g)))
    return found


def text_of(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())  # &#160; is split on too


def drawn_lines(svg: ET.Element) -> Counter[tuple[str, str, str]]:
    """(source, target, line) for every line of text on an edge of the SVG."""
    lines: Counter[tuple[str, str, str]] = Counter()
    for title, children in groups(svg, "edge"):
        source, target = title.split("->")
        lines.update((source, target, text_of(c)) for c in children if c.tag == f"{SVG}text")
    return lines


@pytest.mark.parametrize("path", BUILT_IN, ids=lambda p: p.stem)
def test_every_transition_label_is_drawn_on_its_edge(dot: str, path: Path) -> None:
    d = coachflow.load_definition(path)
    drawn = drawn_lines(render(dot, d))
    expected = label_lines(d)
    assert expected, "a definition without transitions proves nothing"
    assert Counter({k: n for k, n in drawn.items() if k[0] != "__start"}) == expected


@pytest.mark.parametrize("path", BUILT_IN, ids=lambda p: p.stem)
def test_every_event_and_its_roles_are_in_the_svg_text(dot: str, path: Path) -> None:
    d = coachflow.load_definition(path)
    svg = render(dot, d)
    texts = [text_of(t) for t in svg.iter(f"{SVG}text")]
    for t in d.transitions:
        head = f"{t.event} ({', '.join(t.by)})"
        assert any(text.startswith(head) for text in texts), head


@pytest.mark.parametrize("path", BUILT_IN, ids=lambda p: p.stem)
def test_each_state_has_one_loop_and_final_states_a_double_outline(dot: str, path: Path) -> None:
    d = coachflow.load_definition(path)
    svg = render(dot, d)
    loops = Counter(s for s, t in (title.split("->") for title, _ in groups(svg, "edge")) if s == t)
    assert [state for state, n in loops.items() if n > 1] == []
    outlines = {
        title: sum(c.tag in (f"{SVG}path", f"{SVG}polygon", f"{SVG}ellipse") for c in children)
        for title, children in groups(svg, "node")
        if title != "__start"
    }
    assert outlines == {name: 2 if s.final else 1 for name, s in d.states.items()}


def test_the_escaped_guard_and_the_merged_loop_are_drawn(dot: str) -> None:
    svg = render(dot, three_loops())
    [loop] = [children for title, children in groups(svg, "edge") if title == "open->open"]
    assert [text_of(c) for c in loop if c.tag == f"{SVG}text"] == [
        "count (coach)",
        'note_down (starter, coach) [n < 3 and note != "a&b" and n >= 0]',
        "bump (starter)",
    ]
    titles = {title: children for title, children in groups(svg, "node")}
    assert text_of(next(c for c in titles["open"] if c.tag == f"{SVG}text")) == 'Open "now"'


# --- the merge, in the text of both formats ---------------------------------------------------


def test_three_self_loops_are_one_mermaid_edge_with_every_label() -> None:
    mermaid = to_mermaid(three_loops())
    loops = [line for line in mermaid.splitlines() if line.startswith("    open --> open:")]
    assert loops == [
        "    open --> open: count (coach)"
        + MERMAID_BREAK
        + "note_down (starter, coach) [n < 3 and note != 'a&b' and n >= 0]"
        + MERMAID_BREAK
        + "bump (starter)"
    ]
    assert MERMAID_BREAK == "<br/>"
    # the other edges stay one per transition and source, in file order
    edges = [line for line in mermaid.splitlines() if re.match(r"    \w+ --> \w+:", line)]
    assert edges == [
        "    waiting --> open: begin (coach)",
        loops[0],
        "    open --> done: finish (coach) [n > 2]",
        "    waiting --> open: bump (starter)",
    ]
    assert mermaid == to_mermaid(three_loops())


def test_three_self_loops_are_one_dot_edge_with_a_line_for_each() -> None:
    dot = to_dot(three_loops())
    loops = [line for line in dot.splitlines() if line.startswith('    "open" -> "open"')]
    assert loops == [
        '    "open" -> "open" [label="count (coach)\\n'
        'note_down (starter, coach) [n < 3 and note != \\"a&b\\" and n >= 0]\\n'
        'bump (starter)"];'
    ]
    assert dot.count('    "waiting" -> "open" [') == 2


def test_final_states_in_dot_are_boxes_with_a_double_outline() -> None:
    dot = to_dot(three_loops())
    assert '    "done" [label="Klaar", peripheries=2];' in dot
    assert '    "open" [label="Open \\"now\\""];' in dot
    assert "doublecircle" not in dot
    assert "    node [shape=box, style=rounded];" in dot
    assert dot.count("peripheries") == 1  # only the final state
    assert '    "waiting" [label="Wachten"];' in dot
