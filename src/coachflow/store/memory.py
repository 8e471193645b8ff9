"""An in-memory store: for tests and short-lived processes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from coachflow.errors import TrajectoryExists, UnknownTrajectory, VersionConflict
from coachflow.runtime.trajectory import Trajectory


class MemoryStore:
    """Keeps trajectories in memory: for tests and short-lived processes. Thread-safe."""

    def __init__(self) -> None:
        self._items: dict[str, Trajectory] = {}
        self._lock = threading.Lock()

    def create(self, trajectory: Trajectory) -> None:
        with self._lock:
            if trajectory.id in self._items:
                raise TrajectoryExists(f"trajectory {trajectory.id!r} already exists")
            self._items[trajectory.id] = trajectory

    def load(self, trajectory_id: str) -> Trajectory:
        try:
            return self._items[trajectory_id]
        except KeyError:
            raise UnknownTrajectory(f"no trajectory {trajectory_id!r}") from None

    def commit(self, trajectory: Trajectory, *, expected_version: int) -> None:
        with self._lock:
            current = self._items.get(trajectory.id)
            if current is None:
                raise UnknownTrajectory(f"no trajectory {trajectory.id!r}")
            if current.version != expected_version:
                raise VersionConflict(
                    f"trajectory {trajectory.id!r} is at version {current.version}, "
                    f"not {expected_version}",
                    trajectory_id=trajectory.id,
                    expected=expected_version,
                    actual=current.version,
                )
            self._items[trajectory.id] = trajectory

    def ids(self) -> Iterator[str]:
        return iter(list(self._items))

    def with_participant(self, person: str) -> Iterator[Trajectory]:
        for t in list(self._items.values()):
            if t.roles_of(person):
                yield t

    def __len__(self) -> int:
        return len(self._items)
