"""The calendar in the definition language (issue 15): ``school_year(<date>)``,
``holiday_start("name")`` / ``holiday_end("name")``, ``due: {before: <holiday>}`` and
``recurring: {include: [...]}``, each checked with its diagnostic where it is wrong."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

import coachflow
from coachflow.definition.expressions import (
    DATE,
    INT,
    EvalContext,
    Scope,
    compile_expression,
    school_year_of,
)
from coachflow.files.loading import check_text

SCOPE = Scope(facts={"d": DATE, "n": INT})


class CalendarContext(EvalContext):
    """A context whose calendar has one holiday: kerstvakantie, 19 Dec 2026 - 3 Jan 2027."""

    def holiday(self, name: str) -> tuple[date, date] | None:
        if name == "kerstvakantie":
            return date(2026, 12, 19), date(2027, 1, 3)
        return None


def problems(source: str) -> list[tuple[str, str]]:
    return [(p.code, p.message) for p in compile_expression(source, SCOPE).problems]


# --- school_year(<date>) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (date(2026, 7, 31), 2025),
        (date(2026, 8, 1), 2026),
        (date(2027, 3, 18), 2026),
        (date(2026, 12, 31), 2026),
        (date(2027, 1, 1), 2026),
    ],
)
def test_a_school_year_runs_from_1_august_to_31_july(day: date, year: int) -> None:
    assert school_year_of(day) == year
    compiled = compile_expression("school_year(d)", SCOPE)
    assert compiled.ok and compiled.type == INT
    assert compiled(EvalContext({"d": day}, {})) == year


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)))
def test_school_year_holds_each_day_in_one_year_from_august(day: date) -> None:
    year = school_year_of(day)
    assert date(year, 8, 1) <= day <= date(year + 1, 7, 31)


def test_school_year_of_a_missing_date_is_missing() -> None:
    assert compile_expression("school_year(d)", SCOPE)(EvalContext({}, {})) is None
    assert compile_expression("school_year(d) == 2026", SCOPE)(EvalContext({}, {})) is False


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("school_year(n) == 1", "guard-type"),
        ("school_year() == 1", "guard-forbidden"),
        ("school_year(d, d) == 1", "guard-forbidden"),
        ("school_year(day=d) == 1", "guard-forbidden"),
    ],
)
def test_school_year_takes_one_date(source: str, code: str) -> None:
    assert [c for c, _ in problems(source)] == [code]


# --- holiday_start / holiday_end ------------------------------------------------------------


def test_a_holiday_is_read_from_the_calendar_of_the_trajectory() -> None:
    start = compile_expression('holiday_start("kerstvakantie")', SCOPE)
    end = compile_expression('holiday_end("kerstvakantie")', SCOPE)
    assert start.ok and end.ok and start.type == DATE == end.type
    assert start.holidays == frozenset({"kerstvakantie"}) == end.holidays
    ctx = CalendarContext({}, {})
    assert start(ctx) == date(2026, 12, 19) and end(ctx) == date(2027, 1, 3)
    # a context without that holiday (or without a calendar) reads it as missing
    assert start(EvalContext({}, {})) is None
    after = compile_expression('d > holiday_end("kerstvakantie")', SCOPE)
    assert after(CalendarContext({"d": date(2027, 1, 4)}, {})) is True
    assert after(CalendarContext({"d": date(2027, 1, 3)}, {})) is False
    assert after(EvalContext({"d": date(2027, 1, 4)}, {})) is False


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ('holiday_start("kerst.vakantie") == d', "guard-type"),
        ('holiday_start("kerst_") == d', "guard-type"),
        ('holiday_start("") == d', "guard-type"),
        ('holiday_start("-kerst") == d', "guard-type"),
        ("holiday_start(d) == d", "guard-forbidden"),
        ("holiday_end() == d", "guard-forbidden"),
        ('holiday_end("a", "b") == d', "guard-forbidden"),
    ],
)
def test_a_holiday_is_named_by_a_constant_name(source: str, code: str) -> None:
    assert [c for c, _ in problems(source)] == [code]


@pytest.mark.parametrize("name", ["holiday_start", "holiday_end", "school_year"])
def test_the_calendar_functions_are_reserved_names(name: str) -> None:
    text = f"""\
