"""The runtime engine (issue 4): start, fire, consents, explain, history, replay.

Small definitions are written inline; ``definitions/nt2-consult.yaml`` serves for a
long, realistic scenario. Time comes from a :class:`coachflow.FixedClock`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import coachflow
from coachflow import (
    CoachflowError,
    ConsentError,
    Engine,
    FixedClock,
    GuardFailed,
    HistoryRecord,
    InvalidInput,
    NotAllowedInState,
    NotPermitted,
    PredicateError,
    Reason,
    Trajectory,
    TrajectoryExists,
    TransitionRejected,
    UnknownDefinition,
    UnknownEvent,
    UnknownTrajectory,
    VersionConflict,
)

ROOT = Path(__file__).resolve().parents[2]
NT2_PATH = ROOT / "definitions" / "nt2-consult.yaml"
T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)

DEMO_YAML = """\
coachflow: 1
id: demo
version: 1
roles:
  coach: {assigned_by: [manager], max: 2}
  teacher: {}
  manager: {}
predicates: [ready]
facts:
  sessions: {type: int, default: 0, min: 0, max: 2}
  level: {type: int, default: 1}
  a: {type: int, default: 1}
  b: {type: int, default: 2}
  held_on: {type: date}
  minutes: {type: int}
  note: {type: str}
  track: {type: enum, values: [fast, slow]}
  approved: {type: bool, default: false}
consents:
  report: {granted_by: teacher}
  video: {granted_by: teacher}
initial: open
states:
  open: {}
  fast: {}
  slow: {}
  closed: {final: true}
transitions:
  - event: log
    from: open
    to: open
    by: [coach]
    input:
      held_on: {type: date, required: true}
      minutes: {type: int, min: 10, max: 120, required: true}
      note: {type: str}
      online: {type: bool}
      track: {type: enum, values: [fast, slow]}
    set:
      held_on: input.held_on
      minutes: input.minutes
      note: input.note
  - event: tick
    from: open
    to: open
    by: [coach]
    set:
      sessions: sessions + 1
  - event: untick
    from: open
    to: open
    by: [coach]
    set:
      sessions: sessions - 1
  - event: swap
    from: open
    to: open
    by: [coach]
    set:
      a: b
      b: a
  - event: shift
    from: open
    to: open
    by: [coach]
    set:
      level: sessions
      sessions: sessions + 1
  - event: approve
    from: open
    to: open
    by: [manager]
    when: level >= 3 and consent.report and input.score > 5
    input:
      score: {type: int, required: true}
    set:
      approved: true
  - event: route
    from: open
    to: fast
    by: [coach]
    when: level >= 5
    set: {track: fast}
  - event: route
    from: open
    to: slow
    by: [coach]
    when: level >= 1
    set: {track: slow}
  - event: check
    from: open
    to: open
    by: [coach]
    when: ready()
  - event: finish
    from: [fast, slow]
    to: closed
    by: [coach, manager]
    when: consent.report and not consent.video
  - event: cancel
    from: "*"
    to: closed
    by: [manager, teacher]
"""

PEOPLE = {"coach": "c1", "teacher": "t1", "manager": "m1"}
ALL_CODES = {
    "unknown-event",
    "not-allowed-in-state",
    "not-permitted",
    "guard-failed",
    "invalid-input",
    "consent",
    "version-conflict",
}


DEMO = coachflow.loads_definition(DEMO_YAML)


@pytest.fixture(scope="module")
def demo() -> coachflow.Definition:
    return DEMO


@pytest.fixture(scope="module")
def nt2() -> coachflow.Definition:
    return coachflow.load_definition(NT2_PATH)


CLOCK_AT = T0
"""When this module's ``clock`` fixture (tests/conftest.py) stands."""
DEFINITIONS = [DEMO]
"""What this module's ``engine`` fixture (tests/conftest.py) serves."""
PREDICATES = {"ready": lambda view: True}
"""The predicates the ``engine`` fixture registers."""


def start(engine: Engine, **kwargs: Any) -> Trajectory:
    kwargs.setdefault("participants", PEOPLE)
    kwargs.setdefault("actor", "m1")
    return engine.start("demo", **kwargs)


def snapshot(t: Trajectory) -> tuple[Any, ...]:
    return (
        t.id,
        t.state,
        dict(t.facts),
        dict(t.consents),
        dict(t.participants),
        t.version,
        t.history,
    )


LOG_INPUT = {"held_on": "2026-10-01", "minutes": 45}


# --- the definition used here is valid ---------------------------------------------------


def test_demo_definition_has_no_error_diagnostics() -> None:
    assert [d for d in coachflow.validate_text(DEMO_YAML) if d.is_error] == []


# --- start ---------------------------------------------------------------------------------


def test_start_gives_version_zero_with_defaults_and_started_record(
    engine: Engine, clock: FixedClock
) -> None:
    t = start(engine, facts={"level": 4, "note": "hi"}, trajectory_id="t-1")
    assert t.id == "t-1"
    assert (t.definition_id, t.definition_version) == ("demo", 1)
    assert t.state == "open"
    assert t.version == 0
    assert t.started_at == T0
    assert dict(t.facts) == {
        "sessions": 0,
        "level": 4,
        "a": 1,
        "b": 2,
        "held_on": None,
        "minutes": None,
        "note": "hi",
        "track": None,
        "approved": False,
    }
    assert dict(t.consents) == {"report": False, "video": False}
    assert dict(t.participants) == {"coach": ("c1",), "teacher": ("t1",), "manager": ("m1",)}
    assert len(t.history) == 1
    assert engine.get("t-1") == t


def test_start_generates_distinct_ids(engine: Engine) -> None:
    a, b = start(engine), start(engine)
    assert a.id != b.id
    assert isinstance(a.id, str) and a.id
    assert {t.id for t in engine.trajectories()} == {a.id, b.id}


def test_start_refuses_bad_facts(engine: Engine) -> None:
    with pytest.raises(InvalidInput) as raised:
        start(engine, facts={"nope": 1, "level": "high", "sessions": 3})
    assert set(raised.value.fields) == {"nope", "level", "sessions"}
    assert {r.code for r in raised.value.reasons} == {"invalid-input"}
    assert len(raised.value.reasons) == 3
    assert list(engine.trajectories()) == []


def test_start_accepts_json_style_date_fact(engine: Engine) -> None:
    t = start(engine, facts={"held_on": "2026-10-01"})
    assert t.facts["held_on"] == date(2026, 10, 1)


def test_trajectory_exists(engine: Engine, clock: FixedClock) -> None:
    first = start(engine, trajectory_id="same")
    clock.advance(hours=1)
    with pytest.raises(TrajectoryExists):
        start(engine, trajectory_id="same", facts={"level": 9})
    assert engine.get("same") == first
    assert engine.get("same").facts["level"] == 1
    assert isinstance(TrajectoryExists("x"), CoachflowError)


def test_unknown_definition(engine: Engine) -> None:
    with pytest.raises(UnknownDefinition):
        engine.start("nope", participants=PEOPLE, actor="m1")
    with pytest.raises(UnknownDefinition):
        engine.start("demo", participants=PEOPLE, actor="m1", version=2)
    with pytest.raises(UnknownDefinition):
        engine.definition("nope")
    assert issubclass(UnknownDefinition, CoachflowError)
    assert list(engine.trajectories()) == []


def test_unknown_trajectory(engine: Engine) -> None:
    with pytest.raises(UnknownTrajectory):
        engine.get("ghost")
    with pytest.raises(UnknownTrajectory):
        engine.fire("ghost", "tick", actor="c1")
    with pytest.raises(UnknownTrajectory):
        engine.explain("ghost", "tick", actor="c1")
    with pytest.raises(UnknownTrajectory):
        engine.allowed_events("ghost", actor="c1")
    with pytest.raises(UnknownTrajectory):
        engine.grant_consent("ghost", "report", actor="t1")
    with pytest.raises(UnknownTrajectory):
        engine.assign("ghost", "coach", "c2", actor="m1")
    with pytest.raises(UnknownTrajectory):
        engine.replay("ghost")


