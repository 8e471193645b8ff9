"""No implicit flows of confidential inputs (issue 14, finding 4), and migrations that widen
who reads an input field (``migration-widens-access``).

A guard or effect that reads a confidential input must not decide, unannounced, what every
participant reads: the state, the facts, the records of the history. The finding: a coach's
note (visible to coach and starter, to the director only with the starter's consent) whose
guard picks ``worrying`` and whose effect sets ``flagged``: the director, without consent,
sees ``worrying`` and ``flagged == True`` and so learns what the note said.
``confidential-flow`` (error) is reported at the guard, ``confidential-effect`` at the effect,
unless the transition declares ``declassifies: {note: <reason>}``. An activity's guard that
reads its own confidential input decides ``done.``/``count.`` of it: ``confidential-flow``
there too, unless the activity declares ``declassifies``.

Positions are computed from the text itself (:func:`at`): the line holding a token and the
1-based column of the token on it, so every expected location is exact and readable.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import coachflow
from coachflow.definition.checks.flows import _Graph, always_reads, flow_analysis
from coachflow.definition.checks.migrations import migration_problems, migration_warnings
from coachflow.definition.compiled import compile_definition
from coachflow.definition.plain import rule_of
from coachflow.files.diagram import to_dot, to_mermaid
from coachflow.files.loading import validate_files


def validated(text: str | bytes, path: str = "<string>") -> list[coachflow.Diagnostic]:
    """``coachflow.validate_text`` without ``no-retention``: said of nearly every small text
    here (each has a confidential field); its own tests are in test_privacy_declarations."""
    return [d for d in coachflow.validate_text(text, path=path) if d.code != "no-retention"]


ROOT = Path(__file__).resolve().parents[2]

WORRY = """\
coachflow: 1
id: worry
version: 1
roles:
  coach: {}
  starter: {}
  director: {}
facts:
  flagged: {type: bool, default: false}
consents:
  share: {granted_by: starter}
initial: coaching
states:
  coaching: {}
  worrying: {}
  done: {final: true}
transitions:
  - event: report
    from: coaching
    to: worrying
    by: [coach]
    when: input.note != ""
    input: &note
      note: {type: str, visible_to: [coach, starter], disclose_to: {director: share}}
    set:
      flagged: input.note != ""
  - event: report
    from: coaching
    to: coaching
    by: [coach]
    when: input.note == ""
    input: *note
  - event: finish
    from: [coaching, worrying]
    to: done
    by: [director]
