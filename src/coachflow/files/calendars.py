"""School calendar files: the built-in ones and those a school writes."""

from __future__ import annotations

import os

from coachflow.calendar import Holiday, SchoolCalendar
from coachflow.definition.plain import parse_date
from coachflow.diagnostics import ERROR, Diagnostic, Mark
from coachflow.files.reader import read_source, read_yaml


def builtin_calendar(name: str = "nl-2026-2027-midden") -> SchoolCalendar:
    """A calendar shipped with coachflow (see ``coachflow/calendars/``)."""
    from importlib.resources import files

    resource = files("coachflow") / "calendars" / f"{name}.yaml"
    if not resource.is_file():
        raise LookupError(f"no built-in calendar {name!r}")
    calendar, problems = parse_calendar(resource.read_bytes(), f"calendars/{name}.yaml")
    if calendar is None:  # pragma: no cover - the shipped file is tested
        raise ValueError(problems[0].format())
    return calendar


def parse_calendar(
    source: str | bytes, path: str = "<string>"
) -> tuple[SchoolCalendar | None, list[Diagnostic]]:
    """A :class:`~coachflow.calendar.SchoolCalendar` from YAML text, and the problems::

    calendar: 1
    name: Schooljaar 2026-2027, regio midden
    region: midden
    holidays:
      - {name: Herfstvakantie, from: 2026-10-17, to: 2026-10-25}
    """
    document, diagnostics = read_yaml(source, path)
    data = document.data

    def problem(message: str, loc: tuple[object, ...] = ()) -> None:
        mark = document.locate(loc) if document.data is not None else Mark(1, 1)
        diagnostics.append(
            Diagnostic("schema", ERROR, message, path, mark.line or 1, mark.column or 1)
        )

    if diagnostics:
        return None, diagnostics
    if not isinstance(data, dict):
        problem("a calendar file must be a mapping (calendar, name, holidays)")
        return None, diagnostics
    for key in data:
        if key not in ("calendar", "name", "region", "holidays"):
            mark = document.locate((key,), key=True)
            diagnostics.append(
                Diagnostic(
                    "schema",
                    ERROR,
                    f"unknown key {key!r}; allowed: calendar, name, region, holidays",
                    path,
                    mark.line or 1,
                    mark.column or 1,
                )
            )
    if data.get("calendar") != 1:
        problem("a calendar file starts with 'calendar: 1'", ("calendar",))
    if not isinstance(data.get("name"), str):
        problem("missing or bad 'name' (a string)", ("name",))
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
        parsed.append(Holiday(str(h.get("name", "vakantie")), start, end))
    if any(d.is_error for d in diagnostics):
        return None, diagnostics
    region = data.get("region")
    return SchoolCalendar(str(data["name"]), tuple(parsed), str(region) if region else None), []


def load_calendar(path: str | os.PathLike[str]) -> SchoolCalendar:
    """The school calendar in a YAML file; :class:`DefinitionError` lists its problems."""
    from coachflow.errors import DefinitionError

    name = os.fspath(path)
    data, refused = read_source(name)
    if data is None:
        raise DefinitionError([refused] if refused is not None else [], name)
    calendar, problems = parse_calendar(data, name)
    if calendar is None:
        raise DefinitionError(problems, name)
    return calendar
