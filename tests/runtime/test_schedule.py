"""Schedules: due dates, recording activities, the agenda, iCalendar and workload.

Time comes from a :class:`coachflow.FixedClock`. The test calendar has one holiday week
(the autumn holiday, Saturday 17 to Sunday 25 October 2026), so with it the week of
Monday 19 October is not a school week.

Most trajectories start on Wednesday 7 October 2026: week 1 is Monday 5 to Sunday 11
October, week 2 ends on Sunday 18 October, week 3 ends on 25 October without a calendar
and on 1 November with the test calendar (the holiday week is skipped).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import coachflow
from coachflow import (
    DefinitionError,
    Engine,
    FixedClock,
    GuardFailed,
    Holiday,
    InvalidInput,
    NotAllowedInState,
    NotPermitted,
    SchoolCalendar,
    TransitionRejected,
    UnknownEvent,
    VersionConflict,
)
from coachflow.calendar import week_end
from coachflow.runtime.agenda import STATUS_ORDER

STATUSES = {"done", "upcoming", "due", "overdue", "missed"}

START = date(2026, 10, 7)  # a Wednesday
HERFST = Holiday("herfstvakantie", date(2026, 10, 17), date(2026, 10, 25))
CALENDAR = SchoolCalendar(
    "test", (HERFST,), "midden", school_year=(date(2026, 8, 31), date(2027, 8, 29))
)


def at(day: str | date, hour: int = 9) -> datetime:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


SCHEDULE_YAML = """\
coachflow: 1
id: starter
version: 1
title: Starter year
roles:
  coach: {}
  starter: {}
  director: {assigned_by: [coach]}
facts:
  period_end: {type: date}
initial: period_1
states:
  period_1: {weeks: {from: 1, to: 12}}
  after_christmas: {weeks: {from: 13, to: 38}}
  closed: {final: true}
transitions:
  - event: to_after
    from: period_1
    to: after_christmas
    by: [coach]
  - event: plan_end
    from: [period_1, after_christmas]
    to: after_christmas
    by: [coach]
    input:
      date: {type: date, required: true}
    set:
      period_end: input.date
  - event: close
    from: [period_1, after_christmas]
    to: closed
    by: [coach]
activities:
  visit_w3:
    title: Klassenbezoek + nagesprek
    by: [coach]
    during: [period_1]
    due: {week: 3}
    input:
      notes: {type: str}
  followup:
    by: [coach]
    during: [period_1]
    when: done.visit_w3
    input:
      score: {type: int, min: 1, max: 5, required: true}
  director_talk:
    by: [director]
    due: {week: 5}
  talk:
    by: [coach]
    during: [after_christmas]
    due: {days: 14}
  report:
    by: [coach]
    due: {fact: period_end}
  monthly_contact:
    by: [coach, starter]
    during: [after_christmas]
    recurring: {every: month, at_least: 1}
  logbook:
    by: [starter]
    during: [period_1]
    recurring: {every: week, at_least: 1}
"""
SCHEDULE = coachflow.loads_definition(SCHEDULE_YAML)
PEOPLE = {"coach": "c", "starter": "s", "director": "d"}


CLOCK_AT = at(START)
"""When this module's ``clock`` fixture (tests/conftest.py) stands."""
DEFINITIONS = [SCHEDULE]
"""What this module's ``engine`` fixture (tests/conftest.py) serves."""


def start(engine: Engine, **kwargs: object) -> str:
    options: dict[str, object] = {"participants": PEOPLE, "actor": "c", "start_date": START}
    options.update(kwargs)
    return engine.start("starter", **options).id  # type: ignore[arg-type]


def item(engine: Engine, tid: str, activity: str, as_of: date | str) -> coachflow.AgendaItem:
    [found] = [i for i in engine.agenda(tid, as_of=as_of) if i.activity == activity]
    return found


def items(engine: Engine, tid: str, activity: str, as_of: date | str) -> list[tuple[object, ...]]:
    return [
        (i.period_start, i.due_date, i.status, i.records)
        for i in engine.agenda(tid, as_of=as_of)
        if i.activity == activity
    ]


def test_the_schedule_definition_is_valid() -> None:
    assert coachflow.validate_text(SCHEDULE_YAML) == []


# --- due dates ----------------------------------------------------------------------------


def test_week_n_ends_on_the_sunday_of_the_nth_calendar_week(engine: Engine) -> None:
    tid = start(engine)
    assert item(engine, tid, "visit_w3", START).due_date == date(2026, 10, 25)
    assert item(engine, tid, "director_talk", START).due_date == date(2026, 11, 8)
    assert date(2026, 10, 25).weekday() == 6


def test_with_a_calendar_holiday_weeks_are_skipped(engine: Engine) -> None:
    tid = start(engine, calendar=CALENDAR)
    assert item(engine, tid, "visit_w3", START).due_date == date(2026, 11, 1)
    assert item(engine, tid, "director_talk", START).due_date == date(2026, 11, 15)


def test_the_engine_calendar_is_the_default_and_start_overrides_it(clock: FixedClock) -> None:
    engine = Engine([SCHEDULE], clock=clock, calendar=CALENDAR)
    with_default = start(engine)
    assert engine.get(with_default).calendar == CALENDAR
    assert item(engine, with_default, "visit_w3", START).due_date == date(2026, 11, 1)
    other = SchoolCalendar("none", ())
    overridden = start(engine, calendar=other)
    assert item(engine, overridden, "visit_w3", START).due_date == date(2026, 10, 25)


