"""Issue 14's findings, each pinned down: a value keeps the label it was written with
(a migration never widens access to it), the strictest of several specs of one field
wins, and no message carries a confidential value.

Every test here failed before the fix (labels were looked up in the trajectory's current
version, the first confidential spec won, and guard values and input problems showed
the value)."""

from __future__ import annotations

import logging
import pickle
from datetime import UTC, datetime

import pytest

import coachflow
from coachflow import REDACTED, Engine, GuardFailed, InvalidInput, TransitionRejected
from coachflow.definition.plain import Rule
from coachflow.runtime.trajectory import LabeledInput

SECRET = "Ik stop ermee na de kerst"  # what the starter told the coach

V1 = """\
coachflow: 1
id: leak
version: 1
roles:
  coach: {required: true}
  starter: {required: true}
  director: {assigned_by: [coach]}
consents:
  share: {granted_by: starter}
initial: running
states:
  running: {}
  closed: {final: true}
transitions:
  - event: talk
    from: running
    to: running
    by: [coach]
    input:
      note: {type: str, visible_to: [coach, starter]}
      mood: {type: int, min: 1, max: 5, visible_to: [coach]}
  - event: close
    from: running
    to: closed
    by: [coach]
activities:
  visit:
    by: [coach]
    input:
      remark: {type: str, visible_to: [coach]}
"""

# version 2 renames the talk's note and drops the visit's rule: under the old behaviour the
# old values were matched by nothing and shown to every participant
V2 = """\
coachflow: 1
id: leak
version: 2
migrates_from: {version: 1, states: {running: running, closed: closed}}
roles:
  coach: {required: true}
  starter: {required: true}
  director: {assigned_by: [coach]}
consents:
  share: {granted_by: starter}
initial: running
states:
  running: {}
  closed: {final: true}
transitions:
  - event: talk
    from: running
    to: running
    by: [coach]
    input:
      summary: {type: str}
      mood: {type: int}
  - event: close
    from: running
    to: closed
    by: [coach]
activities:
  visit:
    by: [coach]
    input:
      remark: {type: str}
"""

DEFINITIONS = [coachflow.loads_definition(V1), coachflow.loads_definition(V2)]
CLOCK_AT = datetime(2026, 9, 1, 9, tzinfo=UTC)


def _start(engine: Engine, version: int = 1) -> str:
    return engine.start(
        "leak",
        version=version,
        participants={"coach": "c", "starter": "s", "director": "d"},
        actor="c",
    ).id


def test_a_value_is_labeled_when_it_is_written(engine: Engine) -> None:
    tid = _start(engine)
    engine.fire(tid, "talk", actor="c", input={"note": SECRET, "mood": 2})
    record = engine.history(tid)[-1]
    assert isinstance(record.input, LabeledInput)
    assert record.labels == {
        "note": (Rule(("coach", "starter"), ()),),
        "mood": (Rule(("coach",), ()),),
    }
    assert pickle.loads(pickle.dumps(record.input)).labels == record.labels


def test_a_migration_does_not_widen_access_to_values_written_before_it(engine: Engine) -> None:
    tid = _start(engine)
    engine.fire(tid, "talk", actor="c", input={"note": SECRET, "mood": 2})
    engine.record_activity(tid, "visit", actor="c", input={"remark": SECRET})
    engine.migrate(tid, 2, actor="admin")
    talk, visit = engine.history(tid, viewer="d")[1:3]
    assert talk.input == {"note": REDACTED, "mood": REDACTED}
    assert visit.input == {"remark": REDACTED}
    assert engine.history(tid, viewer="s")[1].input == {"note": SECRET, "mood": REDACTED}
    # what version 2 writes follows version 2's (laxer) rules
    engine.fire(tid, "talk", actor="c", input={"summary": "gaat goed", "mood": 4})
    assert engine.history(tid, viewer="d")[-1].input == {"summary": "gaat goed", "mood": 4}


