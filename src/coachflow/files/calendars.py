"""School calendar files: the built-in ones and those a school writes (YAML, or the
iCalendar file a school publishes; see :mod:`coachflow.files.ical_import`)."""

from __future__ import annotations

import os
from datetime import date
from typing import Protocol

from coachflow.calendar import Holiday, SchoolCalendar
from coachflow.definition.plain import parse_date
from coachflow.diagnostics import ERROR, Diagnostic, Mark
from coachflow.files.reader import read_source, read_yaml

DEFAULT_CALENDAR = "nl-2026-2027-midden"
"""The built-in calendar :func:`builtin_calendar` gives without a name."""

_KEYS = ("calendar", "name", "region", "source", "school_year", "holidays")
"""The top-level keys of a calendar file, in the order a file writes them."""


class _Problem(Protocol):
    """How :func:`parse_calendar` reports a problem: its message and where (a path into
    the document; ``key=True`` for the key there, not its value)."""

    def __call__(
        self, message: str, loc: tuple[object, ...] = (), *, key: bool = False
    ) -> None: ...


def builtin_calendars() -> list[str]:
    """The names of the calendars shipped with coachflow, sorted
    (``["nl-2025-2026-midden", ...]``); each is a name for :func:`builtin_calendar`."""
    from importlib.resources import files

    folder = files("coachflow") / "calendars"
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml") and entry.is_file()
    )


def builtin_calendar(name: str = DEFAULT_CALENDAR) -> SchoolCalendar:
    """A calendar shipped with coachflow (see ``coachflow/calendars/`` and
    :func:`builtin_calendars`)."""
    from importlib.resources import files

    if name not in builtin_calendars():  # never a path: "../x" names no built-in calendar
        raise LookupError(f"no built-in calendar {name!r}")
    resource = files("coachflow") / "calendars" / f"{name}.yaml"
    calendar, problems = parse_calendar(resource.read_bytes(), f"calendars/{name}.yaml")
    if calendar is None:  # pragma: no cover - the shipped files are tested
        raise ValueError(problems[0].format())
    return calendar


def parse_calendar(
    source: str | bytes, path: str = "<string>"
) -> tuple[SchoolCalendar | None, list[Diagnostic]]:
    """A :class:`~coachflow.calendar.SchoolCalendar` from YAML text, and the problems::

    calendar: 1
    name: Schooljaar 2026-2027, regio midden
    region: midden
    source: Rijksoverheid, Schoolvakanties 2026-2027
    school_year: {from: 2026-08-31, to: 2027-08-29}
    holidays:
      - {name: Herfstvakantie, from: 2026-10-17, to: 2026-10-25}
    """
    document, diagnostics = read_yaml(source, path)
    data = document.data

    def problem(message: str, loc: tuple[object, ...] = (), *, key: bool = False) -> None:
        mark = document.locate(loc, key=key) if document.data is not None else Mark(1, 1)
        diagnostics.append(
            Diagnostic("schema", ERROR, message, path, mark.line or 1, mark.column or 1)
        )

    if diagnostics:
        return None, diagnostics
    if not isinstance(data, dict):
        problem("a calendar file must be a mapping (calendar, name, holidays)")
        return None, diagnostics
    for key in data:
        if key not in _KEYS:
            problem(f"unknown key {key!r}; allowed: {', '.join(_KEYS)}", (key,), key=True)
    if data.get("calendar") != 1:
        problem("a calendar file starts with 'calendar: 1'", ("calendar",))
    if not isinstance(data.get("name"), str):
        problem("missing or bad 'name' (a string)", ("name",))
    source_text = data.get("source")
    if "source" in data and not (isinstance(source_text, str) and source_text.strip()):
        problem("'source' must be a text: where the dates come from", ("source",))
    year = _school_year(data.get("school_year"), "school_year" in data, problem)
    holidays = data.get("holidays", [])
    parsed: list[Holiday] = []
    if not isinstance(holidays, list):
        problem("'holidays' must be a list", ("holidays",))
        holidays = []
    for i, h in enumerate(holidays):
        if (
            not isinstance(h, dict)
            or set(h) - {"name", "from", "to"}
            or not {"from", "to"} <= set(h)
        ):
            problem("a holiday is {name: ..., from: YYYY-MM-DD, to: YYYY-MM-DD}", ("holidays", i))
            continue
        try:
            start, end = parse_date(h["from"]), parse_date(h["to"])
        except ValueError as exc:
            problem(str(exc), ("holidays", i))
            continue
        if end < start:
            problem(f"holiday ends ({end}) before it starts ({start})", ("holidays", i, "to"))
            continue
        name = str(h.get("name", "vakantie"))
        if year is not None and (start < year[0] or end > year[1]):
            problem(
                f"holiday {name!r} ({start} to {end}) falls outside the school year "
                f"({year[0]} to {year[1]}): a calendar's holidays lie inside its school year",
                ("holidays", i),
            )
            continue
        parsed.append(Holiday(name, start, end))
    if any(d.is_error for d in diagnostics):
        return None, diagnostics
    region = data.get("region")
    return (
        SchoolCalendar(
            str(data["name"]),
            tuple(parsed),
            str(region) if region else None,
            school_year=year,
            source=source_text if isinstance(source_text, str) else None,
        ),
        [],
    )


