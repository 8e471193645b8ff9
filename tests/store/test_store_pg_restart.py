"""The store survives PostgreSQL restarts (issue 11), on a real server of its own.

Each test here runs against a throw-away PostgreSQL server that this module starts
(``initdb`` into a temporary directory, a free port on 127.0.0.1, password authentication)
and restarts the hard way: ``pg_ctl -m immediate stop`` (every server process is killed,
as in a crash; the next start recovers from the WAL), then ``pg_ctl start``. The shared
test server of ``COACHFLOW_TEST_POSTGRES_URL`` is never touched. Without the PostgreSQL
binaries the tests are skipped, loudly; in CI (``CI`` set) that is a failure.

The server runs with ``fsync=off``: a killed server process loses nothing the kernel
already has, and this machine does not crash in these tests.

* A long-lived engine keeps serving (``get``, ``fire``, ``start``, assignments, queries)
  across restarts: a dead pooled connection is discarded, never handed out again, and a
  read is done once more on a fresh connection.
* A commit on a connection that died is a ``StoreError`` saying so, never a driver error;
  repeating the same commit is safe (a ``VersionConflict`` if it was stored, never a
  second record).
* While the server is down every call is one ``StoreError`` line, and service resumes
  when it is back.
* 8 writer processes fire at 50 trajectories while the server is restarted: 0 lost and 0
  duplicated changes, and every row equals the replay of its history.
* Passwords never appear in a message (a wrong password, a server that is down).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import empty_postgres
from sqlalchemy import create_engine
from test_store_concurrency import (
    TICKER_YAML,
    TRAJECTORIES,
    WORKERS,
    check_store,
    go,
    prepare,
    results_of,
    running_workers,
)

import coachflow
from coachflow import Engine, MemoryStore, StoreError, VersionConflict
from coachflow.store import SqlStore

PASSWORD = "Restart-Secret-7f3e"  # the throw-away server's; no message may show it
DATABASE = "coachflow_restart"
SECONDS = 10.0 if os.environ.get("CI") else 6.0


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if found and Path(found[-1], "pg_ctl").exists():
        return Path(found[-1])
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """A PostgreSQL server in a temporary directory, to be stopped hard and started."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="coachflow-pg-restart-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.root = os.geteuid() == 0
        if self.root:  # initdb refuses to run as root: the server runs as postgres
            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        secret = self.folder / "password"
        secret.write_text(PASSWORD + "\n", encoding="utf-8")
        if self.root:
            os.chown(secret, user.pw_uid, user.pw_gid)
        self.run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={secret}",
        )
        self.start()
        admin = create_engine(self.url_of("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {DATABASE}")
        admin.dispose()
        self.url = self.url_of(DATABASE)

    def url_of(self, database: str, password: str = PASSWORD) -> str:
        return f"postgresql+psycopg://postgres:{password}@127.0.0.1:{self.port}/{database}"

    def run(self, program: str, *args: str) -> None:
        command = [str(self.binaries / program), *args]
        if self.root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, f"{program} failed: {done.stdout}{done.stderr}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c max_connections=100"
        )
        log = str(self.folder / "server.log")
        self.run(
            "pg_ctl", "-D", str(self.data), "-l", log, "-w", "-t", "60", "-o", options, "start"
        )

    def stop(self) -> None:
        """Every server process killed at once (a crash, as far as clients can tell)."""
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        subprocess.run(
            [
                *(["runuser", "-u", "postgres", "--"] if self.root else []),
                str(self.binaries / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    binaries = _binaries()
    reason = None
    if binaries is None:
        reason = (
            "NO POSTGRESQL BINARIES (initdb, pg_ctl): the restart tests need a server of their own"
        )
    elif os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            reason = "NO 'postgres' USER: as root, the restart tests run their server as postgres"
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL restart tests: {reason}")
        pytest.skip(reason)
    assert binaries is not None
    made = Server(binaries)
    try:
        yield made
    finally:
        made.remove()


@pytest.fixture
def store(server: Server) -> Iterator[SqlStore]:
    """A long-lived store on the server's (emptied) database."""
    opened = SqlStore(server.url)
    try:
        yield empty_postgres(opened)
    finally:
        opened.dispose()


def ids(count: int) -> list[str]:
    return [f"t{i:02}" for i in range(count)]


def test_a_long_lived_engine_keeps_serving_after_restarts(
    server: Server, store: SqlStore, tmp_path: Path
) -> None:
    engine = prepare(store, tmp_path / "defs", 6)
    with ThreadPoolExecutor(4) as pool:  # several pooled connections in both engines

        def busy(tid: str) -> None:
            engine.fire(tid, "tick", actor="w0")
            engine.assign(tid, "helper", f"h-{tid}-{engine.get(tid).version}", actor="own")
            engine.unassign(tid, "helper", engine.get(tid).participants["helper"][0], actor="own")

        for _ in range(2):
            list(pool.map(busy, ids(6)))
        before = {tid: engine.get(tid).version for tid in ids(6)}

        server.restart()
        # the first call after the restart is served (a read, done again on a fresh connection)
        assert engine.get("t00").version == before["t00"]
        assert engine.fire("t01", "tick", actor="w1").version == before["t01"] + 1
        assert engine.assign("t02", "helper", "h-new", actor="own").participants["helper"]
        assert len(engine.history("t03")) == before["t03"] + 1
        assert {t.id for t in store.find(definition_id="ticker")} == set(ids(6))
        assert {t.id for t in store.with_participant("w0")} == set(ids(6))
        assert engine.agenda_for("own", as_of="2026-09-01") is not None
        list(pool.map(busy, ids(6)))  # and from every pooled connection, in threads

        server.restart()  # the first call is a fire: its read finds the dead connection
        assert engine.fire("t04", "tick", actor="w0").version == engine.get("t04").version
        server.restart()  # ... a start: the writer tests its pooled connection first
        started = engine.start(
            "ticker", participants={"owner": "own"}, actor="own", trajectory_id="after"
        )
        assert engine.get("after") == started
        server.restart()  # ... a query of the SQLAlchemy path
        assert len(store.find(state="running")) == 7
    check_store(store)


def test_a_commit_on_a_dead_connection_is_a_store_error_and_safe_to_repeat(
    server: Server, store: SqlStore, tmp_path: Path
) -> None:
    prepare(store, tmp_path / "defs", 1)
    old = store.load("t00")
    definition = coachflow.loads_definition(TICKER_YAML)
    memory = MemoryStore()
    memory.create(old)
    new = Engine([definition], store=memory).fire("t00", "tick", actor="w0")
    assert new.version == old.version + 1

    server.restart()
    with pytest.raises(StoreError) as raised:  # its pooled connection is dead
        store.commit(new, expected_version=old.version)
    message = str(raised.value)
    assert len(message.splitlines()) == 1
    assert "connection was lost" in message and "reload" in message
    assert PASSWORD not in message and "postgres:***@" in message
    assert raised.value.__cause__ is not None
    assert "psycopg" in type(raised.value.__cause__).__module__

    # the same commit again: stored now (the first never got there) or refused
    with contextlib.suppress(VersionConflict):
        store.commit(new, expected_version=old.version)
    with pytest.raises(VersionConflict):  # and once it is stored, always refused
        store.commit(new, expected_version=old.version)
    records = store.history_of("t00")
    assert [r.seq for r in records] == list(range(new.version + 1))  # one record, not two
    assert store.load("t00") == new
    check_store(store)


def test_a_server_that_is_down_is_one_store_error_line_until_it_is_back(
    server: Server, store: SqlStore, tmp_path: Path
) -> None:
    engine = prepare(store, tmp_path / "defs", 2)
    engine.fire("t00", "tick", actor="w0")
    server.stop()
    try:
        calls = [
            lambda: engine.get("t00"),
            lambda: engine.fire("t00", "tick", actor="w0"),
            lambda: engine.assign("t01", "helper", "h", actor="own"),
            lambda: store.find(definition_id="ticker"),
            lambda: engine.start("ticker", participants={"owner": "own"}, actor="own"),
        ]
        for call in calls:
            with pytest.raises(StoreError) as raised:
                call()
            message = str(raised.value)
            assert len(message.splitlines()) == 1, message
            assert f"'postgresql+psycopg://postgres:***@127.0.0.1:{server.port}/" in message
            assert PASSWORD not in message
            assert raised.value.__cause__ is not None
        done = subprocess.run(
            [sys.executable, "-m", "coachflow", "list", "--db", server.url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 3, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
        assert PASSWORD not in done.stderr and "postgres:***@" in done.stderr
    finally:
        server.start()
    assert engine.get("t00").version == 1
    assert engine.fire("t00", "tick", actor="w0").version == 2
    assert engine.assign("t01", "helper", "h", actor="own").version == 1
    check_store(store)


def test_the_async_store_recovers_the_same_way(
    server: Server, store: SqlStore, tmp_path: Path
) -> None:
    """AsyncSqlStore (psycopg's async connections) is the sync store's code: a read after a
    restart is served on a fresh connection, a commit on a dead one is one StoreError line
    saying so, and a server that is down is one line until it is back."""
    prepare(store, tmp_path / "defs", 3)

    async def scenario() -> None:
        engine = coachflow.AsyncEngine(
            tmp_path / "defs", store=coachflow.AsyncSqlStore(server.url), plugins=False
        )
        async with engine:
            await asyncio.gather(*(engine.fire(t, "tick", actor="w0") for t in ids(3)))
            server.restart()
            assert (await engine.get("t00")).version == 1  # read again on a fresh connection
            assert (await engine.fire("t01", "tick", actor="w1")).version == 2
            done = await asyncio.gather(*(engine.fire(t, "tick", actor="w0") for t in ids(3)))
            assert [t.version for t in done] == [2, 3, 2]

            old = await engine.get("t02")
            memory = MemoryStore()
            memory.create(old)
            new = Engine([coachflow.loads_definition(TICKER_YAML)], store=memory).fire(
                "t02", "tick", actor="w0"
            )
            server.restart()
            with pytest.raises(StoreError) as raised:  # the lease's own connection is dead
                await engine.store.commit(new, expected_version=old.version)
            message = str(raised.value)
            assert len(message.splitlines()) == 1 and "connection was lost" in message
            assert PASSWORD not in message and "postgres:***@" in message
            with contextlib.suppress(VersionConflict):
                await engine.store.commit(new, expected_version=old.version)
            with pytest.raises(VersionConflict):
                await engine.store.commit(new, expected_version=old.version)

            server.stop()
            try:
                with pytest.raises(StoreError) as down:
                    await engine.fire("t00", "tick", actor="w0")
                assert len(str(down.value).splitlines()) == 1
                assert PASSWORD not in str(down.value)
            finally:
                server.start()
            assert (await engine.fire("t00", "tick", actor="w0")).version == 3

    asyncio.run(scenario())
    check_store(store)


def test_a_wrong_password_is_one_line_without_the_password(server: Server) -> None:
    wrong = "Not-The-Password-91c2"
    url = server.url_of(DATABASE, password=wrong)
    for upgrade in (True, False):
        with pytest.raises(StoreError) as raised:
            SqlStore(url, upgrade=upgrade)
        message = str(raised.value)
        assert len(message.splitlines()) == 1
        assert wrong not in message and PASSWORD not in message
        assert "postgres:***@" in message and "password authentication failed" in message
        assert raised.value.__cause__ is not None
    for command in (["list"], ["db", "upgrade"], ["db", "current"], ["db", "check"]):
        done = subprocess.run(
            [sys.executable, "-m", "coachflow", *command, "--db", url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 3, (command, done.stderr)
        assert done.stdout == ""
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("coachflow: error: ") and "postgres:***@" in line
        assert wrong not in line


# --- 8 writers and a restart in the middle ------------------------------------------------

RESTART_WORKER = """\
import json, random, sys, time

from coachflow import Engine, StoreError, VersionConflict
from coachflow.store import SqlStore

url, folder, seconds, number, count = sys.argv[1:]
me = "w" + number
rng = random.Random(int(number))
store = SqlStore(url, upgrade=False)
engine = Engine(folder, store=store)
ids = ["t%02d" % i for i in range(int(count))]
done = {"accepted": [], "conflicts": 0, "store_errors": 0, "unsure": 0, "after_error": 0}


def stored(tid, op):
    # whether a change that failed with StoreError was stored after all: reload and look
    while True:
        try:
            return any(
                op in (r.input.get("who"), r.input.get("note")) for r in engine.get(tid).history
            )
        except StoreError:
            time.sleep(0.05)  # the server is not back yet


print("ready", flush=True)
sys.stdin.readline()
deadline = time.monotonic() + float(seconds)
n = 0
# until the deadline, and (however slow the restart) on until 5 changes went in after it
while time.monotonic() < deadline or (done["store_errors"] and done["after_error"] < 5):
    n += 1
    op = "%s-%d" % (me, n)  # every change carries its own id: no record may lack or repeat one
    tid = rng.choice(ids)
    stamp = rng.random() < 0.8
    while True:
        try:
            if stamp:
                engine.fire(tid, "stamp", actor=me, input={"on": "2026-09-01", "who": op})
            else:
                engine.record_activity(tid, "mark", actor=me, input={"note": op})
        except VersionConflict:
            done["conflicts"] += 1
        except StoreError:
            done["store_errors"] += 1
            if not stored(tid, op):
                continue  # not stored: the same change again, on the reloaded trajectory
            done["unsure"] += 1
            done["accepted"].append(op)
        else:
            done["accepted"].append(op)
            if done["store_errors"]:
                done["after_error"] += 1
        break
store.dispose()
print(json.dumps(done), flush=True)
"""


def test_eight_writers_through_a_server_restart_lose_and_double_nothing(
    server: Server, store: SqlStore, tmp_path: Path
) -> None:
    prepare(store, tmp_path / "defs", TRAJECTORIES)
    script = tmp_path / "restart_worker.py"
    script.write_text(RESTART_WORKER, encoding="utf-8")
    arguments = [
        [server.url, str(tmp_path / "defs"), str(SECONDS), str(i), str(TRAJECTORIES)]
        for i in range(WORKERS)
    ]
    restarted = threading.Event()
    with running_workers(script, arguments) as processes:
        go(processes)
        time.sleep(SECONDS / 3)
        server.restart()
        restarted.set()
        results = results_of(processes, timeout=SECONDS + 180)
    assert restarted.is_set()

    records = check_store(store)  # rows = replay of their histories, no gaps, participants
    assert sorted(records) == ids(TRAJECTORIES)
    assert store.check().problems == []  # and coachflow db check agrees
    written = Counter(
        r.input.get("who") or r.input.get("note")
        for rs in records.values()
        for r in rs
        if r.kind != "started"
    )
    accepted = [op for r in results for op in r["accepted"]]
    assert len(accepted) == len(set(accepted))
    lost = set(accepted) - set(written)
    doubled = sorted(op for op, n in written.items() if n > 1)
    unknown = set(written) - set(accepted)
    assert (len(lost), len(doubled), len(unknown)) == (0, 0, 0), (lost, doubled, unknown)
    assert sum(written.values()) == len(accepted)
    # the restart fell in the middle of the run, and every writer went on after it
    assert sum(r["store_errors"] for r in results) > 0, results
    assert all(r["after_error"] > 0 for r in results if r["store_errors"]), results
    assert all(len(r["accepted"]) > 0 for r in results)
    print(
        f"\npostgresql restart: {WORKERS} processes, {SECONDS:.0f} s: {len(accepted)} accepted, "
        f"{sum(r['conflicts'] for r in results)} version conflicts, "
        f"{sum(r['store_errors'] for r in results)} store errors "
        f"({sum(r['unsure'] for r in results)} of them stored after all), 0 lost, 0 doubled"
    )


def test_the_urls_of_these_tests_carry_a_password(server: Server) -> None:
    assert f":{PASSWORD}@" in server.url  # so the masking above is tested for real
    assert json.dumps(server.url)
