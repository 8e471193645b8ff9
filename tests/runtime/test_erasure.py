"""Erasure without rewriting history (issue 17, the AVG's art. 17): the values of
confidential and personal fields are stored encrypted with a key per (trajectory, class);
``Engine.erase`` deletes the keys, so they read as ``ERASED`` for everyone while the
history stays complete and replayable, and an ``erased`` record is the proof;
``erase_person`` does it for every trajectory about a person, ``purge`` by the declared
retention. On every store; the bytes of the SQLite files and the rows of PostgreSQL are
searched for the plaintext."""

from __future__ import annotations

import glob
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from coachflow import (
    ERASED,
    REDACTED,
    Engine,
    ErasureError,
    FixedClock,
    MemoryStore,
    loads_definition,
    replay,
)
from coachflow.store import SqlStore

STORE_KINDS = ["memory", "sqlite", "postgresql"]

QUESTION = "HULPVRAAG-7f3a: hoe krijg ik groep 5 stil"
NOTES = "NOTITIE-91c2: Sam twijfelt aan zijn keuze"
ROOM = "LOKAAL-12"

DEFINITION = loads_definition("""\
coachflow: 1
id: private
version: 1
roles:
  starter: {required: true, subject: true}
  coach: {required: true}
facts:
  help_question: {type: str, personal: true}
  sessions: {type: int, default: 0}
initial: open
states:
  open: {}
  closed: {final: true}
transitions:
  - event: ask
    from: open
    to: open
    by: [starter]
    input:
      question: {type: str, required: true, personal: true}
    set: {help_question: input.question, sessions: sessions + 1}
  - event: close
    from: open
    to: closed
    by: [coach]
    input:
      notes: {type: str, visible_to: [coach, starter]}
      room: {type: str}
retention:
  confidential: {after_end: P1Y}
  personal: {after_start: P2Y}
  default: keep
""")
PEOPLE = {"starter": "sam", "coach": "cas"}
T0 = "2026-09-01T09:00:00+00:00"


def started(store: Any, tid: str = "p1", people: dict[str, str] = PEOPLE) -> Engine:
    engine = Engine([DEFINITION], store=store, clock=FixedClock(T0), plugins=False)
    engine.start("private", participants=people, actor=people["coach"], trajectory_id=tid)
    engine.fire(tid, "ask", actor=people["starter"], input={"question": QUESTION})
    return engine


def closed(store: Any, tid: str = "p1", people: dict[str, str] = PEOPLE) -> Engine:
    engine = started(store, tid, people)
    engine.fire(tid, "close", actor=people["coach"], input={"notes": NOTES, "room": ROOM})
    return engine


def values(t: Any) -> list[object]:
    """Every value of a trajectory: its facts and each record's input and changes."""
    found: list[object] = list(t.facts.values())
    for r in t.history:
        found += list(r.input.values()) + list(r.changes.values())
    return found


def test_an_erasure_leaves_the_history_whole_and_its_values_erased(store: Any) -> None:
    engine = closed(store)
    before = engine.get("p1")
    assert before.facts["help_question"] == QUESTION
    t = engine.erase("p1", reason="verzoek van Sam (AVG art. 17)", actor="fg")
    assert t.version == before.version + 1 and len(t.history) == len(before.history) + 1
    assert t.facts == {"help_question": ERASED, "sessions": 1}  # derived, not personal: kept
    ask, close = t.history[1], t.history[2]
    assert dict(ask.input) == {"question": ERASED}
    assert dict(ask.changes) == {"help_question": ERASED, "sessions": 1}
    assert dict(close.input) == {"notes": ERASED, "room": ROOM}
    assert close.labels == before.history[2].labels  # who could read it stays recorded
    proof = t.history[-1]
    assert (proof.kind, proof.actor, proof.source, proof.target) == (
        "erased",
        "fg",
        *2 * ("closed",),
    )
    assert dict(proof.input) == {
        "classes": ("confidential", "personal"),
        "fields": ("fact.help_question", "input.ask.question", "input.close.notes"),
        "values": 3,
        "reason": "verzoek van Sam (AVG art. 17)",
    }
    for seen in (engine.get("p1"), engine.get("p1", viewer="sam"), engine.get("p1", viewer="cas")):
        assert QUESTION not in values(seen) and NOTES not in values(seen)
    assert engine.get("p1", viewer="sam").history[2].input["notes"] is ERASED
    assert engine.replay("p1") == engine.get("p1") == replay("p1", engine.get("p1").history)
    # idempotent: nothing more to erase, nothing appended
    again = engine.erase("p1", reason="nog eens", actor="fg")
    assert again.version == t.version
    assert engine.erase("p1", classes=["personal"], reason="x", actor="fg").version == t.version
    export = engine.export_person("sam")
    [part] = export["trajectories"]  # type: ignore[misc]
    ask_record = next(r for r in part["records"] if r["event"] == "ask")
    assert ask_record["input"] == {"question": {"erased": True}}
    assert QUESTION not in repr(export)


