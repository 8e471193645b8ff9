"""The async engine (issue 19): what only AsyncEngine has or does.

The engine, schedule, confidentiality and trajectory suites run on AsyncEngine as they are
(COACHFLOW_TEST_ENGINE=async, tests/async_harness.py; .ci/run does so on memory, SQLite and
PostgreSQL). This module tests the rest, on the async stores themselves: the same commands
and signatures, async predicates and listeners, the outbox stream and the worker task,
cancellation, the URLs, and 200 concurrent fires from one event loop (and from 4 processes
at once): 0 lost, 0 duplicated, every conflict a VersionConflict.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import random
import subprocess
import sys
import warnings
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import coachflow
from coachflow import (
    AsyncEngine,
    AsyncMemoryStore,
    AsyncSqlStore,
    FixedClock,
    GuardFailed,
    MemoryStore,
    PredicateError,
    StoreError,
    Trajectory,
    VersionConflict,
    loads_definition,
)
from coachflow.engine import Engine as SyncEngine

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)

GATED = """\
coachflow: 1
id: gated
version: 1
roles:
  owner: {required: true}
started_by: [owner]
predicates: [open_now]
facts:
  ticks: {type: int, default: 0}
initial: running
states:
  running: {}
  done: {final: true}
transitions:
  - {event: tick, from: running, to: running, by: [owner], set: {ticks: ticks + 1}}
  - {event: pass, from: running, to: running, by: [owner], when: open_now()}
  - {event: finish, from: running, to: done, by: [owner]}
"""

TIMED = """\
coachflow: 1
id: timed
version: 1
roles:
  owner: {required: true}
started_by: [owner]
initial: waiting
states:
  waiting:
    timeout: {after: P2D, event: expire}
  expired: {final: true}
transitions:
  - {event: expire, from: waiting, to: expired, by: [system]}
"""

KINDS = ["memory", "sqlite", "postgresql"]


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


@pytest.fixture(params=KINDS)
def make_async(
    request: pytest.FixtureRequest, make_store: Callable[[str], Any]
) -> Iterator[Callable[[], Any]]:
    """``make_async()``: a new async store on one empty database of the kind (memory, a
    SQLite file, the emptied test PostgreSQL database); each call a new store object on
    the same data, as a second process would have."""
    kind = request.param
    if kind == "memory":
        shared = MemoryStore()
        yield lambda: AsyncMemoryStore(shared)
        return
    url = make_store(kind).url
    yield lambda: AsyncSqlStore(url, upgrade=False)


def engine_on(store: Any, text: str = GATED, **options: Any) -> AsyncEngine:
    return AsyncEngine(
        [loads_definition(text)], store=store, clock=FixedClock(T0), plugins=False, **options
    )


async def started(engine: AsyncEngine, count: int, definition: str = "gated") -> list[str]:
    ids = [f"t{i:02}" for i in range(count)]
    for tid in ids:
        await engine.start(
            definition, participants={"owner": "own"}, actor="own", trajectory_id=tid
        )
    return ids


# --- the same engine ---------------------------------------------------------------------------


SYNC_ONLY = {"add_definition", "definition", "definitions", "next_due", "register_predicate"}
"""Engine's names that do no I/O: plain methods of AsyncEngine too (``subscribe`` as well)."""


def test_every_command_of_the_engine_is_a_coroutine_with_the_same_signature() -> None:
    public = [n for n in dir(SyncEngine) if not n.startswith("_")]
    assert "fire" in public and "run_due" in public and "export_person" in public
    for name in public:
        ours = getattr(AsyncEngine, name)
        theirs = getattr(SyncEngine, name)
        if name in SYNC_ONLY | {"subscribe"} or isinstance(theirs, property):
            assert not inspect.iscoroutinefunction(ours), name
            continue
        if name == "trajectories":
            assert inspect.isasyncgenfunction(ours)
            continue
        assert inspect.iscoroutinefunction(ours), f"AsyncEngine.{name} is not awaited"
        assert inspect.signature(ours) == inspect.signature(theirs), name
        assert ours.__doc__ == theirs.__doc__, name
    for name in ("claim", "ack", "messages"):
        assert inspect.iscoroutinefunction(getattr(coachflow.AsyncOutbox, name)), name
    assert inspect.isasyncgenfunction(coachflow.AsyncOutbox.stream)