@pytest.mark.parametrize(
    ("start_date", "week", "expected"),
    [
        (date(2026, 10, 5), 1, date(2026, 10, 11)),  # a Monday: its own week
        (date(2026, 10, 11), 1, date(2026, 10, 11)),  # a Sunday: the same day
        (date(2026, 10, 12), 1, date(2026, 10, 18)),
        (date(2026, 10, 7), 2, date(2026, 10, 18)),
        (date(2026, 10, 7), 3, date(2026, 10, 25)),
        (date(2026, 12, 30), 2, date(2027, 1, 10)),  # over the turn of the year
    ],
)
def test_week_end_without_a_calendar(start_date: date, week: int, expected: date) -> None:
    assert week_end(start_date, week) == expected


@pytest.mark.parametrize(
    ("start_date", "week", "expected"),
    [
        (date(2026, 10, 7), 2, date(2026, 10, 18)),  # Sat and Sun of week 2 are holiday
        (date(2026, 10, 7), 3, date(2026, 11, 1)),
        (date(2026, 10, 21), 1, date(2026, 11, 1)),  # starts in the holiday
        (date(2026, 10, 19), 2, date(2026, 11, 8)),
    ],
)
def test_week_end_with_a_calendar(start_date: date, week: int, expected: date) -> None:
    assert week_end(start_date, week, CALENDAR) == expected


def test_a_week_with_one_school_day_counts() -> None:
    calendar = SchoolCalendar(
        "studiedagen", (Holiday("x", date(2026, 10, 12), date(2026, 10, 15)),)
    )
    assert week_end(START, 3, calendar) == date(2026, 10, 25)
    full = SchoolCalendar("week", (Holiday("x", date(2026, 10, 12), date(2026, 10, 16)),))
    assert week_end(START, 3, full) == date(2026, 11, 1)


def test_the_shipped_calendar_counts_school_weeks(engine: Engine) -> None:
    calendar = coachflow.builtin_calendar("nl-2026-2027-midden")
    # weeks from Monday 31 August 2026; the autumn holiday week of 19 October is skipped
    assert week_end(date(2026, 8, 31), 7, calendar) == date(2026, 10, 18)
    assert week_end(date(2026, 8, 31), 8, calendar) == date(2026, 11, 1)
    assert week_end(date(2026, 8, 31), 10, calendar) == date(2026, 11, 15)
    # Christmas: 21 December 2026 and 28 December 2026 are both skipped
    assert week_end(date(2026, 12, 14), 2, calendar) == date(2027, 1, 10)


def test_due_days_count_from_entering_the_first_during_state(
    engine: Engine, clock: FixedClock
) -> None:
    tid = start(engine)
    talk = item(engine, tid, "talk", START)
    assert (talk.due_date, talk.status) == (None, "upcoming")
    clock.set(at("2027-01-04"))
    engine.fire(tid, "to_after", actor="c")
    assert item(engine, tid, "talk", "2027-01-04").due_date == date(2027, 1, 18)
    assert item(engine, tid, "talk", "2027-01-10").status == "upcoming"
    assert item(engine, tid, "talk", "2027-01-11").status == "due"
    assert item(engine, tid, "talk", "2027-01-18").status == "due"
    assert item(engine, tid, "talk", "2027-01-19").status == "overdue"


def test_due_days_zero_is_the_day_of_entering(clock: FixedClock) -> None:
    definition = coachflow.loads_definition(
        SCHEDULE_YAML.replace("due: {days: 14}", "due: {days: 0}")
    )
    engine = Engine([definition], clock=clock)
    tid = start(engine)
    clock.set(at("2026-11-02"))
    engine.fire(tid, "to_after", actor="c")
    assert item(engine, tid, "talk", "2026-11-02").due_date == date(2026, 11, 2)


DEFAULT_DURING_YAML = """\
coachflow: 1
id: order
version: 1
roles:
  coach: {}
initial: intake
states:
  coaching: {}
  intake: {}
  closed: {final: true}
transitions:
  - event: go
    from: intake
    to: coaching
    by: [coach]
  - event: close
    from: coaching
    to: closed
    by: [coach]
activities:
  plan: {by: [coach], due: {days: 14}}
"""


def test_due_days_without_during_count_from_the_start(clock: FixedClock) -> None:
    engine = Engine([coachflow.loads_definition(DEFAULT_DURING_YAML)], clock=clock)
    t = engine.start("order", participants={"coach": "c"}, actor="c", start_date=START)
    [plan] = engine.agenda(t.id, as_of="2026-11-01")
    assert plan.due_date == START + timedelta(days=14)
    assert plan.status == "overdue"


def test_due_fact_follows_the_fact(engine: Engine, clock: FixedClock) -> None:
    tid = start(engine, facts={"period_end": "2027-06-30"})
    assert item(engine, tid, "report", START).due_date == date(2027, 6, 30)
    unset = start(engine)
    assert item(engine, unset, "report", START).due_date is None
    assert item(engine, unset, "report", START).status == "upcoming"
    clock.set(at("2026-11-01"))
    engine.fire(unset, "plan_end", actor="c", input={"date": "2026-11-05"})
    assert item(engine, unset, "report", "2026-11-01").due_date == date(2026, 11, 5)
    assert item(engine, unset, "report", "2026-11-01").status == "due"
    assert item(engine, unset, "report", "2026-11-06").status == "overdue"


