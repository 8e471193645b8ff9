"""``transitions`` decides every event: the engine records what the machine did.

Rules (architecture issue): the event is dispatched by the definition version's
``transitions`` machine, which tries the candidate transitions in file order and sets
the state on the carrier; the engine takes the resulting state and the chosen
transition from the carrier, with no second candidate loop of its own.
"""

from __future__ import annotations

import pytest

import coachflow
from coachflow import Engine, NotAllowedInState

TWO_WAYS = """
coachflow: 1
id: two-ways
version: 1
roles: {coach: {}}
facts: {n: {type: int, default: 0}}
initial: open
states:
  open: {}
  left: {}
  right: {}
  done: {final: true}
transitions:
  - {event: go, from: open, to: left, by: [coach], when: n >= 0, set: {n: n + 1}}
  - {event: go, from: open, to: right, by: [coach], when: n < 100, set: {n: n + 10}}
  - {event: state, from: [left, right], to: done, by: [coach]}
"""


DEFINITIONS = [coachflow.loads_definition(TWO_WAYS)]
"""What this module's ``engine`` fixture (tests/conftest.py) serves."""
CLOCK_AT = "2026-09-01T09:00:00+00:00"
"""When this module's ``clock`` fixture (tests/conftest.py) stands."""


def machine_transitions(engine: Engine, event: str, state: str) -> list[object]:
    program = engine._program("two-ways", 1)
    found: list[object] = program.dispatcher.machine.events[event].transitions[state]
    return found


def test_the_state_recorded_is_the_one_the_machine_set(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = machine_transitions(engine, "go", "open")[0]
    monkeypatch.setattr(first, "dest", "right")  # the compiled machine now says "right"
    t = engine.start("two-ways", participants={"coach": "c"}, actor="c")
    t = engine.fire(t.id, "go", actor="c")
    assert t.state == "right"  # not the definition's "left": the machine decided
    assert t.history[-1].target == "right"
    assert t.facts["n"] == 1  # and the effects are those of the transition it took


def test_the_machine_chooses_among_the_candidates(engine: Engine) -> None:
    candidates = machine_transitions(engine, "go", "open")
    candidates.reverse()  # the machine now tries the second transition first
    try:
        t = engine.start("two-ways", participants={"coach": "c"}, actor="c")
        t = engine.fire(t.id, "go", actor="c")
    finally:
        candidates.reverse()
    assert (t.state, t.facts["n"]) == ("right", 10)


def test_without_the_machine_nothing_moves(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    machine = engine._program("two-ways", 1).dispatcher.machine
    monkeypatch.setitem(machine.events["go"].transitions, "open", [])
    t = engine.start("two-ways", participants={"coach": "c"}, actor="c")
    with pytest.raises(NotAllowedInState):
        engine.fire(t.id, "go", actor="c")
    assert engine.get(t.id).version == 0


def test_a_guard_refused_by_the_machine_is_explained(engine: Engine) -> None:
    t = engine.start("two-ways", participants={"coach": "c"}, actor="c", facts={"n": -1})
    t = engine.fire(t.id, "go", actor="c")  # the first guard is false: the machine goes on
    assert (t.state, t.facts["n"]) == ("right", 9)


def test_an_event_may_be_named_state(engine: Engine) -> None:
    """The carrier's state attribute cannot clash with an event name."""
    t = engine.start("two-ways", participants={"coach": "c"}, actor="c")
    with pytest.raises(NotAllowedInState):
        engine.fire(t.id, "state", actor="c")
    t = engine.fire(t.id, "go", actor="c")
    assert engine.fire(t.id, "state", actor="c").state == "done"


def test_the_machine_is_shared_and_never_touches_the_trajectory(engine: Engine) -> None:
    program = engine._program("two-ways", 1)
    machine = program.dispatcher.machine
    assert machine.models == []  # no model attached: the carrier is passed per event
    a = engine.start("two-ways", participants={"coach": "c"}, actor="c")
    b = engine.start("two-ways", participants={"coach": "c"}, actor="c", facts={"n": -5})
    assert engine.fire(a.id, "go", actor="c").state == "left"
    assert engine.fire(b.id, "go", actor="c").state == "right"  # n = -5: the second one
    assert engine._program("two-ways", 1).dispatcher.machine is machine
    assert machine.models == []