def test_the_same_refusals_with_the_same_reasons(make_async: Callable[[], Any]) -> None:
    async def scenario() -> None:
        async with engine_on(make_async()) as engine:
            engine.register_predicate("open_now", lambda t: False)
            [tid] = await started(engine, 1)
            sync = SyncEngine([loads_definition(GATED)], clock=FixedClock(T0), plugins=False)
            sync.register_predicate("open_now", lambda t: False)
            sync.start("gated", participants={"owner": "own"}, actor="own", trajectory_id=tid)
            for event, actor in (("pass", "own"), ("tick", "nobody"), ("nope", "own")):
                with pytest.raises(coachflow.TransitionRejected) as ours:
                    await engine.fire(tid, event, actor=actor)
                with pytest.raises(coachflow.TransitionRejected) as theirs:
                    sync.fire(tid, event, actor=actor)
                assert type(ours.value) is type(theirs.value)
                assert ours.value.reasons == theirs.value.reasons
                assert str(ours.value) == str(theirs.value)
            assert (await engine.get(tid)).version == 0  # nothing was written
            await engine.fire(tid, "finish", actor="own")
            with pytest.raises(coachflow.NotAllowedInState):
                await engine.fire(tid, "tick", actor="own")

    run(scenario())


def test_the_definitions_are_there_before_the_store_is_opened(tmp_path: Path) -> None:
    store = AsyncSqlStore(f"sqlite:///{tmp_path / 'unopened.db'}")
    engine = AsyncEngine([loads_definition(GATED)], store=store, plugins=False)
    assert list(engine.definitions) == ["gated"]
    assert engine.definition("gated").version == 1
    assert not (tmp_path / "unopened.db").exists()  # nothing was opened for that
    assert engine.definition("gated") is run(_opened_definition(engine))


async def _opened_definition(engine: AsyncEngine) -> coachflow.Definition:
    async with engine:
        return engine.definition("gated")


def test_a_changed_definition_under_a_stored_version_is_refused_at_open(
    make_async: Callable[[], Any],
) -> None:
    async def scenario() -> None:
        async with engine_on(make_async()) as first:
            await started(first, 1)  # records version 1
        changed = engine_on(make_async(), GATED.replace("default: 0", "default: 1"))
        for _ in range(2):  # and again at the next try: a refused opening leaves nothing
            with pytest.raises(coachflow.DefinitionChanged):
                await changed.open()
            with pytest.raises(coachflow.DefinitionChanged):
                await changed.get("t00")
        await changed.aclose()
        added = AsyncEngine(store=make_async(), clock=FixedClock(T0), plugins=False)
        added.add_definition(loads_definition(GATED.replace("default: 0", "default: 2")))
        with pytest.raises(coachflow.DefinitionChanged):  # added before the opening too
            await added.open()
        await added.aclose()

    run(scenario())


def test_an_async_engine_runs_on_an_async_store_only() -> None:
    with pytest.raises(TypeError, match="async store"):
        AsyncEngine(store=MemoryStore())  # type: ignore[arg-type]


# --- predicates and listeners ---------------------------------------------------------------


def test_async_predicates_are_awaited_and_decide(make_async: Callable[[], Any]) -> None:
    gate = {"open": False}
    seen: list[Trajectory] = []

    async def open_now(t: Trajectory) -> bool:
        await asyncio.sleep(0)  # it really waits on the loop
        seen.append(t)
        return gate["open"]

    async def scenario() -> None:
        async with engine_on(make_async()) as engine:
            engine.register_predicate("open_now", open_now)
            [tid] = await started(engine, 1)
            with pytest.raises(GuardFailed) as refused:
                await engine.fire(tid, "pass", actor="own")
            assert refused.value.guard == "open_now()"
            gate["open"] = True
            assert (await engine.fire(tid, "pass", actor="own")).version == 1
            explained = await engine.explain(tid, "pass", actor="own")
            assert explained.allowed
            assert "pass" in await engine.allowed_events(tid, actor="own")
            assert seen[0].id == tid and len(seen[0].history) == 1  # its history is readable

    run(scenario())


def test_the_sync_engine_refuses_an_async_predicate_and_never_takes_a_coroutine_as_yes() -> None:
    engine = SyncEngine([loads_definition(GATED)], clock=FixedClock(T0), plugins=False)

    async def open_now(t: Trajectory) -> bool:
        return False

    with pytest.raises(TypeError, match="AsyncEngine"):
        engine.register_predicate("open_now", open_now)
    engine.register_predicate("open_now", lambda t: open_now(t))  # hides the coroutine
    engine.start("gated", participants={"owner": "own"}, actor="own", trajectory_id="t")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the coroutine is closed, never left unawaited
        with pytest.raises(PredicateError, match="awaitable"):
            engine.fire("t", "pass", actor="own")
    assert engine.get("t").version == 0


