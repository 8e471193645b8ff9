"""Time that acts (issue 16): reminders before a due date, escalations after it, timed
transitions fired by the worker as ``system``, and suspension ("opschorting") that stops
every timer and moves every date on by the suspended time.

Every engine test runs on the in-memory store, SQLite and PostgreSQL (``store`` fixture).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from coachflow import (
    Engine,
    FixedClock,
    InvalidId,
    InvalidInput,
    MigrationError,
    NotAllowedInState,
    NotPermitted,
    builtin_calendar,
    loads_definition,
)
from coachflow.durations import (
    Duration,
    add_school_days,
    parse_duration,
    school_days,
    shifted,
)
from coachflow.runtime.access import REDACTED
from coachflow.runtime.outbox import CHANGED, OVERDUE, REMINDER, TIMEOUT
from coachflow.runtime.trajectory import timing_of

STORE_KINDS = ["memory", "sqlite", "postgresql"]
MIDDEN = builtin_calendar("nl-2026-2027-midden")

TIMED = """\
coachflow: 1
id: timed
version: 1
roles:
  starter: {required: true}
  coach: {required: true}
  board: {}
started_by: [coach]
suspendable_by: [coach]
facts:
  ready: {type: bool, default: true}
initial: interim
states:
  interim:
    timeout: {after: {school_weeks: 2}, event: escalate_interim}
  escalated:
    timeout: {after: P10D, event: close_late}
  done: {final: true}
transitions:
  - {event: escalate_interim, from: interim, to: escalated, by: [system], when: ready}
  - {event: close_late, from: escalated, to: done, by: [system]}
  - {event: finish, from: [interim, escalated], to: done, by: [coach]}
  - {event: hold, from: interim, to: interim, by: [coach], set: {ready: false}}
activities:
  visit:
    by: [coach]
    due: {week: 3}
    remind: [{before: P7D, to: [starter, coach]}]
    escalate:
      - {after: P14D, to: [board], message: {nl: Het bezoek is te laat, en: The visit is late}}
