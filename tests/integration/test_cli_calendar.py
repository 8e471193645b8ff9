"""``coachflow calendar list`` and ``coachflow calendar import``, and ``coachflow start
--calendar FILE.ics``, run as the real command (``sys.executable -m coachflow``)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from conftest import run_cli

from coachflow import Holiday, SchoolCalendar, load_calendar
from coachflow.files.calendars import builtin_calendar, builtin_calendars

ICS = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Basisschool De Linde//Vakantierooster//NL",
        "X-WR-CALNAME:Vakantierooster De Linde",
        "BEGIN:VEVENT",
        "UID:1@delinde.nl",
        "DTSTART;VALUE=DATE:20260912",
        "DTEND;VALUE=DATE:20260921",
        "SUMMARY:Extra vakantieweek",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:2@delinde.nl",
        "DTSTART;VALUE=DATE:20261120",
        "SUMMARY:Studiedag\\, alle groepen vrij",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:3@delinde.nl",
        'DTSTART;TZID="Europe/Amsterdam":20261125T193000',
        "DTEND;TZID=Europe/Amsterdam:20261125T210000",
        "SUMMARY:Ouderavond",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:4@delinde.nl",
        "DTSTART;VALUE=DATE:20260907",
        "RRULE:FREQ=WEEKLY;COUNT=3",
        "SUMMARY:Sportdag",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)

ROUTE = """\
coachflow: 1
id: calendar-route
version: 1
roles: {coach: {required: true}}
started_by: [coach]
initial: open
states: {open: {}, done: {final: true}}
transitions:
  - {event: close, from: open, to: done, by: [coach]}
activities:
  visit: {by: [coach], during: [open], due: {week: 6}}
