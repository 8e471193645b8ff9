"""``from: "*"`` (every non-final state) costs in proportion to the states and the
transitions, never to their product (issue 11): in the validator, whose input is
untrusted, and in the engine's compiled ``transitions`` machine. And it still means
exactly what the explicit list of every non-final state would mean.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from strategies import valid_definitions

import coachflow
import coachflow.runtime.dispatch as dispatch_module
from coachflow import Definition, Engine
from coachflow.clock import FixedClock
from coachflow.errors import TransitionRejected

MB = 1024 * 1024


def wildcard_definition(
    n_states: int = 3000, n_wildcards: int = 3000, *, same_event: bool = False
) -> str:
    """The hostile file of issue 11 (about 220 kB): states ``s0000`` ... (the last one
    final) and ``n_wildcards`` transitions ``from: "*"``, the i-th to state i; each of
    its own event, or all of one event (``same_event``: then every one but the first
    is ambiguous in every non-final state)."""
    lines = ["coachflow: 1", "id: wildcards", "version: 1", "roles:", "  coach: {}"]
    lines += ["initial: s0000", "states:"]
    for i in range(n_states):
        lines.append(f"  s{i:04}: {{final: true}}" if i == n_states - 1 else f"  s{i:04}: {{}}")
    lines.append("transitions:")
    for i in range(n_wildcards):
        event = "go" if same_event else f"e{i:04}"
        lines += [f"  - event: {event}", '    from: "*"', f"    to: s{i % n_states:04}"]
        lines.append("    by: [coach]")
    return "\n".join(lines) + "\n"


def peak_memory(fn: Callable[[], Any]) -> tuple[Any, int]:
    """What ``fn`` returns, and the peak of the memory traced while it ran."""
    tracemalloc.start()
    try:
        return fn(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def hostile() -> str:
    return wildcard_definition()


@pytest.fixture(scope="module")
def hostile_definition(hostile: str) -> Definition:
    return coachflow.loads_definition(hostile)


def machine_size(engine: Engine, definition: Definition) -> int:
    """The transition objects the engine's ``transitions`` machine holds (what it
    stores, not what a lookup of every state would give)."""
    machine = engine._program(definition.id, definition.version).dispatcher.machine
    return sum(
        len(transitions)
        for event in machine.events.values()
        for transitions in dict.values(event.transitions)
    )


# --- the validator ----------------------------------------------------------------------------


def test_the_hostile_file_is_what_the_issue_describes(hostile: str) -> None:
    assert 200_000 < len(hostile.encode()) < 240_000
    assert hostile.count('from: "*"') == 3000


def test_the_hostile_file_validates_in_bounded_memory(hostile: str) -> None:
    """Before: 66 s and 5.2 GB (the graph and the ambiguity check expanded every "*"
    into 2,999 states). Time is measured by benchmarks/bench_validate.py, not here."""
    diagnostics, peak = peak_memory(lambda: coachflow.validate_text(hostile))
    assert diagnostics == []
    assert peak < 100 * MB, f"{peak / MB:.0f} MB"


def test_thousands_of_ambiguous_wildcards_are_reported_in_bounded_memory() -> None:
    """Every "*" transition of one unguarded event after the first is ambiguous in every
    non-final state: one diagnostic each, naming a few of the states, not all of them."""
    text = wildcard_definition(same_event=True)
    diagnostics, peak = peak_memory(lambda: coachflow.validate_text(text))
    assert peak < 100 * MB, f"{peak / MB:.0f} MB"
    ambiguous = [d for d in diagnostics if d.code == "ambiguous-transition"]
    assert len(ambiguous) == 2999
    first = ambiguous[0]
    assert (first.line, first.column) == (3013, 12)  # the second transition's event
    assert first.message.startswith(
        "event 'go' already leaves 's0000', 's0001', 's0002', 's0003', 's0004' "
        "and 2994 more states through an earlier transition"
    )
    assert max(len(d.message) for d in diagnostics) < 300


MINIMAL = """\
coachflow: 1
id: demo
version: 1
roles:
  coach: {}
initial: start
states:
  start: {}
  mid: {}
  done: {final: true}
transitions:
  - event: go
    from: start
    to: mid
    by: [coach]
  - event: finish
    from: mid
    to: done
    by: [coach]
