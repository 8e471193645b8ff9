"""Noninterference: what a viewer may not read cannot change anything they see.

Hypothesis generates definitions (each confidential field's rule drawn from the ways a
field can be described, in two versions that migrate one into the other, optionally a
guard on an input) and random sequences of events, activities, consent changes,
(re)assignments and a migration. Each sequence runs twice with the *same* shape: the
second run changes every value the chosen viewer was never shown in the first. The
viewer's ``get(viewer=)`` and ``history(viewer=)`` at every read, and every refusal
message they received, must be identical in both runs. On the in-memory store and, with
fewer examples, on SQLite (labels and redaction read back from the database)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import coachflow
from coachflow import Engine, FixedClock, TransitionRejected

CLOCK_AT = datetime(2026, 9, 1, 9, tzinfo=UTC)
PEOPLE = {"coach": "c", "starter": "s", "director": "d", "colleague": "k"}
VIEWERS = ("c", "s", "d", "k", "x")  # x holds no role

RULES = (
    "",
    "visible_to: [coach]",
    "visible_to: [coach, starter]",
    "visible_to: [coach, director]",
    "visible_to: []",
    "disclose_to: {director: share}",
    "disclose_to: {director: share, colleague: share}",
    "visible_to: [coach, starter], disclose_to: {director: share}",
)
GUARDS = ("", 'when: "input.level < 3"', 'when: "consent.share"')


def definition_text(version: int, rules: tuple[str, str, str], guard: str, excl: bool) -> str:
    note, level, remark = (f", {r}" if r else "" for r in rules)
    coach, starter, director, colleague = (
        (
            ", excludes: [director]",
            ", excludes: [director, colleague]",
            ", excludes: [coach, starter]",
            ", excludes: [starter]",
        )
        if excl
        else ("", "", "", "")
    )
    migrates = (
        "migrates_from: {version: 1, states: {running: running, closed: closed}}\n"
        if version == 2
        else ""
    )
    return f"""\
coachflow: 1
id: ni
version: {version}
{migrates}roles:
  coach: {{required: true{coach}}}
  starter: {{required: true{starter}}}
  director: {{assigned_by: [coach]{director}}}
  colleague: {{assigned_by: [coach]{colleague}}}
consents:
  share: {{granted_by: starter}}
initial: running
states:
  running: {{}}
  closed: {{final: true}}
transitions:
  - event: talk
    from: running
    to: running
    by: [coach, starter]
    {guard or "title: talk"}
    input:
      note: {{type: str{note}}}
      level: {{type: int, min: 1, max: 5{level}}}
  - event: close
    from: running
    to: closed
    by: [coach]
activities:
  visit:
    by: [coach, director, colleague]
    input:
      remark: {{type: str{remark}}}
"""


rules_st = st.tuples(*(st.sampled_from(RULES) for _ in range(3)))
op_st = st.one_of(
    st.tuples(st.just("talk"), st.sampled_from(("c", "s", "d"))),
    st.tuples(st.just("visit"), st.sampled_from(("c", "d", "k", "s"))),
    st.tuples(st.sampled_from(("grant", "withdraw")), st.sampled_from(("s", "d"))),
    st.tuples(st.sampled_from(("assign", "unassign")), st.sampled_from(("director", "colleague"))),
    st.tuples(st.just("migrate"), st.just("")),
    st.tuples(st.just("read"), st.just("")),
)


RULE_MEANING: dict[str, tuple[tuple[str, ...] | None, dict[str, str]]] = {
    "": (None, {}),
    "visible_to: [coach]": (("coach",), {}),
    "visible_to: [coach, starter]": (("coach", "starter"), {}),
    "visible_to: [coach, director]": (("coach", "director"), {}),
    "visible_to: []": ((), {}),
    "disclose_to: {director: share}": (None, {"director": "share"}),
    "disclose_to: {director: share, colleague: share}": (
        None,
        {"director": "share", "colleague": "share"},
    ),
    "visible_to: [coach, starter], disclose_to: {director: share}": (
        ("coach", "starter"),
        {"director": "share"},
    ),
}
"""What each rule means, written out independently of coachflow: the test's oracle."""


def may_read(rule: str, roles: tuple[str, ...], consents: Mapping[str, bool]) -> bool:
    visible, disclose = RULE_MEANING[rule]
    if not roles:
        return False
    if any(consents.get(disclose[r], False) for r in roles if r in disclose):
        return True
    if visible is None:
        return any(r not in disclose for r in roles)
    return any(r in visible for r in roles)


