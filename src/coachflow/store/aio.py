"""Stores for asyncio applications: :class:`AsyncSqlStore` (SQLite through ``aiosqlite``,
PostgreSQL through psycopg's async connections) and :class:`AsyncMemoryStore`.

They are the sync stores' code, run with awaited I/O: every call runs the sync store's
method in a greenlet (SQLAlchemy's ``greenlet_spawn``, what its own asyncio extension is
built on), whose driver calls hand their I/O to the event loop and wait there. So the
schema, the Alembic migrations, the optimistic version check, the one-statement
PostgreSQL commit, the sealing and the recovery from a lost connection are the ones of
:class:`~coachflow.store.sql.SqlStore`, not a second copy. :func:`wait` awaits from such
sync code (the async engine's predicates and listeners).

Each call holds one of ``connections`` leases while it runs: the lease keeps the driver
connection of the hot path (load and commit) that a thread keeps in the sync store, so
that concurrent tasks never share one; a call waits for a free lease.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import importlib.util
import types
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from coachflow.errors import StoreError
from coachflow.runtime.trajectory import HistoryRecord, Trajectory
from coachflow.store.memory import MemoryStore
from coachflow.store.port import Store

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine as SqlEngine

    from coachflow.store.sql import SqlStore, StoreCheck

__all__ = [
    "AsyncMemoryStore",
    "AsyncSqlStore",
    "AsyncStore",
    "async_url",
    "pause",
    "seconds",
    "spawn",
    "sync_url",
    "wait",
]

_P = ParamSpec("_P")
_T = TypeVar("_T")

_MISSING = (
    "the async engine needs the greenlet package: pip install 'coachflow[async]'"
    " (SQLAlchemy's asyncio extension and aiosqlite)"
)


@functools.cache
def _bridge() -> tuple[Callable[..., Awaitable[Any]], Callable[[Awaitable[Any]], Any]]:
    """SQLAlchemy's ``greenlet_spawn`` and ``await_`` (``await_only`` in 2.0), found once."""
    if importlib.util.find_spec("greenlet") is None:  # SQLAlchemy's message names its own extra
        raise ImportError(_MISSING)
    from sqlalchemy.util import concurrency

    await_ = getattr(concurrency, "await_", None) or concurrency.await_only
    return concurrency.greenlet_spawn, await_