"""
#  1 coachflow   10 consents    19 from          28 from
#  2 id          11 share       20 to            29 to
#  3 version     12 initial     21 by            30 by
#  4 roles       13 states      22 when (1)      31 when (2)
#  5 coach       14 coaching    23 input &note   32 input *note
#  6 starter     15 worrying    24 note          33 - event: finish
#  7 director    16 done        25 set
#  8 facts       17 transitions 26 flagged
#  9 flagged     18 - event: report


def at(text: str, needle: str, token: str | None = None, occurrence: int = 1) -> tuple[int, int]:
    """The line of the ``occurrence``-th line holding ``needle``, and the 1-based column of
    ``token`` (default: ``needle``) on it."""
    rows = [i for i, row in enumerate(text.splitlines(), 1) if needle in row]
    line = rows[occurrence - 1]
    return line, text.splitlines()[line - 1].index(token or needle) + 1


def found(text: str) -> list[tuple[str, str, int, int]]:
    return [(d.code, d.severity, d.line, d.column) for d in validated(text)]


def with_code(text: str, code: str) -> list[coachflow.Diagnostic]:
    return [d for d in validated(text) if d.code == code]


def declassify(text: str, when: str, reason: str = "'the source says so'") -> str:
    """``text`` with ``declassifies: {note: reason}`` after the guard ``when: <when>``."""
    line = f"    when: {when}\n"
    assert line in text
    return text.replace(line, f"{line}    declassifies: {{note: {reason}}}\n", 1)


DECLASSIFIED = declassify(
    declassify(WORRY, 'input.note != ""', "'the director must know that a worry was noted'"),
    'input.note == ""',
    "'only that no worry was noted'",
)


# --- the finding ------------------------------------------------------------------------------


def test_the_finding_is_reported_at_the_guards_and_the_effect() -> None:
    assert at(WORRY, 'when: input.note != ""', "input") == (22, 11)
    assert found(WORRY) == [
        ("confidential-flow", "error", 22, 11),
        ("confidential-effect", "error", *at(WORRY, 'flagged: input.note != ""', "input")),
        ("confidential-flow", "error", *at(WORRY, 'when: input.note == ""', "input")),
    ]


def test_the_message_names_the_input_what_it_decides_and_who_may_not_read_it() -> None:
    first, second = with_code(WORRY, "confidential-flow")
    assert first.message == (
        "the guard reads the confidential input 'note', so it decides whether 'report' moves "
        "the trajectory from 'coaching' to 'worrying' and sets flagged, which every "
        "participant sees; 'director' (without consent 'share') may not read 'note'. Leave it "
        "out of the guard, or declare why it may be revealed: declassifies: {note: <reason>}"
    )
    assert "whether 'report' is recorded in 'coaching'" in second.message
    [effect] = with_code(WORRY, "confidential-effect")
    assert "declassifies: {note: <reason>}" in effect.message


def test_the_definition_does_not_load() -> None:
    with pytest.raises(coachflow.DefinitionError) as info:
        coachflow.loads_definition(WORRY)
    codes = {d.code for d in info.value.diagnostics} - {"no-retention"}
    assert codes == {"confidential-flow", "confidential-effect"}


def test_declassifies_silences_it() -> None:
    assert validated(DECLASSIFIED) == []
    definition = coachflow.loads_definition(DECLASSIFIED)
    assert definition.transitions[0].declassifies == {
        "note": "the director must know that a worry was noted"
    }
    assert compile_definition(definition).derived_facts == {}


def test_declassifies_holds_for_its_own_transition_only() -> None:
    text = declassify(WORRY, 'input.note != ""')
    assert found(text) == [
        ("confidential-flow", "error", *at(text, 'when: input.note == ""', "input"))
    ]


def test_declassifies_in_block_style_and_a_folded_reason() -> None:
    text = WORRY.replace(
        '    when: input.note != ""\n',
        '    when: input.note != ""\n    declassifies:\n      note: >-\n        De coach\n'
        "        meldt zorgen.\n",
    )
    [d] = with_code(text, "confidential-flow")
    assert (d.line, d.column) == at(text, 'when: input.note == ""', "input")
    assert coachflow.loads_definition(declassify(text, 'input.note == ""')).transitions[
        0
    ].declassifies == {"note": "De coach meldt zorgen."}


# --- declassifies itself ----------------------------------------------------------------------


def test_declassifying_a_field_the_transition_does_not_declare_is_unknown_input() -> None:
    text = DECLASSIFIED.replace("declassifies: {note: 'only", "declassifies: {nope: 'only")
    line, column = at(text, "declassifies: {nope", "nope")
    assert [(c, s, ln, col) for c, s, ln, col in found(text) if c == "unknown-input"] == [
        ("unknown-input", "error", line, column)
    ]
    [d] = with_code(text, "unknown-input")
    assert "'nope'" in d.message and "its fields: note" in d.message
    # and the guard is not declassified by it
    assert [c for c, *_ in found(text)] == ["confidential-flow", "unknown-input"]


@pytest.mark.parametrize("reason", ["''", "'   '", "[a, b]", "5", "null"])
def test_a_reason_is_a_non_blank_text(reason: str) -> None:
    text = declassify(WORRY, 'input.note != ""', reason)
    [d] = with_code(text, "schema")
    assert (d.severity, d.line, d.column) == ("error", *at(text, "declassifies:", reason))


def test_a_reason_holds_no_control_character() -> None:
    text = DECLASSIFIED.replace("'only that no worry was noted'", '"only\\e[2J"')
    [d] = with_code(text, "control-character")
    assert (d.line, d.column) == at(text, 'declassifies: {note: "only', '"only')
    assert "U+001B (ESC)" in d.message


# --- what is and is not a flow ----------------------------------------------------------------


def test_a_guard_on_a_public_input_is_no_flow() -> None:
    text = WORRY.replace(", visible_to: [coach, starter], disclose_to: {director: share}", "")
    text = text.replace("consents:\n  share: {granted_by: starter}\n", "")
    text = text.replace('      flagged: input.note != ""', "      flagged: true")
    assert found(text) == [("unused-role", "warning", *at(text, "starter: {}", "starter"))]


def test_a_field_every_role_may_read_is_no_flow() -> None:
    text = WORRY.replace("visible_to: [coach, starter]", "visible_to: [coach, starter, director]")
    text = text.replace('      flagged: input.note != ""', "      flagged: true")
    assert found(text) == []
    # ... but the facts still depend on it (a stranger reads no input): see test_derived_facts
    assert set(compile_definition(coachflow.loads_definition(text)).derived_facts) == {"flagged"}


def test_a_guard_that_can_only_refuse_is_a_flow() -> None:
    text = WORRY.replace(
        '    when: input.note == ""\n', '    when: input.note == "" and flagged\n'
    ).replace('    when: input.note != ""\n', "    when: len(input.items) > 1\n")
    text = text.replace(
        "    input: &note\n",
        "    input:\n      items: {type: list, items: str, visible_to: [coach]}\n"
        "      note: {type: str}\n",
    ).replace("    input: *note\n", "    input:\n      note: {type: str, visible_to: [coach]}\n")
    text = text.replace('      flagged: input.note != ""', "      flagged: true")
    text = text.replace("consents:\n  share: {granted_by: starter}\n", "")
    errors = with_code(text, "confidential-flow")
    assert [(d.line, d.column) for d in errors] == [
        at(text, "when: len(input.items)", "len"),
        at(text, 'when: input.note == ""', "input"),
    ]
    assert "'items'" in errors[0].message and "'starter', 'director' may not read" in (
        errors[0].message
    )


def test_a_wildcard_transition_decides_from_any_state() -> None:
    text = WORRY + (
        '  - event: alarm\n    from: "*"\n    to: done\n    by: [coach]\n'
        "    when: input.why is not None\n"
        "    input:\n      why: {type: str, disclose_to: {director: share}}\n"
    )
    errors = with_code(text, "confidential-flow")
    assert (errors[-1].line, errors[-1].column) == at(text, "when: input.why", "input")
    assert "from any state to 'done'" in errors[-1].message


def test_one_diagnostic_per_guard_names_every_field_it_reads() -> None:
    text = WORRY.replace(
        '    when: input.note != ""\n', '    when: input.note != "" and input.mood > 2\n'
    )
    text = text.replace(
        "    input: &note\n      note:",
        "    input: &note\n      mood: {type: int, visible_to: [coach]}\n      note:",
    )
    first = with_code(text, "confidential-flow")[0]
    assert "inputs 'mood', 'note'" in first.message
    # the director may read the note with the consent, but never the mood
    assert "; 'starter', 'director' may not read 'mood', 'note'." in first.message


def test_a_guard_on_a_fact_derived_elsewhere_is_reported_once_where_it_starts() -> None:
    text = WORRY.replace(
        "  - event: finish\n    from: [coaching, worrying]\n",
        "  - event: escalate\n    from: worrying\n    to: worrying\n    by: [director]\n"
        "    when: flagged\n  - event: finish\n    from: [coaching, worrying]\n",
    )
    assert [c for c, *_ in found(text)] == [
        "confidential-flow",
        "confidential-effect",
        "confidential-flow",
    ]


def test_the_strictest_spec_of_a_record_decides_who_may_not_read() -> None:
    # two transitions write the same record (report, coaching -> worrying); one declares
    # the field for every participant, the other for the coach only: the strictest wins
    text = WORRY.replace("    input: *note\n", "    input:\n      note: {type: str}\n").replace(
        "    from: coaching\n    to: coaching\n", "    from: coaching\n    to: worrying\n"
    )
    text = text.replace(
        "visible_to: [coach, starter], disclose_to: {director: share}", "visible_to: [coach]"
    ).replace('      flagged: input.note != ""', "      flagged: true")
    text = text.replace("consents:\n  share: {granted_by: starter}\n", "")
    [_, second] = with_code(text, "confidential-flow")
    assert (second.line, second.column) == at(text, 'when: input.note == ""', "input")
    assert "'starter', 'director' may not read" in second.message


# --- activities -------------------------------------------------------------------------------

VISIT = """\
coachflow: 1
id: visits
version: 1
roles:
  coach: {}
  starter: {}
  director: {}