"""


def transition(event: str, source: str, to: str, when: str | None = None) -> str:
    text = f"  - event: {event}\n    from: {source}\n    to: {to}\n    by: [coach]\n"
    return text + (f"    when: {when}\n" if when else "")


def ambiguities(text: str) -> list[tuple[int, str]]:
    return [
        (d.line, d.message.split(" through ")[0])
        for d in coachflow.validate_text(text)
        if d.code == "ambiguous-transition"
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        # a named state after "*": ambiguous there, unless both are guarded
        (
            transition("stop", "'*'", "done") + transition("stop", "mid", "done"),
            [(24, "event 'stop' already leaves 'mid'")],
        ),
        (
            transition("stop", "'*'", "done", "1 < 2") + transition("stop", "mid", "done"),
            [(25, "event 'stop' already leaves 'mid'")],
        ),
        (
            transition("stop", "'*'", "done", "1 < 2")
            + transition("stop", "[mid, start]", "done", "2 < 1"),
            [],
        ),
        # "*" after named states: ambiguous in the named ones
        (
            transition("stop", "[mid, start]", "done") + transition("stop", "'*'", "done"),
            [(24, "event 'stop' already leaves 'mid', 'start'")],
        ),
        (
            transition("stop", "mid", "done", "1 < 2") + transition("stop", "'*'", "done"),
            [(25, "event 'stop' already leaves 'mid'")],
        ),
        (transition("stop", "mid", "done", "1 < 2") + transition("stop", "'*'", "done", "x"), []),
        # "*" after "*": ambiguous in every non-final state unless both are guarded
        (
            transition("stop", "'*'", "done") + transition("stop", "'*'", "done", "1 < 2"),
            [(24, "event 'stop' already leaves 'start', 'mid'")],
        ),
        (
            transition("stop", "'*'", "done", "1 < 2") + transition("stop", "'*'", "done", "x"),
            [],
        ),
        # a final state named after "*" is not ambiguous with it (final-has-exit instead)
        (transition("stop", "'*'", "done") + transition("stop", "done", "mid"), []),
    ],
)
def test_ambiguity_with_wildcards(extra: str, expected: list[tuple[int, str]]) -> None:
    text = MINIMAL.replace("  coach: {}\n", "  coach: {}\nfacts:\n  x: {type: bool}\n") + extra
    assert ambiguities(text) == [(line + 2, message) for line, message in expected]


REACH = """\
coachflow: 1
id: demo
version: 1
roles:
  coach: {}
initial: start
states:
  start: {}
  done: {final: true}
  far: {}
transitions:
  - {event: go, from: start, to: done, by: [coach]}
  - {event: jump, from: "*", to: far, by: [coach]}
  - {event: back, from: far, to: done, by: [coach]}
"""


def graph_problems(text: str) -> list[tuple[str, str]]:
    return [(d.code, d.message.split("'")[1]) for d in coachflow.validate_text(text)]


def test_reachability_through_wildcards() -> None:
    """A "*" transition reaches its target from every non-final state, and is a way out
    of each; a final state does not take it."""
    assert graph_problems(REACH) == []
    # far is reached only through "*", from start: with a final initial state, never
    final_start = REACH.replace("initial: start", "initial: done")
    assert graph_problems(final_start) == [
        ("unreachable-state", "start"),
        ("unreachable-state", "far"),
    ]
    # "*" is a way out of far, but only back to far
    trapped = REACH.replace("  - {event: back, from: far, to: done, by: [coach]}\n", "")
    assert graph_problems(trapped) == [("no-final-path", "far")]
    # "*" to a final state: every non-final state reaches it
    out = trapped + '  - {event: quit, from: "*", to: done, by: [coach]}\n'
    assert graph_problems(out) == []


# --- the engine -------------------------------------------------------------------------------


def test_the_machine_does_not_grow_as_states_times_wildcards(
    hostile_definition: Definition,
) -> None:
    """Before: 8,997,000 transition objects (``transitions`` copies a "*" transition into
    every state); now one per "*" transition."""
    engine, peak = peak_memory(lambda: Engine(hostile_definition, plugins=False))
    d = hostile_definition
    assert engine._program(d.id, d.version).dispatcher.shared
    assert machine_size(engine, d) <= len(d.states) + len(d.transitions) + 10
    assert peak < 100 * MB, f"{peak / MB:.0f} MB"
    t = engine.start("wildcards", participants={"coach": "c"}, actor="c")
    assert engine.allowed_events(t.id, actor="c") == [f"e{i:04}" for i in range(3000)]
    t = engine.fire(t.id, "e0017", actor="c")
    assert t.state == "s0017"
    t = engine.fire(t.id, "e2999", actor="c")
    assert t.state == "s2999"
    with pytest.raises(coachflow.NotAllowedInState, match="the trajectory has ended"):
        engine.fire(t.id, "e0001", actor="c")
    assert engine.replay(t.id) == engine.get(t.id)


WILDCARD_AND_NAMED = """\
coachflow: 1
id: mixed
version: 1
roles:
  coach: {}
