"""The transactional outbox (issue 16): every accepted change is one ``trajectory.changed``
message, written by the store in the same transaction as its history record; consumers
claim messages for a lease and acknowledge them (at least once per named consumer); an
in-process listener is called after the commit and never undoes it.

Every test runs on the in-memory store, SQLite and PostgreSQL (conftest's ``store``
fixture; PostgreSQL skipped loudly when no server is configured outside CI).
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from typing import Any

import pytest

from coachflow import (
    Engine,
    FixedClock,
    GuardFailed,
    Message,
    NotPermitted,
    VersionConflict,
    loads_definition,
)
from coachflow.runtime.outbox import CHANGED, change_key

STORE_KINDS = ["memory", "sqlite", "postgresql"]

SECRET = "Vertrouwelijk: zorgen over de klas"

DEFINITION = loads_definition(
    """\
coachflow: 1
id: told
version: 1
roles:
  teacher: {required: true}
  coach: {required: true}
  director: {assigned_by: [coach]}
started_by: [coach]
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
    by: [coach]
    input:
      text: {type: str, required: true, visible_to: [coach, teacher]}
  - event: close
    from: open
    to: closed
    by: [coach]
    when: consent.share
activities:
  visit:
    by: [coach]
    input:
      notes: {type: str, visible_to: [coach]}
