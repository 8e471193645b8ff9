"""The separation-of-duties checks (issue 14, ``coachflow.definition.checks.duties``).

``self-escalation`` (error): a role R can assign a role S (S's ``assigned_by`` names R)
and S reads a confidential input field R may not read itself, so a holder of R could
assign themselves S and read it - unless R and S exclude each other (``excludes`` on
either) or S declares ``allow_self_assignment: {reason: ...}`` (a non-empty reason).
``excludes`` must name declared roles (``unknown-role``). Every diagnostic stands at an
exact line and column. The check's reading rules are compared with the engine's
(``coachflow.runtime.access``) on random rules.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Located
from hypothesis import given, settings
from hypothesis import strategies as st

import coachflow
from coachflow.definition.plain import Rule, label_basis, may_read
from coachflow.files.loading import validate_files

Diags = Callable[[str], list[Located]]
ROOT = Path(__file__).resolve().parents[2]

# coach reads 'notes'; the director, who assigns the coach, does not
BASE = """\
coachflow: 1
id: duties
version: 1
roles:
  teacher: {required: true}
  director: {required: true}
  coach:
    assigned_by: [director]
initial: open
states:
  open: {}
  closed: {final: true}
transitions:
  - event: close
    from: open
    to: closed
    by: [coach, director, teacher]
    input:
      notes: {type: str, visible_to: [coach, teacher]}