"""


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T08:00:00+00:00")


@pytest.fixture
def timed(store: Any) -> Engine:
    engine = Engine(
        [loads_definition(TIMED)],
        store=store,
        clock=FixedClock(at("2026-09-01")),
        plugins=False,
    )
    engine.start(
        "timed",
        participants={"starter": "sam", "coach": "cas", "board": "bo"},
        actor="cas",
        trajectory_id="t1",
        start_date="2026-09-01",
    )
    return engine


def notices(engine: Engine) -> list[tuple[str, str]]:
    """(topic, key) of every notice in the outbox, oldest first."""
    return [(m.topic, m.key) for m in engine.outbox.messages(limit=1000) if m.topic != CHANGED]


# --- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P7D", Duration(days=7)),
        ("P2W", Duration(days=14)),
        ("P1M", Duration(months=1)),
        ("P1Y2M3D", Duration(years=1, months=2, days=3)),
        ({"school_weeks": 4}, Duration(school_weeks=4)),
    ],
)
def test_durations_are_iso_8601_or_school_weeks(text: object, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "bad", ["PT3H", "P", "P0D", "7D", "P1.5D", {"school_weeks": 0}, {"weeks": 2}, 7, None]
)
def test_a_duration_that_is_none_of_those_is_refused_in_one_line(bad: object) -> None:
    with pytest.raises(ValueError) as raised:
        parse_duration(bad)
    assert "\n" not in str(raised.value)


def test_a_month_after_the_31st_is_the_last_day_of_the_next_month() -> None:
    assert Duration(months=1).after(date(2027, 1, 31)) == date(2027, 2, 28)
    assert Duration(days=7).before(date(2026, 9, 20)) == date(2026, 9, 13)


def test_school_weeks_skip_the_holiday_weeks_of_the_calendar() -> None:
    # from Friday 9 October 2026: the week of 19 October is the Herfstvakantie
    assert Duration(school_weeks=2).after(date(2026, 10, 9), MIDDEN) == date(2026, 10, 30)
    assert Duration(school_weeks=2).after(date(2026, 10, 9)) == date(2026, 10, 23)
    assert Duration(school_weeks=2).before(date(2026, 10, 30), MIDDEN) == date(2026, 10, 9)


def test_school_days_and_moving_on_by_them_agree() -> None:
    # 12 to 30 October 2026: 15 weekdays, 5 of them in the Herfstvakantie
    assert school_days(date(2026, 10, 12), date(2026, 10, 31), MIDDEN) == 10
    assert school_days(date(2026, 10, 12), date(2026, 10, 31), None) == 15
    moved = add_school_days(date(2026, 10, 11), 10, MIDDEN)  # a Sunday stays a Sunday
    assert moved == date(2026, 11, 1)
    assert school_days(date(2026, 10, 12), moved + timedelta(days=1), MIDDEN) == 10


def test_a_pause_before_a_date_moves_it_and_one_after_it_does_not() -> None:
    pauses = ((date(2026, 9, 7), date(2026, 9, 14)),)  # one week, 5 school days
    assert shifted(date(2026, 9, 20), pauses, school=True, calendar=None) == date(2026, 9, 27)
    assert shifted(date(2026, 9, 20), pauses, school=False, calendar=None) == date(2026, 9, 27)
    assert shifted(date(2026, 9, 6), pauses, school=True, calendar=None) == date(2026, 9, 6)
    lasting = ((date(2026, 9, 7), None),)
    assert shifted(date(2026, 9, 20), lasting, school=False, calendar=None) == date(2026, 9, 20)
    moved = shifted(
        date(2026, 9, 20), lasting, school=False, calendar=None, as_of=date(2026, 9, 10)
    )
    assert moved == date(2026, 9, 23)


# --- the worker -------------------------------------------------------------------------------


def test_nothing_is_done_before_its_day(timed: Engine) -> None:
    report = timed.run_due(at("2026-09-12"))
    assert report.handled == 0 and report.trajectories == 0
    assert notices(timed) == []


def test_a_reminder_comes_its_day_before_the_due_date_and_only_once(timed: Engine) -> None:
    # visit due on Sunday 20 September (week 3); P7D before: 13 September
    report = timed.run_due(at("2026-09-13"))
    assert (report.trajectories, report.reminders, report.handled) == (1, 1, 1)
    again = timed.run_due(at("2026-09-14"))
    assert again.handled == 0
    assert notices(timed) == [(REMINDER, "activity.reminder:t1:remind:visit:P1W:coach+starter")]
    message = next(m for m in timed.outbox.messages() if m.topic == REMINDER)
    assert dict(message.payload["to"]) == {"starter": ("sam",), "coach": ("cas",)}
    assert message.payload["due"] == "2026-09-20"
    assert message.payload["activity"] == "visit"
    record = timed.get("t1").history[-1]
    assert (record.kind, record.actor, record.role) == ("timer", "system", "system")
    assert record.event == record.input["item"] == "remind:visit:P1W:coach+starter"


def test_a_timeout_fires_its_event_as_system(timed: Engine) -> None:
    # two school weeks after Tuesday 1 September: Tuesday 15 September
    timed.run_due(at("2026-09-14"))
    assert timed.get("t1").state == "interim"
    report = timed.run_due(at("2026-09-15"))
    assert report.timeouts == 1
    t = timed.get("t1")
    assert t.state == "escalated"
    fired = t.history[-1]
    assert (fired.kind, fired.event, fired.actor, fired.role) == (
        "event",
        "escalate_interim",
        "system",
        "system",
    )
    timeout = next(m for m in timed.outbox.messages() if m.topic == TIMEOUT)
    assert timeout.payload["fired"] is True and timeout.payload["state"] == "interim"


def test_each_stay_in_a_state_has_its_own_timeout(timed: Engine) -> None:
    timed.run_due(at("2026-09-15"))  # reminder, then interim's timeout: escalated
    report = timed.run_due(at("2026-09-25"))  # 10 days after entering escalated
    assert report.timeouts == 1
    assert timed.get("t1").state == "done"
    assert [k for topic, k in notices(timed) if topic == TIMEOUT] == [
        "state.timeout:t1:timeout:interim:0:2SW:escalate_interim",
        "state.timeout:t1:timeout:escalated:3:P10D:close_late",
    ]


def test_a_refused_timeout_is_handled_once_and_says_why(timed: Engine) -> None:
    timed.fire("t1", "hold", actor="cas")  # ready: false, so the guard refuses
    report = timed.run_due(at("2026-09-16"))
    assert (report.timeouts, report.refused) == (0, 1)
    assert timed.get("t1").state == "interim"
    assert timed.run_due(at("2026-09-17")).refused == 0
    timeout = next(m for m in timed.outbox.messages() if m.topic == TIMEOUT)
    assert timeout.payload["fired"] is False
    assert tuple(timeout.payload["refused"]) == ("guard-failed",)


def test_an_escalation_comes_after_the_due_date_while_not_done(timed: Engine) -> None:
    timed.fire("t1", "hold", actor="cas")  # stays in interim: only the visit's notices
    report = timed.run_due(at("2026-10-04"))
    assert (report.reminders, report.escalations) == (1, 1)
    overdue = next(m for m in timed.outbox.messages() if m.topic == OVERDUE)
    assert overdue.key == "activity.overdue:t1:escalate:visit:P2W:board"
    assert dict(overdue.payload["message"]) == {
        "nl": "Het bezoek is te laat",
        "en": "The visit is late",
    }
    assert dict(overdue.payload["to"]) == {"board": ("bo",)}


def test_a_done_activity_is_neither_reminded_nor_escalated(timed: Engine) -> None:
    timed.fire("t1", "hold", actor="cas")
    timed.record_activity("t1", "visit", actor="cas", on="2026-09-01")
    assert timed.run_due(at("2026-10-30")).reminders == 0
    assert [topic for topic, _ in notices(timed)] == [TIMEOUT]


def test_an_ended_trajectory_has_no_timers(timed: Engine) -> None:
    timed.fire("t1", "finish", actor="cas")
    assert timed.run_due(at("2027-01-01")).handled == 0
    assert timed.store.due(date(2099, 1, 1), limit=10) == []


def test_the_index_finds_only_trajectories_with_work(timed: Engine) -> None:
    timed.start(
        "timed",
        participants={"starter": "sue", "coach": "cas"},
        actor="cas",
        trajectory_id="later",
        start_date="2026-11-02",
    )
    assert timed.store.due(date(2026, 9, 13), limit=10) == ["t1"]
    assert timed.store.due(date(2026, 9, 12), limit=10) == []
    assert timed.run_due(at("2026-09-13"), limit=1).trajectories == 1


def test_a_listener_hears_the_notice_after_the_commit(timed: Engine) -> None:
    heard: list[str] = []
    timed.subscribe(lambda m: heard.append(m.topic))
    timed.run_due(at("2026-09-13"))
    assert heard == [CHANGED, REMINDER]


def test_the_history_with_timers_replays(timed: Engine) -> None:
    timed.run_due(at("2026-09-25"))
    assert timed.replay("t1") == timed.get("t1")


# --- the reserved actor -------------------------------------------------------------------------


def test_no_person_can_hold_the_system_role(timed: Engine) -> None:
    with pytest.raises(InvalidId) as raised:
        timed.start(
            "timed",
            participants={"starter": "system", "coach": "cas"},
            actor="cas",
        )
    assert "reserved" in str(raised.value)
    spec = loads_definition(TIMED.replace("board: {}", "board: {assigned_by: [coach]}"))
    other = Engine([spec], clock=timed.clock, plugins=False)
    other.start("timed", participants={"starter": "s", "coach": "c"}, actor="c", trajectory_id="x")
    with pytest.raises(InvalidId) as raised:
        other.assign("x", "board", "system", actor="c")
    assert "reserved" in str(raised.value)
    assert other.get("x").version == 0


def test_a_person_cannot_fire_what_only_the_worker_fires(timed: Engine) -> None:
    assert timed.allowed_events("t1", actor="cas") == ["finish", "hold"]
    with pytest.raises(NotPermitted):
        timed.fire("t1", "escalate_interim", actor="cas")
    with pytest.raises(NotPermitted):
        timed.fire("t1", "escalate_interim", actor="system")


# --- suspension -------------------------------------------------------------------------------


def test_only_the_suspending_roles_suspend_and_resume(timed: Engine) -> None:
    with pytest.raises(NotPermitted):
        timed.suspend("t1", actor="sam", reason="ziek")
    with pytest.raises(NotAllowedInState):
        timed.resume("t1", actor="cas")
    with pytest.raises(InvalidInput):
        timed.suspend("t1", actor="cas", reason="  ")
    timed.suspend("t1", actor="cas", reason="ziekteverlof")
    assert timed.get("t1").suspended
    with pytest.raises(NotAllowedInState):
        timed.suspend("t1", actor="cas", reason="nog eens")
    assert timed.get("t1").version == 1


def test_while_suspended_nothing_is_due_and_no_timer_fires(timed: Engine) -> None:
    timed.clock.set(at("2026-09-07"))  # type: ignore[attr-defined]
    timed.suspend("t1", actor="cas", reason="ziekteverlof")
    assert timed.run_due(at("2026-10-30")).handled == 0
    assert timed.store.due(date(2099, 1, 1), limit=10) == []
    assert [i.status for i in timed.agenda("t1", as_of="2026-10-30")] == ["suspended"]


def test_on_resume_every_date_moves_on_by_the_suspended_time(timed: Engine) -> None:
    clock: FixedClock = timed.clock  # type: ignore[assignment]
    clock.set(at("2026-09-07"))
    timed.suspend("t1", actor="cas", reason="ziekteverlof")
    clock.set(at("2026-09-14"))  # a week: 5 school days, 7 calendar days
    timed.resume("t1", actor="cas")
    (item,) = timed.agenda("t1", as_of="2026-09-14")
    assert item.due_date == date(2026, 9, 27)  # week 3 moved on by 5 school days
    assert timed.run_due(at("2026-09-19")).reminders == 0
    assert timed.run_due(at("2026-09-20")).reminders == 1  # 7 days before the 27th
    # interim's timeout: two school weeks (15 September) + 5 school days = 22 September
    assert timed.run_due(at("2026-09-21")).timeouts == 0
    assert timed.run_due(at("2026-09-22")).timeouts == 1


def test_a_pause_is_dated_alike_before_and_after_a_reload_whatever_the_clocks_offset(
    timed: Engine,
) -> None:
    """A clock in Amsterdam time suspends just after midnight (the evening before in UTC,
    the zone the stores keep moments in): the pause is dated the same live, replayed and
    read back, so ``db check`` finds nothing and the dates do not move on a reload."""
    clock: FixedClock = timed.clock  # type: ignore[assignment]
    clock.set("2026-09-07T00:30:00+02:00")  # 6 September, 22:30 UTC
    timed.suspend("t1", actor="cas", reason="ziekteverlof")
    clock.set("2026-09-14T00:30:00+02:00")
    live = timed.resume("t1", actor="cas")
    assert live.timing.pauses == ((date(2026, 9, 6), date(2026, 9, 13)),)
    read = timed.get("t1")
    assert read.timing == live.timing == timing_of(read.history)
    assert [i.due_date for i in timed.agenda("t1", as_of="2026-09-14")] == [date(2026, 9, 27)]
    check = getattr(timed.store, "check", None)
    if check is not None:  # the SQL stores compare the timing column with the replay
        assert check().problems == []


def test_the_reason_is_read_only_by_the_roles_that_suspend(timed: Engine) -> None:
    timed.suspend("t1", actor="cas", reason="ziekteverlof")
    seen_by_starter = timed.history("t1", viewer="sam")[-1]
    assert seen_by_starter.kind == "suspended"
    assert seen_by_starter.input["reason"] is REDACTED
    assert timed.history("t1", viewer="cas")[-1].input["reason"] == "ziekteverlof"
    for message in timed.outbox.messages():
        assert "ziekteverlof" not in repr(message)
    assert timed.replay("t1") == timed.get("t1")


def test_a_definition_without_suspendable_by_cannot_be_suspended() -> None:
    spec = loads_definition(TIMED.replace("suspendable_by: [coach]\n", ""))
    engine = Engine([spec], clock=FixedClock(at("2026-09-01")), plugins=False)
    engine.start("timed", participants={"starter": "s", "coach": "c"}, actor="c", trajectory_id="x")
    with pytest.raises(NotPermitted) as raised:
        engine.suspend("x", actor="c", reason="ziek")
    assert "suspendable_by" in str(raised.value)


def test_suspension_works_with_a_school_calendar(store: Any) -> None:
    engine = Engine(
        [loads_definition(TIMED)],
        store=store,
        clock=FixedClock(at("2026-10-05")),
        calendar=MIDDEN,
        plugins=False,
    )
    engine.start(
        "timed",
        participants={"starter": "s", "coach": "c"},
        actor="c",
        trajectory_id="x",
        start_date="2026-10-05",
    )
    (item,) = engine.agenda("x", as_of="2026-10-05")
    assert item.due_date == date(2026, 11, 1)  # week 3 skips the Herfstvakantie
    engine.clock.set(at("2026-10-12"))  # type: ignore[attr-defined]
    engine.suspend("x", actor="c", reason="verlof")
    engine.clock.set(at("2026-11-02"))  # 12 Oct - 1 Nov: 10 school days (a holiday week)
    engine.resume("x", actor="c")
    (item,) = engine.agenda("x", as_of="2026-11-02")
    assert item.due_date == date(2026, 11, 15)
    assert school_days(date(2026, 11, 2), item.due_date, MIDDEN) == 10


def test_the_reminder_moves_with_the_due_date_when_resumed_late(timed: Engine) -> None:
    clock: FixedClock = timed.clock  # type: ignore[assignment]
    clock.set(at("2026-09-02"))
    timed.suspend("t1", actor="cas", reason="verlof")
    clock.set(at("2026-09-03"))
    timed.resume("t1", actor="cas", reason="terug")
    # one school day: due Sunday 20 -> Monday 21 September; reminder the 14th
    (item,) = timed.agenda("t1", as_of="2026-09-03")
    assert item.due_date == date(2026, 9, 21)
    assert timed.run_due(at("2026-09-13")).reminders == 0
    assert timed.run_due(at("2026-09-14")).reminders == 1


def test_work_left_undone_for_long_is_done_in_one_pass(timed: Engine) -> None:
    report = timed.run_due(at("2026-12-01"))
    assert (report.reminders, report.timeouts, report.escalations) == (1, 1, 1)
    t = timed.get("t1")
    assert t.state == "escalated"  # entered now: its own timeout counts from today
    assert timed.store.due(date(2026, 12, 10), limit=10) == []
    assert timed.store.due(date(2026, 12, 11), limit=10) == ["t1"]


@pytest.mark.parametrize("limit", [0, 10_001, True, "5"])
def test_the_limit_counts_trajectories(timed: Engine, limit: Any) -> None:
    with pytest.raises(ValueError) as raised:
        timed.run_due(at("2026-09-13"), limit=limit)
    assert str(raised.value).startswith("limit: 1 to 10,000 trajectories, not ")
    with pytest.raises(ValueError, match="trajectories"):
        timed.store.due(date(2026, 9, 13), limit=limit)


def test_now_must_say_its_timezone(timed: Engine) -> None:
    with pytest.raises(ValueError) as raised:
        timed.run_due(datetime(2026, 9, 13))
    assert "timezone" in str(raised.value)
    assert timed.run_due(datetime(2026, 9, 13, tzinfo=UTC)).reminders == 1


GUARDED = """\
coachflow: 1
id: guarded
version: 1
roles: {coach: {required: true}}
started_by: [coach]
predicates: [ready]
initial: a
states:
  a:
    timeout: {after: P3D, event: tick}
  b: {final: true}