def test_one_off_statuses_over_time(engine: Engine, clock: FixedClock) -> None:
    tid = start(engine)  # visit_w3 due 25 October
    assert item(engine, tid, "visit_w3", "2026-10-17").status == "upcoming"
    assert item(engine, tid, "visit_w3", "2026-10-18").status == "due"
    assert item(engine, tid, "visit_w3", "2026-10-25").status == "due"
    assert item(engine, tid, "visit_w3", "2026-10-26").status == "overdue"
    clock.set(at("2026-10-30"))
    engine.record_activity(tid, "visit_w3", actor="c", on="2026-10-28")
    done = item(engine, tid, "visit_w3", "2026-10-30")
    assert (done.status, done.records, done.due_date) == ("done", 1, date(2026, 10, 25))
    # an agenda as of an earlier day does not know the later record yet
    before = item(engine, tid, "visit_w3", "2026-10-27")
    assert (before.status, before.records) == ("overdue", 0)
    assert item(engine, tid, "visit_w3", "2026-10-28").status == "done"


def test_the_agenda_defaults_to_today_and_keeps_definition_order(
    engine: Engine, clock: FixedClock
) -> None:
    tid = start(engine)
    clock.set(at("2026-10-26"))
    assert engine.agenda(tid) == engine.agenda(tid, as_of=date(2026, 10, 26))
    order = [i.activity for i in engine.agenda(tid, as_of=START)]
    assert order == ["visit_w3", "followup", "director_talk", "talk", "report", "logbook"]
    first = engine.agenda(tid, as_of=START)[0]
    assert (first.trajectory_id, first.title, first.roles) == (
        tid,
        "Klassenbezoek + nagesprek",
        ("coach",),
    )


def test_a_finished_trajectory_has_nothing_left_to_do(engine: Engine, clock: FixedClock) -> None:
    tid = start(engine)
    engine.record_activity(tid, "visit_w3", actor="c")
    clock.set(at("2026-11-20"))
    engine.fire(tid, "close", actor="c")
    statuses = {i.activity: i.status for i in engine.agenda(tid, as_of="2026-12-01")}
    assert statuses.get("visit_w3") == "done"
    assert "overdue" not in {i.status for i in engine.agenda(tid, as_of="2026-12-01")}


# --- record_activity --------------------------------------------------------------------


def rejected_changes_nothing(
    engine: Engine, tid: str, error: type[TransitionRejected], activity: str, **kwargs: object
) -> TransitionRejected:
    before = engine.get(tid)
    with pytest.raises(error) as caught:
        engine.record_activity(tid, activity, **kwargs)  # type: ignore[arg-type]
    after = engine.get(tid)
    assert after == before
    assert after.version == before.version and after.counts == before.counts
    assert caught.value.trajectory_id == tid
    return caught.value


def test_record_activity_rejections_change_nothing(engine: Engine, clock: FixedClock) -> None:
    tid = start(engine)
    clock.set(at("2026-10-20"))
    error = rejected_changes_nothing(engine, tid, UnknownEvent, "nope", actor="c")
    assert error.event == "nope"
    rejected_changes_nothing(engine, tid, NotAllowedInState, "talk", actor="c")
    rejected_changes_nothing(engine, tid, NotAllowedInState, "monthly_contact", actor="s")
    rejected_changes_nothing(engine, tid, NotPermitted, "visit_w3", actor="s")
    rejected_changes_nothing(engine, tid, NotPermitted, "visit_w3", actor="stranger")
    rejected_changes_nothing(engine, tid, NotPermitted, "logbook", actor="c")
    for bad in ({"nope": 1}, {"notes": 5}, "notes", [("notes", "x")]):
        error = rejected_changes_nothing(
            engine, tid, InvalidInput, "visit_w3", actor="c", input=bad
        )
    for day in ("2026-10-06", date(2026, 10, 21), "2026-02-30", "yesterday", 20261008, "2026-1-8"):
        error = rejected_changes_nothing(engine, tid, InvalidInput, "visit_w3", actor="c", on=day)
        assert error.fields == ["on"]
    rejected_changes_nothing(engine, tid, GuardFailed, "followup", actor="c", input={"score": 3})
    rejected_changes_nothing(
        engine, tid, VersionConflict, "visit_w3", actor="c", expected_version=5
    )
    engine.record_activity(tid, "visit_w3", actor="c")
    for bad_input in (None, {"score": 0}, {"score": 6}, {"score": "3"}, {"score": True}):
        rejected_changes_nothing(engine, tid, InvalidInput, "followup", actor="c", input=bad_input)
    engine.fire(tid, "close", actor="c")
    for name in ("visit_w3", "report", "director_talk"):
        rejected_changes_nothing(engine, tid, NotAllowedInState, name, actor="c")


def test_record_activity_appends_an_activity_record(engine: Engine, clock: FixedClock) -> None:
    tid = start(engine)
    clock.set(at("2026-10-20", 14))
    t = engine.record_activity(
        tid, "visit_w3", actor="c", on="2026-10-19", input={"notes": "goed"}, expected_version=0
    )
    assert t.version == 1 and t.counts == {"visit_w3": 1}
    record = t.history[-1]
    assert record.kind == "activity"
    assert (record.seq, record.actor, record.role, record.event) == (1, "c", "coach", "visit_w3")
    assert (record.source, record.target) == ("period_1", "period_1")
    assert record.on == date(2026, 10, 19)
    assert record.at == at("2026-10-20", 14)
    assert dict(record.input) == {"notes": "goed"}
    assert t.state == "period_1"
    t = engine.record_activity(tid, "logbook", actor="s")
    assert t.history[-1].on == date(2026, 10, 20)  # default: today, by the clock
    assert t.history[-1].role == "starter"
    assert t.history[-1].input == {}
    t = engine.record_activity(tid, "visit_w3", actor="c", on=START)  # the first day is fine
    assert t.counts == {"visit_w3": 2, "logbook": 1}
    assert engine.get(tid) == t


