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