def _school_year(value: object, present: bool, problem: _Problem) -> tuple[date, date] | None:
    """The ``school_year: {from: ..., to: ...}`` of a calendar file (``None`` when it has
    none, or a bad one: then ``problem`` was told)."""
    if not present:
        return None
    if not isinstance(value, dict) or set(value) != {"from", "to"}:
        problem(
            "'school_year' is {from: YYYY-MM-DD, to: YYYY-MM-DD}: its first and last day",
            ("school_year",),
        )
        return None
    try:
        first = parse_date(value["from"])
    except ValueError as exc:
        problem(f"school_year from: {exc}", ("school_year", "from"))
        return None
    try:
        last = parse_date(value["to"])
    except ValueError as exc:
        problem(f"school_year to: {exc}", ("school_year", "to"))
        return None
    if last < first:
        problem(f"the school year ends ({last}) before it starts ({first})", ("school_year", "to"))
        return None
    return first, last


def load_calendar(path: str | os.PathLike[str]) -> SchoolCalendar:
    """The school calendar in a file: coachflow's YAML format, or an iCalendar file
    (``.ics``, or any file that starts with ``BEGIN:VCALENDAR``) whose all-day events are
    its holidays (see :func:`coachflow.files.ical_import.parse_ical_calendar`).
    :class:`DefinitionError` lists its problems, each with its line and column."""
    from coachflow.errors import DefinitionError

    name = os.fspath(path)
    data, refused = read_source(name)
    if data is None:
        raise DefinitionError([refused] if refused is not None else [], name)
    if is_ical(name, data):
        from coachflow.files.ical_import import parse_ical_calendar

        imported = parse_ical_calendar(data, name)
        if imported.calendar is None:
            raise DefinitionError(imported.diagnostics, name)
        return imported.calendar
    calendar, problems = parse_calendar(data, name)
    if calendar is None:
        raise DefinitionError(problems, name)
    return calendar


ICAL_SUFFIXES = (".ics", ".ical", ".icalendar")
"""The file name endings of an iCalendar file (compared without regard to case)."""


def is_ical(path: str, data: bytes) -> bool:
    """Whether the file ``path`` holding ``data`` is read as iCalendar: by its name's
    ending, or by its first line (``BEGIN:VCALENDAR``)."""
    if path.lower().endswith(ICAL_SUFFIXES):
        return True
    head = data[:64].removeprefix(b"\xef\xbb\xbf").lstrip()
    return head[:15].upper() == b"BEGIN:VCALENDAR"


def dump_calendar(calendar: SchoolCalendar, *, comment: str | None = None) -> str:
    """``calendar`` in the calendar file format (:func:`parse_calendar` reads it back to
    the same calendar), with ``comment`` as ``#`` lines above it."""
    # a comment line holds no control or formatting character (a file name may): escaped
    lines = [f"# {_quoted(line)[1:-1]}".rstrip() for line in (comment or "").splitlines()]
    lines += ["calendar: 1", f"name: {_quoted(calendar.name)}"]
    if calendar.region is not None:
        lines.append(f"region: {_quoted(calendar.region)}")
    if calendar.source is not None:
        lines.append(f"source: {_quoted(calendar.source)}")
    if calendar.school_year is not None:
        first, last = calendar.school_year
        lines.append(f"school_year: {{from: {first.isoformat()}, to: {last.isoformat()}}}")
    if not calendar.holidays:
        lines.append("holidays: []")
    else:
        lines.append("holidays:")
        lines += [
            f"  - {{name: {_quoted(h.name)}, from: {h.start.isoformat()}, to: {h.end.isoformat()}}}"
            for h in calendar.holidays
        ]
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    """``text`` as a double-quoted YAML scalar that holds no character a terminal or the
    YAML reader could trip on: controls, formatting characters and the like as escapes."""
    import unicodedata

    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == " " or unicodedata.category(ch)[0] not in "CZ":
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)
