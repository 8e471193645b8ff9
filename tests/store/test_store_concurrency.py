"""The store under concurrent writers and killed processes (issue 7), on SQLite and
PostgreSQL.

* Concurrency: 8 processes fire events at the same 50 trajectories for a while (10 s in CI,
  3 s otherwise), each counting its accepted changes and its ``VersionConflict``s. After
  that every trajectory's replay equals its row, sequence numbers have no gaps, and the
  accepted changes are exactly the records written.
* Crash safety: a writer process is killed with SIGKILL at random moments, several
  times; after each kill every trajectory's row is the replay of its records, without gaps,
  and the participants table agrees with the rows.

Workers are separate Python processes (``subprocess``) running a small script written
to the test's temporary directory; no mocks.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import empty_postgres
from sqlalchemy import delete, func, insert, select

import coachflow
from coachflow import Engine, replay
from coachflow.store import SqlStore, content_hash
from coachflow.store import definitions as definitions_table
from coachflow.store import participants as participants_table

SECONDS = 10.0 if os.environ.get("CI") else 3.0
WORKERS = 8
TRAJECTORIES = 50

TICKER_YAML = """\
coachflow: 1
id: ticker
version: 1
roles:
  owner: {required: true}
  worker: {max: 8}
  helper: {assigned_by: [owner, worker], max: 3}
started_by: [owner]
facts:
  ticks: {type: int, default: 0}
  last: {type: date}
  by: {type: str}
consents:
  share: {granted_by: owner}
initial: running
states:
  running: {}
  stopped: {final: true}
activities:
  mark:
    by: [worker, owner]
    input:
      note: {type: str, visible_to: [owner]}
transitions:
  - event: tick
    from: running
    to: running
    by: [worker, owner]
    set:
      ticks: ticks + 1
  - event: stamp
    from: running
    to: running
    by: [worker, owner]
    input:
      on: {type: date, required: true}
      who: {type: str}
    set:
      last: input.on
      by: input.who
  - event: stop
    from: running
    to: stopped
    by: [owner]
"""

WORKER_SCRIPT = """\
import json, random, sys, time

from coachflow import Engine, VersionConflict
from coachflow.store import SqlStore

url, folder, seconds, number, count = sys.argv[1:]
me = "w" + number
rng = random.Random(int(number))
store = SqlStore(url, upgrade=False)
engine = Engine(folder, store=store)
ids = ["t%02d" % i for i in range(int(count))]
counts = {"accepted": 0, "conflicts": 0, "ticks": 0, "max_seconds": 0.0}
print("ready", flush=True)
sys.stdin.readline()
deadline = time.monotonic() + float(seconds)
while time.monotonic() < deadline:
    tid = rng.choice(ids)
    dice = rng.random()
    began = time.monotonic()
    try:
        if dice < 0.8:
            engine.fire(tid, "tick", actor=me)
            counts["ticks"] += 1
        elif dice < 0.9:
            engine.fire(tid, "stamp", actor=me, input={"on": "2026-09-01", "who": me})
        else:
            engine.record_activity(tid, "mark", actor=me, input={"note": me})
        counts["accepted"] += 1
    except VersionConflict:
        counts["conflicts"] += 1
    counts["max_seconds"] = max(counts["max_seconds"], time.monotonic() - began)
store.dispose()
print(json.dumps(counts), flush=True)
"""

CRASH_SCRIPT = """\
import random, sys

from coachflow import Engine, TransitionRejected
from coachflow.store import SqlStore

url, folder, seed = sys.argv[1:]
rng = random.Random(int(seed))
engine = Engine(folder, store=SqlStore(url, upgrade=False))
ids = ["t%02d" % i for i in range(10)]
print("ready", flush=True)
n = 0
while True:
    n += 1
    tid = rng.choice(ids)
    dice = rng.random()
    try:
        if dice < 0.3:
            engine.fire(tid, "tick", actor="own")
        elif dice < 0.4:
            engine.fire(tid, "stamp", actor="own", input={"on": "2026-09-02", "who": "x"})
        elif dice < 0.5:
            engine.record_activity(tid, "mark", actor="own", input={"note": "n"})
        elif dice < 0.7:
            helpers = engine.get(tid).participants["helper"]
            if len(helpers) < 3:
                engine.assign(tid, "helper", "h%d-%d" % (int(seed), n), actor="own")
            else:
                engine.unassign(tid, "helper", helpers[0], actor="own")
        elif dice < 0.8:
            granted = engine.get(tid).consents["share"]
            call = engine.withdraw_consent if granted else engine.grant_consent
            call(tid, "share", actor="own")
        else:
            engine.start(
                "ticker",
                participants={"owner": "own", "worker": ["w0", "w1"]},
                actor="own",
                trajectory_id="new-%s-%d" % (seed, n),
            )
    except TransitionRejected:
        pass
