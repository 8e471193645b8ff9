"""Activities in the definition format: structure, references and their diagnostics.

Every diagnostic code that activities brought (``unknown-activity``, ``bad-due``,
``during-final``, ``due-outside-during``, ``ungrantable-consent``,
``confidential-effect``) fires on a small file, with its exact severity, line and
column; bad activity specs are ``schema`` errors at the offending node; ``done.x`` and
``count.x`` work in guards and in an activity's ``when``; and roles, facts and consents
that only activities use are not reported as unused.

Columns are computed from the text itself (:func:`column`): the 1-based position of a
token on a given line, so every expected location is exact and readable.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import coachflow
from coachflow import DefinitionError, Engine, FixedClock, GuardFailed

# A small valid definition without activities; cases append an ``activities:`` mapping
# (entries start on line 16). Line numbers on the right.
HEAD = """\
coachflow: 1
id: demo
version: 1
roles:
  coach: {}
initial: a
states:
  a: {weeks: {from: 1, to: 4}}
  z: {final: true}
transitions:
  - event: go
    from: a
    to: z
    by: [coach]
activities:
"""
#  1 coachflow   5 coach     9 z            13 to
#  2 id          6 initial  10 transitions  14 by
#  3 version     7 states   11 - event      15 activities
#  4 roles       8 a        12 from         16 first activity
ACT_LINE = 16


def validated(text: str | bytes, path: str = "<string>") -> list[coachflow.Diagnostic]:
    """``coachflow.validate_text`` without ``no-retention``: said of nearly every small text
    here (each has a confidential field); its own tests are in test_privacy_declarations."""
    return [d for d in coachflow.validate_text(text, path=path) if d.code != "no-retention"]


def column(text: str, line: int, token: str, occurrence: int = 1) -> int:
    """The 1-based column of the ``occurrence``-th ``token`` on ``line`` of ``text``."""
    row = text.splitlines()[line - 1]
    at = -1
    for _ in range(occurrence):
        at = row.index(token, at + 1)
    return at + 1


def found(text: str) -> list[tuple[str, str, int, int]]:
    return [(d.code, d.severity, d.line, d.column) for d in validated(text)]


def activity(body: str) -> str:
    """HEAD with one activity ``x: <body>`` on line 16."""
    return HEAD + f"  x: {body}\n"


def test_head_with_a_plain_activity_is_valid() -> None:
    assert validated(activity("{by: [coach]}")) == []


# --- the new diagnostic codes -------------------------------------------------------------

GUARDED_HEAD = HEAD.replace(
    "    by: [coach]\nactivities:", "    by: [coach]\n    when: X\nactivities:"
)
"""HEAD with ``when: X`` on line 15 (the activities then start on line 17)."""


def test_unknown_activity_in_a_transition_guard() -> None:
    text = GUARDED_HEAD.replace("when: X", "when: done.nope") + "  x: {by: [coach]}\n"
    assert found(text) == [("unknown-activity", "error", 15, column(text, 15, "done.nope"))]


def test_unknown_activity_through_count_in_a_transition_guard() -> None:
    text = GUARDED_HEAD.replace("when: X", "when: count.nope >= 2") + "  x: {by: [coach]}\n"
    assert found(text) == [("unknown-activity", "error", 15, column(text, 15, "count.nope"))]


def test_unknown_activity_without_any_activities() -> None:
    text = GUARDED_HEAD.replace("when: X", "when: done.visit").replace("activities:\n", "")
    assert found(text) == [("unknown-activity", "error", 15, column(text, 15, "done.visit"))]


@pytest.mark.parametrize("when", ["done.y", "count.y > 1", "not done.x or done.y"])
def test_unknown_activity_in_an_activity_when(when: str) -> None:
    text = activity(f"{{by: [coach], when: {when}}}")
    assert found(text) == [("unknown-activity", "error", ACT_LINE, column(text, ACT_LINE, when))]


@pytest.mark.parametrize("kind", ["int", "str", "bool"])
def test_bad_due_on_a_fact_that_is_not_a_date(kind: str) -> None:
    text = HEAD.replace("roles:", f"facts:\n  n: {{type: {kind}}}\nroles:")
    text += "  x: {by: [coach], due: {fact: n}}\n"
    line = ACT_LINE + 2
    assert found(text) == [("bad-due", "error", line, column(text, line, "n}}"))]
    [d] = validated(text)
    assert "'x'" in d.message and "'n'" in d.message


def test_due_on_an_undeclared_fact_is_unknown_fact() -> None:
    text = activity("{by: [coach], due: {fact: nope}}")
    assert found(text) == [("unknown-fact", "error", ACT_LINE, column(text, ACT_LINE, "nope"))]


def test_during_final() -> None:
    text = activity("{by: [coach], during: [a, z]}")
    assert found(text) == [("during-final", "error", ACT_LINE, column(text, ACT_LINE, "z]"))]


def test_during_unknown_state() -> None:
    text = activity("{by: [coach], during: [a, q]}")
    assert found(text) == [("unknown-state", "error", ACT_LINE, column(text, ACT_LINE, "q]"))]


def test_due_outside_during_is_a_warning_and_the_definition_still_loads() -> None:
    text = activity("{by: [coach], during: [a], due: {week: 5}}")
    assert found(text) == [
        ("due-outside-during", "warning", ACT_LINE, column(text, ACT_LINE, "5}"))
    ]
    assert coachflow.loads_definition(text).activities["x"].due.week == 5


def test_due_outside_during_checks_every_during_state() -> None:
    two = HEAD.replace("  z: {final: true}", "  b: {weeks: {from: 8, to: 9}}\n  z: {final: true}")
    two = two.replace("    from: a\n", "    from: [a, b]\n").replace(
        "transitions:\n",
        "transitions:\n  - event: on\n    from: a\n    to: b\n    by: [coach]\n",
    )
    assert validated(two + "  x: {by: [coach]}\n") == []
    first = two.count("\n") + 1
    inside = two + "  x: {by: [coach], during: [a, b], due: {week: 9}}\n"
    assert found(inside) == []
    gap = two + "  x: {by: [coach], during: [a, b], due: {week: 6}}\n"
    assert found(gap) == [("due-outside-during", "warning", first, column(gap, first, "6}"))]


def test_no_due_outside_during_warning_when_a_state_declares_no_weeks() -> None:
    text = HEAD.replace("  a: {weeks: {from: 1, to: 4}}", "  a: {}")
    assert found(text + "  x: {by: [coach], during: [a], due: {week: 40}}\n") == []


def test_ungrantable_consent_in_an_activity_input() -> None:
    text = HEAD + (
        "  x:\n    by: [coach]\n    input:\n      f: {type: str, disclose_to: {coach: nothing}}\n"
    )
    line = ACT_LINE + 3
    assert found(text) == [("ungrantable-consent", "warning", line, column(text, line, "nothing"))]
    [d] = validated(text)
    assert "'nothing'" in d.message and "'f'" in d.message
    coachflow.loads_definition(text)  # a warning only


def test_ungrantable_consent_in_an_event_input() -> None:
    text = HEAD.replace(
        "    by: [coach]\nactivities:",
        "    by: [coach]\n    input:\n      notes: {type: str, disclose_to: {coach: nope}}\n"
        "activities:",
    )
    text += "  x: {by: [coach]}\n"
    assert found(text) == [("ungrantable-consent", "warning", 16, column(text, 16, "nope"))]


@pytest.mark.parametrize(
    "spec",
    [
        "{type: str, visible_to: [coach]}",
        "{type: str, disclose_to: {boss: share}}",
        "{type: str, visible_to: [coach], disclose_to: {boss: share}}",
    ],
)
def test_confidential_effect(spec: str) -> None:
    text = (
        HEAD.replace("roles:", "facts:\n  label: {type: str}\nroles:")
        .replace("  coach: {}", "  coach: {}\n  boss: {}")
        .replace("initial:", "consents:\n  share: {granted_by: coach}\ninitial:")
        .replace(
            "    by: [coach]\nactivities:",
            f"    by: [coach]\n    input:\n      notes: {spec}\n    set:\n"
            "      label: input.notes\nactivities:",
        )
    )
    text += "  x: {by: [coach]}\n"
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "label: input.notes" in row)
    errors = [f for f in found(text) if f[1] == "error"]  # boss/share may be unused
    assert errors == [("confidential-effect", "error", line, column(text, line, "input.notes"))]


def test_a_public_input_may_be_copied_into_a_fact() -> None:
    text = HEAD.replace("roles:", "facts:\n  label: {type: str}\nroles:").replace(
        "    by: [coach]\nactivities:",
        "    by: [coach]\n    input:\n      notes: {type: str}\n    set:\n"
        "      label: input.notes\nactivities:",
    )
    assert found(text + "  x: {by: [coach]}\n") == []


def test_confidential_effect_through_a_comparison() -> None:
    text = (
        HEAD.replace("roles:", "facts:\n  flag: {type: bool}\nroles:")
        .replace(
            "    by: [coach]\nactivities:",
            "    by: [coach]\n    input:\n      notes: {type: str, visible_to: [coach]}\n"
            '    set:\n      flag: input.notes == "secret"\nactivities:',
        )
        .replace("  x: {by: [coach]}\n", "")
    )
    text += "  x: {by: [coach]}\n"
    assert [c for c, *_ in found(text)] == ["confidential-effect"]


# --- other codes in activities --------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "token"),
    [
        ("{by: [ghost]}", "ghost"),
        ("{by: [coach], hours: {ghost: 1}}", "ghost"),
        ("{by: [coach], input: {f: {type: str, visible_to: [ghost]}}}", "ghost"),
    ],
)
def test_unknown_roles_in_an_activity(body: str, token: str) -> None:
    text = activity(body)
    assert found(text) == [("unknown-role", "error", ACT_LINE, column(text, ACT_LINE, token))]


def test_unknown_role_in_disclose_to_is_reported_at_the_key() -> None:
    text = HEAD.replace("initial:", "consents:\n  share: {granted_by: coach}\ninitial:")
    text += "  x: {by: [coach], input: {f: {type: str, disclose_to: {ghost: share}}}}\n"
    line = ACT_LINE + 2
    assert found(text) == [("unknown-role", "error", line, column(text, line, "ghost"))]


def test_count_is_an_int_and_done_a_bool() -> None:
    as_bool = activity("{by: [coach], when: count.x}")
    assert found(as_bool) == [
        ("guard-type", "error", ACT_LINE, column(as_bool, ACT_LINE, "count.x"))
    ]
    ordered = activity("{by: [coach], when: done.x > 1}")
    assert [c for c, *_ in found(ordered)] == ["guard-type"]
    assert found(activity("{by: [coach], when: count.x + 1 > 2 and not done.x}")) == []


# --- schema errors for bad activity specs ---------------------------------------------------


@pytest.mark.parametrize(
    ("body", "token", "words"),
    [
        ("{by: [coach], due: {week: 1, days: 3}}", "{week", "exactly one"),
        ("{by: [coach], due: {week: 1, fact: d}}", "{week", "exactly one"),
        ("{by: [coach], due: {}}", "{}", "exactly one"),
        ("{by: [coach], due: {week: 1}, recurring: {every: week}}", "{by", "not both"),
        ("{by: [coach], hours: {coach: -1}}", "-1", ""),
        ("{by: [coach], hours: {coach: -0.5}}", "-0.5", ""),
        ("{by: [coach], hours: {coach: lots}}", "lots", ""),
        ("{by: [coach], recurring: {every: day}}", "day", ""),
        ("{by: [coach], recurring: {every: week, at_least: 0}}", "0}", ""),
        ("{by: [coach], often: 3}", "often", "'often'"),
        ("{by: [coach], due: {month: 3}}", "month", "'month'"),
        ("{by: [coach], recurring: {every: week, at_most: 3}}", "at_most", "'at_most'"),
        ("{by: [coach], due: {week: 0}}", "0}", ""),
        ("{by: [coach], due: {week: two}}", "two", ""),
        ("{by: [coach], due: {days: -1}}", "-1", ""),
        ("{by: []}", "[]", "empty"),
        ("{by: [coach, coach]}", "[coach", "twice"),
        ("{during: [a]}", "{during", "'by'"),
    ],
)
def test_bad_activity_specs_are_schema_errors(body: str, token: str, words: str) -> None:
    text = activity(body)
    diagnostics = validated(text)
    assert [(d.code, d.severity, d.line, d.column) for d in diagnostics] == [
        ("schema", "error", ACT_LINE, column(text, ACT_LINE, token))
    ]
    assert words in diagnostics[0].message
    with pytest.raises(DefinitionError):
        coachflow.loads_definition(text)


def test_an_activity_that_is_not_a_mapping() -> None:
    text = activity("visit")
    assert found(text) == [("schema", "error", ACT_LINE, column(text, ACT_LINE, "visit"))]


def test_state_weeks_from_after_to() -> None:
    text = activity("{by: [coach]}").replace("from: 1, to: 4", "from: 5, to: 4")
    diagnostics = validated(text)
    assert found(text) == [("schema", "error", 8, column(text, 8, "{from"))]
    assert "5" in diagnostics[0].message and "4" in diagnostics[0].message


@pytest.mark.parametrize(
    ("weeks", "token"),
    [
        ("{from: 0, to: 4}", "0"),
        ("{from: 1}", "{from"),
        ("{from: 1, to: 4, by: 2}", "by"),
    ],
)
def test_bad_state_weeks(weeks: str, token: str) -> None:
    text = activity("{by: [coach]}").replace("{from: 1, to: 4}", weeks)
    assert found(text) == [("schema", "error", 8, column(text, 8, token))]


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    text = HEAD + (
        "  x: {by: [ghost], during: [z]}\n"  # 16
        "  y: {by: [coach], due: {week: 1, days: 2}}\n"  # 17
        "  w: {by: [coach], when: done.nope}\n"  # 18
    )
    assert found(text) == [
        ("unknown-role", "error", 16, column(text, 16, "ghost")),
        ("during-final", "error", 16, column(text, 16, "z]")),
        ("schema", "error", 17, column(text, 17, "{week")),
        ("unknown-activity", "error", 18, column(text, 18, "done.nope")),
    ]


def test_schema_message_names_the_activity() -> None:
    [d] = validated(activity("{by: [coach], often: 3}"))
    assert "activity 'x'" in d.message


def test_negative_hours_message_does_not_ask_for_an_integer() -> None:
    [d] = validated(activity("{by: [coach], hours: {coach: -0.5}}"))
    assert "integer" not in d.message


# --- the positive case ----------------------------------------------------------------------

FULL = """\
coachflow: 1
id: starter-year
version: 1
title: Begeleiding beginnende leerkrachten
roles:
  coach: {}
  starter: {}
  director: {}