transitions:
  - {event: tick, from: a, to: b, by: [system], when: "ready()"}
"""


def test_a_trajectory_the_worker_cannot_decide_never_stops_the_others(store: Any) -> None:
    # the application has the predicate; the worker process (like `coachflow worker`) not
    clock = FixedClock(at("2026-09-01"))
    definitions = [loads_definition(TIMED), loads_definition(GUARDED)]
    app = Engine(definitions, store=store, clock=clock, plugins=False)
    app.register_predicate("ready", lambda t: True)
    app.start("guarded", participants={"coach": "c"}, actor="c", trajectory_id="g")
    app.start(
        "timed",
        participants={"starter": "s", "coach": "c"},
        actor="c",
        trajectory_id="t",
        start_date=date(2026, 9, 1),
        calendar=MIDDEN,
    )
    worker = Engine(definitions, store=store, clock=clock, plugins=False)
    report = worker.run_due(at("2026-10-01"))
    assert report.failed == ("g",)
    assert report.handled >= 1 and "1 failed" in str(report)
    assert [r.kind for r in worker.history("g")] == ["started"]  # left as it was
    assert "timer" in [r.kind for r in worker.history("t")]  # the other's work was done
    # tried again at the next pass, and done where the predicate is at hand
    assert worker.run_due(at("2026-10-01")).failed == ("g",)
    assert app.run_due(at("2026-10-01")).timeouts == 1
    assert app.get("g").state == "b"


# --- timers across time-dependent expectations, migrations and suspensions ----------------------

EXPECTED_LATER = """\
coachflow: 1
id: later
version: 1
roles: {coach: {required: true}}
started_by: [coach]
predicates: [open]
initial: a
states:
  a: {}
  done: {final: true}
