"""The engine for asyncio applications: :class:`AsyncEngine`, the same commands as
:class:`~coachflow.engine.Engine`, awaited.

There is one engine. An :class:`AsyncEngine` holds an :class:`~coachflow.engine.Engine`
(its core) and runs each command of it on the async store's sync face
(:mod:`coachflow.store.aio`), where every driver call hands its I/O to the event loop.
So every command loads, decides (the pure ``decide_*`` functions, ``transitions``
deciding each event), applies and commits exactly as the sync engine does, and raises
the same exceptions with the same reasons: only the waiting differs. Predicates and
listeners may be ``async def``; they are awaited where the sync engine calls them.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from coachflow.clock import Clock
from coachflow.definition.plain import DEFAULT_LANGUAGE
from coachflow.engine import DueReport, Engine, Outbox
from coachflow.errors import CoachflowError
from coachflow.runtime.outbox import Message
from coachflow.runtime.trajectory import Trajectory
from coachflow.store.aio import AsyncMemoryStore, AsyncStore, pause, seconds, wait

if TYPE_CHECKING:
    from coachflow.calendar import SchoolCalendar
    from coachflow.definition.model import Definition
    from coachflow.files.loading import DefinitionSource

__all__ = ["MAX_PASSES", "AsyncEngine", "AsyncOutbox"]

log = logging.getLogger("coachflow.engine")

MAX_PASSES = 1000
"""The most ``run_due`` batches in one pass of :meth:`AsyncEngine.work` (as the CLI's)."""

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _awaited(fn: Callable[..., object]) -> Callable[..., object]:
    """``fn`` as sync code calls it: an awaitable it returns is awaited (:func:`wait`)."""

    @functools.wraps(fn)
    def call(*args: object) -> object:
        result = fn(*args)
        return wait(result) if inspect.isawaitable(result) else result

    return call


def _command(
    method: Callable[Concatenate[Engine, _P], _T],
) -> Callable[Concatenate[AsyncEngine, _P], Coroutine[Any, Any, _T]]:
    """The awaited form of the engine's ``method``: run on the core by the store."""

    async def command(self: AsyncEngine, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        core = await self._ready()
        result: _T = await self.store.run(functools.partial(method, core, *args, **kwargs))
        return result

    command.__name__ = command.__qualname__ = method.__name__
    command.__doc__ = method.__doc__
    command.__wrapped__ = method  # type: ignore[attr-defined]  # its signature, for inspect
    return command


class AsyncOutbox:
    """:class:`~coachflow.engine.Outbox`, awaited (:attr:`AsyncEngine.outbox`), with
    :meth:`stream` for a consumer that runs as a task."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _outbox(self) -> Outbox:
        return (await self._engine._ready()).outbox

    async def claim(
        self, consumer: str, limit: int = 100, *, lease: timedelta = timedelta(minutes=5)
    ) -> list[Message]:
        """See :meth:`Outbox.claim <coachflow.engine.Outbox.claim>`."""
        outbox = await self._outbox()
        return await self._engine.store.run(outbox.claim, consumer, limit, lease=lease)

    async def ack(self, consumer: str, message_ids: Sequence[int]) -> int:
        """See :meth:`Outbox.ack <coachflow.engine.Outbox.ack>`."""
        outbox = await self._outbox()
        return await self._engine.store.run(outbox.ack, consumer, message_ids)

    async def messages(
        self, *, consumer: str | None = None, after: int = 0, limit: int = 100
    ) -> list[Message]:
        """See :meth:`Outbox.messages <coachflow.engine.Outbox.messages>`."""
        outbox = await self._outbox()
        return await self._engine.store.run(
            outbox.messages, consumer=consumer, after=after, limit=limit
        )

    async def stream(
        self,
        consumer: str,
        *,
        batch: int = 100,
        lease: timedelta = timedelta(minutes=5),
        poll: float = 1.0,
        stop: asyncio.Event | None = None,
    ) -> AsyncIterator[Message]:
        """``async for message in engine.outbox.stream("mailer"): ...``: every message
        ``consumer`` has not acknowledged, oldest first, claimed ``batch`` at a time. A
        message is acknowledged when the loop asks for the next one, so one whose handling
        raised (or whose task was cancelled) is not: it is handed out again when its lease
        ends. With nothing to hand out it waits ``poll`` seconds and claims again; it ends
        when ``stop`` is set (after the message being handled) or the task is cancelled."""
        seconds("poll", poll)  # the lease is checked by the first claim
        while stop is None or not stop.is_set():
            messages = await self.claim(consumer, batch, lease=lease)
            for message in messages:
                yield message
                await self.ack(consumer, [message.id])
                if stop is not None and stop.is_set():
                    return
            if not messages:
                await pause(poll, stop)


class AsyncEngine:
    """Runs trajectories of a set of definitions, for asyncio applications.

    The arguments are :class:`~coachflow.engine.Engine`'s, with an async ``store``
    (:class:`~coachflow.store.aio.AsyncSqlStore`, or by default an
    :class:`~coachflow.store.aio.AsyncMemoryStore`). Constructing it reads the
    definitions and nothing of the store: the first command opens the store (or
    ``await engine.open()``). Every command of :class:`Engine` is a coroutine here, with
    the same arguments, results and exceptions; :meth:`trajectories` is an async
    iterator. Close it with :meth:`aclose`, or use ``async with AsyncEngine(...) as
    engine``.
    """

    def __init__(
        self,
        definitions: DefinitionSource | None = None,
        *,
        store: AsyncStore | None = None,
        clock: Clock | None = None,
        calendar: SchoolCalendar | None = None,
        plugins: bool = True,
        language: str = DEFAULT_LANGUAGE,
    ) -> None:
        if store is not None and not isinstance(store, AsyncStore):
            raise TypeError(
                f"an AsyncEngine runs on an async store (AsyncSqlStore, AsyncMemoryStore), "
                f"not {type(store).__name__}"
            )
        self.store: AsyncStore = store if store is not None else AsyncMemoryStore()
        self._core = Engine._unattached(
            definitions, clock=clock, calendar=calendar, plugins=plugins, language=language
        )
        self._attached = False
        self._attaching: asyncio.Lock | None = None
        self.outbox = AsyncOutbox(self)
        """The store's outbox, awaited (:class:`AsyncOutbox`)."""

    # -- opening and closing --

    async def _ready(self) -> Engine:
        if not self._attached:
            await self.open()
        return self._core

    async def open(self) -> None:
        """Open the store and read the definition versions it holds (done by the first
        command when not awaited before; idempotent)."""
        if self._attached:
            return
        if self._attaching is None:
            self._attaching = asyncio.Lock()
        async with self._attaching:
            if not self._attached:
                face = await self.store.opened()
                await self.store.run(self._core._attach, face)
                self._attached = True

    async def aclose(self) -> None:
        """Close the store's connections."""
        await self.store.aclose()

    async def __aenter__(self) -> AsyncEngine:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- what needs no store --

    @property
    def clock(self) -> Clock:
        return self._core.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self._core.clock = clock

    @property
    def calendar(self) -> SchoolCalendar | None:
        return self._core.calendar

    @property
    def language(self) -> str:
        return self._core.language

    @property
    def definitions(self) -> Mapping[str, Definition]:
        """The newest version of every loaded definition, by id."""
        return self._core.definitions

    def definition(self, definition_id: str, version: int | None = None) -> Definition:
        """A loaded definition (the newest version unless ``version`` is given)."""
        return self._core.definition(definition_id, version)

    def add_definition(self, definition: Definition) -> None:
        """Make a definition version available (checked and compiled once)."""
        self._core.add_definition(definition)

    def next_due(self, trajectory: Trajectory) -> date | None:
        """See :meth:`Engine.next_due <coachflow.engine.Engine.next_due>`."""
        return self._core.next_due(trajectory)

    def register_predicate(
        self, name: str, fn: Callable[[Any], bool] | Callable[[Any], Awaitable[bool]]
    ) -> None:
        """Register the predicate definitions call as ``name()`` in guards: a plain or an
        ``async def`` function of the trajectory snapshot, returning a bool (awaited)."""
        if not callable(fn):
            raise TypeError(f"predicate {name!r} must be callable")
        self._core._predicates[name] = _awaited(fn)  # type: ignore[assignment]

    def subscribe(self, listener: Callable[[Message], object]) -> Callable[[], None]:
        """See :meth:`Engine.subscribe <coachflow.engine.Engine.subscribe>`; an ``async
        def`` listener is awaited, after the commit, before the command returns."""
        if not callable(listener):
            raise TypeError(f"a listener must be callable, not {type(listener).__name__}")
        return self._core.subscribe(_awaited(listener))

    async def trajectories(self) -> AsyncIterator[Trajectory]:
        """Every stored trajectory."""
        await self._ready()
        for tid in await self.store.ids():
            yield await self.store.load(tid)

    # -- the commands, awaited --

    get = _command(Engine.get)
    history = _command(Engine.history)
    access_log = _command(Engine.access_log)
    export_person = _command(Engine.export_person)
    erase = _command(Engine.erase)
    erase_person = _command(Engine.erase_person)
    purge = _command(Engine.purge)
    replay = _command(Engine.replay)
    allowed_events = _command(Engine.allowed_events)
    allowed_activities = _command(Engine.allowed_activities)
    explain = _command(Engine.explain)
    start = _command(Engine.start)
    fire = _command(Engine.fire)
    record_activity = _command(Engine.record_activity)
    grant_consent = _command(Engine.grant_consent)
    withdraw_consent = _command(Engine.withdraw_consent)
    assign = _command(Engine.assign)
    unassign = _command(Engine.unassign)
    migrate = _command(Engine.migrate)
    plan_migration = _command(Engine.plan_migration)
    suspend = _command(Engine.suspend)
    resume = _command(Engine.resume)
    run_due = _command(Engine.run_due)
    agenda = _command(Engine.agenda)
    agenda_for = _command(Engine.agenda_for)

    async def work(
        self,
        *,
        every: float = 60.0,
        limit: int = 1000,
        stop: asyncio.Event | None = None,
        report: Callable[[DueReport], object] | None = None,
    ) -> None:
        """The worker as a task, as ``coachflow worker`` runs: a pass of :meth:`run_due`
        now and then every ``every`` seconds, until ``stop`` is set or the task is
        cancelled. A pass runs batches of ``limit`` while a full one handled something (at
        most :data:`MAX_PASSES`). A pass that fails (the database is away) is logged and
        tried again at the next; ``report`` (plain or ``async def``) is given each batch's
        :class:`DueReport`."""
        seconds("every", every)
        while stop is None or not stop.is_set():
            try:
                for _ in range(MAX_PASSES):
                    done = await self.run_due(limit=limit)
                    if report is not None:
                        told = report(done)
                        if inspect.isawaitable(told):
                            await told
                    if not done.more or not (done.handled or done.conflicts):
                        break
                    if stop is not None and stop.is_set():
                        break
            except CoachflowError as exc:  # the store, or the engine: tried again next pass
                log.error("the worker's pass failed (tried again in %s s): %s", every, exc)
            await pause(every, stop)
