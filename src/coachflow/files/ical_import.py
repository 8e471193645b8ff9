"""A school's own iCalendar file (RFC 5545) read as a school calendar.

Schools publish their vakantierooster, study days included, as an ``.ics`` file. Every
**all-day** ``VEVENT`` of it is a holiday named by its ``SUMMARY``: ``DTSTART;VALUE=DATE``
is its first day, and ``DTEND`` the day *after* its last (RFC 5545 3.6.1: the end is
exclusive); without ``DTEND`` the event lasts one day, or its ``DURATION`` in days or weeks.
The rest is not a holiday, and is skipped and counted (:class:`IcalImport`):

* a **timed** event (``DTSTART:20261120T083000`` with or without ``TZID``, or in UTC): a
  parents' evening or a study *afternoon* closes no school day;
* a **repeating** all-day event (``RRULE`` or ``RDATE``) and a changed occurrence of one
  (``RECURRENCE-ID``): its days are not listed one by one, and guessing them (an endless
  rule, exceptions) could invent or lose a holiday; a school writes each holiday once;
* a **cancelled** event (``STATUS:CANCELLED``).

The calendar is named by ``X-WR-CALNAME`` (else after the file), and its ``source`` is the
file's name. The file is read by this module's own parser: line unfolding (a line that
starts with a space or tab continues the one before), CRLF or LF line ends, quoted
parameter values, escaped text, so that every problem is reported with its line and
column. A file that is not an iCalendar file, has no ``VCALENDAR``, a malformed date or
no all-day event at all gives diagnostics (code ``schema``), never an exception.

Standard library only (the files layer; the agenda *export* uses the ``icalendar``
package, :mod:`coachflow.files.ical`).
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from coachflow.calendar import Holiday, SchoolCalendar
from coachflow.diagnostics import ERROR, Diagnostic

MAX_DIAGNOSTICS = 50
"""At most this many problems are reported for one file."""
MAX_HOLIDAY_DAYS = 366
"""The longest all-day event read as a holiday: a calendar describes a school year."""
UNNAMED = "vakantie"
"""The name of an event without a SUMMARY (as a calendar file's holiday without a name)."""

_LINE_END_RE = re.compile(r"\r\n|\r|\n")
_NAME_RE = re.compile(r"[A-Za-z0-9-]+")
_DATE_RE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_TIME_RE = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z?")
_DURATION_RE = re.compile(r"P(?:(\d{1,4})W|(\d{1,4})D)")
_TEXT_ESCAPES = {"\\": "\\", ";": ";", ",": ",", "n": "\n", "N": "\n"}


@dataclass(frozen=True, slots=True)
class IcalImport:
    """What :func:`parse_ical_calendar` read: the calendar (``None`` when the file has
    problems, then ``diagnostics`` says which), and what it skipped."""

    calendar: SchoolCalendar | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    timed: int = 0
    """Timed events: not holidays."""
    recurring: int = 0
    """All-day events that repeat (``RRULE``/``RDATE``) or change one occurrence of a
    repeating event (``RECURRENCE-ID``)."""
    cancelled: int = 0
    """Events with ``STATUS:CANCELLED``."""

    def skipped(self) -> str | None:
        """What was skipped, for people (``"3 timed events"``), or ``None``."""
        parts = [
            _count(self.timed, "timed event"),
            _count(self.recurring, "repeating all-day event"),
            _count(self.cancelled, "cancelled event"),
        ]
        shown = [p for p in parts if p]
        return ", ".join(shown) if shown else None


def _count(n: int, what: str) -> str:
    return "" if n == 0 else f"{n} {what}{'' if n == 1 else 's'}"


@dataclass(slots=True)
class _Line:
    """One content line, unfolded: ``NAME;PARAM=VALUE:VALUE``, and where its characters
    stand in the file."""

    name: str
    params: dict[str, str]
    value: str
    value_at: int
    pieces: list[tuple[int, int, int]]
    """``(offset in the unfolded line, line in the file, column of that offset)``, one per
    physical line it was folded from."""

    def mark(self, offset: int = 0) -> tuple[int, int]:
        """The line and column in the file of the character at ``offset``."""
        line, column = self.pieces[0][1], self.pieces[0][2]
        for start, physical, first_column in self.pieces:
            if start > offset:
                break
            line, column = physical, first_column + (offset - start)
        return line, column

    def value_mark(self) -> tuple[int, int]:
        return self.mark(self.value_at)


@dataclass(slots=True)
class _Event:
    begin: _Line
    props: dict[str, list[_Line]] = field(default_factory=dict)

    def one(self, name: str) -> _Line | None:
        found = self.props.get(name)
        return found[0] if found else None


class _Stop(Exception):
    """Reading cannot go on (the diagnostics say why)."""


class _Reader:
    def __init__(self, path: str) -> None:
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def problem(self, message: str, at: tuple[int, int]) -> None:
        if len(self.diagnostics) < MAX_DIAGNOSTICS:
            self.diagnostics.append(Diagnostic("schema", ERROR, message, self.path, *at))

    def stop(self, message: str, at: tuple[int, int]) -> _Stop:
        self.problem(message, at)
        return _Stop()


def parse_ical_calendar(
    source: str | bytes,
    path: str = "<string>",
    *,
    name: str | None = None,
    region: str | None = None,
) -> IcalImport:
    """The school calendar in the iCalendar text ``source`` (the file ``path``), named
    ``name`` (default: its ``X-WR-CALNAME``, else the file's name), for ``region``."""
    reader = _Reader(path)
    try:
        text = _decode(source, reader)
        lines = _unfold(text, reader)
        calendar_name, events = _structure(lines, reader)
    except _Stop:
        return IcalImport(None, reader.diagnostics)
    if reader.diagnostics:  # lines that are not content lines: the events are not whole
        return IcalImport(None, reader.diagnostics)
    holidays: list[Holiday] = []
    timed = recurring = cancelled = 0
    for event in events:
        kind = _read_event(event, reader, holidays)
        timed += kind == "timed"
        recurring += kind == "recurring"
        cancelled += kind == "cancelled"

    def result(calendar: SchoolCalendar | None) -> IcalImport:
        return IcalImport(
            calendar, reader.diagnostics, timed=timed, recurring=recurring, cancelled=cancelled
        )

    if reader.diagnostics:
        return result(None)
    if not holidays:
        skipped = result(None).skipped()
        held = f"it has {skipped} and no other" if skipped else "it has no events at all"
        reader.problem(
            f"no all-day events to read as holidays: {held} (a holiday is an all-day event, "
            "DTSTART;VALUE=DATE)",
            lines[0].mark(),
        )
        return result(None)
    file_name = os.path.basename(path) or path
    title = _clean(name or "") or calendar_name or _stem(file_name)
    unique = sorted(set(holidays), key=lambda h: (h.start, h.end, h.name))
    return result(
        SchoolCalendar(title, tuple(unique), _clean(region or "") or None, source=file_name)
    )


def _stem(file_name: str) -> str:
    stem, dot, _ = file_name.rpartition(".")
    return (stem if dot and stem else file_name) or "iCalendar"


def _decode(source: str | bytes, reader: _Reader) -> str:
    if isinstance(source, str):
        return source.removeprefix("\ufeff")
    try:
        return source.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = source.count(b"\n", 0, exc.start) + 1
        column = exc.start - (source.rfind(b"\n", 0, exc.start) + 1) + 1
        raise reader.stop(
            "the file is not UTF-8 text, as an iCalendar file is (RFC 5545)", (line, column)
        ) from None


def _unfold(text: str, reader: _Reader) -> list[_Line]:
    """The content lines of ``text``: folded lines joined, blank lines dropped."""
    physical = _LINE_END_RE.split(text)  # CRLF as RFC 5545 has it; LF or CR as editors do
    if physical and physical[-1] == "":
        physical.pop()
    logical: list[tuple[str, list[tuple[int, int, int]]]] = []
    for number, line in enumerate(physical, 1):
        if line[:1] in (" ", "\t"):
            if not logical:
                raise reader.stop(
                    "not an iCalendar file: it must start with BEGIN:VCALENDAR, not with "
                    "an indented (folded) line",
                    (number, 1),
                )
            joined, pieces = logical[-1]
            pieces.append((len(joined), number, 2))
            logical[-1] = (joined + line[1:], pieces)
        elif line.strip():
            logical.append((line, [(0, number, 1)]))
    if not logical:
        raise reader.stop(
            "the file is empty: an iCalendar file starts with BEGIN:VCALENDAR", (1, 1)
        )
    first_text, first_pieces = logical[0]
    first = _content_line(first_text, first_pieces)
    opens = not isinstance(first, str) and first.name == "BEGIN"
    if isinstance(first, str) or not opens or first.value.strip().upper() != "VCALENDAR":
        if isinstance(first, str) or not opens:
            raise reader.stop(
                "not an iCalendar file: it must start with BEGIN:VCALENDAR",
                (first_pieces[0][1], 1),
            )
        raise reader.stop(
            f"no VCALENDAR: an iCalendar file starts with BEGIN:VCALENDAR, this one with "
            f"BEGIN:{_shown(first.value)}",
            first.mark(),
        )
    lines = [first]
    for joined, pieces in logical[1:]:
        parsed = _content_line(joined, pieces)
        if isinstance(parsed, str):
            reader.problem(parsed, (pieces[0][1], pieces[0][2]))
            continue
        lines.append(parsed)
    return lines


def _content_line(text: str, pieces: list[tuple[int, int, int]]) -> _Line | str:
    """The content line ``text`` parsed, or why it is not one."""
    match = _NAME_RE.match(text)
    if match is None:
        return "not an iCalendar content line: expected NAME:VALUE"
    at = match.end()
    params: dict[str, str] = {}
    while at < len(text) and text[at] == ";":
        param = _NAME_RE.match(text, at + 1)
        if param is None or param.end() >= len(text) or text[param.end()] != "=":
            return "not an iCalendar content line: a parameter is written ;NAME=VALUE"
        at = param.end() + 1
        values: list[str] = []
        while True:
            if text[at : at + 1] == '"':
                close = text.find('"', at + 1)
                if close < 0:
                    return "not an iCalendar content line: a quoted parameter value is not closed"
                values.append(text[at + 1 : close])
                at = close + 1
            else:
                end = at
                while end < len(text) and text[end] not in ';:,"':
                    end += 1
                values.append(text[at:end])
                at = end
            if text[at : at + 1] != ",":
                break
            at += 1
        params[param.group().upper()] = ",".join(values)
    if text[at : at + 1] != ":":
        return "not an iCalendar content line: expected NAME:VALUE"
    return _Line(match.group().upper(), params, text[at + 1 :], at + 1, pieces)


def _structure(lines: list[_Line], reader: _Reader) -> tuple[str | None, list[_Event]]:
    """The calendar's name (``X-WR-CALNAME``) and its events, from the nesting of
    ``BEGIN``/``END``; a component that is not closed stops reading."""
    stack: list[_Line] = []
    events: list[_Event] = []
    event: _Event | None = None
    name: str | None = None
    for line in lines:
        if line.name == "BEGIN":
            component = line.value.strip().upper()
            if not stack and component != "VCALENDAR":
                raise reader.stop(
                    f"BEGIN:{_shown(line.value)} outside a VCALENDAR (after its END:VCALENDAR)",
                    line.mark(),
                )
            if len(stack) == 1 and component == "VEVENT":
                event = _Event(line)
            stack.append(line)
        elif line.name == "END":
            component = line.value.strip().upper()
            if not stack:
                raise reader.stop(
                    f"END:{_shown(line.value)} closes nothing: the VCALENDAR ended before it",
                    line.mark(),
                )
            opened = stack[-1]
            if opened.value.strip().upper() != component:
                raise reader.stop(
                    f"END:{_shown(line.value)} does not close BEGIN:{_shown(opened.value)} "
                    f"(line {opened.mark()[0]})",
                    line.mark(),
                )
            stack.pop()
            if len(stack) == 1 and component == "VEVENT" and event is not None:
                events.append(event)
                event = None
        elif not stack:
            raise reader.stop(
                f"{line.name} outside a VCALENDAR (after its END:VCALENDAR)", line.mark()
            )
        elif len(stack) == 1 and line.name == "X-WR-CALNAME":
            name = _clean(_unescape(line.value)) or name
        elif len(stack) == 2 and event is not None:
            event.props.setdefault(line.name, []).append(line)
    if stack:
        opened = stack[-1]
        component = _shown(opened.value)
        raise reader.stop(
            f"BEGIN:{component} is never closed: END:{component} is missing", opened.mark()
        )
    return name, events


def _read_event(event: _Event, reader: _Reader, holidays: list[Holiday]) -> str:
    """Add the holiday of an all-day ``event`` to ``holidays``; returns what it was:
    ``"holiday"``, ``"timed"``, ``"recurring"``, ``"cancelled"`` or ``"bad"``."""
    for prop in ("DTSTART", "DTEND", "DURATION", "SUMMARY"):
        extra = event.props.get(prop, [])[1:]
        if extra:
            reader.problem(f"an event has one {prop}, this one has more", extra[0].mark())
            return "bad"
    start_line = event.one("DTSTART")
    if start_line is None:
        reader.problem("an event without DTSTART: its first day is not known", event.begin.mark())
        return "bad"
    start = _when(start_line, reader)
    if start is None:
        return "bad"
    end_line, duration = event.one("DTEND"), event.one("DURATION")
    end = None if end_line is None else _when(end_line, reader)
    if end_line is not None and end is None:
        return "bad"
    status = event.one("STATUS")
    if status is not None and status.value.strip().upper() == "CANCELLED":
        return "cancelled"
    if isinstance(start, tuple):  # a date-time: a timed event
        return "timed"
    if "RRULE" in event.props or "RDATE" in event.props or "RECURRENCE-ID" in event.props:
        return "recurring"
    if end_line is not None and duration is not None:
        reader.problem("an event has DTEND or DURATION, not both", duration.mark())
        return "bad"
    if end_line is not None:
        if not isinstance(end, date):
            reader.problem(
                "DTEND of an all-day event is a date (DTEND;VALUE=DATE:YYYYMMDD), like its DTSTART",
                end_line.value_mark(),
            )
            return "bad"
        if end <= start:
            reader.problem(
                f"DTEND {end:%Y%m%d} is not after DTSTART {start:%Y%m%d}: DTEND is the day "
                "after the event's last day",
                end_line.value_mark(),
            )
            return "bad"
        last = end - timedelta(days=1)
    elif duration is not None:
        days = _days(duration, reader)
        if days is None:
            return "bad"
        if days > MAX_HOLIDAY_DAYS or start > date.max - timedelta(days=days - 1):
            reader.problem(
                f"an all-day event of {days} days from {start:%Y%m%d}: a holiday of a school "
                f"calendar lasts at most {MAX_HOLIDAY_DAYS} days and ends by 9999-12-31",
                duration.value_mark(),
            )
            return "bad"
        last = start + timedelta(days=days - 1)
    else:
        last = start  # RFC 5545 3.6.1: an all-day event without DTEND lasts one day
    if (last - start).days + 1 > MAX_HOLIDAY_DAYS:
        reader.problem(
            f"an all-day event of {(last - start).days + 1} days: a holiday of a school "
            f"calendar lasts at most {MAX_HOLIDAY_DAYS} days",
            (end_line or duration or start_line).value_mark(),
        )
        return "bad"
    summary = event.one("SUMMARY")
    name = _clean(_unescape(summary.value)) if summary is not None else ""
    holidays.append(Holiday(name or UNNAMED, start, last))
    return "holiday"


def _when(line: _Line, reader: _Reader) -> date | tuple[date, str] | None:
    """The date of a ``DTSTART``/``DTEND`` line, or ``(day, time)`` for a date-time;
    ``None`` (and a problem) when it is neither."""
    value = line.value.strip()
    kind = line.params.get("VALUE", "").upper()
    if kind not in ("", "DATE", "DATE-TIME"):
        reader.problem(
            f"{line.name};VALUE={_shown(kind)}: a {line.name} is a DATE or a DATE-TIME",
            line.mark(),
        )
        return None
    day_match = _DATE_RE.fullmatch(value)
    time_match = _DATE_TIME_RE.fullmatch(value)
    if kind == "DATE" and day_match is None:
        reader.problem(
            f"{line.name} {_shown(value)} is not a date: a DATE is written YYYYMMDD (20261017)",
            line.value_mark(),
        )
        return None
    if day_match is None and time_match is None:
        reader.problem(
            f"{line.name} {_shown(value)} is neither a date (YYYYMMDD) nor a date-time "
            "(YYYYMMDDTHHMMSS)",
            line.value_mark(),
        )
        return None
    if kind == "DATE-TIME" and time_match is None:
        reader.problem(
            f"{line.name};VALUE=DATE-TIME {_shown(value)} is not a date-time (YYYYMMDDTHHMMSS)",
            line.value_mark(),
        )
        return None
    found = day_match or time_match
    assert found is not None  # one of the two matched
    try:
        day = date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        reader.problem(f"{line.name} {_shown(value)}: there is no such day", line.value_mark())
        return None
    if time_match is None:
        return day
    hour, minute, second = int(time_match[4]), int(time_match[5]), int(time_match[6])
    if hour > 23 or minute > 59 or second > 60:
        reader.problem(f"{line.name} {_shown(value)}: there is no such time", line.value_mark())
        return None
    return day, value[9:]


def _days(line: _Line, reader: _Reader) -> int | None:
    match = _DURATION_RE.fullmatch(line.value.strip())
    days = None if match is None else int(match[1]) * 7 if match[1] else int(match[2])
    if not days:
        reader.problem(
            f"DURATION {_shown(line.value)} of an all-day event is a number of days or weeks "
            "(P3D, P1W), at least one day",
            line.value_mark(),
        )
        return None
    return days


def _unescape(value: str) -> str:
    """An iCalendar TEXT value as plain text (RFC 5545 3.3.11)."""
    out: list[str] = []
    chars = iter(value)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append(_TEXT_ESCAPES.get(nxt, "\\" + nxt))
        else:
            out.append(ch)
    return "".join(out)


def _clean(text: str) -> str:
    """``text`` on one line, as a name for people: control and formatting characters
    dropped (line breaks as spaces), runs of white space as one space."""
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp") or ch.isspace():
            kept.append(" ")
        elif category not in ("Cf", "Cs", "Co", "Cn"):
            kept.append(ch)
    return " ".join("".join(kept).split())[:200]


def _shown(value: str) -> str:
    """A value of the file, short and on one line, for a message."""
    text = _clean(value)
    return text if len(text) <= 40 else text[:37] + "..."
