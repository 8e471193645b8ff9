"""The starter year on every built-in school calendar (issue 15): how week N is counted.

Week N is the N-th school week (holiday weeks skipped). The source's first period, weeks 1
to 18, comes before the Christmas holiday ("Na de kerstvakantie gaat de leerkracht verder
met zijn/haar POP"), which no Dutch school year has 18 school weeks before: the agenda keeps
each first-period activity before the calendar's Kerstvakantie and says so in its notice,
exactly where school week N falls after the holiday has begun. Started on the first school
day of each region and year, the schedule keeps the source's order, the second period's
items come after Christmas, and nothing runs past the calendar.
"""

from __future__ import annotations

import warnings
from datetime import date, timedelta
from pathlib import Path

import pytest

import coachflow
from coachflow import CalendarWarning, Engine, FixedClock, GuardFailed, builtin_calendar
from coachflow.calendar import week_end

ROOT = Path(__file__).resolve().parents[2]
DEF = coachflow.load_definition(ROOT / "definitions" / "starter-year.yaml")
PEOPLE = {"starter": "anna", "coach": "bram", "director": "carla", "buddy": "daan"}
CALENDARS = coachflow.builtin_calendars()


def started(calendar: coachflow.SchoolCalendar, start: date) -> tuple[Engine, FixedClock]:
    clock = FixedClock(f"{start.isoformat()}T08:00:00+00:00")
    engine = Engine([DEF], clock=clock, calendar=calendar)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalendarWarning)  # a start inside the school year
        engine.start("starter-year", participants=PEOPLE, actor="carla", trajectory_id="sy")
    return engine, clock


def school_weeks_before(calendar: coachflow.SchoolCalendar, start: date, day: date) -> int:
    """How many school weeks of a trajectory started on ``start`` begin before ``day``."""
    week = 0
    while week_end(start, week + 1, calendar) - timedelta(days=6) < day:
        week += 1
    return week


def test_there_are_nine_built_in_calendars_of_three_regions_and_three_years() -> None:
    assert (
        sorted(
            f"nl-{year}-{year + 1}-{region}"
            for year in (2025, 2026, 2027)
            for region in ("midden", "noord", "zuid")
        )
        == CALENDARS
    )


@pytest.mark.parametrize("name", CALENDARS)
def test_the_schedule_keeps_the_sources_order_on_every_built_in_calendar(name: str) -> None:
    calendar = builtin_calendar(name)
    assert calendar.school_year is not None
    start = calendar.school_year[0]
    christmas = calendar.holiday("kerstvakantie", start)
    assert christmas is not None
    engine, _ = started(calendar, start)
    items = {i.activity: i for i in engine.agenda("sy", as_of=start)}
    weeks = {a: d.due.week for a, d in DEF.activities.items() if d.due and d.due.week}
    before_christmas = school_weeks_before(calendar, start, christmas.start)
    assert 14 <= before_christmas < 18, before_christmas  # never the source's 18
    last_day_before = christmas.start - timedelta(days=1)
    for activity, week in weeks.items():
        item = items[activity]
        assert item.due_date is not None
        if DEF.activities[activity].during == ("period_1",):
            assert item.due_date < christmas.start, (activity, item.due_date)
            if week > before_christmas:
                assert item.due_date == last_day_before, activity
                assert item.notice is not None and f"school week {week} " in item.notice
                assert christmas.name in item.notice
            else:
                # a school week just before the holiday: due on its last day before it
                planned = min(week_end(start, week, calendar), last_day_before)
                assert item.due_date == planned, activity
                assert item.notice is None, (activity, item.notice)
        else:
            assert item.due_date > christmas.end, (activity, item.due_date)
            assert item.notice is None, (activity, item.notice)  # week 38 is in the calendar
            assert calendar.covers(item.due_date)
    # in the source's week order, the due dates never go back
    in_order = sorted(weeks, key=lambda a: weeks[a])
    dues = [items[a].due_date for a in in_order]
    assert dues == sorted(dues)  # type: ignore[type-var]


@pytest.mark.parametrize("name", CALENDARS)
def test_the_second_period_starts_on_the_first_day_after_christmas(name: str) -> None:
    calendar = builtin_calendar(name)
    assert calendar.school_year is not None
    start = calendar.school_year[0]
    christmas = calendar.holiday("kerstvakantie", start)
    assert christmas is not None
    engine, clock = started(calendar, start)
    clock.set(f"{(christmas.start - timedelta(days=3)).isoformat()}T10:00:00+00:00")
    week_18 = {
        "checklist_starter_w18": (
            "anna",
            dict.fromkeys(("class_management", "interaction", "leadership"), "x"),
        ),
        "checklist_coach_w18": (
            "bram",
            dict.fromkeys(("class_management", "interaction", "leadership"), "x"),
        ),
        "checklists_discussed_w18": ("bram", {"work_points": "x"}),
        "pop_w18": ("anna", {"pop": "p", "contact_moments": "c"}),
    }
    for activity, (actor, form) in week_18.items():
        clock.advance(minutes=1)
        engine.record_activity("sy", activity, actor=actor, input=form)
    clock.set(f"{christmas.end.isoformat()}T16:00:00+00:00")  # the holiday's last day
    with pytest.raises(GuardFailed):
        engine.fire("sy", "start_period_2", actor="bram")
    clock.set(f"{(christmas.end + timedelta(days=1)).isoformat()}T08:00:00+00:00")
    assert engine.fire("sy", "start_period_2", actor="bram").state == "period_2"


def test_a_start_past_the_calendar_warns_and_the_agenda_says_so() -> None:
    """A trajectory whose weeks run past its calendar's school year gets a warning from
    ``start`` and a notice on every agenda item due after the calendar ends."""
    calendar = builtin_calendar("nl-2026-2027-midden")
    clock = FixedClock("2027-03-01T08:00:00+00:00")
    engine = Engine([DEF], clock=clock, calendar=calendar)
    with pytest.warns(CalendarWarning) as caught:
        engine.start("starter-year", participants=PEOPLE, actor="carla", trajectory_id="late")
    (warning,) = caught
    message = str(warning.message)
    assert message.startswith("late: week 38 of the trajectory ends on 2028-01-09, after the end")
    last = calendar.last_day
    assert last == date(2027, 8, 29)
    assert f"after the end of the school calendar {calendar.name!r} ({last})" in message
    items = engine.agenda("late", as_of="2027-03-01")
    late = [i for i in items if i.due_date is not None and i.due_date > last]
    assert late and all(
        i.notice and "after the end of the school calendar" in i.notice for i in late
    )
    inside = [i for i in items if i.due_date is not None and i.due_date <= last]
    assert inside and all(
        i.notice is None or "after the end of the school calendar" not in i.notice for i in inside
    )


def test_a_start_before_the_calendar_warns() -> None:
    calendar = builtin_calendar("nl-2026-2027-midden")
    engine = Engine([DEF], clock=FixedClock("2026-06-01T08:00:00+00:00"), calendar=calendar)
    with pytest.warns(CalendarWarning) as caught:
        engine.start("starter-year", participants=PEOPLE, actor="carla", trajectory_id="early")
    assert [str(w.message) for w in caught] == [
        f"early: the trajectory starts on 2026-06-01, outside the school calendar "
        f"{calendar.name!r}: its holidays do not apply there"
    ]
