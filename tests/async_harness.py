"""The engine tests on :class:`coachflow.AsyncEngine`: COACHFLOW_TEST_ENGINE=async.

:class:`BlockingEngine` takes :class:`coachflow.Engine`'s arguments and runs every
command on an :class:`~coachflow.AsyncEngine`, each to its end on an event loop of its
own, so that a sync test reads like before and exercises the async engine: its async
store (a given :class:`~coachflow.MemoryStore` is shared through an
:class:`~coachflow.AsyncMemoryStore`; a given SQL store's database is opened again as an
:class:`~coachflow.AsyncSqlStore`, on aiosqlite or psycopg's async connections), its
awaited predicates and listeners. conftest installs it as ``coachflow.Engine`` for the
run. No copy of a test: the same suite, the other engine.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import coachflow
from coachflow.aio import AsyncEngine, AsyncOutbox
from coachflow.store.aio import AsyncMemoryStore, AsyncSqlStore, AsyncStore, wait

_LOOP: list[tuple[asyncio.AbstractEventLoop, threading.Thread]] = []
"""The running test's event loop and the thread that runs it (made by the first engine of
the test): every command is a task on it, from whichever thread the test calls it, so a
test's threads are tasks at once on one loop, as an async application's requests are."""
_STORES: dict[int, tuple[object, AsyncStore]] = {}
"""The async store of each store a test gave (by id, with the store kept alive): engines
on one store share it, as the sync ones share the store."""


def loop() -> asyncio.AbstractEventLoop:
    if not _LOOP:
        made = asyncio.new_event_loop()
        thread = threading.Thread(target=made.run_forever, name="async-harness", daemon=True)
        thread.start()
        _LOOP.append((made, thread))
    return _LOOP[0][0]


def complete(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` to its end on the test's loop and return its result. Called on the
    loop's own thread, it comes from a command's predicate or listener: awaited there."""
    if _LOOP and threading.current_thread() is _LOOP[0][1]:
        return wait(coro)
    return asyncio.run_coroutine_threadsafe(coro, loop()).result()


class Blocking:
    """A sync face of an async object: a coroutine method runs to its end on ``loop``;
    an async iterator is read to its end; an async part is given a face of its own."""

    def __init__(self, target: object, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        try:
            value = getattr(self._target, name)
        except AttributeError:
            if not name.startswith("_") or not hasattr(self._target, "_core"):
                raise
            return getattr(self._target._core, name)  # white-box tests read the core's parts
        if inspect.iscoroutinefunction(value):
            return self._blocking(value)
        if inspect.isasyncgenfunction(value):
            return self._drained(value)
        if isinstance(value, AsyncOutbox | AsyncStore):
            return Blocking(value, self._loop)
        return value

    def __setattr__(self, name: str, value: object) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._target, name, value)

    def _blocking(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            return complete(fn(*args, **kwargs))

        return call

    def _drained(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        async def drain(*args: Any, **kwargs: Any) -> list[Any]:
            return [item async for item in fn(*args, **kwargs)]

        def call(*args: Any, **kwargs: Any) -> Any:
            return iter(complete(drain(*args, **kwargs)))

        return call


def _async_store(store: Any) -> AsyncStore:
    if store is None:
        return AsyncMemoryStore()
    kept = _STORES.get(id(store))
    if kept is not None:
        return kept[1]
    from coachflow.store import SqlStore

    made: AsyncStore
    if isinstance(store, coachflow.MemoryStore):
        made = AsyncMemoryStore(store)
    elif isinstance(store, SqlStore):
        made = AsyncSqlStore(store.url, upgrade=False, keys_url=store._keys_url)
    else:
        raise TypeError(f"no async form of {type(store).__name__}")
    _STORES[id(store)] = (store, made)
    return made


class BlockingEngine(Blocking):
    """``coachflow.Engine``'s arguments; every command run on an AsyncEngine."""

    def __init__(self, definitions: Any = None, *, store: Any = None, **options: Any) -> None:
        self._given = store
        target = AsyncEngine(definitions, store=_async_store(store), **options)
        super().__init__(target, loop())
        complete(target.open())

    @property
    def store(self) -> Any:
        """The store given (the test reads it as it wrote it), else the async one's face."""
        if self._given is not None:
            return self._given
        return Blocking(self._target.store, self._loop)  # type: ignore[attr-defined]


def close_all() -> None:
    """After a test: close its async stores and its loop."""
    if not _LOOP:
        return
    while _STORES:
        _, (_, store) = _STORES.popitem()
        complete(store.aclose())
    running, thread = _LOOP.pop()
    running.call_soon_threadsafe(running.stop)
    thread.join()
    running.close()