facts:
  period_end: {type: date}
consents:
  share_with_director: {granted_by: starter}
initial: period_1
states:
  period_1: {weeks: {from: 1, to: 6}}
  after_christmas: {weeks: {from: 7, to: 30}}
  closed: {final: true}
transitions:
  - event: end_period_1
    from: period_1
    to: after_christmas
    by: [coach]
    when: done.visit_w2 and count.visit_w2 >= 1
  - event: close
    from: after_christmas
    to: closed
    by: [coach]
    when: count.monthly_contact >= 3 and consent.share_with_director
activities:
  visit_w2:
    title: Klassenbezoek + nagesprek
    by: [coach]
    during: [period_1]
    due: {week: 2}
    hours: {coach: 1.25, starter: 0.75}
    input:
      agreements:
        type: str
        required: true
        visible_to: [coach, starter]
        disclose_to: {director: share_with_director}
  talk:
    by: [coach]
    during: [period_1]
    due: {days: 14}
    when: done.visit_w2
  report:
    by: [coach]
    due: {fact: period_end}
  monthly_contact:
    by: [coach, starter]
    during: [after_christmas]
    recurring: {every: month, at_least: 1}
"""


def test_the_issue_example_validates_without_diagnostics() -> None:
    assert validated(FULL) == []
    d = coachflow.loads_definition(FULL)
    visit = d.activities["visit_w2"]
    assert visit.by == ("coach",)
    assert visit.during == ("period_1",)
    assert (visit.due.week, visit.due.days, visit.due.fact) == (2, None, None)
    assert dict(visit.hours) == {"coach": 1.25, "starter": 0.75}
    field = visit.input["agreements"]
    assert field.confidential and field.required
    assert field.visible_to == ("coach", "starter")
    assert dict(field.disclose_to) == {"director": "share_with_director"}
    assert d.activities["talk"].due.days == 14
    assert d.activities["report"].due.fact == "period_end"
    contact = d.activities["monthly_contact"]
    assert (contact.recurring.every, contact.recurring.at_least) == ("month", 1)
    assert d.activities["report"].during is None
    assert d.activity_states("report") == ("period_1", "after_christmas")
    assert (d.states["after_christmas"].weeks.from_, d.states["after_christmas"].weeks.to) == (
        7,
        30,
    )


def test_activities_round_trip_through_dump_definition() -> None:
    d = coachflow.loads_definition(FULL)
    again = coachflow.loads_definition(coachflow.dump_definition(d))
    assert again == d


def test_a_definition_is_immutable_down_to_its_activities() -> None:
    d = coachflow.loads_definition(FULL)
    with pytest.raises(TypeError):
        d.activities["x"] = d.activities["talk"]  # type: ignore[index]
    with pytest.raises(TypeError):
        d.activities["visit_w2"].hours["coach"] = 3  # type: ignore[index]
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        d.activities["talk"].by = ("starter",)  # type: ignore[misc]


# --- done.<activity> and count.<activity> at run time ----------------------------------------


DEFINITIONS = [coachflow.loads_definition(FULL)]
"""What this module's ``engine`` fixture (tests/conftest.py) serves."""
CLOCK_AT = datetime(2026, 9, 1, 9, tzinfo=UTC)
"""When this module's ``clock`` fixture (tests/conftest.py) stands."""