def test_definitions_from_a_directory_and_versions(demo: coachflow.Definition) -> None:
    builtin = Engine(ROOT / "definitions", clock=FixedClock(T0))
    assert "nt2-consult" in builtin.definitions
    assert Engine(str(ROOT / "definitions")).definition("nt2-consult").version == 3

    v2 = coachflow.loads_definition(DEMO_YAML.replace("version: 1", "version: 2", 1))
    engine = Engine([demo, v2], clock=FixedClock(T0))
    assert engine.definition("demo").version == 2
    assert engine.start("demo", participants=PEOPLE, actor="m1").definition_version == 2
    old = engine.start("demo", participants=PEOPLE, actor="m1", version=1)
    assert old.definition_version == 1
    assert engine.fire(old.id, "tick", actor="c1").definition_version == 1


def test_engine_without_definitions_loads_the_builtin_ones() -> None:
    engine = Engine(clock=FixedClock(T0))
    assert "nt2-consult" in engine.definitions
    t = engine.start("nt2-consult", participants={"teacher": "t", "manager": "m"}, actor="t")
    assert t.state == "consent"


class NaiveClock:
    """A broken clock: its times have no time zone."""

    def now(self) -> datetime:
        return datetime(2026, 9, 1, 9, 0)


def test_a_clock_without_time_zone_is_refused(demo: coachflow.Definition) -> None:
    engine = Engine([demo], clock=NaiveClock())
    with pytest.raises(ValueError):
        start(engine)
    assert list(engine.trajectories()) == []
    good = FixedClock(T0)
    engine.clock = good
    t = start(engine)
    engine.clock = NaiveClock()
    with pytest.raises(ValueError):
        engine.fire(t.id, "tick", actor="c1")
    assert engine.get(t.id) == t


def test_adding_a_changed_definition_under_the_same_version_is_refused(
    demo: coachflow.Definition,
) -> None:
    engine = Engine([demo])
    engine.add_definition(demo)  # the same content again is fine
    changed = coachflow.loads_definition(DEMO_YAML.replace("max: 2}", "max: 3}", 1))
    with pytest.raises(UnknownDefinition):
        engine.add_definition(changed)


# --- fire: accepted events --------------------------------------------------------------


def test_fire_returns_new_snapshot_and_stores_it(engine: Engine, clock: FixedClock) -> None:
    t0 = start(engine)
    clock.advance(minutes=5)
    t1 = engine.fire(t0.id, "tick", actor="c1")
    assert t1.version == 1
    assert t1.facts["sessions"] == 1
    assert t1.state == "open"
    assert engine.get(t0.id) == t1
    assert len(t1.history) == 2
    assert t1.history[0] == t0.history[0]


def test_input_values_are_validated_and_dates_parsed(engine: Engine) -> None:
    t = start(engine)
    t = engine.fire(
        t.id,
        "log",
        actor="c1",
        input={"held_on": "2026-10-01", "minutes": 10, "note": "first", "online": False},
    )
    record = t.history[-1]
    assert dict(record.input) == {
        "held_on": date(2026, 10, 1),
        "minutes": 10,
        "note": "first",
        "online": False,
    }
    assert type(record.input["held_on"]) is date
    assert t.facts["held_on"] == date(2026, 10, 1)
    assert t.facts["minutes"] == 10
    t = engine.fire(t.id, "log", actor="c1", input={"held_on": date(2026, 10, 2), "minutes": 120})
    assert t.facts["held_on"] == date(2026, 10, 2)
    assert t.facts["minutes"] == 120
    # an optional input left out is not recorded, and its effect unsets the fact
    assert "note" not in t.history[-1].input
    assert t.facts["note"] is None
    assert t.history[-1].changes == {
        "held_on": date(2026, 10, 2),
        "minutes": 120,
        "note": None,
    }


def test_first_transition_in_file_order_whose_guard_holds(engine: Engine) -> None:
    both_hold = start(engine, facts={"level": 7})
    t = engine.fire(both_hold.id, "route", actor="c1")
    assert t.state == "fast"
    assert t.facts["track"] == "fast"

    second_only = start(engine, facts={"level": 3})
    t = engine.fire(second_only.id, "route", actor="c1")
    assert t.state == "slow"
    assert t.facts["track"] == "slow"
    assert t.history[-1].target == "slow"


def test_file_order_not_specificity_decides() -> None:
    text = """\
coachflow: 1
id: order
version: 1
roles:
  coach: {}
facts:
  level: {type: int, default: 7}
initial: open
states:
  open: {}
  broad: {final: true}
  narrow: {final: true}
transitions:
  - event: route
    from: open
    to: broad
    by: [coach]
    when: level >= 1
  - event: route
    from: open
    to: narrow
    by: [coach]
    when: level >= 5
"""
    engine = Engine([coachflow.loads_definition(text)], clock=FixedClock(T0))
    t = engine.start("order", participants={"coach": "c"}, actor="c")
    assert engine.fire(t.id, "route", actor="c").state == "broad"


FALLBACK_YAML = """\
coachflow: 1
id: fallback
version: 1
roles:
  coach: {}
  teacher: {}
facts:
  sessions: {type: int, default: 0, max: 2}
initial: open
states:
  open: {}
  full: {}
  mine: {final: true}
  theirs: {final: true}
transitions:
  - event: add
    from: open
    to: open
    by: [coach]
    when: sessions >= 0
    set: {sessions: sessions + 1}
  - event: add
    from: open
    to: full
    by: [coach]
    when: sessions >= 2
  - event: claim
    from: [open, full]
    to: mine
    by: [coach]
    when: "True"
  - event: claim
    from: [open, full]
    to: theirs
    by: [teacher]
    when: "True"
"""


@pytest.fixture
def fallback() -> Engine:
    return Engine([coachflow.loads_definition(FALLBACK_YAML)], clock=FixedClock(T0))


def test_a_transition_whose_effect_breaks_a_bound_is_passed_over(fallback: Engine) -> None:
    t = fallback.start("fallback", participants={"coach": "c", "teacher": "t"}, actor="c")
    t = fallback.fire(t.id, "add", actor="c")
    t = fallback.fire(t.id, "add", actor="c")
    assert (t.state, t.facts["sessions"]) == ("open", 2)
    t = fallback.fire(t.id, "add", actor="c")
    assert (t.state, t.facts["sessions"]) == ("full", 2)
    assert dict(t.history[-1].changes) == {}


def test_the_transition_is_chosen_among_those_the_person_may_take(fallback: Engine) -> None:
    for actor, target, role in (("c", "mine", "coach"), ("t", "theirs", "teacher")):
        t = fallback.start("fallback", participants={"coach": "c", "teacher": "t"}, actor="c")
        t = fallback.fire(t.id, "claim", actor=actor)
        assert (t.state, t.history[-1].role) == (target, role)
    t = fallback.start("fallback", participants={"coach": "c", "teacher": "t"}, actor="c")
    with pytest.raises(NotPermitted) as raised:
        fallback.fire(t.id, "claim", actor="x")
    assert [r.code for r in raised.value.reasons] == ["not-permitted", "not-permitted"]


def test_an_allowed_explanation_has_no_reasons(fallback: Engine) -> None:
    t = fallback.start("fallback", participants={"coach": "c", "teacher": "t"}, actor="c")
    explanation = fallback.explain(t.id, "claim", actor="t")
    assert explanation.allowed
    assert explanation.reasons == ()
    fallback.fire(t.id, "add", actor="c")
    fallback.fire(t.id, "add", actor="c")
    explanation = fallback.explain(t.id, "add", actor="c", input={})
    assert explanation.allowed
    assert explanation.reasons == ()