async def spawn(fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run the sync ``fn`` in a greenlet of its own; its I/O (and :func:`wait`) is awaited
    on the running event loop."""
    result: _T = await _bridge()[0](fn, *args, **kwargs)
    return result


def wait(awaitable: Awaitable[_T]) -> _T:
    """Await ``awaitable`` from sync code run by :func:`spawn` (a predicate, a listener)."""
    result: _T = _bridge()[1](awaitable)
    return result


def seconds(name: str, value: object) -> float:
    """``value`` as a number of seconds above 0 (ValueError naming ``name`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name}: a number of seconds above 0, not {value!r}")
    return float(value)


async def pause(duration: float, stop: asyncio.Event | None) -> None:
    """Wait ``duration`` seconds, or less when ``stop`` is set meanwhile."""
    if stop is None:
        await asyncio.sleep(duration)
        return
    try:
        await asyncio.wait_for(stop.wait(), duration)
    except TimeoutError:
        return


def async_url(url: str) -> str:
    """``url`` with the asyncio driver of its database: ``aiosqlite`` for SQLite, psycopg's
    async connections for PostgreSQL (``postgresql://``, ``postgresql+psycopg://``).
    ValueError for another database or driver."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite", "aiosqlite"):
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg", "psycopg_async"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(
        f"the async store runs on sqlite:// (aiosqlite) and postgresql:// (psycopg), "
        f"not {parsed.drivername}"
    )


def sync_url(url: str) -> str:
    """``url`` with the sync driver of its database (what :func:`async_url` undoes)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    backend, _, driver = parsed.drivername.partition("+")
    if driver == "aiosqlite":
        parsed = parsed.set(drivername="sqlite")
    elif driver == "psycopg_async":
        parsed = parsed.set(drivername=f"{backend}+psycopg")
    return parsed.render_as_string(hide_password=False)


def _held(var: contextvars.ContextVar[types.SimpleNamespace]) -> types.SimpleNamespace | None:
    """The lease the running task holds in a call of the store of ``var`` (inside its
    greenlet), else None: a task made during a call inherits the variable, never the lease."""
    held = var.get(None)
    if held is None or held.task is None:
        return None
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop in this thread
        return None
    if held.task is not task:
        return None
    current = _getcurrent()()
    return held if getattr(current, "__sqlalchemy_greenlet_provider__", False) else None


@functools.cache
def _getcurrent() -> Callable[[], object]:
    getcurrent: Callable[[], object] = importlib.import_module("greenlet").getcurrent
    return getcurrent


class _TaskLocal:
    """``threading.local``'s face over the lease of the running call: the sync store keeps
    its connection of the hot path in attribute ``own`` of this. Outside a call of the
    store by the task that holds the lease it is a StoreError, never another task's
    connection."""

    __slots__ = ("_var",)

    def __init__(self, var: contextvars.ContextVar[types.SimpleNamespace]) -> None:
        object.__setattr__(self, "_var", var)

    def _lease(self) -> types.SimpleNamespace:
        held = _held(self._var)
        if held is None:
            raise StoreError(
                "the async store was used outside one of its calls (await its methods, or "
                "the engine's)"
            )
        return held

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lease(), name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(self._lease(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._lease(), name)


def _port(
    method: Callable[Concatenate[Any, _P], _T],
) -> Callable[Concatenate[AsyncStore, _P], Coroutine[Any, Any, _T]]:
    """The async form of the port's ``method``: the sync store's, run by :meth:`AsyncStore.run`."""
    name = method.__name__

    async def call(self: AsyncStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        face = await self.opened()
        result: _T = await self.run(getattr(face, name), *args, **kwargs)
        return result

    call.__name__ = call.__qualname__ = name
    call.__doc__ = method.__doc__
    call.__wrapped__ = method  # type: ignore[attr-defined]  # its signature, for inspect
    return call


class AsyncStore:
    """What the async stores share: the port's methods as coroutines, each run on the
    sync store (:attr:`sync`) by :meth:`run`."""

    def __init__(self) -> None:
        self._face: Store | None = None
        self._opening: asyncio.Lock | None = None

    @property
    def sync(self) -> Store:
        """The sync store the calls run on (only inside :meth:`run`, where its I/O is
        awaited); a :class:`StoreError` before :meth:`open`."""
        if self._face is None:
            raise StoreError("the async store is not open yet: await store.open() first")
        return self._face

    async def opened(self) -> Store:
        """The sync store, opened first when it is not yet."""
        if self._face is None:
            await self.open()
        return self.sync

    async def open(self) -> None:
        """Connect (and, for a SQL store, check or upgrade its schema). Done by the first
        call when not awaited before; idempotent."""
        if self._face is not None:
            return
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._face is None:
                self._face = await self._open()

    async def _open(self) -> Store:
        raise NotImplementedError

    async def run(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """``fn(*args, **kwargs)``, sync code using this store, with its I/O awaited."""
        return await spawn(fn, *args, **kwargs)

    async def aclose(self) -> None:
        """Close every connection (a later call opens new ones)."""

    async def __aenter__(self) -> AsyncStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the port, awaited --
    create = _port(Store.create)
    load = _port(Store.load)
    commit = _port(Store.commit)
    erase_values = _port(Store.erase_values)
    commit_batch = _port(Store.commit_batch)
    due = _port(Store.due)
    stored_definitions = _port(Store.stored_definitions)
    remember_definition = _port(Store.remember_definition)
    log_reads = _port(Store.log_reads)
    access_log = _port(Store.access_log)
    claim = _port(Store.claim)
    ack = _port(Store.ack)
    outbox = _port(Store.outbox)

    async def ids(self) -> list[str]:
        """The id of every stored trajectory."""
        face = await self.opened()
        return await self.run(lambda: list(face.ids()))

    async def with_participant(self, person: str) -> list[Trajectory]:
        """Every trajectory in which ``person`` holds a role."""
        face = await self.opened()
        return await self.run(lambda: list(face.with_participant(person)))


class AsyncMemoryStore(AsyncStore):
    """A :class:`~coachflow.store.memory.MemoryStore` for async engines (tests, short-lived
    processes): ``AsyncMemoryStore(store)`` shares an existing one."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        super().__init__()
        self.memory = store if store is not None else MemoryStore()
        self._face = self.memory

    async def _open(self) -> Store:
        return self.memory


class AsyncSqlStore(AsyncStore):
    """Trajectories in SQLite (``aiosqlite``) or PostgreSQL (psycopg, async): the
    :class:`~coachflow.store.sql.SqlStore` of ``url`` with every option of it, its I/O
    awaited. Constructing it checks the URL and connects to nothing; :meth:`open` (or the
    first call) connects and checks or upgrades the schema. At most ``connections`` calls
    run at once (each with a driver connection of its own for load and commit; the others
    wait). Close it with :meth:`aclose` (or ``async with``)."""

    def __init__(
        self,
        url: str,
        *,
        upgrade: bool = True,
        echo: bool = False,
        synchronous_commit: bool = True,
        check: bool = False,
        require_schema: bool = True,
        keys_url: str | None = None,
        connections: int = 10,
        timeout: float = 30.0,
    ) -> None:
        super().__init__()
        from coachflow.store.sql import masked_url, readable_url

        self.url = url
        self.shown = masked_url(url)
        for given in (url, keys_url):
            if given is None:
                continue
            readable_url(given)
            try:
                async_url(given)
            except ValueError as exc:  # its reason names the driver only
                raise StoreError(
                    f"cannot use the database URL {masked_url(given)!r}: {exc}"
                ) from exc
        if isinstance(connections, bool) or not isinstance(connections, int) or connections < 1:
            raise ValueError(f"connections: a number of at least 1, not {connections!r}")
        self._wait = seconds("timeout", timeout)
        """How long a call waits for a free connection before it is a StoreError."""
        self._options: dict[str, Any] = {
            "upgrade": upgrade,
            "echo": echo,
            "synchronous_commit": synchronous_commit,
            "check": check,
            "require_schema": require_schema,
            "keys_url": keys_url,
        }
        self._lease: contextvars.ContextVar[types.SimpleNamespace] = contextvars.ContextVar(
            "coachflow_store_lease"
        )
        self._idle: list[types.SimpleNamespace] = []
        self._leases: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        """The event loop whose calls hold the connections (the one that opened them)."""
        self._size = connections

    @property
    def sync(self) -> SqlStore:
        face = super().sync
        return face  # type: ignore[return-value]

    async def _open(self) -> Store:
        lease = self._lease
        options = self._options

        def make() -> SqlStore:
            return _face_class()(lease, self.url, **options)

        return await self.run(make)

    async def run(self, fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        loop = asyncio.get_running_loop()
        if self._leases is None or self._loop is not loop:
            if self._loop is not None and self._loop is not loop and not self._loop.is_closed():
                raise StoreError(
                    f"the async store of {self.shown!r} is in use by another event loop: its "
                    "connections belong to the loop that opened them (await store.aclose() "
                    "there first)"
                )
            self._loop = loop
            self._leases = asyncio.Semaphore(self._size)
            self._idle = []
        task = asyncio.current_task()
        outer = self._lease.get(None)
        if outer is not None and outer.task is task:
            # a call made while a call of this task runs (a predicate or listener awaiting a
            # command): the outer one waits for it, so it shares the outer's lease; waiting
            # for a lease of its own could wait for ever when every lease is such an outer one
            return await spawn(fn, *args, **kwargs)
        try:
            if self._leases.locked():  # only a wait needs the timer (and its task)
                await asyncio.wait_for(self._leases.acquire(), self._wait)
            else:
                await self._leases.acquire()
        except TimeoutError:
            raise StoreError(
                f"cannot use the database {self.shown!r}: all {self._size} connections of the "
                f"async store stayed busy for {self._wait:g} s (raise connections=, or look "
                "for commands that wait for tasks of their own)"
            ) from None
        try:
            held = self._idle.pop() if self._idle else types.SimpleNamespace()
            held.task = task  # a task made meanwhile inherits the variable, not the lease
            token = self._lease.set(held)
            try:
                return await spawn(fn, *args, **kwargs)
            finally:
                held.task = None
                self._lease.reset(token)
                self._idle.append(held)
        finally:
            self._leases.release()

    async def aclose(self) -> None:
        if self._face is not None:
            await self.run(self.sync.dispose)
        self._loop = None  # its connections are closed: another loop may open new ones

    # -- what SqlStore adds to the port --
    async def revision(self) -> str | None:
        face = await self.opened()
        return await self.run(face.revision)  # type: ignore[attr-defined]

    async def schema_status(self) -> str:
        face = await self.opened()
        return await self.run(face.schema_status)  # type: ignore[attr-defined]

    async def upgrade(self) -> None:
        face = await self.opened()
        await self.run(face.upgrade)  # type: ignore[attr-defined]

    async def check(self) -> StoreCheck:
        face = await self.opened()
        return await self.run(face.check)  # type: ignore[attr-defined]

    async def history_of(self, trajectory_id: str, upto: int | None = None) -> list[Any]:
        face = await self.opened()
        return await self.run(face.history_of, trajectory_id, upto)  # type: ignore[attr-defined]


@functools.cache
def _face_class() -> Callable[..., SqlStore]:
    """The sync store of :class:`AsyncSqlStore`: SqlStore on the asyncio drivers, its
    connection of the hot path kept per lease."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from coachflow.store.sql import SqlStore

    class _AsyncFace(SqlStore):
        def __init__(
            self,
            lease: contextvars.ContextVar[types.SimpleNamespace],
            url: str,
            **options: Any,
        ) -> None:
            self._lease_var = lease
            self._reading: SqlStore | None = None
            super().__init__(url, **options)

        def _create_engine(self, url: str, **options: Any) -> SqlEngine:
            return create_async_engine(async_url(url), **options).sync_engine

        def _slot(self) -> Any:
            return _TaskLocal(self._lease_var)

        def history_of(self, trajectory_id: str, upto: int | None = None) -> list[HistoryRecord]:
            """A snapshot reads its stored history when it is first looked at (as the
            sync store's do: a fire never reads it). Inside a call that read is awaited;
            outside any (the application reads ``t.history`` of a snapshot a command
            returned) nothing can be awaited, so it is one blocking read, through the
            sync driver, of the records up to the snapshot's version. ``await
            engine.history(id)`` reads them awaited."""
            if _held(self._lease_var) is not None:
                return super().history_of(trajectory_id, upto)
            return self._blocking().history_of(trajectory_id, upto)

        def _blocking(self) -> SqlStore:
            """The sync store of that read, on the sync driver (opened on first use)."""
            with self._owned_lock:
                if self._reading is None:
                    keys = None if self._keys_url is None else sync_url(self._keys_url)
                    self._reading = SqlStore(
                        sync_url(self.url), upgrade=False, keys_url=keys, require_schema=False
                    )
                return self._reading

        def dispose(self) -> None:
            super().dispose()
            with self._owned_lock:
                reading, self._reading = self._reading, None
            if reading is not None:
                reading.dispose()

    return _AsyncFace
