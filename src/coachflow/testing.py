"""Hypothesis support for testing definitions: point it at your own definitions.

    from coachflow.testing import trajectory_machine
    TestMyRoute = trajectory_machine(load_definition("my-route.yaml")).TestCase

:func:`trajectory_machine` builds a ``RuleBasedStateMachine`` that starts one
trajectory and then fires random events (declared and unknown ones) as random people
(participants and strangers) with random input (valid and mistyped), grants and
withdraws consents, and assigns and unassigns people. After every step it checks:

* the state is a declared state;
* a rejected change changed nothing (state, facts, consents, participants, version,
  history), and ``explain`` with the same input said it would be rejected;
* an accepted event appended exactly one history record and moved along a declared
  transition whose guard held before the event, and ``explain`` said it was allowed;
* a recorded activity was recorded in one of its states and counted once;
* replaying the history rebuilds the same trajectory;
* ``allowed_events`` agrees with ``explain(..., input=None)`` for every participant.

Needs the ``hypothesis`` package (``pip install coachflow[testing]``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from coachflow.calendar import SchoolCalendar
from coachflow.clock import FixedClock
from coachflow.definition.model import AnyFact, AnyInput, Definition, Values
from coachflow.engine import Engine
from coachflow.errors import TransitionRejected
from coachflow.files.loading import compile_definition
from coachflow.runtime.decide import Moment, Predicate, context
from coachflow.runtime.trajectory import HistoryRecord, Trajectory

STRANGER = "stranger"
UNKNOWN_EVENT = "no_such_event"


def person_for(role: str, n: int = 0) -> str:
    """The id the machine gives the ``n``-th person of ``role``."""
    return f"{role}_{n}"


def participants_for(definition: Definition) -> dict[str, list[str]]:
    """One person per role (two where a role binds more)."""
    return {
        name: [person_for(name, i) for i in range(min(role.max, 2))]
        for name, role in definition.roles.items()
    }


def value_strategy(spec: AnyFact) -> st.SearchStrategy[object]:
    """Valid values for a fact or input spec (dates also as ISO strings)."""
    if spec.type == "int":
        return _values_of("int", (), spec.min, spec.max)
    if spec.type == "enum":
        return _values_of("enum", spec.values)
    if spec.type == "list":
        low = spec.min_items or 0
        high = spec.max_items if spec.max_items is not None else low + 3
        items = _values_of(spec.items, spec.values or ())
        return st.lists(items, min_size=low, max_size=high)
    return _values_of(spec.type)


def _values_of(
    kind: str, values: tuple[str, ...] = (), low: int | None = None, high: int | None = None
) -> st.SearchStrategy[object]:
    """Valid values of one type (an enum's ``values``, an int from ``low`` to ``high``)."""
    if kind == "bool":
        return st.booleans()
    if kind == "int":
        top = high if high is not None else max(low or 0, 0) + 10
        return st.integers(min_value=low if low is not None else min(-5, top), max_value=top)
    if kind == "str":
        return st.text(max_size=20)
    if kind == "date":
        days = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))
        return days | days.map(date.isoformat)
    return st.sampled_from(list(values))


def wrong_value_strategy(spec: AnyFact) -> st.SearchStrategy[object]:
    """Values that do not fit the spec."""
    kind = spec.type
    if spec.type == "list":
        wrong_list: list[object] = ["text", {"x": 1}, [1.5 if spec.items != "str" else 7], True]
        if spec.min_items:
            wrong_list.append([])
        return st.sampled_from(wrong_list)
    wrong: list[object] = [[1], {"x": 1}, 1.5]
    if kind != "bool":
        wrong.append(True)
    if kind not in ("str", "enum", "date"):
        wrong.append("text")
    if kind in ("str", "enum", "date", "bool"):
        wrong.append(7)
    if kind == "enum":
        wrong.append("not_a_value")
    if kind == "date":
        wrong.extend(["2026-13-40", "01-09-2026"])
    if spec.type == "int":
        if spec.max is not None:
            wrong.append(spec.max + 1)
        if spec.min is not None:
            wrong.append(spec.min - 1)
    return st.sampled_from(wrong)