def test_effects_read_the_pre_state(engine: Engine) -> None:
    t = start(engine)
    t = engine.fire(t.id, "swap", actor="c1")
    assert (t.facts["a"], t.facts["b"]) == (2, 1)
    assert dict(t.history[-1].changes) == {"a": 2, "b": 1}
    t = engine.fire(t.id, "swap", actor="c1")
    assert (t.facts["a"], t.facts["b"]) == (1, 2)
    # level gets sessions as it was before the event, not after
    t = engine.fire(t.id, "shift", actor="c1")
    assert (t.facts["level"], t.facts["sessions"]) == (0, 1)
    assert dict(t.history[-1].changes) == {"level": 0, "sessions": 1}


def test_changes_hold_only_the_facts_that_changed(engine: Engine) -> None:
    t = start(engine, facts={"level": 2, "track": "slow"})
    t = engine.fire(t.id, "route", actor="c1")
    assert t.state == "slow"
    assert dict(t.history[-1].changes) == {}
    t2 = start(engine)
    t2 = engine.fire(t2.id, "check", actor="c1")
    assert dict(t2.history[-1].changes) == {}
    assert t2.version == 1


def test_person_with_two_roles_acts_with_the_first_role_in_by(engine: Engine) -> None:
    t = start(engine, participants={"coach": "x", "teacher": "t1", "manager": "x"}, actor="x")
    t = engine.fire(t.id, "cancel", actor="x")
    assert t.history[-1].role == "manager"
    t = start(engine, participants={"coach": "c1", "teacher": "y", "manager": "y"}, actor="y")
    t = engine.grant_consent(t.id, "report", actor="y")
    t = engine.fire(t.id, "route", actor="c1")
    t = engine.fire(t.id, "finish", actor="y")
    assert t.history[-1].role == "manager"
    assert t.state == "closed"


def test_expected_version_that_matches_is_accepted(engine: Engine) -> None:
    t = start(engine)
    t = engine.fire(t.id, "tick", actor="c1", expected_version=0)
    t = engine.grant_consent(t.id, "report", actor="t1", expected_version=1)
    t = engine.assign(t.id, "coach", "c2", actor="m1", expected_version=2)
    t = engine.unassign(t.id, "coach", "c2", actor="m1", expected_version=3)
    t = engine.withdraw_consent(t.id, "report", actor="t1", expected_version=4)
    assert t.version == 5


# --- fire: every rejection ------------------------------------------------------------------


def check_rejection(
    error: TransitionRejected, tid: str, event: str | None, actor: str, code: str
) -> None:
    assert error.trajectory_id == tid
    assert error.event == event
    assert error.actor == actor
    assert isinstance(error.reasons, list)
    assert error.reasons
    assert all(isinstance(r, Reason) for r in error.reasons)
    assert {r.code for r in error.reasons} == {code}
    assert all(r.message for r in error.reasons)
    assert code in ALL_CODES
    assert isinstance(error, CoachflowError)


def test_unknown_event(engine: Engine) -> None:
    t = start(engine)
    with pytest.raises(UnknownEvent) as raised:
        engine.fire(t.id, "dance", actor="c1")
    check_rejection(raised.value, t.id, "dance", "c1", "unknown-event")
    assert "dance" in str(raised.value)


def test_not_allowed_in_state(engine: Engine) -> None:
    t = start(engine)
    with pytest.raises(NotAllowedInState) as raised:
        engine.fire(t.id, "finish", actor="c1")
    check_rejection(raised.value, t.id, "finish", "c1", "not-allowed-in-state")
    assert "open" in raised.value.reasons[0].message


def test_every_event_is_refused_after_a_final_state(
    engine: Engine, demo: coachflow.Definition
) -> None:
    t = start(engine)
    t = engine.fire(t.id, "cancel", actor="t1")
    assert t.state == "closed"
    for event in demo.events:
        for actor in ("c1", "t1", "m1"):
            with pytest.raises(NotAllowedInState) as raised:
                engine.fire(t.id, event, actor=actor, input=LOG_INPUT if event == "log" else None)
            check_rejection(raised.value, t.id, event, actor, "not-allowed-in-state")
    assert engine.get(t.id) == t
    assert engine.allowed_events(t.id, actor="m1") == []


def test_not_permitted_stranger_and_participant_without_role(engine: Engine) -> None:
    t = start(engine)
    with pytest.raises(NotPermitted) as raised:
        engine.fire(t.id, "tick", actor="stranger")
    check_rejection(raised.value, t.id, "tick", "stranger", "not-permitted")
    with pytest.raises(NotPermitted) as raised:
        engine.fire(t.id, "tick", actor="t1")  # the teacher is no coach
    check_rejection(raised.value, t.id, "tick", "t1", "not-permitted")
    assert "coach" in raised.value.reasons[0].message
    # claiming a role by name does not help: actor is a person id
    with pytest.raises(NotPermitted):
        engine.fire(t.id, "tick", actor="coach")


def test_guard_failed_names_the_guard_and_the_values_it_read(engine: Engine) -> None:
    t = start(engine)
    with pytest.raises(GuardFailed) as raised:
        engine.fire(t.id, "approve", actor="m1", input={"score": 2})
    error = raised.value
    check_rejection(error, t.id, "approve", "m1", "guard-failed")
    assert error.guard == "level >= 3 and consent.report and input.score > 5"
    assert error.values == {"level": 1, "consent.report": False, "input.score": 2}
    assert error.guard in error.reasons[0].message


def test_guard_failed_values_follow_the_trajectory(engine: Engine) -> None:
    t = start(engine, facts={"level": 3})
    engine.grant_consent(t.id, "report", actor="t1")
    with pytest.raises(GuardFailed) as raised:
        engine.fire(t.id, "approve", actor="m1", input={"score": 5})
    assert raised.value.values == {"level": 3, "consent.report": True, "input.score": 5}
    t = engine.fire(t.id, "approve", actor="m1", input={"score": 6})
    assert t.facts["approved"] is True


DATED_YAML = """\
coachflow: 1
id: dated
version: 1
roles:
  coach: {}
facts:
  due: {type: date, default: "2026-10-15"}
  held_on: {type: date}
initial: open
states:
  open: {}
  done: {final: true}
transitions:
  - event: hold
    from: open
    to: done
    by: [coach]
    input:
      on: {type: date, required: true}
    when: input.on <= due and input.on >= date("2026-09-01")
    set:
      held_on: input.on
"""


def test_guard_values_hold_parsed_dates() -> None:
    engine = Engine([coachflow.loads_definition(DATED_YAML)], clock=FixedClock(T0))
    t = engine.start("dated", participants={"coach": "c"}, actor="c")
    assert t.facts["due"] == date(2026, 10, 15)
    with pytest.raises(GuardFailed) as raised:
        engine.fire(t.id, "hold", actor="c", input={"on": "2026-10-16"})
    assert raised.value.values == {"due": date(2026, 10, 15), "input.on": date(2026, 10, 16)}
    with pytest.raises(GuardFailed):
        engine.fire(t.id, "hold", actor="c", input={"on": date(2026, 8, 31)})
    explanation = engine.explain(t.id, "hold", actor="c", input={"on": "2026-10-15"})
    assert explanation.allowed
    t = engine.fire(t.id, "hold", actor="c", input={"on": "2026-10-15"})
    assert t.facts["held_on"] == date(2026, 10, 15)
    assert t.history[-1].input["on"] == date(2026, 10, 15)
    assert t.state == "done"


def test_guard_failed_with_several_candidates_names_the_first_guard(engine: Engine) -> None:
    t = start(engine, facts={"level": 0})
    with pytest.raises(GuardFailed) as raised:
        engine.fire(t.id, "route", actor="c1")
    assert raised.value.guard == "level >= 5"
    assert raised.value.values == {"level": 0}
    assert [r.code for r in raised.value.reasons] == ["guard-failed", "guard-failed"]