"""


@pytest.fixture
def ics(tmp_path: Path) -> Path:
    path = tmp_path / "rooster.ics"
    path.write_bytes(ICS.encode("utf-8"))
    return path


def test_calendar_list_names_every_builtin_calendar() -> None:
    result = run_cli("calendar", "list")
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    assert [row.split()[0] for row in rows] == builtin_calendars()
    assert "nl-2026-2027-midden  midden  2026-08-31 to 2027-08-29" in rows
    assert result.stderr == ""


def test_calendar_list_as_json() -> None:
    result = run_cli("calendar", "list", "--format", "json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)["calendars"]
    assert [c["name"] for c in listed] == builtin_calendars()
    zuid = next(c for c in listed if c["name"] == "nl-2027-2028-zuid")
    calendar = builtin_calendar("nl-2027-2028-zuid")
    assert zuid == {
        "name": "nl-2027-2028-zuid",
        "region": "zuid",
        "school_year": ["2027-09-06", "2028-09-03"],
        "title": calendar.name,
        "source": calendar.source,
    }


def test_calendar_import_writes_yaml_that_reads_back_the_same(ics: Path, tmp_path: Path) -> None:
    result = run_cli("calendar", "import", str(ics), "--region", "midden")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Imported by coachflow from rooster.ics.\n")
    assert "# Skipped (not holidays): 1 timed event, 1 repeating all-day event.\n" in result.stdout
    assert result.stderr == (
        f"coachflow: 2 holidays read from {ics}; skipped 1 timed event, 1 repeating all-day "
        "event (a holiday is an all-day event that happens once)\n"
    )
    out = tmp_path / "ours.yaml"
    out.write_text(result.stdout, encoding="utf-8")
    calendar = load_calendar(out)
    assert calendar == SchoolCalendar(
        "Vakantierooster De Linde",
        (
            Holiday("Extra vakantieweek", date(2026, 9, 12), date(2026, 9, 20)),
            Holiday("Studiedag, alle groepen vrij", date(2026, 11, 20), date(2026, 11, 20)),
        ),
        "midden",
        source="rooster.ics",
    )
    assert calendar.holidays == load_calendar(ics).holidays


def test_calendar_import_to_a_file_with_a_name(ics: Path, tmp_path: Path) -> None:
    out = tmp_path / "de-linde.yaml"
    result = run_cli("calendar", "import", str(ics), "-o", str(out), "--name", "De Linde 26-27")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert f"written to {out}" in result.stderr
    calendar = load_calendar(out)
    assert calendar.name == "De Linde 26-27" and calendar.region is None
    assert len(calendar.holidays) == 2


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("calendar: 1\nname: x\n", ":1:1: error schema: not an iCalendar file"),
        ("BEGIN:VEVENT\r\nEND:VEVENT\r\n", ":1:1: error schema: no VCALENDAR"),
        (
            ICS.replace("DTSTART;VALUE=DATE:20261120", "DTSTART;VALUE=DATE:2026-11-20"),
            ":13:20: error schema: DTSTART 2026-11-20 is not a date",
        ),
        (
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20261125T193000\r\nEND:VEVENT\r\n"
            "END:VCALENDAR\r\n",
            ":1:1: error schema: no all-day events to read as holidays",
        ),
        ("", ":1:1: error schema: the file is empty"),
    ],
)
def test_calendar_import_of_a_bad_file_is_one_line_and_status_2(
    tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "bad.ics"
    path.write_text(text, encoding="utf-8", newline="")
    result = run_cli("calendar", "import", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"coachflow: error: {path}") and words in line, line
    assert "Traceback" not in result.stderr


def test_calendar_import_usage_errors_exit_2(ics: Path, tmp_path: Path) -> None:
    missing = run_cli("calendar", "import", str(tmp_path / "nope.ics"))
    assert (missing.returncode, missing.stderr.strip()) == (
        2,
        f"coachflow: error: no such file: {tmp_path / 'nope.ics'}",
    )
    folder = run_cli("calendar", "import", str(tmp_path))
    assert folder.returncode == 2 and folder.stderr.startswith("coachflow: error: cannot read")
    over = run_cli("calendar", "import", str(ics), "-o", str(ics))
    assert over.returncode == 2 and "is the file being imported" in over.stderr
    assert ics.read_bytes() == ICS.encode("utf-8"), "the file being imported is not written over"
    for args in (
        ["calendar"],
        ["calendar", "import"],
        ["calendar", "import", str(ics), "--name", ""],
    ):
        result = run_cli(*args)
        assert result.returncode == 2, args
        assert result.stderr.splitlines()[-1].startswith("coachflow calendar"), result.stderr
        assert "Traceback" not in result.stderr


def test_calendar_import_to_a_file_that_cannot_be_written(ics: Path, tmp_path: Path) -> None:
    result = run_cli("calendar", "import", str(ics), "-o", str(tmp_path / "no" / "such" / "x.yaml"))
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("coachflow: error: cannot write") and "No such file" in line


def test_start_reads_an_ics_calendar(ics: Path, tmp_path: Path) -> None:
    """``start --calendar FILE.ics`` reads the school's file through load_calendar: its
    holiday week is no school week, so week 6 ends a week later."""
    routes = tmp_path / "routes"
    routes.mkdir()
    (routes / "route.yaml").write_text(ROUTE, encoding="utf-8")
    common = ["--db", str(tmp_path / "c.db"), "--definitions", str(routes)]
    due = {}
    for tid, calendar in (("with", [str(ics)]), ("without", [])):
        started = run_cli(
            "start", "calendar-route", "--id", tid, "--as", "c", "--role", "coach=c",
            "--start-date", "2026-08-31", "--now", "2026-08-31T09:00",
            *(["--calendar", *calendar] if calendar else []), *common,
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        shown = run_cli("show", tid, "--format", "json", "--now", "2026-08-31T09:00", *common)
        assert shown.returncode == 0, shown.stderr
        [item] = json.loads(shown.stdout)["agenda"]
        due[tid] = item["due_date"]
    assert due == {"with": "2026-10-18", "without": "2026-10-11"}


def test_start_with_a_bad_ics_calendar_is_refused_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ics"
    bad.write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", encoding="utf-8")
    routes = tmp_path / "routes"
    routes.mkdir()
    (routes / "route.yaml").write_text(ROUTE, encoding="utf-8")
    result = run_cli(
        "start", "calendar-route", "--as", "c", "--role", "coach=c", "--calendar", str(bad),
        "--db", str(tmp_path / "c.db"), "--definitions", str(routes),
    )  # fmt: skip
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"coachflow: error: {bad}:1:1: error schema: no all-day events")


HOLIDAY_ROUTE = ROUTE.replace(
    "by: [coach]}\n", "by: [coach], when: 'today > holiday_end(\"studiedag\")'}\n", 1
)


def test_validate_warns_of_a_holiday_no_built_in_calendar_has(tmp_path: Path) -> None:
    path = tmp_path / "route.yaml"
    path.write_text(HOLIDAY_ROUTE, encoding="utf-8")
    assert "holiday_end" in path.read_text(encoding="utf-8")
    result = run_cli("validate", str(path))
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"{path}:9:") and " warning unknown-holiday: " in first
    assert "no built-in school calendar has a holiday named 'studiedag'" in first
    assert run_cli("validate", "--strict", str(path)).returncode == 1


def test_validate_with_a_calendar_checks_its_holidays(ics: Path, tmp_path: Path) -> None:
    path = tmp_path / "route.yaml"
    path.write_text(HOLIDAY_ROUTE, encoding="utf-8")
    builtin = run_cli("validate", "--calendar", "nl-2026-2027-midden", str(path))
    assert builtin.returncode == 1
    line = builtin.stdout.splitlines()[0]
    assert (
        " error unknown-holiday: the school calendar 'Schooljaar 2026-2027, regio midden' " in line
    )
    assert "has no holiday named 'studiedag'" in line
    # the school's own file has its study day
    own = run_cli("validate", "--calendar", str(ics), str(path))
    assert own.returncode == 0, own.stdout
    assert own.stdout.splitlines() == ["1 file checked, 0 errors, 0 warnings"]
    missing = run_cli("validate", "--calendar", "nosuch", str(path))
    assert missing.returncode == 2
    assert missing.stderr.splitlines() == [
        "coachflow: error: --calendar: no file and no built-in calendar 'nosuch'"
    ]


def test_start_past_the_calendar_prints_one_warning_line(tmp_path: Path) -> None:
    routes = tmp_path / "routes"
    routes.mkdir()
    (routes / "route.yaml").write_text(ROUTE.replace("week: 6", "week: 30"), encoding="utf-8")
    result = run_cli(
        "start", "calendar-route", "--id", "late", "--as", "c", "--role", "coach=c",
        "--calendar", "nl-2026-2027-midden", "--start-date", "2027-06-07",
        "--now", "2027-06-07T09:00", "--db", str(tmp_path / "c.db"), "--definitions", str(routes),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("coachflow: warning: late: week 30 of the trajectory ends on ")
    assert "after the end of the school calendar 'Schooljaar 2026-2027, regio midden'" in line
    shown = run_cli(
        "show", "late", "--now", "2027-06-07T09:00",
        "--db", str(tmp_path / "c.db"), "--definitions", str(routes),
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    notes = [s.strip() for s in shown.stdout.splitlines() if s.strip().startswith("note: ")]
    assert len(notes) == 1 and "after the end of the school calendar" in notes[0]


def test_an_event_that_would_end_after_the_year_9999_is_one_line_not_a_traceback(
    tmp_path: Path,
) -> None:
    late = tmp_path / "late.ics"
    late.write_bytes(
        ICS.replace(
            "DTSTART;VALUE=DATE:20260912\r\nDTEND;VALUE=DATE:20260921",
            "DTSTART;VALUE=DATE:99991231\r\nDURATION:P2D",
        ).encode()
    )
    result = run_cli("calendar", "import", str(late))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert "an all-day event of 2 days from 99991231" in line and "ends by 9999-12-31" in line


def test_an_imported_file_name_reaches_the_output_escaped(ics: Path, tmp_path: Path) -> None:
    odd = tmp_path / "r\x1b[31mood.ics"
    odd.write_bytes(ics.read_bytes())
    out = tmp_path / "odd.yaml"
    result = run_cli("calendar", "import", str(odd), "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert "\x1b" not in text and "\x1b" not in result.stdout + result.stderr
    assert "r\\u001b[31mood" in text
    assert load_calendar(out).holidays  # and it reads back