STRICT = """\
coachflow: 1
id: strict
version: 1
roles:
  coach: {required: true}
  starter: {required: true}
  director: {assigned_by: [coach]}
consents:
  share: {granted_by: starter}
initial: running
states:
  running: {}
  closed: {final: true}
transitions:
  # two transitions make the same record: the note is readable by whoever both allow
  - event: talk
    from: running
    to: running
    by: [coach]
    when: "input.urgent"
    input:
      urgent: {type: bool, required: true}
      note: {type: str, visible_to: [coach, director]}
  - event: talk
    from: running
    to: running
    by: [coach]
    when: "not input.urgent"
    input:
      urgent: {type: bool, required: true}
      note: {type: str, visible_to: [coach], disclose_to: {director: share}}
  - event: close
    from: running
    to: closed
    by: [coach]
"""


def test_the_strictest_of_two_specs_of_a_field_wins() -> None:
    engine = Engine([coachflow.loads_definition(STRICT)], clock=coachflow.FixedClock(CLOCK_AT))
    tid = engine.start(
        "strict", participants={"coach": "c", "starter": "s", "director": "d"}, actor="c"
    ).id
    engine.fire(tid, "talk", actor="c", input={"urgent": True, "note": SECRET})
    # the first spec alone would let the director read it; the second needs the consent
    assert engine.history(tid, viewer="d")[-1].input["note"] is REDACTED
    engine.grant_consent(tid, "share", actor="s")
    assert engine.history(tid, viewer="d")[-2].input["note"] == SECRET


GUARDED = """\
coachflow: 1
id: guarded
version: 1
roles:
  coach: {required: true}
  starter: {required: true}
initial: running
states:
  running: {}
  closed: {final: true}
facts:
  score: {type: int, default: 0, max: 10}
transitions:
  - event: talk
    from: running
    to: running
    by: [coach]
    when: 'input.note == "akkoord"'
    declassifies: {note: "whether the coach's note says akkoord is shown by the talk"}
    input:
      note: {type: str, visible_to: [coach]}
      level: {type: int, min: 1, max: 3, visible_to: [coach]}
      kind: {type: enum, values: [a, b], visible_to: [coach]}
  - event: rate
    from: running
    to: running
    by: [coach]
    declassifies: {points: "the score is meant for every participant"}
    input:
      points: {type: int, visible_to: [coach]}
    set:
      score: input.points
  - event: close
    from: running
    to: closed
    by: [coach]
activities:
  visit:
    by: [coach]
    when: 'input.remark == "akkoord"'
    declassifies: {remark: "whether the visit is recorded is seen by all"}
    input:
      remark: {type: str, visible_to: [coach]}
"""


@pytest.fixture
def guarded() -> tuple[Engine, str]:
    engine = Engine([coachflow.loads_definition(GUARDED)], clock=coachflow.FixedClock(CLOCK_AT))
    tid = engine.start("guarded", participants={"coach": "c", "starter": "s"}, actor="c").id
    return engine, tid


def _everything_said(exc: TransitionRejected) -> str:
    """Every text an application could log of a refusal."""
    parts = [str(exc), repr(exc), repr(exc.args), repr(exc.reasons)]
    if isinstance(exc, GuardFailed):
        parts.append(repr(exc.values))
    parts.append(repr(pickle.loads(pickle.dumps(exc)).args))
    return "\n".join(parts)


def test_a_guard_on_a_confidential_input_says_redacted(guarded: tuple[Engine, str]) -> None:
    engine, tid = guarded
    with pytest.raises(GuardFailed) as caught:
        engine.fire(tid, "talk", actor="c", input={"note": SECRET})
    said = _everything_said(caught.value)
    assert "[redacted]" in str(caught.value)
    assert caught.value.values == {"input.note": REDACTED}
    assert SECRET not in said
    explained = engine.explain(tid, "talk", actor="c", input={"note": SECRET})
    assert explained.reasons
    assert all("input.note=[redacted]" in r.message for r in explained.reasons)