def test_replay_rebuilds_a_trajectory_with_activities(engine: Engine, clock: FixedClock) -> None:
    tid = start(engine, calendar=CALENDAR, facts={"period_end": "2027-06-30"})
    clock.set(at("2026-10-20"))
    engine.record_activity(tid, "visit_w3", actor="c", input={"notes": "x"})
    engine.record_activity(tid, "followup", actor="c", input={"score": 4})
    engine.record_activity(tid, "logbook", actor="s", on="2026-10-09")
    clock.set(at("2027-01-05"))
    engine.fire(tid, "to_after", actor="c")
    engine.record_activity(tid, "monthly_contact", actor="s", on="2027-01-05")
    engine.record_activity(tid, "monthly_contact", actor="c", on="2027-01-05")
    t = engine.get(tid)
    rebuilt = coachflow.replay(tid, t.history)
    assert rebuilt == t
    assert rebuilt.counts == {"visit_w3": 1, "followup": 1, "logbook": 1, "monthly_contact": 2}
    assert rebuilt.start_date == START
    assert rebuilt.calendar == CALENDAR
    assert engine.replay(tid) == t
    # the rebuilt trajectory has the same agenda
    definition = engine.definition("starter")
    from coachflow.runtime.agenda import agenda

    assert agenda(definition, rebuilt, date(2027, 3, 1), rebuilt.calendar) == engine.agenda(
        tid, as_of="2027-03-01"
    )


def test_record_activity_on_a_datetime_is_refused_or_taken_as_its_day(engine: Engine) -> None:
    tid = start(engine)
    try:
        t = engine.record_activity(tid, "visit_w3", actor="c", on=at(START))
    except InvalidInput:
        return
    assert t.history[-1].on == START


def test_start_refuses_a_bad_start_date(engine: Engine) -> None:
    with pytest.raises(InvalidInput) as caught:
        start(engine, start_date="2026-02-30")
    assert caught.value.fields == ["start_date"]
    assert list(engine.trajectories()) == []


def test_start_date_defaults_to_the_clocks_day(engine: Engine, clock: FixedClock) -> None:
    clock.set(at("2026-11-03", 23))
    t = engine.start("starter", participants=PEOPLE, actor="c")
    assert t.start_date == date(2026, 11, 3)
    assert item(engine, t.id, "visit_w3", "2026-11-03").due_date == date(2026, 11, 22)


# --- recurring rules ----------------------------------------------------------------------


def recurring_engine(clock: FixedClock, every: str = "month", at_least: int = 1) -> Engine:
    text = SCHEDULE_YAML.replace(
        "recurring: {every: month, at_least: 1}",
        f"recurring: {{every: {every}, at_least: {at_least}}}",
    )
    return Engine([coachflow.loads_definition(text)], clock=clock)


def enter_after_christmas(engine: Engine, clock: FixedClock, day: str = "2027-01-04") -> str:
    tid = start(engine)
    clock.set(at(day))
    engine.fire(tid, "to_after", actor="c")
    return tid


def record_on(engine: Engine, clock: FixedClock, tid: str, *days: str, actor: str = "s") -> None:
    for day in days:
        if clock.now().date() < date.fromisoformat(day):
            clock.set(at(day))
        engine.record_activity(tid, "monthly_contact", actor=actor, on=day)


def test_months_with_zero_one_and_two_contacts(clock: FixedClock) -> None:
    engine = recurring_engine(clock)
    tid = enter_after_christmas(engine, clock)
    record_on(engine, clock, tid, "2027-02-03", "2027-02-24", "2027-03-15")
    clock.set(at("2027-04-10"))
    assert items(engine, tid, "monthly_contact", "2027-04-10") == [
        (date(2027, 1, 1), date(2027, 1, 31), "missed", 0),
        (date(2027, 2, 1), date(2027, 2, 28), "done", 2),
        (date(2027, 3, 1), date(2027, 3, 31), "done", 1),
        (date(2027, 4, 1), date(2027, 4, 30), "upcoming", 0),
    ]


def test_at_least_two_a_month(clock: FixedClock) -> None:
    engine = recurring_engine(clock, at_least=2)
    tid = enter_after_christmas(engine, clock)
    record_on(engine, clock, tid, "2027-01-05", "2027-02-03", "2027-02-24")
    record_on(engine, clock, tid, "2027-02-24", actor="c")  # two the same day count twice
    clock.set(at("2027-03-20"))
    assert items(engine, tid, "monthly_contact", "2027-03-20") == [
        (date(2027, 1, 1), date(2027, 1, 31), "missed", 1),
        (date(2027, 2, 1), date(2027, 2, 28), "done", 3),
        (date(2027, 3, 1), date(2027, 3, 31), "upcoming", 0),
    ]


def test_the_current_period_is_upcoming_then_due(clock: FixedClock) -> None:
    engine = recurring_engine(clock)
    tid = enter_after_christmas(engine, clock)
    assert items(engine, tid, "monthly_contact", "2027-01-23") == [
        (date(2027, 1, 1), date(2027, 1, 31), "upcoming", 0)
    ]
    assert items(engine, tid, "monthly_contact", "2027-01-24")[0][2] == "due"
    assert items(engine, tid, "monthly_contact", "2027-01-31")[0][2] == "due"
    feb = items(engine, tid, "monthly_contact", "2027-02-01")
    assert feb == [
        (date(2027, 1, 1), date(2027, 1, 31), "missed", 0),
        (date(2027, 2, 1), date(2027, 2, 28), "upcoming", 0),
    ]
    record_on(engine, clock, tid, "2027-02-02")
    assert items(engine, tid, "monthly_contact", "2027-02-25")[-1] == (
        date(2027, 2, 1),
        date(2027, 2, 28),
        "done",
        1,
    )


