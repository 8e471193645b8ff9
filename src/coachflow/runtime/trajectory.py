"""Trajectories, their history, and the one reducer.

A :class:`Trajectory` is an immutable snapshot of one run of one definition version.
Every accepted change is one :class:`HistoryRecord`; :func:`apply` turns a snapshot and
a record into the next snapshot (``version`` + 1), and :func:`begin` turns a ``started``
record into the first. The commands and :func:`replay` use these same two functions, so
a history replayed is the trajectory it was built from. Snapshots already handed out
never change. The history is a persistent linked list, so a change costs the same
however long the history is.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar

from coachflow._frozen import FrozenDict
from coachflow.calendar import SchoolCalendar
from coachflow.clock import day_of
from coachflow.definition.plain import Label

if TYPE_CHECKING:  # the model module needs pydantic, which `import coachflow` does not load
    from coachflow.definition.model import Values

RecordKind = Literal[
    "started",
    "event",
    "activity",
    "consent_granted",
    "consent_withdrawn",
    "assigned",
    "unassigned",
    "migrated",
    "timer",
    "suspended",
    "resumed",
    "erased",
]
RECORD_KINDS: tuple[RecordKind, ...] = typing.get_args(RecordKind)

_EMPTY: Values = MappingProxyType({})
_NOT_COUNTED: Mapping[str, int] = MappingProxyType({})  # shared: most have no activity yet
V = TypeVar("V")


_NO_LABELS: Mapping[str, Label] = MappingProxyType({})


class LabeledInput(FrozenDict[str, Any]):
    """A record's input whose confidential values carry their labels, fixed when the
    record was written (from the definition version that wrote it). Compares as the
    plain mapping of its values."""

    __slots__ = ("labels",)

    labels: Mapping[str, Label]

    def __init__(self, values: Mapping[str, Any], labels: Mapping[str, Label]) -> None:
        dict.__init__(self, values)
        self.labels = labels

    def __reduce__(self) -> tuple[type[LabeledInput], tuple[dict[str, Any], dict[str, Label]]]:  # type: ignore[override]
        return (LabeledInput, (dict(self), dict(self.labels)))


class HistoryRecord(NamedTuple):
    """One accepted change. ``seq`` is the trajectory's version right after it.

    For an ``activity`` record, ``event`` names the activity and ``on`` is the day it
    took place; for a ``timer`` record, ``event`` is the timer's key
    (:mod:`coachflow.runtime.timers`), which its input holds as ``item`` too.
    """

    seq: int
    at: datetime
    actor: str
    role: str | None
    kind: RecordKind
    event: str | None = None
    source: str | None = None
    target: str | None = None
    input: Mapping[str, Any] = _EMPTY
    """The command's data: an event's or activity's checked input, or what a
    ``started``, ``consent_*``, ``assigned``/``unassigned`` or ``migrated`` record holds
    (nested mappings and lists, JSON-like)."""
    changes: Values = _EMPTY
    on: date | None = None

    @property
    def labels(self) -> Mapping[str, Label]:
        """The label of each confidential input value (see :class:`LabeledInput`); a
        field with no label may be read by every participant."""
        labels: Mapping[str, Label] = getattr(self.input, "labels", _NO_LABELS)
        return labels


_make_record = partial(tuple.__new__, HistoryRecord)  # skips NamedTuple's Python __new__


def new_record(
    seq: int,
    at: datetime,
    actor: str,
    role: str | None,
    kind: RecordKind,
    event: str | None = None,
    source: str | None = None,
    target: str | None = None,
    input: Mapping[str, Any] = _EMPTY,
    changes: Values = _EMPTY,
    on: date | None = None,
) -> HistoryRecord:
    """The one place a :class:`HistoryRecord` is made: by the decisions, and by the
    stores when they read one back."""
    return _make_record((seq, at, actor, role, kind, event, source, target, input, changes, on))


def with_values(record: HistoryRecord, input: Mapping[str, Any], changes: Values) -> HistoryRecord:
    """``record`` with other ``input`` and ``changes`` (as ``_replace`` does, without its
    Python frames: a store seals and opens every record it writes and reads)."""
    return _make_record((*record[:8], input, changes, record.on))


class Timing(NamedTuple):
    """What a trajectory's history says about its timers: the notices and timeouts the
    worker has handled (their keys, see :mod:`coachflow.runtime.timers`), and its
    suspensions, oldest first: ``(began, ended)``, ``ended`` None while it lasts."""

    handled: frozenset[str] = frozenset()
    pauses: tuple[tuple[date, date | None], ...] = ()

    @property
    def suspended(self) -> bool:
        """Whether a suspension lasts now."""
        return bool(self.pauses) and self.pauses[-1][1] is None

    def after(self, r: HistoryRecord) -> Timing:
        """This timing after the record ``r`` (a ``timer``, ``suspended`` or ``resumed``)."""
        if r.kind == "timer":
            return self._replace(handled=self.handled | {str(r.input["item"])})
        day = day_of(r.at)
        if r.kind == "suspended":
            return self._replace(pauses=(*self.pauses, (day, None)))
        if r.kind == "resumed" and self.suspended:
            began = self.pauses[-1][0]
            return self._replace(pauses=(*self.pauses[:-1], (began, max(day, began))))
        return self


NO_TIMING = Timing()


def timing_of(records: Sequence[HistoryRecord]) -> Timing:
    """The timing a history holds (see :class:`Timing`)."""
    timing = NO_TIMING
    for r in records:
        if r.kind in _TIMING_KINDS:
            timing = timing.after(r)
    return timing


_TIMING_KINDS = frozenset({"timer", "suspended", "resumed"})


class _Node:
    """A cell of the persistent history list."""

    __slots__ = ("parent", "record")

    def __init__(self, record: HistoryRecord, parent: _Node | _Stored | None) -> None:
        self.record = record
        self.parent = parent

    def records(self) -> tuple[HistoryRecord, ...]:
        out: list[HistoryRecord] = []
        node: _Node | _Stored | None = self
        while isinstance(node, _Node):
            out.append(node.record)
            node = node.parent
        out.reverse()
        if node is not None:  # the older part is still in the store
            return (*node.records(), *out)
        return tuple(out)

    def since(self, version: int) -> list[HistoryRecord]:
        """The records after ``version``, oldest first, without loading stored ones."""
        out: list[HistoryRecord] = []
        node: _Node | _Stored | None = self
        while isinstance(node, _Node) and node.record.seq > version:
            out.append(node.record)
            node = node.parent
        out.reverse()
        return out


class _Stored:
    """The part of a history that a store loads when (and only when) it is read."""

    __slots__ = ("_loaded", "_loader", "length")

    def __init__(self, loader: Callable[[], Sequence[HistoryRecord]], length: int) -> None:
        self._loader = loader
        self._loaded: tuple[HistoryRecord, ...] | None = None
        self.length = length

    def records(self) -> tuple[HistoryRecord, ...]:
        if self._loaded is None:
            self._loaded = tuple(self._loader())
        return self._loaded


def history_node(records: Sequence[HistoryRecord]) -> _Node | None:
    node: _Node | None = None
    for r in records:
        node = _Node(r, node)
    return node


def stored_history(loader: Callable[[], Sequence[HistoryRecord]], length: int) -> _Stored:
    """A history a store loads lazily (``length`` records)."""
    return _Stored(loader, length)


class Trajectory:
    """An immutable snapshot of one trajectory."""

    __slots__ = (
        "_calendar",
        "_consents",
        "_counts",
        "_definition_id",
        "_definition_version",
        "_facts",
        "_history",
        "_id",
        "_node",
        "_participants",
        "_people",
        "_start_date",
        "_started_at",
        "_state",
        "_timing",
        "_version",
    )

    def __init__(
        self,
        *,
        id: str,
        definition_id: str,
        definition_version: int,
        state: str,
        facts: Values,
        consents: Mapping[str, bool],
        participants: Mapping[str, tuple[str, ...]],
        version: int,
        started_at: datetime,
        node: _Node | _Stored | None = None,
        people: Mapping[str, tuple[str, ...]] | None = None,
        start_date: date | None = None,
        counts: Mapping[str, int] | None = None,
        calendar: SchoolCalendar | None = None,
        timing: Timing | None = None,
    ) -> None:
        self._id = id
        self._definition_id = definition_id
        self._definition_version = definition_version
        self._state = state
        self._facts = _frozen(facts)
        self._consents = _frozen(consents)
        self._participants = _frozen(participants)
        self._version = version
        self._started_at = started_at
        self._start_date = start_date if start_date is not None else day_of(started_at)
        self._counts = _frozen(counts) if counts else _NOT_COUNTED
        self._calendar = calendar
        self._node = node
        self._people = people
        self._history: tuple[HistoryRecord, ...] | None = None
        self._timing: Timing | None = timing
        """None: not read from the history yet (a store that keeps it passes it)."""

    @property
    def id(self) -> str:
        return self._id

    @property
    def definition_id(self) -> str:
        return self._definition_id

    @property
    def definition_version(self) -> int:
        return self._definition_version

    @property
    def state(self) -> str:
        return self._state

    @property
    def facts(self) -> Values:
        """Every declared fact (``None`` while unset); read-only."""
        return self._facts

    @property
    def consents(self) -> Mapping[str, bool]:
        """Every declared consent and whether it is granted now; read-only."""
        return self._consents

    @property
    def participants(self) -> Mapping[str, tuple[str, ...]]:
        """Role -> the person ids bound to it; read-only."""
        return self._participants

    @property
    def version(self) -> int:
        """0 at start, +1 for every accepted change."""
        return self._version

    @property
    def started_at(self) -> datetime:
        return self._started_at

    @property
    def start_date(self) -> date:
        """The day week 1 of the trajectory holds (schedules count from it)."""
        return self._start_date

    @property
    def counts(self) -> Mapping[str, int]:
        """How often each activity was recorded (only those recorded at least once)."""
        return self._counts

    @property
    def calendar(self) -> SchoolCalendar | None:
        """The trajectory's school calendar, or None (plain calendar weeks)."""
        return self._calendar

    @property
    def history(self) -> tuple[HistoryRecord, ...]:
        """Every accepted change, oldest first (``len(history) == version + 1``)."""
        cached = self._history
        if cached is None:
            cached = self._node.records() if self._node is not None else ()
            self._history = cached
        return cached

    @property
    def timing(self) -> Timing:
        """The timers the worker handled and the suspensions (read from the history the
        first time it is asked, then kept by every next snapshot)."""
        timing = self._timing
        if timing is None:
            timing = timing_of(self.history)
            self._timing = timing
        return timing

    @property
    def suspended(self) -> bool:
        """Whether the trajectory is suspended now (see :meth:`Engine.suspend`)."""
        return self.timing.suspended

    def records_since(self, version: int) -> list[HistoryRecord]:
        """The records after ``version`` (what a store must write), oldest first."""
        node = self._node
        if isinstance(node, _Node):
            return node.since(version)
        return []

    def roles_of(self, person: str) -> tuple[str, ...]:
        """The roles ``person`` is bound to, in the definition's order."""
        people: Mapping[str, tuple[str, ...]] | None = self._people
        if people is None:
            index: dict[str, list[str]] = {}
            for role, persons in self.participants.items():
                for p in persons:
                    index.setdefault(p, []).append(role)
            people = {p: tuple(r) for p, r in index.items()}
            self._people = people
        return people.get(person, ())

    def evolve(
        self,
        record: HistoryRecord,
        *,
        state: str | None = None,
        facts: Values | None = None,
        consents: Mapping[str, bool] | None = None,
        participants: Mapping[str, tuple[str, ...]] | None = None,
        counts: Mapping[str, int] | None = None,
        definition_version: int | None = None,
    ) -> Trajectory:
        """The next snapshot: this one changed as ``record`` says."""
        new = self._next(record)
        if definition_version is not None:
            new._definition_version = definition_version
        if state is not None:
            new._state = state
        if facts is not None:
            new._facts = _frozen(facts)
        if consents is not None:
            new._consents = MappingProxyType(dict(consents))
        if participants is not None:
            new._participants = MappingProxyType(dict(participants))
            new._people = None
        if counts is not None:
            new._counts = _frozen(counts)
        return new

    def _next(self, record: HistoryRecord) -> Trajectory:
        """This snapshot at ``record``'s version with ``record`` in its history, else the
        same (what :meth:`evolve` and the event reducer change next)."""
        new = _new_trajectory()
        new._id = self._id
        new._definition_id = self._definition_id
        new._definition_version = self._definition_version
        new._state = self._state
        new._facts = self._facts
        new._consents = self._consents
        new._participants = self._participants
        new._people = self._people
        new._version = record.seq
        new._started_at = self._started_at
        new._start_date = self._start_date
        new._counts = self._counts
        new._calendar = self._calendar
        new._node = _Node(record, self._node)
        new._history = None
        timing = self._timing
        if record.kind in _TIMING_KINDS:
            timing = self.timing.after(record)
        new._timing = timing
        return new

    def with_history(
        self, records: Sequence[HistoryRecord], facts: Values | None = None
    ) -> Trajectory:
        """The same snapshot showing ``records`` as its history (a redacted view), and
        ``facts`` as its facts when given."""
        new = self.evolve(records[-1], facts=facts) if records else self
        new._node = history_node(records)
        new._version = self._version
        new._counts = self._counts
        new._timing = self._timing
        return new

    def as_dict(self) -> dict[str, object]:
        """Plain data (no history), for comparisons and JSON."""
        return {
            "id": self.id,
            "definition_id": self.definition_id,
            "definition_version": self.definition_version,
            "state": self.state,
            "facts": dict(self.facts),
            "consents": dict(self.consents),
            "participants": {r: list(p) for r, p in self.participants.items()},
            "version": self.version,
            "started_at": self.started_at,
            "start_date": self.start_date,
            "counts": dict(self.counts),
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trajectory):
            return NotImplemented
        return self.as_dict() == other.as_dict() and self.history == other.history

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Trajectory(id={self.id!r}, definition={self.definition_id!r}@"
            f"{self.definition_version}, state={self.state!r}, version={self.version})"
        )


