"""A person's data, as the AVG's right of access (art. 15) hands it to them: per trajectory
that holds data of theirs (they take part or took part in it, wrote in it, or a notice was
for them), the roles they hold and held, the records they wrote or that name them (every
record, when the trajectory is about them: they hold or held its ``subject`` role), their
consents and the access log of who read their data - each value as they may read it now,
a value they may not read shown as ``{"redacted": true}`` and counted.

Pure: :func:`trajectory_export` turns what the engine read (a trajectory redacted for the
person, its definition, the access-log entries they may read) into plain JSON data; the
engine reads, this module shapes. The shape is ``coachflow.person-export/1``, documented in
``docs/privacy.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, NamedTuple

from coachflow.runtime.access import REDACTED
from coachflow.runtime.privacy import ERASED
from coachflow.runtime.trajectory import HistoryRecord, Trajectory

if TYPE_CHECKING:  # not at import: the engine loads the definition model when it needs it
    from coachflow.definition.model import Definition
    from coachflow.runtime.access_log import AccessEntry

EXPORT_SCHEMA = "coachflow.person-export/1"
"""The name and version of the export's shape."""


def plain(value: object) -> object:
    """``value`` as JSON holds it: dates and moments as ISO text, a value the reader may not
    read as ``{"redacted": true}``, an erased one as ``{"erased": true}``, mappings as
    objects, tuples as arrays."""
    if value is REDACTED:
        return {"redacted": True}
    if value is ERASED:
        return {"erased": True}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping) or hasattr(value, "items"):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


PARTICIPATION = ("started", "migrated", "assigned", "unassigned")
"""The records that bind people to roles (their input names them)."""


def mentions(t: Trajectory, person: str) -> bool:
    """Whether ``t`` holds data of ``person``: they take part in it now, took part in it
    once (a ``started``, ``migrated`` or assignment record names them), wrote in it, or a
    notice of the worker was for them."""
    return bool(t.roles_of(person)) or any(_about(r, person) for r in t.history)


def roles_held(t: Trajectory, person: str) -> tuple[str, ...]:
    """Every role ``person`` holds or held in ``t``, in the order they first held it."""
    held: dict[str, None] = {}
    for r in t.history:
        if r.kind in ("started", "migrated"):
            bound = r.input.get("participants")
            if isinstance(bound, Mapping):
                for role, people in bound.items():
                    if _names(people, person):
                        held.setdefault(str(role), None)
        elif r.kind == "assigned" and r.input.get("person") == person:
            held.setdefault(str(r.input.get("role")), None)
    for role in t.roles_of(person):
        held.setdefault(role, None)
    return tuple(held)


class Scope(NamedTuple):
    """What of one trajectory a person's export holds, judged on it as stored (who is named
    where): the roles they hold or held, whether one is a ``subject`` role (the trajectory
    is about them), and the seqs of the records it holds."""

    held: tuple[str, ...]
    subject: bool
    shown: frozenset[int]


def scope_of(definition: Definition, stored: Trajectory, person: str) -> Scope:
    """Every record when the trajectory is about ``person``, else the records they wrote
    and those that name them (their assignments, the notices for them)."""
    held = roles_held(stored, person)
    subject = any(definition.roles[r].subject for r in held if r in definition.roles)
    shown = frozenset(r.seq for r in stored.history if subject or _about(r, person))
    return Scope(held, subject, shown)


def trajectory_export(
    stored: Trajectory,
    t: Trajectory,
    person: str,
    entries: Sequence[AccessEntry],
    scope: Scope,
) -> dict[str, object]:
    """The part of ``person``'s export about a trajectory: ``stored`` as the store holds it
    (never shown), ``t`` the same as they may read it (redacted for them), ``entries`` the
    access log they may read, ``scope`` what it holds (:func:`scope_of`)."""
    records = [r for r in t.history if r.seq in scope.shown]
    consents = [
        {
            "consent": r.input.get("consent"),
            "granted": r.kind == "consent_granted",
            "at": plain(r.at),
        }
        for r in stored.history
        if r.actor == person and r.kind in ("consent_granted", "consent_withdrawn")
    ]
    return {
        "trajectory": t.id,
        "definition": {"id": t.definition_id, "version": t.definition_version},
        "state": t.state,
        "started_at": plain(t.started_at),
        "roles": list(t.roles_of(person)),
        "roles_held": list(scope.held),
        "subject": scope.subject,
        "records": [plain(r._asdict()) for r in records],
        "withheld": sum(_withheld(r) for r in records),
        "consents": consents,
        "access_log": [plain(e._asdict()) for e in entries],
    }


def _about(r: HistoryRecord, person: str) -> bool:
    """Whether ``person`` wrote ``r``, or ``r`` names them (a record that binds people to
    roles, a notice for them)."""
    return r.actor == person or (r.kind in (*PARTICIPATION, "timer") and _names(r.input, person))


def _names(value: object, person: str) -> bool:
    """Whether ``person``'s id is ``value`` or one of the values within it."""
    if isinstance(value, str):
        return value == person
    if isinstance(value, Mapping):
        return any(_names(v, person) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_names(v, person) for v in value)
    return False


def _withheld(r: HistoryRecord) -> int:
    """How many values of ``r`` the reader may not read."""
    values: list[object] = [*r.input.values(), *r.changes.values()]
    return sum(1 for v in values if v is REDACTED)


__all__ = [
    "EXPORT_SCHEMA",
    "mentions",
    "plain",
    "Scope",
    "roles_held",
    "scope_of",
    "trajectory_export",
]