def test_done_and_count_in_a_transition_guard(engine: Engine) -> None:
    t = engine.start(
        "starter-year",
        participants={"coach": "c", "starter": "s", "director": "d"},
        actor="c",
    )
    with pytest.raises(GuardFailed):
        engine.fire(t.id, "end_period_1", actor="c")
    assert engine.get(t.id).version == 0
    engine.record_activity(t.id, "visit_w2", actor="c", input={"agreements": "x"})
    assert engine.get(t.id).counts == {"visit_w2": 1}
    t = engine.fire(t.id, "end_period_1", actor="c")
    assert t.state == "after_christmas"
    for _ in range(2):
        engine.record_activity(t.id, "monthly_contact", actor="s")
    engine.grant_consent(t.id, "share_with_director", actor="s")
    with pytest.raises(GuardFailed):  # count.monthly_contact is 2
        engine.fire(t.id, "close", actor="c")
    engine.record_activity(t.id, "monthly_contact", actor="c")
    assert engine.fire(t.id, "close", actor="c").state == "closed"


def test_done_in_an_activity_when(engine: Engine) -> None:
    t = engine.start("starter-year", participants={"coach": "c", "starter": "s"}, actor="c")
    with pytest.raises(GuardFailed) as caught:
        engine.record_activity(t.id, "talk", actor="c")
    assert caught.value.guard == "done.visit_w2"
    assert engine.get(t.id).version == 0
    engine.record_activity(t.id, "visit_w2", actor="c", input={"agreements": "x"})
    t = engine.record_activity(t.id, "talk", actor="c")
    assert t.counts == {"visit_w2": 1, "talk": 1}