def _new_trajectory() -> Trajectory:
    return object.__new__(Trajectory)


TrajectoryView = Trajectory
"""What a registered predicate receives: the (immutable) trajectory snapshot."""


def _frozen(mapping: Mapping[str, V]) -> Mapping[str, V]:
    kind = type(mapping)
    if kind is FrozenDict or kind is MappingProxyType or isinstance(mapping, FrozenDict):
        return mapping
    return MappingProxyType(dict(mapping))


def begin(
    trajectory_id: str, record: HistoryRecord, calendar: SchoolCalendar | None = None
) -> Trajectory:
    """The first snapshot of a trajectory: what its ``started`` record says (``calendar``:
    the record's calendar when the caller already holds it decoded)."""
    if record.kind != "started":
        raise ValueError("a history starts with a 'started' record")
    given = record.input
    participants = given["participants"]
    if not isinstance(participants, (MappingProxyType, FrozenDict)):  # read back from a store
        participants = {r: tuple(p) for r, p in participants.items()}
    if calendar is None and given.get("calendar") is not None:
        calendar = SchoolCalendar.from_data(given["calendar"])
    return Trajectory(
        id=trajectory_id,
        definition_id=str(given["definition_id"]),
        definition_version=int(given["definition_version"]),
        state=str(record.target),
        facts=record.changes,
        consents=given.get("consents", _EMPTY),
        participants=participants,
        version=record.seq,
        started_at=record.at,
        node=_Node(record, None),
        start_date=given.get("start_date"),
        calendar=calendar,
    )


