"""Who may read which input field of a trajectory's history.

An input field (of an event or an activity) may declare:

* ``visible_to: [roles]`` - only those roles read it (default: every participant);
* ``disclose_to: {role: consent}`` - that role reads it only while the consent is
  granted (with no ``visible_to``, the field is visible to every participant *except*
  the roles named here, which need the consent).

Each confidential value gets its **label** when its record is written, from the
definition version that wrote it (:func:`labels_of`; several specs of one field: a reader
must pass all of them). The label is stored with the record (:attr:`HistoryRecord.labels`)
and reading never looks it up in a later version, so a migration cannot widen access to
what was written before it. The author of a record can always read what they wrote.
Labels are applied when the history is read, with the roles and consents of that moment:
withdrawing a consent hides the fields again from then on, and a person who is unassigned
loses access. Someone who is not a participant reads no field at all (except their own).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from coachflow.definition.plain import Label, label_basis, leaves
from coachflow.runtime.flows import NOTHING_HIDDEN, HiddenFacts
from coachflow.runtime.privacy import ERASED
from coachflow.runtime.trajectory import HistoryRecord, LabeledInput, Trajectory

if TYPE_CHECKING:
    from coachflow.definition.model import AnyInput, Definition


class _Redacted:
    """The value shown in place of a field the viewer may not read."""

    _instance: _Redacted | None = None

    def __new__(cls) -> _Redacted:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "REDACTED"

    def __str__(self) -> str:
        return "[redacted]"

    def __reduce__(self) -> str:
        return "REDACTED"


REDACTED: Final = _Redacted()
"""Stands in for every value a viewer may not read (the field name stays)."""


class Read(NamedTuple):
    """One confidential value a viewer was shown: the record, the field and why they may
    read it (``author``, ``role:<role>`` or ``consent:<consent>``)."""

    seq: int
    field: str
    basis: str


def event_specs(
    definition: Definition, event: str, source: str, target: str
) -> Iterator[Mapping[str, AnyInput]]:
    """The inputs of every transition that makes an ``event`` record from ``source`` to
    ``target`` (several transitions may make the same record)."""
    for t in definition.transitions:
        if t.event == event and t.to == target and leaves(t.from_, source, definition.states):
            yield t.input


def labeled(values: Mapping[str, Any], labels: Mapping[str, Label]) -> Mapping[str, Any]:
    """``values`` carrying the labels of those of its fields that have one."""
    if not labels or not values:
        return values
    own = {name: label for name, label in labels.items() if name in values}
    return LabeledInput(values, MappingProxyType(own)) if own else values


def basis(
    label: Label,
    record: HistoryRecord,
    viewer: str,
    roles: tuple[str, ...],
    consents: Mapping[str, bool],
) -> str | None:
    """Why ``viewer`` (holding ``roles`` now) may read a value of ``record`` with ``label``,
    or None when they may not: the author always may (``author``); otherwise the reading
    rule of :func:`coachflow.definition.plain.label_basis`."""
    if record.actor == viewer:
        return "author"
    return label_basis(label, roles, consents)


def redact(
    trajectory: Trajectory,
    viewer: str,
    reads: list[Read] | None = None,
    hidden_facts: HiddenFacts = NOTHING_HIDDEN,
) -> tuple[HistoryRecord, ...]:
    """The history as ``viewer`` may see it now: unreadable values become ``REDACTED``.

    Each value is judged by the label it was written with (never by a later definition
    version), with the roles and consents of now. The confidential values the viewer is
    shown are added to ``reads``. The changes of the ``hidden_facts`` of each record's era
    (derived from a confidential input the viewer may not read, see
    :mod:`coachflow.runtime.flows`) are ``REDACTED`` too."""
    roles = trajectory.roles_of(viewer)
    consents = trajectory.consents
    out: list[HistoryRecord] = []
    eras = list(reversed(hidden_facts.eras)) if hidden_facts else []
    facts: frozenset[str] = frozenset()
    for record in trajectory.history:
        while eras and eras[-1][0] <= record.seq:
            facts = eras.pop()[1]
        if facts and not facts.isdisjoint(record.changes):
            record = record._replace(changes=redacted(record.changes, facts))
        if not record.input:
            out.append(record)
            continue
        labels = record.labels
        if not roles and record.actor != viewer:
            hidden = set(record.input)  # not a participant: no field at all
        else:
            hidden = set()
            for name, label in labels.items():
                why = basis(label, record, viewer, roles, consents)
                if why is None:
                    hidden.add(name)
                elif reads is not None and record.input.get(name) is not ERASED:
                    reads.append(Read(record.seq, name, why))  # an erased value tells nothing
        if hidden:
            record = record._replace(input=redacted(record.input, hidden))
        out.append(record)
    return tuple(out)


def redacted(values: Mapping[str, Any], hidden: Iterable[str]) -> Mapping[str, Any]:
    """``values`` with those named in ``hidden`` shown as ``REDACTED``."""
    hidden = frozenset(hidden)
    return MappingProxyType({k: (REDACTED if k in hidden else v) for k, v in values.items()})
