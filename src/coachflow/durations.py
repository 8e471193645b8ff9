"""Durations of the definition language, and suspended time: stdlib only.

A duration is ISO 8601 (``P7D``, ``P2W``, ``P1M``, ``P1Y2M10D``: years, months, weeks and
days; a moment's hours mean nothing to a day-granular schedule) or a number of school weeks
(``{school_weeks: 4}``), which skips the weeks of the trajectory's school calendar whose
weekdays are all holidays.

A suspension ("opschorting": sick leave, parental leave) is a :data:`Pause`: from the day
it began to the day it ended (``None`` while it lasts). Every date a trajectory's schedule
computes moves by the suspended time before it: school days for dates counted in school
weeks, calendar days for those counted by an ISO duration (:func:`shifted`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from coachflow._bounds import MAX_DAYS, MAX_WEEK
from coachflow.calendar import SchoolCalendar, monday_of

_ISO = re.compile(r"^P(?!$)(?:(\d{1,5})Y)?(?:(\d{1,5})M)?(?:(\d{1,5})W)?(?:(\d{1,5})D)?$")

Pause = tuple[date, "date | None"]
"""A suspension: the day it began and the day it ended (None while it lasts)."""


@dataclass(frozen=True, slots=True)
class Duration:
    """A span of a schedule: calendar years, months and days, or school weeks."""

    years: int = 0
    months: int = 0
    days: int = 0
    school_weeks: int = 0

    @property
    def in_school_weeks(self) -> bool:
        """Counted in school weeks (its suspended time is counted in school days)."""
        return self.school_weeks > 0

    def __str__(self) -> str:
        if self.school_weeks:
            n = self.school_weeks
            return f"{n} school week{'s' * (n != 1)}"
        text = "P"
        for amount, unit in ((self.years, "Y"), (self.months, "M")):
            if amount:
                text += f"{amount}{unit}"
        if self.days or text == "P":
            weeks, days = divmod(self.days, 7)
            text += f"{weeks}W" if weeks and not days else f"{self.days}D"
        return text

    def after(self, day: date, calendar: SchoolCalendar | None = None) -> date:
        """The day this long after ``day``."""
        return self._move(day, calendar, 1)

    def before(self, day: date, calendar: SchoolCalendar | None = None) -> date:
        """The day this long before ``day``."""
        return self._move(day, calendar, -1)

    def _move(self, day: date, calendar: SchoolCalendar | None, sign: int) -> date:
        try:
            if self.school_weeks:
                if calendar is None:
                    return day + timedelta(weeks=sign * self.school_weeks)
                return _school_weeks(day, sign * self.school_weeks, calendar)
            months = day.month - 1 + sign * (12 * self.years + self.months)
            year, month = day.year + months // 12, months % 12 + 1
            moved = day.replace(year=year, month=month, day=min(day.day, _month_days(year, month)))
            return moved + timedelta(days=sign * self.days)
        except (OverflowError, ValueError):  # past the end (or start) of the calendar
            return date.max if sign > 0 else date.min


def _month_days(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def duration_key(duration: Duration) -> str:
    """A duration as a timer's key shows it: ``P1W`` for ``P7D``, ``4SW`` for school weeks."""
    return f"{duration.school_weeks}SW" if duration.in_school_weeks else str(duration)


def parse_duration(value: object) -> Duration:
    """A duration from what a definition writes: an ISO 8601 text (``P7D``, ``P2W``,
    ``P1M``, ``P1Y``) or ``{school_weeks: N}``; ValueError says what is wrong."""
    if isinstance(value, Duration):
        return value
    if isinstance(value, Mapping):
        weeks = value.get("school_weeks")
        if set(value) != {"school_weeks"} or isinstance(weeks, bool) or not isinstance(weeks, int):
            raise ValueError(
                "a duration in school weeks is written {school_weeks: N} (N a whole number)"
            )
        if not 0 < weeks <= MAX_WEEK:
            raise ValueError(f"school_weeks: 1 to {MAX_WEEK}, not {weeks}")
        return Duration(school_weeks=weeks)
    found = _ISO.match(value) if isinstance(value, str) else None
    if found is None:
        raise ValueError(
            "expected an ISO 8601 duration of years, months, weeks or days (P7D, P2W, P1M, "
            f"P1Y) or {{school_weeks: N}}, got {value!r:.40}"
        )
    years, months, weeks, days = (int(g) if g else 0 for g in found.groups())
    duration = Duration(years, months, 7 * weeks + days)
    if 366 * years + 31 * months + 7 * weeks + days > MAX_DAYS:
        raise ValueError(f"{value} is longer than the schedules reach ({MAX_DAYS:,} days)")
    if duration == Duration():
        raise ValueError(f"{value} is no time at all: a duration is longer than 0 days")
    return duration


