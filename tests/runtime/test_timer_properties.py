"""Properties of time that acts (issue 16), for random definitions with timers and random
clocks: however the clock advances and however several workers interleave with people's
changes and suspensions, every timer is handled exactly once (never twice, never before its
day, never while suspended, and none left due at the end); and a suspension moves a due
week on by exactly the school days it lasted.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coachflow import Engine, FixedClock, MemoryStore, builtin_calendar, loads_definition
from coachflow.durations import school_days
from coachflow.runtime.outbox import CHANGED
from coachflow.runtime.timers import pending

MIDDEN = builtin_calendar("nl-2026-2027-midden")
START = date(2026, 9, 1)


def duration(kind: str, n: int) -> str:
    return f"{{school_weeks: {n}}}" if kind == "school" else f"P{n}{kind}"


durations = st.tuples(st.sampled_from(["school", "D", "W"]), st.integers(1, 4)).map(
    lambda d: duration(*d)
)


@st.composite
def definitions(draw: st.DrawFn) -> str:
    """A chain of states s0 -> s1 -> ... -> end, each (but the end) timing out to the next
    by ``system`` (its guard on a fact a person may turn off), and activities due in some
    week with random reminders and escalations (distinct: two alike would be one notice,
    which the validator refuses)."""
    n = draw(st.integers(1, 4))
    states = []
    transitions = []
    for i in range(n):
        nxt = f"s{i + 1}" if i + 1 < n else "end"
        states.append(f"  s{i}:\n    timeout: {{after: {draw(durations)}, event: t{i}}}")
        guard = ", when: go" if draw(st.booleans()) else ""
        transitions.append(f"  - {{event: t{i}, from: s{i}, to: {nxt}, by: [system]{guard}}}")
        transitions.append(
            f"  - {{event: pause_go, from: s{i}, to: s{i}, by: [coach], set: {{go: false}}}}"
        )
    activities = []
    for j in range(draw(st.integers(1, 3))):
        reminders = ", ".join(
            f"{{before: {d}, to: [starter]}}"
            for d in draw(st.lists(durations, max_size=2, unique=True))
        )
        escalations = ", ".join(
            f"{{after: {d}, to: [coach]}}"
            for d in draw(st.lists(durations, max_size=2, unique=True))
        )
        activities.append(
            f"  a{j}:\n    by: [coach]\n    due: {{week: {draw(st.integers(1, 8))}}}\n"
            f"    remind: [{reminders}]\n    escalate: [{escalations}]"
        )
    return (
        "coachflow: 1\nid: random-timers\nversion: 1\n"
        "roles:\n  starter: {required: true}\n  coach: {required: true}\n"
        "started_by: [coach]\nsuspendable_by: [coach]\n"
        "facts:\n  go: {type: bool, default: true}\n"
        "initial: s0\nstates:\n" + "\n".join(states) + "\n  end: {final: true}\n"
        "transitions:\n" + "\n".join(transitions) + "\n"
        "  - {event: quit, from: '*', to: end, by: [coach]}\n"
        "activities:\n" + "\n".join(activities) + "\n"
    )


step = st.one_of(
    st.tuples(st.just("advance"), st.integers(1, 12)),
    st.tuples(st.just("work"), st.integers(0, 2), st.integers(1, 3)),
    st.tuples(st.just("record"), st.integers(0, 2)),
    st.tuples(st.just("suspend"), st.integers(0, 0)),
    st.tuples(st.just("resume"), st.integers(0, 0)),
    st.tuples(st.just("pause_go"), st.integers(0, 0)),
)


def run(text: str, steps: list[tuple[Any, ...]], calendar: Any, store: Any = None) -> None:
    clock = FixedClock(datetime(2026, 9, 1, 8, tzinfo=UTC))
    store = MemoryStore() if store is None else store
    definition = loads_definition(text)
    workers = [Engine([definition], store=store, clock=clock, plugins=False) for _ in range(3)]
    person = workers[0]
    for tid in ("x", "y"):
        person.start(
            "random-timers",
            participants={"starter": "s", "coach": "c"},
            actor="c",
            trajectory_id=tid,
            start_date=START,
            calendar=calendar,
        )
    for kind, a, *rest in steps:
        tid = "x" if a % 2 == 0 else "y"
        try:
            if kind == "advance":
                clock.advance(days=a)
            elif kind == "work":
                workers[a].run_due(limit=rest[0])
            elif kind == "record":
                person.record_activity(tid, f"a{a}", actor="c")
            elif kind == "suspend":
                person.suspend(tid, actor="c", reason="verlof")
            elif kind == "resume":
                person.resume(tid, actor="c")
            else:
                person.fire(tid, "pause_go", actor="c")
        except Exception as exc:  # a refusal (already suspended, ended, no such activity)
            assert type(exc).__name__ in {
                "NotAllowedInState",
                "UnknownEvent",
                "NotPermitted",
                "GuardFailed",
                "InvalidInput",
            }, exc
    for tid in ("x", "y"):  # resume, then let the workers finish far in the future
        if person.get(tid).suspended:
            person.resume(tid, actor="c")
    clock.advance(days=400)
    for _ in range(20):
        if workers[1].run_due(limit=1).handled == 0 and not store.due(clock.now().date(), limit=1):
            break
    keys = [m.key for m in person.outbox.messages(limit=10_000)]
    assert len(keys) == len(set(keys)), "a message twice"
    today = clock.now().date()
    for tid in ("x", "y"):
        t = person.get(tid)
        program = person._program(t.definition_id, t.definition_version)
        assert [x for x in pending(program, t) if x.day <= today] == [], "a timer left due"
        items = [r.input["item"] for r in t.history if r.kind == "timer"]
        assert len(items) == len(set(items)), "a timer handled twice"
        pauses = t.timing.pauses
        for r in t.history:
            if r.kind != "timer":
                continue
            handled_on = r.at.date()
            assert r.input["day"] <= handled_on, "handled before its day"
            for began, ended in pauses:
                assert not (began <= handled_on < (ended or date.max)) or began == handled_on, (
                    "handled while suspended"
                )
        notices = [m for m in person.outbox.messages(limit=10_000) if m.topic != CHANGED]
        assert len([m for m in notices if m.trajectory_id == tid]) == len(items)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions(), st.lists(step, max_size=30), st.sampled_from([None, MIDDEN]))
def test_every_timer_is_handled_exactly_once(
    text: str, steps: list[tuple[Any, ...]], calendar: Any
) -> None:
    run(text, steps, calendar)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions(), st.lists(step, max_size=30), st.sampled_from([None, MIDDEN]))
def test_every_timer_is_handled_exactly_once_on_sqlite(
    text: str, steps: list[tuple[Any, ...]], calendar: Any
) -> None:
    from coachflow.store import SqlStore

    with tempfile.TemporaryDirectory() as folder:
        store = SqlStore(f"sqlite:///{folder}/timers.db")
        try:
            run(text, steps, calendar, store)
        finally:
            store.dispose()


SHIFT = """\
coachflow: 1
id: shift
version: 1
roles:
  coach: {required: true}
