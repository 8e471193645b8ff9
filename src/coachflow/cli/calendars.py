"""The commands of ``coachflow`` on school calendars: ``calendar list`` (the built-in
ones) and ``calendar import`` (a school's iCalendar file, written as a calendar file).

A file that is missing, cannot be read or is not a calendar ends in exit status 2, with
one line ``coachflow: error: FILE:LINE:COL: ...`` per problem on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from coachflow._bounds import terminal_text
from coachflow.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    FORMAT_HELP,
    print_error,
    write_json,
)

if TYPE_CHECKING:
    from coachflow.cli._common import SubParsers
    from coachflow.diagnostics import Diagnostic


def register(sub: SubParsers) -> None:
    """Add ``calendar list`` and ``calendar import`` to ``sub``."""
    from coachflow.cli._common import Parser

    calendar = sub.add_parser(
        "calendar",
        help="school calendars: list the built-in ones, import a school's .ics file",
        description="List the built-in school calendars, or import a school's iCalendar file.",
    )
    commands = calendar.add_subparsers(
        dest="calendar_command", metavar="COMMAND", parser_class=Parser
    )
    commands.required = True

    listing = commands.add_parser(
        "list", help="list the built-in school calendars (name, region, school year)"
    )
    listing.add_argument("--format", choices=("text", "json"), default="text", help=FORMAT_HELP)
    listing.set_defaults(handler=_list)

    imported = commands.add_parser(
        "import",
        help="read an iCalendar file (.ics) and write it as a calendar file",
        description=(
            "Read the all-day events of an iCalendar file as holidays (DTEND is the day after "
            "the last day; timed and repeating events are skipped and counted) and write them "
            "in coachflow's calendar format, which coachflow.load_calendar and --calendar read."
        ),
    )
    imported.add_argument("file", metavar="FILE.ics", help="the iCalendar file to read")
    imported.add_argument(
        "-o", "--output", metavar="OUT.yaml", help="write here (default: standard output)"
    )
    imported.add_argument(
        "--name", type=_one_line, help="the calendar's name (default: its X-WR-CALNAME)"
    )
    imported.add_argument(
        "--region", type=_one_line, help="the region it is for (noord, midden, zuid)"
    )
    imported.set_defaults(handler=_import)


def _one_line(value: str) -> str:
    """A name or region given on the command line: a text on one line, not empty."""
    if not value.strip() or any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a text on one line")
    return value.strip()


def _list(args: argparse.Namespace) -> int:
    from coachflow.files.calendars import builtin_calendar, builtin_calendars

    calendars = [(name, builtin_calendar(name)) for name in builtin_calendars()]
    if args.format == "json":
        rows = [
            {
                "name": name,
                "region": c.region,
                "school_year": None
                if c.school_year is None
                else [day.isoformat() for day in c.school_year],
                "title": c.name,
                "source": c.source,
            }
            for name, c in calendars
        ]
        write_json({"calendars": rows}, indent=2, ensure_ascii=False)
        return EXIT_OK
    lines = [
        (
            name,
            c.region or "-",
            "-" if c.school_year is None else f"{c.school_year[0]} to {c.school_year[1]}",
        )
        for name, c in calendars
    ]
    width = max((len(line[0]) for line in lines), default=4)
    region_width = max((len(line[1]) for line in lines), default=6)
    for name, region, year in lines:
        print(f"{name:{width}}  {region:{region_width}}  {year}")
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    from coachflow.files.calendars import dump_calendar
    from coachflow.files.ical_import import parse_ical_calendar
    from coachflow.files.reader import read_source

    path: str = args.file
    output: str | None = args.output
    if output is not None and output != "-" and _same_file(path, output):
        return print_error(f"-o {output} is the file being imported; name another", EXIT_USAGE)
    try:
        data, refused = read_source(path)
    except FileNotFoundError:
        return print_error(f"no such file: {path}", EXIT_USAGE)
    except OSError as exc:
        return print_error(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE)
    if data is None:
        return _refused([refused] if refused is not None else [])
    result = parse_ical_calendar(data, path, name=args.name, region=args.region)
    calendar = result.calendar
    if calendar is None:
        return _refused(result.diagnostics)
    skipped = result.skipped()
    comment = f"Imported by coachflow from {calendar.source}."
    if skipped:
        comment += f"\nSkipped (not holidays): {skipped}."
    text = dump_calendar(calendar, comment=comment)
    count = len(calendar.holidays)
    read = f"{count} holiday{'' if count == 1 else 's'} read from {path}"
    if output is None or output == "-":
        sys.stdout.write(text)
    else:
        try:
            with open(output, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
        except OSError as exc:
            message = f"cannot write {output}: {exc.strerror or exc}"
            return print_error(message, EXIT_FAILED)
        read += f", written to {output}"
    note = (
        f"; skipped {skipped} (a holiday is an all-day event that happens once)" if skipped else ""
    )
    print(f"coachflow: {read}{note}", file=sys.stderr)
    return EXIT_OK


def _refused(problems: list[Diagnostic]) -> int:
    """Exit status 2, after one line per problem of the file."""
    for d in problems:
        print(f"coachflow: error: {terminal_text(d.format())}", file=sys.stderr)
    return EXIT_USAGE


def _same_file(first: str, second: str) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False
