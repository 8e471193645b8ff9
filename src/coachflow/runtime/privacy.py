"""Which stored values are personal data, and what erasing them means (AVG/GDPR).

Every value a trajectory stores is in one *class*: ``confidential`` (the value of a
confidential input field: one its record labels, :attr:`HistoryRecord.labels`),
``personal`` (a field or fact the definition declares ``personal: true``) or neither.
A :class:`SealPlan` says it for one definition version, and :func:`classified` applies it
to a record. A store keeps the values of both classes encrypted, with a key per
(trajectory, class), and erasing a class deletes its key: from then on each of those
values reads as :data:`ERASED` (:func:`erased_record` is the proof the history keeps).

Records are classified by the version that wrote them: the store does it when it writes
them, and a record never changes class later. Pure: the standard library and the
runtime's record types only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Literal

from coachflow.clock import day_of
from coachflow.runtime.trajectory import (
    HistoryRecord,
    LabeledInput,
    Trajectory,
    eras_of,
    new_record,
    with_values,
)

if TYPE_CHECKING:
    from coachflow.definition.model import Definition

ValueClass = Literal["confidential", "personal"]
CONFIDENTIAL: Final = "confidential"
PERSONAL: Final = "personal"
CLASSES: tuple[ValueClass, ...] = (CONFIDENTIAL, PERSONAL)
"""The classes of values a store encrypts, and that can be erased."""


class _Erased:
    """The value shown in place of an erased one, to everyone."""

    _instance: _Erased | None = None

    def __new__(cls) -> _Erased:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ERASED"

    def __str__(self) -> str:
        return "[erased]"

    def __reduce__(self) -> str:
        return "ERASED"


ERASED: Final = _Erased()
"""Stands in for every value whose class was erased (the field name stays)."""


@dataclass(frozen=True, slots=True)
class SealPlan:
    """The personal fields and facts of one definition version."""

    facts: frozenset[str] = frozenset()
    """The facts declared ``personal``."""
    inputs: Mapping[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    """``(kind, event or activity) -> fields`` of the input fields declared ``personal``
    (``kind`` is ``event`` or ``activity``)."""
    labelled: bool = False
    """Whether the version has confidential input fields at all."""
    seals: bool = False
    """Whether it has any of the three (the plan's truth: worked out once)."""

    def __bool__(self) -> bool:
        return self.seals


NO_PLAN = SealPlan()


def seal_plan(definition: Definition) -> SealPlan:
    """The plan of a definition version (see :class:`SealPlan`)."""
    inputs: dict[tuple[str, str], set[str]] = {}
    labelled = False
    sources = [("event", t.event, t.input) for t in definition.transitions]
    sources += [("activity", name, a.input) for name, a in definition.activities.items()]
    for kind, source, fields in sources:
        for name, spec in fields.items():
            labelled = labelled or spec.confidential
            if spec.personal:
                inputs.setdefault((kind, source), set()).add(name)
    facts = frozenset(name for name, spec in definition.facts.items() if spec.personal)
    if not (facts or inputs or labelled):
        return NO_PLAN
    personal = MappingProxyType({key: frozenset(names) for key, names in inputs.items()})
    return SealPlan(facts, personal, labelled, seals=True)


def classified(record: HistoryRecord, plan: SealPlan) -> Iterator[tuple[str, str, ValueClass]]:
    """``(part, field, class)`` of each value of ``record`` in a class, ``part`` being
    ``input`` or ``changes`` (values that are ``None`` hold nothing and are skipped). An
    input value its record labels is confidential whatever the plan (even without one)."""
    kind = record.kind
    if kind == "event" or kind == "activity":
        labels = record.labels
        personal = plan.inputs.get((kind, record.event or ""), ()) if plan.inputs else ()
        if labels or personal:
            for name, value in record.input.items():
                if value is not None:
                    if name in labels:
                        yield "input", name, CONFIDENTIAL
                    elif name in personal:
                        yield "input", name, PERSONAL
    facts = plan.facts
    if facts:
        for name, value in record.changes.items():
            if name in facts and value is not None:
                yield "changes", name, PERSONAL


def scrubbed(record: HistoryRecord, plan: SealPlan, classes: Iterable[str]) -> HistoryRecord:
    """``record`` with every value of ``classes`` replaced by :data:`ERASED`."""
    wanted = frozenset(classes)
    gone: dict[str, set[str]] = {"input": set(), "changes": set()}
    for part, name, cls in classified(record, plan):
        if cls in wanted:
            gone[part].add(name)
    if not gone["input"] and not gone["changes"]:
        return record
    given = record.input
    if gone["input"]:
        values = {k: ERASED if k in gone["input"] else v for k, v in given.items()}
        given = (
            LabeledInput(values, given.labels)
            if isinstance(given, LabeledInput)
            else MappingProxyType(values)
        )
    changes: Mapping[str, Any] = record.changes
    if gone["changes"]:
        changes = MappingProxyType(
            {k: ERASED if k in gone["changes"] else v for k, v in changes.items()}
        )
    return with_values(record, given, changes)


def erased_facts(facts: Mapping[str, Any], plan: SealPlan) -> dict[str, Any]:
    """The personal facts of ``facts`` that hold a value, each as :data:`ERASED`."""
    return {name: ERASED for name in plan.facts if facts.get(name) is not None}


def erased_classes(history: Iterable[HistoryRecord]) -> frozenset[str]:
    """The classes an ``erased`` record of ``history`` erased."""
    found: set[str] = set()
    for r in history:
        if r.kind == "erased":
            found.update(r.input.get("classes", ()))
    return frozenset(found)


def erasure_of(
    t: Trajectory, plans: Mapping[int, SealPlan], classes: Iterable[str]
) -> tuple[list[str], int]:
    """What erasing ``classes`` of ``t`` removes: the fields (``input.<event>.<field>``,
    ``fact.<name>``), sorted, and how many values. ``plans``: the plan of every version
    the history ran on (a record is classified by its era's version)."""
    wanted = frozenset(classes)
    fields: set[str] = set()
    count = 0
    for r, plan in eras(t, plans):
        for part, name, cls in classified(r, plan):
            value: object = (r.input if part == "input" else r.changes).get(name)
            if cls in wanted and value is not ERASED:
                count += 1
                fields.add(f"input.{r.event}.{name}" if part == "input" else f"fact.{name}")
    return sorted(fields), count


def eras(t: Trajectory, plans: Mapping[int, SealPlan]) -> Iterator[tuple[HistoryRecord, SealPlan]]:
    """Each record of ``t``'s history with the plan of the version that wrote it."""
    starts = eras_of(t)
    k = 0
    for r in t.history:
        while k + 1 < len(starts) and starts[k + 1][0] <= r.seq:
            k += 1
        yield r, plans.get(starts[k][1], NO_PLAN)


def erased_record(
    t: Trajectory,
    plan: SealPlan,
    *,
    classes: Iterable[str],
    fields: list[str],
    count: int,
    reason: str,
    actor: str,
    at: datetime,
) -> HistoryRecord:
    """The ``erased`` record: who erased which classes of ``t`` when, which fields and
    how many values, and why; its changes set the personal facts to :data:`ERASED` when
    the personal class goes."""
    chosen = sorted(set(classes))
    changes = erased_facts(t.facts, plan) if PERSONAL in chosen else {}
    return new_record(
        t.version + 1,
        at,
        actor,
        None,
        "erased",
        None,
        t.state,
        t.state,
        MappingProxyType(
            {"classes": tuple(chosen), "fields": tuple(fields), "values": count, "reason": reason}
        ),
        MappingProxyType(changes),
    )


def ended_on(t: Trajectory, final: Iterable[str]) -> date | None:
    """The day ``t`` reached one of the ``final`` states (None while it runs)."""
    finals = frozenset(final)
    if t.state not in finals:
        return None
    for r in reversed(t.history):
        if r.target in finals and r.source not in finals:
            return day_of(r.at)
    return day_of(t.history[-1].at) if t.history else None


__all__ = [
    "CLASSES",
    "CONFIDENTIAL",
    "ERASED",
    "NO_PLAN",
    "PERSONAL",
    "SealPlan",
    "ValueClass",
    "classified",
    "ended_on",
    "erased_classes",
    "erased_facts",
    "erased_record",
    "erasure_of",
    "eras",
    "scrubbed",
    "seal_plan",
]