facts:
  visited: {type: bool, default: false}
consents:
  share: {granted_by: starter}
initial: coaching
states:
  coaching: {}
  closing: {}
  done: {final: true}
transitions:
  - event: close
    from: coaching
    to: closing
    by: [director]
    when: done.visit
    set: {visited: count.visit > 0}
  - event: finish
    from: [coaching, closing]
    to: done
    by: [director]
    when: not visited or consent.share
activities:
  visit:
    by: [coach]
    when: input.report is None or consent.share
    input:
      report: {type: str, visible_to: [coach, starter], disclose_to: {director: share}}
"""
"""An activity whose guard refuses the coach's report without the starter's consent: whether
``visit`` was recorded (and so the state ``closing`` and the fact ``visited``) tells the
director, without consent, that there was no report."""


def declassify_visit(text: str, reason: str = "'whether a report came is known to all'") -> str:
    line = "    when: input.report is None or consent.share\n"
    assert line in text
    return text.replace(line, f"{line}    declassifies: {{report: {reason}}}\n", 1)


def test_an_activity_guard_that_reads_a_confidential_input_is_a_flow() -> None:
    assert at(VISIT, "when: input.report", "input") == (32, 11)
    # reported once, at the activity's guard: not again at the guards that read done.visit
    # or the fact set from count.visit
    assert found(VISIT) == [("confidential-flow", "error", 32, 11)]
    [d] = with_code(VISIT, "confidential-flow")
    assert d.message == (
        "the guard reads the confidential input 'report', so it decides whether activity "
        "'visit' is recorded (done.visit, count.visit), which every participant sees; "
        "'director' (without consent 'share') may not read 'report'. Leave it out of the "
        "guard, or declare why it may be revealed: declassifies: {report: <reason>}"
    )
    with pytest.raises(coachflow.DefinitionError):
        coachflow.loads_definition(VISIT)


def test_declassifies_on_an_activity_silences_it() -> None:
    text = declassify_visit(VISIT)
    assert validated(text) == []
    definition = coachflow.loads_definition(text)
    assert definition.activities["visit"].declassifies == {
        "report": "whether a report came is known to all"
    }
    assert compile_definition(definition).derived_facts == {}


def test_declassifies_on_an_activity_in_block_style_and_a_folded_reason() -> None:
    text = VISIT.replace(
        "    when: input.report is None or consent.share\n",
        "    when: input.report is None or consent.share\n    declassifies:\n"
        "      report: >-\n        Zonder toestemming\n        geen verslag.\n",
    )
    assert validated(text) == []
    assert coachflow.loads_definition(text).activities["visit"].declassifies == {
        "report": "Zonder toestemming geen verslag."
    }


def test_an_activity_guard_on_what_else_it_reads_is_no_flow() -> None:
    # a public input, a fact, a consent, done./count.: nothing confidential
    public = VISIT.replace(", visible_to: [coach, starter], disclose_to: {director: share}", "")
    assert found(public) == []
    assert compile_definition(coachflow.loads_definition(public)).derived_facts == {}
    unread = VISIT.replace(
        "    when: input.report is None or consent.share\n",
        "    when: not visited and count.visit < 3 and consent.share\n",
    )
    assert found(unread) == []


def test_an_activity_guard_on_a_field_every_role_may_read_is_no_flow() -> None:
    text = VISIT.replace(
        "visible_to: [coach, starter], disclose_to: {director: share}",
        "visible_to: [coach, starter, director]",
    )
    assert found(text) == []
    # ... but what depends on it is still derived from it (a stranger reads no input)
    compiled = compile_definition(coachflow.loads_definition(text))
    assert set(compiled.derived_facts) == {"visited"}
    [source] = compiled.derived_facts["visited"]
    assert (source.transition, source.event, source.field) == (None, "visit", "report")
    assert source.activity == "visit"
    assert source.label == (rule_of(compiled.definition.activities["visit"].input["report"]),)
    flows = flow_analysis(
        compiled.definition, compiled.transitions, compiled.role_effects, compiled.activity_guards
    )
    assert flows.activities == {"visit": frozenset({source})}
    assert flows.guards == {}
    # whether the trajectory stays in coaching or moves on to closing (and from there to
    # done) depends on whether visit was recorded
    assert set(flows.states) == {"coaching", "closing", "done"}
    # without the activities' guards, the activities are not followed
    assert flow_analysis(compiled.definition, compiled.transitions).facts == {}


def test_declassifying_a_field_the_activity_does_not_declare_is_unknown_input() -> None:
    text = declassify_visit(VISIT).replace("declassifies: {report:", "declassifies: {nope:")
    line, column = at(text, "declassifies: {nope", "nope")
    assert found(text) == [
        ("confidential-flow", "error", *at(text, "when: input.report", "input")),
        ("unknown-input", "error", line, column),
    ]
    [d] = with_code(text, "unknown-input")
    assert d.message == (
        "declassifies 'nope', which is not an input field of this activity (its fields: report)"
    )


def test_declassifying_on_an_activity_without_input_is_unknown_input() -> None:
    text = VISIT.replace(
        "  visit:\n    by: [coach]\n",
        "  call:\n    by: [coach]\n    declassifies: {report: 'no input here'}\n"
        "  visit:\n    by: [coach]\n",
    )
    [d] = with_code(text, "unknown-input")
    assert (d.line, d.column) == at(text, "declassifies: {report: 'no input", "report")
    assert d.message.endswith("of this activity (its fields: none)")


@pytest.mark.parametrize("reason", ["''", "'   '", "[a, b]", "5", "null"])
def test_an_activity_reason_is_a_non_blank_text(reason: str) -> None:
    text = declassify_visit(VISIT, reason)
    [d] = with_code(text, "schema")
    assert (d.severity, d.line, d.column) == ("error", *at(text, "declassifies:", reason))


def test_an_activity_reason_holds_no_control_character() -> None:
    text = declassify_visit(VISIT, '"only\\e[2J"')
    [d] = with_code(text, "control-character")
    assert (d.line, d.column) == at(text, 'declassifies: {report: "only', '"only')
    assert "U+001B (ESC)" in d.message


# --- the analysis -----------------------------------------------------------------------------

CHAIN = """\
coachflow: 1
id: chain
version: 1
roles:
  coach: {}
  starter: {}
  buddy: {assigned_by: [coach], on_assign: {set: {briefed: flagged}}}
