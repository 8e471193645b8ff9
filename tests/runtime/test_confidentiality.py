"""Confidential input fields: who reads what, when.

Rules (issue 5, ``coachflow.runtime.access``): a field may declare ``visible_to``
(default: every participant) and ``disclose_to: {role: consent}`` (that role reads it
only while the consent is granted; with no ``visible_to``, every *other* participant
reads it). The author always reads what they wrote. The rules apply with the roles and
consents of the moment the history is read; someone who holds no role reads no value.

The unit tests pin each rule down; the Hypothesis property puts a unique secret in every
field of random histories and checks, for random viewers at random moments, that the
redacted history holds exactly the secrets the viewer may read.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import coachflow
from coachflow import REDACTED, Engine, FixedClock, HistoryRecord, TransitionRejected

CONFIDENTIAL_YAML = """\
coachflow: 1
id: conf
version: 1
roles:
  coach: {required: true, assigned_by: [coach]}
  starter: {required: true}
  director: {assigned_by: [coach]}
  colleague: {assigned_by: [coach], max: 2}
consents:
  share_with_director: {granted_by: starter}
  share_with_colleague: {granted_by: starter}
initial: running
states:
  running: {}
  closed: {final: true}
transitions:
  - event: note
    from: running
    to: running
    by: [coach, starter]
    input:
      public: {type: str}
      private: {type: str, visible_to: [coach]}
      shared:
        type: str
        visible_to: [coach, starter]
        disclose_to: {director: share_with_director}
      gated:
        type: str
        disclose_to: {director: share_with_director, colleague: share_with_colleague}
  - event: report_to_director
    from: running
    to: running
    by: [coach]
    when: consent.share_with_director
    input:
      summary:
        type: str
        required: true
        visible_to: [coach]
        disclose_to: {director: share_with_director}
  - event: close
    from: running
    to: closed
    by: [coach]
activities:
  visit:
    by: [coach, director, colleague]
    input:
      agreements:
        type: str
        visible_to: [coach, starter]
        disclose_to: {director: share_with_director}
      remark: {type: str}
      own: {type: str, visible_to: []}
"""
DEFINITION = coachflow.loads_definition(CONFIDENTIAL_YAML)
T0 = datetime(2026, 9, 1, 9, tzinfo=UTC)


def test_the_definition_is_valid() -> None:
    found = coachflow.validate_text(CONFIDENTIAL_YAML)
    assert [d.code for d in found] == ["no-retention"]  # kept as long as the trajectory


DEFINITIONS = [DEFINITION]
"""What this module's ``engine`` fixture (tests/conftest.py) serves."""
CLOCK_AT = T0
"""When this module's ``clock`` fixture (tests/conftest.py) stands."""


def start(engine: Engine, **people: Any) -> str:
    participants = {"coach": "c", "starter": "s", **people}
    return engine.start("conf", participants=participants, actor="c").id


def values(engine: Engine, tid: str, viewer: str, seq: int = -1) -> Mapping[str, Any]:
    return engine.history(tid, viewer=viewer)[seq].input


def readable(engine: Engine, tid: str, viewer: str, seq: int = -1) -> set[str]:
    """The names of the fields of record ``seq`` that ``viewer`` reads."""
    return {k for k, v in values(engine, tid, viewer, seq).items() if v is not REDACTED}


ALL_NOTE = {"public": "p", "private": "v", "shared": "sh", "gated": "g"}


# --- unit cases ----------------------------------------------------------------------------


def test_the_author_always_reads_what_they_wrote(engine: Engine) -> None:
    tid = start(engine)
    engine.fire(tid, "note", actor="s", input=ALL_NOTE)  # 'private' is for the coach only
    assert dict(values(engine, tid, "s")) == ALL_NOTE
    engine.record_activity(tid, "visit", actor="c", input={"own": "mine", "agreements": "a"})
    assert dict(values(engine, tid, "c")) == {"own": "mine", "agreements": "a"}
    assert readable(engine, tid, "s") == {"agreements"}