transitions:
  - {event: finish, from: a, to: done, by: [coach]}
  - {event: note, from: a, to: a, by: [coach]}
activities:
  visit:
    by: [coach]
    due: {week: 6}
    expected: week >= 2
    remind: [{before: P7D, to: [coach]}]
  call:
    by: [coach]
    due: {week: 8}
    expected: "open()"
    remind: [{before: P7D, to: [coach]}]
"""


def later_engine(store: Any, open_now: Any) -> Engine:
    engine = Engine(
        [loads_definition(EXPECTED_LATER)],
        store=store,
        clock=FixedClock(at("2026-09-07")),
        plugins=False,
    )
    engine.register_predicate("open", open_now)
    engine.start("later", participants={"coach": "c"}, actor="c", trajectory_id="l1")
    return engine


def test_a_reminder_whose_activity_is_expected_later_is_still_found(store: Any) -> None:
    # week 1: visit not expected yet (week >= 2), call not while open() is false
    # the visit is due Sunday 18 October (week 6), its reminder a week before: the worker
    # asks then whether it is expected
    engine = later_engine(store, lambda t: False)
    assert engine.store.due(date(2026, 10, 10), limit=10) == []
    assert engine.store.due(date(2026, 10, 11), limit=10) == ["l1"]
    report = engine.run_due(at("2026-10-11"))
    assert report.reminders == 1
    assert notices(engine) == [(REMINDER, "activity.reminder:l1:remind:visit:P1W:coach")]
    assert engine.run_due(at("2026-10-12")).reminders == 0
    # the call (due 1 November) is not expected on its reminder day: asked again each day
    assert engine.run_due(at("2026-10-25")).handled == 0
    assert engine.store.due(date(2026, 10, 25), limit=10) == []
    assert engine.store.due(date(2026, 10, 26), limit=10) == ["l1"]


def test_a_predicate_that_fails_in_expected_never_refuses_an_unrelated_change(store: Any) -> None:
    def broken(t: Any) -> bool:
        raise RuntimeError("the directory is down")

    engine = later_engine(store, broken)
    assert engine.fire("l1", "note", actor="c").version == 1  # the change stands
    # on the visit's reminder day the worker sends it, although the call's expected fails;
    # it says so, and the call waits for its own reminder day (25 October)
    assert engine.store.due(date(2026, 10, 11), limit=10) == ["l1"]
    report = engine.run_due(at("2026-10-11"))
    assert (report.reminders, report.failed) == (1, ("l1",))
    assert notices(engine) == [(REMINDER, "activity.reminder:l1:remind:visit:P1W:coach")]
    assert engine.store.due(date(2026, 10, 24), limit=10) == []
    assert engine.store.due(date(2026, 10, 25), limit=10) == ["l1"]
    # from then on asked again each day, not again the same day
    report = engine.run_due(at("2026-10-25"))
    assert (report.handled, report.failed) == (0, ("l1",))
    assert engine.store.due(date(2026, 10, 25), limit=10) == []
    assert engine.store.due(date(2026, 10, 26), limit=10) == ["l1"]


def test_a_predicate_this_process_lacks_leaves_the_trajectory_for_the_one_that_has_it(
    store: Any,
) -> None:
    """A worker without the application's predicate (``coachflow worker``) changes nothing:
    the application's own ``run_due`` still finds the trajectory due that day."""
    worker = Engine(
        [loads_definition(EXPECTED_LATER)],
        store=store,
        clock=FixedClock(at("2026-09-07")),
        plugins=False,
    )
    worker.start("later", participants={"coach": "c"}, actor="c", trajectory_id="l1")
    report = worker.run_due(at("2026-10-11"))
    assert (report.handled, report.failed) == (0, ("l1",))
    assert worker.get("l1").version == 0  # not even the visit's reminder: left as it was
    assert worker.store.due(date(2026, 10, 11), limit=10) == ["l1"]
    app = Engine([loads_definition(EXPECTED_LATER)], store=store, plugins=False)
    app.register_predicate("open", lambda t: True)
    assert app.run_due(at("2026-10-11")).reminders == 1