def test_async_listeners_are_awaited_after_the_commit(make_async: Callable[[], Any]) -> None:
    heard: list[tuple[str, int]] = []

    async def scenario() -> None:
        async with engine_on(make_async()) as engine:
            engine.register_predicate("open_now", lambda t: True)

            async def listener(message: coachflow.Message) -> None:
                await asyncio.sleep(0)
                stored = await engine.get(message.trajectory_id)  # committed already
                heard.append((str(message.payload.get("event")), stored.version))

            async def broken(message: coachflow.Message) -> None:
                raise RuntimeError("a listener that fails")

            engine.subscribe(broken)
            stop = engine.subscribe(listener)
            [tid] = await started(engine, 1)
            await engine.fire(tid, "tick", actor="own")  # the failing listener changes nothing
            stop()
            await engine.fire(tid, "tick", actor="own")
            assert (await engine.get(tid)).version == 2

    run(scenario())
    assert heard == [("None", 0), ("tick", 1)]


# --- the outbox and the worker -------------------------------------------------------------


def test_the_outbox_stream_hands_out_every_message_and_acks_what_was_handled(
    make_async: Callable[[], Any],
) -> None:
    async def scenario() -> None:
        clock = FixedClock(T0)
        async with AsyncEngine(
            [loads_definition(GATED)], store=make_async(), clock=clock, plugins=False
        ) as engine:
            ids = await started(engine, 3)
            for tid in ids:
                await engine.fire(tid, "tick", actor="own")
            stop = asyncio.Event()
            got: list[str] = []
            stream = engine.outbox.stream("mailer", batch=2, poll=0.01, stop=stop)
            with pytest.raises(RuntimeError):
                async for message in stream:
                    got.append(f"{message.trajectory_id}:{message.payload.get('event')}")
                    if len(got) == 4:
                        raise RuntimeError("the mail server is down")
            assert got == ["t00:None", "t01:None", "t02:None", "t00:tick"]
            # the fourth was not acknowledged: handed out again once its lease ends
            clock.advance(minutes=6)
            again: list[str] = []

            async def consume() -> None:
                async for message in engine.outbox.stream("mailer", poll=0.01, stop=stop):
                    again.append(
                        f"{message.trajectory_id}:{message.payload.get('event')}:{message.attempts}"
                    )
                    if len(again) == 3:
                        stop.set()

            await asyncio.wait_for(consume(), 10)
            assert again == ["t00:tick:2", "t01:tick:1", "t02:tick:1"]
            assert await engine.outbox.claim("mailer") == []
            with pytest.raises(ValueError):
                async for _ in engine.outbox.stream("mailer", poll=0):
                    pass

    run(scenario())


def test_the_worker_task_handles_what_is_due_until_it_is_stopped(
    make_async: Callable[[], Any],
) -> None:
    async def scenario() -> None:
        clock = FixedClock(T0)
        async with AsyncEngine(
            [loads_definition(TIMED)], store=make_async(), clock=clock, plugins=False
        ) as engine:
            await started(engine, 2, "timed")
            stop = asyncio.Event()
            reports: list[coachflow.DueReport] = []

            async def report(done: coachflow.DueReport) -> None:  # awaited
                await asyncio.sleep(0)
                reports.append(done)
                if len(reports) == 1:
                    clock.advance(days=3)  # the timeouts are due at the next pass
                elif done.timeouts:
                    stop.set()

            await asyncio.wait_for(engine.work(every=0.01, stop=stop, report=report), 10)
            assert reports[0].handled == 0
            assert sum(r.timeouts for r in reports) == 2
            assert [t.state async for t in engine.trajectories()] == ["expired", "expired"]
            with pytest.raises(ValueError):
                await engine.work(every=0)

    run(scenario())


# --- cancellation, leases, URLs ---------------------------------------------------------------


