"""The iCalendar feed of an agenda (``coachflow.agenda_to_ical``) as a calendar app sees it
when it fetches the feed again: every export is read back with an independent parser
(vobject), not with the icalendar package that writes it.

The trajectories start on Wednesday 7 October 2026 (no school calendar): week 2 ends on
Sunday 18 October, week 6 on Sunday 15 November.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pytest
import vobject
from conftest import run_cli

import coachflow
from coachflow import Engine, FixedClock

FEED_YAML = """\
coachflow: 1
id: feed
version: 1
title: Feed route
roles:
  coach: {required: true}
  starter: {required: true}
started_by: [coach]
suspendable_by: [coach]
initial: open
states:
  open: {}
  closed: {final: true}
transitions:
  - {event: close, from: open, to: closed, by: [coach]}
activities:
  visit:
    title: Klassenbezoek
    by: [coach]
    due: {week: 2}
  talk:
    by: [coach]
    due: {week: 6}
  plan:
    by: [coach]
  logbook:
    by: [starter]
    during: [open]
    recurring: {every: week, at_least: 1}
"""

START = date(2026, 10, 7)  # a Wednesday
CLOCK_AT = datetime(2026, 10, 7, 9, tzinfo=UTC)
"""When this module's ``clock`` fixture (tests/conftest.py) stands."""
DEFINITIONS = [coachflow.loads_definition(FEED_YAML)]
"""What this module's ``engine`` fixture (tests/conftest.py) serves."""
PEOPLE = {"coach": "c", "starter": "s"}


class Seen(NamedTuple):
    """One VEVENT as vobject reads it."""

    summary: str
    start: date
    end: date
    sequence: int
    stamp: datetime
    modified: datetime
    status: str
    transp: str


def read(data: bytes) -> tuple[Any, dict[str, Seen]]:
    """The calendar (vobject's) and its events by UID, checked as vobject checks them."""
    assert isinstance(data, bytes)
    calendar = vobject.readOne(data.decode("utf-8"))
    assert calendar.name == "VCALENDAR"
    assert calendar.validate(raiseException=True)
    assert list(calendar.components()), "RFC 5545: a VCALENDAR holds at least one component"
    events: dict[str, Seen] = {}
    for event in calendar.contents.get("vevent", []):
        uid = event.uid.value
        assert uid not in events, f"UID {uid} twice in one export"
        events[uid] = Seen(
            event.summary.value,
            event.dtstart.value,
            event.dtend.value,
            int(event.sequence.value),
            event.dtstamp.value,
            event.contents["last-modified"][0].value,
            event.status.value,
            event.transp.value,
        )
    return calendar, events


def start(engine: Engine, tid: str = "t1") -> str:
    return engine.start(
        "feed", participants=PEOPLE, actor="c", start_date=START, trajectory_id=tid
    ).id


def export(engine: Engine, clock: FixedClock, person: str = "c") -> dict[str, Seen]:
    items = engine.agenda_for(person, include_done=True)
    return read(coachflow.agenda_to_ical(items, name=person, stamp=clock.now()))[1]


def uid(activity: str, period: str = "once", tid: str = "t1") -> str:
    return f"{tid}.{activity}.{period}@coachflow"


def test_a_second_export_after_a_record_updates_the_same_events(
    engine: Engine, clock: FixedClock
) -> None:
    start(engine)
    clock.set(datetime(2026, 10, 14, 9, tzinfo=UTC))  # the visit is due on Sunday
    first = export(engine, clock)
    assert set(first) == {uid("visit"), uid("talk")}  # plan has no due date
    assert first[uid("visit")].summary == "Klassenbezoek (due)"

    clock.set(datetime(2026, 10, 15, 10, 30, 15, 123456, tzinfo=UTC))
    engine.record_activity("t1", "visit", actor="c")
    assert [i.activity for i in engine.agenda_for("c")] == ["talk", "plan"]  # as it was
    second = export(engine, clock)

    assert set(second) == set(first)  # the same UIDs: updated, none added or lost
    visit, before = second[uid("visit")], first[uid("visit")]
    assert visit.summary == "Klassenbezoek (done)"  # still there, marked done
    assert visit.status == "CONFIRMED"  # it took place: not CANCELLED
    assert visit.sequence > before.sequence
    assert (visit.start, visit.end) == (date(2026, 10, 18), date(2026, 10, 19))
    talk = second[uid("talk")]
    assert talk.summary == first[uid("talk")].summary == "talk (upcoming)"
    # its trajectory changed: every event of it is sent again, none with a lower sequence
    assert talk.sequence > first[uid("talk")].sequence
    made = datetime(2026, 10, 15, 10, 30, 15, tzinfo=UTC)  # the clock, to the second
    assert {e.stamp for e in second.values()} == {made}
    assert {e.modified for e in second.values()} == {made}
    assert {e.stamp for e in first.values()} == {datetime(2026, 10, 14, 9, tzinfo=UTC)}


def test_the_sequence_never_falls_and_rises_with_every_change(
    engine: Engine, clock: FixedClock
) -> None:
    """Upcoming, due, overdue, done (a once-only activity), and a week of the logbook
    that is recorded late: each export has for every UID a sequence at least that of the
    export before, higher wherever the summary changed."""
    start(engine)
    seen: dict[str, tuple[int, str]] = {}
    changes = 0

    def check(person: str) -> None:
        nonlocal changes
        for key, event in export(engine, clock, person).items():
            if key in seen:
                sequence, summary = seen[key]
                assert event.sequence >= sequence, key
                if event.summary != summary:
                    assert event.sequence > sequence, (key, summary, event.summary)
                    changes += 1
            seen[key] = (event.sequence, event.summary)

    for day in (date(2026, 10, 8), date(2026, 10, 12), date(2026, 10, 20), date(2026, 10, 21)):
        clock.set(datetime(day.year, day.month, day.day, 9, tzinfo=UTC))
        check("c")
        check("s")
    engine.record_activity("t1", "visit", actor="c", on="2026-10-19")
    engine.record_activity("t1", "logbook", actor="s", on="2026-10-14")  # week 2, late
    check("c")
    check("s")
    assert seen[uid("visit")][1] == "Klassenbezoek (done)"
    assert seen[uid("logbook", "2026-10-12")][1] == "logbook (done)"
    assert seen[uid("logbook", "2026-10-05")][1] == "logbook (missed)"
    assert changes >= 5  # upcoming > due > overdue > done; missed > done


def test_every_event_is_transparent(engine: Engine, clock: FixedClock) -> None:
    start(engine)
    clock.set(datetime(2026, 10, 14, 9, tzinfo=UTC))
    engine.record_activity("t1", "logbook", actor="s")
    events = export(engine, clock, "c") | export(engine, clock, "s")
    statuses = {e.summary.rsplit("(", 1)[1].rstrip(")") for e in events.values()}
    assert {"due", "upcoming", "done", "missed"} <= statuses
    assert {e.transp for e in events.values()} == {"TRANSPARENT"}  # a deadline blocks no time


def test_a_suspended_item_is_tentative(engine: Engine, clock: FixedClock) -> None:
    start(engine)
    clock.set(datetime(2026, 10, 14, 9, tzinfo=UTC))
    before = export(engine, clock)
    engine.suspend("t1", actor="c", reason="ziek")
    during = export(engine, clock)
    assert set(during) == set(before)
    for key, event in during.items():
        assert event.summary.endswith("(suspended)")
        assert event.status == "TENTATIVE"  # its date holds only if resumed today
        assert event.sequence > before[key].sequence


def test_an_empty_agenda_is_a_valid_calendar(engine: Engine, clock: FixedClock) -> None:
    start(engine)
    assert engine.agenda_for("stranger", include_done=True) == []
    data = coachflow.agenda_to_ical([], name="stranger", stamp=clock.now())
    calendar, events = read(data)
    assert events == {}
    [component] = list(calendar.components())
    assert component.name == "VTIMEZONE"  # a component no calendar app shows
    assert calendar.contents["x-wr-calname"][0].value == "stranger"
    # the items of a trajectory with none dated: no event either, the same placeholder
    undated = [i for i in engine.agenda("t1", as_of=START) if i.due_date is None]
    assert undated
    _, none = read(coachflow.agenda_to_ical(undated, stamp=clock.now()))
    assert none == {}


def test_the_stamp_defaults_to_now_and_must_have_a_timezone(engine: Engine) -> None:
    start(engine)
    items = engine.agenda("t1", as_of=START)
    before = datetime.now(UTC).replace(microsecond=0)
    _, events = read(coachflow.agenda_to_ical(items))  # as before: only the items
    after = datetime.now(UTC)
    assert events and all(before <= e.stamp <= after for e in events.values())
    with pytest.raises(ValueError, match="no timezone"):
        coachflow.agenda_to_ical(items, stamp=datetime(2026, 10, 7, 9))


def test_the_stamp_is_written_in_utc_to_the_second(engine: Engine) -> None:
    start(engine)
    items = engine.agenda("t1", as_of=START)
    stamp = datetime(2026, 10, 7, 13, 0, 5, 999999, tzinfo=ZoneInfo("Europe/Amsterdam"))
    data = coachflow.agenda_to_ical(items, stamp=stamp)
    assert b"DTSTAMP:20261007T110005Z" in data  # summer time: UTC+2
    _, events = read(data)
    assert {e.stamp for e in events.values()} == {datetime(2026, 10, 7, 11, 0, 5, tzinfo=UTC)}


def test_the_cli_writes_a_feed_with_the_done_items(tmp_path: Path) -> None:
    routes = tmp_path / "routes"
    routes.mkdir()
    (routes / "feed.yaml").write_text(FEED_YAML, encoding="utf-8")
    common = ["--db", str(tmp_path / "c.db"), "--definitions", str(routes)]
    started = run_cli(
        "start", "feed", "--id", "t1", "--as", "c", "--role", "coach=c", "--role", "starter=s",
        "--start-date", "2026-10-07", "--now", "2026-10-07T09:00", *common,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    ics = tmp_path / "c.ics"
    agenda = ["agenda", "--person", "c", "--ics", str(ics), *common]
    first = run_cli(*agenda, "--now", "2026-10-14T09:00")
    assert first.returncode == 0, first.stderr
    _, before = read(ics.read_bytes())
    recorded = run_cli("record", "t1", "visit", "--as", "c", "--now", "2026-10-15T10:30", *common)
    assert recorded.returncode == 0, recorded.stderr
    second = run_cli(*agenda, "--now", "2026-10-16T08:00:30")
    assert second.returncode == 0, second.stderr
    assert "visit" not in second.stdout  # what is printed leaves the done item out
    assert second.stdout.splitlines()[-1] == "2 items for c"  # talk and plan
    _, after = read(ics.read_bytes())
    assert set(after) == set(before) == {uid("visit"), uid("talk")}
    assert after[uid("visit")].summary == "Klassenbezoek (done)"
    assert after[uid("visit")].sequence > before[uid("visit")].sequence
    # --now is a local time of Amsterdam (summer time: UTC+2); DTSTAMP is written in UTC
    assert {e.stamp for e in after.values()} == {datetime(2026, 10, 16, 6, 0, 30, tzinfo=UTC)}
    assert {e.transp for e in after.values()} == {"TRANSPARENT"}


def test_the_cli_writes_an_empty_feed_that_parses(tmp_path: Path) -> None:
    routes = tmp_path / "routes"
    routes.mkdir()
    (routes / "feed.yaml").write_text(FEED_YAML, encoding="utf-8")
    ics = tmp_path / "nobody.ics"
    result = run_cli(
        "agenda", "--person", "nobody", "--ics", str(ics), "--now", "2026-10-07T09:00",
        "--db", str(tmp_path / "c.db"), "--definitions", str(routes),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    calendar, events = read(ics.read_bytes())
    assert events == {}
    assert [c.name for c in calendar.components()] == ["VTIMEZONE"]


MOVING_YAML = """\
coachflow: 1
id: moving
version: 1
roles:
  coach: {required: true}
facts:
  visit_on: {type: date}
initial: open
states:
  open: {}
  closed: {final: true}
transitions:
  - event: plan
    from: open
    to: open
    by: [coach]
    input: {day: {type: date, required: true}}
    set: {visit_on: input.day}
  - {event: close, from: open, to: closed, by: [coach]}
activities:
  visit:
    by: [coach]
    due: {fact: visit_on}
"""


def test_a_due_date_moved_by_a_fact_never_lowers_the_sequence(tmp_path: Path) -> None:
    """An overdue item whose due date a fact moves later is upcoming again, with no
    record for it: its sequence still rises (it is made of the trajectory's version)."""
    clock = FixedClock(datetime(2026, 10, 1, 9, tzinfo=UTC))
    engine = Engine([coachflow.loads_definition(MOVING_YAML)], clock=clock)
    engine.start("moving", participants={"coach": "c"}, actor="c", trajectory_id="m")
    engine.fire("m", "plan", actor="c", input={"day": "2026-10-05"})
    clock.set(datetime(2026, 10, 20, 9, tzinfo=UTC))
    late = export(engine, clock)[uid("visit", tid="m")]
    assert late.summary.endswith("(overdue)")
    engine.fire("m", "plan", actor="c", input={"day": "2026-12-01"})
    moved = export(engine, clock)[uid("visit", tid="m")]
    assert moved.summary.endswith("(upcoming)") and moved.start == date(2026, 12, 1)
    assert moved.sequence > late.sequence