def test_a_timeout_handled_under_its_key_of_before_is_not_handled_again(timed: Engine) -> None:
    """A database written before a timeout's key named its duration and event holds
    ``timeout:<state>:<seq>``: that stay's timeout counts as handled."""
    from coachflow.runtime.decide import Moment
    from coachflow.runtime.timers import Timer, pending, timer_record
    from coachflow.runtime.trajectory import apply

    t = timed.get("t1")
    program = timed._program(t.definition_id, t.definition_version)
    [timeout] = [x for x in pending(program, t) if x.topic == TIMEOUT]
    assert timeout.key == "timeout:interim:0:2SW:escalate_interim"
    old = Timer("timeout:interim:0", TIMEOUT, timeout.day, "interim", event=timeout.event)
    moment = Moment(at("2026-09-15"), {})
    refused = apply(t, timer_record(t, old, moment, None, ("guard-failed",)))
    assert [x for x in pending(program, refused) if x.topic == TIMEOUT] == []


def test_a_failing_expected_never_holds_up_the_other_trajectories(store: Any) -> None:
    """With a ``limit``, trajectories whose predicate fails must not stay at the front of
    the index and starve the others."""
    calls = {"fail": True}

    def flaky(t: Any) -> bool:
        if calls["fail"] and t.id.startswith("bad"):
            raise RuntimeError("the directory is down")
        return True

    engine = later_engine(store, flaky)
    for tid in ("bad-1", "bad-2", "ok-1"):
        engine.start("later", participants={"coach": "c"}, actor="c", trajectory_id=tid)
    engine.fire("l1", "finish", actor="c")
    # the call's reminder day (25 October) for all three; the visit's is long past and sent
    engine.run_due(at("2026-10-11"))
    seen: set[str] = set()
    for _ in range(3):
        report = engine.run_due(at("2026-10-25"), limit=1)
        seen |= set(report.failed)
    assert seen == {"bad-1", "bad-2"}
    sent = [key for _, key in notices(engine) if ":remind:call:" in key]
    assert sent == ["activity.reminder:ok-1:remind:call:P1W:coach"]
    calls["fail"] = False  # the directory is back: the next day's pass sends the others
    assert engine.run_due(at("2026-10-26")).reminders == 2


