"""The access log: who was shown which confidential value, when, and why they could.

Every confidential value a person is shown through ``Engine.get(viewer=)`` or
``Engine.history(viewer=)`` (and so through the command line's ``--as`` and the example web
app) becomes one :class:`AccessEntry`, appended to the store's append-only log. Reads
without a viewer (trusted server code) are not logged.

The log itself is confidential: :func:`readable_entries` gives a person only the entries
about values they may read now themselves (by each value's label, fixed when it was
written, with the roles and consents of now), and always those about what they wrote, so
a teacher sees who read their reports. Someone who takes no part in a trajectory and wrote
nothing in it reads none of its log (:func:`may_read_log`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from coachflow.runtime.access import Read, basis
from coachflow.runtime.trajectory import Trajectory


class AccessEntry(NamedTuple):
    """One confidential value shown to a person: who (``viewer``), when (``at``), which
    value (``trajectory_id``, the record's ``seq``, the input ``field``) and why they may
    read it (``basis``: ``author``, ``role:<role>`` or ``consent:<consent>``)."""

    viewer: str
    at: datetime
    trajectory_id: str
    seq: int
    field: str
    basis: str


def entries_of(
    trajectory_id: str, viewer: str, at: datetime, reads: Iterable[Read]
) -> list[AccessEntry]:
    """The log entries of one read: one per confidential value shown, all at ``at``."""
    return [AccessEntry(viewer, at, trajectory_id, r.seq, r.field, r.basis) for r in reads]


def may_read_log(trajectory: Trajectory, viewer: str) -> bool:
    """Whether ``viewer`` may read any of the trajectory's log: a participant, or the
    author of one of its records."""
    if trajectory.roles_of(viewer):
        return True
    return any(r.actor == viewer for r in trajectory.history)


def readable_entries(
    trajectory: Trajectory, viewer: str, entries: Sequence[AccessEntry]
) -> tuple[AccessEntry, ...]:
    """The entries about values ``viewer`` may read now themselves (the author of a
    record always may), in the log's order."""
    history = trajectory.history
    roles = trajectory.roles_of(viewer)
    consents = trajectory.consents
    out: list[AccessEntry] = []
    for entry in entries:
        if not 0 <= entry.seq < len(history):
            continue  # not a record of this snapshot: nothing it can be judged by
        record = history[entry.seq]
        label = record.labels.get(entry.field)
        if label is None:  # no label: whoever reads the record reads it
            allowed = bool(roles) or record.actor == viewer
        else:
            allowed = basis(label, record, viewer, roles, consents) is not None
        if allowed:
            out.append(entry)
    return tuple(out)