def test_visible_to(engine: Engine) -> None:
    tid = start(engine, director="d", colleague=["k"])
    engine.fire(tid, "note", actor="c", input=ALL_NOTE)
    assert readable(engine, tid, "c") == {"public", "private", "shared", "gated"}
    assert readable(engine, tid, "s") == {"public", "shared", "gated"}
    assert readable(engine, tid, "d") == {"public"}
    assert readable(engine, tid, "k") == {"public"}


def test_by_default_every_participant_reads_a_field(engine: Engine) -> None:
    tid = start(engine, director="d", colleague=["k1", "k2"])
    engine.record_activity(tid, "visit", actor="c", input={"remark": "r"})
    for viewer in ("c", "s", "d", "k1", "k2"):
        assert dict(values(engine, tid, viewer)) == {"remark": "r"}, viewer


def test_an_empty_visible_to_is_for_the_author_only(engine: Engine) -> None:
    tid = start(engine, director="d")
    engine.grant_consent(tid, "share_with_director", actor="s")
    engine.record_activity(tid, "visit", actor="d", input={"own": "o"})
    assert readable(engine, tid, "d") == {"own"}
    for viewer in ("c", "s"):
        assert values(engine, tid, viewer)["own"] is REDACTED


def test_disclose_to_needs_the_consent_and_loses_access_after_withdrawal(
    engine: Engine,
) -> None:
    tid = start(engine, director="d")
    engine.fire(tid, "note", actor="c", input=ALL_NOTE)
    seq = engine.get(tid).version
    assert readable(engine, tid, "d", seq) == {"public"}
    engine.grant_consent(tid, "share_with_director", actor="s")
    assert readable(engine, tid, "d", seq) == {"public", "shared", "gated"}
    engine.fire(tid, "report_to_director", actor="c", input={"summary": "sum"})
    assert dict(values(engine, tid, "d")) == {"summary": "sum"}
    engine.withdraw_consent(tid, "share_with_director", actor="s")
    assert readable(engine, tid, "d", seq) == {"public"}
    assert values(engine, tid, "d", seq + 2)["summary"] is REDACTED
    # the other consent does not open the director's fields
    engine.grant_consent(tid, "share_with_colleague", actor="s")
    assert readable(engine, tid, "d", seq) == {"public"}
    # granting and withdrawing are history records everyone can follow
    kinds = [(r.kind, dict(r.input)) for r in engine.history(tid, viewer="d")[seq + 1 :]]
    assert kinds == [
        ("consent_granted", {"consent": "share_with_director"}),
        ("event", {"summary": REDACTED}),
        ("consent_withdrawn", {"consent": "share_with_director"}),
        ("consent_granted", {"consent": "share_with_colleague"}),
    ]


def test_disclose_to_without_visible_to_hides_the_field_from_that_role_only(
    engine: Engine,
) -> None:
    tid = start(engine, director="d", colleague=["k"])
    engine.fire(tid, "note", actor="c", input={"gated": "g"})
    assert readable(engine, tid, "s", 1) == {"gated"}  # not named in disclose_to
    assert readable(engine, tid, "d", 1) == set()
    assert readable(engine, tid, "k", 1) == set()
    engine.grant_consent(tid, "share_with_colleague", actor="s")
    assert readable(engine, tid, "k", 1) == {"gated"}
    assert readable(engine, tid, "d", 1) == set()


def test_a_person_who_is_unassigned_loses_access(engine: Engine) -> None:
    tid = start(engine, director="d")
    engine.grant_consent(tid, "share_with_director", actor="s")
    engine.fire(tid, "note", actor="c", input=ALL_NOTE)
    seq = engine.get(tid).version
    assert readable(engine, tid, "d", seq) == {"public", "shared", "gated"}
    engine.unassign(tid, "director", "d", actor="c")
    assert readable(engine, tid, "d", seq) == set()
    engine.assign(tid, "director", "d", actor="c")
    assert readable(engine, tid, "d", seq) == {"public", "shared", "gated"}


def test_a_replaced_author_still_reads_their_own_records(engine: Engine) -> None:
    tid = start(engine)
    engine.fire(tid, "note", actor="c", input=ALL_NOTE)
    seq = engine.get(tid).version
    engine.assign(tid, "coach", "c2", actor="c", replacing="c")
    assert engine.get(tid).roles_of("c") == ()
    assert dict(values(engine, tid, "c", seq)) == ALL_NOTE
    assert readable(engine, tid, "c2", seq) == set(ALL_NOTE)


