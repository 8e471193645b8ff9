"""Property tests of the engine (issue 4).

* :func:`coachflow.testing.trajectory_machine` runs on the built-in ``nt2-consult`` and on
  small inline definitions that use consents, typed inputs, guards, effects with bounds,
  predicates and assignable roles;
* for random sequences of changes by random people, ``allowed_events(actor)`` is exactly
  the set of events whose ``explain(..., input=None)`` is allowed, for every person;
* a rejected change never changes anything, and replay always rebuilds the trajectory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine

import coachflow
from coachflow import Engine, FixedClock, Trajectory, TransitionRejected
from coachflow.testing import (
    STRANGER,
    UNKNOWN_EVENT,
    input_strategy,
    participants_for,
    trajectory_machine,
    value_strategy,
)

ROOT = Path(__file__).resolve().parents[2]
NT2 = coachflow.load_definition(ROOT / "definitions" / "nt2-consult.yaml")

MACHINE_SETTINGS = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SESSIONS_YAML = """\
coachflow: 1
id: sessions
version: 1
roles:
  lead: {required: true}
  coach: {assigned_by: [lead], max: 2}
  teacher: {required: true}
predicates: [approved]
facts:
  sessions: {type: int, default: 0, min: 0, max: 3}
  due: {type: date, default: "2026-10-15"}
  held_on: {type: date}
  mood: {type: enum, values: [low, ok, high]}
  flag: {type: bool, default: false}
  note: {type: str}
consents:
  video: {granted_by: teacher}
  share: {granted_by: lead}
initial: intake
states:
  intake: {}
  coaching: {}
  review: {}
  done: {final: true}
  stopped: {final: true}
transitions:
  - event: begin
    from: intake
    to: coaching
    by: [lead, coach]
    when: consent.video
  - event: session
    from: coaching
    to: coaching
    by: [coach]
    input:
      held_on: {type: date, required: true}
      mood: {type: enum, values: [low, ok, high], required: true}
      minutes: {type: int, min: 15, max: 90, required: true}
      note: {type: str}
      online: {type: bool}
    when: input.held_on <= due
    set:
      sessions: sessions + 1
      held_on: input.held_on
      mood: input.mood
      note: input.note
  - event: undo
    from: coaching
    to: coaching
    by: [coach, lead]
    set:
      sessions: sessions - 1
  - event: review
    from: coaching
    to: review
    by: [lead]
    when: sessions >= 3 and consent.share
  - event: review
    from: coaching
    to: review
    by: [lead]
    when: sessions >= 1 and approved()
    set:
      flag: true
  - event: reopen
    from: review
    to: coaching
    by: [lead]
    set:
      sessions: 0
      flag: not flag
  - event: finish
    from: review
    to: done
    by: [lead, teacher]
    when: flag or consent.share
  - event: stop
    from: "*"
    to: stopped
    by: [lead]
"""

TEAM_YAML = """\
coachflow: 1
id: team
version: 1
roles:
  coordinator: {required: true, assigned_by: [coordinator], max: 2}
  coach: {assigned_by: [coordinator], max: 3}
  teacher: {required: true, assigned_by: [coordinator, coach], max: 2}
  observer: {assigned_by: [coach]}
started_by: [coordinator]
consents:
  recording: {granted_by: teacher}
facts:
  visits: {type: int, default: 0, max: 2}
initial: open
states:
  open: {}
  visiting: {}
  closed: {final: true}
transitions:
  - event: visit
    from: [open, visiting]
    to: visiting
    by: [coach, observer]
    set:
      visits: visits + 1
  - event: rest
    from: visiting
    to: open
    by: [coach]
  - event: record
    from: visiting
    to: visiting
    by: [observer]
    when: consent.recording
  - event: close
    from: "*"
    to: closed
    by: [coordinator]
"""

SWAP_YAML = """\
coachflow: 1
id: swap
version: 1
roles:
  clerk: {}
facts:
  a: {type: int, default: 1, min: -3, max: 3}
  b: {type: int, default: -1, min: -3, max: 3}
  level: {type: enum, values: [one, two, three], default: one}
initial: open
states:
  open: {}
  closed: {final: true}
transitions:
  - event: swap
    from: open
    to: open
    by: [clerk]
    set: {a: b, b: a}
  - event: add
    from: open
    to: open
    by: [clerk]
    input:
      by: {type: int, min: -2, max: 2, required: true}
    set: {a: a + input.by, b: b - input.by}
  - event: promote
    from: open
    to: open
    by: [clerk]
    when: level == "one" and a > b
    set: {level: two}
  - event: promote
    from: open
    to: open
    by: [clerk]
    when: level == "two"
    set: {level: three}
  - event: close
    from: open
    to: closed
    by: [clerk]
    when: level == "three" or input.force
    input:
      force: {type: bool}