def test_a_cancelled_fire_writes_nothing_and_the_store_serves_on(
    make_async: Callable[[], Any],
) -> None:
    async def scenario() -> None:
        store = make_async()
        if isinstance(store, AsyncSqlStore):
            store = AsyncSqlStore(store.url, upgrade=False, connections=1, timeout=5)
        async with engine_on(store) as engine:
            entered = asyncio.Event()
            forever = asyncio.Event()

            async def open_now(t: Trajectory) -> bool:
                entered.set()
                await forever.wait()
                return True

            engine.register_predicate("open_now", open_now)
            ids = await started(engine, 20)
            stuck = asyncio.create_task(engine.fire(ids[0], "pass", actor="own"))
            await entered.wait()
            stuck.cancel()
            with pytest.raises(asyncio.CancelledError):
                await stuck
            # its one lease came back: the next command gets it (not a StoreError in 5 s)
            assert (await asyncio.wait_for(engine.get(ids[0]), 10)).version == 0
            # every lease came back: more calls at once than a store has leases
            done = await asyncio.gather(*(engine.fire(tid, "tick", actor="own") for tid in ids))
            assert [t.version for t in done] == [1] * 20

    run(scenario())


def test_a_predicate_that_awaits_a_command_shares_its_commands_lease(
    make_async: Callable[[], Any],
) -> None:
    async def scenario() -> None:
        store = make_async()
        sql = isinstance(store, AsyncSqlStore)
        if sql:
            store = AsyncSqlStore(store.url, upgrade=False, connections=2)
        async with engine_on(store) as engine:

            async def open_now(t: Trajectory) -> bool:
                other = await engine.get("t00")  # another command, inside this one
                return other.version == 0

            engine.register_predicate("open_now", open_now)
            ids = await started(engine, 4)
            # as many outer commands as leases, each waiting for an inner one
            done = await asyncio.wait_for(
                asyncio.gather(*(engine.fire(tid, "pass", actor="own") for tid in ids[2:])), 30
            )
            assert [t.version for t in done] == [1, 1]

    run(scenario())


def test_a_task_made_inside_a_command_waits_for_a_lease_of_its_own(
    make_store: Callable[[str], Any],
) -> None:
    url = make_store("sqlite").url

    async def scenario() -> None:
        store = AsyncSqlStore(url, upgrade=False, connections=1)
        async with engine_on(store) as engine:
            await started(engine, 2)
            helpers: list[asyncio.Task[Trajectory]] = []

            async def open_now(t: Trajectory) -> bool:
                # the task inherits the lease's context variable, never the lease itself:
                # with the one lease held by this command it waits (else it would share
                # this command's connection)
                helper = asyncio.create_task(engine.get("t01"))
                helpers.append(helper)
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(helper), 0.3)
                return True

            engine.register_predicate("open_now", open_now)
            assert (await engine.fire("t00", "pass", actor="own")).version == 1
            assert (await asyncio.wait_for(helpers[0], 30)).version == 0  # then it ran

    run(scenario())


def test_a_command_waiting_for_a_task_of_its_own_gets_a_store_error_not_a_hang(
    make_store: Callable[[str], Any],
) -> None:
    url = make_store("sqlite").url

    async def scenario() -> None:
        store = AsyncSqlStore(url, upgrade=False, connections=1, timeout=0.3)
        async with engine_on(store) as engine:
            await started(engine, 2)

            async def open_now(t: Trajectory) -> bool:
                # the one lease is this command's: the task's call cannot get one
                return (await asyncio.create_task(engine.get("t01"))).version == 0

            engine.register_predicate("open_now", open_now)
            with pytest.raises(PredicateError, match=r"stayed busy for 0\.3 s"):
                await asyncio.wait_for(engine.fire("t00", "pass", actor="own"), 10)
            assert (await engine.get("t00")).version == 0

    run(scenario())


def test_the_sync_store_of_an_async_one_refuses_a_call_from_outside(
    make_store: Callable[[str], Any],
) -> None:
    url = make_store("sqlite").url

    async def scenario() -> None:
        async with engine_on(AsyncSqlStore(url, upgrade=False)) as engine:
            await started(engine, 1)
            with pytest.raises(StoreError, match="outside one of its calls"):
                engine.store.sync.load("t00")  # not awaited: never a connection by chance

    run(scenario())


