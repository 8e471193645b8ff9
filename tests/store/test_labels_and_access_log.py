"""Labels and the access log in the stores (issue 14).

A record's labels (fixed when it was written) are kept with it: the in-memory store keeps
records as they are, the SQL store in ``cf_history.labels`` (NULL for a record without
any), read back so that ``record.labels`` and ``record.input`` are what was written. The
access log is append-only: a list per trajectory in memory, the table ``cf_access_log`` in
SQL, in the order it was appended, kept when the database is opened again.

Every store test runs on the in-memory store, SQLite and PostgreSQL (conftest's ``store``
fixture; PostgreSQL skipped loudly when no server is configured outside CI).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from sqlalchemy import select

from coachflow import AccessEntry, Engine, FixedClock, UnknownTrajectory, loads_definition
from coachflow.definition.plain import Rule
from coachflow.runtime.trajectory import LabeledInput
from coachflow.store import SqlStore
from coachflow.store import history as history_table
from coachflow.store.codec import decode_labels, encode_labels

STORE_KINDS = ["memory", "sqlite", "postgresql"]
"""The stores the ``store`` fixture (tests/conftest.py) makes, one test run each."""

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)

DEFINITION = """\
coachflow: 1
id: labels
version: 1
roles:
  teacher: {required: true}
  coach: {required: true}
  director: {required: true}
started_by: [director]
consents:
  share: {granted_by: teacher}
  video: {granted_by: teacher}
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
      text:
        type: str
        required: true
        visible_to: [coach, teacher]
        disclose_to: {director: share}
      topic: {type: str}
  - event: plain
    from: open
    to: open
    by: [coach]
    input:
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
      notes: {type: str, required: true, disclose_to: {director: video, coach: share}}
      day_part: {type: str}
