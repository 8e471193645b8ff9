"""School calendars: the built-in files (the official school holidays of the three regions
and the public holidays that fall in school time), the calendar file format (``source``,
``school_year``), and a school's own iCalendar file read as a calendar."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import coachflow
from coachflow import DefinitionError, Holiday, SchoolCalendar, load_calendar
from coachflow.files.calendars import (
    DEFAULT_CALENDAR,
    builtin_calendar,
    builtin_calendars,
    dump_calendar,
    parse_calendar,
)
from coachflow.files.ical_import import parse_ical_calendar

YEARS = ("2025-2026", "2026-2027", "2027-2028")
REGIONS = ("noord", "midden", "zuid")
VACATIONS = ("Herfstvakantie", "Kerstvakantie", "Voorjaarsvakantie", "Meivakantie", "Zomervakantie")
PUBLIC = ("Tweede Paasdag", "Koningsdag", "Bevrijdingsdag", "Hemelvaartsdag", "Tweede Pinksterdag")
NAMES = [f"nl-{year}-{region}" for year in YEARS for region in REGIONS]


# --- Easter, computed ---------------------------------------------------------------------------


def easter(year: int) -> date:
    """Easter Sunday of the Gregorian calendar: the anonymous algorithm (Meeus/Jones/
    Butcher), valid for every Gregorian year."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_fix = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_fix) // 451
    month, day = divmod(h + weekday_fix - 7 * m + 114, 31)
    return date(year, month, day + 1)


@pytest.mark.parametrize(
    "known",
    [
        date(1818, 3, 22),  # the earliest possible date
        date(1943, 4, 25),  # the latest possible date
        date(2000, 4, 23),
        date(2019, 4, 21),
        date(2024, 3, 31),
        date(2025, 4, 20),
        date(2038, 4, 25),
    ],
)
def test_the_easter_algorithm_gives_the_known_dates(known: date) -> None:
    assert easter(known.year) == known


def test_easter_is_always_a_sunday_between_22_march_and_25_april() -> None:
    for year in range(1583, 3000):
        day = easter(year)
        assert day.weekday() == 6
        assert date(year, 3, 22) <= day <= date(year, 4, 25)


def public_holidays(year: int) -> dict[str, date]:
    """The days of article 3, first paragraph, of the Algemene termijnenwet that can fall
    on a school day (Nieuwjaarsdag and the Christmas days always fall in the Christmas
    holiday; the test below checks that too)."""
    sunday = easter(year)
    kings_day = date(year, 4, 27)
    if kings_day.weekday() == 6:  # on a Sunday it is celebrated the day before
        kings_day -= timedelta(days=1)
    return {
        "Tweede Paasdag": sunday + timedelta(days=1),
        "Koningsdag": kings_day,
        "Bevrijdingsdag": date(year, 5, 5),
        "Hemelvaartsdag": sunday + timedelta(days=39),
        "Tweede Pinksterdag": sunday + timedelta(days=50),
    }


def test_the_public_holidays_of_2026_2027_and_2028() -> None:
    assert public_holidays(2027) == {
        "Tweede Paasdag": date(2027, 3, 29),
        "Koningsdag": date(2027, 4, 27),
        "Bevrijdingsdag": date(2027, 5, 5),
        "Hemelvaartsdag": date(2027, 5, 6),
        "Tweede Pinksterdag": date(2027, 5, 17),
    }
    assert public_holidays(2026)["Hemelvaartsdag"] == date(2026, 5, 14)
    assert public_holidays(2028)["Tweede Pinksterdag"] == date(2028, 6, 5)


# --- the built-in calendars ---------------------------------------------------------------------


def test_the_builtin_calendars_are_the_three_regions_of_three_school_years() -> None:
    assert builtin_calendars() == sorted(NAMES)
    assert coachflow.builtin_calendars() == builtin_calendars()
    assert DEFAULT_CALENDAR == "nl-2026-2027-midden"
    assert builtin_calendar() == builtin_calendar("nl-2026-2027-midden")


@pytest.mark.parametrize("bad", ["nl-1999-noord", "../calendars/nl-2026-2027-midden", "", "x.yaml"])
def test_an_unknown_builtin_calendar_is_a_lookup_error(bad: str) -> None:
    with pytest.raises(LookupError, match="no built-in calendar"):
        builtin_calendar(bad)


