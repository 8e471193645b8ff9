"""Roles and participants (issue 4): the format extension and the engine's checks.

``required: true``, ``assigned_by: [...]`` and ``max: N`` on a role, ``started_by: [...]``
on a definition; the validator's diagnostics for them; the checks at start; ``assign`` and
``unassign``; and the rule that a person acts only through the roles bound to them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import coachflow
from coachflow import (
    ConsentError,
    DefinitionError,
    Engine,
    FixedClock,
    InvalidInput,
    NotAllowedInState,
    NotPermitted,
    Role,
    Trajectory,
    TransitionRejected,
    VersionConflict,
)

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)

ROLES_YAML = """\
coachflow: 1
id: roles-demo
version: 1
roles:
  coordinator: {required: true}
  coach: {assigned_by: [coordinator], max: 2}
  teacher: {required: true, assigned_by: [coordinator, coach], max: 2}
  observer: {max: 3}
started_by: [coordinator, coach]
consents:
  video: {granted_by: teacher}
initial: open
states:
  open: {}
  done: {final: true}
transitions:
  - event: visit
    from: open
    to: open
    by: [coach]
  - event: observe
    from: open
    to: open
    by: [observer]
  - event: reflect
    from: open
    to: open
    by: [teacher]
  - event: close
    from: open
    to: done
    by: [coordinator]
    when: consent.video
"""

OPEN_YAML = """\
coachflow: 1
id: open-start
version: 1
roles:
  coach: {}
  teacher: {}
initial: open
states:
  open: {}
  done: {final: true}
transitions:
  - event: close
    from: open
    to: done
    by: [coach, teacher]
"""

PEOPLE: dict[str, Any] = {"coordinator": "boss", "coach": "c1", "teacher": "t1"}


ROLES = coachflow.loads_definition(ROLES_YAML)


@pytest.fixture(scope="module")
def definition() -> coachflow.Definition:
    return ROLES


CLOCK_AT = T0
"""When this module's ``clock`` fixture (tests/conftest.py) stands."""
DEFINITIONS = [ROLES, coachflow.loads_definition(OPEN_YAML)]
"""What this module's ``engine`` fixture (tests/conftest.py) serves."""


def start(engine: Engine, **kwargs: Any) -> Trajectory:
    kwargs.setdefault("participants", PEOPLE)
    kwargs.setdefault("actor", "boss")
    return engine.start("roles-demo", **kwargs)


def snapshot(t: Trajectory) -> tuple[Any, ...]:
    return (t.state, dict(t.facts), dict(t.consents), dict(t.participants), t.version, t.history)