@st.composite
def input_strategy(draw: st.DrawFn, specs: Mapping[str, AnyInput]) -> dict[str, object]:
    """A valid input for ``specs``, or, one time in four, a broken one."""
    values: dict[str, object] = {}
    for name, spec in specs.items():
        if spec.required or draw(st.booleans()):
            values[name] = draw(value_strategy(spec))
    if draw(st.integers(0, 3)) == 0:
        kind = draw(st.sampled_from(["unknown", "wrong", "missing"]))
        if kind == "unknown" or not specs:
            values["no_such_field"] = 1
        elif kind == "wrong":
            name = draw(st.sampled_from(sorted(specs)))
            values[name] = draw(wrong_value_strategy(specs[name]))
        else:
            required = [n for n, s in specs.items() if s.required]
            if required:
                values.pop(draw(st.sampled_from(required)), None)
            else:
                values["no_such_field"] = 1
    return values


def guard_held(
    definition: Definition,
    before: Trajectory,
    event: str,
    target: str | None,
    payload: Values,
    *,
    predicates: Mapping[str, Predicate] | None = None,
    now: datetime | None = None,
) -> bool:
    """Whether a transition of ``event`` that the definition declares from the state of
    ``before`` to ``target`` has a guard that holds on ``before`` with ``payload``: an
    oracle read from the definition itself, not from the engine's machine."""
    compiled = compile_definition(definition)
    moment = Moment(now if now is not None else datetime.now(UTC), predicates or {})
    for ct in compiled.transitions:
        spec = definition.transitions[ct.index]
        if spec.event != event or spec.to != target:
            continue
        if before.state not in definition.sources(spec):
            continue
        values = {name: payload.get(name) for name in spec.input}
        if ct.guard is None or ct.guard.fn(context(before, moment, values)):
            return True
    return False


def _snapshot(t: Trajectory) -> tuple[dict[str, object], tuple[HistoryRecord, ...]]:
    return (t.as_dict(), t.history)