facts:
  n: {type: int, default: 0}
initial: a
states:
  a: {}
  b: {}
  c: {}
  end: {final: true}
transitions:
  - {event: hop, from: a, to: b, by: [coach], when: n == 0, set: {n: 1}}
  - {event: hop, from: "*", to: c, by: [coach], when: n < 2, set: {n: n + 1}}
  - {event: hop, from: [a, b], to: a, by: [coach], when: "True"}
  - {event: hop, from: "*", to: end, by: [coach], when: "True"}
  - {event: stop, from: c, to: end, by: [coach]}
"""


def test_a_small_definition_copies_wildcards_into_every_non_final_state() -> None:
    """As transitions' own source="*" would (but not into the final state): the quickest
    to fire, and no bigger than a few times the definition."""
    d = coachflow.loads_definition(WILDCARD_AND_NAMED)
    engine = Engine(d, plugins=False)
    assert not engine._program(d.id, d.version).dispatcher.shared
    hop = engine._program(d.id, d.version).dispatcher.machine.events["hop"].transitions
    assert {s: [(t.index, t.dest) for t in ts] for s, ts in hop.items()} == {
        "a": [(0, "b"), (1, "c"), (2, "a"), (3, "end")],
        "b": [(1, "c"), (2, "a"), (3, "end")],
        "c": [(1, "c"), (3, "end")],
    }
    assert machine_size(engine, d) == 9 + 1


@pytest.mark.parametrize("shared", [False, True])
def test_named_and_wildcard_transitions_of_one_event_keep_file_order(
    shared: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shared:
        monkeypatch.setattr(dispatch_module, "SHARE_WILDCARDS_ABOVE", 0)
    d = coachflow.loads_definition(WILDCARD_AND_NAMED)
    engine = Engine(d, plugins=False)
    assert engine._program(d.id, d.version).dispatcher.shared == shared
    t = engine.start("mixed", participants={"coach": "c"}, actor="c")
    path = []
    for _ in range(3):
        t = engine.fire(t.id, "hop", actor="c")
        path.append((t.state, t.facts["n"]))
    # a: the first (named) one; b: "*" to c; c: only the "*" ones, n == 2: the last
    assert path == [("b", 1), ("c", 2), ("end", 2)]


@pytest.mark.parametrize("shared", [False, True])
def test_an_event_that_only_leaves_star_is_refused_in_a_final_state(
    shared: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shared:
        monkeypatch.setattr(dispatch_module, "SHARE_WILDCARDS_ABOVE", 0)
    engine = Engine(coachflow.loads_definition(WILDCARD_AND_NAMED), plugins=False)
    t = engine.start("mixed", participants={"coach": "c"}, actor="c")
    for event in ("hop", "hop", "hop"):
        t = engine.fire(t.id, event, actor="c")
    assert t.state == "end"
    explanation = engine.explain(t.id, "hop", actor="c")
    assert not explanation.allowed
    assert [r.code for r in explanation.reasons] == ["not-allowed-in-state"]
    assert engine.allowed_events(t.id, actor="c") == []


# --- the same as the explicit list of non-final states -----------------------------------------


def with_more_wildcards(data: dict[str, Any], chosen: list[bool]) -> dict[str, Any]:
    """``data`` with the chosen transitions leaving "*"; every transition of an event
    that has a "*" one gets a guard (``True`` when it had none), so none is ambiguous
    and the engine's file order decides, the point of the comparison."""
    transitions = data["transitions"]
    for t, wild in zip(transitions, chosen, strict=False):
        if wild:
            t["from"] = "*"
    events = {t["event"] for t in transitions if t["from"] == "*"}
    for t in transitions:
        if t["event"] in events:
            t.setdefault("when", "True")
    return data


def expanded(data: dict[str, Any]) -> dict[str, Any]:
    """The same definition with every "*" written out as the list of non-final states."""
    non_final = [name for name, s in data["states"].items() if not s.get("final")]
    copy = {**data, "transitions": [dict(t) for t in data["transitions"]]}
    for t in copy["transitions"]:
        if t["from"] == "*":
            t["from"] = list(non_final)
    return copy


