"""An in-memory store: for tests and short-lived processes."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from coachflow.errors import (
    TrajectoryExists,
    UnknownTrajectory,
    definition_changed,
    version_conflict,
)
from coachflow.runtime.access_log import AccessEntry
from coachflow.runtime.outbox import (
    Message,
    change_message,
    check_after,
    check_consumer,
    check_ids,
    check_limit,
    timer_message,
)
from coachflow.runtime.privacy import SealPlan, eras, scrubbed, seal_plan
from coachflow.runtime.trajectory import HistoryRecord, Trajectory, replay
from coachflow.store.port import Change, check_batch

if TYPE_CHECKING:
    from coachflow.definition.model import Definition


class MemoryStore:
    """Keeps trajectories in memory: for tests and short-lived processes. Thread-safe.

    It keeps no agenda index, so ``next_due`` is accepted and not kept (``next_timer``,
    the worker's index, is kept: :meth:`due` reads it); the definitions
    it stores are those remembered in it, the access log a list per trajectory, and the
    outbox a list of every change with each consumer's claims, for as long as it lives."""

    def __init__(self) -> None:
        self._items: dict[str, Trajectory] = {}
        self._definitions: dict[tuple[str, int], tuple[Definition, str]] = {}
        self._log: dict[str, list[AccessEntry]] = {}
        self._lock = threading.Lock()
        self._message_ids: list[str] = []
        self._message_records: list[HistoryRecord] = []
        """The outbox, as two lists (no object per message): the trajectory id and the
        record of each message; its id is its index + 1, its definition the trajectory's."""
        self._claims: dict[str, dict[int, tuple[datetime, int, bool]]] = {}
        """Per consumer, per message id: (claimed until, attempts, acknowledged)."""
        self._done: dict[str, int] = {}
        """Per consumer: how many messages from the first are all acknowledged."""
        self._notices: dict[int, bool] = {}
        """The ids of the notice messages of ``timer`` records (the other message of a
        record is its ``trajectory.changed``)."""
        self._next_timer: dict[str, date] = {}
        """The worker's index: the first day a timer of a trajectory is due."""
        self._erased: dict[str, set[str]] = {}
        """Per trajectory, the classes of values erased (:meth:`erase_values`)."""

    def _tell(self, trajectory_id: str, records: Sequence[HistoryRecord]) -> None:
        """The outbox messages of ``records`` (under the lock)."""
        for r in records:  # the record is shared
            self._message_ids.append(trajectory_id)
            self._message_records.append(r)
        for r in records:  # the notices after the changes, as the SQL store writes them
            if r.kind == "timer":
                self._message_ids.append(trajectory_id)
                self._message_records.append(r)
                self._notices[len(self._message_records)] = True

    def _index(self, trajectory_id: str, next_timer: date | None) -> None:
        if next_timer is None:
            self._next_timer.pop(trajectory_id, None)
        else:
            self._next_timer[trajectory_id] = next_timer

    def create(
        self,
        trajectory: Trajectory,
        *,
        next_due: date | None = None,
        next_timer: date | None = None,
    ) -> None:
        with self._lock:
            if trajectory.id in self._items:
                raise TrajectoryExists(f"trajectory {trajectory.id!r} already exists")
            self._items[trajectory.id] = trajectory
            self._tell(trajectory.id, trajectory.history)
            self._index(trajectory.id, next_timer)

    def load(self, trajectory_id: str) -> Trajectory:
        try:
            return self._items[trajectory_id]
        except KeyError:
            raise UnknownTrajectory(f"no trajectory {trajectory_id!r}") from None

    def commit(
        self,
        trajectory: Trajectory,
        *,
        expected_version: int,
        next_due: date | None = None,
        next_timer: date | None = None,
    ) -> None:
        with self._lock:
            current = self._items.get(trajectory.id)
            if current is None:
                raise UnknownTrajectory(f"no trajectory {trajectory.id!r}")
            if current.version != expected_version:
                raise version_conflict(
                    trajectory.id, expected=expected_version, actual=current.version
                )
            if trajectory.id in self._erased:
                trajectory = self._scrubbed(trajectory)
            self._items[trajectory.id] = trajectory
            self._tell(trajectory.id, trajectory.records_since(expected_version))
            self._index(trajectory.id, next_timer)

    def erase_values(self, trajectory_id: str, classes: Sequence[str]) -> int:
        """From now on every value of ``classes`` of the trajectory reads as ERASED (its
        history is rewritten in memory, where no copy of it stays); how many of the
        classes were erased now."""
        with self._lock:
            current = self._items.get(trajectory_id)
            if current is None:
                raise UnknownTrajectory(f"no trajectory {trajectory_id!r}")
            known = self._erased.setdefault(trajectory_id, set())
            new = set(classes) - known
            known.update(new)
            self._items[trajectory_id] = self._scrubbed(current)
        return len(new)

    def _scrubbed(self, t: Trajectory) -> Trajectory:
        """``t`` with every value of its erased classes as ERASED (under the lock)."""
        classes = self._erased[t.id]
        plans: dict[int, SealPlan] = {}
        for (definition_id, version), (definition, _) in self._definitions.items():
            if definition_id == t.definition_id:
                plans[version] = seal_plan(definition)
        records = [scrubbed(r, plan, classes) for r, plan in eras(t, plans)]
        if all(a is b for a, b in zip(records, t.history, strict=True)):
            return t
        return replay(t.id, records)

    def commit_batch(self, changes: Sequence[Change]) -> list[bool]:
        check_batch(changes)
        written = []
        with self._lock:
            for t, expected, _, next_timer in changes:
                current = self._items.get(t.id)
                if current is None or current.version != expected:
                    written.append(False)
                    continue
                self._items[t.id] = self._scrubbed(t) if t.id in self._erased else t
                self._tell(t.id, t.records_since(expected))
                self._index(t.id, next_timer)
                written.append(True)
        return written

    def ids(self) -> Iterator[str]:
        return iter(list(self._items))

    def due(self, today: date, *, limit: int) -> list[str]:
        """Up to ``limit`` trajectories with a timer due on or before ``today``, the
        earliest first."""
        check_limit(limit, "trajectories")
        with self._lock:
            found = [(day, tid) for tid, day in self._next_timer.items() if day <= today]
        found.sort()
        return [tid for _, tid in found[:limit]]

    def with_participant(self, person: str) -> Iterator[Trajectory]:
        for t in list(self._items.values()):
            if t.roles_of(person):
                yield t

    def stored_definitions(self) -> list[Definition]:
        """The definition versions remembered in this store, by id and version."""
        with self._lock:
            return [d for _, (d, _) in sorted(self._definitions.items())]

    def remember_definition(self, definition: Definition) -> None:
        """Keep a definition version; a changed content under a remembered version is
        refused (:func:`~coachflow.errors.definition_changed`), as by the SQL store."""
        key = definition.key
        known = self._definitions.get(key)
        if known is not None and known[0] is definition:
            return
        from coachflow.store.codec import content_hash

        digest = content_hash(definition)[1]
        with self._lock:
            known = self._definitions.setdefault(key, (definition, digest))
        if known[1] != digest:
            raise definition_changed(*key)

    def log_reads(self, entries: Sequence[AccessEntry]) -> None:
        """Append ``entries`` to the access log (append-only); :class:`UnknownTrajectory`
        when one names no stored trajectory, and then nothing is written."""
        if not entries:
            return
        with self._lock:
            unknown = sorted({e.trajectory_id for e in entries} - self._items.keys())
            if unknown:
                raise UnknownTrajectory(f"no trajectory {', '.join(map(repr, unknown))}")
            for entry in entries:
                self._log.setdefault(entry.trajectory_id, []).append(entry)

    def access_log(self, trajectory_id: str) -> tuple[AccessEntry, ...]:
        """The access log of one trajectory, in the order it was appended."""
        with self._lock:
            return tuple(self._log.get(trajectory_id, ()))

    # -- the outbox --

    def _message(self, number: int, attempts: int) -> Message:
        """The message of id ``number`` (under the lock)."""
        tid = self._message_ids[number - 1]
        record = self._message_records[number - 1]
        definition_id = self._items[tid].definition_id
        if number in self._notices:
            return timer_message(number, tid, definition_id, record, attempts)
        return change_message(number, tid, definition_id, record, attempts)

    def claim(self, consumer: str, *, limit: int, lease: timedelta, now: datetime) -> list[Message]:
        """Up to ``limit`` messages ``consumer`` has not acknowledged and holds no
        running lease on, oldest first, each now claimed by it until ``now + lease``."""
        check_consumer(consumer)
        check_limit(limit)
        until = now + lease
        found: list[Message] = []
        with self._lock:
            messages = self._message_records
            claims = self._claims.setdefault(consumer, {})
            for index in range(self._done.get(consumer, 0), len(messages)):
                number = index + 1
                held = claims.get(number)
                attempts = 0
                if held is not None:
                    if held[2] or held[0] > now:
                        continue
                    attempts = held[1]
                claims[number] = (until, attempts + 1, False)
                found.append(self._message(number, attempts + 1))
                if len(found) == limit:
                    break
        return found

    def ack(self, consumer: str, message_ids: Sequence[int], *, now: datetime) -> int:
        """Acknowledge messages for ``consumer``: they are not handed to it again. How
        many were not acknowledged before; ValueError (and nothing acknowledged) when an
        id names no message."""
        check_consumer(consumer)
        message_ids = check_ids(message_ids)
        with self._lock:
            messages = self._message_records
            unknown = sorted({i for i in message_ids if not 0 < i <= len(messages)})
            if unknown:
                raise ValueError(f"no outbox message {', '.join(map(str, unknown[:10]))}")
            claims = self._claims.setdefault(consumer, {})
            newly = 0
            for number in set(message_ids):
                held = claims.get(number)
                if held is None or not held[2]:
                    claims[number] = (now, held[1] if held else 0, True)
                    newly += 1
            done = self._done.get(consumer, 0)
            while done < len(messages) and claims.get(done + 1, (now, 0, False))[2]:
                done += 1
            self._done[consumer] = done
        return newly

    def outbox(
        self, *, consumer: str | None = None, after: int = 0, limit: int = 100
    ) -> list[Message]:
        """Up to ``limit`` messages after the id ``after``, oldest first; with
        ``consumer``, only those it has not acknowledged (``attempts``: how often it was
        handed each, 0 if never)."""
        check_limit(limit)
        check_after(after)
        if consumer is not None:
            check_consumer(consumer)
        found: list[Message] = []
        with self._lock:
            messages = self._message_records
            claims = self._claims.get(consumer, {}) if consumer is not None else {}
            for index in range(max(after, 0), len(messages)):
                held = claims.get(index + 1)
                if held is not None and held[2]:
                    continue
                found.append(self._message(index + 1, held[1] if held else 0))
                if len(found) == limit:
                    break
        return found

    def __len__(self) -> int:
        return len(self._items)