def where(text: str, line_text: str, token: str) -> tuple[int, int]:
    """(line, column), 1-based, of ``token`` on the first line containing ``line_text``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line_text in line:
            return number, line.index(token, line.index(line_text)) + 1
    raise AssertionError(f"{line_text!r} not in the text")


# --- the format ----------------------------------------------------------------------------


def test_roles_definition_is_clean(definition: coachflow.Definition) -> None:
    assert coachflow.validate_text(ROLES_YAML) == []
    assert coachflow.validate_text(OPEN_YAML) == []
    roles = definition.roles
    assert roles["coordinator"].required is True
    assert roles["coordinator"].assigned_by == ()
    assert roles["coordinator"].max == 1
    assert roles["coach"].assigned_by == ("coordinator",)
    assert roles["coach"].max == 2
    assert roles["coach"].required is False
    assert roles["teacher"].assigned_by == ("coordinator", "coach")
    assert roles["observer"].max == 3
    assert definition.started_by == ("coordinator", "coach")
    assert coachflow.loads_definition(OPEN_YAML).started_by is None


def test_role_defaults() -> None:
    role = Role()
    assert (role.required, role.assigned_by, role.max) == (False, (), 1)


def test_block_style_role_options_are_read() -> None:
    text = ROLES_YAML.replace(
        "  coach: {assigned_by: [coordinator], max: 2}\n",
        "  coach:\n    assigned_by:\n      - coordinator\n    max: 2\n    required: false\n",
    ).replace("started_by: [coordinator, coach]\n", "started_by:\n  - coordinator\n  - coach\n")
    assert coachflow.validate_text(text) == []
    d = coachflow.loads_definition(text)
    assert d.roles["coach"].assigned_by == ("coordinator",)
    assert d.started_by == ("coordinator", "coach")


@pytest.mark.parametrize(
    ("old", "new", "line_text", "token"),
    [
        pytest.param(
            "assigned_by: [coordinator], max",
            "assigned_by: [coordinator, boss], max",
            "  coach:",
            "boss",
            id="flow-assigned_by",
        ),
        pytest.param(
            "assigned_by: [coordinator, coach], max",
            "assigned_by: [chief, coach], max",
            "  teacher:",
            "chief",
            id="first-of-two",
        ),
        pytest.param(
            "  observer: {max: 3}\n",
            "  observer:\n    max: 3\n    assigned_by:\n      - coach\n      - ghost\n",
            "      - ghost",
            "ghost",
            id="block-assigned_by",
        ),
    ],
)
def test_unknown_role_in_assigned_by(old: str, new: str, line_text: str, token: str) -> None:
    text = ROLES_YAML.replace(old, new, 1)
    assert text != ROLES_YAML
    found = [(d.code, d.line, d.column) for d in coachflow.validate_text(text)]
    assert found == [("unknown-role", *where(text, line_text, token))]
    message = coachflow.validate_text(text)[0].message
    assert token in message
    with pytest.raises(DefinitionError):
        coachflow.loads_definition(text)


@pytest.mark.parametrize(
    ("new", "line_text", "token"),
    [
        pytest.param("started_by: [coordinator, chief]\n", "started_by", "chief", id="flow"),
        pytest.param("started_by: [nobody, coach]\n", "started_by", "nobody", id="first"),
        pytest.param("started_by:\n  - coach\n  - janitor\n", "  - janitor", "janitor", id="block"),
    ],
)
def test_unknown_role_in_started_by(new: str, line_text: str, token: str) -> None:
    text = ROLES_YAML.replace("started_by: [coordinator, coach]\n", new)
    assert text != ROLES_YAML
    diagnostics = coachflow.validate_text(text)
    assert [(d.code, d.line, d.column) for d in diagnostics] == [
        ("unknown-role", *where(text, line_text, token))
    ]
    assert token in diagnostics[0].message
    assert diagnostics[0].is_error


@pytest.mark.parametrize(
    ("old", "new", "line_text", "token"),
    [
        pytest.param("max: 2}", "max: 0}", "  coach:", "0}", id="max-zero"),
        pytest.param("max: 2}", "max: -1}", "  coach:", "-1}", id="max-negative"),
        pytest.param("max: 2}", "max: true}", "  coach:", "true}", id="max-bool"),
        pytest.param("max: 2}", "max: '2'}", "  coach:", "'2'}", id="max-text"),
        pytest.param("max: 2}", "max: 1.5}", "  coach:", "1.5}", id="max-float"),
        pytest.param(
            "{required: true}", "{required: maybe}", "  coordinator:", "maybe", id="required-text"
        ),
        pytest.param(
            "assigned_by: [coordinator], max",
            "assigned_by: coordinator, max",
            "  coach:",
            "coordinator,",
            id="assigned_by-not-a-list",
        ),
        pytest.param(
            "started_by: [coordinator, coach]", "started_by: []", "started_by", "[]", id="empty"
        ),
        pytest.param(
            "started_by: [coordinator, coach]",
            "started_by: coach",
            "started_by",
            "coach",
            id="started_by-not-a-list",
        ),
    ],
)
def test_schema_errors_of_the_role_options(old: str, new: str, line_text: str, token: str) -> None:
    text = ROLES_YAML.replace(old, new, 1)
    assert text != ROLES_YAML
    diagnostics = coachflow.validate_text(text)
    assert ("schema", *where(text, line_text, token)) in [
        (d.code, d.line, d.column) for d in diagnostics
    ]
    assert all(d.code == "schema" for d in diagnostics if d.is_error)
    with pytest.raises(DefinitionError):
        coachflow.loads_definition(text)


# --- start ---------------------------------------------------------------------------------


def test_start_binds_people(engine: Engine) -> None:
    t = start(engine, participants={**PEOPLE, "coach": ["c1", "c2"], "observer": ["o1", "o2"]})
    assert dict(t.participants) == {
        "coordinator": ("boss",),
        "coach": ("c1", "c2"),
        "teacher": ("t1",),
        "observer": ("o1", "o2"),
    }
    assert t.history[0].role == "coordinator"
    assert t.history[0].actor == "boss"
    assert t.roles_of("c2") == ("coach",)
    assert t.roles_of("nobody") == ()


def test_started_record_names_the_started_by_role_used(engine: Engine) -> None:
    t = start(engine, actor="c1")
    assert t.history[0].role == "coach"
    t = start(engine, participants={**PEOPLE, "coach": "boss"}, actor="boss")
    assert t.history[0].role == "coordinator"


@pytest.mark.parametrize(
    ("participants", "fragment"),
    [
        pytest.param({"coordinator": "boss", "coach": "c1"}, "teacher", id="required-missing"),
        pytest.param({**PEOPLE, "teacher": []}, "teacher", id="required-empty"),
        pytest.param({**PEOPLE, "coordinator": ["boss", "b2"]}, "at most 1", id="max-default"),
        pytest.param({**PEOPLE, "coach": ["c1", "c2", "c3"]}, "at most 2", id="max-2"),
        pytest.param({**PEOPLE, "observer": ["a", "b", "c", "d"]}, "at most 3", id="max-3"),
        pytest.param({**PEOPLE, "janitor": "j1"}, "janitor", id="unknown-role"),
        pytest.param({**PEOPLE, "coach": ["c1", "c1"]}, "twice", id="same-person-twice"),
        pytest.param({**PEOPLE, "coach": ""}, "is empty", id="empty-person"),
        pytest.param({**PEOPLE, "coach": ["c1", 7]}, "must be a string", id="non-str-person"),
    ],
)
def test_start_refuses_bad_participants(
    engine: Engine, participants: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        start(engine, participants=participants)
    error = raised.value
    assert error.fields == ["participants"]
    assert error.event is None
    assert error.actor == "boss"
    bad_id = fragment in ("is empty", "must be a string")  # the id rule: InvalidId, bad-id
    assert {r.code for r in error.reasons} == {"bad-id" if bad_id else "invalid-input"}
    assert isinstance(error, coachflow.InvalidId) == bad_id
    assert any(fragment in r.message for r in error.reasons)
    assert list(engine.trajectories()) == []


def test_start_reports_every_participant_problem(engine: Engine) -> None:
    with pytest.raises(InvalidInput) as raised:
        start(engine, participants={"coordinator": "boss", "coach": ["a", "b", "c"], "x": "y"})
    messages = [r.message for r in raised.value.reasons]
    assert len(messages) == 3
    assert any("teacher" in m for m in messages)
    assert any("'x'" in m for m in messages)
    assert any("at most 2" in m for m in messages)


def test_the_same_person_may_hold_two_roles(engine: Engine) -> None:
    t = start(engine, participants={**PEOPLE, "observer": "c1"})
    assert t.roles_of("c1") == ("coach", "observer")
    assert engine.allowed_events(t.id, actor="c1") == ["visit", "observe"]


@pytest.mark.parametrize("actor", ["t1", "o1", "stranger", "coordinator"])
def test_starting_needs_a_started_by_role(engine: Engine, actor: str) -> None:
    with pytest.raises(NotPermitted) as raised:
        start(engine, participants={**PEOPLE, "observer": "o1"}, actor=actor)
    assert raised.value.actor == actor
    assert raised.value.event is None
    assert [r.code for r in raised.value.reasons] == ["not-permitted"]
    assert list(engine.trajectories()) == []


def test_without_started_by_any_bound_role_may_start(engine: Engine) -> None:
    for actor, role in (("c", "coach"), ("t", "teacher")):
        t = engine.start("open-start", participants={"coach": "c", "teacher": "t"}, actor=actor)
        assert t.history[0].role == role
    with pytest.raises(NotPermitted):
        engine.start("open-start", participants={"coach": "c"}, actor="t")
    with pytest.raises(NotPermitted):
        engine.start("open-start", participants={"coach": "c", "teacher": "t"}, actor="x")


@pytest.mark.parametrize("value", [None, 7])
def test_start_refuses_a_person_that_is_not_a_string_or_list(engine: Engine, value: Any) -> None:
    with pytest.raises(InvalidInput) as raised:
        start(engine, participants={**PEOPLE, "observer": value})
    assert raised.value.fields == ["participants"]


# --- assign and unassign -----------------------------------------------------------------


def test_assign_and_unassign_are_recorded(engine: Engine, clock: FixedClock) -> None:
    t = start(engine)
    clock.advance(hours=1)
    t = engine.assign(t.id, "coach", "c2", actor="boss")
    assert t.participants["coach"] == ("c1", "c2")
    assert t.version == 1
    record = t.history[-1]
    assert record.kind == "assigned"
    assert (record.seq, record.at, record.actor, record.role) == (
        1,
        T0 + timedelta(hours=1),
        "boss",
        "coordinator",
    )
    assert dict(record.input) == {"role": "coach", "person": "c2"}
    assert record.event is None
    assert dict(record.changes) == {}

    clock.advance(hours=1)
    t = engine.assign(t.id, "teacher", "t2", actor="c2")  # a coach may assign teachers
    assert t.history[-1].role == "coach"
    assert t.participants["teacher"] == ("t1", "t2")

    clock.advance(hours=1)
    t = engine.unassign(t.id, "teacher", "t1", actor="boss")
    record = t.history[-1]
    assert record.kind == "unassigned"
    assert (record.seq, record.at, record.actor, record.role) == (
        3,
        T0 + timedelta(hours=3),
        "boss",
        "coordinator",
    )
    assert dict(record.input) == {"role": "teacher", "person": "t1"}
    assert t.participants["teacher"] == ("t2",)
    assert engine.replay(t.id) == t
    assert coachflow.replay(t.id, t.history) == t


def test_assign_to_an_empty_optional_role_and_unassign_its_last_person(engine: Engine) -> None:
    t = start(engine, participants={"coordinator": "boss", "teacher": "t1"})
    assert t.participants["coach"] == ()
    t = engine.assign(t.id, "coach", "c9", actor="boss")
    assert t.participants["coach"] == ("c9",)
    t = engine.unassign(t.id, "coach", "c9", actor="boss")
    assert t.participants["coach"] == ()
    assert engine.replay(t.id) == t


@pytest.mark.parametrize(
    ("role", "actor"),
    [
        pytest.param("coach", "t1", id="teacher-assigns-coach"),
        pytest.param("coach", "c1", id="coach-assigns-coach"),
        pytest.param("coach", "stranger", id="stranger"),
        pytest.param("coordinator", "boss", id="role-without-assigned_by"),
        pytest.param("observer", "boss", id="observer-nobody"),
    ],
)
def test_only_assigned_by_roles_may_assign(engine: Engine, role: str, actor: str) -> None:
    t = start(engine)
    bound = (*t.participants[role], "x")[0]
    for call, person in ((engine.assign, "newcomer"), (engine.unassign, bound)):
        with pytest.raises(NotPermitted) as raised:
            call(t.id, role, person, actor=actor)
        assert raised.value.trajectory_id == t.id
        assert raised.value.actor == actor
        assert [r.code for r in raised.value.reasons] == ["not-permitted"]
        assert snapshot(engine.get(t.id)) == snapshot(t)


def test_assign_respects_max(engine: Engine) -> None:
    t = start(engine)
    t = engine.assign(t.id, "coach", "c2", actor="boss")
    with pytest.raises(InvalidInput) as raised:
        engine.assign(t.id, "coach", "c3", actor="boss")
    assert raised.value.fields == ["role"]
    assert "at most 2" in str(raised.value)
    assert snapshot(engine.get(t.id)) == snapshot(t)
    t = engine.unassign(t.id, "coach", "c1", actor="boss")
    t = engine.assign(t.id, "coach", "c3", actor="boss")
    assert t.participants["coach"] == ("c2", "c3")


def test_assign_refuses_someone_already_bound(engine: Engine) -> None:
    t = start(engine)
    with pytest.raises(InvalidInput) as raised:
        engine.assign(t.id, "teacher", "t1", actor="boss")
    assert raised.value.fields == ["person"]
    assert snapshot(engine.get(t.id)) == snapshot(t)


def test_required_role_keeps_its_last_person(engine: Engine) -> None:
    t = start(engine)
    with pytest.raises(InvalidInput) as raised:
        engine.unassign(t.id, "teacher", "t1", actor="boss")
    assert raised.value.fields == ["role"]
    assert "required" in str(raised.value)
    assert snapshot(engine.get(t.id)) == snapshot(t)
    engine.assign(t.id, "teacher", "t2", actor="boss")
    t = engine.unassign(t.id, "teacher", "t1", actor="boss")
    assert t.participants["teacher"] == ("t2",)
    with pytest.raises(InvalidInput):
        engine.unassign(t.id, "teacher", "t2", actor="boss")


@pytest.mark.parametrize(
    ("role", "person", "field"),
    [
        pytest.param("janitor", "x", "role", id="unknown-role"),
        pytest.param("coach", "", "person", id="empty-person"),
        pytest.param("coach", 5, "person", id="int-person"),
    ],
)
def test_assign_refuses_bad_arguments(engine: Engine, role: str, person: Any, field: str) -> None:
    t = start(engine)
    with pytest.raises(InvalidInput) as raised:
        engine.assign(t.id, role, person, actor="boss")
    assert raised.value.fields == [field]
    assert raised.value.trajectory_id == t.id
    assert snapshot(engine.get(t.id)) == snapshot(t)


def test_unassign_someone_not_bound(engine: Engine) -> None:
    t = start(engine)
    with pytest.raises(InvalidInput) as raised:
        engine.unassign(t.id, "coach", "t1", actor="boss")
    assert raised.value.fields == ["person"]
    assert snapshot(engine.get(t.id)) == snapshot(t)


def test_no_assignment_after_a_final_state(engine: Engine) -> None:
    t = start(engine, participants={**PEOPLE, "coach": ["c1", "c2"]})
    engine.grant_consent(t.id, "video", actor="t1")
    t = engine.fire(t.id, "close", actor="boss")
    assert t.state == "done"
    for call, person in ((engine.assign, "c3"), (engine.unassign, "c2")):
        with pytest.raises(NotAllowedInState) as raised:
            call(t.id, "coach", person, actor="boss")
        assert [r.code for r in raised.value.reasons] == ["not-allowed-in-state"]
        assert raised.value.trajectory_id == t.id
    assert engine.get(t.id) == t


def test_assignment_version_conflict(engine: Engine) -> None:
    t = start(engine)
    with pytest.raises(VersionConflict) as raised:
        engine.assign(t.id, "coach", "c2", actor="boss", expected_version=3)
    assert (raised.value.expected, raised.value.actual) == (3, 0)
    assert engine.get(t.id) == t


# --- a person acts only through the roles bound to them ---------------------------------


def test_a_person_acts_only_through_bound_roles(engine: Engine) -> None:
    t = start(engine, participants={**PEOPLE, "observer": "o1"})
    assert engine.allowed_events(t.id, actor="c1") == ["visit"]
    assert engine.allowed_events(t.id, actor="o1") == ["observe"]
    assert engine.allowed_events(t.id, actor="t1") == ["reflect"]
    assert engine.allowed_events(t.id, actor="boss") == []
    assert engine.allowed_events(t.id, actor="newcomer") == []
    for actor, event in (("o1", "visit"), ("c1", "observe"), ("boss", "visit")):
        with pytest.raises(NotPermitted):
            engine.fire(t.id, event, actor=actor)
    with pytest.raises(NotPermitted):
        engine.fire(t.id, "visit", actor="newcomer")
    engine.assign(t.id, "coach", "newcomer", actor="boss")
    t = engine.fire(t.id, "visit", actor="newcomer")
    assert t.history[-1].role == "coach"
    t = engine.unassign(t.id, "coach", "c1", actor="boss")
    with pytest.raises(NotPermitted) as raised:
        engine.fire(t.id, "visit", actor="c1")
    assert [r.code for r in raised.value.reasons] == ["not-permitted"]
    explanation = engine.explain(t.id, "visit", actor="c1")
    assert explanation.codes == ("not-permitted",)
    assert engine.allowed_events(t.id, actor="c1") == []
    assert engine.allowed_events(t.id, actor="newcomer") == ["visit"]
    # an unassigned coach can no longer assign teachers either
    with pytest.raises(NotPermitted):
        engine.assign(t.id, "teacher", "t2", actor="c1")


def test_consent_follows_the_role_binding(engine: Engine) -> None:
    t = start(engine)
    engine.assign(t.id, "teacher", "t2", actor="boss")
    engine.unassign(t.id, "teacher", "t1", actor="boss")
    with pytest.raises(ConsentError):
        engine.grant_consent(t.id, "video", actor="t1")
    t = engine.grant_consent(t.id, "video", actor="t2")
    assert t.consents["video"] is True
    assert t.history[-1].role == "teacher"
    assert engine.fire(t.id, "close", actor="boss").state == "done"


def test_every_rejection_here_is_a_transition_rejected(engine: Engine) -> None:
    t = start(engine)
    for call in (
        lambda: engine.assign(t.id, "coach", "x", actor="t1"),
        lambda: engine.assign(t.id, "janitor", "x", actor="boss"),
        lambda: engine.unassign(t.id, "teacher", "t1", actor="boss"),
        lambda: engine.fire(t.id, "visit", actor="t1"),
    ):
        with pytest.raises(TransitionRejected):
            call()
    assert engine.get(t.id) == t


def test_a_full_required_role_is_handed_over_with_replacing(engine: Engine) -> None:
    t = start(engine)
    t = engine.assign(t.id, "teacher", "t2", actor="boss")  # teacher binds at most 2
    with pytest.raises(InvalidInput) as raised:
        engine.assign(t.id, "teacher", "t3", actor="boss")
    assert raised.value.fields == ["role"]
    t = engine.assign(t.id, "teacher", "t3", actor="boss", replacing="t1")
    assert t.participants["teacher"] == ("t2", "t3")
    record = t.history[-1]
    assert (record.kind, dict(record.input)) == (
        "assigned",
        {"role": "teacher", "person": "t3", "replacing": "t1"},
    )
    assert t.roles_of("t1") == ()
    assert coachflow.replay(t.id, t.history) == t
    before = snapshot(t)
    with pytest.raises(InvalidInput) as raised:
        engine.assign(t.id, "teacher", "t4", actor="boss", replacing="nobody")
    assert raised.value.fields == ["replacing"]
    assert snapshot(engine.get(t.id)) == before
