"""State diagrams of definitions: Mermaid and Graphviz DOT, with guards and roles, and
what each transition declassifies (with the reason)."""

from __future__ import annotations

from collections.abc import Mapping

from coachflow.definition.model import Definition
from coachflow.definition.plain import text_of


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


def to_mermaid(definition: Definition) -> str:
    """A Mermaid ``stateDiagram-v2``: every transition an edge labelled
    ``event (roles) [guard]``, followed by ``declassifies field: reason`` where it
    declassifies an input."""
    lines = ["stateDiagram-v2"]
    for name, state in definition.states.items():
        title = text_of(state.title)
        if title and title != name:
            lines.append(f'    state "{_mermaid_text(title)}" as {name}')
    lines.append(f"    [*] --> {definition.initial}")
    for t in definition.transitions:
        label = _label(t.event, t.by, t.when)
        declassified = _declassified(t.declassifies)
        if declassified:
            label += " " + declassified
        label = _mermaid_text(label)
        for source in definition.sources(t):
            lines.append(f"    {source} --> {t.to}: {label}")
    for name, state in definition.states.items():
        if state.final:
            lines.append(f"    {name} --> [*]")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    # Mermaid ends a label at ';' and chokes on '"' and '#'; ':' is fine after the first
    return text.replace('"', "'").replace(";", ",").replace("#", "nr.")


def to_dot(definition: Definition) -> str:
    """A Graphviz digraph: final states are double circles, edges carry their labels (what
    a transition declassifies on a second line)."""
    lines = [
        f"digraph {_dot_id(definition.id)} {{",
        "    rankdir=LR;",
        "    node [shape=box, style=rounded];",
        '    __start [shape=point, label=""];',
    ]
    for name, state in definition.states.items():
        title = text_of(state.title) or name
        shape = ", shape=doublecircle" if state.final else ""
        lines.append(f"    {_dot_id(name)} [label={_dot_str(title)}{shape}];")
    lines.append(f"    __start -> {_dot_id(definition.initial)};")
    for t in definition.transitions:
        label = _dot_str(_label(t.event, t.by, t.when))
        declassified = _declassified(t.declassifies)
        if declassified:
            label = label[:-1] + "\\n" + _dot_str(declassified)[1:]
        for source in definition.sources(t):
            lines.append(f"    {_dot_id(source)} -> {_dot_id(t.to)} [label={label}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_id(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


def _dot_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