def test_a_history_read_outside_a_call_uses_the_sync_driver_of_any_async_url(
    make_store: Callable[[str], Any],
) -> None:
    url = make_store("sqlite").url.replace("sqlite://", "sqlite+aiosqlite://")
    assert coachflow.store.aio.sync_url(url) == url.replace("sqlite+aiosqlite://", "sqlite://")

    async def scenario() -> Trajectory:
        async with engine_on(AsyncSqlStore(url, upgrade=False)) as engine:
            [tid] = await started(engine, 1)
            await engine.fire(tid, "tick", actor="own")
            t = await engine.get(tid)
            assert [r.event for r in t.history] == [None, "tick"]  # read here, outside a call
            return t

    run(scenario())


def test_a_url_that_cannot_be_read_never_shows_a_piece_of_its_password() -> None:
    for make in (AsyncSqlStore, coachflow.store.SqlStore):
        with pytest.raises(StoreError) as raised:
            make("postgresql://app:x9@q7:zr5k@h/db")  # an @ in the password, not escaped
        shown = str(raised.value)
        assert "zr5k" not in shown and "q7" not in shown and "x9" not in shown
        assert "'postgresql://app:***@h/db'" in shown
        with pytest.raises(StoreError) as keys:  # the key database's URL the same way
            make("sqlite:///:memory:", keys_url="postgresql://k:x9@q7:zr5k@h/keys")
        assert "zr5k" not in str(keys.value) and "q7" not in str(keys.value)


def test_the_sync_engine_refuses_an_async_listener() -> None:
    engine = SyncEngine([loads_definition(GATED)], clock=FixedClock(T0), plugins=False)

    async def heard(message: coachflow.Message) -> None:
        return None

    with pytest.raises(TypeError, match="AsyncEngine"):
        engine.subscribe(heard)
    engine.subscribe(lambda m: heard(m))  # hides the coroutine: closed, and logged
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = engine.start("gated", participants={"owner": "own"}, actor="own")
    assert t.version == 0


@pytest.mark.parametrize(
    "url", ["mysql://u@h/db", "postgresql+asyncpg://u@h/db", "sqlite+pysqlcipher:///x", "nonsense"]
)
def test_a_url_without_an_async_driver_is_one_store_error_at_construction(url: str) -> None:
    with pytest.raises(StoreError) as raised:
        AsyncSqlStore(url)
    assert "\n" not in str(raised.value)


def test_the_password_of_an_async_url_is_never_shown() -> None:
    with pytest.raises(StoreError) as raised:
        AsyncSqlStore("mysql://app:s3cret@h/db")
    assert "s3cret" not in str(raised.value)

    async def down() -> None:
        store = AsyncSqlStore("postgresql://app:s3cret@127.0.0.1:1/coaching")
        with pytest.raises(StoreError) as failed:
            await store.open()
        assert "s3cret" not in str(failed.value) and "***" in str(failed.value)
        assert "\n" not in str(failed.value)

    run(down())


def test_connections_is_a_number_of_at_least_one(tmp_path: Path) -> None:
    for bad in (0, -1, True, 2.5, "4"):
        with pytest.raises(ValueError):
            AsyncSqlStore(f"sqlite:///{tmp_path / 'x.db'}", connections=bad)  # type: ignore[arg-type]


def test_a_store_opens_once_however_many_ask_at_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = AsyncSqlStore(f"sqlite:///{tmp_path / 'new.db'}")
        with pytest.raises(StoreError, match="not open"):
            store.sync  # noqa: B018
        await asyncio.gather(*(store.open() for _ in range(5)))
        assert await store.revision() == coachflow.store.SCHEMA_REVISION
        assert await store.ids() == []
        await store.aclose()

    run(scenario())


def test_the_async_store_migrates_an_empty_database_or_refuses_it(empty_url: str) -> None:
    async def scenario() -> None:
        refusing = AsyncSqlStore(empty_url, upgrade=False)
        with pytest.raises(StoreError, match="coachflow db upgrade") as raised:
            await refusing.open()
        assert "\n" not in str(raised.value)
        async with AsyncSqlStore(empty_url) as store:  # the shipped Alembic migrations
            assert await store.revision() == coachflow.store.SCHEMA_REVISION
            assert (await store.check()).problems == []
        async with AsyncSqlStore(empty_url, upgrade=False) as again:
            assert await again.ids() == []

    run(scenario())


def test_a_store_serves_the_loop_that_opened_it_until_it_is_closed(tmp_path: Path) -> None:
    store = AsyncSqlStore(f"sqlite:///{tmp_path / 'loops.db'}")
    other = asyncio.new_event_loop()
    try:
        other.run_until_complete(store.open())
        with pytest.raises(StoreError, match="another event loop") as raised:
            run(store.ids())  # a second loop, while the first one still holds it
        assert "\n" not in str(raised.value)
        other.run_until_complete(store.aclose())
        assert run(store.ids()) == []  # closed there: this loop opens its own connections
    finally:
        other.close()
    run(store.aclose())


