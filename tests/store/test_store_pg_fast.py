"""The hot path of ``SqlStore.commit``: on PostgreSQL one writable-CTE statement on an
autocommit connection (update the row if still at the expected version, append the
records from what the update returned), on SQLite one ``BEGIN IMMEDIATE`` transaction.

Whatever the path, the guarantees of issue 7 hold: of the writers of one version exactly
one wins, a loser gets ``VersionConflict`` and nothing of it is written, a change that
fails half-way leaves nothing, and replay of the records equals the row.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from conftest import empty_postgres
from sqlalchemy import func, insert, select

from coachflow import (
    Engine,
    FixedClock,
    HistoryRecord,
    MemoryStore,
    Trajectory,
    UnknownTrajectory,
    VersionConflict,
    loads_definition,
    replay,
)
from coachflow.store import SqlStore
from coachflow.store import history as history_table

T0 = "2026-09-01T09:00:00+00:00"
DEFINITION = """
coachflow: 1
id: fast-path
version: 1
roles: {coach: {}, teacher: {}}
facts: {n: {type: int, default: 0}}
initial: s
states: {s: {}, e: {final: true}}
transitions:
  - {event: tick, from: s, to: s, by: [coach], set: {n: n + 1}}
  - {event: stop, from: s, to: e, by: [coach]}
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Callable[[], SqlStore]]:
    """``stores()``: another ``SqlStore`` object (its own connections) on one database."""
    if request.param == "sqlite":
        path = tmp_path / "fast.db"
        shutil.copyfile(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        url = empty_postgres(request.getfixturevalue("postgres_store")).url
    opened: list[SqlStore] = []

    def make() -> SqlStore:
        store = SqlStore(url, upgrade=False)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.dispose()


def engine_on(store: SqlStore) -> Engine:
    return Engine([loads_definition(DEFINITION)], store=store, clock=FixedClock(T0))


def ticked(t: Trajectory, actor: str, times: int = 1) -> Trajectory:
    """``t`` after ``times`` ticks by ``actor``, built by hand (as a writer would)."""
    for _ in range(times):
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
        t = t.evolve(record, facts={**t.facts, "n": n})
    return t


def records(store: SqlStore, tid: str) -> int:
    with store._reader.connect() as conn:
        count = conn.execute(
            select(func.count()).where(history_table.c.trajectory_id == tid)
        ).scalar()
    return int(count or 0)


def started(store: SqlStore) -> Trajectory:
    engine = engine_on(store)
    t = engine.start(
        "fast-path", participants={"coach": "c", "teacher": "t"}, actor="c", trajectory_id="t1"
    )
    return engine.fire(t.id, "tick", actor="c")  # at version 1


def test_racing_commits_of_one_version_let_exactly_one_win(
    stores: Callable[[], SqlStore],
) -> None:
    base = started(stores())
    writers = [stores() for _ in range(6)]
    seen = [w.load(base.id) for w in writers]  # every writer read version 1
    assert {t.version for t in seen} == {1}
    barrier = threading.Barrier(len(writers))
    outcome: dict[int, Any] = {}

    def write(i: int) -> None:
        new = ticked(seen[i], f"writer-{i}")
        barrier.wait()
        try:
            writers[i].commit(new, expected_version=1)
            outcome[i] = new
        except VersionConflict as exc:
            outcome[i] = exc

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(writers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [i for i, o in outcome.items() if isinstance(o, Trajectory)]
    losers = [o for o in outcome.values() if isinstance(o, VersionConflict)]
    assert len(winners) == 1 and len(losers) == len(writers) - 1
    assert all((c.expected, c.actual) == (1, 2) for c in losers)
    row = stores().load(base.id)
    assert row == outcome[winners[0]]
    assert row.history[-1].actor == f"writer-{winners[0]}"
    assert records(writers[0], base.id) == 3  # started, tick, the winner's tick
    assert replay(base.id, row.history) == row


def test_a_stale_commit_of_several_records_writes_none_of_them(
    stores: Callable[[], SqlStore],
) -> None:
    one, other = stores(), stores()
    base = started(one)
    stale = other.load(base.id)
    engine_on(one).fire(base.id, "tick", actor="c")  # the other writer wins: version 2
    with pytest.raises(VersionConflict) as raised:
        other.commit(ticked(stale, "late", times=3), expected_version=1)
    assert (raised.value.expected, raised.value.actual) == (1, 2)
    assert records(other, base.id) == 3
    now = other.load(base.id)
    assert now.version == 2 and now.facts["n"] == 2
    # a fresh change of several records goes through whole
    other.commit(ticked(now, "late", times=3), expected_version=2)
    after = one.load(base.id)
    assert after.version == 5 and after.facts["n"] == 5 and records(one, base.id) == 6
    assert [r.actor for r in after.history[-3:]] == ["late"] * 3
    assert replay(base.id, after.history) == after


def test_a_commit_of_an_unknown_trajectory_writes_nothing(
    stores: Callable[[], SqlStore],
) -> None:
    store = stores()
    started(store)
    elsewhere = Engine([loads_definition(DEFINITION)], store=MemoryStore(), clock=FixedClock(T0))
    ghost = elsewhere.start(
        "fast-path", participants={"coach": "c", "teacher": "t"}, actor="c", trajectory_id="ghost"
    )
    with pytest.raises(UnknownTrajectory):
        store.commit(ticked(ghost, "c"), expected_version=0)
    assert records(store, "ghost") == 0
    assert list(store.ids()) == ["t1"]


def test_a_change_that_fails_half_way_leaves_nothing(stores: Callable[[], SqlStore]) -> None:
    """The records cannot be appended (their sequence number is taken): the row's update,
    made first in the same statement or transaction, is undone with them."""
    store = stores()
    base = started(store)
    record = ticked(base, "squatter").history[-1]
    with store._writer.begin() as conn:  # a record of version 2 without the row moving
        conn.execute(
            insert(history_table),
            {
                "trajectory_id": base.id,
                "seq": record.seq,
                "at": record.at,
                "actor": record.actor,
                "role": record.role,
                "kind": record.kind,
                "event": record.event,
                "source": record.source,
                "target": record.target,
                "on_date": None,
                "input": {},
                "changes": {"n": 2},
            },
        )
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        store.commit(ticked(base, "writer"), expected_version=1)
    row = stores().load(base.id)
    assert row.version == 1 and row.facts["n"] == 1
    assert records(store, base.id) == 3  # started, tick, the squatter's: nothing more


def test_postgresql_load_and_commit_are_one_statement_each(
    request: pytest.FixtureRequest,
) -> None:
    store = empty_postgres(request.getfixturevalue("postgres_store"))
    engine = engine_on(store)
    base = engine.start("fast-path", participants={"coach": "c", "teacher": "t"}, actor="c")
    seen: list[str] = []

    class Cursor:
        def __init__(self, cursor: Any) -> None:
            self._cursor = cursor

        def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(str(statement))
            return self._cursor.execute(statement, *args, **kwargs)

        def executemany(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(str(statement))
            return self._cursor.executemany(statement, *args, **kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._cursor, name)

    class Connection:
        def __init__(self, conn: Any) -> None:
            self._conn = conn
            self.info: dict[str, Any] = {}  # no cursor kept from before: spy on all

        def cursor(self, *args: Any, **kwargs: Any) -> Cursor:
            return Cursor(self._conn.cursor(*args, **kwargs))

        def __getattr__(self, name: str) -> Any:
            return getattr(self._conn, name)

    engines = (store._reader, store._writer)
    for sql_engine in engines:
        raw = sql_engine.raw_connection
        sql_engine.raw_connection = (  # type: ignore[method-assign]
            lambda raw=raw: Connection(raw())
        )
    store._forget_connections()  # this thread's hot-path connection is opened again, spied on
    try:
        t = store.load(base.id)
        assert len(seen) == 1 and seen[0].lstrip().upper().startswith("SELECT")
        store.commit(ticked(t, "c"), expected_version=0)
        assert len(seen) == 2 and seen[1].startswith("WITH moved AS (UPDATE")
        with pytest.raises(VersionConflict):
            store.commit(ticked(t, "late"), expected_version=0)
    finally:
        for sql_engine in engines:
            del sql_engine.raw_connection
    assert records(store, base.id) == 2
    assert replay(base.id, store.load(base.id).history) == store.load(base.id)


@pytest.mark.parametrize("synchronous", [True, False])
def test_postgresql_commits_are_durable_unless_opted_out(
    request: pytest.FixtureRequest, synchronous: bool
) -> None:
    url = request.getfixturevalue("postgres_store").url
    store = SqlStore(url, upgrade=False, synchronous_commit=synchronous)
    try:
        for sql_engine in (store._reader, store._writer):
            with sql_engine.connect() as conn:
                setting = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
            assert setting == ("on" if synchronous else "off")
    finally:
        store.dispose()