def vacations(calendar: SchoolCalendar) -> dict[str, Holiday]:
    found = {h.name: h for h in calendar.holidays if h.name in VACATIONS}
    assert len(found) == len([h for h in calendar.holidays if h.name in VACATIONS])
    return found


@pytest.mark.parametrize("name", NAMES)
def test_a_builtin_calendar_names_its_source_region_and_school_year(name: str) -> None:
    year, region = name[3:12], name.rsplit("-", 1)[1]
    calendar = builtin_calendar(name)
    assert calendar.region == region
    assert calendar.name == f"Schooljaar {year}, regio {region}"
    assert calendar.source and calendar.source.startswith(f"Rijksoverheid, Schoolvakanties {year}")
    assert calendar.school_year is not None
    first, last = calendar.school_year
    assert (first.year, last.year) == (int(year[:4]), int(year[5:]))
    assert first.weekday() == 0, "the school year starts on a Monday"
    assert last.weekday() == 6, "the school year ends on the Sunday its summer holiday ends"


@pytest.mark.parametrize("name", NAMES)
def test_every_vacation_of_the_region_lies_inside_its_school_year(name: str) -> None:
    calendar = builtin_calendar(name)
    assert calendar.school_year is not None
    first, last = calendar.school_year
    found = vacations(calendar)
    assert sorted(found) == sorted(VACATIONS)
    for holiday in calendar.holidays:
        assert first <= holiday.start <= holiday.end <= last, holiday
    # a school holiday runs from a Saturday to a Sunday: 9 days, 16 at Christmas, 44 in summer
    lengths = {"Kerstvakantie": 16, "Zomervakantie": 44}
    for vacation in found.values():
        assert vacation.start.weekday() == 5 and vacation.end.weekday() == 6, vacation
        assert (vacation.end - vacation.start).days + 1 == lengths.get(vacation.name, 9)
    assert found["Zomervakantie"].end == last, "the school year ends with its summer holiday"
    order = sorted(found.values(), key=lambda h: h.start)
    assert [h.name for h in order] == list(VACATIONS)


@pytest.mark.parametrize("name", NAMES)
def test_no_two_holidays_of_a_builtin_calendar_overlap(name: str) -> None:
    holidays = builtin_calendar(name).holidays
    assert list(holidays) == sorted(holidays, key=lambda h: h.start)
    for before, after in pairwise(holidays):
        assert before.end < after.start, (before, after)


@pytest.mark.parametrize("region", REGIONS)
def test_consecutive_school_years_join_without_a_gap(region: str) -> None:
    years = [builtin_calendar(f"nl-{year}-{region}").school_year for year in YEARS]
    for earlier, later in pairwise(years):
        assert earlier is not None and later is not None
        assert later[0] == earlier[1] + timedelta(days=1)


@pytest.mark.parametrize("year", YEARS)
def test_christmas_and_may_holidays_are_the_same_in_the_three_regions(year: str) -> None:
    for vacation in ("Kerstvakantie", "Meivakantie"):
        days = {
            (h.start, h.end)
            for region in REGIONS
            for h in builtin_calendar(f"nl-{year}-{region}").holidays
            if h.name == vacation
        }
        assert len(days) == 1, (vacation, days)


@pytest.mark.parametrize("name", NAMES)
def test_the_public_holidays_in_school_time_agree_with_the_computed_dates(name: str) -> None:
    """Every public holiday (Algemene termijnenwet, art. 3 lid 1) on a weekday outside the
    vacations is a one-day holiday of its name, and no other one-day holiday is listed;
    Goede Vrijdag (art. 3 lid 2: a holiday for deadlines only) is a school day."""
    calendar = builtin_calendar(name)
    assert calendar.school_year is not None
    spring = calendar.school_year[1].year
    found = vacations(calendar)

    def in_vacation(day: date) -> bool:
        return any(v.start <= day <= v.end for v in found.values())

    expected = {
        holiday: day
        for holiday, day in public_holidays(spring).items()
        if day.weekday() < 5 and not in_vacation(day)
    }
    listed = {h.name: h.start for h in calendar.holidays if h.name not in VACATIONS}
    assert listed == expected
    assert all(h.start == h.end for h in calendar.holidays if h.name in PUBLIC)
    kerst = found["Kerstvakantie"]
    for day in (date(spring - 1, 12, 25), date(spring - 1, 12, 26), date(spring, 1, 1)):
        assert kerst.start <= day <= kerst.end, "Christmas and New Year lie in the holiday"
    good_friday = easter(spring) - timedelta(days=2)
    assert calendar.is_school_day(good_friday) != in_vacation(good_friday)
    ascension = public_holidays(spring)["Hemelvaartsdag"]
    friday_after = ascension + timedelta(days=1)
    assert calendar.is_school_day(friday_after) != in_vacation(friday_after)