def trajectory_machine(
    definition: Definition,
    *,
    predicates: Mapping[str, Callable[[Trajectory], bool]] | None = None,
    facts: Mapping[str, object] | None = None,
    calendar: SchoolCalendar | None = None,
) -> type[RuleBasedStateMachine]:
    """A Hypothesis state machine that exercises one trajectory of ``definition``.

    ``predicates``: implementations of the predicates the definition declares (default:
    each returns True). ``facts``: facts given at start. ``calendar``: the trajectory's
    school calendar (a definition that reads holidays needs one); the trajectory starts on
    the first day of its school year (without one, on Monday 24 August 2026).
    """
    people = participants_for(definition)
    everyone = [*sorted({p for ps in people.values() for p in ps}), STRANGER]
    starters = definition.started_by or tuple(definition.roles)
    starter = people[starters[0]][0]
    events = [*definition.events, UNKNOWN_EVENT]
    input_specs: dict[str, dict[str, AnyInput]] = {}
    for t in definition.transitions:
        input_specs.setdefault(t.event, {}).update(t.input)
    consents = sorted(definition.consents)
    activities = sorted(definition.activities)
    roles = sorted(definition.roles)
    preds = dict(predicates or {})
    for name in definition.predicates:
        preds.setdefault(name, lambda view: True)

    class TrajectoryMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            # the first day of the calendar's school year, so that its weeks apply
            first = calendar.school_year[0] if calendar and calendar.school_year else None
            self.clock = FixedClock(f"{first or '2026-08-24'}T08:00:00+00:00")
            self.engine = Engine([definition], clock=self.clock, calendar=calendar)
            for name, fn in preds.items():
                self.engine.register_predicate(name, fn)
            self.trajectory = self.engine.start(
                definition.id, participants=people, actor=starter, facts=facts
            )
            self.tid = self.trajectory.id

        # -- changes ---------------------------------------------------------------

        def _change(self, call: Callable[[], Trajectory]) -> bool:
            before = self.engine.get(self.tid)
            self.clock.advance(hours=1)
            try:
                after = call()
            except TransitionRejected:
                now = self.engine.get(self.tid)
                assert _snapshot(now) == _snapshot(before), "a rejected change changed it"
                return False
            assert after.version == before.version + 1
            assert len(after.history) == len(before.history) + 1
            assert after.history[:-1] == before.history
            assert self.engine.get(self.tid) == after
            self.trajectory = after
            return True

        def _fire(self, event: str, actor: str, payload: dict[str, object] | None) -> None:
            before = self.engine.get(self.tid)
            explanation = self.engine.explain(self.tid, event, actor=actor, input=payload or {})
            accepted = self._change(
                lambda: self.engine.fire(self.tid, event, actor=actor, input=payload)
            )
            assert accepted == explanation.allowed, (event, actor, payload, explanation)
            if not accepted:
                assert explanation.reasons, "a refusal without reasons"
                return
            record = self.trajectory.history[-1]
            assert record.kind == "event" and record.event == event
            assert record.actor == actor and record.source == before.state
            self._check_guard_held(before, record.event, record.target, dict(record.input))

        def _check_guard_held(
            self, before: Trajectory, event: str, target: str | None, payload: Values
        ) -> None:
            held = guard_held(
                definition, before, event, target, payload, predicates=preds, now=self.clock.now()
            )
            assert held, f"{event!r} moved to {target!r} though no declared guard held"

        @rule(data=st.data())
        def fire_allowed(self, data: st.DataObject) -> None:
            actor = data.draw(st.sampled_from(everyone))
            allowed = self.engine.allowed_events(self.tid, actor=actor)
            if not allowed:
                return
            event = data.draw(st.sampled_from(allowed))
            payload = data.draw(input_strategy(input_specs.get(event, {})))
            self._fire(event, actor, payload)

        @rule(data=st.data())
        def fire_anything(self, data: st.DataObject) -> None:
            event = data.draw(st.sampled_from(events))
            actor = data.draw(st.sampled_from(everyone))
            payload = data.draw(st.none() | input_strategy(input_specs.get(event, {})))
            self._fire(event, actor, payload)

        @precondition(lambda self: bool(activities))
        @rule(data=st.data())
        def record_activity(self, data: st.DataObject) -> None:
            activity = data.draw(st.sampled_from(activities))
            actor = data.draw(st.sampled_from(everyone))
            payload = data.draw(input_strategy(definition.activities[activity].input))
            before = self.engine.get(self.tid)
            if self._change(
                lambda: self.engine.record_activity(self.tid, activity, actor=actor, input=payload)
            ):
                record = self.trajectory.history[-1]
                assert record.kind == "activity" and record.event == activity
                assert before.state in definition.activity_states(activity)
                assert self.trajectory.counts[activity] == before.counts.get(activity, 0) + 1

        @precondition(lambda self: bool(consents))
        @rule(data=st.data())
        def toggle_consent(self, data: st.DataObject) -> None:
            consent = data.draw(st.sampled_from(consents))
            actor = data.draw(st.sampled_from(everyone))
            grant = data.draw(st.booleans())
            call = self.engine.grant_consent if grant else self.engine.withdraw_consent
            if self._change(lambda: call(self.tid, consent, actor=actor)):
                assert self.trajectory.consents[consent] is grant

        @rule(data=st.data())
        def reassign(self, data: st.DataObject) -> None:
            role = data.draw(st.sampled_from(roles))
            person = data.draw(st.sampled_from([*everyone, "newcomer"]))
            actor = data.draw(st.sampled_from(everyone))
            how = data.draw(st.sampled_from(["assign", "replace", "unassign"]))
            if how == "replace":
                held = self.engine.get(self.tid).participants.get(role, ())
                replaced = data.draw(st.sampled_from([*held, "nobody"]))
                self._change(
                    lambda: self.engine.assign(
                        self.tid, role, person, actor=actor, replacing=replaced
                    )
                )
                return
            call = self.engine.assign if how == "assign" else self.engine.unassign
            self._change(lambda: call(self.tid, role, person, actor=actor))

        # -- invariants --------------------------------------------------------------

        @invariant()
        def state_is_declared(self) -> None:
            assert self.engine.get(self.tid).state in definition.states

        @invariant()
        def replay_rebuilds_it(self) -> None:
            assert self.engine.replay(self.tid) == self.engine.get(self.tid)

        @invariant()
        def allowed_events_agree_with_explain(self) -> None:
            t = self.engine.get(self.tid)
            for person in everyone:
                allowed = set(self.engine.allowed_events(self.tid, actor=person))
                explained = {e for e in events if self.engine.explain(self.tid, e, actor=person)}
                assert allowed == explained, (t.state, person, allowed, explained)

    TrajectoryMachine.__name__ = f"TrajectoryMachine_{definition.id.replace('-', '_')}"
    TrajectoryMachine.__qualname__ = TrajectoryMachine.__name__
    return TrajectoryMachine


__all__ = [
    "STRANGER",
    "UNKNOWN_EVENT",
    "guard_held",
    "input_strategy",
    "participants_for",
    "person_for",
    "trajectory_machine",
    "value_strategy",
    "wrong_value_strategy",
]
