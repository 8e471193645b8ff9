"""The store port: everything the engine and the CLI ask of where trajectories live.

A store never calls back into the engine: what it indexes (``next_due``) is computed by
the engine and passed in. Every method is all or nothing: it does all it says, or it
raises and nothing of it was written. Every history record a store writes (``create``,
``commit``) also writes, in the same transaction, its ``trajectory.changed`` message to
the store's outbox (:mod:`coachflow.runtime.outbox`), which consumers read with
``claim`` and ``ack``. A database that cannot be used raises
:class:`~coachflow.errors.StoreError` from any method.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple, Protocol

from coachflow.runtime.access_log import AccessEntry
from coachflow.runtime.outbox import Message
from coachflow.runtime.trajectory import Trajectory

if TYPE_CHECKING:
    from coachflow.definition.model import Definition


class Change(NamedTuple):
    """One trajectory's change for :meth:`Store.commit_batch`: what :meth:`Store.commit`
    takes."""

    trajectory: Trajectory
    expected_version: int
    next_due: date | None = None
    next_timer: date | None = None


BATCH_KINDS = frozenset({"event", "activity", "consent_granted", "consent_withdrawn", "timer"})
"""The record kinds a batch may write (none changes the participants or the definition
version): the worker's ``timer`` records and the events its timeouts fire."""


class Store(Protocol):
    """Where an engine keeps trajectories and the definition versions they run on."""

    def create(
        self,
        trajectory: Trajectory,
        *,
        next_due: date | None = None,
        next_timer: date | None = None,
    ) -> None:
        """Keep a new trajectory (its history holds the 'started' record); ``next_due``
        is the earliest due date of its agenda, kept for queries by date; ``next_timer``
        the first day one of its timers is due, the worker's index (:meth:`due`). All or
        nothing:
        :class:`~coachflow.errors.TrajectoryExists` when the id is taken, and then
        nothing is written."""
        ...

    def load(self, trajectory_id: str) -> Trajectory:
        """The newest snapshot; :class:`~coachflow.errors.UnknownTrajectory` when there is
        none. A read: it changes nothing."""
        ...

    def commit(
        self,
        trajectory: Trajectory,
        *,
        expected_version: int,
        next_due: date | None = None,
        next_timer: date | None = None,
    ) -> None:
        """Replace the snapshot at ``expected_version`` by ``trajectory`` (its new records
        are those after ``expected_version``), with ``next_due`` as its new earliest due
        date and ``next_timer`` as the first day a timer of it is due. A ``timer`` record
        writes two messages: its ``trajectory.changed`` and its notice
        (:func:`~coachflow.runtime.outbox.timer_message`). All or nothing: the snapshot
        and every new record, or none of them;
        :class:`~coachflow.errors.VersionConflict` when the stored version differs, and
        :class:`~coachflow.errors.UnknownTrajectory` when there is none, and then nothing
        is written."""
        ...

    def erase_values(self, trajectory_id: str, classes: Sequence[str]) -> int:
        """From now on every value of ``classes`` (``confidential``, ``personal``; see
        :mod:`coachflow.runtime.privacy`) of the trajectory reads as
        :data:`~coachflow.runtime.privacy.ERASED`, for every reader, and a value of them
        written later is kept as erased; a SQL store deletes their keys. Idempotent: how
        many of the classes were erased by this call. The ``erased`` record that proves
        it is the caller's to commit (after this)."""
        ...

    def commit_batch(self, changes: Sequence[Change]) -> list[bool]:
        """:meth:`commit` each change whose trajectory is still at its expected version,
        all in one transaction: per change True when it was written, False when its
        trajectory is at another version or gone (and nothing of it was written). All or
        nothing as a whole: when the transaction fails, none is written and it raises.
        Only records of :data:`BATCH_KINDS` (ValueError otherwise)."""
        ...

    def due(self, today: date, *, limit: int) -> list[str]:
        """Up to ``limit`` ids of trajectories whose ``next_timer`` is on or before
        ``today``, the earliest first: found through the index, never by reading every
        trajectory. A read: it changes nothing."""
        ...

    def ids(self) -> Iterator[str]:
        """The id of every stored trajectory (read at once: later writes do not change
        what the iterator yields)."""
        ...

    def with_participant(self, person: str) -> Iterator[Trajectory]:
        """Every trajectory in which ``person`` holds a role. A read: it changes nothing."""
        ...

    def stored_definitions(self) -> list[Definition]:
        """Every definition version recorded with :meth:`remember_definition`, by this
        process or an earlier one (also those whose files are gone). A read: it changes
        nothing."""
        ...

    def remember_definition(self, definition: Definition) -> None:
        """Record a definition version's content, once. All or nothing: a version
        already recorded with the same content is left as it is; one recorded with
        another content is refused with the
        :func:`~coachflow.errors.definition_changed` error (a changed definition needs a
        new version), and nothing is written."""
        ...

    def log_reads(self, entries: Sequence[AccessEntry]) -> None:
        """Append ``entries`` to the access log (see :mod:`coachflow.runtime.access_log`),
        in their order. The log is append-only: nothing ever changes or removes an
        entry. All or nothing: every entry, or none of them."""
        ...

    def access_log(self, trajectory_id: str) -> tuple[AccessEntry, ...]:
        """Every entry of the access log about ``trajectory_id``, in the order they were
        appended (none for a trajectory nobody read). A read: it changes nothing."""
        ...

    def claim(self, consumer: str, *, limit: int, lease: timedelta, now: datetime) -> list[Message]:
        """Up to ``limit`` (1 to 10,000) messages of the outbox that ``consumer`` has not
        acknowledged and holds no lease on that runs after ``now``, oldest first; each is
        now claimed by it until ``now + lease`` (a message not acknowledged by then is
        handed out again, its ``attempts`` one more). Consumers of one name share the
        messages (two claims at once never get the same one while its lease runs); each
        name gets every message. ValueError for a bad consumer name or limit."""
        ...

    def ack(self, consumer: str, message_ids: Sequence[int], *, now: datetime) -> int:
        """Acknowledge ``message_ids`` for ``consumer`` (claimed or not): never handed to
        it again. How many were not acknowledged before. All or nothing: ValueError when
        one names no message, and then nothing is acknowledged."""
        ...

    def outbox(
        self, *, consumer: str | None = None, after: int = 0, limit: int = 100
    ) -> list[Message]:
        """Up to ``limit`` messages with an id after ``after``, oldest first; with
        ``consumer``, only those it has not acknowledged (``attempts``: how often it was
        handed each, 0 for never). A read: it changes nothing."""
        ...


def check_batch(changes: Sequence[Change]) -> None:
    """ValueError unless every change of a batch carries only :data:`BATCH_KINDS` records,
    those since its expected version, and no trajectory comes twice."""
    seen: set[str] = set()
    for t, expected, _, _ in changes:
        records = t.records_since(expected)
        if len(records) != t.version - expected:
            raise ValueError("the new snapshot does not carry the records since the old one")
        if any(r.kind not in BATCH_KINDS for r in records):
            raise ValueError("a batch writes only events, activities, consents and timers")
        if t.id in seen:
            raise ValueError(f"trajectory {t.id!r} is twice in one batch")
        seen.add(t.id)
