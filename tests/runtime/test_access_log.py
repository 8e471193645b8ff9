"""The access log (issue 14): every confidential value shown through ``get(viewer=)`` and
``history(viewer=)`` is logged with who, when, which value and why; ``access_log(viewer=)``
gives a person the entries about values they may read themselves.

Every test runs on the in-memory store, SQLite and PostgreSQL (conftest's ``store``
fixture; PostgreSQL skipped loudly when no server is configured outside CI).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from coachflow import (
    REDACTED,
    AccessEntry,
    Engine,
    FixedClock,
    NotPermitted,
    UnknownTrajectory,
    loads_definition,
)
from coachflow.errors import InvalidId
from coachflow.store import SqlStore

STORE_KINDS = ["memory", "sqlite", "postgresql"]
"""The stores the ``store`` fixture (tests/conftest.py) makes, one test run each."""

T0 = "2026-09-01T09:00:00+00:00"

V1 = """\
coachflow: 1
id: notes
version: 1
roles:
  teacher: {required: true}
  coach: {required: true}
  director: {required: true}
  assistant: {assigned_by: [coach]}
started_by: [director]
consents:
  share: {granted_by: teacher}
initial: open
states:
  open: {}
  closed: {final: true}
transitions:
  - event: note
    from: open
    to: open
    by: [coach, teacher, assistant]
    input:
      text:
        type: str
        required: true
        visible_to: [coach, teacher]
        disclose_to: {director: share}
      private: {type: str, visible_to: [coach]}
      topic: {type: str}
  - event: close
    from: open
    to: closed
    by: [director]
activities:
  visit:
    by: [coach]
    during: [open]
    input:
      notes: {type: str, required: true, visible_to: [coach, teacher]}
"""

V2 = """\
coachflow: 1
id: notes
version: 2
roles:
  teacher: {required: true}
  coach: {required: true}
  director: {required: true}
  assistant: {assigned_by: [coach]}
started_by: [director]
consents:
  share: {granted_by: teacher}
migrates_from:
  version: 1
  states: {open: open, closed: closed}
initial: open
states:
  open: {}
  closed: {final: true}
transitions:
  - event: note
    from: open
    to: open
    by: [coach, teacher, assistant]
    input:
      text: {type: str, required: true}
      remark: {type: str, visible_to: [coach, teacher], disclose_to: {director: share}}
      topic: {type: str}
  - event: close
    from: open
    to: closed
    by: [director]
activities:
  visit:
    by: [coach]
    during: [open]
    input:
      notes: {type: str, required: true}