def begin_decided(
    trajectory_id: str, record: HistoryRecord, calendar: SchoolCalendar | None
) -> Trajectory:
    """:func:`begin` for a ``started`` record that :func:`~coachflow.runtime.decide.
    decide_start` has just made (its mappings read-only, its values of their types, its
    calendar the one given): the same snapshot, made without converting anything."""
    given = record.input
    new = _new_trajectory()
    new._id = trajectory_id
    new._definition_id = given["definition_id"]
    new._definition_version = given["definition_version"]
    new._state = str(record.target)
    new._facts = record.changes
    new._consents = given["consents"]
    new._participants = given["participants"]
    new._people = None
    new._version = record.seq
    new._started_at = record.at
    new._start_date = given["start_date"]
    new._counts = _NOT_COUNTED
    new._calendar = calendar
    new._node = _Node(record, None)
    new._history = None
    new._timing = NO_TIMING
    return new


def _event(t: Trajectory, r: HistoryRecord) -> Trajectory:
    new = t._next(r)  # the most frequent record: no keyword arguments to sort out
    new._state = str(r.target)
    changes = r.changes
    if changes:
        new._facts = FrozenDict({**t._facts, **changes})
    return new


def _activity(t: Trajectory, r: HistoryRecord) -> Trajectory:
    name = str(r.event)
    return t.evolve(r, counts={**t.counts, name: t.counts.get(name, 0) + 1})