"""

PEOPLE = {"teacher": "tess", "coach": "cas", "director": "dirk"}


def filled(store: Any) -> Engine:
    engine = Engine([loads_definition(DEFINITION)], store=store, clock=FixedClock(T0))
    engine.start("labels", participants=PEOPLE, actor="dirk", trajectory_id="t")
    engine.fire("t", "note", actor="cas", input={"text": "confidential", "topic": "x"})
    engine.fire("t", "plain", actor="cas", input={"topic": "open"})
    engine.record_activity("t", "visit", actor="cas", input={"notes": "n", "day_part": "am"})
    engine.record_activity("t", "visit", actor="cas", input={"day_part": "pm", "notes": "m"})
    engine.grant_consent("t", "share", actor="tess")
    return engine


def reopened(store: Any) -> Any:
    """Another store object on the same database (the same one in memory)."""
    if isinstance(store, SqlStore):
        return SqlStore(store.url, upgrade=False)
    return store


# --- labels -------------------------------------------------------------------------------------


def test_labels_round_trip(store: Any) -> None:
    written = filled(store).get("t").history
    other = reopened(store)
    try:
        read = other.load("t").history
        assert read == written
        for before, after in zip(written, read, strict=True):
            assert dict(after.labels) == dict(before.labels), before.seq
            assert dict(after.input) == dict(before.input)
            assert isinstance(after.input, LabeledInput) == bool(before.labels)
        by_seq = {r.seq: r for r in read}
        text = (Rule(("coach", "teacher"), (("director", "share"),)),)
        assert dict(by_seq[1].labels) == {"text": text}  # not 'topic': it has no label
        assert by_seq[2].labels == {}  # a record without confidential input
        notes = (Rule(None, (("coach", "share"), ("director", "video"))),)
        assert dict(by_seq[3].labels) == {"notes": notes}
        assert dict(by_seq[4].labels) == {"notes": notes}
        if isinstance(other, SqlStore):  # every way the SQL store reads a history
            labels = [dict(r.labels) for r in read]
            [found] = other.with_participant("tess")
            assert [dict(r.labels) for r in found.history] == labels
            assert [dict(r.labels) for r in other.history_of("t")] == labels
            assert [dict(r.labels) for r in other.find(participant="cas")[0].history] == labels
            assert other.check().problems == []
    finally:
        if other is not store:
            other.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_store(request: pytest.FixtureRequest, make_store: Callable[[str], Any]) -> SqlStore:
    made: SqlStore = make_store(request.param)
    return made


def test_a_record_without_labels_stores_null(sql_store: SqlStore) -> None:
    store = sql_store
    filled(store)
    with store._reader.connect() as conn:
        rows = conn.execute(
            select(history_table.c.seq, history_table.c.kind, history_table.c.labels)
            .where(history_table.c.trajectory_id == "t")
            .order_by(history_table.c.seq)
        ).all()
        nulls = conn.exec_driver_sql(
            "SELECT seq FROM cf_history WHERE labels IS NULL ORDER BY seq"
        ).all()
    assert [seq for (seq,) in nulls] == [0, 2, 5]  # started, plain, consent_granted
    assert {r.seq for r in rows if r.labels is not None} == {1, 3, 4}
    assert rows[1].labels == {
        "text": [{"visible_to": ["coach", "teacher"], "disclose_to": {"director": "share"}}]
    }


def test_a_label_of_several_rules_and_an_empty_one_round_trip() -> None:
    labels = {
        "a": (Rule(("coach",), ()), Rule(None, (("director", "share"),))),
        "b": (Rule((), ()),),
    }
    text = encode_labels(labels)
    back = decode_labels(text)
    assert dict(back) == labels
    assert decode_labels(text) is back  # decoded once per text
    assert dict(decode_labels(__import__("json").loads(text))) == labels  # as a driver gives it
    with pytest.raises(TypeError):
        back["c"] = ()  # type: ignore[index]


def test_a_labeled_input_pickles_and_compares_as_its_values() -> None:
    import pickle

    given = LabeledInput({"x": "v"}, MappingProxyType({"x": (Rule(("coach",), ()),)}))
    assert given == {"x": "v"}
    again = pickle.loads(pickle.dumps(given))
    assert again == given and dict(again.labels) == dict(given.labels)


# --- the access log -----------------------------------------------------------------------------


def entry(viewer: str, minutes: int, seq: int, field: str, basis: str, tid: str = "t") -> Any:
    return AccessEntry(viewer, T0 + timedelta(minutes=minutes), tid, seq, field, basis)


def test_the_access_log_is_appended_in_order_per_trajectory(store: Any) -> None:
    engine = filled(store)
    engine.start("labels", participants=PEOPLE, actor="dirk", trajectory_id="u")
    assert store.access_log("t") == () and store.access_log("nobody") == ()
    first = [
        entry("tess", 1, 1, "text", "role:teacher"),
        entry("dirk", 1, 1, "text", "consent:share"),
    ]
    store.log_reads(first)
    store.log_reads([entry("cas", 0, 3, "notes", "author", "u")])
    later = [entry("dirk", 2, 4, "notes", "consent:video")]
    store.log_reads(later)
    store.log_reads([])
    assert store.access_log("t") == (*first, *later)  # as appended, not by time
    assert store.access_log("u") == (entry("cas", 0, 3, "notes", "author", "u"),)
    [e] = store.access_log("u")
    assert e.at == T0 and e.at.tzinfo is not None  # a moment, exactly


def test_an_entry_of_an_unknown_trajectory_writes_nothing(store: Any) -> None:
    filled(store)
    with pytest.raises(UnknownTrajectory, match=r"no trajectory 'nope'$"):
        store.log_reads(
            [entry("tess", 0, 1, "text", "role:teacher"), entry("x", 0, 1, "f", "b", "nope")]
        )
    assert store.access_log("t") == ()
    assert store.access_log("nope") == ()


def test_the_access_log_survives_reopening_the_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    store = SqlStore(url)
    try:
        engine = filled(store)
        engine.history("t", viewer="tess")
        engine.history("t", viewer="dirk")
        kept = store.access_log("t")
    finally:
        store.dispose()
    assert [(e.viewer, e.seq, e.field) for e in kept] == [
        ("tess", 1, "text"),
        ("tess", 3, "notes"),
        ("tess", 4, "notes"),
        ("dirk", 1, "text"),
    ]
    again = SqlStore(url, upgrade=False)
    try:
        assert again.access_log("t") == kept
        Engine([loads_definition(DEFINITION)], store=again, clock=FixedClock(T0)).history(
            "t", viewer="cas"
        )
        assert again.access_log("t")[: len(kept)] == kept  # appended after, nothing changed
        assert len(again.access_log("t")) == len(kept) + 3
        assert again.check().problems == []
    finally:
        again.dispose()
