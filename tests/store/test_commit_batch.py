"""``Store.commit_batch`` (issue 16): the worker commits many trajectories' changes in one
transaction; each is written only if its trajectory is still at its expected version, and
one that is not is reported and leaves no trace - on every store."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from coachflow import Engine, FixedClock, loads_definition
from coachflow.runtime.outbox import CHANGED
from coachflow.runtime.trajectory import apply, new_record
from coachflow.store.port import Change

STORE_KINDS = ["memory", "sqlite", "postgresql"]

DEFINITION = loads_definition(
    """\
coachflow: 1
id: batched
version: 1
roles:
  coach: {required: true}
  board: {assigned_by: [coach]}
initial: open
states:
  open: {}
  done: {final: true}
transitions:
  - {event: tick, from: open, to: open, by: [coach]}
  - {event: close, from: open, to: done, by: [coach]}
"""
)


@pytest.fixture
def engine(store: Any) -> Engine:
    engine = Engine([DEFINITION], store=store, clock=FixedClock(), plugins=False)
    for tid in ("a", "b", "c"):
        engine.start("batched", participants={"coach": "c"}, actor="c", trajectory_id=tid)
    return engine


def ticked(engine: Engine, tid: str) -> Change:
    t = engine.get(tid)
    record = new_record(
        t.version + 1, engine.clock.now(), "c", "coach", "event", "tick", "open", "open"
    )
    return Change(apply(t, record), t.version, None, date(2026, 9, 20))


def test_each_change_is_written_if_its_trajectory_is_still_where_it_was(engine: Engine) -> None:
    changes = [ticked(engine, tid) for tid in ("a", "b", "c")]
    engine.fire("b", "tick", actor="c")  # b moved on since it was read
    before = len(engine.outbox.messages(limit=1000))
    assert engine.store.commit_batch(changes) == [True, False, True]
    assert [engine.get(t).version for t in ("a", "b", "c")] == [1, 1, 1]
    assert len(engine.get("b").history) == 2  # only its own tick, nothing of the batch's
    messages = engine.outbox.messages(limit=1000)[before:]
    assert [(m.topic, m.trajectory_id) for m in messages] == [(CHANGED, "a"), (CHANGED, "c")]
    assert sorted(engine.store.due(date(2026, 9, 20), limit=10)) == ["a", "c"]
    assert engine.store.due(date(2026, 9, 19), limit=10) == []


def test_a_batch_writes_only_what_leaves_the_participants_alone(engine: Engine) -> None:
    t = engine.get("a")
    record = new_record(
        1, engine.clock.now(), "c", "coach", "assigned", input={"role": "board", "person": "p"}
    )
    with pytest.raises(ValueError) as raised:
        engine.store.commit_batch([Change(apply(t, record), 0)])
    assert "only events" in str(raised.value)
    with pytest.raises(ValueError):
        engine.store.commit_batch([ticked(engine, "a"), ticked(engine, "a")])
    assert engine.get("a").version == 0
    assert engine.store.commit_batch([]) == []


def test_a_gone_trajectory_is_reported_not_raised(engine: Engine) -> None:
    change = ticked(engine, "a")
    other = Engine([DEFINITION], clock=FixedClock(), plugins=False)
    gone = other.start("batched", participants={"coach": "c"}, actor="c", trajectory_id="zz")
    record = new_record(1, other.clock.now(), "c", "coach", "event", "tick", "open", "open")
    assert engine.store.commit_batch([change, Change(apply(gone, record), 0)]) == [True, False]