def test_guard_on_consent(engine: Engine) -> None:
    t = start(engine)
    t = engine.fire(t.id, "route", actor="c1")
    with pytest.raises(GuardFailed) as raised:
        engine.fire(t.id, "finish", actor="m1")
    assert raised.value.values == {"consent.report": False, "consent.video": False}
    engine.grant_consent(t.id, "report", actor="t1")
    engine.grant_consent(t.id, "video", actor="t1")
    with pytest.raises(GuardFailed) as raised:
        engine.fire(t.id, "finish", actor="m1")
    assert raised.value.values == {"consent.report": True, "consent.video": True}
    engine.withdraw_consent(t.id, "video", actor="t1")
    assert engine.fire(t.id, "finish", actor="m1").state == "closed"


def test_effect_past_a_maximum_is_refused_and_changes_nothing(engine: Engine) -> None:
    t = start(engine)
    engine.fire(t.id, "tick", actor="c1")
    before = engine.fire(t.id, "tick", actor="c1")
    assert before.facts["sessions"] == 2
    with pytest.raises(GuardFailed) as raised:
        engine.fire(t.id, "tick", actor="c1")
    check_rejection(raised.value, t.id, "tick", "c1", "guard-failed")
    assert "sessions" in raised.value.reasons[0].message
    assert "maximum" in raised.value.reasons[0].message
    assert snapshot(engine.get(t.id)) == snapshot(before)
    # the other effect of a two-effect transition is not applied either
    with pytest.raises(GuardFailed):
        engine.fire(t.id, "shift", actor="c1")
    assert engine.get(t.id).facts["level"] == 1
    assert snapshot(engine.get(t.id)) == snapshot(before)


def test_effect_below_a_minimum_is_refused(engine: Engine) -> None:
    t = start(engine)
    with pytest.raises(GuardFailed) as raised:
        engine.fire(t.id, "untick", actor="c1")
    assert "minimum" in raised.value.reasons[0].message
    assert snapshot(engine.get(t.id)) == snapshot(t)


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        pytest.param(None, {"held_on", "minutes"}, id="no-input"),
        pytest.param({}, {"held_on", "minutes"}, id="empty"),
        pytest.param({"minutes": 45}, {"held_on"}, id="missing-date"),
        pytest.param({**LOG_INPUT, "extra": 1}, {"extra"}, id="unknown-field"),
        pytest.param({**LOG_INPUT, "minutes": "45"}, {"minutes"}, id="str-for-int"),
        pytest.param({**LOG_INPUT, "minutes": True}, {"minutes"}, id="bool-for-int"),
        pytest.param({**LOG_INPUT, "minutes": 45.0}, {"minutes"}, id="float-for-int"),
        pytest.param({**LOG_INPUT, "minutes": 9}, {"minutes"}, id="below-min"),
        pytest.param({**LOG_INPUT, "minutes": 121}, {"minutes"}, id="above-max"),
        pytest.param(
            {**LOG_INPUT, "held_on": datetime(2026, 10, 1, 10, 0)},
            {"held_on"},
            id="datetime-for-date",
        ),
        pytest.param(
            {**LOG_INPUT, "held_on": "2026-10-01T10:00:00"}, {"held_on"}, id="datetime-text"
        ),
        pytest.param({**LOG_INPUT, "held_on": "01-10-2026"}, {"held_on"}, id="dutch-date"),
        pytest.param({**LOG_INPUT, "held_on": "2026-02-30"}, {"held_on"}, id="impossible-date"),
        pytest.param({**LOG_INPUT, "held_on": 20261001}, {"held_on"}, id="int-for-date"),
        pytest.param({**LOG_INPUT, "note": 5}, {"note"}, id="int-for-str"),
        pytest.param({**LOG_INPUT, "online": "yes"}, {"online"}, id="str-for-bool"),
        pytest.param({**LOG_INPUT, "online": 1}, {"online"}, id="int-for-bool"),
        pytest.param({**LOG_INPUT, "track": "medium"}, {"track"}, id="not-an-enum-value"),
        pytest.param(
            {"held_on": "x", "minutes": True, "zzz": 0},
            {"held_on", "minutes", "zzz"},
            id="several",
        ),
    ],
)
def test_invalid_input(engine: Engine, payload: Any, fields: set[str]) -> None:
    t = start(engine)
    with pytest.raises(InvalidInput) as raised:
        engine.fire(t.id, "log", actor="c1", input=payload)
    check_rejection(raised.value, t.id, "log", "c1", "invalid-input")
    assert set(raised.value.fields) == fields
    assert len(raised.value.fields) == len(fields)
    assert len(raised.value.reasons) == len(fields)
    for field in fields:
        assert any(field in r.message for r in raised.value.reasons)
    assert snapshot(engine.get(t.id)) == snapshot(t)


def test_input_for_an_event_without_inputs_is_unknown(engine: Engine) -> None:
    t = start(engine)
    with pytest.raises(InvalidInput) as raised:
        engine.fire(t.id, "tick", actor="c1", input={"minutes": 5})
    assert raised.value.fields == ["minutes"]
    assert engine.fire(t.id, "tick", actor="c1", input={}).version == 1


def test_input_that_is_not_a_mapping(engine: Engine) -> None:
    t = start(engine)
    with pytest.raises(InvalidInput) as raised:
        engine.fire(t.id, "log", actor="c1", input=["2026-10-01", 45])  # type: ignore[arg-type]
    check_rejection(raised.value, t.id, "log", "c1", "invalid-input")


def test_permission_is_checked_before_input(engine: Engine) -> None:
    t = start(engine)
    with pytest.raises(NotPermitted):
        engine.fire(t.id, "log", actor="t1", input={"minutes": "bad"})


def test_input_is_checked_before_the_guard(engine: Engine) -> None:
    t = start(engine)
    with pytest.raises(InvalidInput) as raised:
        engine.fire(t.id, "approve", actor="m1", input={"score": "high"})
    assert raised.value.fields == ["score"]


@pytest.mark.parametrize("operation", ["fire", "grant", "withdraw", "assign", "unassign"])
def test_version_conflict(engine: Engine, operation: str) -> None:
    t = start(engine)
    t = engine.fire(t.id, "tick", actor="c1")
    calls: dict[str, tuple[Callable[..., Trajectory], tuple[Any, ...], str, str | None]] = {
        "fire": (engine.fire, ("tick",), "c1", "tick"),
        "grant": (engine.grant_consent, ("report",), "t1", None),
        "withdraw": (engine.withdraw_consent, ("report",), "t1", None),
        "assign": (engine.assign, ("coach", "c2"), "m1", None),
        "unassign": (engine.unassign, ("coach", "c1"), "m1", None),
    }
    call, args, actor, event = calls[operation]
    for stale in (0, 2, -1):
        with pytest.raises(VersionConflict) as raised:
            call(t.id, *args, actor=actor, expected_version=stale)
        check_rejection(raised.value, t.id, event, actor, "version-conflict")
        assert raised.value.expected == stale
        assert raised.value.actual == 1
        assert snapshot(engine.get(t.id)) == snapshot(t)


def fire_inside_the_guard(engine: Engine) -> Trajectory:
    """Start a trajectory whose 'check' guard fires 'tick' on it first: a concurrent
    change that lands between reading the trajectory and committing the event."""
    t = start(engine)
    nested: list[Trajectory] = []

    def ready(view: Trajectory) -> bool:
        if not nested:
            nested.append(engine.fire(view.id, "tick", actor="c1"))
        return True

    engine.register_predicate("ready", ready)
    return t


