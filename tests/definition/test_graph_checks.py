"""The reachability checks (``unreachable-state``, ``dead-end``, ``no-final-path``) search
plain adjacency lists instead of building a networkx graph (importing networkx took longer
than validating the built-in definitions). Their findings are compared here with the
networkx implementation they replaced, on random state graphs: any shape, with ``from:
"*"`` and lists of sources, final states with exits and names of undeclared states.

One difference is intended: a definition without any final state made the networkx version
raise (``coachflow validate`` ended in a traceback); now each of its states that a
transition leaves is reported as ``no-final-path``."""

from __future__ import annotations

from typing import Any

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

import coachflow
from coachflow.definition.checks.context import Context
from coachflow.definition.checks.graph import check_reachability
from coachflow.definition.compiled import in_memory
from coachflow.definition.model import Definition
from coachflow.definition.plain import expand_sources

GRAPH_CODES = {"unreachable-state", "dead-end", "no-final-path"}
NAMES = ("a", "b", "c", "d", "e", "f", "g")
UNDECLARED = "zz"


def networkx_findings(d: Definition) -> list[tuple[str, str]]:
    """(code, state) as the networkx implementation reported them, in its order (but for
    a definition without a final state, where it raised: its sink node was never added)."""
    if d.initial not in d.states:
        return []
    graph = nx.DiGraph()
    graph.add_nodes_from(d.states)
    anywhere = object()
    for t in d.transitions:
        if t.to not in d.states:
            continue
        if t.from_any:
            graph.add_edge(anywhere, t.to)
        else:
            graph.add_edges_from(
                (s, t.to) for s in expand_sources(t.from_, d.states) if s in d.states
            )
    if anywhere in graph:
        graph.add_edges_from((name, anywhere) for name, s in d.states.items() if not s.final)
    reachable = nx.descendants(graph, d.initial) | {d.initial}
    sink = object()
    graph.add_node(sink)
    graph.add_edges_from((f, sink) for f in d.final_states)
    reaches_final = nx.ancestors(graph, sink)
    graph.remove_node(sink)
    found: list[tuple[str, str]] = []
    for name, state in d.states.items():
        if name not in reachable:
            found.append(("unreachable-state", name))
        if state.final:
            continue
        if graph.out_degree(name) == 0:
            found.append(("dead-end", name))
        elif name not in reaches_final:
            found.append(("no-final-path", name))
    return found


def findings(d: Definition) -> list[tuple[str, str]]:
    ctx = Context.of(in_memory(d), d)
    check_reachability(ctx)
    return [(x.code, x.message.split("'")[1]) for x in ctx.diagnostics]


@st.composite
def state_graphs(draw: st.DrawFn) -> Definition:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=len(NAMES), unique=True))
    finals = draw(st.sets(st.sampled_from(names)))
    targets = st.sampled_from([*names, UNDECLARED])
    source = st.one_of(
        targets,
        st.just("*"),
        st.lists(targets, min_size=1, max_size=4).map(tuple),
    )
    transitions = [
        {"event": f"e{i}", "from": draw(source), "to": draw(targets), "by": ["coach"]}
        for i in range(draw(st.integers(1, 12)))
    ]
    data: dict[str, Any] = {
        "coachflow": 1,
        "id": "graph",
        "version": 1,
        "roles": {"coach": {}},
        "initial": draw(st.sampled_from([*names, UNDECLARED])),
        "states": {n: {"final": n in finals} for n in names},
        "transitions": transitions,
    }
    return Definition.model_validate(data)


@settings(max_examples=300, deadline=None)
@given(definition=state_graphs())
def test_reachability_finds_what_networkx_found(definition: Definition) -> None:
    assert findings(definition) == networkx_findings(definition)


def test_a_wildcard_reaches_every_non_final_state_and_leaves_none_a_dead_end() -> None:
    definition = Definition.model_validate(
        {
            "coachflow": 1,
            "id": "graph",
            "version": 1,
            "roles": {"coach": {}},
            "initial": "a",
            "states": {"a": {}, "b": {}, "island": {}, "done": {"final": True}},
            "transitions": [
                {"event": "go", "from": "a", "to": "b", "by": ["coach"]},
                {"event": "stop", "from": "*", "to": "done", "by": ["coach"]},
            ],
        }
    )
    assert findings(definition) == [("unreachable-state", "island")]
    assert findings(definition) == networkx_findings(definition)


NO_FINAL_STATE = """\
coachflow: 1
id: no-final
version: 1
roles: {coach: {}}
initial: a
states: {a: {}, b: {}, c: {}}
transitions:
  - {event: go, from: a, to: b, by: [coach]}
  - {event: back, from: b, to: a, by: [coach]}
"""


def test_a_definition_without_a_final_state_is_reported_not_raised() -> None:
    diagnostics = coachflow.validate_text(NO_FINAL_STATE, path="no-final.yaml")
    graph = [(d.code, d.line, d.column) for d in diagnostics if d.code in GRAPH_CODES]
    assert graph == [
        ("no-final-path", 6, 10),  # a
        ("no-final-path", 6, 17),  # b
        ("dead-end", 6, 24),  # c
        ("unreachable-state", 6, 24),
    ]
