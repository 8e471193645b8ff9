"""Who may read which input field of a trajectory's history.

An input field (of an event or an activity) may declare:

* ``visible_to: [roles]`` - only those roles read it (default: every participant);
* ``disclose_to: {role: consent}`` - that role reads it only while the consent is
  granted (with no ``visible_to``, the field is visible to every participant *except*
  the roles named here, which need the consent).

The author of a record can always read what they wrote. Rules are applied when the
history is read, with the roles and consents of that moment: withdrawing a consent
hides the fields again from then on, and a person who is unassigned loses access.
Someone who is not a participant reads no field at all (except their own).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from coachflow.definition.plain import leaves
from coachflow.runtime.trajectory import HistoryRecord, Trajectory

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


def field_specs(definition: Definition, record: HistoryRecord) -> Mapping[str, AnyInput]:
    """The input specs that describe ``record``'s input fields."""
    if record.kind == "activity":
        activity = definition.activities.get(str(record.event))
        return activity.input if activity is not None else {}
    if record.kind == "event":
        # several transitions may produce the same record: each field takes the strictest
        # spec any of them declares, so a value is never shown under a laxer rule
        specs: dict[str, AnyInput] = {}
        for t in definition.transitions:
            if (
                t.event == record.event
                and t.to == record.target
                and record.source is not None
                and leaves(t.from_, record.source, definition.states)
            ):
                for name, spec in t.input.items():
                    if name not in specs or (spec.confidential and not specs[name].confidential):
                        specs[name] = spec
        return specs
    return {}


def may_read(
    spec: AnyInput,
    record: HistoryRecord,
    viewer: str,
    roles: tuple[str, ...],
    consents: Mapping[str, bool],
) -> bool:
    """Whether ``viewer`` (holding ``roles`` now) may read a field of ``record``."""
    if record.actor == viewer:
        return True
    if not roles:
        return False  # not a participant
    disclose = spec.disclose_to
    for role in roles:
        consent = disclose.get(role)
        if consent is not None and consents.get(consent, False):
            return True
    if spec.visible_to is None:
        return any(role not in disclose for role in roles)
    return any(role in spec.visible_to for role in roles)


def redact(
    definition: Definition, trajectory: Trajectory, viewer: str
) -> tuple[HistoryRecord, ...]:
    """The history as ``viewer`` may see it now: unreadable values become ``REDACTED``."""
    roles = trajectory.roles_of(viewer)
    consents = trajectory.consents
    out: list[HistoryRecord] = []
    for record in trajectory.history:
        if not record.input or record.actor == viewer:
            out.append(record)
            continue
        if roles:
            specs = field_specs(definition, record)
            hidden = {
                name
                for name in record.input
                if name in specs and not may_read(specs[name], record, viewer, roles, consents)
            }
        else:
            hidden = set(record.input)  # not a participant: no field at all
        if hidden:
            record = record._replace(
                input=MappingProxyType(
                    {k: (REDACTED if k in hidden else v) for k, v in record.input.items()}
                )
            )
        out.append(record)
    return tuple(out)
