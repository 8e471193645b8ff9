"""iCalendar export of agenda items."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Protocol


class AgendaEntry(Protocol):
    """What an agenda item gives the export (``coachflow.AgendaItem`` is one)."""

    @property
    def uid(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def activity(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def due_date(self) -> date | None: ...
    @property
    def trajectory_id(self) -> str: ...
    @property
    def roles(self) -> tuple[str, ...]: ...


def to_ical(items: Iterable[AgendaEntry], *, name: str = "coachflow agenda") -> bytes:
    """An iCalendar file with one all-day event per item that has a due date. Each event's
    UID is stable, so importing a newer export updates events instead of adding them."""
    from icalendar import Calendar, Event

    cal = Calendar()
    cal.add("prodid", "-//coachflow//agenda//NL")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    for item in items:
        if item.due_date is None:
            continue
        event = Event()
        event.add("uid", item.uid)
        event.add("summary", f"{item.title or item.activity} ({item.status})")
        event.add("dtstart", item.due_date)
        event.add("dtend", item.due_date + timedelta(days=1))
        event.add("description", f"{item.trajectory_id}: {', '.join(item.roles)}")
        event.add("categories", [item.status])
        event.add("dtstamp", _stamp(item.due_date))
        cal.add_component(event)
    result: bytes = cal.to_ical()
    return result


def _stamp(day: date) -> datetime:
    from datetime import UTC

    return datetime(day.year, day.month, day.day, tzinfo=UTC)