def test_one_class_at_a_time(store: Any) -> None:
    engine = closed(store)
    t = engine.erase("p1", classes=["confidential"], reason="bewaartermijn", actor="fg")
    assert t.history[2].input["notes"] is ERASED and t.history[1].input["question"] == QUESTION
    assert t.facts["help_question"] == QUESTION
    assert t.history[-1].input["fields"] == ("input.close.notes",)
    t = engine.erase("p1", classes=["personal", "confidential"], reason="later", actor="fg")
    assert t.history[-1].input["classes"] == ("personal",)  # the one not erased yet
    assert t.facts["help_question"] is ERASED
    assert [r.kind for r in t.history].count("erased") == 2


def test_a_running_trajectory_is_erased_only_with_force(store: Any) -> None:
    engine = started(store)
    with pytest.raises(ErasureError) as refused:
        engine.erase("p1", reason="verzoek", actor="fg")
    assert refused.value.code == "still-running" and refused.value.trajectory_id == "p1"
    assert engine.get("p1").version == 1  # nothing erased, nothing appended
    assert engine.get("p1").facts["help_question"] == QUESTION
    for bad, code in (
        ({"classes": ["secret"]}, "unknown-class"),
        ({"classes": []}, "unknown-class"),
    ):
        with pytest.raises(ErasureError) as refused:
            engine.erase("p1", reason="x", actor="fg", force=True, **bad)
        assert refused.value.code == code
    with pytest.raises(ErasureError) as refused:
        engine.erase("p1", reason="  ", actor="fg", force=True)
    assert refused.value.code == "no-reason"
    engine.erase("p1", classes=["personal"], reason="verzoek", actor="fg", force=True)
    # an erased class stays erased: a value of it written later is kept as erased
    engine.fire("p1", "ask", actor="sam", input={"question": "NIEUWE-VRAAG"})
    t = engine.get("p1")
    assert t.history[-1].input["question"] is ERASED and t.facts["help_question"] is ERASED
    assert t.facts["sessions"] == 2
    engine.fire("p1", "close", actor="cas", input={"notes": NOTES, "room": ROOM})
    assert engine.get("p1").history[-1].input["notes"] == NOTES  # not erased: kept


def test_erase_person_erases_what_is_about_them_only(store: Any) -> None:
    engine = closed(store)
    closed(store, "p2", {"starter": "stan", "coach": "sam"})  # sam coaches stan
    assert engine.erase_person("sam", reason="verzoek", actor="fg") == ["p1"]
    assert engine.get("p1").facts["help_question"] is ERASED
    assert engine.get("p2").facts["help_question"] == QUESTION  # about stan: kept
    started(store, "p3")
    with pytest.raises(ErasureError) as refused:
        engine.erase_person("sam", reason="verzoek", actor="fg")
    assert refused.value.code == "still-running" and refused.value.trajectory_id == "p3"
    assert engine.get("p3").facts["help_question"] == QUESTION  # none of them was erased
    assert engine.erase_person("sam", reason="verzoek", actor="fg", force=True) == ["p1", "p3"]
    assert engine.get("p3").facts["help_question"] is ERASED
    assert [r.kind for r in engine.get("p1").history].count("erased") == 1  # once


def test_purge_applies_the_declared_retention(store: Any) -> None:
    engine = closed(store)  # ended 2026-09-01: confidential 1 year after, personal 2 after start
    started(store, "p2")  # running: never purged
    assert engine.purge(as_of="2027-08-31") == []
    [due] = engine.purge(as_of="2027-09-01", dry_run=True)
    assert (due.trajectory_id, due.classes, str(due.due), due.values) == (
        "p1",
        ("confidential",),
        "2027-09-01",
        1,
    )
    assert engine.get("p1").history[2].input["notes"] == NOTES  # a dry run erases nothing
    assert engine.purge(as_of="2027-09-01") == [due]
    t = engine.get("p1")
    assert t.history[2].input["notes"] is ERASED and t.facts["help_question"] == QUESTION
    proof = t.history[-1]
    assert proof.actor == "system"
    assert proof.input["reason"] == "retention confidential: after_end P1Y"
    assert engine.purge(as_of="2027-09-01") == []  # done
    [later] = engine.purge(as_of="2028-09-01")
    assert later.classes == ("personal",) and later.values == 2  # the question, the fact
    assert engine.get("p1").facts["help_question"] is ERASED
    assert engine.get("p2").facts["help_question"] == QUESTION
    assert engine.purge(as_of="2040-01-01") == []