def test_count_in_an_activity_when_limits_records() -> None:
    text = activity("{by: [coach], when: count.x < 2}")
    engine = Engine([coachflow.loads_definition(text)], clock=FixedClock())
    t = engine.start("demo", participants={"coach": "c"}, actor="c")
    engine.record_activity(t.id, "x", actor="c")
    engine.record_activity(t.id, "x", actor="c")
    with pytest.raises(GuardFailed):
        engine.record_activity(t.id, "x", actor="c")
    assert engine.get(t.id).counts == {"x": 2}


# --- unused declarations: activities count as uses -------------------------------------------

USED_BY_ACTIVITIES = """\
coachflow: 1
id: uses
version: 1
roles:
  coach: {}
  starter: {}
  director: {}
  observer: {}
  planner: {}
facts:
  deadline: {type: date}
  ready: {type: bool}
consents:
  share: {granted_by: coach}
  go_ahead: {granted_by: coach}
initial: a
states:
  a: {}
  z: {final: true}
transitions:
  - event: go
    from: a
    to: z
    by: [coach]
activities:
  visit:
    by: [starter]
    hours: {planner: 2}
    when: ready and consent.go_ahead
    input:
      notes: {type: str, visible_to: [observer], disclose_to: {director: share}}
  report:
    by: [starter]
    due: {fact: deadline}
"""


