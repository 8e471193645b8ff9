"""School calendars and week numbers: stdlib only.

Weeks count from a trajectory's start date: week 1 is the calendar week (Monday to
Sunday) that holds the start date, and a due week means the last day (Sunday) of that
week. With a :class:`SchoolCalendar`, "week N" is the N-th *school* week: weeks whose
weekdays are all holidays are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypedDict

_MAX_WEEKS = 2000

HolidayData = TypedDict("HolidayData", {"name": str, "from": str, "to": str})
"""A holiday as plain data: its days as ISO text (``from`` and ``to`` both count)."""


class CalendarData(TypedDict):
    """A calendar as plain data (:meth:`SchoolCalendar.as_data`), as a record's input and
    the store hold it: JSON lists come back as tuples."""

    name: str
    region: str | None
    holidays: tuple[HolidayData, ...]


@dataclass(frozen=True, slots=True)
class Holiday:
    name: str
    start: date
    end: date  # inclusive


@dataclass(frozen=True, slots=True)
class SchoolCalendar:
    """Holiday periods of a school year (and region)."""

    name: str
    holidays: tuple[Holiday, ...] = ()
    region: str | None = None

    def __post_init__(self) -> None:
        for h in self.holidays:
            if h.end < h.start:
                raise ValueError(f"holiday {h.name!r} ends ({h.end}) before it starts ({h.start})")

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
        return {
            "name": self.name,
            "region": self.region,
            "holidays": tuple(  # a tuple, as the store gives JSON lists back
                {"name": h.name, "from": h.start.isoformat(), "to": h.end.isoformat()}
                for h in self.holidays
            ),
        }

    @classmethod
    def from_data(cls, data: CalendarData) -> SchoolCalendar:
        return cls(
            name=str(data["name"]),
            region=data.get("region"),
            holidays=tuple(
                Holiday(str(h["name"]), _day(h["from"]), _day(h["to"]))
                for h in data.get("holidays", ())
            ),
        )


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_end(start: date, week: int, calendar: SchoolCalendar | None = None) -> date:
    """The last day (Sunday) of week ``week`` of a trajectory that started on ``start``."""
    monday = monday_of(start)
    if calendar is None:
        return monday + timedelta(weeks=week - 1, days=6)
    counted = 0
    for _ in range(_MAX_WEEKS):
        if calendar.is_school_week(monday):
            counted += 1
            if counted == week:
                return monday + timedelta(days=6)
        monday += timedelta(weeks=1)
    raise ValueError(f"the calendar has fewer than {week} school weeks")


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