def test_nothing_is_asked_before_entering_the_during_state(engine: Engine) -> None:
    tid = start(engine)
    assert items(engine, tid, "monthly_contact", "2027-03-01") == []


def test_leaving_the_during_state_mid_month(clock: FixedClock) -> None:
    """Rule (schedule.py): a period that ended is 'missed' only when the trajectory was
    in a during state at the end of that period; the current period is listed only
    while the trajectory is in a during state on ``as_of``."""
    engine = recurring_engine(clock)
    tid = enter_after_christmas(engine, clock)
    record_on(engine, clock, tid, "2027-02-10")
    clock.set(at("2027-03-15"))
    engine.fire(tid, "close", actor="c")  # leaves after_christmas mid-March, no contact
    expected_before = [
        (date(2027, 1, 1), date(2027, 1, 31), "missed", 0),
        (date(2027, 2, 1), date(2027, 2, 28), "done", 1),
    ]
    # while still in after_christmas, March is the current period
    assert items(engine, tid, "monthly_contact", "2027-03-10") == [
        *expected_before,
        (date(2027, 3, 1), date(2027, 3, 31), "upcoming", 0),
    ]
    # after leaving: March (which ended after leaving) is neither missed nor current
    for as_of in ("2027-03-15", "2027-03-31", "2027-04-01", "2027-06-30"):
        assert items(engine, tid, "monthly_contact", as_of) == expected_before


def test_leaving_on_the_last_day_of_a_month(clock: FixedClock) -> None:
    engine = recurring_engine(clock)
    tid = enter_after_christmas(engine, clock)
    clock.set(at("2027-01-31"))
    engine.fire(tid, "close", actor="c")
    # January ended after leaving (on its last day): it is not listed as missed
    assert items(engine, tid, "monthly_contact", "2027-02-15") == []


def test_entering_mid_month_asks_for_that_month(clock: FixedClock) -> None:
    engine = recurring_engine(clock)
    tid = enter_after_christmas(engine, clock, "2027-01-27")
    assert items(engine, tid, "monthly_contact", "2027-02-03") == [
        (date(2027, 1, 1), date(2027, 1, 31), "missed", 0),
        (date(2027, 2, 1), date(2027, 2, 28), "upcoming", 0),
    ]


def test_a_month_without_school_days_is_not_required(clock: FixedClock) -> None:
    summer = SchoolCalendar(
        "zomer", (Holiday("zomervakantie", date(2027, 7, 10), date(2027, 9, 5)),)
    )
    engine = recurring_engine(clock)
    with_calendar = start(engine, calendar=summer)
    without = start(engine)
    clock.set(at("2027-06-01"))
    for tid in (with_calendar, without):
        engine.fire(tid, "to_after", actor="c")
    months = {
        tid: [(p, s) for p, _, s, _ in items(engine, tid, "monthly_contact", "2027-10-02")]
        for tid in (with_calendar, without)
    }
    assert months[without] == [
        (date(2027, 6, 1), "missed"),
        (date(2027, 7, 1), "missed"),
        (date(2027, 8, 1), "missed"),
        (date(2027, 9, 1), "missed"),
        (date(2027, 10, 1), "upcoming"),
    ]
    # July 1-9 and September 6-30 have school days; August has none
    assert months[with_calendar] == [
        (date(2027, 6, 1), "missed"),
        (date(2027, 7, 1), "missed"),
        (date(2027, 9, 1), "missed"),
        (date(2027, 10, 1), "upcoming"),
    ]


def test_a_holiday_week_asks_no_weekly_record(engine: Engine, clock: FixedClock) -> None:
    tid = start(engine, calendar=CALENDAR)
    plain = start(engine)
    clock.set(at("2026-11-03"))
    weeks = {
        t: [(p, s) for p, _, s, _ in items(engine, t, "logbook", "2026-11-03")]
        for t in (tid, plain)
    }
    assert weeks[plain] == [
        (date(2026, 10, 5), "missed"),
        (date(2026, 10, 12), "missed"),
        (date(2026, 10, 19), "missed"),
        (date(2026, 10, 26), "missed"),
        (date(2026, 11, 2), "due"),
    ]
    assert (date(2026, 10, 19), "missed") not in weeks[tid]
    assert len(weeks[tid]) == 4


def test_a_yearly_rule_counts_years_from_the_start_date(clock: FixedClock) -> None:
    engine = recurring_engine(clock, every="year")
    tid = enter_after_christmas(engine, clock)
    assert items(engine, tid, "monthly_contact", "2027-01-04") == [
        (START, date(2027, 10, 6), "upcoming", 0)
    ]
    record_on(engine, clock, tid, "2027-05-01")
    assert items(engine, tid, "monthly_contact", "2027-10-10") == [
        (START, date(2027, 10, 6), "done", 1),
        (date(2027, 10, 7), date(2028, 10, 6), "upcoming", 0),
    ]


# --- Hypothesis: agendas on many dates ---------------------------------------------------

ACTORS = ("ok", "ok", "ok", "c", "s", "d", "x")  # "ok": someone the activity allows
ONE_OFF = {n for n, a in SCHEDULE.activities.items() if a.recurring is None}

RECORD = st.tuples(
    st.just("record"),
    st.sampled_from(sorted(SCHEDULE.activities)),
    st.sampled_from(ACTORS),
    st.integers(0, 30),
)
step_strategy = st.one_of(
    st.tuples(st.just("advance"), st.integers(0, 40)),
    st.tuples(st.just("fire"), st.sampled_from(["to_after", "close", "plan_end"])),
    RECORD,
    RECORD,
    RECORD,
)