REORDERED = """\
coachflow: 1
id: moved
version: {v}
{extra}
roles: {{starter: {{required: true}}, coach: {{required: true}}, board: {{}}}}
started_by: [coach]
facts:
  ready: {{type: bool, default: false}}
initial: a
states:
  a:
    timeout: {{after: P7D, event: go}}
  b: {{}}
  done: {{final: true}}
transitions:
  - {{event: go, from: a, to: b, by: [system], when: ready}}
  - {{event: finish, from: [a, b], to: done, by: [coach]}}
activities:
  visit:
    by: [coach]
    due: {{week: 3}}
    remind: [{reminders}]
"""


def test_a_migration_neither_repeats_nor_forgets_a_handled_timer(store: Any) -> None:
    early, late = "{before: P7D, to: [starter]}", "{before: P3D, to: [coach]}"
    v1 = loads_definition(REORDERED.format(v=1, extra="", reminders=early))
    v2 = loads_definition(
        REORDERED.format(
            v=2,
            extra="migrates_from: {version: 1, states: {a: a, b: b, done: done}}",
            reminders=f"{late}, {early}",  # the old reminder now listed second
        )
    )
    clock = FixedClock(at("2026-09-01"))
    engine = Engine([v1, v2], store=store, clock=clock, plugins=False)
    engine.start(
        "moved",
        version=1,
        participants={"starter": "s", "coach": "c"},
        actor="c",
        trajectory_id="m1",
        start_date="2026-09-01",
    )
    # the visit is due Sunday 20 September: the P7D reminder on the 13th; the timeout on
    # 8 September is refused (ready is false) and handled
    report = engine.run_due(at("2026-09-14"))
    assert (report.reminders, report.refused) == (1, 1)
    clock.set(at("2026-09-15"))
    engine.migrate("m1", 2, actor="admin")
    report = engine.run_due(at("2026-09-18"))
    assert (report.reminders, report.refused, report.timeouts) == (1, 0, 0)  # only the new one
    assert [k for _, k in notices(engine)] == [
        "state.timeout:m1:timeout:a:0:P1W:go",
        "activity.reminder:m1:remind:visit:P1W:starter",
        "activity.reminder:m1:remind:visit:P3D:coach",
    ]