def test_roles_facts_and_consents_used_only_by_activities_are_not_unused() -> None:
    # starter: by; planner: hours; observer: visible_to; director: disclose_to;
    # deadline: due.fact; ready: when; share: disclose_to; go_ahead: when
    assert validated(USED_BY_ACTIVITIES) == []


@pytest.mark.parametrize(
    ("old", "new", "code", "name"),
    [
        ("    by: [starter]\n    hours", "    by: [coach]\n    hours", None, None),
        ("hours: {planner: 2}", "hours: {coach: 2}", "unused-role", "planner"),
        ("visible_to: [observer]", "visible_to: [coach]", "unused-role", "observer"),
        ("disclose_to: {director: share}", "disclose_to: {}", "unused-role", "director"),
        ("    due: {fact: deadline}\n", "", "unused-fact", "deadline"),
        ("when: ready and consent.go_ahead", "when: consent.go_ahead", "unused-fact", "ready"),
        ("when: ready and consent.go_ahead", "when: ready", "unused-consent", "go_ahead"),
    ],
)
def test_removing_the_only_use_makes_it_unused(
    old: str, new: str, code: str | None, name: str | None
) -> None:
    text = USED_BY_ACTIVITIES.replace(old, new)
    assert text != USED_BY_ACTIVITIES
    diagnostics = validated(text)
    if code is None:  # starter is still used by 'report'
        assert diagnostics == []
        return
    [d] = [d for d in diagnostics if d.code == code]
    assert d.severity == "warning"
    assert f"'{name}'" in d.message
    kind = code.removeprefix("unused-")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith(f"  {name}:"))
    assert (d.line, d.column) == (line, 3), kind


def test_the_consent_used_only_in_disclose_to_is_unused_without_it() -> None:
    text = USED_BY_ACTIVITIES.replace(
        "disclose_to: {director: share}", "disclose_to: {director: go_ahead}"
    )
    codes = [(d.code, d.line) for d in validated(text)]
    assert codes == [("unused-consent", 14)]