def runtime_view(engine: Engine, definition: Definition) -> dict[str, Any]:
    """What the compiled machine gives for every state and event: the candidate steps,
    the ``transitions`` lookup (file position and target), the events that leave."""
    runtime = engine._program(definition.id, definition.version)
    view: dict[str, Any] = {}
    for state in definition.states:
        view[state] = (runtime.events_from(state), runtime._merge_events(state))
        for event in definition.events:
            table = runtime.dispatcher.machine.events[event].transitions
            found = state in table
            view[state, event] = (
                [t.payload.index for t in runtime.dispatcher.transitions_of(event, state)],
                [(t.index, t.dest) for t in table[state]] if found else None,
            )
    return view


def outcome(engine: Engine, tid: str, event: str, actor: str) -> tuple[Any, ...]:
    try:
        t = engine.fire(tid, event, actor=actor)
    except TransitionRejected as exc:
        return ("rejected", type(exc).__name__, str(exc))
    return ("moved", t.state, dict(t.facts))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=valid_definitions(), more=st.lists(st.booleans()), shared=st.booleans(), moves=st.data()
)
def test_wildcards_behave_as_the_explicit_list_of_non_final_states(
    data: dict[str, Any], more: list[bool], shared: bool, moves: st.DataObject
) -> None:
    """Both ways the engine builds "*" into its machine: copied into every non-final
    state (small definitions) and shared (large ones; forced here with ``shared``)."""
    data = with_more_wildcards(data, more)
    definitions = []
    for variant in (data, expanded(data)):
        try:
            definition = Definition.model_validate(variant)
        except ValidationError:  # the strategy's own business, tested elsewhere
            assume(False)
        assume(not [d for d in coachflow.check_definition(definition) if d.is_error])
        definitions.append(definition)
    limit = dispatch_module.SHARE_WILDCARDS_ABOVE
    dispatch_module.SHARE_WILDCARDS_ABOVE = 0 if shared else 10**9
    try:
        engines = [
            Engine(d, clock=FixedClock("2026-01-05T09:00:00+00:00"), plugins=False)
            for d in definitions
        ]
    finally:
        dispatch_module.SHARE_WILDCARDS_ABOVE = limit
    runtime = engines[0]._program(definitions[0].id, definitions[0].version)
    assert runtime.dispatcher.shared == (
        shared and any(t.from_any for t in definitions[0].transitions)
    )
    for engine, definition in zip(engines, definitions, strict=True):
        for name in definition.predicates:
            engine.register_predicate(name, lambda view: True)
    views = [runtime_view(e, d) for e, d in zip(engines, definitions, strict=True)]
    assert views[0] == views[1]

    # the same random walk through both: the same answers at every step
    definition = definitions[0]
    people = {role: f"p_{role}" for role in definition.roles}
    ids = [
        e.start(definition.id, participants=people, actor=next(iter(people.values())))
        for e in engines
    ]
    for _ in range(8):
        states = [e.get(t.id).state for e, t in zip(engines, ids, strict=True)]
        assert states[0] == states[1]
        allowed = [
            [e.allowed_events(t.id, actor=p) for p in people.values()]
            for e, t in zip(engines, ids, strict=True)
        ]
        assert allowed[0] == allowed[1]
        event = moves.draw(st.sampled_from(definition.events))
        actor = moves.draw(st.sampled_from(sorted(people.values())))
        results = [outcome(e, t.id, event, actor) for e, t in zip(engines, ids, strict=True)]
        assert results[0] == results[1]


def test_a_wildcard_is_given_to_transitions_as_its_own_star_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``from: "*"`` reaches the machine as ``Machine.wildcard_all``; the machine's final
    states are tagged ``final`` (transitions' own flag), and "*" leaves only the others."""
    given: list[tuple[str, object]] = []
    add = dispatch_module._Machine.add_transition

    def recording(self: Any, trigger: str, source: Any, *args: Any, **kwargs: Any) -> None:
        given.append((trigger, source))
        add(self, trigger, source, *args, **kwargs)

    monkeypatch.setattr(dispatch_module._Machine, "add_transition", recording)
    d = coachflow.loads_definition(wildcard_definition(4, 4))
    engine = Engine(d, clock=FixedClock("2026-01-05T09:00:00+00:00"), plugins=False)
    machine = engine._program(d.id, d.version).dispatcher.machine
    assert given == [(f"e{i:04}", "*") for i in range(4)]
    assert [name for name, state in machine.states.items() if state.final] == ["s0003"]
    for event in machine.events:
        assert sorted(dict.keys(machine.events[event].transitions)) == ["s0000", "s0001", "s0002"]
