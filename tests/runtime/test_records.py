"""History records hold read-only dicts (one object per mapping, speed issue): they
refuse changes, read as plain dicts to json, their changes pickle, and they replay to
the same trajectory."""

from __future__ import annotations

import json
import pickle

import pytest

import coachflow
from coachflow import Engine

CLOCK_AT = "2026-09-01T09:00:00+00:00"
DEFINITIONS = [
    coachflow.loads_definition(
        """
coachflow: 1
id: records
version: 1
roles: {coach: {}}
facts: {n: {type: int, default: 0}}
initial: open
states: {open: {}, done: {final: true}}
transitions:
  - {event: bump, from: open, to: open, by: [coach], set: {n: n + 1}}
  - {event: close, from: open, to: done, by: [coach]}
"""
    )
]


def test_records_and_snapshots_refuse_changes(engine: Engine) -> None:
    t = engine.start("records", participants={"coach": "c"}, actor="c")
    t = engine.fire(t.id, "bump", actor="c")
    started, bumped = t.history
    for mapping in (bumped.changes, started.input, started.input["participants"], t.facts):
        with pytest.raises(TypeError):
            mapping["n"] = 5  # type: ignore[index]
        with pytest.raises((TypeError, AttributeError)):
            mapping.update({"n": 5})  # type: ignore[attr-defined]
    assert dict(bumped.changes) == {"n": 1} and t.facts["n"] == 1


def test_records_read_as_json_pickle_and_replay(engine: Engine) -> None:
    t = engine.start("records", participants={"coach": "c"}, actor="c")
    for _ in range(3):
        t = engine.fire(t.id, "bump", actor="c")
    assert json.loads(json.dumps(t.history[-1].changes)) == {"n": 3}
    assert pickle.loads(pickle.dumps(t.history[-1].changes)) == {"n": 3}
    assert engine.replay(t.id) == engine.get(t.id) == t


@pytest.mark.parametrize(
    "options",
    [{}, {"start_date": "2026-08-31", "facts": {"n": 3}}, {"trajectory_id": "named-one"}],
)
def test_a_new_trajectory_is_the_snapshot_its_started_record_replays_to(
    engine: Engine, options: dict[str, object]
) -> None:
    """The engine makes a new trajectory's snapshot from the record it has just decided,
    without converting it (``begin_decided``); it is the snapshot ``begin`` makes from
    the same record, and the one a replay of the stored history makes."""
    from coachflow.runtime.trajectory import begin, replay

    calendar = coachflow.builtin_calendar()
    t = engine.start(
        "records", participants={"coach": "c"}, actor="c", calendar=calendar, **options
    )
    (record,) = t.history
    for other in (begin(t.id, record), begin(t.id, record, calendar), replay(t.id, [record])):
        assert other == t
        assert other.as_dict() == t.as_dict()
        assert other.calendar == t.calendar == calendar
        assert other.roles_of("c") == t.roles_of("c") == ("coach",)
        assert type(other.facts["n"]) is type(t.facts["n"]) is int
    assert engine.fire(t.id, "bump", actor="c").facts["n"] == t.facts["n"] + 1
