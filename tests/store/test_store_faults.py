"""Databases that cannot be used, and the operators' commands (issue 11).

Every fault is a real one, and every command runs as a process (``python -m coachflow``):

* a database of a newer coachflow (an ``alembic_version`` this release does not know) and
  coachflow tables without any ``alembic_version``: one line, exit status 3, for every
  command, and ``StoreError`` with the same text from ``SqlStore``/``Engine``;
* SQLite files that are not databases, whose pages were overwritten, on a full disk (a
  tiny tmpfs, when this process may mount one; always also a database made full with
  ``PRAGMA max_page_count``), read-only (``chattr +i``, a read-only bind mount of the
  directory when mounting is allowed, and always a ``?mode=ro`` URL, which needs no
  privileges; as root, permission bits would not stop a write): one line naming the file
  and the problem, exit status 3, and nothing half-written;
* ``coachflow db current`` and ``coachflow db check``;
* no password in any message; ``StoreError`` in the exception tree; no driver exception
  out of the public API.

The PostgreSQL cases run on a new schema of the shared test server (skipped loudly when
none is configured outside CI). Restarts of a server are in test_store_pg_restart.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import postgres_url
from conftest import run_cli as cli
from sqlalchemy import create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from test_store_concurrency import TICKER_YAML

import coachflow
from coachflow import CoachflowError, Engine, FixedClock, StoreError
from coachflow.store import SCHEMA_REVISION, SqlStore, masked_url

T0 = "2026-09-01T09:00:00+00:00"
NO_SERVER = "NO POSTGRESQL SERVER: set COACHFLOW_TEST_POSTGRES_URL (see .ci/postgres.sh)"
SECRET = "confidential-note-5b1d"  # an input value no message may show


def one_error_line(done: subprocess.CompletedProcess[str], *parts: str) -> str:
    """The single line a failed command printed: exit status 3, no traceback, naming
    ``parts``."""
    assert done.returncode == 3, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    [line] = lines
    assert line.startswith("coachflow: error: "), line
    for part in parts:
        assert part in line, (part, line)
    assert SECRET not in line
    return line


@pytest.fixture
def definitions(tmp_path: Path) -> Path:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "ticker.yaml").write_text(TICKER_YAML, encoding="utf-8")
    return folder


@pytest.fixture
def database(empty_url: str) -> str:
    """The URL of an empty database (conftest's ``empty_url``: SQLite and PostgreSQL)."""
    return empty_url


def execute(url: str, *statements: str) -> None:
    """Run SQL on the database behind coachflow's back."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def filled(url: str, definitions: Path) -> None:
    """Two ticker trajectories with a few changes (one input value confidential)."""
    store = SqlStore(url)
    try:
        engine = Engine(definitions, store=store, clock=FixedClock(T0))
        for tid in ("t1", "t2"):
            engine.start(
                "ticker",
                participants={"owner": "own", "worker": ["w0", "w1"]},
                actor="own",
                trajectory_id=tid,
            )
            engine.fire(tid, "tick", actor="w0")
            engine.record_activity(tid, "mark", actor="w1", input={"note": SECRET})
            engine.assign(tid, "helper", "h1", actor="own")
    finally:
        store.dispose()


def commands(definitions: Path) -> list[list[str]]:
    """Every command that opens the database (their arguments only need to parse)."""
    defs = ["--definitions", str(definitions)]
    return [
        ["start", "ticker", "--as", "own", "--role", "owner=own", *defs],
        ["fire", "t1", "tick", "--as", "w0", *defs],
        ["grant", "t1", "share", "--as", "own", *defs],
        ["withdraw", "t1", "share", "--as", "own", *defs],
        ["record", "t1", "mark", "--as", "w0", "--input", f"note={SECRET}", *defs],
        ["assign", "t1", "helper", "h2", "--as", "own", *defs],
        ["unassign", "t1", "helper", "h1", "--as", "own", *defs],
        ["show", "t1", *defs],
        ["history", "t1", *defs],
        ["list", *defs],
        ["agenda", "--person", "own", *defs],
        ["migrate", "ticker", *defs],
        ["db", "upgrade"],
        ["db", "current"],
        ["db", "check"],
    ]


def cli_db(url: str) -> str:
    """What ``--db`` takes for ``url``: a plain path for an SQLite file."""
    return url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url


def revision_of(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [
                str(r[0]) for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")
            ]
    finally:
        engine.dispose()


# --- a newer coachflow's database ----------------------------------------------------------


def test_a_database_of_a_newer_coachflow_is_one_line_naming_both_revisions(
    database: str, definitions: Path
) -> None:
    filled(database, definitions)
    execute(database, "UPDATE alembic_version SET version_num = '9999'")
    expected = (
        f"the database {masked_url(database)!r} was created by a newer coachflow: its schema "
        f"is at revision 9999, which this coachflow does not know (its newest is "
        f"{SCHEMA_REVISION}); use a newer coachflow"
    )
    for make in (
        lambda: SqlStore(database),
        lambda: SqlStore(database, upgrade=False),
        lambda: Engine(store=SqlStore(database, upgrade=False)),
        lambda: SqlStore(database, check=True),
    ):
        with pytest.raises(StoreError) as raised:
            make()
        assert str(raised.value) == expected
    for command in commands(definitions):
        done = cli(*command, "--db", cli_db(database))
        line = one_error_line(done, "newer coachflow", "9999", SCHEMA_REVISION)
        assert line == f"coachflow: error: {expected}", command
    assert revision_of(database) == ["9999"]  # not touched (no upgrade tried)
    execute(database, f"UPDATE alembic_version SET version_num = '{SCHEMA_REVISION}'")
    check = cli("db", "check", "--db", cli_db(database))
    assert check.returncode == 0, check.stdout + check.stderr  # and nothing was written


def test_coachflow_tables_without_a_schema_revision_are_refused_clearly(database: str) -> None:
    execute(database, "CREATE TABLE cf_trajectories (id VARCHAR(200) PRIMARY KEY)")
    for upgrade in (True, False):
        with pytest.raises(StoreError) as raised:
            SqlStore(database, upgrade=upgrade)
        message = str(raised.value)
        assert "has coachflow tables but no schema revision (alembic_version)" in message
        assert "coachflow db upgrade" in message and "already exists" not in message
    for command in (["list"], ["db", "upgrade"], ["db", "current"], ["db", "check"]):
        done = cli(*command, "--db", cli_db(database))
        one_error_line(done, "no schema revision (alembic_version)", masked_url(database))
    engine = create_engine(database)
    try:
        from sqlalchemy import inspect

        assert set(inspect(engine).get_table_names()) == {"cf_trajectories"}  # as it was
    finally:
        engine.dispose()


# --- db current and db check -----------------------------------------------------------------


def test_db_current_tells_the_revision_and_whether_it_is_the_newest(
    database: str, definitions: Path
) -> None:
    db = cli_db(database)
    done = cli("db", "current", "--db", db)
    assert done.returncode == 1, done.stderr
    assert (
        done.stdout.strip() == f"{masked_url(database)}: no schema yet; run: coachflow db upgrade"
    )
    data = json.loads(cli("db", "current", "--db", db, "--format", "json").stdout)
    assert data == {
        "database": masked_url(database),
        "revision": None,
        "newest": SCHEMA_REVISION,
        "is_newest": False,
    }
    filled(database, definitions)
    done = cli("db", "current", "--db", db)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"{masked_url(database)}: schema at revision {SCHEMA_REVISION} (the newest)"
    )
    done = cli("db", "current", "--db", db, "--format", "json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["is_newest"] is True
    assert json.loads(done.stdout)["revision"] == SCHEMA_REVISION


def test_db_check_passes_a_sound_database_and_lists_every_problem(
    database: str, definitions: Path
) -> None:
    filled(database, definitions)
    db = cli_db(database)
    done = cli("db", "check", "--db", db)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == (
        f"{masked_url(database)}: ok (schema revision {SCHEMA_REVISION}, 2 trajectories checked)"
    )
    execute(
        database,
        # t1: its row one version ahead of its history
        "UPDATE cf_trajectories SET version = version + 1 WHERE id = 't1'",
        # t2: a state its history never went to, and a participant the row does not have
        "UPDATE cf_trajectories SET state = 'stopped' WHERE id = 't2'",
        # ... and a timer handled (so never due again) that its history never handled
        """UPDATE cf_trajectories SET timing = '{"handled": ["remind:x:P1W:coach"], "pauses": []}'
        WHERE id = 't2'""",
        "INSERT INTO cf_participants (trajectory_id, role, person) VALUES ('t2', 'helper', 'x')",
        # the schema: a column and an index of nobody, and a missing index
        "ALTER TABLE cf_trajectories ADD COLUMN extra VARCHAR(20)",
        "CREATE INDEX ix_nobody ON cf_history (actor)",
        "DROP INDEX ix_cf_trajectories_state",
    )
    done = cli("db", "check", "--db", db)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert sorted(lines[:-1]) == sorted(
        [
            "schema: column cf_trajectories.extra is not in this coachflow's schema",
            "schema: index ix_cf_trajectories_state (on cf_trajectories) is missing",
            "schema: index ix_nobody (on cf_history) is not in this coachflow's schema",
            "trajectory 't1': its row is at version 4, its last history record at 3",
            "trajectory 't2': replaying its history does not give its row (state, timing differ)",
            "trajectory 't2': the participants table does not match its row",
        ]
    )
    assert lines[-1] == (
        f"{masked_url(database)}: 6 problems (schema revision {SCHEMA_REVISION}, "
        "2 trajectories checked)"
    )
    assert SECRET not in done.stdout + done.stderr
    as_json = cli("db", "check", "--db", db, "--format", "json")
    assert as_json.returncode == 1
    data = json.loads(as_json.stdout)
    assert sorted(data["problems"]) == sorted(lines[:-1])
    assert (data["ok"], data["trajectories"], data["revision"]) == (False, 2, SCHEMA_REVISION)

    # a gap in a history (a record gone)
    execute(database, "DELETE FROM cf_history WHERE trajectory_id = 't1' AND seq = 2")
    done = cli("db", "check", "--db", db)
    assert (
        "trajectory 't1': its history is not numbered from 0 without gaps "
        "(record 2 is numbered 3)" in done.stdout.splitlines()
    )


def test_db_check_of_an_empty_database_says_to_upgrade(database: str) -> None:
    done = cli("db", "check", "--db", cli_db(database))
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == "the database has no schema; run: coachflow db upgrade"


# --- SQLite files that cannot be used ------------------------------------------------------


@pytest.fixture
def sqlite_file(tmp_path: Path, definitions: Path) -> Path:
    path = tmp_path / "team.db"
    filled(f"sqlite:///{path}", definitions)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def root_page(path: Path, name: str) -> tuple[int, int]:
    """The root page of a table or index, and the page size."""
    con = sqlite3.connect(path)
    try:
        page = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (name,)).fetchone()
        size = con.execute("PRAGMA page_size").fetchone()
        return int(page[0]), int(size[0])
    finally:
        con.close()


def overwrite(path: Path, first_page: int, pages: int, size: int, data: bytes = b"") -> None:
    """Pages ``first_page``... overwritten with ``data`` (default: one byte repeated)."""
    with path.open("r+b") as f:
        f.seek((first_page - 1) * size)
        f.write(data or b"\xa5" * (size * pages))


def unchanged_and_sound(path: Path, before: str) -> None:
    """The file was not written, and it is consistent."""
    assert digest(path) == before
    done = cli("db", "check", "--db", str(path))
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path, definitions: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    before = digest(path)
    for command in commands(definitions):
        one_error_line(cli(*command, "--db", str(path)), str(path), "file is not a database")
    assert digest(path) == before
    with pytest.raises(StoreError, match="file is not a database") as raised:
        SqlStore(f"sqlite:///{path}")
    assert isinstance(raised.value.__cause__, SQLAlchemyError | sqlite3.Error)


def test_a_damaged_file_is_refused_before_anything_is_written(
    sqlite_file: Path, definitions: Path
) -> None:
    # garbage on the root page of an index a 'fire' does not touch: without the check at
    # opening, the event would be written into the damaged file
    page, size = root_page(sqlite_file, "ix_cf_participants_person")
    overwrite(sqlite_file, page, 1, size)
    before = digest(sqlite_file)
    for command in commands(definitions):
        if command[:2] == ["db", "check"]:
            continue
        done = cli(*command, "--db", str(sqlite_file))
        one_error_line(done, str(sqlite_file), "is damaged", f"Page {page}", "nothing was written")
    assert digest(sqlite_file) == before
    with pytest.raises(StoreError, match="is damaged"):
        SqlStore(f"sqlite:///{sqlite_file}", check=True)
    # db check lists what is wrong, and changes nothing either
    done = cli("db", "check", "--db", str(sqlite_file))
    assert done.returncode == 1
    assert f"integrity_check: *** in database main *** Page {page}:" in done.stdout
    assert done.stdout.splitlines()[-1].startswith(f"sqlite:///{sqlite_file}: ")
    assert digest(sqlite_file) == before


def test_pages_overwritten_with_garbage_are_one_line_and_never_a_driver_error(
    sqlite_file: Path, definitions: Path
) -> None:
    page, size = root_page(sqlite_file, "cf_trajectories")
    overwrite(sqlite_file, page, 12, size, random.Random(11).randbytes(size * 12))
    before = digest(sqlite_file)
    for command in commands(definitions):
        done = cli(*command, "--db", str(sqlite_file))
        if command[:2] == ["db", "check"]:
            assert done.returncode == 1, done.stderr
            assert "Traceback" not in done.stderr
            continue
        one_error_line(done, str(sqlite_file))
    assert digest(sqlite_file) == before

    # the library: every call is a StoreError (or works), with the driver's error as cause
    url = f"sqlite:///{sqlite_file}"
    with pytest.raises(StoreError):
        SqlStore(url, check=True)
    every_call_is_a_store_error(url, definitions)


def every_call_is_a_store_error(url: str, definitions: Path) -> None:
    try:
        store = SqlStore(url, upgrade=False)
    except StoreError as exc:
        assert exc.__cause__ is not None
        return
    try:
        calls: list[Callable[[], Any]] = [
            lambda: store.load("t1"),
            lambda: list(store.ids()),
            lambda: store.find(definition_id="ticker"),
            lambda: list(store.with_participant("own")),
            lambda: store.history_of("t1"),
            lambda: store.stored_definitions(),
            lambda: store.remember_definition(coachflow.loads_definition(TICKER_YAML)),
            lambda: Engine(definitions, store=store).fire("t1", "tick", actor="w0"),
            lambda: Engine(definitions, store=store).start(
                "ticker", participants={"owner": "own"}, actor="own"
            ),
            lambda: store.check(),
        ]
        for call in calls:
            try:
                call()
            except CoachflowError as exc:
                if isinstance(exc, StoreError):
                    assert exc.__cause__ is not None
                    assert len(str(exc).splitlines()) == 1
            except (SQLAlchemyError, sqlite3.Error) as exc:  # pragma: no cover - the failure
                raise AssertionError(f"a driver error escaped: {exc!r}") from exc
    finally:
        store.dispose()


@contextlib.contextmanager
def mounted(what: list[str], target: Path, reason: str) -> Iterator[Path]:
    done = subprocess.run(["mount", *what, str(target)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"{reason}: mount {' '.join(what)} is not permitted here ({done.stderr!r})")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


def fill(disk: Path) -> Path:
    """Write zeros to ``disk`` until no byte is left; returns the filler file."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    return filler


def test_a_full_disk_is_one_line_and_writes_nothing_half(
    tmp_path: Path, sqlite_file: Path, definitions: Path
) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    reason = "NO TMPFS: the full-disk test needs root (CAP_SYS_ADMIN) to mount a tiny one"
    with mounted(["-t", "tmpfs", "-o", "size=1m", "tmpfs"], disk, reason):
        path = disk / "team.db"
        shutil.copyfile(sqlite_file, path)
        url = f"sqlite:///{path}"
        store = SqlStore(url)
        try:
            engine = Engine(definitions, store=store, clock=FixedClock(T0))
            engine.fire("t1", "tick", actor="w0")  # the -wal and -shm files exist now
            before = engine.get("t1")
            filler = fill(disk)
            with pytest.raises(StoreError) as raised:
                for _ in range(1000):
                    engine.record_activity("t1", "mark", actor="w1", input={"note": SECRET})
            message = str(raised.value)
            assert message.startswith(f"cannot write to the database {url!r}: ")
            assert "database or disk is full" in message and SECRET not in message
            assert isinstance(raised.value.__cause__, sqlite3.Error)
            with pytest.raises(StoreError):
                engine.start("ticker", participants={"owner": "own"}, actor="own")
            # a command on the full disk: one line
            done = cli("fire", "t1", "tick", "--as", "w0", "--db", str(path))
            one_error_line(done, str(path), "no space is left on its disk")
            filler.unlink()
            # the accepted changes are whole, the refused ones absent, and the same store
            # goes on once there is room again
            after = engine.get("t1")
            assert after.version >= before.version
            assert len(store.history_of("t1")) == after.version + 1
            check_store_sound(store)
            assert engine.fire("t1", "tick", actor="w0").version == after.version + 1
        finally:
            store.dispose()
        done = cli("db", "check", "--db", str(path))
        assert done.returncode == 0, done.stdout + done.stderr


def test_a_full_database_is_one_store_error_and_writes_nothing_half(
    sqlite_file: Path, definitions: Path
) -> None:
    """``PRAGMA max_page_count`` makes SQLite's own 'database or disk is full' without a
    full disk (this runs everywhere, also where no tmpfs can be mounted)."""
    store = SqlStore(f"sqlite:///{sqlite_file}")
    pages = sqlite3.connect(sqlite_file).execute("PRAGMA page_count").fetchone()[0]

    @event.listens_for(store._writer, "connect")
    def _limit(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    store._writer.dispose()  # its connections are opened again, with the limit
    try:
        engine = Engine(definitions, store=store, clock=FixedClock(T0))
        with pytest.raises(StoreError) as raised:
            for i in range(2000):
                engine.start(
                    "ticker",
                    participants={"owner": "own", "worker": [f"w{i}"]},
                    actor="own",
                    trajectory_id=f"n{i:05}-{'x' * 150}",
                )
        assert "database or disk is full" in str(raised.value)
        assert str(sqlite_file) in str(raised.value)
        with pytest.raises(StoreError, match="database or disk is full"):
            for _ in range(2000):
                engine.record_activity("t1", "mark", actor="w1", input={"note": SECRET * 40})
        check_store_sound(store)
    finally:
        store.dispose()
    done = cli("db", "check", "--db", str(sqlite_file))
    assert done.returncode == 0, done.stdout + done.stderr


def check_store_sound(store: SqlStore) -> None:
    report = store.check()
    assert report.problems == [], report.problems


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"NO chattr +i HERE ({done.stderr!r}): the immutable-file case is not run")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)