"""


# --- the databases ---------------------------------------------------------------------------


STORE_KINDS = ["sqlite", "postgresql"]
"""The stores the ``store`` fixture (tests/conftest.py) makes, one test run each."""


def prepare(store: SqlStore, folder: Path, count: int) -> Engine:
    """The ticker definition in ``folder`` and ``count`` trajectories t00, t01, ..."""
    folder.mkdir(exist_ok=True)
    (folder / "ticker.yaml").write_text(TICKER_YAML, encoding="utf-8")
    engine = Engine(folder, store=store)  # records the definition before the workers start
    workers = [f"w{i}" for i in range(WORKERS)]
    for i in range(count):
        engine.start(
            "ticker",
            participants={"owner": "own", "worker": workers},
            actor="own",
            trajectory_id=f"t{i:02}",
        )
    return engine


def stored_definitions(store: SqlStore) -> list[tuple[str, int]]:
    with store._reader.connect() as conn:
        rows = conn.execute(select(definitions_table.c.id, definitions_table.c.version))
        return sorted((r.id, r.version) for r in rows)


def check_store(store: SqlStore) -> dict[str, list[Any]]:
    """Every trajectory: replay of its records == its row, no gaps, participants table
    == row. Returns the records by trajectory id."""
    found: dict[str, list[Any]] = {}
    for tid in store.ids():
        row = store.load(tid)
        records = store.history_of(tid)
        assert [r.seq for r in records] == list(range(len(records))), tid
        assert row.version == len(records) - 1, tid
        assert replay(tid, records) == row, tid
        assert row.facts["ticks"] == sum(1 for r in records if r.event == "tick"), tid
        with store._reader.connect() as conn:
            people = {
                (r.role, r.person)
                for r in conn.execute(
                    select(participants_table.c.role, participants_table.c.person).where(
                        participants_table.c.trajectory_id == tid
                    )
                )
            }
        assert people == {(role, p) for role, ps in row.participants.items() for p in ps}, tid
        found[tid] = records
    return found


# --- concurrency -----------------------------------------------------------------------------


@contextlib.contextmanager
def running_workers(
    script: Path, arguments: list[list[str]]
) -> Iterator[list[subprocess.Popen[str]]]:
    """A process of ``script`` per argument list, each one started and 'ready' (its engine
    made); those still running on the way out are killed."""
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in arguments
    ]
    try:
        for p in processes:  # every worker has its engine: start them together
            assert p.stdout is not None and p.stdin is not None
            line = p.stdout.readline()
            assert line.strip() == "ready", p.stderr.read() if p.stderr else line
        yield processes
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()


def go(processes: list[subprocess.Popen[str]]) -> None:
    """Let every ready worker start, at once."""
    for p in processes:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()


def results_of(processes: list[subprocess.Popen[str]], timeout: float) -> list[dict[str, Any]]:
    """The JSON each worker prints last, once it has ended (with status 0)."""
    results = []
    for p in processes:
        out, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_eight_processes_firing_at_the_same_fifty_trajectories(
    store: SqlStore, tmp_path: Path
) -> None:
    prepare(store, tmp_path / "defs", TRAJECTORIES)
    with store._writer.begin() as conn:  # the workers' engines record it again, all at once
        conn.execute(delete(definitions_table))
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT, encoding="utf-8")
    arguments = [
        [store.url, str(tmp_path / "defs"), str(SECONDS), str(i), str(TRAJECTORIES)]
        for i in range(WORKERS)
    ]
    with running_workers(script, arguments) as processes:
        go(processes)
        results = results_of(processes, timeout=SECONDS + 120)

    assert stored_definitions(store) == [("ticker", 1)]
    accepted = sum(r["accepted"] for r in results)
    conflicts = sum(r["conflicts"] for r in results)
    ticks = sum(r["ticks"] for r in results)
    records = check_store(store)
    assert sorted(records) == [f"t{i:02}" for i in range(TRAJECTORIES)]
    written = sum(len(rs) - 1 for rs in records.values())  # all but the 'started' records
    assert written == accepted
    assert sum(1 for rs in records.values() for r in rs if r.event == "tick") == ticks
    by_actor = Counter(r.actor for rs in records.values() for r in rs if r.kind != "started")
    assert by_actor == {f"w{i}": r["accepted"] for i, r in enumerate(results)}
    assert all(r["accepted"] > 0 for r in results), results
    assert accepted >= 10 * WORKERS, (accepted, conflicts)
    # writers never wait long for each other (generous: the machine may be busy)
    assert max(r["max_seconds"] for r in results) < 30, results
    print(
        f"\n{'sqlite' if store.is_sqlite else 'postgresql'}: {WORKERS} processes, "
        f"{SECONDS:.0f} s: {accepted} accepted ({accepted / SECONDS:.0f}/s), "
        f"{conflicts} version conflicts"
    )


# --- crash safety ----------------------------------------------------------------------------


def test_a_writer_killed_at_random_moments_leaves_whole_changes(
    store: SqlStore, tmp_path: Path
) -> None:
    prepare(store, tmp_path / "defs", 10)
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT, encoding="utf-8")
    rng = random.Random(7)
    rounds = 6
    versions_seen = []
    for n in range(rounds):
        writer = subprocess.Popen(
            [sys.executable, str(script), store.url, str(tmp_path / "defs"), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert writer.stdout is not None
            line = writer.stdout.readline()
            assert line.strip() == "ready", writer.stderr.read() if writer.stderr else line
            time.sleep(rng.uniform(0.05, 0.8))
            assert writer.poll() is None, writer.stderr.read() if writer.stderr else ""
            writer.send_signal(signal.SIGKILL)
        finally:
            if writer.poll() is None:
                writer.kill()
            writer.wait(timeout=60)
        assert writer.returncode == -signal.SIGKILL
        records = check_store(store)
        versions_seen.append(sum(len(rs) for rs in records.values()))
        if store.is_sqlite:
            with store._reader.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    # every round got some changes in before it was killed
    assert versions_seen == sorted(versions_seen)
    assert versions_seen[-1] > versions_seen[0] > 10

    # after all the kills the store takes writers as before
    engine = Engine(tmp_path / "defs", store=store)
    t = engine.fire("t00", "tick", actor="own")
    assert engine.get("t00") == t
    assert replay("t00", store.history_of("t00")) == store.load("t00")


# --- definitions recorded by engines starting at the same time -------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_two_engines_recording_the_same_definition_at_once(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> None:
    """While one engine has inserted a definition but not committed yet, another engine
    records the same definition: it waits, then finds the same content (on PostgreSQL it
    once failed with a unique violation: engines starting at once on a new database)."""
    if kind == "sqlite":
        shutil.copyfile(sqlite_template, tmp_path / "race.db")
        url = f"sqlite:///{tmp_path / 'race.db'}"
    else:
        url = empty_postgres(request.getfixturevalue("postgres_store")).url
    first = SqlStore(url, upgrade=False)
    second = SqlStore(url, upgrade=False)
    request.addfinalizer(first.dispose)
    request.addfinalizer(second.dispose)
    definition = coachflow.loads_definition(TICKER_YAML)
    text, digest = content_hash(definition)
    errors: list[BaseException] = []

    def record() -> None:
        try:
            second.remember_definition(definition)
        except BaseException as exc:
            errors.append(exc)

    # the first engine is in the middle of recording the definition (not yet committed)
    with first._writer.connect() as conn:
        transaction = conn.begin()
        conn.execute(
            insert(definitions_table).values(
                id=definition.id,
                version=definition.version,
                content_hash=digest,
                content=text,
                recorded_at=datetime.now(UTC),
            )
        )
        thread = threading.Thread(target=record)
        thread.start()
        waiting_for_the_first(first)
        transaction.commit()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert errors == []
    with second._reader.connect() as conn:
        assert conn.execute(select(func.count()).select_from(definitions_table)).scalar() == 1
    Engine([definition], store=second)  # and an engine starts on it


def waiting_for_the_first(store: SqlStore) -> None:
    """Until the second engine waits for the first one's transaction (PostgreSQL: a
    session of this database waits for a lock; SQLite: give it a second to block)."""
    if store.is_sqlite:
        time.sleep(1.0)
        return
    deadline = time.monotonic() + 30
    with store._writer.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).scalar()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("the second engine never waited for the first one")