def test_a_stranger_sees_no_input_values(engine: Engine) -> None:
    tid = start(engine, director="d")
    engine.fire(tid, "note", actor="c", input=ALL_NOTE)
    engine.grant_consent(tid, "share_with_director", actor="s")
    engine.record_activity(tid, "visit", actor="d", input={"remark": "r", "agreements": "a"})
    history = engine.history(tid, viewer="stranger")
    full = engine.history(tid)
    assert len(history) == len(full)
    for seen, record in zip(history, full, strict=True):
        assert list(seen.input) == list(record.input)  # the names stay
        assert all(v is REDACTED for v in seen.input.values())
        assert seen._replace(input=record.input) == record  # nothing else changes
    assert engine.get(tid, viewer="stranger").history == history


def test_field_names_stay_and_values_become_redacted(engine: Engine) -> None:
    tid = start(engine, director="d")
    engine.fire(tid, "note", actor="c", input=ALL_NOTE)
    seen = engine.history(tid, viewer="d")[-1]
    assert list(seen.input) == list(ALL_NOTE)
    assert seen.input["public"] == "p"
    for name in ("private", "shared", "gated"):
        assert seen.input[name] is REDACTED
    assert repr(REDACTED) == "REDACTED"
    assert str(REDACTED) == "[redacted]"
    assert pickle.loads(pickle.dumps(REDACTED)) is REDACTED
    assert "'v'" not in repr(seen) and "'sh'" not in repr(seen) and "'g'" not in repr(seen)
    # a field that was not filled in is not listed
    engine.fire(tid, "note", actor="c", input={"private": "x"})
    assert dict(values(engine, tid, "d")) == {"private": REDACTED}


def test_get_and_history_with_a_viewer_agree(engine: Engine) -> None:
    tid = start(engine, director="d", colleague=["k"])
    engine.fire(tid, "note", actor="s", input=ALL_NOTE)
    engine.grant_consent(tid, "share_with_colleague", actor="s")
    engine.record_activity(tid, "visit", actor="k", input={"agreements": "x", "own": "y"})
    full = engine.get(tid)
    for viewer in ("c", "s", "d", "k", "stranger"):
        snapshot = engine.get(tid, viewer=viewer)
        assert snapshot.history == engine.history(tid, viewer=viewer)
        assert snapshot.as_dict() == full.as_dict()  # only the history is redacted
        assert len(snapshot.history) == full.version + 1
        assert [r.seq for r in snapshot.history] == [r.seq for r in full.history]


def test_without_a_viewer_everything_is_visible(engine: Engine) -> None:
    tid = start(engine, director="d")
    engine.fire(tid, "note", actor="c", input=ALL_NOTE)
    engine.record_activity(tid, "visit", actor="c", input={"own": "o", "agreements": "a"})
    history = engine.history(tid)
    assert history == engine.get(tid).history
    assert dict(history[1].input) == ALL_NOTE
    assert dict(history[2].input) == {"own": "o", "agreements": "a"}
    assert REDACTED not in [v for r in history for v in r.input.values()]


def test_redaction_does_not_change_the_stored_trajectory(engine: Engine) -> None:
    tid = start(engine, director="d")
    engine.fire(tid, "note", actor="c", input=ALL_NOTE)
    before = engine.get(tid)
    engine.history(tid, viewer="d")
    engine.get(tid, viewer="stranger")
    assert engine.get(tid) == before
    assert coachflow.replay(tid, engine.history(tid)) == before


def test_a_consent_guarded_event_shares_only_with_the_consent(engine: Engine) -> None:
    tid = start(engine, director="d")
    with pytest.raises(coachflow.GuardFailed):
        engine.fire(tid, "report_to_director", actor="c", input={"summary": "x"})
    engine.grant_consent(tid, "share_with_director", actor="s")
    engine.fire(tid, "report_to_director", actor="c", input={"summary": "x"})
    assert readable(engine, tid, "d") == {"summary"}
    assert readable(engine, tid, "s") == set()  # visible_to: [coach]; no disclosure to starter