MERGED = """\
coachflow: 1
id: merged
version: {v}
{extra}
roles: {{coach: {{required: true}}}}
started_by: [coach]
facts:
  ready: {{type: bool, default: false}}
initial: {initial}
states:
{states}
  c: {{}}
  done: {{final: true}}
transitions:
{transitions}
  - {{event: finish, from: c, to: done, by: [coach]}}
"""


def test_a_state_merged_into_one_that_times_out_otherwise_gets_that_timeout(store: Any) -> None:
    """A migration maps ``a`` (a timeout already refused in this stay) onto ``b``, whose
    timeout is another: that one is pending in the same stay, counted from its start."""
    v1 = MERGED.format(
        v=1,
        extra="",
        initial="a",
        states="  a:\n    timeout: {after: P7D, event: go}",
        transitions="  - {event: go, from: a, to: c, by: [system], when: ready}",
    )
    v2 = MERGED.format(
        v=2,
        extra="migrates_from: {version: 1, states: {a: b, c: c, done: done}}",
        initial="b",
        states="  b:\n    timeout: {after: P14D, event: leave}",
        transitions="  - {event: leave, from: b, to: c, by: [system]}",
    )
    clock = FixedClock(at("2026-09-01"))
    engine = Engine(
        [loads_definition(v1), loads_definition(v2)], store=store, clock=clock, plugins=False
    )
    engine.start("merged", version=1, participants={"coach": "c"}, actor="c", trajectory_id="g1")
    assert engine.run_due(at("2026-09-08")).refused == 1  # go: ready is false
    clock.set(at("2026-09-10"))
    assert engine.migrate("g1", 2, actor="admin").state == "b"
    assert engine.run_due(at("2026-09-14")).handled == 0
    report = engine.run_due(at("2026-09-15"))  # 14 days after the stay began
    assert (report.timeouts, report.refused) == (1, 0)
    assert engine.get("g1").state == "c"
    assert [k for topic, k in notices(engine) if topic == TIMEOUT] == [
        "state.timeout:g1:timeout:a:0:P1W:go",
        "state.timeout:g1:timeout:a:0:P2W:leave",
    ]