"""
)
PEOPLE = {"teacher": "tess", "coach": "cas"}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock("2026-09-01T09:00:00+00:00")


@pytest.fixture
def engine(store: Any, clock: FixedClock) -> Engine:
    return Engine([DEFINITION], store=store, clock=clock)


def started(engine: Engine, tid: str = "t1") -> str:
    engine.start("told", participants=PEOPLE, actor="cas", trajectory_id=tid)
    return tid


def test_every_accepted_change_is_one_message_in_order(engine: Engine, clock: FixedClock) -> None:
    tid = started(engine)
    clock.advance(minutes=1)
    engine.fire(tid, "note", actor="cas", input={"text": SECRET})
    engine.record_activity(tid, "visit", actor="cas", input={"notes": SECRET})
    engine.grant_consent(tid, "share", actor="tess")
    engine.assign(tid, "director", "dirk", actor="cas")
    engine.fire(tid, "close", actor="cas")
    messages = engine.outbox.messages()
    history = engine.get(tid).history
    assert len(messages) == len(history) == 6
    assert [m.key for m in messages] == [change_key(tid, r.seq) for r in history]
    assert [m.payload["kind"] for m in messages] == [r.kind for r in history]
    assert [m.payload["event"] for m in messages] == [r.event for r in history]
    assert [m.created_at for m in messages] == [r.at for r in history]
    assert all(m.topic == CHANGED and m.trajectory_id == tid for m in messages)
    ids = [m.id for m in messages]
    assert ids == sorted(ids) and len(set(ids)) == 6
    assert dict(messages[1].payload) == {
        "trajectory_id": tid,
        "definition_id": "told",
        "version": 1,
        "kind": "event",
        "event": "note",
        "actor": "cas",
        "role": "coach",
    }
    # never a value: the confidential text is in the history, in no message
    assert all(SECRET not in json.dumps(dict(m.payload)) for m in messages)
    assert all(SECRET not in repr(m) for m in messages)


def test_a_refused_change_writes_no_message(engine: Engine) -> None:
    tid = started(engine)
    with pytest.raises(GuardFailed):
        engine.fire(tid, "close", actor="cas")
    with pytest.raises(NotPermitted):
        engine.fire(tid, "note", actor="tess", input={"text": "x"})
    with pytest.raises(VersionConflict):
        engine.fire(tid, "note", actor="cas", input={"text": "x"}, expected_version=7)
    assert [m.payload["kind"] for m in engine.outbox.messages()] == ["started"]


def test_a_claimed_message_waits_for_its_lease_then_comes_again(
    engine: Engine, clock: FixedClock
) -> None:
    tid = started(engine)
    engine.fire(tid, "note", actor="cas", input={"text": "a"})
    first = engine.outbox.claim("mail", 10, lease=timedelta(minutes=5))
    assert [m.attempts for m in first] == [1, 1]
    assert engine.outbox.claim("mail") == []  # both leased
    clock.advance(minutes=4 + 59 / 60)
    assert engine.outbox.claim("mail") == []
    assert engine.outbox.ack("mail", [first[0].id]) == 1
    clock.advance(minutes=1 / 60)  # the lease of the second has run out
    again = engine.outbox.claim("mail")
    assert [(m.id, m.attempts) for m in again] == [(first[1].id, 2)]
    assert again[0].key == first[1].key and again[0].payload == first[1].payload
    assert engine.outbox.ack("mail", [first[1].id, first[0].id]) == 1  # one was acked already
    assert engine.outbox.ack("mail", [first[1].id]) == 0
    clock.advance(hours=1)
    assert engine.outbox.claim("mail") == []


def test_each_consumer_gets_every_message(engine: Engine) -> None:
    tid = started(engine)
    engine.fire(tid, "note", actor="cas", input={"text": "a"})
    mail = engine.outbox.claim("mail")
    audit = engine.outbox.claim("audit")
    assert [m.key for m in mail] == [m.key for m in audit]
    engine.outbox.ack("mail", [m.id for m in mail])
    assert engine.outbox.messages(consumer="mail") == []
    assert [m.attempts for m in engine.outbox.messages(consumer="audit")] == [1, 1]
    assert len(engine.outbox.messages()) == 2


def test_limit_and_order(engine: Engine) -> None:
    for n in range(3):
        started(engine, f"t{n}")
    one = engine.outbox.claim("mail", 1)
    two = engine.outbox.claim("mail", 5)
    assert [m.trajectory_id for m in one + two] == ["t0", "t1", "t2"]
    after = engine.outbox.messages(after=one[0].id, limit=1)
    assert [m.trajectory_id for m in after] == ["t1"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda o: o.claim("", 1), "a consumer is named by 1 to 200 printable characters"),
        (lambda o: o.claim("x" * 201, 1), "a consumer is named by 1 to 200"),
        (lambda o: o.claim("mail\n", 1), "printable"),
        (lambda o: o.claim("mail", 0), "limit: 1 to 10,000 messages"),
        (lambda o: o.claim("mail", 10_001), "limit: 1 to 10,000 messages"),
        (lambda o: o.claim("mail", True), "limit"),
        (lambda o: o.claim("mail", 1, lease=timedelta(0)), "lease: a timedelta"),
        (lambda o: o.claim("mail", 1, lease=timedelta(days=8)), "at most 7 days"),
        (lambda o: o.claim("mail", 1, lease=300), "lease: a timedelta"),
        (lambda o: o.ack("mail", "12"), "message_ids"),
        (lambda o: o.ack("mail", [1.5]), "message_ids"),
        (lambda o: o.ack("mail", [0]), "no outbox message 0"),
        (lambda o: o.ack("mail", [2**63]), "no outbox message 9223372036854775808"),
        (lambda o: o.ack("mail", 1), "message_ids"),
        (lambda o: o.ack("mail", None), "message_ids"),
        (lambda o: o.ack("mail", [True]), "message_ids"),
        (lambda o: o.claim(" mail", 1), "not starting or ending with a space"),
        (lambda o: o.claim(" ", 1), "a consumer is named"),
        (lambda o: o.messages(limit=0), "limit"),
        (lambda o: o.messages(after=2**63), "after: a message id"),
        (lambda o: o.messages(after=-1), "after: a message id"),
        (lambda o: o.messages(after=None), "after: a message id"),
        (lambda o: o.messages(after=True), "after: a message id"),
        (lambda o: o.messages(after="1"), "after: a message id"),
        (lambda o: o.messages(after=1.5), "after: a message id"),
    ],
)
def test_bad_arguments_are_refused_in_one_line(engine: Engine, call: Any, message: str) -> None:
    started(engine)
    with pytest.raises(ValueError, match=message):
        call(engine.outbox)
    assert engine.outbox.messages(consumer="mail")[0].attempts == 0  # nothing was claimed


def test_acknowledging_an_unknown_message_acknowledges_nothing(engine: Engine) -> None:
    started(engine)
    [m] = engine.outbox.messages()
    with pytest.raises(ValueError, match=f"no outbox message {m.id + 1000}"):
        engine.outbox.ack("mail", [m.id, m.id + 1000])
    assert [x.id for x in engine.outbox.claim("mail")] == [m.id]


def test_concurrent_claims_of_one_consumer_share_the_messages(engine: Engine, store: Any) -> None:
    """Eight threads of one consumer claim at once: while the leases run, no message is
    handed out twice, and together they get every message."""
    for n in range(40):
        started(engine, f"c{n:02}")
    got: list[list[Message]] = []
    barrier = threading.Barrier(8)

    def consume() -> None:
        barrier.wait()
        mine: list[Message] = []
        while batch := engine.outbox.claim("worker", 3):
            mine.extend(batch)
        got.append(mine)

    threads = [threading.Thread(target=consume) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [m.key for batch in got for m in batch]
    assert len(keys) == len(set(keys)) == 40
    assert sorted(keys) == sorted(change_key(f"c{n:02}", 0) for n in range(40))


def test_listeners_are_told_after_the_commit(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[str, int]] = []

    def listener(message: Message) -> None:
        # called after the commit: the change is already stored
        stored = engine.get(message.trajectory_id)
        seen.append((str(message.payload["kind"]), stored.version))

    def broken(message: Message) -> None:
        raise RuntimeError("the mail server is down")

    engine.subscribe(broken)
    stop = engine.subscribe(listener)
    tid = started(engine)
    with caplog.at_level(logging.ERROR, logger="coachflow.engine"):
        after = engine.fire(tid, "note", actor="cas", input={"text": "a"})
    assert after.version == 1 and engine.get(tid).version == 1  # the change stands
    assert seen == [("started", 0), ("event", 1)]
    assert "the change stands" in caplog.text and "RuntimeError" in caplog.text
    stop()
    engine.fire(tid, "note", actor="cas", input={"text": "b"})
    assert len(seen) == 2
    with pytest.raises(GuardFailed):  # a refused change tells no one
        engine.fire(tid, "close", actor="cas")
    with pytest.raises(TypeError):
        engine.subscribe("not callable")  # type: ignore[arg-type]


def test_acknowledging_from_a_generator_acknowledges_them(engine: Engine) -> None:
    tid = started(engine)
    engine.fire(tid, "note", actor="cas", input={"text": "a"})
    batch = engine.outbox.claim("mail")
    assert engine.outbox.ack("mail", (m.id for m in batch)) == 2
    assert engine.outbox.messages(consumer="mail") == []


def test_every_store_gives_a_messages_moment_in_utc(store: Any) -> None:
    """The same instant, written the same way on every store (the clock's offset is not
    kept: the SQL stores keep moments as UTC)."""
    engine = Engine([DEFINITION], store=store, clock=FixedClock("2026-09-01T09:00:00+02:00"))
    started(engine)
    [message] = engine.outbox.messages()
    assert message.created_at.isoformat() == "2026-09-01T07:00:00+00:00"


# --- a claim starts where its consumer has acknowledged everything before (revision 0006) ----


def settled(store: Any, consumer: str) -> int | None:
    """The consumer's settled point as stored (None: never acknowledged anything)."""
    with store._writer.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT settled FROM cf_outbox_consumers WHERE consumer = ?"
            if store.is_sqlite
            else "SELECT settled FROM cf_outbox_consumers WHERE consumer = %(c)s",
            (consumer,) if store.is_sqlite else {"c": consumer},
        ).scalar()
    return None if found is None else int(found)