def test_after_the_end_a_consent_can_still_be_withdrawn(engine: Engine) -> None:
    tid = start(engine, director="d")
    engine.grant_consent(tid, "share_with_director", actor="s")
    engine.fire(tid, "note", actor="c", input=ALL_NOTE)
    engine.fire(tid, "close", actor="c")
    assert readable(engine, tid, "d", 2) == {"public", "shared", "gated"}
    engine.withdraw_consent(tid, "share_with_director", actor="s")
    assert readable(engine, tid, "d", 2) == {"public"}


DUPLICATE_EVENT_YAML = """\
coachflow: 1
id: dup
version: 1
roles:
  coach: {}
  starter: {}
facts:
  formal: {type: bool, default: false}
initial: a
states:
  a: {}
  z: {final: true}
transitions:
  - event: formalize
    from: a
    to: a
    by: [coach, starter]
    set: {formal: true}
  - event: note
    from: a
    to: a
    by: [coach]
    when: not formal
    input:
      text: {type: str}
  - event: note
    from: a
    to: a
    by: [coach]
    when: formal
    input:
      text: {type: str, visible_to: [coach]}
  - event: close
    from: a
    to: z
    by: [coach]
"""


def test_guarded_alternatives_of_one_event_keep_their_own_field_rules() -> None:
    assert [d.code for d in coachflow.validate_text(DUPLICATE_EVENT_YAML)] == ["no-retention"]
    engine = Engine([coachflow.loads_definition(DUPLICATE_EVENT_YAML)], clock=FixedClock(T0))
    tid = engine.start("dup", participants={"coach": "c", "starter": "s"}, actor="c").id
    engine.fire(tid, "formalize", actor="c")
    engine.fire(tid, "note", actor="c", input={"text": "secret"})
    assert engine.history(tid, viewer="s")[-1].input["text"] is REDACTED


# --- the property ---------------------------------------------------------------------------

PEOPLE = ("c1", "c2", "s1", "d1", "d2", "k1", "k2", "x")
CONSENTS = ("share_with_director", "share_with_colleague")
NOTE_FIELDS = ("public", "private", "shared", "gated")
VISIT_FIELDS = ("agreements", "remark", "own")
# actors: mostly people who hold a role at start, so that many actions are accepted
ACTORS = st.sampled_from(("c1", "c1", "c1", "c1", "s1", "s1", "s1", "d1", *PEOPLE))
GRANTERS = st.sampled_from(("s1", "s1", "s1", *PEOPLE))

actions = st.one_of(
    st.tuples(st.just("note"), ACTORS, st.sets(st.sampled_from(NOTE_FIELDS))),
    st.tuples(st.just("report"), ACTORS),
    st.tuples(st.just("visit"), ACTORS, st.sets(st.sampled_from(VISIT_FIELDS))),
    st.tuples(st.just("grant"), GRANTERS, st.sampled_from(CONSENTS)),
    st.tuples(st.just("withdraw"), GRANTERS, st.sampled_from(CONSENTS)),
    st.tuples(
        st.just("assign"),
        ACTORS,
        st.sampled_from(("director", "colleague")),
        st.sampled_from(PEOPLE),
    ),
    st.tuples(
        st.just("unassign"),
        ACTORS,
        st.sampled_from(("director", "colleague")),
        st.sampled_from(PEOPLE),
    ),
    st.tuples(st.just("hand_over"), ACTORS, st.sampled_from(PEOPLE)),
    st.tuples(st.just("close"), st.sampled_from(PEOPLE)),
    st.tuples(st.just("look"), st.sets(st.sampled_from(PEOPLE), min_size=1)),
)


class Secrets:
    """Hands out unique secret strings and remembers which field each one is in."""

    def __init__(self) -> None:
        self.n = 0
        # secret -> (seq of its record, spec of its field, author)
        self.where: dict[str, tuple[int, Any, str]] = {}
        self.pending: list[tuple[str, Any]] = []

    def fill(self, names: set[str], specs: Mapping[str, Any]) -> dict[str, str]:
        data: dict[str, str] = {}
        self.pending = []
        for name in sorted(names):
            self.n += 1
            secret = f"<secret-{self.n:05d}>"
            data[name] = secret
            self.pending.append((secret, specs[name]))
        return data

    def accepted(self, seq: int, author: str) -> None:
        for secret, spec in self.pending:
            self.where[secret] = (seq, spec, author)
        self.pending = []


