"""School calendars at their edges (found in review of issue 15): which holiday a
trajectory means, weeks beyond a calendar, holiday names in any script, and the notice of
an activity kept before a holiday that begins mid-week."""

from __future__ import annotations

import warnings
from datetime import date

import pytest

from coachflow import (
    CalendarWarning,
    Engine,
    FixedClock,
    GuardFailed,
    Holiday,
    SchoolCalendar,
    loads_definition,
)
from coachflow.calendar import week_end

CHRISTMAS_26 = Holiday("Kerstvakantie", date(2026, 12, 19), date(2027, 1, 3))
CHRISTMAS_27 = Holiday("Kerstvakantie", date(2027, 12, 25), date(2028, 1, 9))

ROUTE = loads_definition(
    """\
coachflow: 1
id: edges
version: 1
roles: {coach: {required: true}}
started_by: [coach]
initial: first
states:
  first: {}
  second: {}
  done: {final: true}
transitions:
  - {event: on, from: first, to: second, by: [coach], when: 'today > holiday_end("kerstvakantie")'}
  - {event: end, from: second, to: done, by: [coach]}
activities:
  lesson: {by: [coach], during: [first], due: {week: 16, before: kerstvakantie}}
"""
)


def run(calendar: SchoolCalendar, start: str, now: str | None = None) -> tuple[Engine, str]:
    engine = Engine([ROUTE], clock=FixedClock(f"{now or start}T09:00:00+00:00"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalendarWarning)
        t = engine.start(
            "edges", participants={"coach": "c"}, actor="c", start_date=start, calendar=calendar
        )
    return engine, t.id


def test_a_january_start_reads_the_christmas_holiday_of_its_own_school_year() -> None:
    """A calendar of two school years (a school's multi-year feed): a trajectory started
    in January 2027 is after the Christmas holiday of its school year, not before the next
    one."""
    two_years = SchoolCalendar("two years", (CHRISTMAS_26, CHRISTMAS_27))
    assert two_years.holiday("kerstvakantie", date(2027, 1, 11)) == CHRISTMAS_26
    assert two_years.holiday("kerstvakantie", date(2026, 9, 1)) == CHRISTMAS_26
    assert two_years.holiday("kerstvakantie", date(2027, 9, 1)) == CHRISTMAS_27
    # 1 August turns the school year: a start on 31 July is still in 2026-2027
    assert two_years.holiday("kerstvakantie", date(2027, 7, 31)) == CHRISTMAS_26
    assert two_years.holiday("kerstvakantie", date(2027, 8, 1)) == CHRISTMAS_27
    engine, tid = run(two_years, "2027-01-11")
    assert engine.fire(tid, "on", actor="c").state == "second"


def test_a_christmas_holiday_in_two_entries_is_one_holiday() -> None:
    split = SchoolCalendar(
        "split",
        (
            Holiday("Kerstvakantie", date(2026, 12, 19), date(2026, 12, 31)),
            Holiday("Kerstvakantie", date(2027, 1, 1), date(2027, 1, 3)),
        ),
    )
    found = split.holiday("kerstvakantie", date(2026, 8, 31))
    assert found is not None and (found.start, found.end) == (date(2026, 12, 19), date(2027, 1, 3))
    engine, tid = run(split, "2026-08-31", now="2027-01-02")
    with pytest.raises(GuardFailed) as refused:
        engine.fire(tid, "on", actor="c")
    assert refused.value.values["holiday kerstvakantie"] == "2026-12-19 to 2027-01-03"


def test_an_activity_that_belonged_before_a_holiday_already_begun_says_so() -> None:
    one_year = SchoolCalendar("one year", (CHRISTMAS_26,))
    engine, tid = run(one_year, "2027-01-11")
    [item] = engine.agenda(tid)
    assert item.due_date == week_end(date(2027, 1, 11), 16, one_year)
    assert item.notice is not None
    assert "belongs before the Kerstvakantie (2026-12-19 to 2027-01-03)" in item.notice
    assert "started on 2027-01-11, after it began" in item.notice


def test_a_holiday_that_begins_mid_week_moves_the_due_date_with_a_notice() -> None:
    """School week 16 of a start on 31 August 2026 is 14-18 December; a holiday from
    Wednesday 16 December takes three of its school days: due on the 15th, and said."""
    midweek = SchoolCalendar(
        "midweek", (Holiday("Kerstvakantie", date(2026, 12, 16), date(2027, 1, 3)),)
    )
    engine, tid = run(midweek, "2026-08-31")
    [item] = engine.agenda(tid)
    assert item.due_date == date(2026, 12, 15)
    assert item.notice is not None and "school week 16" in item.notice
    # a holiday from the Saturday: the week's school days all come before it, no notice
    saturday = SchoolCalendar(
        "saturday", (Holiday("Kerstvakantie", date(2026, 12, 26), date(2027, 1, 3)),)
    )
    engine, tid = run(saturday, "2026-09-07")
    [item] = engine.agenda(tid)
    assert item.due_date == date(2026, 12, 25) and item.notice is None


def test_holiday_names_in_any_script() -> None:
    orthodox = Holiday("Рождество Христово", date(2027, 1, 7), date(2027, 1, 7))
    assert orthodox.is_named("рождество")
    assert not Holiday("Ōbon", date(2026, 8, 13), date(2026, 8, 16)).is_named("bon")
    assert Holiday("Kerst-vakantie 2026", date(2026, 12, 19), date(2027, 1, 3)).is_named(
        "kerst vakantie"
    )


@pytest.mark.parametrize("week", [1999, 2000])
def test_weeks_far_beyond_the_calendar_have_an_end(week: int) -> None:
    """Past its last holiday every week of a calendar counts; a start whose weeks run far
    past it warns, writes the trajectory once, and raises nothing."""
    calendar = SchoolCalendar("one year", (CHRISTMAS_26,))
    start = date(2026, 8, 31)
    # the two weeks of the Christmas holiday are skipped, every week after it counts
    assert week_end(start, week, calendar) == week_end(start, week + 2)
    long = loads_definition(
        f"""\
coachflow: 1
id: long
version: 1
roles: {{coach: {{required: true}}}}
started_by: [coach]
initial: a
states: {{a: {{weeks: {{from: 1, to: {week}}}}}, z: {{final: true}}}}
transitions: [{{event: go, from: a, to: z, by: [coach]}}]
"""
    )
    engine = Engine([long], clock=FixedClock("2026-08-31T09:00:00+00:00"), calendar=calendar)
    with pytest.warns(CalendarWarning, match=f"week {week} of the trajectory ends on"):
        t = engine.start("long", participants={"coach": "c"}, actor="c")
    assert list(engine.store.ids()) == [t.id]


def test_a_calendar_of_holidays_to_the_end_of_time_counts_no_week() -> None:
    forever = SchoolCalendar("forever", (Holiday("Vakantie", date(2026, 1, 1), date.max),))
    assert week_end(date(2026, 9, 7), 3, forever) == date.max