def run_steps(engine: Engine, clock: FixedClock, tid: str, steps: list[tuple[object, ...]]) -> None:
    for step in steps:
        try:
            if step[0] == "advance":
                clock.advance(days=int(step[1]))  # type: ignore[arg-type]
            elif step[0] == "fire":
                data = {"date": clock.now().date() + timedelta(days=10)}
                engine.fire(
                    tid,
                    str(step[1]),
                    actor="c",
                    input=data if step[1] == "plan_end" else None,
                )
            else:
                _, name, actor, back = step
                if actor == "ok":
                    actor = PEOPLE[SCHEDULE.activities[str(name)].by[0]]
                today = clock.now().date()
                on = max(today - timedelta(days=int(back)), START)  # type: ignore[arg-type]
                engine.record_activity(
                    tid,
                    str(name),
                    actor=str(actor),
                    on=on,
                    input={"score": 3} if name == "followup" else None,
                )
        except TransitionRejected:
            pass


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(step_strategy, min_size=3, max_size=40),
    use_calendar=st.booleans(),
    offsets=st.lists(st.integers(-20, 500), min_size=1, max_size=12),
)
def test_agenda_statuses_are_consistent_on_every_date(
    steps: list[tuple[object, ...]], use_calendar: bool, offsets: list[int]
) -> None:
    clock = FixedClock(at(START))
    engine = Engine([SCHEDULE], clock=clock)
    tid = start(engine, calendar=CALENDAR if use_calendar else None)
    run_steps(engine, clock, tid, steps)
    t = engine.get(tid)
    recorded: dict[str, list[date]] = {}
    for r in t.history:
        if r.kind == "activity":
            assert r.on is not None
            recorded.setdefault(str(r.event), []).append(r.on)
    for offset in offsets:
        as_of = START + timedelta(days=offset)
        agenda = engine.agenda(tid, as_of=as_of)
        seen: set[tuple[str, date | None]] = set()
        for i in agenda:
            assert i.status in STATUSES
            assert i.trajectory_id == tid
            assert i.roles == SCHEDULE.activities[i.activity].by
            key = (i.activity, i.period_start)
            assert key not in seen, "an item is listed twice"
            seen.add(key)
            # what was recorded up to as_of counts (a later record is not known yet)
            done_dates = [d for d in recorded.get(i.activity, []) if d <= as_of]
            if i.activity in ONE_OFF:
                assert i.period_start is None
                assert i.records == len(done_dates)
                if done_dates:
                    assert i.status == "done", "a done item is called " + i.status
                else:
                    assert i.status != "done"
                    assert i.status != "missed"
            else:
                rule = SCHEDULE.activities[i.activity].recurring
                assert rule is not None and i.period_start is not None
                assert i.due_date is not None and i.period_start <= i.due_date
                assert i.records == sum(1 for d in done_dates if i.period_start <= d <= i.due_date)
                assert (i.status == "done") == (i.records >= rule.at_least)
                assert i.status != "overdue"
                if i.status == "missed":
                    assert i.due_date < as_of
                if i.status in ("due", "upcoming"):
                    assert i.period_start <= as_of <= i.due_date
            if i.status == "overdue":
                assert i.due_date is not None and i.due_date < as_of
                assert not done_dates
            if i.status == "due":
                assert i.due_date is not None
                assert as_of <= i.due_date <= as_of + timedelta(days=7)
            if i.status == "upcoming" and i.due_date is not None:
                assert i.due_date > as_of + timedelta(days=7)


# --- agenda_for -------------------------------------------------------------------------


def test_agenda_for_gathers_a_persons_items_most_urgent_first(
    engine: Engine, clock: FixedClock
) -> None:
    one = start(engine, trajectory_id="one")
    two = start(
        engine,
        trajectory_id="two",
        participants={"coach": "c", "starter": "s2"},
        start_date="2026-09-01",
    )
    three = start(
        engine,
        trajectory_id="three",
        participants={"coach": "c2", "starter": "s", "director": "d"},
        actor="c2",
    )
    clock.set(at("2026-10-20"))
    engine.record_activity(one, "visit_w3", actor="c")
    engine.record_activity(three, "logbook", actor="s")
    as_of = date(2026, 10, 20)
    for person in ("c", "s", "d", "c2", "s2"):
        mine = engine.agenda_for(person, as_of=as_of)
        expected = []
        for tid in (one, two, three):
            roles = set(engine.get(tid).roles_of(person))
            expected.extend(
                i
                for i in engine.agenda(tid, as_of=as_of)
                if i.status != "done" and roles & set(i.roles)
            )
        assert sorted(mine) == sorted(expected), person
        assert all(i.status != "done" for i in mine)
        ranks = [(STATUS_ORDER[i.status], i.due_date or date.max) for i in mine]
        assert ranks == sorted(ranks), person
    coach = engine.agenda_for("c", as_of=as_of)
    assert {i.trajectory_id for i in coach} == {one, two}
    assert ("one", "visit_w3") not in {(i.trajectory_id, i.activity) for i in coach}
    assert coach[0].status in ("overdue", "missed")
    # two started on 1 September: its visit_w3 was due on 20 September
    assert ("two", "visit_w3", "overdue") in {
        (i.trajectory_id, i.activity, i.status) for i in coach
    }
    assert {i.activity for i in engine.agenda_for("d", as_of=as_of)} == {"director_talk"}
    assert {i.activity for i in engine.agenda_for("s", as_of=as_of)} == {"logbook"}
    assert engine.agenda_for("stranger", as_of=as_of) == []


