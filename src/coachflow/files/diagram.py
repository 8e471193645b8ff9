"""State diagrams of definitions: Mermaid and Graphviz DOT, with guards and roles, and
what each transition declassifies (with the reason).

Every transition is an edge per state it leaves (``from: "*"`` expanded), in file order,
except self-loops: the transitions that leave a state and return to it are one loop on
that state, whose label holds each one's label on a line of its own, in file order, at
the place of the first. Renderers lay several loops on one state out badly: mermaid-cli 11
draws all their labels in one place, so all but one are lost; Graphviz nests the loops,
each around the last one's label. Edges between two different states stay one per
transition: both renderers lay parallel edges out apart, each with its own label.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from coachflow.definition.model import Definition, Transition
from coachflow.definition.plain import DEFAULT_LANGUAGE, text_of

# a line break inside a Mermaid label (stateDiagram-v2 renders it as a new line)
MERMAID_BREAK = "<br/>"


@dataclass(frozen=True)
class _Edge:
    """An edge of a diagram: one transition, or every self-loop of one state."""

    source: str
    target: str
    transitions: tuple[Transition, ...]


def _edges(definition: Definition) -> list[_Edge]:
    """The edges in file order, the self-loops of each state merged into the first."""
    edges: list[_Edge] = []
    loops: dict[str, int] = {}  # a state -> the index of its loop in ``edges``
    for t in definition.transitions:
        for source in definition.sources(t):
            if source != t.to:
                edges.append(_Edge(source, t.to, (t,)))
            elif source in loops:
                loop = edges[loops[source]]
                edges[loops[source]] = _Edge(source, source, (*loop.transitions, t))
            else:
                loops[source] = len(edges)
                edges.append(_Edge(source, source, (t,)))
    return edges


def _label(event: str, roles: tuple[str, ...], when: str | None) -> str:
    text = f"{event} ({', '.join(roles)})"
    if when:
        text += f" [{' '.join(when.split())}]"
    return text


def _declassified(declassifies: Mapping[str, str]) -> str:
    """``declassifies note: reason, other: reason`` (each reason on one line), or ``""``."""
    if not declassifies:
        return ""
    parts = (f"{name}: {' '.join(reason.split())}" for name, reason in declassifies.items())
    return "declassifies " + ", ".join(parts)


def _lines(transition: Transition) -> tuple[str, ...]:
    """``event (roles) [guard]``, and ``declassifies field: reason`` if it declassifies."""
    label = _label(transition.event, transition.by, transition.when)
    declassified = _declassified(transition.declassifies)
    return (label, declassified) if declassified else (label,)


def to_mermaid(definition: Definition, *, language: str = DEFAULT_LANGUAGE) -> str:
    """A Mermaid ``stateDiagram-v2``: every transition an edge labelled
    ``event (roles) [guard]``, followed by ``declassifies field: reason`` where it
    declassifies an input. The self-loops of a state are one edge, their labels one per
    line (joined by ``<br/>``)."""
    lines = ["stateDiagram-v2"]
    for name, state in definition.states.items():
        title = text_of(state.title, language)
        if title and title != name:
            lines.append(f'    state "{_mermaid_text(title)}" as {name}')
    lines.append(f"    [*] --> {definition.initial}")
    for edge in _edges(definition):
        label = MERMAID_BREAK.join(_mermaid_label(t) for t in edge.transitions)
        lines.append(f"    {edge.source} --> {edge.target}: {label}")
    for name, state in definition.states.items():
        if state.final:
            lines.append(f"    {name} --> [*]")
    return "\n".join(lines) + "\n"


def _mermaid_label(transition: Transition) -> str:
    return _mermaid_text(" ".join(_lines(transition)))


def _mermaid_text(text: str) -> str:
    # Mermaid ends a label at ';' and chokes on '"' and '#'; ':' is fine after the first
    return text.replace('"', "'").replace(";", ",").replace("#", "nr.")


def to_dot(definition: Definition, *, language: str = DEFAULT_LANGUAGE) -> str:
    """A Graphviz digraph, top to bottom: final states are rounded boxes with a double
    outline (``peripheries=2``), edges carry their labels (what a transition declassifies
    on a line of its own). The self-loops of a state are one edge, a line of its label per
    transition (``\\n``-separated). dot makes room beside a state for its loop's label only
    when ranks run top to bottom: left to right (``rankdir=LR``), loop labels overlap the
    labels of the edges next to them."""
    lines = [
        f"digraph {_dot_id(definition.id)} {{",
        "    rankdir=TB;",
        "    node [shape=box, style=rounded];",
        '    __start [shape=point, label=""];',
    ]
    for name, state in definition.states.items():
        title = text_of(state.title, language) or name
        final = ", peripheries=2" if state.final else ""
        lines.append(f"    {_dot_id(name)} [label={_dot_str(title)}{final}];")
    lines.append(f"    __start -> {_dot_id(definition.initial)};")
    for edge in _edges(definition):
        label = "\\n".join(_dot_text(line) for t in edge.transitions for line in _lines(t))
        lines.append(f'    {_dot_id(edge.source)} -> {_dot_id(edge.target)} [label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_id(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


def _dot_text(text: str) -> str:
    """``text`` escaped for the inside of a DOT string."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _dot_str(text: str) -> str:
    return '"' + _dot_text(text) + '"'
