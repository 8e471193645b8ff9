"""Shared, generic test helpers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import coachflow

# the documented outputs are the Dutch ones: a tester's English $LANG must not turn the
# titles of every command (coachflow --lang's default) into English
os.environ["LANG"] = "C.UTF-8"

Located = tuple[str, int, int]


QUIET = frozenset({"no-retention"})
"""Codes ``located`` leaves out: said of nearly every small test text that has a
confidential field (the tests of the check itself ask ``validate_text``)."""


def located(text: str | bytes) -> list[Located]:
    """``(code, line, column)`` of every diagnostic of a definition text (but
    :data:`QUIET`)."""
    return [
        (d.code, d.line, d.column) for d in coachflow.validate_text(text) if d.code not in QUIET
    ]


# --- which engine the engine tests run on ---------------------------------------------------
#
# COACHFLOW_TEST_ENGINE=sync (default) | async: with async, coachflow.Engine is, for the whole
# run, tests/async_harness.py's BlockingEngine: the same tests, every command run on a
# coachflow.AsyncEngine (on the store COACHFLOW_TEST_STORE names, opened through its async
# driver). Closed after each test.

ENGINE_KIND = os.environ.get("COACHFLOW_TEST_ENGINE", "sync")
if ENGINE_KIND == "async":
    sys.path.insert(0, str(Path(__file__).parent))
    import async_harness

    coachflow.Engine = async_harness.BlockingEngine  # type: ignore[misc, assignment]
elif ENGINE_KIND != "sync":
    raise RuntimeError(f"unknown COACHFLOW_TEST_ENGINE {ENGINE_KIND!r}")


@pytest.fixture(autouse=True)
def _close_async_engines() -> Iterator[None]:
    yield
    if ENGINE_KIND == "async":
        async_harness.close_all()


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> coachflow.FixedClock:
    """A fixed clock at the test module's ``CLOCK_AT`` (one fixture for every folder)."""
    return coachflow.FixedClock(request.module.CLOCK_AT)


@pytest.fixture
def engine(request: pytest.FixtureRequest, clock: coachflow.FixedClock) -> coachflow.Engine:
    """An engine serving the test module's ``DEFINITIONS`` on the shared ``clock``, with the
    module's ``PREDICATES`` (name -> callable, optional) registered (one fixture for every
    folder). Its store is the default one (``store=None``), so ``_engine_store`` below puts
    it on the store COACHFLOW_TEST_STORE names."""
    made = coachflow.Engine(request.module.DEFINITIONS, store=None, clock=clock)
    for name, predicate in getattr(request.module, "PREDICATES", {}).items():
        made.register_predicate(name, predicate)
    return made


@pytest.fixture
def diags() -> Callable[[str | bytes], list[Located]]:
    """``diags(text)``: ``(code, line, column)`` of every diagnostic of ``text``."""
    return located


# --- which store the engine tests run on ----------------------------------------------------
#
# COACHFLOW_TEST_STORE=memory (default) | sqlite | postgresql makes every Engine(store=None)
# in the tests use that store: a fresh SQLite file (copied from a migrated template) or the
# PostgreSQL database named by COACHFLOW_TEST_POSTGRES_URL, emptied for every engine. The
# library has no switch for this: the fixture below wraps Engine.__init__ for the test.

STORE_KIND = os.environ.get("COACHFLOW_TEST_STORE", "memory")


def postgres_url() -> str | None:
    """The test server's URL, or None (loudly) when none is reachable outside CI."""
    url = os.environ.get("COACHFLOW_TEST_POSTGRES_URL")
    if url:
        return url
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the PostgreSQL tests: COACHFLOW_TEST_POSTGRES_URL is unset")
    return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from coachflow.store import SqlStore

    path = tmp_path_factory.mktemp("template") / "template.db"
    store = SqlStore(f"sqlite:///{path}")
    store.dispose()
    return path


def copied_store(template: Path, path: Path) -> Any:
    """A SQLite store in a copy of the migrated ``template`` (faster than migrating)."""
    from coachflow.store import SqlStore

    shutil.copyfile(template, path)
    return SqlStore(f"sqlite:///{path}", upgrade=False)


