"""School calendars and week numbers: stdlib only.

Weeks count from a trajectory's start date: week 1 is the calendar week (Monday to
Sunday) that holds the start date, and a due week means the last day (Sunday) of that
week. With a :class:`SchoolCalendar`, "week N" is the N-th *school* week: weeks whose
weekdays are all holidays are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import NotRequired, TypedDict

HolidayData = TypedDict("HolidayData", {"name": str, "from": str, "to": str})
"""A holiday as plain data: its days as ISO text (``from`` and ``to`` both count)."""


class CalendarData(TypedDict):
    """A calendar as plain data (:meth:`SchoolCalendar.as_data`), as a record's input and
    the store hold it: JSON lists come back as tuples."""

    name: str
    region: str | None
    holidays: tuple[HolidayData, ...]
    school_year: NotRequired[tuple[str, str] | None]
    """The first and last day the calendar covers, as ISO text (absent in data stored
    before calendars had it)."""
    source: NotRequired[str | None]


def holiday_key(name: str) -> str:
    """How a definition names a holiday: lower case, without spaces, hyphens or
    punctuation (``"Kerst-vakantie 2026"`` -> ``"kerstvakantie2026"``)."""
    return "".join(c for c in name.casefold() if c.isalnum())


@dataclass(frozen=True, slots=True)
class Holiday:
    name: str
    start: date
    end: date  # inclusive

    def is_named(self, name: str) -> bool:
        """True when a definition's holiday name ``name`` (e.g. ``kerstvakantie``) names
        this holiday: this holiday's :func:`holiday_key` starts with ``name``'s, so
        ``Kerstvakantie 2026`` is ``kerstvakantie``."""
        key = holiday_key(name)
        return bool(key) and holiday_key(self.name).startswith(key)


@dataclass(frozen=True, slots=True)
class SchoolCalendar:
    """Holiday periods of a school year (and region)."""

    name: str
    holidays: tuple[Holiday, ...] = ()
    region: str | None = None
    school_year: tuple[date, date] | None = None
    """The first and the last day the calendar covers (its school year, holidays
    included); ``None`` when it does not say."""
    source: str | None = None
    """Where its dates come from (a publication, a school's own roster)."""

    def __post_init__(self) -> None:
        for h in self.holidays:
            if h.end < h.start:
                raise ValueError(f"holiday {h.name!r} ends ({h.end}) before it starts ({h.start})")
        if self.school_year is not None and self.school_year[1] < self.school_year[0]:
            first, last = self.school_year
            raise ValueError(f"the school year ends ({last}) before it starts ({first})")

    @property
    def last_day(self) -> date | None:
        """The last day the calendar knows about: the end of its school year, or else of
        its last holiday (``None`` for a calendar without either)."""
        if self.school_year is not None:
            return self.school_year[1]
        return max((h.end for h in self.holidays), default=None)

    def covers(self, day: date) -> bool:
        """True when ``day`` falls in the calendar's school year (without one: on or
        before the end of its last holiday); past it, every week counts as a school week,
        since the calendar knows no holidays there."""
        if self.school_year is not None and day < self.school_year[0]:
            return False
        last = self.last_day
        return last is None or day <= last

    def holiday(self, name: str, start: date) -> Holiday | None:
        """The holiday a definition names ``name`` for a trajectory that started on
        ``start``: the first one of that name in the school year holding ``start`` (1
        August to 31 July), else the first that ends on or after ``start``, else the last
        one before it; ``None`` when the calendar has no holiday of that name. Holidays of
        that name that follow one another without a day between are one holiday (a
        Kerstvakantie written as two entries, before and after New Year)."""
        return _named_holiday(self, name, start)

    def is_holiday(self, day: date) -> bool:
        return any(h.start <= day <= h.end for h in self.holidays)

    def is_school_day(self, day: date) -> bool:
        return day.weekday() < 5 and not self.is_holiday(day)

    def is_school_week(self, monday: date) -> bool:
        """True when at least one weekday of the week starting ``monday`` is a school day."""
        return any(self.is_school_day(monday + timedelta(days=i)) for i in range(5))

    def has_school_day(self, start: date, end: date) -> bool:
        day = start
        while day <= end:
            if self.is_school_day(day):
                return True
            day += timedelta(days=1)
        return False

    def as_data(self) -> CalendarData:
        data: CalendarData = {
            "name": self.name,
            "region": self.region,
            "holidays": tuple(  # a tuple, as the store gives JSON lists back
                {"name": h.name, "from": h.start.isoformat(), "to": h.end.isoformat()}
                for h in self.holidays
            ),
        }
        if self.school_year is not None:
            data["school_year"] = (self.school_year[0].isoformat(), self.school_year[1].isoformat())
        if self.source is not None:
            data["source"] = self.source
        return data

    @classmethod
    def from_data(cls, data: CalendarData) -> SchoolCalendar:
        return cls(
            name=str(data["name"]),
            region=data.get("region"),
            holidays=tuple(
                Holiday(str(h["name"]), _day(h["from"]), _day(h["to"]))
                for h in data.get("holidays", ())
            ),
            school_year=(_day(year[0]), _day(year[1]))
            if (year := data.get("school_year"))
            else None,
            source=data.get("source"),
        )


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def school_year_of(day: date) -> int:
    """The year in which the Dutch school year holding ``day`` starts: a school year runs
    from 1 August to 31 July (``school_year_of(date(2027, 3, 18)) == 2026``)."""
    return day.year if day.month >= 8 else day.year - 1


_NO_DAY = date.min
_LAST_MONDAY = date(9999, 12, 20)
"""No week is counted from a Monday after this one (the next would pass ``date.max``)."""


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@lru_cache(maxsize=4096)
def _named_holiday(calendar: SchoolCalendar, name: str, start: date) -> Holiday | None:
    """:meth:`SchoolCalendar.holiday`, once per calendar, name and start (every commit of
    a trajectory asks it again: its next due date)."""
    named: list[Holiday] = []
    for h in sorted((h for h in calendar.holidays if h.is_named(name)), key=lambda h: h.start):
        if named and h.start <= named[-1].end + timedelta(days=1):
            last = named[-1]
            named[-1] = Holiday(last.name, last.start, max(last.end, h.end))
        else:
            named.append(h)
    year = school_year_of(start)
    first, last_day = date(year, 8, 1), date(year + 1, 7, 31)
    for h in named:
        if first <= h.start <= last_day:
            return h
    for h in named:
        if h.end >= start:
            return h
    return named[-1] if named else None


def week_end(start: date, week: int, calendar: SchoolCalendar | None = None) -> date:
    """The last day (Sunday) of week ``week`` of a trajectory that started on ``start``."""
    monday = monday_of(start)
    if calendar is None:
        return monday + timedelta(weeks=week - 1, days=6)
    return _school_week_end(monday, week, calendar)


@lru_cache(maxsize=8192)
def _school_week_end(monday: date, week: int, calendar: SchoolCalendar) -> date:
    """The Sunday of school week ``week`` counted from ``monday``, once per calendar (the
    agenda and every commit's next due date ask for the same weeks again and again)."""
    counted = 0
    # past the calendar's last holiday every week is a school week: counted at once, so
    # that any week number has an end, however many holiday weeks come before it
    last = min(max((h.end for h in calendar.holidays), default=_NO_DAY), _LAST_MONDAY)
    while monday <= last:
        if calendar.is_school_week(monday):
            counted += 1
            if counted == week:
                return monday + timedelta(days=6)
        monday += timedelta(weeks=1)
    try:
        return monday + timedelta(weeks=week - counted - 1, days=6)
    except OverflowError:  # a calendar of holidays up to the end of time: never
        return date.max


def missing_holidays(
    names: Iterable[str], calendar: SchoolCalendar | None, start: date
) -> list[str]:
    """The holiday names of ``names`` that ``calendar`` has no holiday for, for a
    trajectory started on ``start`` (all of them without a calendar), sorted."""
    return sorted(n for n in names if calendar is None or calendar.holiday(n, start) is None)


def due_before(
    day: date, start: date, calendar: SchoolCalendar | None, holiday: str | None
) -> tuple[date, Holiday | None]:
    """A due ``day`` kept before ``holiday`` (a definition's holiday name) of a
    trajectory that started on ``start``: when ``day`` falls in or after that holiday, the
    day before the holiday starts, and the holiday; else ``day`` and ``None``."""
    if holiday is None or calendar is None:
        return day, None
    found = calendar.holiday(holiday, start)
    if found is None or day < found.start or found.start <= start:
        return day, None
    return found.start - timedelta(days=1), found


def week_of(start: date, day: date, calendar: SchoolCalendar | None = None) -> int:
    """The (school) week number of ``day`` in a trajectory that started on ``start``."""
    monday = monday_of(start)
    target = monday_of(day)
    if calendar is None:
        return (target - monday).days // 7 + 1
    counted = 0
    while monday <= target:
        if calendar.is_school_week(monday):
            counted += 1
        monday += timedelta(weeks=1)
    return max(counted, 1)