suspendable_by: [coach]
initial: open
states:
  open: {}
  done: {final: true}
transitions:
  - {event: close, from: open, to: done, by: [coach]}
activities:
""" + "".join(f"  w{n}:\n    by: [coach]\n    due: {{week: {n}}}\n" for n in range(1, 40))


@settings(max_examples=80, deadline=None)
@given(
    st.integers(0, 200),
    st.integers(0, 60),
    st.sampled_from([None, MIDDEN]),
)
def test_a_suspension_moves_every_due_week_by_exactly_its_school_days(
    begins: int, lasts: int, calendar: Any
) -> None:
    clock = FixedClock(datetime(2026, 9, 1, 8, tzinfo=UTC))
    engine = Engine([loads_definition(SHIFT)], clock=clock, plugins=False, calendar=calendar)
    engine.start("shift", participants={"coach": "c"}, actor="c", trajectory_id="x")
    before = {i.activity: i.due_date for i in engine.agenda("x")}
    clock.advance(days=begins)
    engine.suspend("x", actor="c", reason="ziek")
    began = clock.now().date()
    clock.advance(days=lasts)
    engine.resume("x", actor="c")
    ended = clock.now().date()
    suspended = school_days(began, ended, calendar)
    for item in engine.agenda("x"):
        old = before[item.activity]
        assert old is not None and item.due_date is not None
        if old < began:
            assert item.due_date == old  # due before the suspension: unmoved
        else:
            moved = school_days(
                old + timedelta(days=1), item.due_date + timedelta(days=1), calendar
            )
            assert moved == suspended, (item.activity, old, item.due_date)


def reference_school_weeks(day: date, weeks: int, calendar: Any) -> date:
    """The same weekday ``weeks`` school weeks on (back, when negative), counted one week
    at a time: a week whose weekdays are all holidays does not count."""
    step = 7 if weeks > 0 else -7
    monday = day - timedelta(days=day.weekday())
    moved = counted = 0
    while counted < abs(weeks):
        moved += step
        if calendar.is_school_week(monday + timedelta(days=moved)):
            counted += 1
    return day + timedelta(days=moved)


@settings(max_examples=300, deadline=None)
@given(
    st.dates(date(2025, 6, 1), date(2028, 9, 30)),
    st.integers(1, 70),
    st.booleans(),
    st.sampled_from(["nl-2026-2027-midden", "nl-2026-2027-zuid", "nl-2025-2026-noord"]),
)
def test_school_weeks_count_every_holiday_week_either_way(
    day: date, weeks: int, forward: bool, calendar_name: str
) -> None:
    from coachflow.durations import Duration

    calendar = builtin_calendar(calendar_name)
    span = Duration(school_weeks=weeks)
    moved = span.after(day, calendar) if forward else span.before(day, calendar)
    assert moved == reference_school_weeks(day, weeks if forward else -weeks, calendar)