def points(store: Any) -> list[int]:
    """Each message's point, in the order of ids: its id on SQLite, its tx on PostgreSQL."""
    column = "id" if store.is_sqlite else "tx"
    with store._writer.connect() as conn:
        return [
            int(p)
            for p in conn.exec_driver_sql(f"SELECT {column} FROM cf_outbox ORDER BY id").scalars()
        ]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_settled_point_stops_at_the_first_message_not_acknowledged(
    make_store: Any, clock: FixedClock, kind: str
) -> None:
    store = make_store(kind)
    engine = Engine([DEFINITION], store=store, clock=clock)
    for n in range(5):
        started(engine, f"s{n}")
    messages = engine.outbox.claim("mail", 10)
    ids = [m.id for m in messages]
    at = points(store)
    assert settled(store, "mail") is None
    engine.outbox.ack("mail", ids[2:4])  # the third and fourth: the first is still open
    assert 0 < settled(store, "mail") <= at[0]  # (PostgreSQL: or below, by a running one)
    engine.outbox.ack("mail", ids[:1])
    assert at[0] < settled(store, "mail") <= at[1]  # the second is the first not acknowledged
    clock.advance(minutes=6)  # the second's and fifth's leases run out: claimed again
    assert [m.id for m in engine.outbox.claim("mail", 10)] == [ids[1], ids[4]]
    engine.outbox.ack("mail", [ids[1], ids[4]])
    assert settled(store, "mail") >= at[4]  # at the last message, or past it
    assert engine.outbox.claim("mail", 10) == []
    started(engine, "s5")  # a new message lies past it too
    [new] = engine.outbox.claim("mail", 10)
    assert new.trajectory_id == "s5"
    assert settled(store, "audit") is None  # each consumer has its own
    assert len(engine.outbox.claim("audit", 10)) == 6


