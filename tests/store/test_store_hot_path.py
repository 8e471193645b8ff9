"""The hot path of ``SqlStore`` (``load`` and ``commit``) on one driver connection per
thread, kept from one call to the next, on SQLite and PostgreSQL.

What a kept connection must not change: it sees what other processes and threads
committed (no stale snapshot), two threads committing one version never both win, a
commit that fails or is interrupted half-way writes nothing and leaves no transaction (nor
SQLite's write lock) behind, a connection that died is replaced (a read is done once
more; a failed commit is a ``StoreError``, safe to repeat), a disposed engine or a thread
that ends closes its connections, and many threads need no more pooled connections than
one.
"""

from __future__ import annotations

import gc
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from sqlalchemy import func, select

from coachflow import (
    Engine,
    FixedClock,
    HistoryRecord,
    StoreError,
    Trajectory,
    VersionConflict,
    loads_definition,
    replay,
)
from coachflow.store import SqlStore
from coachflow.store import history as history_table

T0 = "2026-09-01T09:00:00+00:00"
DEFINITION = """
coachflow: 1
id: hot-path
version: 1
roles: {coach: {}, teacher: {}}
facts: {n: {type: int, default: 0}}
consents: {report: {granted_by: teacher}}
initial: s
states: {s: {}, e: {final: true}}
transitions:
  - {event: tick, from: s, to: s, by: [coach], set: {n: n + 1}}
  - {event: stop, from: s, to: e, by: [coach]}
"""

OTHER_PROCESS = """
import sys
from coachflow import Engine, FixedClock, loads_definition
from coachflow.store import SqlStore

url, tid, definition = sys.argv[1], sys.argv[2], sys.stdin.read()
store = SqlStore(url, upgrade=False)
engine = Engine([loads_definition(definition)], store=store, clock=FixedClock("{t0}"))
print(engine.fire(tid, "tick", actor="c").version)
store.dispose()
""".replace("{t0}", T0)


@pytest.fixture
def url(empty_url: str) -> Iterator[str]:
    """A new database of each kind, with the schema (the first store creates it)."""
    SqlStore(empty_url).dispose()
    yield empty_url


@pytest.fixture
def store(url: str) -> Iterator[SqlStore]:
    opened = SqlStore(url, upgrade=False)
    yield opened
    opened.dispose()


def engine_on(store: SqlStore) -> Engine:
    return Engine([loads_definition(DEFINITION)], store=store, clock=FixedClock(T0))


def started(store: SqlStore, tid: str = "t1") -> Trajectory:
    engine = engine_on(store)
    engine.start(
        "hot-path", participants={"coach": "c", "teacher": "t"}, actor="c", trajectory_id=tid
    )
    return engine.fire(tid, "tick", actor="c")  # at version 1


def ticked(t: Trajectory, actor: str) -> Trajectory:
    """``t`` after one tick by ``actor``, built by hand (as a writer would)."""
    n = t.facts["n"] + 1
    record = HistoryRecord(
        t.version + 1,
        t.started_at,
        actor,
        "coach",
        "event",
        "tick",
        "s",
        "s",
        MappingProxyType({}),
        MappingProxyType({"n": n}),
    )
    return t.evolve(record, facts={**t.facts, "n": n})


def records(store: SqlStore, tid: str) -> int:
    with store._reader.connect() as conn:
        count = conn.execute(
            select(func.count()).where(history_table.c.trajectory_id == tid)
        ).scalar()
    return int(count or 0)


def sound(store: SqlStore, tid: str) -> Trajectory:
    """The stored trajectory, after checking that its history replays to its row."""
    t = store.load(tid)
    assert records(store, tid) == t.version + 1
    assert replay(tid, t.history) == t
    return t


def no_write_lock(store: SqlStore) -> None:
    """SQLite: another connection takes the write lock at once (no transaction of the
    store's is left open)."""
    if not store.is_sqlite:
        return
    path = store.url.removeprefix("sqlite:///")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


def closed(connection: Any) -> bool:
    """Whether a driver connection (sqlite3's or psycopg's) is closed."""
    if isinstance(connection, sqlite3.Connection):
        try:
            connection.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            return True
        return False
    return bool(connection.closed)