"""

SESSIONS = coachflow.loads_definition(SESSIONS_YAML)
TEAM = coachflow.loads_definition(TEAM_YAML)
SWAP = coachflow.loads_definition(SWAP_YAML)
DEFINITIONS = (NT2, SESSIONS, TEAM, SWAP)


def test_inline_definitions_have_no_error_diagnostics() -> None:
    for text in (SESSIONS_YAML, TEAM_YAML, SWAP_YAML):
        assert [d for d in coachflow.validate_text(text) if d.is_error] == []


# --- the testing toolkit's state machine on every definition ----------------------------


def machine(definition: coachflow.Definition, **kwargs: Any) -> type[RuleBasedStateMachine]:
    cls = trajectory_machine(definition, **kwargs)
    assert issubclass(cls, RuleBasedStateMachine)
    return cls


TestNt2ConsultMachine = machine(NT2).TestCase
TestNt2ConsultMachine.settings = MACHINE_SETTINGS

TestSessionsMachine = machine(SESSIONS).TestCase
TestSessionsMachine.settings = MACHINE_SETTINGS

TestSessionsMachineWithAPredicate = machine(
    SESSIONS,
    predicates={"approved": lambda view: view.facts["mood"] != "low"},
    facts={"sessions": 1},
).TestCase
TestSessionsMachineWithAPredicate.settings = MACHINE_SETTINGS

TestTeamMachine = machine(TEAM).TestCase
TestTeamMachine.settings = MACHINE_SETTINGS

TestSwapMachine = machine(SWAP).TestCase
TestSwapMachine.settings = MACHINE_SETTINGS


def test_participants_for_binds_everyone_the_machine_uses() -> None:
    people = participants_for(TEAM)
    assert people["coach"] == ["coach_0", "coach_1"]
    assert people["observer"] == ["observer_0"]
    assert STRANGER not in {p for ps in people.values() for p in ps}
    assert UNKNOWN_EVENT not in TEAM.events


# --- allowed_events agrees with explain ------------------------------------------------


def engine_for(definition: coachflow.Definition) -> Engine:
    engine = Engine([definition], clock=FixedClock("2026-09-01T09:00:00+00:00"))
    for name in definition.predicates:
        engine.register_predicate(name, lambda view: view.version % 2 == 0)
    return engine


ENGINES = {d.id: engine_for(d) for d in DEFINITIONS}


def people_of(definition: coachflow.Definition) -> list[str]:
    people = participants_for(definition)
    return [*sorted({p for ps in people.values() for p in ps}), STRANGER, "newcomer"]


def input_specs(definition: coachflow.Definition) -> dict[str, dict[str, Any]]:
    specs: dict[str, dict[str, Any]] = {}
    for t in definition.transitions:
        specs.setdefault(t.event, {}).update(t.input)
    return specs


@st.composite
def valid_input(draw: st.DrawFn, specs: dict[str, Any]) -> dict[str, Any]:
    """A valid input for ``specs`` (optional fields now and then)."""
    return {
        name: draw(value_strategy(spec))
        for name, spec in specs.items()
        if spec.required or draw(st.booleans())
    }


def ending_events(definition: coachflow.Definition) -> set[str]:
    """Events whose every transition goes to a final state."""
    finals = definition.final_states
    return {
        e
        for e in definition.events
        if all(t.to in finals for t in definition.transitions if t.event == e)
    }


def state_of(t: Trajectory) -> tuple[Any, ...]:
    return (t.as_dict(), t.history)


def do_step(
    engine: Engine, definition: coachflow.Definition, tid: str, data: st.DataObject
) -> None:
    """One random change: mostly an allowed event, else any event, a consent or an
    assignment, by a random person."""
    people = people_of(definition)
    kinds = ["forward"] * 6 + ["allowed", "any", "consent", "assign", "record", "record"]
    kind = data.draw(st.sampled_from(kinds), label="kind")
    before = engine.get(tid)
    actor = data.draw(st.sampled_from(people), label="actor")
    try:
        if kind in ("forward", "allowed"):
            pairs = [(p, e) for p in people for e in engine.allowed_events(tid, actor=p)]
            if kind == "forward":  # keep the trajectory going: no event that ends it
                pairs = [(p, e) for p, e in pairs if e not in ending_events(definition)]
            if not pairs:
                return
            actor, event = data.draw(st.sampled_from(pairs), label="allowed event")
            specs = input_specs(definition).get(event, {})
            inputs = valid_input(specs) if kind == "forward" else input_strategy(specs)
            engine.fire(tid, event, actor=actor, input=data.draw(inputs, label="input"))
        elif kind == "any":
            event = data.draw(st.sampled_from([*definition.events, UNKNOWN_EVENT]), label="event")
            payload = data.draw(st.none() | input_strategy(input_specs(definition).get(event, {})))
            engine.fire(tid, event, actor=actor, input=payload)
        elif kind == "consent" and definition.consents:
            consent = data.draw(st.sampled_from(sorted(definition.consents)), label="consent")
            granters = before.participants[definition.consents[consent].granted_by]
            if granters and data.draw(st.integers(0, 3)):
                actor = data.draw(st.sampled_from(granters), label="granter")
            grant = data.draw(st.integers(0, 2)) > 0
            call = engine.grant_consent if grant else engine.withdraw_consent
            call(tid, consent, actor=actor)
        elif kind == "record":  # an activity someone may record now, with a valid input
            pairs = [(p, a) for p in people for a in engine.allowed_activities(tid, actor=p)]
            if not pairs:
                return
            actor, name = data.draw(st.sampled_from(pairs), label="recordable activity")
            payload = data.draw(valid_input(dict(definition.activities[name].input)))
            engine.record_activity(tid, name, actor=actor, input=payload)
        elif kind == "assign":
            role = data.draw(st.sampled_from(sorted(definition.roles)), label="role")
            person = data.draw(st.sampled_from(people), label="person")
            call = engine.assign if data.draw(st.booleans()) else engine.unassign
            call(tid, role, person, actor=actor)
        else:
            return
    except TransitionRejected:
        assert state_of(engine.get(tid)) == state_of(before)
        return
    after = engine.get(tid)
    assert after.version == before.version + 1
    assert after.history[:-1] == before.history
    assert coachflow.replay(tid, after.history) == after


def check_allowed_events_agree(engine: Engine, definition: coachflow.Definition, tid: str) -> None:
    t = engine.get(tid)
    for person in people_of(definition):
        allowed = engine.allowed_events(tid, actor=person)
        assert len(allowed) == len(set(allowed))
        explained = {
            e
            for e in [*definition.events, UNKNOWN_EVENT]
            if engine.explain(tid, e, actor=person, input=None).allowed
        }
        assert set(allowed) == explained, (t.state, person, allowed, explained)
        # and in the definition's order
        order = list(definition.events)
        assert allowed == sorted(allowed, key=order.index)
        for e in allowed:
            assert person in {p for ps in t.participants.values() for p in ps}
            assert t.state not in definition.final_states, e


def check_allowed_activities_agree(
    engine: Engine, definition: coachflow.Definition, tid: str, data: st.DataObject
) -> None:
    """``allowed_activities`` is what recording (decided, not written) with a valid input
    allows, for every activity whose guard reads no input."""
    from coachflow.runtime.decide import decide_activity

    t = engine.get(tid)
    program = engine._program(t.definition_id, t.definition_version)
    moment = engine._moment()
    for person in people_of(definition):
        recordable = engine.allowed_activities(tid, actor=person)
        assert recordable == [a for a in definition.activities if a in recordable]  # file order
        for name, activity in definition.activities.items():
            guard = program.activities[name].guard
            if guard is not None and guard.inputs:
                continue
            payload = data.draw(valid_input(dict(activity.input)), label=f"{name} input")
            try:
                decide_activity(program, t, name, person, None, payload, moment)
            except TransitionRejected:
                assert name not in recordable, (t.state, person, name)
            else:
                assert name in recordable, (t.state, person, name)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    definition=st.sampled_from(DEFINITIONS),
    steps=st.integers(min_value=0, max_value=30),
    data=st.data(),
)
def test_allowed_events_is_what_explain_allows(
    definition: coachflow.Definition, steps: int, data: st.DataObject
) -> None:
    engine = ENGINES[definition.id]
    people = participants_for(definition)
    starters = definition.started_by or tuple(definition.roles)
    t = engine.start(definition.id, participants=people, actor=people[starters[0]][0])
    check_allowed_events_agree(engine, definition, t.id)
    check_allowed_activities_agree(engine, definition, t.id, data)
    for _ in range(steps):
        engine.clock.advance(minutes=10)  # type: ignore[attr-defined]
        do_step(engine, definition, t.id, data)
        check_allowed_events_agree(engine, definition, t.id)
        check_allowed_activities_agree(engine, definition, t.id, data)
    final = engine.get(t.id)
    for state in sorted({r.target for r in final.history if r.target}):
        event(f"{definition.id} visited {state}")
    assert coachflow.replay(t.id, final.history) == final
    assert final.state in definition.states
    assert len(final.history) == final.version + 1
    assert [r.seq for r in final.history] == list(range(final.version + 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_fired_allowed_event_with_valid_input_and_true_guards_is_accepted(
    data: st.DataObject,
) -> None:
    """On ``swap`` (no guard reads input except ``close``'s), an event that explain allows
    with a valid input is accepted, and one it refuses is rejected with the same reasons."""
    engine = ENGINES["swap"]
    t = engine.start("swap", participants={"clerk": "k"}, actor="k")
    for _ in range(data.draw(st.integers(0, 12), label="steps")):
        event = data.draw(st.sampled_from(SWAP.events), label="event")
        payload = data.draw(input_strategy(input_specs(SWAP).get(event, {})), label="input")
        explanation = engine.explain(t.id, event, actor="k", input=payload)
        try:
            after = engine.fire(t.id, event, actor="k", input=payload)
        except TransitionRejected as error:
            assert not explanation.allowed
            assert error.reasons == list(explanation.reasons)
            continue
        assert explanation.allowed
        assert -3 <= after.facts["a"] <= 3 and -3 <= after.facts["b"] <= 3
        if event == "add":
            assert after.facts["a"] + after.facts["b"] == t.facts["a"] + t.facts["b"]
        if event == "swap":
            assert (after.facts["a"], after.facts["b"]) == (t.facts["b"], t.facts["a"])
        t = after
        if t.state == "closed":
            break
    assert engine.replay(t.id) == engine.get(t.id)
