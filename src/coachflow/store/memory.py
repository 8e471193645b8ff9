"""An in-memory store: for tests and short-lived processes."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING

from coachflow.errors import (
    TrajectoryExists,
    UnknownTrajectory,
    definition_changed,
    version_conflict,
)
from coachflow.runtime.access_log import AccessEntry
from coachflow.runtime.trajectory import Trajectory

if TYPE_CHECKING:
    from coachflow.definition.model import Definition


class MemoryStore:
    """Keeps trajectories in memory: for tests and short-lived processes. Thread-safe.

    It keeps no agenda index, so ``next_due`` is accepted and not kept; the definitions
    it stores are those remembered in it, and the access log a list per trajectory, for as
    long as it lives."""

    def __init__(self) -> None:
        self._items: dict[str, Trajectory] = {}
        self._definitions: dict[tuple[str, int], tuple[Definition, str]] = {}
        self._log: dict[str, list[AccessEntry]] = {}
        self._lock = threading.Lock()

    def create(self, trajectory: Trajectory, *, next_due: date | None = None) -> None:
        with self._lock:
            if trajectory.id in self._items:
                raise TrajectoryExists(f"trajectory {trajectory.id!r} already exists")
            self._items[trajectory.id] = trajectory

    def load(self, trajectory_id: str) -> Trajectory:
        try:
            return self._items[trajectory_id]
        except KeyError:
            raise UnknownTrajectory(f"no trajectory {trajectory_id!r}") from None

    def commit(
        self, trajectory: Trajectory, *, expected_version: int, next_due: date | None = None
    ) -> None:
        with self._lock:
            current = self._items.get(trajectory.id)
            if current is None:
                raise UnknownTrajectory(f"no trajectory {trajectory.id!r}")
            if current.version != expected_version:
                raise version_conflict(
                    trajectory.id, expected=expected_version, actual=current.version
                )
            self._items[trajectory.id] = trajectory

    def ids(self) -> Iterator[str]:
        return iter(list(self._items))

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

    def __len__(self) -> int:
        return len(self._items)