"""


def validated(text: str | bytes, path: str = "<string>") -> list[coachflow.Diagnostic]:
    """``coachflow.validate_text`` without ``no-retention``: said of nearly every small text
    here (each has a confidential field); its own tests are in test_privacy_declarations."""
    return [d for d in coachflow.validate_text(text, path=path) if d.code != "no-retention"]


def variant(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def messages(text: str) -> list[str]:
    return [d.message for d in validated(text)]


def test_the_base_reports_self_escalation_at_the_assigned_by_entry(diags: Diags) -> None:
    assert diags(BASE) == [("self-escalation", 8, 19)]
    [message] = messages(BASE)
    assert message == (
        "role 'director' can assign role 'coach', which reads what 'director' may not read "
        "itself ('notes' of event 'close'): someone holding 'director' could assign themselves "
        "'coach' and read it. Declare excludes: [director] on one of the two roles, or "
        "allow_self_assignment: {reason: ...} on 'coach'"
    )


def test_an_exclusion_on_the_assigned_role_clears_it(diags: Diags) -> None:
    text = variant(
        "    assigned_by: [director]\n", "    assigned_by: [director]\n    excludes: [director]\n"
    )
    assert diags(text) == []


def test_an_exclusion_on_the_assigning_role_clears_it_too(diags: Diags) -> None:
    text = variant(
        "  director: {required: true}", "  director: {required: true, excludes: [coach]}"
    )
    assert diags(text) == []


def test_allow_self_assignment_with_a_reason_clears_it(diags: Diags) -> None:
    text = variant(
        "    assigned_by: [director]\n",
        "    assigned_by: [director]\n"
        "    allow_self_assignment: {reason: In a small school the director coaches too.}\n",
    )
    assert diags(text) == []
    text = variant(
        "    assigned_by: [director]\n",
        "    assigned_by: [director]\n"
        "    allow_self_assignment:\n"
        "      reason: {nl: Kleine school., en: A small school.}\n",
    )
    assert diags(text) == []


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ("{}", (9, 28)),
        ("{reason: ''}", (9, 37)),
        ("{reason: '   '}", (9, 37)),
        ("{reason: {nl: Kleine school., en: ''}}", (9, 37)),
        ("{reason: {}}", (9, 37)),
        ("{}\n    excludes: [teacher]", (9, 28)),
    ],
)
def test_allow_self_assignment_needs_a_reason(
    diags: Diags, value: str, where: tuple[int, int]
) -> None:
    text = variant(
        "    assigned_by: [director]\n",
        f"    assigned_by: [director]\n    allow_self_assignment: {value}\n",
    )
    found = diags(text)
    assert ("schema", *where) in found, found
    assert {code for code, _, _ in found} == {"schema"}


def test_the_schema_messages_say_what_is_missing() -> None:
    def given(value: str) -> str:
        return variant(
            "    assigned_by: [director]\n",
            f"    assigned_by: [director]\n    allow_self_assignment: {value}\n",
        )

    assert messages(given("{}")) == ["missing required key 'reason' in role 'coach'"]
    assert messages(given("{reason: ' '}")) == ["the reason is empty: say why"]


def test_an_unknown_role_in_excludes_is_reported_where_it_stands(diags: Diags) -> None:
    text = variant("  director: {required: true}", "  director: {required: true, excludes: [boss]}")
    assert diags(text) == [("unknown-role", 6, 41), ("self-escalation", 8, 19)]
    assert "role 'director' excludes unknown role 'boss'" in messages(text)


def test_excludes_lists_a_role_once(diags: Diags) -> None:
    text = variant(
        "  director: {required: true}", "  director: {required: true, excludes: [coach, coach]}"
    )
    assert diags(text) == [("schema", 6, 40)]
    assert messages(text) == ["value 'coach' is listed twice"]


# --- what counts as reading more ------------------------------------------------------------


def with_notes(spec: str) -> str:
    return variant("      notes: {type: str, visible_to: [coach, teacher]}", f"      notes: {spec}")


@pytest.mark.parametrize(
    ("spec", "reported"),
    [
        # the coach always, the director never
        ("{type: str, visible_to: [coach]}", True),
        # the coach always, the director only with a consent
        ("{type: str, visible_to: [coach], disclose_to: {director: share}}", True),
        # both only with the same consent
        ("{type: str, visible_to: [], disclose_to: {coach: share, director: share}}", False),
        # both with different consents: with only 'other' granted, the coach reads more
        ("{type: str, visible_to: [], disclose_to: {coach: other, director: share}}", True),
        # every participant but the director, who needs the consent
        ("{type: str, disclose_to: {director: share}}", True),
        # every participant but the coach, who needs the consent: the director reads more
        ("{type: str, disclose_to: {coach: share}}", False),
        # both read it always
        ("{type: str, visible_to: [coach, director]}", False),
        # neither reads it (the author aside)
        ("{type: str, visible_to: [teacher]}", False),
        # not confidential
        ("{type: str}", False),
    ],
)
def test_what_reads_more(diags: Diags, spec: str, reported: bool) -> None:
    text = with_notes(spec).replace(
        "initial: open",
        "consents:\n  share: {granted_by: teacher}\n  other: {granted_by: teacher}\ninitial: open",
    )
    found = [d for d in diags(text) if d[0] != "unused-consent"]
    assert found == ([("self-escalation", 8, 19)] if reported else [])


def test_a_role_that_assigns_itself_is_not_reported(diags: Diags) -> None:
    text = variant("    assigned_by: [director]\n", "    assigned_by: [coach]\n")
    assert diags(text) == []


def test_activity_fields_count_too(diags: Diags) -> None:
    text = with_notes("{type: str}") + (
        "activities:\n"
        "  visit:\n"
        "    by: [coach]\n"
        "    input:\n"
        "      observations: {type: str, visible_to: [coach, teacher]}\n"
    )
    assert diags(text) == [("self-escalation", 8, 19)]
    assert "('observations' of activity 'visit')" in messages(text)[0]


def test_every_spec_of_one_record_must_let_the_reader_in(diags: Diags) -> None:
    # two transitions make the same 'close' record: the stricter spec keeps the coach out
    two = with_notes("{type: str, visible_to: [coach, teacher]}\n      urgent: {type: bool}") + (
        "  - event: close\n"
        "    from: open\n"
        "    to: closed\n"
        "    by: [teacher]\n"
        "    when: input.urgent\n"
        "    input:\n"
        "      notes: {type: str, visible_to: [teacher]}\n"
        "      urgent: {type: bool}\n"
    )
    two = variant(
        "    by: [coach, director, teacher]\n",
        "    by: [coach, director, teacher]\n    when: not input.urgent\n",
        two,
    )
    assert diags(two) == []
    # to another state they make different records: the coach reads the first one's
    other = two.replace("    to: closed\n    by: [teacher]\n", "    to: open\n    by: [teacher]\n")
    assert diags(other) == [("self-escalation", 8, 19)]


def test_the_message_names_three_fields_and_counts_the_rest() -> None:
    text = (
        with_notes("{type: str, visible_to: [coach]}")
        + "activities:\n"
        + "".join(
            f"  a{i}:\n    by: [coach]\n    input:\n"
            f"      f{i}: {{type: str, visible_to: [coach]}}\n"
            for i in range(4)
        )
    )
    [message] = messages(text)
    assert (
        "('notes' of event 'close', 'f0' of activity 'a0', 'f1' of activity 'a1' and 2 more)"
        in message
    )


def test_each_assigning_role_is_reported_at_its_own_entry(diags: Diags) -> None:
    text = variant("    assigned_by: [director]\n", "    assigned_by: [teacher, director, coach]\n")
    # the teacher reads the notes: only the director's entry is reported
    assert diags(text) == [("self-escalation", 8, 28)]


def test_the_built_in_definitions_validate_clean() -> None:
    files = sorted((ROOT / "definitions").glob("*.yaml"))
    assert validate_files(files) == {str(f): [] for f in files}


def test_without_its_exclusions_the_starter_year_escalates() -> None:
    text = (ROOT / "definitions" / "starter-year.yaml").read_text(encoding="utf-8")
    bare = text.replace("    excludes: [starter, director]\n", "")
    found = validated(bare, path="starter-year.yaml")
    assert [(d.code, d.message.split(",")[0]) for d in found] == [
        ("self-escalation", "role 'director' can assign role 'coach'"),
    ]
    # the board may make one of its own the director: said, with a reason
    assert "allow_self_assignment:" in text
    start = text.index("    allow_self_assignment:\n")
    unsaid = text[:start] + text[text.index("\n  buddy:\n", start) + 1 :]
    found = validated(unsaid, path="starter-year.yaml")
    assert [(d.code, d.message.split(",")[0]) for d in found] == [
        ("self-escalation", "role 'board' can assign role 'director'"),
    ]


# --- the one reading rule, against its definition --------------------------------------------

ROLES = ("a", "b", "c")
CONSENTS = ("x", "y")


@st.composite
def rules(draw: st.DrawFn) -> tuple[Rule, ...]:
    found = []
    for _ in range(draw(st.integers(1, 3))):
        visible = draw(st.none() | st.frozensets(st.sampled_from(ROLES)))
        disclose = draw(st.dictionaries(st.sampled_from(ROLES), st.sampled_from(CONSENTS)))
        found.append(
            Rule(
                None if visible is None else tuple(sorted(visible)), tuple(sorted(disclose.items()))
            )
        )
    return tuple(found)


def passes(rule: Rule, role: str, granted: frozenset[str]) -> bool:
    """The rule as docs/confidentiality.md states it, for one role."""
    disclose = dict(rule.disclose_to)
    if role in disclose:
        return disclose[role] in granted or (
            rule.visible_to is not None and role in rule.visible_to
        )
    return rule.visible_to is None or role in rule.visible_to


@settings(max_examples=300, deadline=None)
@given(
    rules(),
    st.lists(st.sampled_from(ROLES), max_size=3, unique=True),
    st.frozensets(st.sampled_from(CONSENTS)),
)
def test_the_reading_rule_the_check_and_the_engine_share(
    label: tuple[Rule, ...], held: list[str], granted: frozenset[str]
) -> None:
    # the validator (self-escalation, confidential-flow) and the engine (redaction, the
    # access log) call this one function
    consents = {c: c in granted for c in CONSENTS}
    expected = bool(held) and all(any(passes(r, role, granted) for role in held) for r in label)
    assert may_read(label, held, consents) == expected
    why = label_basis(label, held, consents)
    assert (why is not None) == expected
    if why is not None:
        kind, name = why.split(":")
        assert (kind == "consent" and name in granted) or (kind == "role" and name in held)