@pytest.mark.parametrize("name", NAMES)
def test_a_definition_finds_every_holiday_by_its_usual_name(name: str) -> None:
    calendar = builtin_calendar(name)
    assert calendar.school_year is not None
    first = calendar.school_year[0]
    for holiday in calendar.holidays:
        key = holiday.name.lower()
        assert calendar.holiday(key, first) == holiday
    assert calendar.holiday("kerstvakantie", first) == vacations(calendar)["Kerstvakantie"]


@pytest.mark.parametrize(
    ("name", "vacation", "first", "last"),
    [
        # Rijksoverheid, "Overview of school holiday dates 2026-2027"
        ("nl-2026-2027-noord", "Herfstvakantie", date(2026, 10, 10), date(2026, 10, 18)),
        ("nl-2026-2027-zuid", "Voorjaarsvakantie", date(2027, 2, 13), date(2027, 2, 21)),
        ("nl-2026-2027-noord", "Zomervakantie", date(2027, 7, 10), date(2027, 8, 22)),
        ("nl-2026-2027-midden", "Zomervakantie", date(2027, 7, 17), date(2027, 8, 29)),
        ("nl-2026-2027-zuid", "Zomervakantie", date(2027, 7, 24), date(2027, 9, 5)),
        # Rijksoverheid, "Overzicht schoolvakanties 2027-2028"
        ("nl-2027-2028-zuid", "Herfstvakantie", date(2027, 10, 23), date(2027, 10, 31)),
        ("nl-2027-2028-midden", "Kerstvakantie", date(2027, 12, 25), date(2028, 1, 9)),
        ("nl-2027-2028-noord", "Voorjaarsvakantie", date(2028, 2, 19), date(2028, 2, 27)),
        ("nl-2027-2028-midden", "Meivakantie", date(2028, 4, 29), date(2028, 5, 7)),
        ("nl-2027-2028-midden", "Zomervakantie", date(2028, 7, 8), date(2028, 8, 20)),
        ("nl-2027-2028-zuid", "Zomervakantie", date(2028, 7, 22), date(2028, 9, 3)),
        # 2025-2026: not confirmed against the Rijksoverheid page (see the files)
        ("nl-2025-2026-zuid", "Herfstvakantie", date(2025, 10, 11), date(2025, 10, 19)),
        ("nl-2025-2026-noord", "Zomervakantie", date(2026, 7, 4), date(2026, 8, 16)),
    ],
)
def test_the_dates_are_the_published_ones(
    name: str, vacation: str, first: date, last: date
) -> None:
    holiday = vacations(builtin_calendar(name))[vacation]
    assert (holiday.start, holiday.end) == (first, last)


def test_the_unconfirmed_year_says_so() -> None:
    for region in REGIONS:
        calendar = builtin_calendar(f"nl-2025-2026-{region}")
        assert calendar.source is not None and "not confirmed" in calendar.source
        later = builtin_calendar(f"nl-2026-2027-{region}")
        assert later.source is not None and "government.nl" in later.source


def test_the_shipped_files_keep_their_comments() -> None:
    from importlib.resources import files

    for name in NAMES:
        text = (files("coachflow") / "calendars" / f"{name}.yaml").read_text(encoding="utf-8")
        assert "Algemene termijnenwet" in text and "Goede Vrijdag" in text, name


# --- the file format: source and school_year ----------------------------------------------------

FILE = """\
calendar: 1
name: Test
region: noord
source: De Linde, vakantierooster
school_year: {from: 2026-08-17, to: 2027-08-22}
holidays:
  - {name: Herfst, from: 2026-10-10, to: 2026-10-18}
"""


def test_source_and_school_year_are_read() -> None:
    calendar, problems = parse_calendar(FILE, "cal.yaml")
    assert problems == []
    assert calendar == SchoolCalendar(
        "Test",
        (Holiday("Herfst", date(2026, 10, 10), date(2026, 10, 18)),),
        "noord",
        school_year=(date(2026, 8, 17), date(2027, 8, 22)),
        source="De Linde, vakantierooster",
    )