def test_a_change_committed_meanwhile_makes_the_event_a_version_conflict(
    engine: Engine,
) -> None:
    t = fire_inside_the_guard(engine)
    with pytest.raises(VersionConflict) as raised:
        engine.fire(t.id, "check", actor="c1")
    assert raised.value.trajectory_id == t.id
    assert (raised.value.expected, raised.value.actual) == (0, 1)
    assert [r.code for r in raised.value.reasons] == ["version-conflict"]
    now = engine.get(t.id)
    assert now.version == 1
    assert [r.event for r in now.history] == [None, "tick"]
    assert engine.replay(t.id) == now


def test_a_version_conflict_from_the_store_names_event_and_actor(engine: Engine) -> None:
    t = fire_inside_the_guard(engine)
    with pytest.raises(VersionConflict) as raised:
        engine.fire(t.id, "check", actor="c1")
    assert raised.value.event == "check"
    assert raised.value.actor == "c1"


# --- consents ------------------------------------------------------------------------------


def test_grant_and_withdraw_consent(engine: Engine, clock: FixedClock) -> None:
    t = start(engine)
    clock.advance(hours=2)
    t = engine.grant_consent(t.id, "report", actor="t1")
    assert t.consents == {"report": True, "video": False}
    assert t.version == 1
    clock.advance(hours=2)
    t = engine.withdraw_consent(t.id, "report", actor="t1")
    assert t.consents == {"report": False, "video": False}
    assert t.version == 2
    assert [r.kind for r in t.history] == ["started", "consent_granted", "consent_withdrawn"]


def test_withdraw_consent_after_the_end(engine: Engine) -> None:
    t = start(engine)
    engine.grant_consent(t.id, "video", actor="t1")
    t = engine.fire(t.id, "cancel", actor="m1")
    t = engine.withdraw_consent(t.id, "video", actor="t1")
    assert t.consents["video"] is False
    assert t.state == "closed"


@pytest.mark.parametrize(
    ("consent", "actor", "grant", "first", "fragment"),
    [
        pytest.param("report", "c1", True, False, "teacher", id="wrong-role"),
        pytest.param("report", "stranger", True, False, "teacher", id="stranger"),
        pytest.param("report", "m1", False, True, "teacher", id="wrong-role-withdraw"),
        pytest.param("report", "t1", True, True, "already granted", id="already-granted"),
        pytest.param("report", "t1", False, False, "not granted", id="already-withdrawn"),
        pytest.param("selfie", "t1", True, False, "unknown consent", id="unknown-consent"),
        pytest.param("selfie", "t1", False, False, "unknown consent", id="unknown-withdraw"),
    ],
)
def test_consent_error(
    engine: Engine, consent: str, actor: str, grant: bool, first: bool, fragment: str
) -> None:
    t = start(engine)
    if first:
        t = engine.grant_consent(t.id, "report", actor="t1")
    call = engine.grant_consent if grant else engine.withdraw_consent
    with pytest.raises(ConsentError) as raised:
        call(t.id, consent, actor=actor)
    check_rejection(raised.value, t.id, None, actor, "consent")
    assert fragment in str(raised.value)
    assert snapshot(engine.get(t.id)) == snapshot(t)


def test_withdrawn_after_grant_then_withdrawn_again_is_refused(engine: Engine) -> None:
    t = start(engine)
    engine.grant_consent(t.id, "report", actor="t1")
    t = engine.withdraw_consent(t.id, "report", actor="t1")
    with pytest.raises(ConsentError):
        engine.withdraw_consent(t.id, "report", actor="t1")
    assert engine.get(t.id) == t


# --- predicates ----------------------------------------------------------------------------


def test_registered_predicate_receives_the_snapshot(engine: Engine) -> None:
    seen: list[Trajectory] = []

    def ready(view: Trajectory) -> bool:
        seen.append(view)
        return view.facts["a"] == 2

    engine.register_predicate("ready", ready)
    t = start(engine)
    with pytest.raises(GuardFailed) as raised:
        engine.fire(t.id, "check", actor="c1")
    assert raised.value.guard == "ready()"
    assert seen and seen[-1] == t
    assert isinstance(seen[-1], coachflow.TrajectoryView)
    with pytest.raises(TypeError):
        seen[-1].facts["a"] = 2  # type: ignore[index]

    t = engine.fire(t.id, "swap", actor="c1")
    seen.clear()
    after = engine.fire(t.id, "check", actor="c1")
    assert seen[-1] == t  # the snapshot before the event
    assert seen[-1].version == 1
    assert after.version == 2


def test_predicate_result_is_taken_as_a_bool(engine: Engine) -> None:
    engine.register_predicate("ready", lambda view: 0)
    t = start(engine)
    assert "check" not in engine.allowed_events(t.id, actor="c1")
    engine.register_predicate("ready", lambda view: [1])
    assert "check" in engine.allowed_events(t.id, actor="c1")
    assert engine.fire(t.id, "check", actor="c1").version == 1


def test_unregistered_predicate(demo: coachflow.Definition) -> None:
    engine = Engine([demo], clock=FixedClock(T0))
    t = start(engine)
    with pytest.raises(PredicateError) as raised:
        engine.fire(t.id, "check", actor="c1")
    assert "ready" in str(raised.value)
    assert not isinstance(raised.value, TransitionRejected)
    assert isinstance(raised.value, CoachflowError)
    assert snapshot(engine.get(t.id)) == snapshot(t)
    with pytest.raises(PredicateError):
        engine.explain(t.id, "check", actor="c1")
    # a person who may not fire it never reaches the predicate
    with pytest.raises(NotPermitted):
        engine.fire(t.id, "check", actor="t1")


def test_raising_predicate(engine: Engine) -> None:
    def broken(view: Trajectory) -> bool:
        raise ZeroDivisionError("boom")

    engine.register_predicate("ready", broken)
    t = start(engine)
    with pytest.raises(PredicateError) as raised:
        engine.fire(t.id, "check", actor="c1")
    assert isinstance(raised.value.__cause__, ZeroDivisionError)
    assert "ready" in str(raised.value)
    assert snapshot(engine.get(t.id)) == snapshot(t)


def test_register_predicate_refuses_non_callables(engine: Engine) -> None:
    with pytest.raises(TypeError):
        engine.register_predicate("ready", True)  # type: ignore[arg-type]


# --- all or nothing ------------------------------------------------------------------------

REJECTIONS: dict[str, tuple[type[Exception], Callable[[Engine, str], object]]] = {
    "unknown-event": (UnknownEvent, lambda e, i: e.fire(i, "dance", actor="c1")),
    "not-allowed": (NotAllowedInState, lambda e, i: e.fire(i, "finish", actor="m1")),
    "stranger": (NotPermitted, lambda e, i: e.fire(i, "tick", actor="zz")),
    "no-role": (NotPermitted, lambda e, i: e.fire(i, "tick", actor="m1")),
    "guard": (GuardFailed, lambda e, i: e.fire(i, "approve", actor="m1", input={"score": 9})),
    "bound": (GuardFailed, lambda e, i: e.fire(i, "untick", actor="c1")),
    "invalid": (InvalidInput, lambda e, i: e.fire(i, "log", actor="c1", input={"x": 1})),
    "version": (VersionConflict, lambda e, i: e.fire(i, "tick", actor="c1", expected_version=0)),
    "consent-role": (ConsentError, lambda e, i: e.grant_consent(i, "video", actor="c1")),
    "consent-again": (ConsentError, lambda e, i: e.grant_consent(i, "report", actor="t1")),
    "consent-unknown": (ConsentError, lambda e, i: e.withdraw_consent(i, "nope", actor="t1")),
    "assign-role": (NotPermitted, lambda e, i: e.assign(i, "coach", "c3", actor="t1")),
    "assign-fixed": (NotPermitted, lambda e, i: e.assign(i, "teacher", "t2", actor="m1")),
    "assign-max": (InvalidInput, lambda e, i: e.assign(i, "coach", "c3", actor="m1")),
    "assign-twice": (InvalidInput, lambda e, i: e.assign(i, "coach", "c2", actor="m1")),
    "unassign-absent": (InvalidInput, lambda e, i: e.unassign(i, "coach", "zz", actor="m1")),
    "predicate": (PredicateError, lambda e, i: e.fire(i, "check", actor="c1")),
}


