"""Schema revision 0002 (issue 14): ``cf_history.labels`` and ``cf_access_log``.

A database at revision 0001 holds records written before labels were stored. The upgrade
labels each of them from its own definition version - the version its trajectory started
on, changed by every ``migrated`` record - read from ``cf_definitions``, so that a later
version which lays a field open does not widen access to what was written before it. The
labels it gives are the ones the engine gives a record when it writes it. A record whose
version is not recorded is closed: only its author reads its values.

Runs on SQLite and PostgreSQL (conftest's ``empty_url``: a new file, or a new schema on
the test server; PostgreSQL skipped loudly when no server is configured outside CI).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Engine, create_engine, inspect, null, select
from sqlalchemy import insert as sql_insert

from coachflow import REDACTED, FixedClock, UnknownDefinition, loads_definition
from coachflow import Engine as Coachflow
from coachflow.definition.plain import Rule
from coachflow.store import (
    SCHEMA_REVISION,
    SqlStore,
    StoreError,
    definitions,
    history,
    participants,
    trajectories,
)
from coachflow.store.codec import decode, encode
from coachflow.store.migrations import config, current, upgrade

T0 = "2026-09-01T09:00:00+00:00"

V1 = """\
coachflow: 1
id: notes
version: 1
roles:
  teacher: {required: true}
  coach: {required: true}
  director: {required: true}
started_by: [director]
consents:
  share: {granted_by: teacher}
initial: open
states:
  open: {}
  review: {}
  closed: {final: true}
transitions:
  - event: note
    from: open
    to: open
    by: [coach]
    input:
      text:
        type: str
        required: true
        visible_to: [coach, teacher]
        disclose_to: {director: share}
      private: {type: str, visible_to: [coach]}
      topic: {type: str}
  - event: note
    from: review
    to: review
    by: [coach]
    input:
      text: {type: str, required: true}
  - event: review
    from: open
    to: review
    by: [coach]
  - event: close
    from: [open, review]
    to: closed
    by: [director]
activities:
  visit:
    by: [coach]
    during: [open, review]
    input:
      notes: {type: str, required: true, visible_to: [coach, teacher]}
"""
"""A ``note`` in ``open`` is confidential, one in ``review`` is not: the labels of an event
record are those of the transition that made it."""

V2 = """\
coachflow: 1
id: notes
version: 2
roles:
  teacher: {required: true}
  coach: {required: true}
  director: {required: true}
started_by: [director]
consents:
  share: {granted_by: teacher}
migrates_from:
  version: 1
  states: {open: open, review: open, closed: closed}
initial: open
states:
  open: {}
  closed: {final: true}
transitions:
  - event: note
    from: open
    to: open
    by: [coach]
    input:
      text: {type: str, required: true}
      remark: {type: str, visible_to: [coach, teacher], disclose_to: {director: share}}
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
      remarks: {type: str, visible_to: [coach]}
"""
"""Version 2 lays ``text`` and the visit's ``notes`` open, drops ``private`` and adds the
confidential ``remark`` and ``remarks``."""

GHOST = """\
coachflow: 1
id: ghost
version: 1
roles:
  coach: {required: true}
  teacher: {required: true}
started_by: [coach]
initial: open
states:
  open: {}
  done: {final: true}
transitions:
  - event: note
    from: open
    to: open
    by: [coach]
    input:
      text: {type: str, required: true, visible_to: [coach]}
      topic: {type: str}
  - event: finish
    from: open
    to: done
    by: [coach]