@pytest.fixture(scope="session")
def postgres_store() -> Iterator[Any]:
    url = postgres_url()
    if url is None:
        pytest.skip("NO POSTGRESQL SERVER: set COACHFLOW_TEST_POSTGRES_URL (see .ci/postgres.sh)")
    from coachflow.store import SqlStore

    store = SqlStore(url)
    yield store
    store.dispose()


def empty_postgres(store: Any) -> Any:
    with store._writer.begin() as conn:
        conn.exec_driver_sql(
            "TRUNCATE cf_history, cf_participants, cf_trajectories, cf_definitions, "
            "cf_outbox_consumers, cf_keys CASCADE"
        )
    return store


@pytest.fixture
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[Callable[[str], Any]]:
    """``make_store(kind)``: a new, empty store of that kind (``memory``, ``sqlite``: a copy
    of the migrated template, or ``postgresql``: the emptied ``postgres_store``). The
    folders' ``store`` fixtures are made with it."""
    from coachflow.store import SqlStore

    opened: list[SqlStore] = []

    def make(kind: str) -> Any:
        if kind == "memory":
            return coachflow.MemoryStore()
        if kind == "sqlite":
            store = copied_store(sqlite_template, tmp_path / f"store-{len(opened)}.db")
            opened.append(store)
            return store
        if kind == "postgresql":
            return empty_postgres(request.getfixturevalue("postgres_store"))
        raise AssertionError(kind)

    yield make
    for store in opened:
        store.dispose()


@pytest.fixture
def store(request: pytest.FixtureRequest, make_store: Callable[[str], Any]) -> Any:
    """A new, empty store of each kind in the test module's ``STORE_KINDS`` (``memory``,
    ``sqlite``, ``postgresql``): the test runs once per kind (one fixture for every folder)."""
    kind = getattr(request, "param", None)
    if kind is None:
        raise RuntimeError(f"{request.module.__name__} uses the store fixture: set STORE_KINDS")
    return make_store(kind)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses ``store`` runs once per kind in its module's ``STORE_KINDS``."""
    kinds = getattr(metafunc.module, "STORE_KINDS", None)
    if kinds is not None and "store" in metafunc.fixturenames:
        metafunc.parametrize("store", kinds, indirect=True)


@pytest.fixture(autouse=True)
def _engine_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    if STORE_KIND == "memory":
        yield
        return

    opened: list[Any] = []
    if STORE_KIND == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        folder = tmp_path_factory.mktemp("db")

        def factory() -> Any:
            store = copied_store(template, folder / f"{len(opened)}.db")
            opened.append(store)
            return store

    elif STORE_KIND == "postgresql":
        shared = request.getfixturevalue("postgres_store")

        def factory() -> Any:
            # emptied once per test: engines of one test share the database, as two
            # application processes would
            if not opened:
                empty_postgres(shared)
            opened.append(shared)
            return shared

    else:
        raise RuntimeError(f"unknown COACHFLOW_TEST_STORE {STORE_KIND!r}")
    original = coachflow.Engine.__init__

    def with_test_store(self: Any, *args: Any, store: Any = None, **kwargs: Any) -> None:
        original(self, *args, store=store if store is not None else factory(), **kwargs)

    coachflow.Engine.__init__ = with_test_store  # type: ignore[method-assign]
    try:
        yield
    finally:
        coachflow.Engine.__init__ = original  # type: ignore[method-assign]
        if STORE_KIND == "sqlite":
            for store in opened:
                store.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a new SQLite file, or a new PostgreSQL schema on the
    test server (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url = postgres_url()
    if url is None:
        pytest.skip("NO POSTGRESQL SERVER: set COACHFLOW_TEST_POSTGRES_URL (see .ci/postgres.sh)")
    import uuid

    from sqlalchemy import create_engine

    schema = f"cf_empty_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def run_cli(
    *args: str, cwd: Path | None = None, lang: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The real ``coachflow`` command in a process of its own (bounded in time), without
    the caller's ``COACHFLOW_DB``, ``COACHFLOW_NOW`` and ``COACHFLOW_TZ``; ``lang``: its
    ``$LANG``."""
    mine = ("COACHFLOW_DB", "COACHFLOW_NOW", "COACHFLOW_TZ")
    env = {k: v for k, v in os.environ.items() if k not in mine}
    if lang is not None:
        env["LANG"] = lang
    return subprocess.run(
        [sys.executable, "-m", "coachflow", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )
