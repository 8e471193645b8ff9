"""An activity's ``expected`` expression keeps it off the agenda while it does not apply."""

from __future__ import annotations

import coachflow
from coachflow import Engine, FixedClock, loads_definition

ROUTE = """\
coachflow: 1
id: expected-demo
version: 1
roles: {coach: {}, teacher: {}}
facts:
  report_agreed: {type: bool, default: false}
consents:
  written: {granted_by: teacher}
initial: open
states: {open: {}, done: {final: true}}
transitions:
  - {event: agree, from: open, to: open, by: [coach], set: {report_agreed: true}}
  - {event: close, from: open, to: done, by: [coach]}
activities:
  written_report:
    by: [coach]
    expected: report_agreed and consent.written
    due: {week: 3}
  oral_report:
    by: [coach]
    expected: not (report_agreed and consent.written)
    due: {week: 3}
"""


def names(engine: Engine, tid: str) -> list[str]:
    return [i.activity for i in engine.agenda(tid, as_of="2026-09-02")]


def test_the_agenda_shows_only_what_is_expected() -> None:
    engine = Engine([loads_definition(ROUTE)], clock=FixedClock("2026-09-01T09:00:00+00:00"))
    t = engine.start("expected-demo", participants={"coach": "c", "teacher": "t"}, actor="c")
    assert names(engine, t.id) == ["oral_report"]
    engine.fire(t.id, "agree", actor="c")
    assert names(engine, t.id) == ["oral_report"]  # agreed, but no consent yet
    engine.grant_consent(t.id, "written", actor="t")
    assert names(engine, t.id) == ["written_report"]
    assert [i.activity for i in engine.agenda_for("c", as_of="2026-09-02")] == ["written_report"]
    engine.record_activity(t.id, "written_report", actor="c")
    engine.withdraw_consent(t.id, "written", actor="t")
    # done items stay on the agenda whatever the expectation says now
    assert names(engine, t.id) == ["written_report", "oral_report"]


def test_expected_is_checked_like_a_guard_without_input() -> None:
    broken = ROUTE.replace(
        "expected: report_agreed and consent.written",
        "expected: input.x and nothing_declared",
    )
    codes = sorted(d.code for d in coachflow.validate_text(broken))
    assert codes == ["unknown-fact", "unknown-input"]
    line = broken.splitlines().index("    expected: input.x and nothing_declared") + 1
    assert {(d.line, d.column) for d in coachflow.validate_text(broken)} == {(line, 15)}
