"""What a definition declares for the AVG/GDPR (issue 17): ``personal`` facts and input
fields, the ``subject`` role, and ``retention`` per class of values, each period ISO 8601
``after_end`` or ``after_start`` (never both, never school weeks) or ``keep``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import coachflow
from coachflow.definition.model import Period
from coachflow.files.definitions import definition_data

Diags = Callable[[str], list[tuple[str, int, int]]]

BASE = """\
coachflow: 1
id: private
version: 1
roles:
  starter: {required: true, subject: true}
  coach: {required: true}
facts:
  help_question: {type: str, personal: true}
  sessions: {type: int, default: 0}
initial: open
states:
  open: {}
  closed: {final: true}
transitions:
  - event: close
    from: open
    to: closed
    by: [coach]
    input:
      notes: {type: str, visible_to: [coach, starter], personal: true}
      room: {type: str}
retention:
  confidential: {after_end: P1Y}
  personal: {after_start: P18M}
  default: keep
"""


def test_the_declarations_are_read_and_kept() -> None:
    d = coachflow.loads_definition(BASE)
    assert d.roles["starter"].subject and not d.roles["coach"].subject
    assert d.facts["help_question"].personal and not d.facts["sessions"].personal
    fields = d.transitions[0].input
    assert fields["notes"].personal and fields["notes"].confidential
    assert not fields["room"].personal
    assert d.retention is not None
    confidential = d.retention.of("confidential")
    personal = d.retention.of("personal")
    assert isinstance(confidential, Period) and str(confidential.duration) == "P1Y"
    assert confidential.after_end is not None and confidential.after_start is None
    assert isinstance(personal, Period) and personal.after_start is not None
    assert str(personal.duration) == "P18M"
    data = definition_data(d)
    assert data["retention"] == {
        "confidential": {"after_end": "P1Y"},
        "personal": {"after_start": "P18M"},
        "default": "keep",
    }
    assert coachflow.loads_definition(BASE.replace("version: 1", "version: 2")).retention


@pytest.mark.parametrize(
    ("retention", "confidential", "personal"),
    [
        ("{default: {after_end: P2Y}}", "P2Y", "P2Y"),  # default covers both classes
        ("{confidential: keep, default: {after_end: P2Y}}", None, "P2Y"),
        ("{personal: {after_end: P7Y}}", None, "P7Y"),  # a class not given is kept
        ("{}", None, None),
    ],
)
def test_a_class_not_given_takes_the_default_else_it_is_kept(
    retention: str, confidential: str | None, personal: str | None
) -> None:
    start = BASE.index("retention:")
    d = coachflow.loads_definition(BASE[:start] + f"retention: {retention}\n")
    assert d.retention is not None
    got = [d.retention.of("confidential"), d.retention.of("personal")]
    assert [None if p is None else str(p.duration) for p in got] == [confidential, personal]


def test_without_retention_every_value_is_kept() -> None:
    d = coachflow.loads_definition(BASE[: BASE.index("retention:")])
    assert d.retention is None


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("{after_end: P1Y}", "{after_end: P1Y, after_start: P1Y}", (23, 17)),  # both
        ("{after_end: P1Y}", "{}", (23, 17)),  # neither
        ("{after_end: P1Y}", "{after_end: {school_weeks: 4}}", (23, 17)),  # school weeks
        ("{after_end: P1Y}", "{after_end: 2 years}", (23, 29)),  # not a duration
        ("{after_end: P1Y}", "{after_end: P1Y, until: P2Y}", (23, 34)),  # unknown key
        ("default: keep", "default: forever", (25, 12)),  # keep or a period
        ("default: keep", "default: 3", (25, 12)),
        ("default: keep", "everything: keep", (25, 3)),  # an unknown class
        ("subject: true}", "subject: yes}", (5, 38)),  # a YAML 1.2 bool only
        ("personal: true}", "personal: 1}", (8, 40)),
    ],
)
def test_a_declaration_that_is_not_one_is_a_schema_error(
    diags: Diags, old: str, new: str, where: tuple[int, int]
) -> None:
    assert old in BASE
    found = [d for d in diags(BASE.replace(old, new, 1)) if d[0] != "unused-fact"]
    assert found == [("schema", *where)]  # said once, where it is wrong


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("forever", "expected keep or a period ({after_end: P2Y} or {after_start: P2Y})"),
        ("{after_end: {school_weeks: 4}}", "an ISO 8601 duration (P2Y), not school weeks"),
        ("{after_end: P1Y, after_start: P2Y}", "either after_end or after_start"),
    ],
)
def test_a_wrong_period_is_said_in_the_terms_of_a_period(value: str, said: str) -> None:
    text = BASE.replace("default: keep", f"default: {value}")
    [message] = [d.message for d in coachflow.validate_text(text) if d.code == "schema"]
    assert said in message


def warnings_of(text: str) -> list[coachflow.Diagnostic]:
    return [d for d in coachflow.validate_text(text) if d.code == "no-retention"]


def test_confidential_fields_kept_by_omission_are_said_once() -> None:
    """``no-retention``: confidential input fields and no ``retention`` that covers them
    is one warning, at the first of them, naming them and counting the places."""
    text = BASE[: BASE.index("retention:")]
    text = text.replace(
        "      room: {type: str}\n",
        "      room: {type: str}\n      advice: {type: str, visible_to: [coach]}\n",
    )
    text += """\
activities:
  visit:
    by: [coach]
    input:
      notes: {type: str, visible_to: [coach]}
"""
    [warning] = warnings_of(text)
    assert warning.severity == "warning"
    assert (warning.line, warning.column) == (20, 7)  # the key of the first, notes
    assert "fields 'advice', 'notes' (in 3 places)" in warning.message
    assert "retention: {confidential: {after_end: P1Y}}" in warning.message


@pytest.mark.parametrize(
    ("retention", "warned"),
    [
        ("{confidential: {after_end: P1Y}}", False),
        ("{confidential: keep}", False),  # keeping them is meant
        ("{default: keep}", False),
        ("{default: {after_start: P3Y}}", False),
        ("{personal: {after_end: P1Y}}", True),  # not the class of the confidential ones
    ],
)
def test_a_retention_that_covers_them_silences_it(retention: str, warned: bool) -> None:
    text = BASE[: BASE.index("retention:")] + f"retention: {retention}\n"
    found = warnings_of(text)
    assert bool(found) == warned
    if warned:
        assert (found[0].line, found[0].column) == (22, 1)  # at retention itself
        assert "confidential input field 'notes': nothing says how long its" in found[0].message


def test_no_confidential_field_no_warning() -> None:
    text = BASE[: BASE.index("retention:")].replace(", visible_to: [coach, starter]", "")
    assert warnings_of(text) == []