# --- what others committed ---------------------------------------------------------------


def test_a_kept_connection_sees_what_another_process_committed(
    store: SqlStore, url: str, tmp_path: Path
) -> None:
    engine = engine_on(store)
    base = started(store)
    script = tmp_path / "other.py"
    script.write_text(OTHER_PROCESS, encoding="utf-8")
    for round_ in range(3):
        assert store.load(base.id).version == 1 + 2 * round_  # this thread's connection is open
        done = subprocess.run(
            [sys.executable, str(script), url, base.id],
            input=DEFINITION,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert int(done.stdout) == 2 + 2 * round_
        assert store.load(base.id).version == 2 + 2 * round_  # no stale snapshot
        assert engine.fire(base.id, "tick", actor="c").version == 3 + 2 * round_
    assert sound(store, base.id).facts["n"] == 7


def test_a_thread_sees_what_another_thread_committed(store: SqlStore) -> None:
    engine = engine_on(store)
    base = started(store)
    assert store.load(base.id).version == 1  # this thread's connection is open

    def fire() -> None:
        engine.fire(base.id, "tick", actor="c")

    for expected in (2, 3):
        other = threading.Thread(target=fire)
        other.start()
        other.join()
        assert store.load(base.id).version == expected


# --- writers of one version ----------------------------------------------------------------


def test_threads_committing_one_version_let_exactly_one_win(store: SqlStore) -> None:
    base = started(store)
    writers = 4
    loaded = threading.Barrier(writers)
    outcomes: list[str] = []

    def write(n: int) -> None:
        t = store.load(base.id)
        loaded.wait()  # every thread read version 1 before any commits
        try:
            store.commit(ticked(t, f"w{n}"), expected_version=t.version)
        except VersionConflict as exc:
            assert exc.actual == 2
            outcomes.append("conflict")
        else:
            outcomes.append("won")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * (writers - 1) + ["won"]
    t = sound(store, base.id)
    assert t.version == 2 and t.facts["n"] == 2


def test_threads_firing_at_one_trajectory_lose_no_change(store: SqlStore) -> None:
    engine = engine_on(store)
    base = started(store)
    accepted: list[int] = []
    conflicts: list[int] = []

    def fire() -> None:
        for _ in range(25):
            try:
                accepted.append(engine.fire(base.id, "tick", actor="c").version)
            except VersionConflict:
                conflicts.append(1)

    threads = [threading.Thread(target=fire) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(accepted) + len(conflicts) == 75
    assert sorted(accepted) == list(range(2, 2 + len(accepted)))  # each version once
    t = sound(store, base.id)
    assert t.version == 1 + len(accepted) and t.facts["n"] == t.version


# --- failures --------------------------------------------------------------------------------


def test_a_commit_failing_half_way_writes_nothing_and_leaves_no_transaction(
    store: SqlStore,
) -> None:
    base = started(store)
    t = store.load(base.id)
    squatter = ticked(t, "squatter").history[-1]
    with store._writer.begin() as conn:  # a record of version 2 without the row moving
        conn.execute(
            history_table.insert().values(
                trajectory_id=base.id,
                seq=2,
                at=squatter.at,
                actor="squatter",
                kind="event",
                event="tick",
                input={},
                changes={"n": 2},
            )
        )
    with pytest.raises(StoreError, match=r"(?i)unique|duplicate") as raised:
        store.commit(ticked(t, "writer"), expected_version=1)  # the update ran, the insert not
    assert "cannot write to the database" in str(raised.value)
    no_write_lock(store)
    assert store.load(base.id).version == 1 and store.load(base.id).facts["n"] == 1
    assert records(store, base.id) == 3  # started, tick, the squatter's: nothing more
    with store._writer.begin() as conn:
        conn.execute(history_table.delete().where(history_table.c.seq == 2))
    store.commit(ticked(t, "writer"), expected_version=1)  # the same connection goes on
    assert sound(store, base.id).version == 2


class Interrupting:
    """A cursor that raises KeyboardInterrupt instead of appending the records (SQLite:
    after the row's update ran in the transaction; PostgreSQL: its one statement)."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, statement: str, *args: Any) -> Any:
        if statement.lstrip().upper().startswith(("INSERT", "WITH")):
            raise KeyboardInterrupt
        return self._cursor.execute(statement, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


def test_an_interrupted_commit_writes_nothing_and_leaves_no_transaction(
    store: SqlStore,
) -> None:
    base = started(store)
    t = store.load(base.id)
    own = store._own("write to")
    real = own.cursor
    own.cursor = Interrupting(real)
    try:
        with pytest.raises(KeyboardInterrupt):
            store.commit(ticked(t, "writer"), expected_version=1)
    finally:
        own.cursor = real
    no_write_lock(store)
    assert store.load(base.id).version == 1
    assert records(store, base.id) == 2
    store.commit(ticked(t, "writer"), expected_version=1)
    assert sound(store, base.id).version == 2


def test_a_connection_closed_under_the_store_is_replaced(store: SqlStore) -> None:
    base = started(store)
    store._own("read").dbapi.close()  # as if the server or the file had gone
    t = store.load(base.id)  # read once more, on a new connection
    assert t.version == 1
    store._own("write to").dbapi.close()  # between the load and the commit
    with pytest.raises(StoreError, match="connection was lost") as raised:
        store.commit(ticked(t, "writer"), expected_version=1)
    assert "cannot write to the database" in str(raised.value)
    no_write_lock(store)
    assert sound(store, base.id).version == 1  # nothing of it was written
    store.commit(ticked(t, "writer"), expected_version=1)  # and it is safe to repeat
    assert sound(store, base.id).version == 2
    assert engine_on(store).fire(base.id, "tick", actor="c").version == 3


# --- the connections themselves ------------------------------------------------------------


def test_many_threads_hold_no_pooled_connection_and_close_theirs_when_they_end(
    store: SqlStore,
) -> None:
    engine = engine_on(store)
    count = 20  # more than a pool hands out (5 + 10 overflow on SQLite)
    ids = [f"t{n:02}" for n in range(count)]
    for tid in ids:
        started(store, tid)
    store.dispose()  # only the threads' connections from here on
    busy = threading.Barrier(count + 1)
    failures: list[BaseException] = []

    def work(tid: str) -> None:
        try:
            engine.fire(tid, "tick", actor="c")
        except BaseException as exc:  # reported below
            failures.append(exc)
        busy.wait()  # every thread holds its connection at once
        busy.wait()

    threads = [threading.Thread(target=work, args=(tid,)) for tid in ids]
    for thread in threads:
        thread.start()
    busy.wait()
    assert failures == []
    assert len(store._owned) == count
    assert store._hot.pool.checkedout() == 0  # detached: the pool neither counts nor holds them
    connections = [own.dbapi for own in store._owned]
    busy.wait()
    for thread in threads:
        thread.join()
    gc.collect()
    assert len(store._owned) == 0
    assert all(closed(c) for c in connections)  # closed as their threads ended
    assert [sound(store, tid).version for tid in ids] == [2] * count


def test_dispose_closes_every_threads_connection_and_the_store_goes_on(store: SqlStore) -> None:
    base = started(store)
    opened = threading.Event()
    disposed = threading.Event()
    seen: list[int] = []

    def work() -> None:
        seen.append(store.load(base.id).version)
        opened.set()
        disposed.wait(60)
        seen.append(store.load(base.id).version)  # on a new connection

    thread = threading.Thread(target=work)
    thread.start()
    assert opened.wait(60)
    theirs = [own for own in store._owned if own is not store._local.__dict__.get("own")]
    assert len(theirs) == 1
    store.dispose()
    assert theirs[0].closed and closed(theirs[0].dbapi) and len(store._owned) == 0
    disposed.set()
    thread.join()
    assert seen == [1, 1]
    assert engine_on(store).fire(base.id, "tick", actor="c").version == 2


def test_a_disposed_engine_gives_the_thread_a_new_connection(store: SqlStore) -> None:
    base = started(store)
    own = store._own("read")
    store._hot.dispose()  # e.g. to open connections again with another connect listener
    assert store.load(base.id).version == 1
    assert own.closed and store._own("read") is not own