def may_read(spec: Any, author: str, viewer: str, roles: tuple[str, ...], consents: Any) -> bool:
    """The oracle: the author; or, holding a role now, a role the field is visible to
    (every role not in ``disclose_to`` by default) or disclosed to with its consent
    granted now."""
    if viewer == author:
        return True
    disclose = spec.disclose_to
    if any(r in disclose and consents[disclose[r]] for r in roles):
        return True
    visible = spec.visible_to
    if visible is None:
        return any(r not in disclose for r in roles)
    return any(r in visible for r in roles)


def check_views(engine: Engine, tid: str, secrets: Secrets, viewers: set[str]) -> None:
    t = engine.get(tid)
    assert t.version + 1 == len(t.history)
    for viewer in sorted(viewers):
        roles = t.roles_of(viewer)
        history = engine.history(tid, viewer=viewer)
        text = repr(history) + repr(engine.get(tid, viewer=viewer).history)
        for secret, (seq, spec, author) in secrets.where.items():
            allowed = may_read(spec, author, viewer, roles, t.consents)
            if secret in text:
                assert allowed, (
                    f"{viewer} (roles {roles}, consents {dict(t.consents)}) reads {secret} "
                    f"of record {seq} by {author}"
                )
            else:
                assert not allowed, f"{viewer} may read {secret} of record {seq} but does not"
        # every field name stays; a hidden value is REDACTED
        for seen, record in zip(history, t.history, strict=True):
            assert list(seen.input) == list(record.input)
            for name, value in seen.input.items():
                assert value is REDACTED or value == record.input[name]


def act(engine: Engine, tid: str, secrets: Secrets, action: tuple[Any, ...]) -> None:
    kind, actor = action[0], action[1]
    try:
        if kind == "note":
            specs = DEFINITION.transitions[0].input
            t = engine.fire(tid, "note", actor=actor, input=secrets.fill(action[2], specs))
        elif kind == "report":
            specs = DEFINITION.transitions[1].input
            data = secrets.fill({"summary"}, specs)
            t = engine.fire(tid, "report_to_director", actor=actor, input=data)
        elif kind == "visit":
            specs = DEFINITION.activities["visit"].input
            t = engine.record_activity(
                tid, "visit", actor=actor, input=secrets.fill(action[2], specs)
            )
        elif kind == "grant":
            t = engine.grant_consent(tid, action[2], actor=actor)
        elif kind == "withdraw":
            t = engine.withdraw_consent(tid, action[2], actor=actor)
        elif kind == "assign":
            t = engine.assign(tid, action[2], action[3], actor=actor)
        elif kind == "unassign":
            t = engine.unassign(tid, action[2], action[3], actor=actor)
        elif kind == "hand_over":
            t = engine.assign(tid, "coach", action[2], actor=actor, replacing=actor)
        else:
            t = engine.fire(tid, "close", actor=actor)
    except TransitionRejected:
        secrets.pending = []
        return
    secrets.accepted(t.version, actor)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(actions, min_size=5, max_size=40), granted=st.sets(st.sampled_from(CONSENTS)))
def test_no_value_reaches_a_viewer_who_may_not_read_it(
    steps: list[tuple[Any, ...]], granted: set[str]
) -> None:
    engine = Engine([DEFINITION], clock=FixedClock(T0))
    tid = engine.start(
        "conf", participants={"coach": "c1", "starter": "s1", "director": "d1"}, actor="c1"
    ).id
    for consent in sorted(granted):
        engine.grant_consent(tid, consent, actor="s1")
    secrets = Secrets()
    for action in steps:
        if action[0] == "look":
            check_views(engine, tid, secrets, action[1])
        else:
            act(engine, tid, secrets, action)
    check_views(engine, tid, secrets, set(PEOPLE))


def test_history_records_are_plain_records() -> None:
    # the redacted history is made of the same record type as the full one
    engine = Engine([DEFINITION], clock=FixedClock(T0))
    tid = start(engine)
    engine.fire(tid, "note", actor="c", input=ALL_NOTE)
    assert all(type(r) is HistoryRecord for r in engine.history(tid, viewer="x"))
