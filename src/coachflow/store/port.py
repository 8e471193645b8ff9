"""The store port: everything the engine and the CLI ask of where trajectories live."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from coachflow.runtime.trajectory import Trajectory


class Store(Protocol):
    """Where an engine keeps trajectories. Every method is atomic."""

    def create(self, trajectory: Trajectory) -> None:
        """Keep a new trajectory (its history holds the 'started' record)."""
        ...

    def load(self, trajectory_id: str) -> Trajectory:
        """The newest snapshot; :class:`UnknownTrajectory` when there is none."""
        ...

    def commit(self, trajectory: Trajectory, *, expected_version: int) -> None:
        """Replace the snapshot at ``expected_version`` by ``trajectory`` (its new records
        are those after ``expected_version``); :class:`VersionConflict` when the stored
        version differs, and then nothing is written."""
        ...

    def ids(self) -> Iterator[str]:
        """The id of every stored trajectory."""
        ...

    def with_participant(self, person: str) -> Iterator[Trajectory]:
        """Every trajectory in which ``person`` holds a role."""
        ...