def test_agenda_for_follows_assignment(engine: Engine, clock: FixedClock) -> None:
    tid = start(engine, participants={"coach": "c", "starter": "s"})
    assert engine.agenda_for("d", as_of=START) == []
    engine.assign(tid, "director", "d", actor="c")
    assert [i.activity for i in engine.agenda_for("d", as_of=START)] == ["director_talk"]
    engine.unassign(tid, "director", "d", actor="c")
    assert engine.agenda_for("d", as_of=START) == []


# --- iCalendar ----------------------------------------------------------------------------


def parse_ical(data: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    events = list(calendar.walk("VEVENT"))
    uids = [str(e["UID"]) for e in events]
    assert len(uids) == len(set(uids)), "UIDs must be unique within an export"
    return dict(zip(uids, events, strict=True))


def test_ical_export_parses_back(engine: Engine, clock: FixedClock) -> None:
    one = start(engine, trajectory_id="one", facts={"period_end": "2027-06-30"})
    start(engine, trajectory_id="two")
    clock.set(at("2027-01-04"))
    engine.fire(one, "to_after", actor="c")
    clock.set(at("2027-02-20"))
    record_on(engine, clock, one, "2027-02-03")
    agenda = engine.agenda_for("c", as_of="2027-02-20")
    assert agenda == [
        i
        for i in engine.agenda_for("c", as_of="2027-02-20", include_done=True)
        if i.status != "done"
    ]
    agenda = engine.agenda_for("c", as_of="2027-02-20", include_done=True)
    assert {i.status for i in agenda} >= {"done", "missed", "upcoming"}
    data = coachflow.agenda_to_ical(agenda, stamp=clock.now())
    assert isinstance(data, bytes)
    calendar = icalendar.Calendar.from_ical(data)
    assert calendar.name == "VCALENDAR"
    events = parse_ical(data)
    dated = [i for i in agenda if i.due_date is not None]
    assert len(events) == len(dated) > 3
    assert any(i.due_date is None for i in agenda)  # items without a date are left out
    for i in dated:
        event = events[i.uid]
        start_value = event.decoded("DTSTART")
        assert start_value == i.due_date
        assert type(start_value) is date  # an all-day event
        summary = str(event["SUMMARY"])
        assert (i.title or i.activity) in summary
        assert i.status in summary
        assert event.decoded("DTSTAMP") == clock.now()  # when the feed was made
        assert str(event["TRANSP"]) == "TRANSPARENT"
        assert str(event["STATUS"]) == "CONFIRMED"  # done too: it took place


def test_a_second_export_keeps_the_uids(engine: Engine, clock: FixedClock) -> None:
    tid = start(engine)
    clock.set(at("2027-01-04"))
    engine.fire(tid, "to_after", actor="c")
    clock.set(at("2027-02-20"))
    first_items = engine.agenda(tid, as_of="2027-02-20")
    first = parse_ical(coachflow.agenda_to_ical(first_items, stamp=clock.now()))
    record_on(engine, clock, tid, "2027-02-18")
    engine.record_activity(tid, "talk", actor="c")
    clock.set(at("2027-03-05"))
    second_items = engine.agenda(tid, as_of="2027-03-05")
    second = parse_ical(coachflow.agenda_to_ical(second_items, stamp=clock.now()))
    assert set(first) <= set(second)  # every earlier event is updated, none duplicated
    assert len(second) == len(first) + 1  # March is new
    for i in first_items:
        [same] = [
            j for j in second_items if (j.activity, j.period_start) == (i.activity, i.period_start)
        ]
        assert same.uid == i.uid
    changed = [uid for uid in first if str(first[uid]["SUMMARY"]) != str(second[uid]["SUMMARY"])]
    assert changed  # February and the talk are now done
    for uid in first:  # a changed event has a higher SEQUENCE, none has a lower one
        before, after = first[uid].decoded("SEQUENCE"), second[uid].decoded("SEQUENCE")
        assert after > before if uid in changed else after >= before, uid
    # exporting the same items twice at one time gives the same bytes
    stamp = clock.now()
    assert coachflow.agenda_to_ical(second_items, stamp=stamp) == coachflow.agenda_to_ical(
        second_items, stamp=stamp
    )


# --- calendars ---------------------------------------------------------------------------

CALENDAR_YAML = """\
calendar: 1
name: Test
region: noord
holidays:
  - {name: Herfst, from: 2026-10-17, to: 2026-10-25}
  - {name: Kerst, from: 2026-12-19, to: 2027-01-03}
"""


def test_the_builtin_calendar_loads() -> None:
    calendar = coachflow.builtin_calendar()
    assert calendar == coachflow.builtin_calendar("nl-2026-2027-midden")
    assert calendar.region == "midden"
    assert calendar.name
    names = [h.name for h in calendar.holidays]
    assert any("Herfst" in n for n in names) and any("Kerst" in n for n in names)
    assert all(h.start <= h.end for h in calendar.holidays)
    assert calendar.is_holiday(date(2026, 12, 25))
    assert not calendar.is_school_day(date(2027, 1, 1))
    assert calendar.is_school_day(date(2027, 1, 4))
    with pytest.raises(LookupError):
        coachflow.builtin_calendar("nl-1999-noord")


def test_load_calendar_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "cal.yaml"
    path.write_text(CALENDAR_YAML, encoding="utf-8")
    calendar = coachflow.load_calendar(path)
    assert calendar == SchoolCalendar(
        "Test",
        (
            Holiday("Herfst", date(2026, 10, 17), date(2026, 10, 25)),
            Holiday("Kerst", date(2026, 12, 19), date(2027, 1, 3)),
        ),
        "noord",
    )
    assert coachflow.load_calendar(str(path)) == calendar


@pytest.mark.parametrize(
    ("text", "line", "token", "words"),
    [
        (CALENDAR_YAML + "year: 2026\n", 7, "year", "'year'"),
        (
            CALENDAR_YAML.replace("to: 2026-10-25", "to: 2026-10-10"),
            5,
            "2026-10-10",
            "before it starts",
        ),
        (CALENDAR_YAML.replace("2026-10-17", "2026-02-30"), 5, "{name: Herfst", "2026-02-30"),
        (CALENDAR_YAML.replace("2026-10-17", "tomorrow"), 5, "{name: Herfst", "tomorrow"),
        (CALENDAR_YAML.replace("to: 2026-10-25", "until: 2026-10-25"), 5, "{name", "holiday"),
        (CALENDAR_YAML.replace("calendar: 1", "calendar: 2"), 1, "2", "calendar: 1"),
        (CALENDAR_YAML.replace("name: Test", "name: [a]"), 2, "[a]", "name"),
        ("calendar: 1\nname: x\nholidays: {a: 1}\n", 3, "{a", "list"),
    ],
)
def test_load_calendar_rejects_bad_files(
    tmp_path: Path, text: str, line: int, token: str, words: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        coachflow.load_calendar(path)
    [d] = caught.value.diagnostics
    row = text.splitlines()[line - 1]
    assert (d.path, d.severity, d.line, d.column) == (
        str(path),
        "error",
        line,
        row.index(token) + 1,
    )
    assert words in d.message


def test_load_calendar_reports_every_problem(tmp_path: Path) -> None:
    text = CALENDAR_YAML.replace("2026-10-25", "2026-10-01").replace("2027-01-03", "x") + "a: 1\n"
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        coachflow.load_calendar(path)
    assert sorted(d.line for d in caught.value.diagnostics) == [5, 6, 7]


def test_load_calendar_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        coachflow.load_calendar(tmp_path / "nope.yaml")


def test_a_calendar_whose_holiday_ends_before_it_starts_cannot_be_built() -> None:
    with pytest.raises(ValueError):
        SchoolCalendar("x", (Holiday("h", date(2026, 10, 2), date(2026, 10, 1)),))


def test_unknown_calendar_key_is_located_at_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(CALENDAR_YAML + "year: 2026\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        coachflow.load_calendar(path)
    [d] = caught.value.diagnostics
    assert (d.line, d.column) == (7, 1)


# --- workload -----------------------------------------------------------------------------

WORKLOAD_YAML = """\
coachflow: 1
id: starter-year
version: 1
roles:
  coach: {}
  starter: {}
  director: {}
initial: period_1
states:
  period_1: {weeks: {from: 1, to: 18}}
  after_christmas: {weeks: {from: 19, to: 40}}
  closed: {final: true}
transitions:
  - event: next
    from: period_1
    to: after_christmas
    by: [director]
  - event: close
    from: after_christmas
    to: closed
    by: [director]
activities:
  visit_w2: {by: [coach], during: [period_1], due: {week: 2}, hours: {coach: 0.5}}
  talk_w2: {by: [coach], during: [period_1], due: {week: 2}, hours: {coach: 0.75, starter: 0.75}}
  visit_w4: {by: [coach], during: [period_1], due: {week: 4}, hours: {coach: 0.5}}
  talk_w4: {by: [coach], during: [period_1], due: {week: 4}, hours: {coach: 0.75, starter: 0.75}}
  monthly_contact:
    by: [coach, starter]
    during: [after_christmas]
    recurring: {every: month, at_least: 1}
    hours: {coach: 1, starter: 1}
  weekly_log:
    by: [starter]
    during: [period_1]
    recurring: {every: week, at_least: 2}
    hours: {starter: 0.25}
  yearly_review:
    by: [coach]
    during: [period_1, after_christmas]
    recurring: {every: year}
    hours: {coach: 2}
  no_hours: {by: [coach]}
"""


def test_workload_sums_hours_per_role_times_count() -> None:
    d = coachflow.loads_definition(WORKLOAD_YAML)
    assert coachflow.validate_text(WORKLOAD_YAML) == []
    # once: 2 visits of 1/2 h and 2 talks of 3/4 h
    assert d.occurrences("visit_w2") == 1
    # after_christmas spans weeks 19-40: 22 weeks, about 5 months
    assert d.occurrences("monthly_contact") == 5
    # period_1 spans 18 weeks, twice a week
    assert d.occurrences("weekly_log") == 36
    # 40 weeks: less than a year, still once
    assert d.occurrences("yearly_review") == 1
    one = d.workload()
    assert one == {
        "coach": 2 * 0.5 + 2 * 0.75 + 5 * 1 + 2,
        "starter": 2 * 0.75 + 5 * 1 + 36 * 0.25,
    }
    assert d.workload(1) == one
    ten = d.workload(10)
    assert ten == {"coach": 95.0, "starter": 155.0}
    assert "director" not in ten  # no activity declares hours for it


def test_workload_of_a_recurring_activity_without_weeks_is_at_least_once() -> None:
    text = WORKLOAD_YAML.replace("{weeks: {from: 19, to: 40}}", "{}")
    d = coachflow.loads_definition(text)
    assert d.occurrences("monthly_contact") == 1
    assert d.workload()["coach"] == 2 * 0.5 + 2 * 0.75 + 1 + 2


def test_workload_without_activities_is_empty() -> None:
    text = WORKLOAD_YAML.split("activities:")[0]
    assert coachflow.loads_definition(text).workload(3) == {}