def test_source_and_school_year_may_be_left_out() -> None:
    text = FILE.replace("source: De Linde, vakantierooster\n", "").replace(
        "school_year: {from: 2026-08-17, to: 2027-08-22}\n", ""
    )
    calendar, problems = parse_calendar(text)
    assert problems == [] and calendar is not None
    assert (calendar.source, calendar.school_year) == (None, None)


@pytest.mark.parametrize(
    ("old", "new", "line", "token", "words"),
    [
        ("to: 2027-08-22", "to: 2026-08-16", 5, "2026-08-16", "ends (2026-08-16) before"),
        ("from: 2026-08-17", "from: 2026-13-01", 5, "2026-13-01", "school_year from"),
        ("to: 2027-08-22", "to: soon", 5, "soon", "school_year to"),
        ("{from: 2026-08-17, to: 2027-08-22}", "2026-2027", 5, "2026-2027", "{from: YYYY-MM-DD"),
        (", to: 2027-08-22}", "}", 5, "{from", "{from: YYYY-MM-DD"),
        ("from: 2026-10-10", "from: 2026-08-10", 7, "{name: Herfst", "outside the school year"),
        ("to: 2026-10-18}", "to: 2027-09-18}", 7, "{name: Herfst", "outside the school year"),
        ("source: De Linde, vakantierooster", "source: [1]", 4, "[1]", "'source' must be"),
        ("source: De Linde, vakantierooster", "source: ''", 4, "''", "'source' must be"),
        ("region: noord", "regio: noord", 3, "regio", "allowed: calendar, name, region, source"),
    ],
)
def test_a_bad_source_or_school_year_is_located(
    old: str, new: str, line: int, token: str, words: str
) -> None:
    text = FILE.replace(old, new)
    assert text != FILE
    calendar, problems = parse_calendar(text, "cal.yaml")
    assert calendar is None
    [problem] = problems
    row = text.splitlines()[line - 1]
    assert (problem.code, problem.path, problem.line, problem.column) == (
        "schema",
        "cal.yaml",
        line,
        row.index(token) + 1,
    )
    assert words in problem.message


def test_the_old_diagnostics_stay() -> None:
    calendar, problems = parse_calendar(FILE.replace("calendar: 1", "calendar: 2") + "x: 1\n")
    assert calendar is None
    assert [(p.line, p.code) for p in problems] == [(8, "schema"), (1, "schema")]
    assert "'x'" in problems[0].message and "calendar: 1" in problems[1].message


@pytest.mark.parametrize("name", NAMES)
def test_a_dumped_calendar_reads_back_the_same(name: str) -> None:
    calendar = builtin_calendar(name)
    again, problems = parse_calendar(dump_calendar(calendar, comment="a\nb"))
    assert problems == [] and again == calendar


def test_a_dumped_name_with_odd_characters_reads_back_the_same() -> None:
    odd = 'Kerst "2026" \\ \x1b[31m\u202e\u2028 é \U0001f384\x7f\x85'
    calendar = SchoolCalendar(
        odd, (Holiday(odd, date(2026, 12, 19), date(2027, 1, 3)),), region="mid: den"
    )
    text = dump_calendar(calendar)
    assert "\x1b" not in text and "\u202e" not in text and "\x85" not in text
    again, problems = parse_calendar(text)
    assert problems == [] and again == calendar


# --- iCalendar files -----------------------------------------------------------------------------

ICS = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Basisschool De Linde//Vakantierooster//NL",
        "X-WR-CALNAME:Vakantierooster De Linde 2026-2027",
        "BEGIN:VTIMEZONE",
        "TZID:Europe/Amsterdam",
        "BEGIN:STANDARD",
        "DTSTART:19701025T030000",
        "TZOFFSETFROM:+0200",
        "TZOFFSETTO:+0100",
        "END:STANDARD",
        "END:VTIMEZONE",
        "BEGIN:VEVENT",
        "UID:herfst-2026@delinde.nl",
        "DTSTAMP:20260601T120000Z",
        "DTSTART;VALUE=DATE:20261017",
        "DTEND;VALUE=DATE:20261026",
        "SUMMARY:Herfstvakantie",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:studiedag-1@delinde.nl",
        "DTSTART;VALUE=DATE:20261120",
        # a folded line: the line break and the one space after it are removed
        "SUMMARY:Studiedag (alle kinderen vrij)\\, team De Linde\\; bouw onder en bo",
        " ven",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "DESCRIPTION:Morgen geen school",
        "TRIGGER:-PT12H",
        "END:VALARM",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:kerst-2026@delinde.nl",
        "DTSTART;VALUE=DATE:20261219",
        "DURATION:P16D",
        "SUMMARY:Kerstvakantie",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:ouderavond@delinde.nl",
        'DTSTART;TZID="Europe/Amsterdam":20261125T193000',
        "DTEND;TZID=Europe/Amsterdam:20261125T210000",
        "SUMMARY:Ouderavond",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:studiemiddag@delinde.nl",
        "DTSTART:20270113T120000Z",
        "DTEND:20270113T150000Z",
        "SUMMARY:Studiemiddag (kinderen 's middags vrij)",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:gym@delinde.nl",
        "DTSTART;VALUE=DATE:20260907",
        "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=30",
        "SUMMARY:Gymdag",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:afgelast@delinde.nl",
        "DTSTART;VALUE=DATE:20270301",
        "STATUS:CANCELLED",
        "SUMMARY:Studiedag (vervallen)",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)


def test_an_ics_file_is_read_by_load_calendar(tmp_path: Path) -> None:
    path = tmp_path / "rooster.ics"
    path.write_bytes(ICS.encode("utf-8"))
    calendar = load_calendar(path)
    assert calendar == SchoolCalendar(
        "Vakantierooster De Linde 2026-2027",
        (
            Holiday("Herfstvakantie", date(2026, 10, 17), date(2026, 10, 25)),  # DTEND exclusive
            Holiday(
                "Studiedag (alle kinderen vrij), team De Linde; bouw onder en boven",
                date(2026, 11, 20),
                date(2026, 11, 20),  # no DTEND: one day
            ),
            Holiday("Kerstvakantie", date(2026, 12, 19), date(2027, 1, 3)),  # DURATION
        ),
        source="rooster.ics",
    )
    assert calendar.is_school_week(date(2026, 11, 16))
    assert not calendar.is_school_day(date(2026, 11, 20))
    assert calendar.is_school_day(date(2026, 11, 25))  # the parents' evening is no holiday
    assert calendar.is_school_day(date(2026, 9, 14))  # nor a repeating event
    assert calendar.is_school_day(date(2027, 3, 1))  # nor a cancelled one


def test_what_an_ics_import_skips_is_counted() -> None:
    result = parse_ical_calendar(ICS, "rooster.ics", name="De Linde", region="midden")
    assert result.diagnostics == []
    assert (result.timed, result.recurring, result.cancelled) == (2, 1, 1)
    assert result.skipped() == "2 timed events, 1 repeating all-day event, 1 cancelled event"
    assert result.calendar is not None
    assert (result.calendar.name, result.calendar.region) == ("De Linde", "midden")


def test_an_ics_file_is_known_by_its_content_and_any_line_ends_do(tmp_path: Path) -> None:
    path = tmp_path / "rooster.txt"
    path.write_text(ICS.replace("\r\n", "\n"), encoding="utf-8")
    calendar = load_calendar(path)
    assert calendar.source == "rooster.txt" and len(calendar.holidays) == 3
    lower = tmp_path / "ROOSTER.ICS"
    lower.write_text("\ufeff" + ICS, encoding="utf-8")
    assert load_calendar(lower).holidays == calendar.holidays
    old_mac = tmp_path / "cr.ics"
    old_mac.write_text(ICS.replace("\r\n", "\r"), encoding="utf-8", newline="")
    assert load_calendar(old_mac).holidays == calendar.holidays


def test_a_calendar_without_a_name_is_named_after_its_file(tmp_path: Path) -> None:
    path = tmp_path / "vakanties 2026.ics"
    path.write_text(ICS.replace("X-WR-CALNAME:Vakantierooster De Linde 2026-2027\r\n", ""))
    assert load_calendar(path).name == "vakanties 2026"


def test_an_event_without_a_summary_and_odd_characters_in_one() -> None:
    text = ICS.replace("SUMMARY:Herfstvakantie", "X-NOTE:none").replace(
        "SUMMARY:Kerstvakantie", "SUMMARY:Kerst\\nvakantie \x1b[2J\u202e\u00a0 "
    )
    result = parse_ical_calendar(text, "x.ics")
    assert result.calendar is not None
    names = [h.name for h in result.calendar.holidays]
    assert names[0] == "vakantie" and names[2] == "Kerst vakantie [2J"


def lines(*body: str) -> str:
    return "\r\n".join(body) + "\r\n"


def event(*props: str) -> list[str]:
    return ["BEGIN:VEVENT", *props, "END:VEVENT"]


def calendar_of(*props: str) -> str:
    return lines("BEGIN:VCALENDAR", "VERSION:2.0", *event(*props), "END:VCALENDAR")


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("", 1, 1, "the file is empty"),
        ("\r\n\r\n", 1, 1, "the file is empty"),
        ("calendar: 1\nname: x\n", 1, 1, "not an iCalendar file"),
        ("Vakanties 2026\n", 1, 1, "not an iCalendar file"),
        (" BEGIN:VCALENDAR\n", 1, 1, "not an iCalendar file"),
        (lines(*event("DTSTART;VALUE=DATE:20261017")), 1, 1, "no VCALENDAR"),
        (
            calendar_of("DTSTART;VALUE=DATE:2026-10-17"),
            4,
            len("DTSTART;VALUE=DATE:") + 1,
            "not a date: a DATE is written YYYYMMDD",
        ),
        (calendar_of("DTSTART;VALUE=DATE:20260230"), 4, 20, "there is no such day"),
        (calendar_of("DTSTART:2026"), 4, 9, "neither a date"),
        (calendar_of("DTSTART:20261017T250000"), 4, 9, "no such time"),
        (calendar_of("DTSTART;VALUE=DATE-TIME:20261017"), 4, 25, "not a date-time"),
        (calendar_of("DTSTART;VALUE=PERIOD:20261017"), 4, 1, "DATE or a DATE-TIME"),
        (
            calendar_of("DTSTART;VALUE=DATE:20261017", "DTEND;VALUE=DATE:20261017"),
            5,
            18,
            "DTEND 20261017 is not after DTSTART 20261017",
        ),
        (
            calendar_of("DTSTART;VALUE=DATE:20261017", "DTEND;VALUE=DATE:20261010"),
            5,
            18,
            "is not after DTSTART",
        ),
        (
            calendar_of("DTSTART;VALUE=DATE:20261017", "DTEND:20261026T000000"),
            5,
            7,
            "DTEND of an all-day event is a date",
        ),
        (
            calendar_of("DTSTART;VALUE=DATE:20261017", "DURATION:PT8H"),
            5,
            10,
            "a number of days or weeks",
        ),
        (
            calendar_of("DTSTART;VALUE=DATE:20261017", "DURATION:P0D"),
            5,
            10,
            "at least one day",
        ),
        (
            calendar_of("DTSTART;VALUE=DATE:20261017", "DTEND;VALUE=DATE:20261026", "DURATION:P9D"),
            6,
            1,
            "DTEND or DURATION, not both",
        ),
        (
            calendar_of("DTSTART;VALUE=DATE:20261017", "DTEND;VALUE=DATE:20281026"),
            5,
            18,
            "lasts at most 366 days",
        ),
        (
            calendar_of("DTSTART;VALUE=DATE:20261017", "DTSTART;VALUE=DATE:20261018"),
            5,
            1,
            "one DTSTART",
        ),
        (calendar_of("SUMMARY:Herfst"), 3, 1, "an event without DTSTART"),
        (calendar_of("DTSTART;VALUE=DATE:20261017", "SUMMARY Herfst"), 5, 1, "NAME:VALUE"),
        (calendar_of('DTSTART;TZID="Europe:20261017'), 4, 1, "quoted parameter value"),
        (calendar_of("DTSTART;VALUE:20261017"), 4, 1, ";NAME=VALUE"),
        (
            lines("BEGIN:VCALENDAR", "BEGIN:VEVENT", "DTSTART;VALUE=DATE:20261017"),
            2,
            1,
            "BEGIN:VEVENT is never closed",
        ),
        (
            lines("BEGIN:VCALENDAR", *event("DTSTART;VALUE=DATE:20261017")),
            1,
            1,
            "BEGIN:VCALENDAR is never closed",
        ),
        (
            lines("BEGIN:VCALENDAR", "BEGIN:VEVENT", "END:VTODO", "END:VCALENDAR"),
            3,
            1,
            "END:VTODO does not close BEGIN:VEVENT (line 2)",
        ),
        (
            lines("BEGIN:VCALENDAR", *event("DTSTART;VALUE=DATE:20261017"), "END:VCALENDAR", "X:1"),
            6,
            1,
            "outside a VCALENDAR",
        ),
        (
            calendar_of("DTSTART:20261120T190000", "SUMMARY:Ouderavond"),
            1,
            1,
            "no all-day events to read as holidays: it has 1 timed event and no other",
        ),
        (lines("BEGIN:VCALENDAR", "END:VCALENDAR"), 1, 1, "it has no events at all"),
    ],
)
def test_a_bad_ics_file_is_refused_with_its_place(
    tmp_path: Path, text: str, line: int, column: int, words: str
) -> None:
    path = tmp_path / "bad.ics"
    path.write_text(text, encoding="utf-8", newline="")
    with pytest.raises(DefinitionError) as caught:
        load_calendar(path)
    problems = caught.value.diagnostics
    assert len(problems) == 1, [p.format() for p in problems]
    [problem] = problems
    assert (problem.code, problem.severity, problem.path) == ("schema", "error", str(path))
    assert (problem.line, problem.column) == (line, column), problem.format()
    assert words in problem.message
    assert "\n" not in problem.message and "Traceback" not in problem.message