def _consent(t: Trajectory, r: HistoryRecord) -> Trajectory:
    consents = {**t.consents, str(r.input["consent"]): r.kind == "consent_granted"}
    return t.evolve(r, consents=consents)


def _assignment(t: Trajectory, r: HistoryRecord) -> Trajectory:
    role, person = str(r.input["role"]), str(r.input["person"])
    people = t.participants.get(role, ())
    if r.kind == "assigned":
        replaced = r.input.get("replacing")
        people = (*(p for p in people if p != replaced), person)
    else:
        people = tuple(p for p in people if p != person)
    facts = MappingProxyType({**t.facts, **r.changes}) if r.changes else None
    return t.evolve(r, participants={**t.participants, role: people}, facts=facts)


def _timed(t: Trajectory, r: HistoryRecord) -> Trajectory:
    return t._next(r)  # only its timing changes (see Trajectory._next)


def _migrated(t: Trajectory, r: HistoryRecord) -> Trajectory:
    return t.evolve(
        r,
        state=r.target,
        facts=r.changes,
        consents=r.input["consents"],
        participants={k: tuple(v) for k, v in r.input["participants"].items()},
        definition_version=int(r.input["to_version"]),
    )


def _erased(t: Trajectory, r: HistoryRecord) -> Trajectory:
    # the personal facts erased are ERASED in its changes (runtime.privacy.erased_record)
    return t.evolve(r, facts={**t.facts, **r.changes}) if r.changes else t._next(r)