def read_only_cases(path: Path, db: str, definitions: Path) -> str:
    """Reading commands work; writing ones are one line, and nothing is written. Returns
    the digest of the file."""
    before = digest(path)
    defs = ("--definitions", str(definitions))  # versions it knows: nothing to record
    done = cli("list", "--db", db, *defs)
    assert done.returncode == 0, done.stderr
    assert "2 trajectories" in done.stdout
    assert cli("history", "t1", "--db", db, *defs).returncode == 0
    for command in (
        ["fire", "t1", "tick", "--as", "w0"],
        ["record", "t1", "mark", "--as", "w0", "--input", f"note={SECRET}"],
        ["assign", "t1", "helper", "h2", "--as", "own"],
        ["start", "ticker", "--as", "own", "--role", "owner=own"],
    ):
        done = cli(*command, "--db", db, *defs)
        one_error_line(done, "cannot write to the database", "attempt to write a readonly database")
    assert digest(path) == before
    return before


def test_a_read_only_file_serves_reads_and_refuses_writes_in_one_line(
    sqlite_file: Path, definitions: Path
) -> None:
    """As root, permission bits stop nothing: the file is made immutable (``chattr +i``)."""
    with immutable(sqlite_file):
        before = read_only_cases(sqlite_file, str(sqlite_file), definitions)
    unchanged_and_sound(sqlite_file, before)