def test_a_problem_on_a_folded_line_is_placed_on_the_physical_line() -> None:
    text = calendar_of("DTSTART;", " VALUE=DATE:2026", " 1017x")
    [problem] = parse_ical_calendar(text, "f.ics").diagnostics
    # the value starts on line 5 (" VALUE=DATE:2026"), after the folding space
    assert (problem.line, problem.column) == (5, len(" VALUE=DATE:") + 1)
    assert "20261017x" in problem.message


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin1.ics"
    path.write_bytes(calendar_of("DTSTART;VALUE=DATE:20261017", "SUMMARY:Kerst").encode() + b"\xe9")
    with pytest.raises(DefinitionError) as caught:
        load_calendar(path)
    [problem] = caught.value.diagnostics
    assert (problem.line, problem.column) == (8, 1) and "not UTF-8" in problem.message


def test_every_problem_of_an_ics_file_is_reported() -> None:
    text = lines(
        "BEGIN:VCALENDAR",
        *event("DTSTART;VALUE=DATE:2026-10-17"),
        *event("DTSTART;VALUE=DATE:20261017", "DTEND;VALUE=DATE:20261001"),
        "END:VCALENDAR",
    )
    result = parse_ical_calendar(text, "two.ics")
    assert result.calendar is None
    assert [(d.line, d.column) for d in result.diagnostics] == [(3, 20), (7, 18)]


def test_an_ics_directory_or_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_calendar(tmp_path / "nope.ics")
    folder = tmp_path / "dir.ics"
    folder.mkdir()
    with pytest.raises(IsADirectoryError):
        load_calendar(folder)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "BEGIN:VCALENDAR",
                "END:VCALENDAR",
                "BEGIN:VEVENT",
                "END:VEVENT",
                "BEGIN:VALARM",
                "END:VALARM",
                "DTSTART;VALUE=DATE:20261017",
                "DTSTART:20261017T100000",
                "DTEND;VALUE=DATE:20261019",
                "DTEND:20261017",
                "DURATION:P2D",
                "RRULE:FREQ=DAILY",
                'DTSTART;TZID="A;B:C":20261017T100000',
                "SUMMARY:x\\",
                " folded",
                "STATUS:CANCELLED",
                "X-WR-CALNAME:\x00",
                "",
                ":",
                ";;",
            ]
        ),
        max_size=14,
    ),
    st.text(max_size=6),
)
def test_any_text_gives_a_calendar_or_located_problems_never_an_exception(
    parts: list[str], noise: str
) -> None:
    result = parse_ical_calendar("\r\n".join(parts) + noise, "fuzz.ics")
    if result.calendar is None:
        assert result.diagnostics
        for d in result.diagnostics:
            assert d.line >= 1 and d.column >= 1 and d.code == "schema"
    else:
        assert result.diagnostics == [] and result.calendar.holidays
