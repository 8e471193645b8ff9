"""The one reducer: a history record applied to a trajectory, and replay."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from coachflow.runtime.trajectory import HistoryRecord, Trajectory, _Node


def replay(trajectory_id: str, records: Sequence[HistoryRecord]) -> Trajectory:
    """Rebuild a trajectory from its history records alone (no guards are run)."""
    if not records or records[0].kind != "started":
        raise ValueError("a history starts with a 'started' record")
    first = records[0]
    participants = {r: tuple(p) for r, p in first.input["participants"].items()}
    t = Trajectory(
        id=trajectory_id,
        definition_id=str(first.input["definition_id"]),
        definition_version=int(first.input["definition_version"]),
        state=str(first.target),
        facts=dict(first.changes),
        consents=dict(first.input.get("consents", {})),
        participants=participants,
        version=first.seq,
        started_at=first.at,
        node=_Node(first, None),
        start_date=first.input.get("start_date"),
        calendar=_calendar_from(first.input.get("calendar")),
    )
    for r in records[1:]:
        if r.seq != t.version + 1:
            raise ValueError(f"record {r.seq} follows version {t.version}: the history has a gap")
        if r.kind == "event":
            facts = {**t.facts, **r.changes} if r.changes else None
            t = t.evolve(r, state=r.target, facts=facts)
        elif r.kind == "migrated":
            t = t.evolve(
                r,
                state=r.target,
                facts=dict(r.changes),
                consents=dict(r.input["consents"]),
                participants={k: tuple(v) for k, v in r.input["participants"].items()},
                definition_version=int(r.input["to_version"]),
            )
        elif r.kind == "activity":
            name = str(r.event)
            t = t.evolve(r, counts={**t.counts, name: t.counts.get(name, 0) + 1})
        elif r.kind in ("consent_granted", "consent_withdrawn"):
            consents = {**t.consents, str(r.input["consent"]): r.kind == "consent_granted"}
            t = t.evolve(r, consents=consents)
        elif r.kind in ("assigned", "unassigned"):
            role, person = str(r.input["role"]), str(r.input["person"])
            people = t.participants.get(role, ())
            if r.kind == "assigned":
                replaced = r.input.get("replacing")
                people = (*(p for p in people if p != replaced), person)
            else:
                people = tuple(p for p in people if p != person)
            facts = {**t.facts, **r.changes} if r.changes else None
            t = t.evolve(r, participants={**t.participants, role: people}, facts=facts)
        else:
            t = t.evolve(r)
    return t


def _calendar_from(data: Any) -> Any:
    if data is None:
        return None
    from coachflow.calendar import SchoolCalendar

    return data if isinstance(data, SchoolCalendar) else SchoolCalendar.from_data(data)