@pytest.mark.parametrize("kind", list(REJECTIONS))
def test_a_rejection_changes_nothing(engine: Engine, clock: FixedClock, kind: str) -> None:
    def failing(view: Trajectory) -> bool:
        raise RuntimeError("no")

    t = start(engine)
    engine.grant_consent(t.id, "report", actor="t1")
    engine.assign(t.id, "coach", "c2", actor="m1")
    before = engine.fire(t.id, "swap", actor="c1")
    assert before.version == 3
    engine.register_predicate("ready", failing)
    clock.advance(days=1)
    error, call = REJECTIONS[kind]
    with pytest.raises(error):
        call(engine, t.id)
    after = engine.get(t.id)
    assert snapshot(after) == snapshot(before)
    assert after == before
    assert engine.replay(t.id) == before


# --- snapshots -----------------------------------------------------------------------------


def test_snapshots_are_immutable(engine: Engine) -> None:
    t = start(engine)
    for attribute, value in [
        ("state", "closed"),
        ("version", 7),
        ("facts", {}),
        ("consents", {}),
        ("participants", {}),
        ("history", ()),
        ("id", "other"),
        ("definition_id", "x"),
    ]:
        with pytest.raises(AttributeError):
            setattr(t, attribute, value)
    with pytest.raises(TypeError):
        t.facts["level"] = 9  # type: ignore[index]
    with pytest.raises(TypeError):
        del t.facts["level"]  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        t.consents["report"] = True  # type: ignore[index]
    with pytest.raises(TypeError):
        t.participants["coach"] = ("x",)  # type: ignore[index]
    assert isinstance(t.participants["coach"], tuple)
    assert isinstance(t.history, tuple)
    record = t.history[0]
    with pytest.raises(AttributeError):
        record.kind = "event"  # type: ignore[misc]
    with pytest.raises(TypeError):
        record.input["definition_id"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        record.changes["level"] = 9  # type: ignore[index]
    assert engine.get(t.id) == t
    assert engine.get(t.id).facts["level"] == 1


def test_old_snapshots_never_change(engine: Engine, clock: FixedClock) -> None:
    t0 = start(engine)
    frozen0 = snapshot(t0)
    clock.advance(hours=1)
    t1 = engine.fire(t0.id, "swap", actor="c1")
    frozen1 = snapshot(t1)
    clock.advance(hours=1)
    engine.grant_consent(t0.id, "report", actor="t1")
    engine.assign(t0.id, "coach", "c2", actor="m1")
    engine.fire(t0.id, "route", actor="c1")
    engine.fire(t0.id, "finish", actor="c2")
    assert engine.get(t0.id).state == "closed"
    assert snapshot(t0) == frozen0
    assert snapshot(t1) == frozen1
    assert t0.version == 0 and len(t0.history) == 1
    assert t1.facts["a"] == 2 and t1.state == "open"
    assert t1.participants["coach"] == ("c1",)
    assert t1.consents["report"] is False


def test_caller_mappings_are_copied(engine: Engine) -> None:
    facts = {"level": 2}
    participants = {"coach": ["c1"], "teacher": "t1", "manager": "m1"}
    payload = {"held_on": "2026-10-01", "minutes": 45}
    t = start(engine, facts=facts, participants=participants)
    facts["level"] = 99
    participants["coach"].append("intruder")
    t = engine.fire(t.id, "log", actor="c1", input=payload)
    payload["minutes"] = 1
    assert t.facts["level"] == 2
    assert t.participants["coach"] == ("c1",)
    assert t.history[-1].input["minutes"] == 45
    assert engine.get(t.id).facts["minutes"] == 45
    with pytest.raises(NotPermitted):
        engine.fire(t.id, "tick", actor="intruder")


# --- history -------------------------------------------------------------------------------


def test_every_history_kind(engine: Engine, clock: FixedClock) -> None:
    t = start(engine, facts={"level": 2}, trajectory_id="h")
    clock.advance(hours=1)
    engine.fire("h", "log", actor="c1", input={"held_on": "2026-10-01", "minutes": 30})
    clock.advance(days=1)
    engine.grant_consent("h", "report", actor="t1")
    clock.advance(minutes=30)
    engine.assign("h", "coach", "c2", actor="m1")
    clock.advance(minutes=30)
    engine.fire("h", "swap", actor="c2")
    clock.advance(hours=3)
    engine.unassign("h", "coach", "c1", actor="m1")
    clock.advance(days=2)
    engine.withdraw_consent("h", "report", actor="t1")
    clock.advance(days=1)
    t = engine.fire("h", "cancel", actor="t1")

    expected = [
        HistoryRecord(
            seq=0,
            at=T0,
            actor="m1",
            role="manager",
            kind="started",
            event=None,
            source=None,
            target="open",
        ),
        HistoryRecord(
            1,
            T0 + timedelta(hours=1),
            "c1",
            "coach",
            "event",
            "log",
            "open",
            "open",
            {"held_on": date(2026, 10, 1), "minutes": 30},
            {"held_on": date(2026, 10, 1), "minutes": 30},
        ),
        HistoryRecord(
            2,
            T0 + timedelta(days=1, hours=1),
            "t1",
            "teacher",
            "consent_granted",
            input={"consent": "report"},
        ),
        HistoryRecord(
            3,
            T0 + timedelta(days=1, hours=1, minutes=30),
            "m1",
            "manager",
            "assigned",
            input={"role": "coach", "person": "c2"},
        ),
        HistoryRecord(
            4,
            T0 + timedelta(days=1, hours=2),
            "c2",
            "coach",
            "event",
            "swap",
            "open",
            "open",
            {},
            {"a": 2, "b": 1},
        ),
        HistoryRecord(
            5,
            T0 + timedelta(days=1, hours=5),
            "m1",
            "manager",
            "unassigned",
            input={"role": "coach", "person": "c1"},
        ),
        HistoryRecord(
            6,
            T0 + timedelta(days=3, hours=5),
            "t1",
            "teacher",
            "consent_withdrawn",
            input={"consent": "report"},
        ),
        HistoryRecord(
            7,
            T0 + timedelta(days=4, hours=5),
            "t1",
            "teacher",
            "event",
            "cancel",
            "open",
            "closed",
            {},
            {},
        ),
    ]
    history = t.history
    assert len(history) == len(expected) == t.version + 1
    # activity records are covered by tests/runtime/test_schedule.py, timer, suspended and
    # resumed ones by tests/runtime/test_timers.py, erased ones by tests/runtime/test_erasure.py
    assert {r.kind for r in history} == set(coachflow.runtime.trajectory.RECORD_KINDS) - {
        "activity",
        "migrated",
        "timer",
        "suspended",
        "resumed",
        "erased",
    }
    for got, want in zip(history, expected, strict=True):
        assert (got.seq, got.at, got.actor, got.role, got.kind) == want[:5]
        assert got.event == want.event
        if got.kind in ("started", "event"):
            assert (got.source, got.target) == (want.source, want.target)
        else:
            assert got.source in (None, want.source)
            assert got.target in (None, want.target)
        if got.kind != "started":
            assert dict(got.input) == dict(want.input)
            assert dict(got.changes) == dict(want.changes)
    started = history[0]
    assert started.input["definition_id"] == "demo"
    assert started.input["definition_version"] == 1
    assert {r: tuple(p) for r, p in started.input["participants"].items()} == {
        "coach": ("c1",),
        "teacher": ("t1",),
        "manager": ("m1",),
    }
    assert started.changes["level"] == 2
    assert started.changes["sessions"] == 0
    # every record's time is the clock's when it was written, and never goes back
    assert [r.at for r in history] == sorted(r.at for r in history)
    assert [r.seq for r in history] == list(range(8))


def test_history_time_is_from_the_clock(demo: coachflow.Definition) -> None:
    clock = FixedClock("2030-01-01T00:00:00+01:00")
    engine = Engine([demo], clock=clock)
    t = start(engine)
    assert t.started_at == datetime(2029, 12, 31, 23, 0, tzinfo=UTC)
    clock.set("2030-02-01T12:00:00+00:00")
    t = engine.fire(t.id, "tick", actor="c1")
    assert t.history[-1].at == datetime(2030, 2, 1, 12, 0, tzinfo=UTC)
    assert t.started_at == datetime(2029, 12, 31, 23, 0, tzinfo=UTC)


# --- replay --------------------------------------------------------------------------------

NT2_PEOPLE = {"teacher": "tea", "manager": "man", "centre": "cen", "client": "cli"}
SUPPORT = {"form": "co_teaching"}
HOLD_INTAKE = {
    "history_discussed": True,
    "help_question": "How to adapt reading lessons?",
    "support": "coaching",
    "goals": "Adaptive reading",
    "duration_weeks": 2,  # the interim evaluation is planned halfway (in weeks)
}
QUESTION = {"topic": "didactic", "question": "Help with Amir"}
# (kind, event or activity, actor, input); nt2-consult records its support sessions, the
# returned intake forms and the evaluation meetings as activities
NT2_ROUTE: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("event", "report_help_question", "tea", QUESTION),
    ("event", "grant_permission", "man", None),
    ("event", "submit_contact_form", "tea", QUESTION),
    ("event", "plan_intake", "cen", {"date": "2026-10-01"}),
    ("activity", "return_intake_forms", "tea", None),
    ("event", "hold_intake", "cen", HOLD_INTAKE),
    ("event", "approve_agreements", "cli", None),
    ("activity", "support_session", "cen", SUPPORT),
    ("activity", "support_session", "cen", {"form": "class_visit", "feedback": "good"}),
    ("event", "start_interim_evaluation", "cen", {"date": "2026-11-05"}),
    ("activity", "interim_evaluation_meeting", "cen", None),
    ("event", "continue_part_2", "cen", {"adjusted": True, "adjustment": "more co-teaching"}),
    ("activity", "support_session", "cen", {"form": "intervision"}),
    ("event", "start_final_evaluation", "cen", {"date": "2026-12-10"}),
    ("activity", "final_evaluation_meeting", "cen", None),
    ("event", "complete", "cen", None),
]


