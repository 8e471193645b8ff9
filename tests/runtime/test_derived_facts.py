"""Facts derived from a confidential input, hidden at run time (issue 14, finding 4:
defence in depth behind the validator's ``confidential-flow``).

:func:`coachflow.runtime.flows.hidden_facts` names the facts a viewer may not be shown now:
those that depend on a confidential input that no transition or activity declassifies,
when the viewer's roles and the trajectory's consents do not let them read it. The validator
refuses such a flow towards any role of the definition, so in a valid definition what is
left is a flow every role may read (hidden from strangers only); the cases that the
validator would refuse are run here with its verdict bypassed, to show that the runtime
would still hide the facts.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import coachflow
from coachflow import Engine, FixedClock
from coachflow.definition.checks.flows import flow_analysis
from coachflow.definition.compiled import CompiledDefinition, compile_definition
from coachflow.runtime.flows import derived_facts, hidden_facts

T0 = datetime(2026, 9, 1, 9, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]

WORRY = """\
coachflow: 1
id: worry
version: 1
roles:
  coach: {required: true}
  starter: {required: true}
  director: {}
facts:
  flagged: {type: bool, default: false}
  escalated: {type: bool, default: false}
  topic: {type: str}
consents:
  share: {granted_by: starter}
initial: coaching
states:
  coaching: {}
  worrying: {}
  done: {final: true}
transitions:
  - event: set_topic
    from: coaching
    to: coaching
    by: [coach]
    input:
      topic: {type: str, required: true}
    set: {topic: input.topic}
  - event: report
    from: coaching
    to: worrying
    by: [coach]
    when: input.note != ""
    declassifies: {note: 'the source: the director hears of every worry'}
    input: &note
      note: {type: str, visible_to: [coach, starter], disclose_to: {director: share}}
    set:
      flagged: input.note != ""
  - event: report
    from: coaching
    to: coaching
    by: [coach]
    when: input.note == ""
    declassifies: {note: 'only that there is no worry'}
    input: *note
  - event: escalate
    from: worrying
    to: worrying
    by: [director]
    set: {escalated: true}
  - event: finish
    from: [coaching, worrying]
    to: done
    by: [director]