"""
"""A definition whose recorded content is missing from the old database."""

PEOPLE = {"teacher": "tess", "coach": "cas", "director": "dirk"}
TEXT_V1 = (Rule(("coach", "teacher"), (("director", "share"),)),)
PRIVATE_V1 = (Rule(("coach",), ()),)
NOTES_V1 = (Rule(("coach", "teacher"), ()),)
REMARK_V2 = (Rule(("coach", "teacher"), (("director", "share"),)),)
REMARKS_V2 = (Rule(("coach",), ()),)
CLOSED = (Rule((), ()),)


def written(url: str) -> dict[str, list[dict[str, Any]]]:
    """Trajectories written by this coachflow at ``url`` (the newest schema); the labels
    each record was given, by trajectory."""
    store = SqlStore(url)
    try:
        engine = Coachflow(
            [loads_definition(t) for t in (V1, V2, GHOST)], store=store, clock=FixedClock(T0)
        )
        engine.start("notes", participants=PEOPLE, actor="dirk", trajectory_id="moved", version=1)
        engine.fire(
            "moved", "note", actor="cas", input={"text": "T1", "private": "P1", "topic": "x"}
        )
        engine.record_activity("moved", "visit", actor="cas", input={"notes": "N1"})
        engine.fire("moved", "review", actor="cas")
        engine.fire("moved", "note", actor="cas", input={"text": "in review"})
        engine.migrate("moved", 2, actor="admin")
        engine.fire("moved", "note", actor="cas", input={"text": "T2", "remark": "R2"})
        engine.record_activity("moved", "visit", actor="cas", input={"notes": "N2", "remarks": "S"})
        engine.start("notes", participants=PEOPLE, actor="dirk", trajectory_id="fresh")
        engine.fire("fresh", "note", actor="cas", input={"text": "T3", "remark": "R3"})
        engine.start(
            "ghost",
            participants={"coach": "cas", "teacher": "tess"},
            actor="cas",
            trajectory_id="g",
        )
        engine.fire("g", "note", actor="cas", input={"text": "G", "topic": "y"})
        return {
            tid: [dict(r.labels) for r in store.history_of(tid)] for tid in ("moved", "fresh", "g")
        }
    finally:
        store.dispose()


def copy_as_revision_0001(source: str, target: str, *, skip_definition: str) -> None:
    """Every row of ``source`` written into ``target`` at revision 0001, as the release
    before labels wrote them: no labels column, no access log (the definition
    ``skip_definition`` left out)."""
    engine = create_engine(target)
    try:
        upgrade(engine, "0001")
        assert current(engine) == "0001"
        assert "labels" not in {c["name"] for c in inspect(engine).get_columns("cf_history")}
    finally:
        engine.dispose()
    reader, writer = create_engine(source), create_engine(target)
    opener = SqlStore(source)  # the values as that release kept them: not encrypted (0007)
    try:
        with reader.connect() as src, writer.begin() as dst:
            for table in (definitions, trajectories, participants, history):
                # the columns revision 0001 has (labels came in 0002, timers in 0004)
                columns = [c for c in table.c if c.name not in ("labels", "timing", "next_timer")]
                for row in src.execute(select(*columns)).mappings():
                    if table is definitions and row["id"] == skip_definition:
                        continue
                    values = {
                        name: null()
                        if value is None and isinstance(table.c[name].type, JSON)
                        else value
                        for name, value in row.items()
                    }
                    tid = row.get("trajectory_id", row.get("id"))
                    for name in ("input", "changes", "facts"):
                        if table in (history, trajectories) and name in values:
                            opened = opener._sealer.opened(tid, decode(values[name]), [])
                            values[name] = json.loads(encode(opened))
                    dst.execute(sql_insert(table).values(values))
    finally:
        opener.dispose()
        reader.dispose()
        writer.dispose()


@pytest.fixture
def old_database(empty_url: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """A database at revision 0001 with the rows of :func:`written`, and the labels the
    engine gave those records."""
    source = f"sqlite:///{tmp_path / 'written.db'}"
    labels = written(source)
    copy_as_revision_0001(source, empty_url, skip_definition="ghost")
    yield empty_url, labels


def test_a_store_refuses_a_database_at_revision_0001_without_upgrading(
    old_database: tuple[str, Any],
) -> None:
    url, _ = old_database
    with pytest.raises(StoreError) as raised:
        SqlStore(url, upgrade=False)
    message = str(raised.value)
    assert "\n" not in message
    assert message.endswith(
        f"is at schema revision 0001, not {SCHEMA_REVISION}; run: coachflow db upgrade"
    )
    engine = create_engine(url)
    try:
        assert current(engine) == "0001"  # untouched
    finally:
        engine.dispose()


def test_the_upgrade_labels_each_record_from_its_own_version(
    old_database: tuple[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    url, labels = old_database
    with caplog.at_level(logging.WARNING, logger="coachflow.store.migrations"):
        store = SqlStore(url)  # upgrades
    try:
        assert store.revision() == SCHEMA_REVISION  # through 0002 to the newest
        got = {tid: [dict(r.labels) for r in store.history_of(tid)] for tid in labels}
        # the moved trajectory: version 1 up to its migration (seq 5), version 2 after it
        assert got["moved"] == [
            {},  # started
            {"text": TEXT_V1, "private": PRIVATE_V1},  # a note in 'open' (not 'topic')
            {"notes": NOTES_V1},  # a visit of version 1
            {},  # review
            {},  # a note in 'review': its transition has no confidential field
            {},  # migrated
            {"remark": REMARK_V2},  # version 2: 'text' is open now
            {"remarks": REMARKS_V2},  # and so are the visit's notes
        ]
        assert got["fresh"] == [{}, {"remark": REMARK_V2}]  # started on version 2
        assert got["g"] == [{}, {"text": CLOSED, "topic": CLOSED}]  # no version to ask: closed
        # the labels the engine gives a record when it writes it, but where it cannot know
        assert got["moved"] == labels["moved"] and got["fresh"] == labels["fresh"]
        assert labels["g"] == [{}, {"text": PRIVATE_V1}]
        assert "1 history records" in caplog.text
        assert store.check().problems == []
        assert store.access_log("moved") == ()

        # a migrated definition version does not widen access to the old rows
        engine = Coachflow([loads_definition(V1), loads_definition(V2)], store=store)
        seen = {r.seq: dict(r.input) for r in engine.history("moved", viewer="dirk")}
        assert seen[1] == {"text": REDACTED, "private": REDACTED, "topic": "x"}
        assert seen[2] == {"notes": REDACTED}
        assert seen[4] == {"text": "in review"}
        assert seen[6] == {"text": "T2", "remark": REDACTED}
        assert seen[7] == {"notes": "N2", "remarks": REDACTED}
        assert engine.store.access_log("moved") == ()  # he was shown nothing confidential
        engine.history("moved", viewer="tess")
        assert [(e.seq, e.field, e.basis) for e in store.access_log("moved")] == [
            (1, "text", "role:teacher"),
            (2, "notes", "role:teacher"),
            (6, "remark", "role:teacher"),
        ]
        # a version the engine does not serve: it cannot tell which facts derive from a
        # confidential input, so it shows no one anything (the labels are closed anyway)
        with pytest.raises(UnknownDefinition):
            engine.history("g", viewer="tess")
    finally:
        store.dispose()


def test_the_upgrade_creates_the_access_log_and_can_be_undone(
    old_database: tuple[str, Any],
) -> None:
    url, _ = old_database
    SqlStore(url).dispose()
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        assert "cf_access_log" in inspector.get_table_names()
        indexes = {i["name"] for i in inspector.get_indexes("cf_access_log")}
        assert "ix_cf_access_log_trajectory" in indexes
        before = _history_rows(engine)
        downgrade(engine, "0001")
        assert current(engine) == "0001"
        inspector = inspect(engine)
        assert "cf_access_log" not in inspector.get_table_names()
        assert "labels" not in {c["name"] for c in inspector.get_columns("cf_history")}
        upgrade(engine)
        assert current(engine) == SCHEMA_REVISION
        assert _history_rows(engine) == before  # labeled again, the same
    finally:
        engine.dispose()


def _history_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(history).order_by(history.c.trajectory_id, history.c.seq)))


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    cfg: Any = config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)