_REDUCERS: dict[str, Callable[[Trajectory, HistoryRecord], Trajectory]] = {
    "event": _event,
    "activity": _activity,
    "consent_granted": _consent,
    "consent_withdrawn": _consent,
    "assigned": _assignment,
    "unassigned": _assignment,
    "migrated": _migrated,
    "timer": _timed,
    "suspended": _timed,
    "resumed": _timed,
    "erased": _erased,
}


def eras_of(t: Trajectory) -> list[tuple[int, int]]:
    """``(seq of its first record, definition version)`` of each era of ``t``'s history:
    from its start, and from each ``migrated`` record on (whose changes name facts as the
    version it moved to does), oldest first."""
    history = t.history
    first = history[0].seq if history else 0
    eras: list[tuple[int, int]] = []
    for r in history:
        if r.kind == "migrated":
            if not eras:
                eras.append((first, int(r.input["from_version"])))
            eras.append((r.seq, int(r.input["to_version"])))
    return eras or [(first, t.definition_version)]


def apply(t: Trajectory, record: HistoryRecord) -> Trajectory:
    """The snapshot after ``record``: the one place that says what each record kind
    changes (used by every command and by :func:`replay`)."""
    if record.seq != t._version + 1:
        raise ValueError(f"record {record.seq} follows version {t.version}: the history has a gap")
    reducer = _REDUCERS.get(record.kind)
    if reducer is None:
        raise ValueError(f"a {record.kind!r} record cannot follow the start")
    return reducer(t, record)


def replay(trajectory_id: str, records: Sequence[HistoryRecord]) -> Trajectory:
    """Rebuild a trajectory from its history records alone (no guards are run)."""
    if not records:
        raise ValueError("a history starts with a 'started' record")
    t = begin(trajectory_id, records[0])
    for r in records[1:]:
        t = apply(t, r)
    return t