def nt2_step(
    engine: Engine, t: Trajectory, kind: str, name: str, actor: str, payload: Any
) -> Trajectory:
    if kind == "activity":
        return engine.record_activity(t.id, name, actor=actor, input=payload)
    assert name in engine.allowed_events(t.id, actor=actor)
    assert engine.explain(t.id, name, actor=actor, input=payload).allowed
    return engine.fire(t.id, name, actor=actor, input=payload)


def test_nt2_consult_full_route_and_replay(nt2: coachflow.Definition) -> None:
    clock = FixedClock(T0)
    engine = Engine([nt2], clock=clock)
    t = engine.start("nt2-consult", participants=NT2_PEOPLE, actor="tea")
    assert coachflow.replay(t.id, t.history) == t
    for kind, name, actor, payload in NT2_ROUTE:
        clock.advance(days=3)
        t = nt2_step(engine, t, kind, name, actor, payload)
        assert coachflow.replay(t.id, t.history) == t
        assert engine.replay(t.id) == engine.get(t.id) == t
    assert t.state == "completed"
    assert t.version == len(NT2_ROUTE)
    assert t.counts["support_session"] == 3
    assert t.facts["intake_date"] == date(2026, 10, 1)
    assert t.facts["goals_adjusted"] is True
    assert t.facts["duration_weeks"] == 2
    assert t.history[-1].at == T0 + timedelta(days=3 * len(NT2_ROUTE))
    for event in nt2.events:
        with pytest.raises(NotAllowedInState):
            engine.fire(t.id, event, actor="cen")
    with pytest.raises(NotAllowedInState) as raised:
        engine.fire(t.id, "withdraw", actor="tea")
    assert "ended" in raised.value.reasons[0].message


def test_nt2_consult_guards(nt2: coachflow.Definition) -> None:
    clock = FixedClock(T0)
    engine = Engine([nt2], clock=clock)
    t = engine.start("nt2-consult", participants=NT2_PEOPLE, actor="tea")
    for step in NT2_ROUTE[:5]:
        clock.advance(days=3)
        t = nt2_step(engine, t, *step)
    with pytest.raises(GuardFailed) as raised:
        engine.fire(
            t.id, "hold_intake", actor="cen", input={**HOLD_INTAKE, "history_discussed": False}
        )
    assert raised.value.guard == (
        "done.return_intake_forms and not intake_held and input.history_discussed"
        ' and input.help_question != "" and input.goals != ""'
    )
    assert raised.value.values == {
        "count.return_intake_forms": 1,
        "intake_held": False,
        "input.goals": "Adaptive reading",
        "input.help_question": "How to adapt reading lessons?",
        "input.history_discussed": False,
    }
    with pytest.raises(GuardFailed) as raised:
        engine.record_activity(t.id, "return_intake_forms", actor="tea")
    assert raised.value.values == {"count.return_intake_forms": 1}
    with pytest.raises(GuardFailed):
        engine.fire(t.id, "approve_agreements", actor="cli")
    with pytest.raises(InvalidInput) as invalid:
        engine.fire(t.id, "hold_intake", actor="cen", input={**HOLD_INTAKE, "duration_weeks": 53})
    assert invalid.value.fields == ["duration_weeks"]
    with pytest.raises(NotPermitted):
        engine.fire(t.id, "hold_intake", actor="tea", input=HOLD_INTAKE)
    for step in NT2_ROUTE[5:11]:
        clock.advance(days=3)
        t = nt2_step(engine, t, *step)
    assert t.state == "interim_evaluation"
    with pytest.raises(GuardFailed) as raised:
        engine.fire(t.id, "continue_part_2", actor="cen", input={"adjusted": True})
    assert raised.value.values == {
        "count.interim_evaluation_meeting": 1,
        "input.adjusted": True,
        "input.adjustment": None,
    }
    t = engine.fire(t.id, "continue_part_2", actor="cen", input={"adjusted": False})
    assert t.facts["goals_adjusted"] is False
    assert dict(t.history[-1].input) == {"adjusted": False}


def test_nt2_withdraw_by_teacher_or_manager(nt2: coachflow.Definition) -> None:
    engine = Engine([nt2], clock=FixedClock(T0))
    t = engine.start("nt2-consult", participants=NT2_PEOPLE, actor="tea")
    with pytest.raises(NotAllowedInState):
        engine.fire(t.id, "withdraw", actor="tea")  # not from 'consent'
    t = engine.fire(t.id, "report_help_question", actor="tea", input=QUESTION)
    t = engine.fire(t.id, "grant_permission", actor="man")
    with pytest.raises(NotPermitted):
        engine.fire(t.id, "withdraw", actor="cen")
    t = engine.fire(t.id, "withdraw", actor="man")
    assert t.state == "withdrawn"
    assert t.history[-1].role == "manager"
    assert engine.allowed_events(t.id, actor="man") == []


