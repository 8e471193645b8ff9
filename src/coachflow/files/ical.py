"""iCalendar export of agenda items: a feed that a calendar app may import or subscribe to,
and fetch again, and that stays right when it does.

The feed keeps no state of its own; each export says everything about every item:

- ``UID``: the item's :attr:`~coachflow.AgendaItem.uid` (trajectory, activity, period), the
  same in every export, so a newer file updates the event it made before;
- ``DTSTAMP``: when the feed was made (``stamp``: the engine's clock);
- ``SEQUENCE``: derived from the trajectory's version and the item's status (see
  :func:`sequence`), so it rises whenever the trajectory changes or the item's status
  moves on (upcoming, due, overdue or missed), and never falls;
- ``LAST-MODIFIED``: the time of the feed as well. An agenda item does not carry the time
  of its records, and the feed stores nothing, so the revision time of a single event is
  not known: the feed's time is the latest it can be. ``SEQUENCE`` is what tells a
  changed event from an unchanged one;
- ``STATUS``: ``CONFIRMED``, or ``TENTATIVE`` for an item of a suspended trajectory (its
  date holds only if the trajectory is resumed that day). A done item keeps
  ``CONFIRMED`` and says ``(done)`` in its ``SUMMARY`` (see :func:`to_ical` for why not
  ``CANCELLED``);
- ``TRANSP:TRANSPARENT``: a due date is a deadline, not a meeting: it blocks no time in a
  free/busy view.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from icalendar import Timezone


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
    @property
    def version(self) -> int: ...


STATUS_RANK: dict[str, int] = {
    "upcoming": 0,
    "due": 1,
    "overdue": 2,
    "missed": 2,
    "suspended": 3,
    "done": 3,
}
"""How far an item has moved on while its trajectory stays at one version
(:func:`sequence`). A status not listed (of another kind of :class:`AgendaEntry`) counts
as ``upcoming``."""
RANKS = max(STATUS_RANK.values()) + 1
"""What one more version of the trajectory is worth: more than any change of status."""


def sequence(item: AgendaEntry) -> int:
    """The ``SEQUENCE`` of an item's event: ``RANKS * version + rank of its status``.

    The trajectory's version only grows: with every record, so with every change that can
    move an item (a record for it, a fact its due date is read from, a suspension, its
    end, a migration), the sequence rises by at least ``RANKS`` - more than a fall of its
    rank can take away. Between two versions only time passes, and then an item's status
    only moves on (upcoming, due, overdue or missed), each step raising its rank. So a
    later export never has a lower sequence for a UID than an earlier one.
    """
    return RANKS * item.version + STATUS_RANK.get(item.status, 0)


def to_ical(
    items: Iterable[AgendaEntry],
    *,
    name: str = "coachflow agenda",
    stamp: datetime | None = None,
) -> bytes:
    """An iCalendar file with one all-day event per item that has a due date (the rules
    are in the module's documentation).

    Pass every item that was ever in the feed, the done ones too (``agenda``, or
    ``agenda_for(..., include_done=True)``): a calendar that subscribes to the feed drops
    an event that is no longer in it, and one that imported the file keeps it as it was
    (still due). A done item is marked ``(done)`` in its ``SUMMARY`` and keeps
    ``STATUS:CONFIRMED``: it did take place, while ``CANCELLED`` says an event will not,
    and calendar apps hide such events or strike them out (Google Calendar does not show
    them at all). The summary is what every app shows, in the list and on the day.

    ``stamp``: when the feed is made, timezone-aware (the engine's clock,
    ``engine.clock.now()``); it is every event's ``DTSTAMP`` and ``LAST-MODIFIED``, in UTC
    to the second. Default: the system clock now. The bytes of two exports differ by it,
    the UIDs never do.
    """
    from icalendar import Calendar, Event

    if stamp is None:
        stamp = datetime.now(UTC)
    elif stamp.tzinfo is None or stamp.utcoffset() is None:
        raise ValueError(f"stamp {stamp.isoformat()} has no timezone: pass an aware datetime")
    made = stamp.astimezone(UTC).replace(microsecond=0)
    cal = Calendar()
    cal.add("prodid", "-//coachflow//agenda//NL")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    events = 0
    for item in items:
        if item.due_date is None:
            continue
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", made)
        event.add("last-modified", made)
        event.add("sequence", sequence(item))
        event.add("summary", f"{item.title or item.activity} ({item.status})")
        event.add("dtstart", item.due_date)
        event.add("dtend", item.due_date + timedelta(days=1))
        event.add("status", "TENTATIVE" if item.status == "suspended" else "CONFIRMED")
        event.add("transp", "TRANSPARENT")
        event.add("description", f"{item.trajectory_id}: {', '.join(item.roles)}")
        event.add("categories", [item.status])
        cal.add_component(event)
        events += 1
    if not events:
        cal.add_component(_placeholder())
    result: bytes = cal.to_ical()
    return result


def _placeholder() -> Timezone:
    """The component of a feed without events.

    RFC 5545 (section 3.6) requires at least one component in a VCALENDAR; a parser may
    accept none (vobject does), but a stricter one need not. A placeholder VEVENT would
    show in the calendar as an event, and an ``X-`` component is one an app may not know.
    A VTIMEZONE is a component that every calendar app knows and none shows (an unused
    one is allowed). UTC: the feed has no times of day (every event is all-day), so no
    zone is more right than another.
    """
    from icalendar import Timezone, TimezoneStandard

    standard = TimezoneStandard()
    standard.add("dtstart", datetime(1970, 1, 1))
    standard.add("tzoffsetfrom", timedelta(0))
    standard.add("tzoffsetto", timedelta(0))
    standard.add("tzname", "UTC")
    zone = Timezone()
    zone.add("tzid", "UTC")
    zone.add_component(standard)
    return zone