# --- concurrency -----------------------------------------------------------------------------


async def concurrent_fires(engine: AsyncEngine, ids: list[str], calls: int) -> dict[str, int]:
    """``calls`` fires at once on ``ids`` (chosen at random): how many were accepted and how
    many were refused as a VersionConflict, per trajectory."""
    counts = {tid: 0 for tid in ids}
    conflicts = 0
    chosen = random.Random(19)

    async def one(i: int) -> None:
        nonlocal conflicts
        tid = chosen.choice(ids)
        try:
            await engine.fire(tid, "tick", actor="own")
        except VersionConflict as exc:
            assert exc.trajectory_id == tid
            assert [r.code for r in exc.reasons] == ["version-conflict"]
            conflicts += 1
            return
        counts[tid] += 1

    await asyncio.gather(*(one(i) for i in range(calls)))
    assert sum(counts.values()) + conflicts == calls
    counts["conflicts"] = conflicts
    return counts


def test_200_concurrent_fires_from_one_loop_lose_and_double_nothing(
    make_async: Callable[[], Any], request: pytest.FixtureRequest
) -> None:
    kind = request.node.callspec.params["make_async"]

    async def scenario() -> dict[str, int]:
        async with engine_on(make_async()) as engine:
            ids = await started(engine, 20)
            counts = await concurrent_fires(engine, ids, 200)
            for tid in ids:
                t = await engine.get(tid)
                assert t.version == counts[tid] == t.facts["ticks"]  # none lost
                assert [r.seq for r in t.history] == list(range(t.version + 1))  # none twice
                assert t == await engine.replay(tid)
            messages = await engine.outbox.messages(limit=1000)
            assert len(messages) == 20 + sum(counts[tid] for tid in ids)
            return counts

    counts = run(scenario())
    if kind != "memory":  # the memory store never waits: each fire runs to its end at once
        assert counts["conflicts"] > 0  # they did run at once


ASYNC_WORKER = """\
import asyncio, json, sys

from coachflow import AsyncEngine, AsyncSqlStore, VersionConflict

url, folder, rounds = sys.argv[1:]


async def main():
    engine = AsyncEngine(folder, store=AsyncSqlStore(url, upgrade=False), plugins=False)
    await engine.open()
    ids = ["t%02d" % i for i in range(20)]
    counts = {"accepted": 0, "conflicts": 0}
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    async def one(i):
        try:
            await engine.fire(ids[i % 20], "tick", actor="own")
            counts["accepted"] += 1
        except VersionConflict:
            counts["conflicts"] += 1

    for _ in range(int(rounds)):
        await asyncio.gather(*(one(i) for i in range(200)))  # mostly on distinct ids at once
    await engine.aclose()
    print(json.dumps(counts), flush=True)


asyncio.run(main())
"""


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_four_processes_of_200_concurrent_fires_lose_and_double_nothing(
    kind: str, make_store: Callable[[str], Any], tmp_path: Path
) -> None:
    sync = make_store(kind)
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "gated.yaml").write_text(GATED, encoding="utf-8")
    engine = SyncEngine(folder, store=sync, plugins=False)
    for i in range(20):
        engine.start("gated", participants={"owner": "own"}, actor="own", trajectory_id=f"t{i:02}")
    script = tmp_path / "async_worker.py"
    script.write_text(ASYNC_WORKER, encoding="utf-8")
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), sync.url, str(folder), "3"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        for p in processes:  # every process has its engine open: start them together
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready", p.stderr and p.stderr.read()
        for p in processes:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in processes:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    accepted = sum(r["accepted"] for r in results)
    assert accepted + sum(r["conflicts"] for r in results) == 4 * 3 * 200
    assert sum(r["conflicts"] for r in results) > 0  # they did run at once
    written = 0
    for i in range(20):
        tid = f"t{i:02}"
        row, records = sync.load(tid), sync.history_of(tid)
        assert [r.seq for r in records] == list(range(row.version + 1)), tid  # none twice
        assert coachflow.replay(tid, records) == row, tid
        assert row.facts["ticks"] == row.version, tid
        written += row.version
    assert written == accepted  # none lost