def test_a_read_only_url_serves_reads_and_refuses_writes_in_one_line(
    sqlite_file: Path, definitions: Path
) -> None:
    url = f"sqlite:///file:{sqlite_file}?mode=ro&uri=true"
    before = read_only_cases(sqlite_file, url, definitions)
    done = cli("fire", "t1", "tick", "--as", "w0", "--db", url)
    assert url in done.stderr  # the URL as it was given
    unchanged_and_sound(sqlite_file, before)


def test_a_read_only_directory_is_one_line(
    tmp_path: Path, sqlite_file: Path, definitions: Path
) -> None:
    folder = sqlite_file.parent
    before = digest(sqlite_file)
    reason = "NO BIND MOUNT: the read-only-directory test needs root (CAP_SYS_ADMIN)"
    with mounted(["--bind", str(folder)], folder, reason):
        subprocess.run(
            ["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True, check=False
        )
        probe = folder / "probe"
        with contextlib.suppress(OSError):
            probe.write_text("x")
        if probe.exists():
            pytest.skip("NO READ-ONLY BIND MOUNT: the directory stayed writable")
        for command in (["list"], ["fire", "t1", "tick", "--as", "w0"]):
            done = cli(*command, "--db", str(sqlite_file))
            one_error_line(done, str(sqlite_file), "its directory is read-only")
    unchanged_and_sound(sqlite_file, before)


def test_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "x.db"
    done = cli("list", "--db", str(missing))
    one_error_line(done, str(missing), "no such directory")
    assert not missing.parent.exists()


# --- passwords, the exception tree, driver errors -----------------------------------------


def test_no_message_shows_a_password() -> None:
    password = "Hunter2-Very-Secret"
    url = f"postgresql+psycopg://ada:{password}@127.0.0.1:1/coachflow"
    shown = "postgresql+psycopg://ada:***@127.0.0.1:1/coachflow"
    assert masked_url(url) == shown
    assert masked_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    for upgrade in (True, False):
        with pytest.raises(StoreError) as raised:
            SqlStore(url, upgrade=upgrade)
        assert str(raised.value).startswith(f"cannot open the database {shown!r}: ")
        assert password not in str(raised.value)
        assert raised.value.__cause__ is not None
    for command in (["list"], ["db", "upgrade"], ["db", "current"], ["db", "check"]):
        done = cli(*command, "--db", url)
        line = one_error_line(done, shown)
        assert password not in line
    # a URL SQLAlchemy cannot read, with a password in it
    bad = f"postgresql+psycopg://ada:{password}@127.0.0.1:notaport/coachflow"
    with pytest.raises(StoreError) as raised:
        SqlStore(bad)
    assert password not in str(raised.value) and "ada:***@" in str(raised.value)
    done = cli("list", "--db", bad)
    assert password not in done.stderr and done.returncode == 3


def test_a_data_error_of_the_server_is_shown_without_the_value() -> None:
    url = postgres_url()
    if url is None:
        pytest.skip(NO_SERVER)
    from coachflow.store.sql import _reason

    engine = create_engine(url)
    try:
        with pytest.raises(SQLAlchemyError) as raised, engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT CAST('{SECRET}' AS integer)")
    finally:
        engine.dispose()
    assert SECRET in str(raised.value)  # what the driver says
    assert _reason(raised.value) == "invalid input syntax for type integer"


def test_store_error_is_a_coachflow_error_in_the_tree() -> None:
    import coachflow.errors
    import coachflow.store

    assert coachflow.StoreError is coachflow.errors.StoreError is coachflow.store.StoreError
    assert issubclass(StoreError, CoachflowError)
    assert "StoreError" in (coachflow.errors.__doc__ or "")


def test_the_newest_revision_is_the_one_the_code_needs() -> None:
    from coachflow.store.migrations import revisions

    assert revisions()[0] == SCHEMA_REVISION
