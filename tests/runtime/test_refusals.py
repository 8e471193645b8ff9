"""Refusals are made when read (speed issue) and are still exact: the message is the
reasons' messages joined, the guard's values are what it read, and a refusal pickles
with all of them."""

from __future__ import annotations

import pickle
import uuid

import pytest

import coachflow
from coachflow import Engine, GuardFailed, NotPermitted, TransitionRejected
from coachflow.errors import Reason

CLOCK_AT = "2026-09-01T09:00:00+00:00"
DEFINITIONS = [
    coachflow.loads_definition(
        """
coachflow: 1
id: refusals
version: 1
roles: {coach: {}, teacher: {}}
facts: {n: {type: int, default: 0}}
initial: open
states: {open: {}, done: {final: true}}
transitions:
  - {event: close, from: open, to: done, by: [coach], when: n > 5}
  - {event: close, from: open, to: done, by: [coach], when: n < -5}
"""
    )
]


def started(engine: Engine) -> str:
    return engine.start("refusals", participants={"coach": "c", "teacher": "t"}, actor="c").id


def test_a_guard_refusal_reads_as_it_did_when_it_was_made_eagerly(engine: Engine) -> None:
    tid = started(engine)
    with pytest.raises(GuardFailed) as raised:
        engine.fire(tid, "close", actor="c")
    error = raised.value
    assert error.reasons == [
        Reason("guard-failed", "guard 'n > 5' is false (n=0)"),
        Reason("guard-failed", "guard 'n < -5' is false (n=0)"),
    ]
    assert str(error) == "; ".join(r.message for r in error.reasons)
    assert (error.guard, error.values) == ("n > 5", {"n": 0})
    assert error.reasons is error.reasons  # made once
    assert engine.explain(tid, "close", actor="c").reasons == tuple(error.reasons)


def test_a_not_permitted_refusal_names_the_roles(engine: Engine) -> None:
    tid = started(engine)
    with pytest.raises(NotPermitted) as raised:
        engine.fire(tid, "close", actor="t")
    assert [r.message for r in raised.value.reasons] == [
        "'close' may be done by coach; this person holds teacher"
    ] * 2
    with pytest.raises(NotPermitted, match="this person holds no role"):
        engine.fire(tid, "close", actor="stranger")


@pytest.mark.parametrize("actor", ["c", "t"])
def test_a_refusal_pickles_with_its_reasons_message_and_context(engine: Engine, actor: str) -> None:
    tid = started(engine)
    with pytest.raises(TransitionRejected) as raised:
        engine.fire(tid, "close", actor=actor)
    copy = pickle.loads(pickle.dumps(raised.value))
    assert type(copy) is type(raised.value)
    assert str(copy) == str(raised.value)
    assert copy.reasons == raised.value.reasons
    assert (copy.trajectory_id, copy.event, copy.actor) == (tid, "close", actor)
    if isinstance(copy, GuardFailed):
        assert copy.values == {"n": 0}


def test_an_eager_refusal_keeps_its_message_and_default_reason() -> None:
    error = NotPermitted("no", trajectory_id="t1")
    assert (str(error), error.args, error.reasons) == (
        "no",
        ("no",),
        [Reason("not-permitted", "no")],
    )


def test_new_trajectory_ids_are_version_4_uuids(engine: Engine) -> None:
    ids = {started(engine) for _ in range(200)}
    assert len(ids) == 200
    for tid in ids:
        parsed = uuid.UUID(hex=tid)
        assert (len(tid), parsed.version, parsed.variant) == (32, 4, uuid.RFC_4122)
        assert parsed.hex == tid


def test_every_refusal_kind_copies_and_pickles_with_its_own_fields_and_notes() -> None:
    """Refusals keep their fields in slots (no instance dict per refusal); a copy, a
    pickle and a note added by the application keep them all."""
    import copy as copying

    from coachflow.errors import InvalidInput, version_conflict

    made = [
        version_conflict("t1", expected=1, actual=2, event="e", actor="a"),
        GuardFailed(guard="n > 5", values=lambda: {"n": 0}, trajectory_id="t2", event="e"),
        InvalidInput("bad date", fields=["held_on"], trajectory_id="t3", actor="a"),
        NotPermitted(message="keyword message", actor="a"),
    ]
    for error in made:
        error.add_note("seen by the application")
        for again in (pickle.loads(pickle.dumps(error)), copying.copy(error)):
            assert type(again) is type(error)
            # a message made when read is the copy's argument
            assert (str(again), again.args, again.reasons) == (
                str(error),
                error.args or (str(error),),
                error.reasons,
            )
            assert (again.trajectory_id, again.event, again.actor) == (
                error.trajectory_id,
                error.event,
                error.actor,
            )
            assert again.__notes__ == ["seen by the application"]
    conflict, guard, invalid, keyword = made
    assert (conflict.expected, conflict.actual) == (1, 2)
    assert pickle.loads(pickle.dumps(guard)).values == {"n": 0}
    assert pickle.loads(pickle.dumps(invalid)).fields == ["held_on"]
    assert keyword.args == ("keyword message",)