facts:
  goal: {type: str}
  flagged: {type: bool, default: false}
  escalated: {type: bool, default: false}
  copied: {type: bool}
  briefed: {type: bool}
  visits: {type: int, default: 0}
initial: intake
states:
  intake: {}
  coaching: {}
  worrying: {}
  done: {final: true}
transitions:
  - event: start
    from: intake
    to: coaching
    by: [coach]
    set: {goal: "'x'"}
  - event: report
    from: coaching
    to: worrying
    by: [coach]
    when: input.note != ""
    input:
      note: {type: str, visible_to: [coach, starter, buddy]}
    set: {flagged: true}
  - event: escalate
    from: worrying
    to: worrying
    by: [coach]
    set: {escalated: true}
  - event: copy
    from: intake
    to: intake
    by: [coach]
    set: {copied: flagged, visits: visits + 1}
  - event: finish
    from: [coaching, worrying]
    to: done
    by: [coach]
    when: escalated and copied and briefed and goal is not None and visits > 0
"""


def test_facts_depend_on_it_through_guards_states_effects_and_hooks() -> None:
    compiled = compile_definition(coachflow.loads_definition(CHAIN))
    derived = compiled.derived_facts
    # flagged: set where the guard decided; escalated: set from a state the guard decided;
    # copied: copies flagged; briefed: a hook copies flagged. goal and visits do not depend
    # on the note: they are set in intake, which the trajectory never returns to.
    assert set(derived) == {"flagged", "escalated", "copied", "briefed"}
    [source] = derived["flagged"]
    assert (source.transition, source.event, source.field) == (1, "report", "note")
    assert source.label == (rule_of(compiled.definition.transitions[1].input["note"]),)
    assert all(sources == {source} for sources in derived.values())


def test_the_states_it_decides() -> None:
    compiled = compile_definition(coachflow.loads_definition(CHAIN))
    flows = flow_analysis(
        compiled.definition, compiled.transitions, compiled.role_effects, compiled.activity_guards
    )
    assert set(flows.states) == {"coaching", "worrying", "done"}
    assert set(flows.guards) == {1}
    assert flows.facts == compiled.derived_facts


def test_always_reads() -> None:
    spec = coachflow.loads_definition(DECLASSIFIED).transitions[0].input["note"]
    label = (rule_of(spec),)
    assert [r for r in ("coach", "starter", "director", "other") if always_reads(label, r)] == [
        "coach",
        "starter",
    ]


@pytest.mark.parametrize(
    "path", sorted((ROOT / "definitions").glob("*.yaml")), ids=lambda p: p.stem
)
def test_the_built_in_definitions_have_no_flow(path: Path) -> None:
    assert [d for d in coachflow.validate_file(path) if d.code == "confidential-flow"] == []
    assert compile_definition(coachflow.load_definition(path)).derived_facts == {}


# --- the diagram ------------------------------------------------------------------------------


def test_the_graph_shows_what_is_declassified_and_why() -> None:
    definition = coachflow.loads_definition(DECLASSIFIED)
    mermaid = to_mermaid(definition)
    assert (
        "    coaching --> worrying: report (coach) [input.note != ''] declassifies note: "
        "the director must know that a worry was noted\n"
    ) in mermaid
    assert "    coaching --> done: finish (director)\n" in mermaid
    dot = to_dot(definition)
    assert (
        '"coaching" -> "worrying" [label="report (coach) [input.note != \\"\\"]\\n'
        'declassifies note: the director must know that a worry was noted"];'
    ) in dot


def test_the_graph_keeps_a_folded_reason_on_one_line() -> None:
    text = WORRY.replace(
        '    when: input.note != ""\n',
        '    when: input.note != ""\n    declassifies:\n      note: |\n        one\n        two\n',
    )
    definition = coachflow.loads_definition(declassify(text, 'input.note == ""'))
    assert "declassifies note: one two\n" in to_mermaid(definition)


# --- migration-widens-access ------------------------------------------------------------------

OLD = """\
coachflow: 1
id: route
version: 1
roles:
  coach: {}
  starter: {}
  director: {}