"""
"""The finding, declassified: valid."""


DERIVED = {"flagged", "escalated", "topic"}


def undeclassified(compiled: CompiledDefinition) -> CompiledDefinition:
    """``compiled`` as it would be had the validator let the flow through without
    ``declassifies``: the analysis of the definition without them."""
    d = compiled.definition
    bare = d.model_copy(
        update={
            "transitions": tuple(t.model_copy(update={"declassifies": {}}) for t in d.transitions),
            "activities": {
                name: a.model_copy(update={"declassifies": {}}) for name, a in d.activities.items()
            },
        }
    )
    flows = flow_analysis(
        bare, compiled.transitions, compiled.role_effects, compiled.activity_guards
    )
    return dataclasses.replace(compiled, definition=bare, derived_facts=flows.facts)


def started(definition: coachflow.Definition) -> tuple[Engine, str]:
    engine = Engine(definition, clock=FixedClock(T0), plugins=False)
    participants = {"coach": "c", "starter": "s", "director": "d"}
    tid = engine.start(definition.id, participants=participants, actor="c").id
    engine.fire(tid, "set_topic", actor="c", input={"topic": "routines"})
    engine.fire(tid, "report", actor="c", input={"note": "Sam struggles"})
    return engine, tid


def test_declassified_nothing_is_hidden() -> None:
    definition = coachflow.loads_definition(WORRY)
    assert derived_facts(definition) == {}
    engine, tid = started(definition)
    t = engine.get(tid)
    assert t.state == "worrying" and t.facts["flagged"] is True
    for viewer in ("c", "s", "d", "stranger"):
        assert hidden_facts(definition, t, viewer) == frozenset()


def test_without_declassifies_the_director_is_not_shown_the_derived_facts() -> None:
    compiled = undeclassified(compile_definition(coachflow.loads_definition(WORRY)))
    # flagged is set where the guard decided, escalated in the state it decided, and topic
    # in coaching, where the trajectory stays when the note is empty: set after a report,
    # it tells that the note was empty
    assert set(compiled.derived_facts) == DERIVED
    # the note of either report: both decide whether the trajectory stays in coaching
    sources = compiled.derived_facts["flagged"]
    assert {(s.transition, s.event, s.field) for s in sources} == {
        (1, "report", "note"),
        (2, "report", "note"),
    }
    engine, tid = started(coachflow.loads_definition(WORRY))
    t = engine.get(tid)
    assert hidden_facts(compiled, t, "c") == frozenset()
    assert hidden_facts(compiled, t, "s") == frozenset()
    assert hidden_facts(compiled, t, "d") == DERIVED  # no consent
    assert hidden_facts(compiled, t, "stranger") == DERIVED
    engine.grant_consent(tid, "share", actor="s")
    assert hidden_facts(compiled, engine.get(tid), "d") == frozenset()
    engine.withdraw_consent(tid, "share", actor="s")
    assert hidden_facts(compiled, engine.get(tid), "d") == DERIVED


def test_a_flow_every_role_may_read_is_hidden_from_strangers_only() -> None:
    text = WORRY.replace("visible_to: [coach, starter]", "visible_to: [coach, starter, director]")
    text = text.replace(
        "    declassifies: {note: 'the source: the director hears of every worry'}\n", ""
    )
    text = text.replace('      flagged: input.note != ""', "      flagged: true")
    definition = coachflow.loads_definition(text)  # valid: no role is kept from the note
    assert set(derived_facts(definition)) == DERIVED
    engine, tid = started(definition)
    t = engine.get(tid)
    for viewer in ("c", "s", "d"):
        assert hidden_facts(definition, t, viewer) == frozenset()
    assert hidden_facts(definition, t, "stranger") == DERIVED


def test_the_analysis_is_kept_once_per_definition_version() -> None:
    definition = coachflow.loads_definition(WORRY)
    compiled = compile_definition(definition)
    assert derived_facts(definition) is compiled.derived_facts
    assert derived_facts(compiled) is compiled.derived_facts


def test_the_built_in_definitions_hide_nothing() -> None:
    for definition in coachflow.load_definitions(ROOT / "definitions").values():
        assert derived_facts(definition) == {}, definition.id


VISIT = """\
coachflow: 1
id: visits
version: 1
roles:
  coach: {required: true}
  starter: {required: true}
  director: {}
facts:
  visited: {type: bool, default: false}
consents:
  share: {granted_by: starter}
initial: coaching
states:
  coaching: {}
  done: {final: true}
transitions:
  - event: close
    from: coaching
    to: coaching
    by: [director]
    when: done.visit
    set: {visited: count.visit > 0}
  - event: finish
    from: coaching
    to: done
    by: [director]
activities:
  visit:
    by: [coach]
    when: input.report is None or consent.share
    declassifies: {report: 'whether a report came is known to all'}
    input:
      report: {type: str, visible_to: [coach, starter], disclose_to: {director: share}}
"""
"""An activity whose guard reads its confidential input, declassified: valid."""


def test_a_fact_derived_through_an_activity_guard_is_hidden_without_declassifies() -> None:
    definition = coachflow.loads_definition(VISIT)
    assert derived_facts(definition) == {}
    compiled = undeclassified(compile_definition(definition))
    [source] = compiled.derived_facts["visited"]
    assert (source.transition, source.event, source.field) == (None, "visit", "report")
    engine = Engine(definition, clock=FixedClock(T0), plugins=False)
    participants = {"coach": "c", "starter": "s", "director": "d"}
    tid = engine.start(definition.id, participants=participants, actor="c").id
    engine.record_activity(tid, "visit", actor="c", on="2026-09-01")
    engine.fire(tid, "close", actor="d")
    t = engine.get(tid)
    assert t.facts["visited"] is True
    assert hidden_facts(compiled, t, "c") == frozenset()
    assert hidden_facts(compiled, t, "s") == frozenset()
    assert hidden_facts(compiled, t, "d") == {"visited"}  # no consent
    assert hidden_facts(definition, t, "d") == frozenset()  # declassified
    engine.grant_consent(tid, "share", actor="s")
    assert hidden_facts(compiled, engine.get(tid), "d") == frozenset()