def test_purges_at_once_erase_each_class_once(store: Any) -> None:
    if isinstance(store, MemoryStore):
        pytest.skip("one process: the memory store is not shared")
    for n in range(6):
        closed(store, f"p{n}")
    engines = [
        Engine([DEFINITION], store=SqlStore(store.url), clock=FixedClock(T0), plugins=False)
        for _ in range(3)
    ]
    found: list[Any] = []
    errors: list[BaseException] = []

    def purge(engine: Engine) -> None:
        try:
            found.extend(engine.purge(as_of="2030-01-01"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=purge, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for n in range(6):
        t = engines[0].get(f"p{n}")
        erased = [r for r in t.history if r.kind == "erased"]
        assert sorted(c for r in erased for c in r.input["classes"]) == ["confidential", "personal"]
        assert t.facts["help_question"] is ERASED
    for engine in engines:
        engine.store.dispose()  # type: ignore[attr-defined]


# --- what the database holds ---------------------------------------------------------------


def files_of(path: Path) -> list[Path]:
    return [Path(p) for p in glob.glob(f"{path}*")]  # the file, its -wal, -shm, -journal


def holding(path: Path, needle: bytes) -> list[str]:
    return [p.name for p in files_of(path) if needle in p.read_bytes()]


def test_the_sqlite_files_never_hold_the_plaintext_nor_an_erased_key(tmp_path: Path) -> None:
    path = tmp_path / "school.db"
    store = SqlStore(f"sqlite:///{path}")
    try:
        engine = closed(store)
        for needle in (QUESTION, NOTES):
            assert holding(path, needle.encode()) == []  # encrypted from the start
        assert holding(path, ROOM.encode())  # not confidential, not personal: plain
        with sqlite3.connect(path) as raw:
            keys = [bytes(k) for (k,) in raw.execute("SELECT key FROM cf_keys")]
        assert len(keys) == 2 and all(len(k) == 32 for k in keys)
        assert all(holding(path, k) for k in keys)
        engine.erase("p1", reason="verzoek", actor="fg")
        for key in keys:
            assert holding(path, key) == [], "an erased key is still in the files"
        for needle in (QUESTION, NOTES):
            assert holding(path, needle.encode()) == []
        assert engine.replay("p1") == engine.get("p1")
    finally:
        store.dispose()
    for key in keys:  # once closed, too
        assert holding(path, key) == []


def test_postgresql_rows_hold_only_ciphertext(make_store: Any) -> None:
    store = make_store("postgresql")
    engine = closed(store)
    with store._writer.connect() as conn:
        rows = [
            str(r)
            for sql in (
                "SELECT input::text, changes::text FROM cf_history",
                "SELECT facts::text FROM cf_trajectories",
            )
            for r in conn.exec_driver_sql(sql)
        ]
    text = "\n".join(rows)
    assert QUESTION not in text and NOTES not in text and ROOM in text
    assert '"$sealed": "personal:' in text and '"$sealed": "confidential:' in text
    engine.erase("p1", reason="verzoek", actor="fg")
    with store._writer.connect() as conn:
        left = list(conn.exec_driver_sql("SELECT class, key FROM cf_keys"))
    assert sorted((c, k) for c, k in left) == [("confidential", None), ("personal", None)]


def test_a_key_database_of_its_own_keeps_the_history_unreadable_alone(tmp_path: Path) -> None:
    """``keys_url``: the keys live in another database, so the trajectories' database (a
    backup of it) holds no readable value of either class."""
    main, keys = tmp_path / "school.db", tmp_path / "keys.db"
    store = SqlStore(f"sqlite:///{main}", keys_url=f"sqlite:///{keys}")
    try:
        closed(store)
    finally:
        store.dispose()
    with sqlite3.connect(main) as raw:
        assert list(raw.execute("SELECT count(*) FROM cf_keys")) == [(0,)]
    with sqlite3.connect(keys) as raw:
        assert list(raw.execute("SELECT count(*) FROM cf_keys")) == [(2,)]
    backup = tmp_path / "backup.db"
    backup.write_bytes(main.read_bytes())
    assert holding(backup, QUESTION.encode()) == holding(backup, NOTES.encode()) == []
    alone = SqlStore(f"sqlite:///{backup}", keys_url=f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        from coachflow import StoreError

        with pytest.raises(StoreError, match="no key for its personal values"):
            Engine([DEFINITION], store=alone, plugins=False).get("p1")  # nothing to read
    finally:
        alone.dispose()
    again = SqlStore(f"sqlite:///{main}", keys_url=f"sqlite:///{keys}")
    try:
        assert (
            Engine([DEFINITION], store=again, plugins=False).get("p1").facts["help_question"]
            == QUESTION
        )
    finally:
        again.dispose()


def test_a_bad_key_database_is_one_line(tmp_path: Path) -> None:
    from coachflow import StoreError

    with pytest.raises(StoreError) as refused:
        SqlStore(f"sqlite:///{tmp_path / 'a.db'}", keys_url="nosuchdriver://x")
    assert "key database" in str(refused.value) and "\n" not in str(refused.value)


def test_the_viewer_of_an_erased_value_is_not_logged_as_reading_it(store: Any) -> None:
    engine = closed(store)
    engine.erase("p1", classes=["confidential"], reason="verzoek", actor="fg")
    engine.history("p1", viewer="sam")
    assert [e for e in engine.store.access_log("p1") if e.field == "notes"] == []
    assert engine.get("p1", viewer="stranger").history[2].input["notes"] is REDACTED


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_another_store_reads_an_erasure_at_its_next_read(make_store: Any, kind: str) -> None:
    """Keys are read at every load (with the trajectory's row): a second process (its own
    store, which read the values before) is shown ERASED as soon as the first one erased
    them, in the facts and in the history."""
    first = make_store(kind)
    second = SqlStore(first.url)
    try:
        engine = closed(first)
        other = Engine([DEFINITION], store=second, clock=FixedClock(T0), plugins=False)
        before = other.get("p1", viewer="sam")  # opened, and its plaintext cached
        assert before.history[2].input["notes"] == NOTES
        assert before.facts["help_question"] == QUESTION
        engine.erase("p1", reason="verzoek", actor="fg")
        seen = other.get("p1", viewer="sam")
        assert seen.facts["help_question"] is ERASED and seen.history[2].input["notes"] is ERASED
        assert other.get("p1").history[1].input["question"] is ERASED
    finally:
        second.dispose()


def test_a_load_reads_the_keys_in_the_same_statement_as_the_row(tmp_path: Path) -> None:
    """The hot path: a trajectory holding sealed facts is loaded in one statement, its
    key rows included (the keys are still read at every load)."""
    store = SqlStore(f"sqlite:///{tmp_path / 'one.db'}")
    try:
        closed(store)
        statements: list[str] = []
        connection = store._own("read").dbapi
        connection.set_trace_callback(statements.append)
        try:
            loaded = store.load("p1")
        finally:
            connection.set_trace_callback(None)
        assert loaded.facts["help_question"] == QUESTION
        assert len(statements) == 1 and "cf_keys" in statements[0]
    finally:
        store.dispose()


def test_the_wrong_key_database_is_an_error_never_an_erasure(tmp_path: Path) -> None:
    """A sealed value whose class has no key row at all is not erased: the key database is
    the wrong one (``keys_url`` forgotten). It is a StoreError naming it, and nothing is
    written; an erasure through it is refused the same way."""
    from coachflow import StoreError

    main, keys = tmp_path / "school.db", tmp_path / "keys.db"
    store = SqlStore(f"sqlite:///{main}", keys_url=f"sqlite:///{keys}")
    try:
        closed(store)
    finally:
        store.dispose()
    forgot = SqlStore(f"sqlite:///{main}")  # keys kept apart, but not given
    try:
        engine = Engine([DEFINITION], store=forgot, clock=FixedClock(T0), plugins=False)
        for attempt in (
            lambda: engine.get("p1"),
            lambda: engine.erase("p1", reason="verzoek", actor="fg"),
        ):
            with pytest.raises(StoreError) as refused:
                attempt()
            message = str(refused.value)
            assert "no key for its" in message and "--keys-db" in message
            assert "\n" not in message and NOTES not in message
    finally:
        forgot.dispose()
    again = SqlStore(f"sqlite:///{main}", keys_url=f"sqlite:///{keys}")
    try:
        t = Engine([DEFINITION], store=again, clock=FixedClock(T0), plugins=False).get("p1")
        assert t.history[2].input["notes"] == NOTES and t.version == 2  # nothing erased
    finally:
        again.dispose()


def test_a_labelled_value_is_sealed_even_when_its_version_is_not_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store seals a confidential input by its record's label, whatever it knows of the
    definition version (here: it is never told of it)."""
    path = tmp_path / "bare.db"
    store = SqlStore(f"sqlite:///{path}")
    monkeypatch.setattr(store, "remember_definition", lambda definition: None)
    try:
        engine = closed(store)
        assert store.stored_definitions() == []  # the store knows nothing of the version
        assert engine.get("p1").history[2].input["notes"] == NOTES
        assert holding(path, NOTES.encode()) == []  # labelled: sealed all the same
        assert holding(path, QUESTION.encode())  # personal by the definition only: plain
    finally:
        store.dispose()