"""
"""Version 2 lays the confidential fields of version 1 open: ``text`` and the visit's
``notes`` are readable by every participant; ``private`` is gone, ``remark`` is new."""

PEOPLE = {"teacher": "tess", "coach": "cas", "director": "dirk"}


def engine_on(store: Any, clock: FixedClock | None = None) -> Engine:
    definitions = [loads_definition(V1), loads_definition(V2)]
    return Engine(definitions, store=store, clock=clock or FixedClock(T0))


def noted(engine: Engine, tid: str = "t", **people: str) -> None:
    """A version-1 trajectory with one note by the coach and one visit."""
    engine.start(
        "notes", participants={**PEOPLE, **people}, actor="dirk", trajectory_id=tid, version=1
    )
    engine.fire(tid, "note", actor="cas", input={"text": "T1", "private": "P1", "topic": "x"})
    engine.record_activity(tid, "visit", actor="cas", input={"notes": "N1"})


def entries(engine: Engine, tid: str = "t") -> list[tuple[str, int, str, str]]:
    """(viewer, seq, field, basis) of every stored entry, in order."""
    return [(e.viewer, e.seq, e.field, e.basis) for e in engine.store.access_log(tid)]


# --- what is logged --------------------------------------------------------------------------


def test_every_confidential_value_shown_is_logged_with_its_basis(store: Any) -> None:
    clock = FixedClock(T0)
    engine = engine_on(store, clock)
    noted(engine)
    assert engine.store.access_log("t") == ()

    clock.advance(hours=1)
    shown = engine.get("t", viewer="tess")
    assert shown.history[1].input["text"] == "T1" and shown.history[1].input["private"] is REDACTED
    [text, notes] = engine.store.access_log("t")
    assert text == AccessEntry("tess", clock.now(), "t", 1, "text", "role:teacher")
    assert notes == AccessEntry("tess", clock.now(), "t", 2, "notes", "role:teacher")
    assert isinstance(text.at, datetime) and text.at.tzinfo is not None

    clock.advance(hours=1)
    engine.history("t", viewer="cas")  # the author of both records
    assert entries(engine)[2:] == [
        ("cas", 1, "text", "author"),
        ("cas", 1, "private", "author"),
        ("cas", 2, "notes", "author"),
    ]
    assert {e.at for e in engine.store.access_log("t")[2:]} == {clock.now()}  # once per call

    engine.history("t", viewer="dirk")  # reads nothing confidential: nothing logged
    assert len(entries(engine)) == 5
    engine.grant_consent("t", "share", actor="tess")
    engine.history("t", viewer="dirk")
    assert entries(engine)[5:] == [("dirk", 1, "text", "consent:share")]


def test_reads_without_a_viewer_are_not_logged(store: Any) -> None:
    engine = engine_on(store)
    noted(engine)
    engine.get("t")
    engine.history("t")
    list(engine.trajectories())
    engine.replay("t")
    engine.allowed_events("t", actor="tess")
    engine.explain("t", "note", actor="cas")
    engine.agenda("t")
    engine.agenda_for("cas")
    assert engine.store.access_log("t") == ()


def test_a_refused_read_logs_nothing(store: Any) -> None:
    engine = engine_on(store)
    noted(engine)
    with pytest.raises(InvalidId):
        engine.get("t", viewer="bad\x1bid")
    with pytest.raises(UnknownTrajectory):
        engine.history("nope", viewer="tess")
    engine.history("t", viewer="eve")  # takes no part: shown nothing, so nothing logged
    assert engine.store.access_log("t") == ()


def test_a_migration_does_not_widen_access_and_the_log_keeps_the_old_labels(store: Any) -> None:
    engine = engine_on(store)
    noted(engine)
    engine.migrate("t", 2, actor="admin")
    engine.fire("t", "note", actor="cas", input={"text": "T2", "remark": "R2"})
    seen = {r.seq: dict(r.input) for r in engine.history("t", viewer="dirk")}
    # written under version 1: still confidential, although version 2 lays the fields open
    assert seen[1] == {"text": REDACTED, "private": REDACTED, "topic": "x"}
    assert seen[2] == {"notes": REDACTED}
    # written under version 2: 'text' is open (not confidential, so not logged), 'remark' not
    assert seen[4] == {"text": "T2", "remark": REDACTED}
    assert engine.store.access_log("t") == ()
    engine.history("t", viewer="tess")
    assert entries(engine) == [
        ("tess", 1, "text", "role:teacher"),
        ("tess", 2, "notes", "role:teacher"),
        ("tess", 4, "remark", "role:teacher"),
    ]


# --- reading the log -------------------------------------------------------------------------


def test_the_teacher_sees_who_read_her_reports(store: Any) -> None:
    clock = FixedClock(T0)
    engine = engine_on(store, clock)
    noted(engine)
    engine.fire("t", "note", actor="tess", input={"text": "mine"})
    engine.grant_consent("t", "share", actor="tess")
    clock.advance(days=1)
    engine.history("t", viewer="dirk")
    engine.history("t", viewer="cas")

    log = engine.access_log("t", viewer="tess")
    assert [(e.viewer, e.seq, e.field, e.basis) for e in log] == [
        ("dirk", 1, "text", "consent:share"),
        ("dirk", 3, "text", "consent:share"),
        ("cas", 1, "text", "author"),
        # not ("cas", 1, "private"): a coach-only value, which she may not read herself
        ("cas", 2, "notes", "author"),
        ("cas", 3, "text", "role:coach"),
    ]
    assert all(e.at == clock.now() for e in log)
    assert len(engine.store.access_log("t")) == 6
    assert engine.access_log("t", viewer="cas") == engine.store.access_log("t")  # reads all
    before = engine.store.access_log("t")
    engine.access_log("t", viewer="tess")
    assert engine.store.access_log("t") == before  # reading the log is not logged


def test_a_directors_log_shows_only_entries_of_values_he_may_read(store: Any) -> None:
    engine = engine_on(store)
    noted(engine)
    engine.history("t", viewer="tess")
    engine.history("t", viewer="cas")
    assert engine.access_log("t", viewer="dirk") == ()  # he may read none of those values

    engine.grant_consent("t", "share", actor="tess")
    shown = engine.access_log("t", viewer="dirk")
    assert {(e.seq, e.field) for e in shown} == {(1, "text")}  # 'text' only, with consent
    assert [e.viewer for e in shown] == ["tess", "cas"]
    assert all(e.field != "private" and e.field != "notes" for e in shown)

    engine.withdraw_consent("t", "share", actor="tess")
    assert engine.access_log("t", viewer="dirk") == ()


def test_someone_without_a_part_is_refused_and_learns_nothing(store: Any) -> None:
    engine = engine_on(store)
    noted(engine)
    engine.history("t", viewer="tess")
    with pytest.raises(NotPermitted) as refused:
        engine.access_log("t", viewer="eve")
    message = str(refused.value)
    assert "'eve'" in message and "access log" in message
    assert "T1" not in message and "P1" not in message and "N1" not in message
    assert refused.value.reasons[0].code == "not-permitted"
    with pytest.raises(UnknownTrajectory):
        engine.access_log("nope", viewer="tess")
    with pytest.raises(InvalidId):
        engine.access_log("t", viewer="bad\x1bid")


def test_a_former_participant_sees_the_reads_of_what_they_wrote(store: Any) -> None:
    engine = engine_on(store)
    noted(engine, assistant="ann")
    engine.fire("t", "note", actor="ann", input={"text": "by ann"})
    engine.history("t", viewer="cas")
    engine.store.log_reads([])  # nothing to append: nothing written
    mine = [("cas", 3, "text", "role:coach")]
    # a participant who may read none of the other values: only the reads of her own
    assert [
        (e.viewer, e.seq, e.field, e.basis) for e in engine.access_log("t", viewer="ann")
    ] == mine
    engine.unassign("t", "assistant", "ann", actor="cas")
    # no role any more, but the author of record 3
    assert [
        (e.viewer, e.seq, e.field, e.basis) for e in engine.access_log("t", viewer="ann")
    ] == mine


def test_the_log_is_kept_in_the_store(store: Any, tmp_path: Path) -> None:
    clock = FixedClock(T0)
    engine = engine_on(store, clock)
    noted(engine)
    engine.history("t", viewer="tess")
    if isinstance(store, SqlStore):
        other = SqlStore(store.url, upgrade=False)  # another process, as it were
        try:
            again = engine_on(other, clock)
            assert again.access_log("t", viewer="tess") == engine.access_log("t", viewer="tess")
            again.history("t", viewer="cas")
        finally:
            other.dispose()
        assert [e.viewer for e in engine.store.access_log("t")] == ["tess"] * 2 + ["cas"] * 3