def test_a_message_that_commits_late_is_never_skipped(make_store: Any, clock: FixedClock) -> None:
    """On PostgreSQL a message is numbered when written but may commit after messages
    written later: a writer holds its transaction open while the consumer claims and
    acknowledges everything it sees. Its message is claimed once it commits."""
    store = make_store("postgresql")
    engine = Engine([DEFINITION], store=store, clock=clock)
    tid = started(engine)
    late = store._writer.connect()
    try:
        opened = late.begin()
        late.exec_driver_sql(
            "INSERT INTO cf_outbox (trajectory_id, topic, payload, created_at, item) "
            "VALUES (%(t)s, 'test.late', '{}', '2026-09-01T09:00:00+00:00', 'late')",
            {"t": tid},
        )
        for text in "abc":  # written and committed after the late writer began
            engine.fire(tid, "note", actor="cas", input={"text": text})
        seen = engine.outbox.claim("mail", 10)
        assert len(seen) == 4 and all(m.topic == CHANGED for m in seen)
        engine.outbox.ack("mail", [m.id for m in seen])
        [late_tx] = late.exec_driver_sql("SELECT pg_current_xact_id()::text::bigint").scalars()
        assert settled(store, "mail") <= late_tx  # held back by the open transaction
        assert engine.outbox.claim("mail", 10) == []
        opened.commit()
    finally:
        late.close()
    [got] = engine.outbox.claim("mail", 10)
    assert (got.topic, got.key) == ("test.late", f"test.late:{tid}:late")
    assert got.id < seen[-1].id  # numbered before the messages acknowledged first
    engine.outbox.ack("mail", [got.id])
    assert settled(store, "mail") > late_tx
    assert engine.outbox.claim("mail", 10) == []


def test_a_settled_point_from_another_cluster_is_started_again(
    make_store: Any, clock: FixedClock
) -> None:
    """A dump restored into another PostgreSQL cluster keeps ``settled`` from the old one,
    whose transaction ids ran higher than the new one's: claims must not skip the new
    messages, and the next acknowledgement puts the point right."""
    store = make_store("postgresql")
    engine = Engine([DEFINITION], store=store, clock=clock)
    started(engine, "r0")
    engine.outbox.ack("mail", [m.id for m in engine.outbox.claim("mail", 10)])
    with store._writer.begin() as conn:
        conn.exec_driver_sql("UPDATE cf_outbox_consumers SET settled = 9000000000000")
    started(engine, "r1")
    [new] = engine.outbox.claim("mail", 10)
    assert new.trajectory_id == "r1"
    engine.outbox.ack("mail", [new.id])
    [now_tx] = [int(x) for x in points(store)[-1:]]
    assert now_tx <= settled(store, "mail") < 9000000000000
    started(engine, "r2")
    assert [m.trajectory_id for m in engine.outbox.claim("mail", 10)] == ["r2"]