class Run:
    """One run of a sequence: what the viewer saw and was told, and (the oracle) which
    input values they may read at some moment they looked."""

    def __init__(self, engine: Engine, viewer: str, rules: tuple[Any, Any]) -> None:
        self.engine, self.viewer, self.rules = engine, viewer, rules
        self.seen: list[Any] = []
        self.written: list[tuple[int, str, int, str]] = []  # slot, field, version, author
        self.readable: set[int] = set()
        self.version = 1

    def rule(self, field: str, version: int) -> str:
        note, level, remark = self.rules[version - 1]
        return {"note": note, "level": level, "remark": remark}[field]

    def view(self, tid: str) -> None:
        engine, viewer = self.engine, self.viewer
        trusted = engine.get(tid)  # roles and consents now: not confidential
        roles, consents = trusted.roles_of(viewer), trusted.consents
        for slot, field, version, author in self.written:
            rule = self.rule(field, version)
            if author == viewer or (rule == "" and roles) or may_read(rule, roles, consents):
                self.readable.add(slot)
        t = engine.get(tid, viewer=viewer)
        self.seen.append(
            (
                "view",
                t.state,
                t.version,
                dict(t.facts),
                dict(t.consents),
                tuple(
                    (r.seq, r.kind, r.actor, r.event, r.source, r.target, dict(r.input))
                    for r in engine.history(tid, viewer=viewer)
                ),
            )
        )

    def go(self, ops: list[tuple[str, str]], value: Callable[[int], str]) -> Run:
        """Run ``ops``; input value number ``i`` is ``value(i)`` (a level: from its last
        digit)."""
        engine, viewer = self.engine, self.viewer
        tid = engine.start(
            "ni", version=1, participants={"coach": "c", "starter": "s"}, actor="c"
        ).id
        slot = 0
        for kind, who in ops:
            try:
                if kind == "talk":
                    note, level = value(slot), value(slot + 1)
                    engine.fire(
                        tid,
                        "talk",
                        actor=who,
                        input={"note": note, "level": int(level[-1]) % 5 + 1},
                    )
                    self.written += [
                        (slot, "note", self.version, who),
                        (slot + 1, "level", self.version, who),
                    ]
                elif kind == "visit":
                    engine.record_activity(tid, "visit", actor=who, input={"remark": value(slot)})
                    self.written.append((slot, "remark", self.version, who))
                elif kind == "grant":
                    engine.grant_consent(tid, "share", actor=who)
                elif kind == "withdraw":
                    engine.withdraw_consent(tid, "share", actor=who)
                elif kind == "assign":
                    engine.assign(tid, who, PEOPLE[who], actor="c")
                elif kind == "unassign":
                    engine.unassign(tid, who, PEOPLE[who], actor="c")
                elif kind == "migrate":
                    engine.migrate(tid, 2, actor="admin")
                    self.version = 2
                else:
                    self.view(tid)
            except TransitionRejected as exc:
                if who == viewer:  # what the viewer was told
                    self.seen.append(("refused", type(exc).__name__, str(exc), repr(exc.reasons)))
                else:
                    self.seen.append(("refused-someone",))
            except coachflow.CoachflowError as exc:
                self.seen.append(("error", type(exc).__name__, str(exc) if who == viewer else ""))
            slot += 2
        self.view(tid)
        return self

    def secret(self) -> set[int]:
        """The values written under a confidential rule that the viewer neither wrote nor
        may read at any moment they looked."""
        return {
            slot
            for slot, field, version, _ in self.written
            if self.rule(field, version) != "" and slot not in self.readable
        }


def check(
    make_engine: Callable[[list[Any]], Engine],
    rules1: Any,
    rules2: Any,
    guard: str,
    excl: bool,
    ops: list[tuple[str, str]],
    viewer: str,
) -> None:
    texts = [definition_text(1, rules1, guard, excl), definition_text(2, rules2, guard, excl)]
    problems = [d for text in texts for d in coachflow.validate_text(text) if d.severity == "error"]
    assume(not problems)  # a definition the validator refuses never runs
    definitions = [coachflow.loads_definition(text) for text in texts]

    def first(i: int) -> str:
        return f"A{i:04d}{i % 5}"

    one = Run(make_engine(definitions), viewer, (rules1, rules2)).go(ops, first)
    secret = one.secret()

    def second(i: int) -> str:
        return f"B{i:04d}{(i + 2) % 5}" if i in secret else first(i)

    two = Run(make_engine(definitions), viewer, (rules1, rules2)).go(ops, second)
    assert two.seen == one.seen


def _memory(definitions: list[Any]) -> Engine:
    return Engine(definitions, store=coachflow.MemoryStore(), clock=FixedClock(CLOCK_AT))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules_st,
    rules_st,
    st.sampled_from(GUARDS),
    st.booleans(),
    st.lists(op_st, max_size=14),
    st.sampled_from(VIEWERS),
)
def test_noninterference_in_memory(
    rules1: Any, rules2: Any, guard: str, excl: bool, ops: list[tuple[str, str]], viewer: str
) -> None:
    check(_memory, rules1, rules2, guard, excl, ops, viewer)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    rules_st,
    rules_st,
    st.sampled_from(GUARDS),
    st.booleans(),
    st.lists(op_st, max_size=10),
    st.sampled_from(VIEWERS),
)
def test_noninterference_on_sqlite(
    make_store: Callable[[str], Any],
    rules1: Any,
    rules2: Any,
    guard: str,
    excl: bool,
    ops: list[tuple[str, str]],
    viewer: str,
) -> None:
    def sqlite(definitions: list[Any]) -> Engine:
        return Engine(definitions, store=make_store("sqlite"), clock=FixedClock(CLOCK_AT))

    check(sqlite, rules1, rules2, guard, excl, ops, viewer)