SUSPENDED = """\
coachflow: 1
id: paused
version: {v}
{extra}
roles: {{coach: {{required: true}}}}
started_by: [coach]
initial: a
states:
  a: {{}}
  b:
    timeout: {{after: P10D, event: go}}
  c: {{}}
  done: {{final: true}}
transitions:
  - {{event: next, from: a, to: b, by: [coach]}}
  - {{event: go, from: b, to: c, by: [system]}}
  - {{event: finish, from: [a, b, c], to: done, by: [coach]}}
activities:
  visit:
    by: [coach]
    due: {{week: 4}}
"""


def paused_engine(store: Any, *versions: str) -> tuple[Engine, FixedClock]:
    clock = FixedClock(at("2026-09-01"))
    definitions = [
        loads_definition(SUSPENDED.format(v=i + 1, extra=extra)) for i, extra in enumerate(versions)
    ]
    engine = Engine(definitions, store=store, clock=clock, plugins=False)
    engine.start("paused", version=1, participants={"coach": "c"}, actor="c", trajectory_id="p1")
    return engine, clock


def test_a_state_entered_while_suspended_counts_its_time_from_the_resume(store: Any) -> None:
    engine, clock = paused_engine(store, "suspendable_by: [coach]")
    engine.suspend("p1", actor="c", reason="ziek")
    clock.set(at("2026-09-02"))
    engine.fire("p1", "next", actor="c")  # entered b on 2 September, while suspended
    clock.set(at("2026-09-30"))
    engine.resume("p1", actor="c")  # b's ten days begin now: 10 October
    assert engine.run_due(at("2026-10-09")).timeouts == 0
    assert engine.get("p1").state == "b"
    assert engine.run_due(at("2026-10-10")).timeouts == 1


def test_a_pause_before_a_span_began_counts_only_from_its_start() -> None:
    pause = ((date(2026, 9, 1), date(2026, 9, 30)),)
    since = date(2026, 9, 2)
    moved = shifted(date(2026, 9, 12), pause, school=False, calendar=None, since=since)
    assert moved == date(2026, 10, 10)  # 28 days of the pause lie in the span
    ended = ((date(2026, 8, 1), date(2026, 8, 31)),)
    assert shifted(date(2026, 9, 12), ended, school=False, calendar=None, since=since) == date(
        2026, 9, 12
    )


def test_a_suspended_trajectory_moves_only_to_a_version_that_can_resume_it(store: Any) -> None:
    engine, clock = paused_engine(
        store,
        "suspendable_by: [coach]",
        "migrates_from: {version: 1, states: {a: a, b: b, c: c, done: done}}",
    )
    engine.suspend("p1", actor="c", reason="ziek")
    [(tid, version, problem)] = engine.plan_migration("paused", 2)
    assert (tid, version) == ("p1", 1)
    assert problem is not None and "resume it first" in problem
    with pytest.raises(MigrationError):
        engine.migrate("p1", 2, actor="admin")
    clock.set(at("2026-09-15"))
    engine.resume("p1", actor="c")
    moved = engine.migrate("p1", 2, actor="admin")
    # two weeks suspended (10 school days): week 4's visit, due 27 September, moves on by
    # them in version 2 too, which cannot suspend
    assert engine.agenda("p1")[0].due_date == date(2026, 10, 11)
    program = engine._program("paused", 2)  # the store's agenda index agrees
    assert program.next_due(moved) == date(2026, 10, 11)