def test_replay_of_a_long_scenario_with_every_kind(engine: Engine, clock: FixedClock) -> None:
    t = start(engine, facts={"level": 6})
    steps: list[Callable[[], Trajectory]] = [
        lambda: engine.fire(t.id, "log", actor="c1", input=LOG_INPUT),
        lambda: engine.fire(t.id, "tick", actor="c1"),
        lambda: engine.grant_consent(t.id, "video", actor="t1"),
        lambda: engine.assign(t.id, "coach", "c2", actor="m1"),
        lambda: engine.fire(t.id, "swap", actor="c2"),
        lambda: engine.unassign(t.id, "coach", "c1", actor="m1"),
        lambda: engine.fire(t.id, "untick", actor="c2"),
        lambda: engine.grant_consent(t.id, "report", actor="t1"),
        lambda: engine.withdraw_consent(t.id, "video", actor="t1"),
        lambda: engine.fire(t.id, "approve", actor="m1", input={"score": 7}),
        lambda: engine.fire(t.id, "route", actor="c2"),
        lambda: engine.fire(t.id, "finish", actor="c2"),
        lambda: engine.withdraw_consent(t.id, "report", actor="t1"),
    ]
    for step in steps:
        clock.advance(hours=5)
        current = step()
        assert coachflow.replay(current.id, current.history) == current
    final = engine.get(t.id)
    assert final.state == "closed"
    assert final.version == len(steps)
    assert engine.replay(t.id) == final
    rebuilt = coachflow.replay(t.id, final.history)
    assert rebuilt.as_dict() == final.as_dict()
    assert rebuilt.history == final.history
    assert rebuilt.participants["coach"] == ("c2",)
    assert rebuilt.facts["track"] == "fast"


def test_replay_of_a_prefix_gives_the_old_snapshot(engine: Engine) -> None:
    t0 = start(engine)
    t1 = engine.fire(t0.id, "swap", actor="c1")
    t2 = engine.grant_consent(t0.id, "report", actor="t1")
    assert coachflow.replay(t0.id, t2.history[:1]) == t0
    assert coachflow.replay(t0.id, t2.history[:2]) == t1
    assert coachflow.replay(t0.id, t2.history) == t2


def test_replay_refuses_a_broken_history(engine: Engine) -> None:
    t = start(engine)
    engine.fire(t.id, "tick", actor="c1")
    t = engine.fire(t.id, "tick", actor="c1")
    with pytest.raises(ValueError):
        coachflow.replay(t.id, (t.history[0], t.history[2]))
    with pytest.raises(ValueError):
        coachflow.replay(t.id, t.history[1:])
    with pytest.raises(ValueError):
        coachflow.replay(t.id, ())


# --- explain and allowed_events ---------------------------------------------------------


def test_explain_codes(engine: Engine) -> None:
    t = start(engine)
    cases = [
        ("dance", "c1", None, "unknown-event"),
        ("finish", "c1", None, "not-allowed-in-state"),
        ("tick", "t1", None, "not-permitted"),
        ("tick", "stranger", None, "not-permitted"),
        ("untick", "c1", None, "guard-failed"),
        ("approve", "m1", {"score": 9}, "guard-failed"),
        ("log", "c1", {"minutes": 1}, "invalid-input"),
        ("log", "c1", {}, "invalid-input"),
    ]
    for event, actor, payload, code in cases:
        explanation = engine.explain(t.id, event, actor=actor, input=payload)
        assert explanation.allowed is False, (event, actor)
        assert not explanation
        assert explanation.event == event
        assert explanation.state == "open"
        assert explanation.reasons
        assert {r.code for r in explanation.reasons} == {code}, (event, explanation)
        assert all(isinstance(r, Reason) and r.message for r in explanation.reasons)
    ok = engine.explain(t.id, "log", actor="c1", input=LOG_INPUT)
    assert ok.allowed and ok and ok.reasons == ()
    assert engine.get(t.id) == t  # explaining changes nothing


def test_explain_gives_the_same_reasons_as_the_exception(engine: Engine) -> None:
    t = start(engine, facts={"level": 0})
    attempts = [
        ("dance", "c1", None),
        ("finish", "m1", None),
        ("tick", "t1", None),
        ("route", "c1", None),
        ("approve", "m1", {"score": 1}),
        ("log", "c1", {"held_on": "soon", "minutes": 5}),
    ]
    for event, actor, payload in attempts:
        explanation = engine.explain(t.id, event, actor=actor, input=payload or {})
        with pytest.raises(TransitionRejected) as raised:
            engine.fire(t.id, event, actor=actor, input=payload)
        assert list(explanation.reasons) == raised.value.reasons
        assert type(raised.value).code == explanation.reasons[0].code


def test_explain_without_input_skips_input_and_the_guards_that_read_it(engine: Engine) -> None:
    t = start(engine)
    # the guard reads input.score: skipped entirely, though level is 1
    assert engine.explain(t.id, "approve", actor="m1").allowed
    assert engine.explain(t.id, "approve", actor="m1", input=None).allowed
    with_input = engine.explain(t.id, "approve", actor="m1", input={"score": 9})
    assert with_input.codes == ("guard-failed",)
    # required input missing: fine without input, refused with an empty one
    assert engine.explain(t.id, "log", actor="c1").allowed
    assert engine.explain(t.id, "log", actor="c1", input={}).codes == (
        "invalid-input",
        "invalid-input",
    )
    # permission and guards that do not read input are still checked
    assert engine.explain(t.id, "approve", actor="c1").codes == ("not-permitted",)
    assert engine.explain(t.id, "untick", actor="c1").codes == ("guard-failed",)
    route = engine.explain(start(engine, facts={"level": 0}).id, "route", actor="c1")
    assert route.codes == ("guard-failed", "guard-failed")


def test_allowed_events(engine: Engine) -> None:
    t = start(engine)
    assert engine.allowed_events(t.id, actor="c1") == [
        "log",
        "tick",
        "swap",
        "shift",
        "route",
        "check",
    ]
    assert engine.allowed_events(t.id, actor="m1") == ["approve", "cancel"]
    assert engine.allowed_events(t.id, actor="t1") == ["cancel"]
    assert engine.allowed_events(t.id, actor="stranger") == []
    engine.fire(t.id, "tick", actor="c1")
    engine.fire(t.id, "tick", actor="c1")
    assert engine.allowed_events(t.id, actor="c1") == ["log", "untick", "swap", "route", "check"]
    t = engine.fire(t.id, "route", actor="c1")
    assert t.state == "slow"
    assert engine.allowed_events(t.id, actor="c1") == []
    engine.grant_consent(t.id, "report", actor="t1")
    assert engine.allowed_events(t.id, actor="c1") == ["finish"]
    assert engine.allowed_events(t.id, actor="m1") == ["finish", "cancel"]


@pytest.mark.parametrize("facts", [None, {"level": 0}, {"level": 9, "sessions": 2}])
def test_allowed_events_agree_with_explain(
    engine: Engine, demo: coachflow.Definition, facts: dict[str, int] | None
) -> None:
    t = start(engine, facts=facts)
    for actor in ("c1", "t1", "m1", "stranger"):
        explained = {e for e in demo.events if engine.explain(t.id, e, actor=actor).allowed}
        assert set(engine.allowed_events(t.id, actor=actor)) == explained


def test_explain_without_input_still_checks_bounds_of_effects_that_ignore_input() -> None:
    text = """\
coachflow: 1
id: bound
version: 1
roles:
  coach: {}
facts:
  sessions: {type: int, default: 2, min: 0, max: 2}
  note: {type: str}
initial: open
states:
  open: {}
  done: {final: true}
transitions:
  - event: tick
    from: open
    to: open
    by: [coach]
    input:
      note: {type: str}
    set:
      sessions: sessions + 1
      note: input.note
  - event: stop
    from: open
    to: done
    by: [coach]
"""
    engine = Engine([coachflow.loads_definition(text)], clock=FixedClock(T0))
    t = engine.start("bound", participants={"coach": "c"}, actor="c")
    # no input can make 'tick' possible: sessions is at its maximum
    for payload in ({}, {"note": "x"}):
        with pytest.raises(GuardFailed):
            engine.fire(t.id, "tick", actor="c", input=payload)
    assert engine.explain(t.id, "tick", actor="c").codes == ("guard-failed",)
    assert "tick" not in engine.allowed_events(t.id, actor="c")
