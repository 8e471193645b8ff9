"""A person's data, as the AVG's right of access (art. 15) hands it to them: per trajectory
they take part in or wrote in, their roles, the records they wrote (every record, when the
trajectory is about them: they hold its ``subject`` role), their consents and the access
log of who read their data - each value as they may read it now, and the values they may
not read left out (shown as withheld) and counted.

Pure: :func:`trajectory_export` turns what the engine read (a trajectory redacted for the
person, its definition, the access-log entries they may read) into plain JSON data; the
engine reads, this module shapes. The shape is ``coachflow.person-export/1``, documented in
``docs/privacy.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from coachflow.runtime.access import REDACTED
from coachflow.runtime.trajectory import HistoryRecord, Trajectory

if TYPE_CHECKING:  # not at import: the engine loads the definition model when it needs it
    from coachflow.definition.model import Definition
    from coachflow.runtime.access_log import AccessEntry

EXPORT_SCHEMA = "coachflow.person-export/1"
"""The name and version of the export's shape."""


def plain(value: object) -> object:
    """``value`` as JSON holds it: dates and moments as ISO text, a value the reader may not
    read as ``{"redacted": true}``, mappings as objects, tuples as arrays."""
    if value is REDACTED:
        return {"redacted": True}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping) or hasattr(value, "items"):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def mentions(t: Trajectory, person: str) -> bool:
    """Whether ``t`` holds data of ``person``: they take part in it now, or wrote in it."""
    return bool(t.roles_of(person)) or any(r.actor == person for r in t.history)


def trajectory_export(
    definition: Definition,
    t: Trajectory,
    person: str,
    entries: Sequence[AccessEntry],
) -> dict[str, object]:
    """The part of ``person``'s export about ``t``: ``t`` as they may read it (redacted
    for them), ``entries`` the access log they may read."""
    roles = t.roles_of(person)
    subject = any(definition.roles[r].subject for r in roles if r in definition.roles)
    records = [r for r in t.history if subject or r.actor == person]
    withheld = sum(_withheld(r) for r in records)
    consents = [
        {
            "consent": r.input.get("consent"),
            "granted": r.kind == "consent_granted",
            "at": plain(r.at),
        }
        for r in t.history
        if r.actor == person and r.kind in ("consent_granted", "consent_withdrawn")
    ]
    return {
        "trajectory": t.id,
        "definition": {"id": t.definition_id, "version": t.definition_version},
        "state": t.state,
        "started_at": plain(t.started_at),
        "roles": list(roles),
        "subject": subject,
        "records": [_record(r) for r in records],
        "withheld": withheld,
        "consents": consents,
        "access_log": [plain(e._asdict()) for e in entries],
    }


def _record(r: HistoryRecord) -> object:
    return plain(r._asdict())


def _withheld(r: HistoryRecord) -> int:
    """How many values of ``r`` the reader may not read."""
    values: list[object] = [*r.input.values(), *r.changes.values()]
    return sum(1 for v in values if v is REDACTED)


__all__ = ["EXPORT_SCHEMA", "mentions", "plain", "trajectory_export"]