coachflow: 1
id: demo
version: 1
roles: {{coach: {{}}}}
facts: {{{name}: {{type: int}}}}
initial: a
states: {{a: {{}}, z: {{final: true}}}}
transitions: [{{event: go, from: a, to: z, by: [coach]}}]
"""
    codes = [d.code for d in coachflow.validate_text(text)]
    assert codes and set(codes) <= {"schema", "reserved-name"}, codes


# --- due: {before: ...} and recurring include, in a whole definition ----------------------

HEAD = """\
coachflow: 1
id: demo
version: 1
roles:
  coach: {}
initial: a
states:
  a: {weeks: {from: 1, to: 30}}
  z: {final: true}
transitions:
  - event: go
    from: a
    to: z
    by: [coach]
    when: today > holiday_end("kerstvakantie")
activities:
"""


def found(
    text: str, calendar: coachflow.SchoolCalendar | None = None
) -> list[tuple[str, str, int]]:
    parsed, _ = check_text(text, "<string>", calendar=calendar)
    return [(d.code, d.severity, d.line) for d in parsed.diagnostics]


def load(text: str) -> coachflow.Definition:
    _, compiled = check_text(text, "<string>")
    assert compiled is not None
    return compiled.definition


def test_due_before_a_holiday_is_valid() -> None:
    text = HEAD + "  visit: {by: [coach], due: {week: 16, before: kerstvakantie}}\n"
    assert coachflow.validate_text(text) == []
    definition = load(text)
    due = definition.activities["visit"].due
    assert due is not None and due.before == "kerstvakantie"


@pytest.mark.parametrize("before", ["kerst.vakantie", "''", "_x", "[kerstvakantie]", "{a: 1}"])
def test_due_before_something_that_is_no_holiday_name_is_a_schema_error(before: str) -> None:
    text = HEAD + f"  visit: {{by: [coach], due: {{week: 16, before: {before}}}}}\n"
    assert ("schema", "error", 17) in found(text)


def test_a_holiday_no_built_in_calendar_has_is_a_warning() -> None:
    text = HEAD + "  visit: {by: [coach], due: {week: 4, before: studiedag}}\n"
    assert found(text) == [("unknown-holiday", "warning", 17)]
    text = HEAD.replace("kerstvakantie", "zomerfeest") + "  visit: {by: [coach]}\n"
    assert found(text) == [("unknown-holiday", "warning", 15)]


def test_a_holiday_the_given_calendar_lacks_is_an_error() -> None:
    summer = coachflow.SchoolCalendar(
        "zomer",
        (coachflow.Holiday("Zomervakantie", date(2027, 7, 17), date(2027, 8, 29)),),
    )
    text = HEAD + "  visit: {by: [coach], due: {week: 4, before: zomervakantie}}\n"
    assert found(text, calendar=summer) == [("unknown-holiday", "error", 15)]
    assert found(text, calendar=coachflow.builtin_calendar()) == []


def test_recurring_include_counts_other_activities() -> None:
    text = (
        HEAD
        + "  contact: {by: [coach], recurring: {every: month, include: [visit]}}\n"
        + "  visit: {by: [coach]}\n"
    )
    assert coachflow.validate_text(text) == []


@pytest.mark.parametrize(
    ("include", "code"),
    [("[nope]", "unknown-activity"), ("[contact]", "bad-recurring"), ("[Visit]", "schema")],
)
def test_recurring_include_names_other_known_activities(include: str, code: str) -> None:
    text = (
        HEAD
        + f"  contact: {{by: [coach], recurring: {{every: month, include: {include}}}}}\n"
        + "  visit: {by: [coach]}\n"
    )
    assert [(c, s) for c, s, _ in found(text)] == [(code, "error")]
    assert found(text)[0][2] == 17


def test_the_included_activity_is_the_months_record() -> None:
    text = (
        HEAD.replace('    when: today > holiday_end("kerstvakantie")\n', "")
        + "  contact: {by: [coach], recurring: {every: month, include: [visit]}}\n"
        + "  visit: {by: [coach]}\n"
    )
    from coachflow import Engine, FixedClock

    definition = load(text)
    engine = Engine([definition], clock=FixedClock("2027-03-02T08:00:00+00:00"))
    engine.start(
        "demo", participants={"coach": "c"}, actor="c", trajectory_id="t", start_date="2027-02-01"
    )
    engine.record_activity("t", "visit", actor="c", on=date(2027, 2, 10))
    months = {
        i.period_start: (i.status, i.records)
        for i in engine.agenda("t", as_of=date(2027, 3, 2))
        if i.activity == "contact"
    }
    assert months[date(2027, 2, 1)] == ("done", 1)
    assert months[date(2027, 3, 1)][1] == 0