consents:
  share: {granted_by: starter}
initial: open
states:
  open: {}
  closed: {final: true}
transitions:
  - event: note
    from: open
    to: open
    by: [coach]
    input:
      text: {type: str, visible_to: [coach], disclose_to: {director: share}}
  - event: close
    from: open
    to: closed
    by: [coach]
activities:
  visit:
    by: [coach]
    input:
      report: {type: str, visible_to: [coach, starter]}
"""


def newer(old: str, *changes: tuple[str, str], states: str = "open: open, closed: closed") -> str:
    text = old.replace("version: 1", "version: 2")
    for before, after in changes:
        assert before in text, before
        text = text.replace(before, after)
    return text + f"migrates_from:\n  version: 1\n  states: {{{states}}}\n"


def warnings(old: str, new: str) -> list[tuple[tuple[str | int, ...], str]]:
    return migration_warnings(coachflow.loads_definition(old), coachflow.loads_definition(new))


def test_the_same_labels_do_not_warn() -> None:
    assert warnings(OLD, newer(OLD)) == []


def test_stricter_labels_do_not_warn() -> None:
    new = newer(
        OLD,
        ("visible_to: [coach], disclose_to: {director: share}", "visible_to: [coach]"),
        ("visible_to: [coach, starter]}", "visible_to: [coach]}"),
    )
    assert warnings(OLD, new) == []


def test_visible_to_widened() -> None:
    new = newer(OLD, ("visible_to: [coach, starter]}", "visible_to: [coach, starter, director]}"))
    [(path, message)] = warnings(OLD, new)
    assert path == ("activities", "visit", "input", "report")
    assert message.startswith(
        "input field 'report' of activity 'visit' is readable by more roles than in version 1: "
        "'director' (before: not at all)."
    )
    assert "keep their labels" in message


def test_a_consent_requirement_dropped() -> None:
    new = newer(
        OLD,
        ("visible_to: [coach], disclose_to: {director: share}", "visible_to: [coach, director]"),
    )
    [(path, message)] = warnings(OLD, new)
    assert path == ("transitions", 0, "input", "text")
    assert "'director' (before: only with consent 'share')" in message
    assert "'starter'" not in message


def test_confidential_made_public() -> None:
    new = newer(
        OLD,
        (
            "text: {type: str, visible_to: [coach], disclose_to: {director: share}}",
            "text: {type: str}",
        ),
    )
    [(_, message)] = warnings(OLD, new)
    assert "'starter' (before: not at all), 'director' (before: only with consent 'share')" in (
        message
    )


def test_a_field_that_is_new_or_gone_does_not_warn() -> None:
    new = newer(
        OLD,
        (
            "      text: {type: str, visible_to",
            "      other: {type: str}\n      t: {type: str, visible_to",
        ),
    )
    assert warnings(OLD, new) == []


TWO_WAYS = OLD.replace(
    "    by: [coach]\n    input:\n      text:",
    "    by: [coach]\n    when: consent.share\n    input:\n      text:",
).replace(
    "  - event: close\n",
    "  - event: note\n    from: open\n    to: closed\n    by: [coach]\n"
    "    when: not consent.share\n    input:\n      text: {type: str}\n  - event: close\n",
)
"""Two transitions of ``note``: to ``open`` (the text confidential), to ``closed`` (public)."""


def test_transitions_are_matched_through_the_state_map() -> None:
    assert validated(TWO_WAYS) == []
    # version 2 renames open to running: its note to running stays as strict as the note
    # to open was, its note to closed stays public: no warning
    renamed = (("  open: {}", "  running: {}"), ("from: open", "from: running"))
    renamed += (("to: open", "to: running"), ("initial: open", "initial: running"))
    new = newer(TWO_WAYS, *renamed, states="open: running, closed: closed")
    assert validated(new) == []
    assert warnings(TWO_WAYS, new) == []
    # the public note to closed is no excuse for a note to running that the director
    # now reads without consent: it is compared with the note to open it maps from
    wider = new.replace(
        "text: {type: str, visible_to: [coach], disclose_to: {director: share}}",
        "text: {type: str, visible_to: [coach, director]}",
    )
    [(path, message)] = warnings(TWO_WAYS, wider)
    assert path == ("transitions", 0, "input", "text")
    assert "event 'note'" in message and "'director' (before: only with consent 'share')" in message


def test_the_warning_is_located_and_does_not_stop_loading(tmp_path: Path) -> None:
    new = newer(OLD, ("visible_to: [coach, starter]}", "visible_to: [coach, starter, director]}"))
    (tmp_path / "route-1.yaml").write_text(OLD)
    (tmp_path / "route-2.yaml").write_text(new)
    results = {
        path: [d for d in found if d.code != "no-retention"]
        for path, found in validate_files(sorted(tmp_path.glob("*.yaml"))).items()
    }
    [d] = results[str(tmp_path / "route-2.yaml")]
    assert (d.code, d.severity) == ("migration-widens-access", "warning")
    assert (d.line, d.column) == at(new, "report: {type: str, visible_to", "{")
    assert results[str(tmp_path / "route-1.yaml")] == []
    assert sorted(x.key for x in coachflow.load_definition_versions(tmp_path)) == [
        ("route", 1),
        ("route", 2),
    ]
    assert (
        migration_problems(coachflow.loads_definition(OLD), coachflow.loads_definition(new)) == []
    )
    coachflow.Engine(coachflow.load_definition_versions(tmp_path), plugins=False)  # no error


# --- the closure of the dependency graph ------------------------------------------------------


@given(
    edges=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=30),
    seeds=st.dictionaries(st.integers(0, 7), st.integers(1, 15), max_size=8),
)
def test_the_closure_is_what_reaches_each_node(
    edges: list[tuple[int, int]], seeds: dict[int, int]
) -> None:
    graph = _Graph()
    for node in range(8):
        graph.seed(("n", node), seeds.get(node, 0))
    for u, v in edges:
        graph.edge(("n", u), ("n", v))
    closed = graph.closure()
    for node in range(8):
        reaching = {node}
        while True:
            more = reaching | {u for u, v in edges if v in reaching}
            if more == reaching:
                break
            reaching = more
        expected = 0
        for u in reaching:
            expected |= seeds.get(u, 0)
        assert closed[("n", node)] == expected
