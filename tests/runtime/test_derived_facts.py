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
from coachflow.runtime.flows import derived_facts, hidden_by_era, hidden_facts

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


WORRY_2 = """\
coachflow: 1
id: worry
version: 2
migrates_from:
  version: 1
  states: {coaching: coaching, worrying: worrying, done: done}
  facts: {flagged: worry_flag}
roles:
  coach: {required: true}
  starter: {required: true}
  director: {}
facts:
  worry_flag: {type: bool, default: false}
  escalated: {type: bool, default: false}
  topic: {type: str}
  followed_up: {type: bool, default: false}
  rooms: {type: int, default: 0}
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
    input:
      note: {type: str, visible_to: [coach, starter], disclose_to: {director: share}}
  - event: follow_up
    from: worrying
    to: worrying
    by: [coach]
    set: {followed_up: worry_flag}
  - event: book_room
    from: worrying
    to: worrying
    by: [director]
    set: {rooms: rooms + 1}
  - event: finish
    from: [coaching, worrying]
    to: done
    by: [director]
"""
"""A version 2 of the worry route that derives nothing: its report's guard is gone. It
renames ``flagged`` and sets ``followed_up`` from it."""

CARRIED = {"worry_flag", "escalated", "topic", "followed_up"}
"""What version 2 must hide from the director: the facts version 1 derived from the note
(``flagged`` renamed), and ``followed_up``, set from one of them. ``rooms`` is clean."""


def test_facts_derived_before_a_migration_stay_hidden_after_it(tmp_path: Path) -> None:
    """A stored version 1 that fails ``confidential-flow`` (its report's guard reads the
    note, undeclassified), its trajectory migrated to a version 2 that derives nothing:
    the director is still not shown the facts version 1 derived, in version 1's records,
    in the ``migrated`` record, in the current facts (renamed or not), in those version 2
    sets from them, nor in their export."""
    import warnings

    from coachflow import StoredDefinitionWarning
    from coachflow.files.definitions import parse_definition
    from coachflow.runtime.decide import Moment, decide_start
    from coachflow.runtime.program import Program
    from coachflow.runtime.trajectory import begin_decided
    from coachflow.store import SqlStore

    text = WORRY.replace(
        "    declassifies: {note: 'the source: the director hears of every worry'}\n", ""
    )
    text = text.replace("    declassifies: {note: 'only that there is no worry'}\n", "")
    text = text.replace('      flagged: input.note != ""', "      flagged: true")
    parsed = parse_definition(text)
    assert parsed.definition is not None
    first = parsed.definition
    compiled = compile_definition(first, stored=True)
    assert not compiled.passes_later_checks and set(compiled.derived_facts) == DERIVED
    url = f"sqlite:///{tmp_path / 'worry.db'}"
    store = SqlStore(url)
    try:
        participants = {"coach": "c", "starter": "s", "director": "d"}
        moment = Moment(None, {}, FixedClock(T0))
        tid, record = decide_start(
            Program(compiled), participants=participants, actor="c", facts=None,
            trajectory_id="w1", start_date=None, calendar=None, moment=moment,
        )  # fmt: skip
        store.remember_definition(first)
        store.create(begin_decided(tid, record, None))
    finally:
        store.dispose()
    store = SqlStore(url)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StoredDefinitionWarning)
            engine = Engine(
                [coachflow.loads_definition(WORRY_2)], store=store, clock=FixedClock(T0)
            )
        engine.fire(tid, "set_topic", actor="c", input={"topic": "routines"})
        engine.fire(tid, "report", actor="c", input={"note": "Sam struggles"})
        assert engine.get(tid, viewer="d").facts["flagged"] == coachflow.REDACTED  # version 1
        engine.migrate(tid, 2, actor="admin")
        engine.fire(tid, "follow_up", actor="c")
        engine.fire(tid, "book_room", actor="d")
        t = engine.get(tid)
        assert t.definition_version == 2 and t.facts["worry_flag"] is True
        assert t.facts["followed_up"] is True and t.facts["rooms"] == 1
        for viewer in ("c", "s"):
            seen = engine.get(tid, viewer=viewer)
            assert seen.facts == t.facts
            assert [r.changes for r in seen.history] == [r.changes for r in t.history]

        def leaks(viewer: str) -> dict[str, object]:
            seen = engine.get(tid, viewer=viewer)
            shown = {f: v for f, v in seen.facts.items() if v != coachflow.REDACTED}
            for r in seen.history:
                for f, v in r.changes.items():
                    if v != coachflow.REDACTED:
                        shown[f"{r.seq}:{r.kind}:{f}"] = v
            return shown

        shown = leaks("d")
        assert {f for f in t.facts if f not in shown} == CARRIED
        moved = next(r.seq for r in t.history if r.kind == "migrated")
        clean = {"rooms": 1, f"{moved}:migrated:rooms": 0, f"{t.history[-1].seq}:event:rooms": 1}
        assert shown == clean
        assert leaks("stranger") == clean
        [exported] = engine.export_person("d")["trajectories"]  # type: ignore[misc]
        records = {r["kind"]: r["changes"] for r in exported["records"]}
        assert set(records) == {"started", "migrated", "event"}  # those naming d, d's own
        assert {f for f, v in records["migrated"].items() if v == {"redacted": True}} == CARRIED
        # a version that is not loaded cannot be judged: all of its facts are hidden, and
        # what they reach later, even from the coach
        second = compile_definition(coachflow.loads_definition(WORRY_2))
        unjudged = hidden_by_era(t, "c", lambda v: second if v == 2 else None)
        assert unjudged.now == {"worry_flag", "escalated", "topic", "followed_up"}
        assert hidden_by_era(t, "c", lambda v: second if v == 2 else compiled).now == set()
        engine.grant_consent(tid, "share", actor="s")  # the note may be read now: all of it
        assert engine.get(tid, viewer="d").facts == engine.get(tid).facts
    finally:
        store.dispose()