def test_an_activity_guard_on_a_confidential_input_says_redacted(
    guarded: tuple[Engine, str],
) -> None:
    engine, tid = guarded
    with pytest.raises(GuardFailed) as caught:
        engine.record_activity(tid, "visit", actor="c", input={"remark": SECRET})
    assert caught.value.values == {"input.remark": REDACTED}
    assert "input.remark=[redacted]" in str(caught.value)


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"note": ["Ik stop ermee"]}, "'note': [redacted] is not a text"),
        ({"level": 7}, "'level': [redacted] is not an integer from 1 to 3"),
        ({"kind": "Ik stop ermee"}, "'kind': [redacted] is not one of ['a', 'b']"),
    ],
)
def test_bad_input_in_a_confidential_field_is_not_repeated(
    guarded: tuple[Engine, str], given: dict[str, object], said: str
) -> None:
    engine, tid = guarded
    with pytest.raises(InvalidInput) as caught:
        engine.fire(tid, "talk", actor="c", input=given)
    assert said in str(caught.value)
    for value in given.values():
        assert repr(value) not in _everything_said(caught.value)
        assert str(value) not in str(caught.value).replace("['a', 'b']", "")


def test_an_effect_from_a_confidential_input_does_not_show_its_result(
    guarded: tuple[Engine, str],
) -> None:
    engine, tid = guarded
    with pytest.raises(GuardFailed) as caught:
        engine.fire(tid, "rate", actor="c", input={"points": 4242})
    assert "4242" not in _everything_said(caught.value)
    assert "setting 'score' to [redacted] would pass its maximum 10" in str(caught.value)


def test_a_logged_refusal_holds_no_confidential_value(
    guarded: tuple[Engine, str], caplog: pytest.LogCaptureFixture
) -> None:
    engine, tid = guarded
    log = logging.getLogger("an.application")
    for event, given in [
        ("talk", {"note": SECRET}),
        ("talk", {"level": 99}),
        ("rate", {"points": 4242}),
    ]:
        try:
            engine.fire(tid, event, actor="c", input=given)
        except TransitionRejected:
            log.exception("refused")
    assert len(caplog.records) == 3
    text = caplog.text
    assert SECRET not in text and "4242" not in text and "99" not in text


EVERYONE = """\
coachflow: 1
id: everyone
version: 1
roles:
  coach: {required: true}
  starter: {required: true}
initial: running
states:
  running: {}
  closed: {final: true}
facts:
  worried: {type: bool, default: false}
transitions:
  - event: talk
    from: running
    to: running
    by: [coach]
    when: 'input.note == "zorg"'
    input:
      note: {type: str, visible_to: [coach, starter]}
    set:
      worried: true
  - event: talk
    from: running
    to: running
    by: [coach]
    when: 'input.note != "zorg"'
    input:
      note: {type: str, visible_to: [coach, starter]}
  - event: close
    from: running
    to: closed
    by: [coach]
"""


def test_a_fact_derived_from_a_confidential_input_is_hidden_from_a_stranger() -> None:
    # every role may read the note, so the validator lets a fact derive from it; a stranger
    # (no role) reads no input, and so not the fact either: not in the snapshot, not in the
    # record's changes
    engine = Engine([coachflow.loads_definition(EVERYONE)], clock=coachflow.FixedClock(CLOCK_AT))
    tid = engine.start("everyone", participants={"coach": "c", "starter": "s"}, actor="c").id
    engine.fire(tid, "talk", actor="c", input={"note": "zorg"})
    assert engine.get(tid, viewer="s").facts["worried"] is True
    stranger = engine.get(tid, viewer="x")
    assert stranger.facts["worried"] is REDACTED
    assert stranger.history[-1].changes == {"worried": REDACTED}
    assert all(r.changes.get("worried") in (None, REDACTED) for r in stranger.history)