@lru_cache(maxsize=8192)
def _school_weeks(day: date, weeks: int, calendar: SchoolCalendar) -> date:
    """The same weekday ``weeks`` school weeks later (earlier when negative): the week of
    ``day`` does not count, and a week whose weekdays are all holidays is skipped."""
    step = 7 if weeks > 0 else -7
    monday = monday_of(day)
    first = min((h.start for h in calendar.holidays), default=day)
    last = max((h.end for h in calendar.holidays), default=day)
    counted, moved = 0, 0
    while counted < abs(weeks):
        moved += step
        week = monday + timedelta(days=moved)
        if (week > last) if step > 0 else (week + timedelta(days=6) < first):
            # no holiday beyond, in the direction counted: every week left counts at once
            moved += step * (abs(weeks) - counted - 1)
            break
        if calendar.is_school_week(week):
            counted += 1
    return day + timedelta(days=moved)


def school_days(start: date, end: date, calendar: SchoolCalendar | None) -> int:
    """The school days from ``start`` up to (not including) ``end``: weekdays that are
    not holidays of ``calendar``."""
    if end <= start:
        return 0
    days = (end - start).days
    weeks, rest = divmod(days, 7)
    count = 5 * weeks + sum(1 for i in range(rest) if (start.weekday() + i) % 7 < 5)
    if calendar is None:
        return count
    for h in calendar.holidays:
        low, high = max(h.start, start), min(h.end, end - timedelta(days=1))
        day = low
        while day <= high:
            if day.weekday() < 5 and not _earlier_holiday(calendar, h, day):
                count -= 1
            day += timedelta(days=1)
    return count


def _earlier_holiday(calendar: SchoolCalendar, holiday: object, day: date) -> bool:
    """Whether a holiday listed before ``holiday`` also holds ``day`` (counted there)."""
    for h in calendar.holidays:
        if h is holiday:
            return False
        if h.start <= day <= h.end:
            return True
    return False


def add_school_days(day: date, count: int, calendar: SchoolCalendar | None) -> date:
    """``day`` moved on by ``count`` school days: the ``count``-th school day after it (a
    weekend day stays the same day of its weekend)."""
    if count <= 0:
        return day
    moved = day
    left = count
    while left:
        moved += timedelta(days=1)
        if moved.weekday() < 5 and (calendar is None or not calendar.is_holiday(moved)):
            left -= 1
    if day.weekday() >= 5 and moved.weekday() == 4:
        moved += timedelta(days=day.weekday() - 4)
    return moved


def suspended_days(pause: Pause, as_of: date, school: bool, calendar: SchoolCalendar | None) -> int:
    """How long a pause lasted (up to ``as_of`` while it lasts): school days or days."""
    start, end = pause
    until = as_of if end is None else end
    if school:
        return school_days(start, until, calendar)
    return max(0, (until - start).days)


def shifted(
    day: date,
    pauses: Sequence[Pause],
    *,
    school: bool,
    calendar: SchoolCalendar | None,
    as_of: date | None = None,
    since: date | None = None,
) -> date:
    """``day`` moved on by every pause that began on or before it: by its school days
    when ``school``, else its calendar days. With ``since`` (the day the span that ends on
    ``day`` began), only a pause's part from ``since`` on counts: one that ended before it
    moves nothing. A pause still lasting counts up to ``as_of`` (today when it is None:
    nothing moves)."""
    for pause in pauses:
        start, end = pause
        if since is not None and start < since:
            if end is not None and end <= since:
                continue
            start = since
            pause = (start, end)
        if start > day:
            continue
        if end is None and as_of is None:
            continue
        n = suspended_days(pause, as_of or start, school, calendar)
        if school:
            day = add_school_days(day, n, calendar)
        else:
            day = day + timedelta(days=n) if day < date.max - timedelta(days=n) else date.max
    return day


__all__ = [
    "Duration",
    "Pause",
    "add_school_days",
    "duration_key",
    "parse_duration",
    "school_days",
    "shifted",
    "suspended_days",
]
