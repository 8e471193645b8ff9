"""The engine: a thin facade over the runtime and a store.

Every command is the same four steps: **load** the trajectory from the store (checked
against ``expected_version``), **decide** (a pure ``decide_*`` function of
:mod:`coachflow.runtime.decide` returns the record the command makes, or raises why
not; an event is decided by the definition version's ``transitions`` machine),
**apply** the record (:func:`coachflow.runtime.trajectory.apply`, the one reducer, also
used by replay), and **commit** the new snapshot, which the store accepts only if the
trajectory is still at the version it was read at. A rejected change writes nothing.
The clock is read once per command.
"""

from __future__ import annotations

import inspect
import logging
import random
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from coachflow._bounds import id_problem
from coachflow.calendar import SchoolCalendar
from coachflow.clock import Clock, SystemClock, day_of
from coachflow.definition.plain import DEFAULT_LANGUAGE, parse_date
from coachflow.errors import (
    CalendarWarning,
    CoachflowError,
    ErasureError,
    InvalidId,
    NotPermitted,
    PredicateError,
    Reason,
    StoredDefinitionWarning,
    UnknownTrajectory,
    VersionConflict,
    definition_changed,
    stored_only,
)
from coachflow.runtime.access import Read, redact, redacted
from coachflow.runtime.access_log import (
    AccessEntry,
    entries_of,
    may_read_log,
    readable_entries,
)
from coachflow.runtime.agenda import AgendaItem, agenda, calendar_warning, most_urgent_first
from coachflow.runtime.decide import (
    LAST_START_DATE,
    Explanation,
    Moment,
    Predicate,
    allowed_activities,
    allowed_events,
    conflict,
    decide_activity,
    decide_assignment,
    decide_consent,
    decide_fire,
    decide_migration,
    decide_start,
    decide_suspension,
    discard,
    expectations,
    explain,
    migration_plan,
    refuse_bad_id,
)
from coachflow.runtime.export import EXPORT_SCHEMA, mentions, scope_of, trajectory_export
from coachflow.runtime.flows import HiddenFacts, hidden_by_era
from coachflow.runtime.outbox import (
    OVERDUE,
    REMINDER,
    Message,
    change_message,
    check_after,
    check_ids,
    check_limit,
    timer_message,
)
from coachflow.runtime.privacy import (
    CLASSES,
    SealPlan,
    ended_on,
    erased_classes,
    erased_record,
    erasure_of,
    seal_plan,
)
from coachflow.runtime.program import Program
from coachflow.runtime.registry import Registry
from coachflow.runtime.timers import SYSTEM, decide_due, next_timer
from coachflow.runtime.trajectory import (
    HistoryRecord,
    Trajectory,
    apply,
    begin_decided,
    eras_of,
    replay,
)
from coachflow.store.codec import content_hash
from coachflow.store.memory import MemoryStore
from coachflow.store.port import Change, Store

if TYPE_CHECKING:
    from coachflow.definition.compiled import CompiledDefinition
    from coachflow.definition.model import Definition
    from coachflow.files.loading import DefinitionSource

__all__ = [
    "LAST_START_DATE",
    "MAX_LEASE",
    "DueReport",
    "Engine",
    "Explanation",
    "Listener",
    "Outbox",
    "Predicate",
    "Purge",
]

log = logging.getLogger("coachflow.engine")

Listener = Callable[[Message], object]
"""An in-process listener (:meth:`Engine.subscribe`): called with the message of every
accepted change, after it was committed."""

MAX_LEASE = timedelta(days=7)
"""The longest lease of a claimed outbox message."""


MAX_TIMERS_PER_PASS = 1000
"""The most timers :meth:`Engine.run_due` handles of one trajectory in one pass."""
BATCH = 200
"""How many trajectories' changes :meth:`Engine.run_due` commits in one transaction."""
MAX_ROUNDS = 5
"""How often :meth:`Engine.run_due` reads a trajectory again that another process changed
first (each time it is read again and decided anew)."""


def _count(records: Sequence[HistoryRecord], counts: dict[str, int]) -> None:
    for record in records:
        if record.kind != "timer":
            continue
        topic = record.input["topic"]
        if topic == REMINDER:
            counts["reminders"] += 1
        elif topic == OVERDUE:
            counts["escalations"] += 1
        else:
            counts["timeouts" if record.input.get("fired") else "refused"] += 1


@dataclass(frozen=True, slots=True)
class DueReport:
    """What one :meth:`Engine.run_due` pass did."""

    trajectories: int = 0
    """Trajectories the index said had a timer due, that were looked at."""
    reminders: int = 0
    escalations: int = 0
    timeouts: int = 0
    """Timeouts whose event the machine took."""
    refused: int = 0
    """Timeouts whose event was refused (handled: their ``state.timeout`` says why)."""
    conflicts: int = 0
    """Changes another process made first (that trajectory was read again)."""
    more: bool = False
    """The pass stopped at its ``limit``: more trajectories may have timers due."""
    failed: tuple[str, ...] = ()
    """Trajectories whose due work could not all be decided, each logged. One that cannot
    be decided here (a definition version this process cannot run, a predicate that only
    the application registers) is left as it was and tried again at the next pass. One
    where an activity's ``expected`` raised (a predicate that failed) had its other timers
    handled, and that activity's wait for the next day's passes. The others' work was
    done."""

    @property
    def handled(self) -> int:
        return self.reminders + self.escalations + self.timeouts + self.refused

    def __str__(self) -> str:
        return (
            f"{self.trajectories} due, {self.reminders} reminders, {self.escalations} "
            f"escalations, {self.timeouts} timeouts fired, {self.refused} refused, "
            f"{self.conflicts} conflicts"
            + (f", {len(self.failed)} failed" if self.failed else "")
            + (" (more to do)" if self.more else "")
        )


class Outbox:
    """The store's outbox as an engine's clock sees it (:attr:`Engine.outbox`): every
    accepted change is a ``trajectory.changed`` message (see :mod:`coachflow.runtime.outbox`),
    delivered at least once to every named consumer that claims and acknowledges it."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def claim(
        self, consumer: str, limit: int = 100, *, lease: timedelta = timedelta(minutes=5)
    ) -> list[Message]:
        """Up to ``limit`` messages ``consumer`` has not acknowledged (nor holds a running
        lease on), oldest first, each claimed for ``lease``: acknowledge each with
        :meth:`ack` once it is handled, or it is handed out again when the lease ends."""
        if not isinstance(lease, timedelta) or not timedelta(0) < lease <= MAX_LEASE:
            raise ValueError(f"lease: a timedelta of more than 0 and at most 7 days, not {lease!r}")
        return self._store.claim(consumer, limit=limit, lease=lease, now=self._clock.now())

    def ack(self, consumer: str, message_ids: Sequence[int]) -> int:
        """Acknowledge messages for ``consumer`` (by :attr:`Message.id`): how many were not
        acknowledged before. ValueError, and nothing acknowledged, for an id of no message."""
        ids = check_ids(message_ids)  # read once: a generator is acknowledged too
        return self._store.ack(consumer, ids, now=self._clock.now())

    def messages(
        self, *, consumer: str | None = None, after: int = 0, limit: int = 100
    ) -> list[Message]:
        """Up to ``limit`` messages after the id ``after``, oldest first; with ``consumer``
        only those it has not acknowledged. A read: nothing is claimed."""
        return self._store.outbox(consumer=consumer, after=check_after(after), limit=limit)


@dataclass(frozen=True, slots=True)
class Purge:
    """What :meth:`Engine.purge` erased (or, on a dry run, would erase) of one
    trajectory: the classes whose retention period ended, the day it ended, and how many
    values they held."""

    trajectory_id: str
    classes: tuple[str, ...]
    due: date
    values: int
    fields: tuple[str, ...]


class Engine:
    """Runs trajectories of a set of definitions.

    ``definitions``: a directory (every ``*.yaml``/``*.yml`` below it), an iterable of
    :class:`Definition` objects, or None for every registered definition set (the
    built-in ones and those of installed plugins; ``plugins=False`` skips discovery).
    ``store``: where trajectories are kept (default: a :class:`MemoryStore`).
    ``clock``: any object with ``now()`` returning a timezone-aware datetime (default:
    the system clock, UTC).
    ``calendar``: the school calendar new trajectories use (default: none, so weeks are
    plain calendar weeks); ``start(..., calendar=...)`` overrides it per trajectory.
    ``language``: the language of the definitions' texts in what the engine says - a
    guard's ``message`` in a refusal, the titles of agenda items - ``"nl"`` (the
    default) or ``"en"``, falling back to Dutch where a text has no translation.

    Constructing an engine only reads the store (the definition versions it recorded
    earlier, which keep running when their files are gone); a version is recorded on
    first use: when a trajectory of it is started or changed, or a migration to it is
    planned or made.
    """

    def __init__(
        self,
        definitions: DefinitionSource | None = None,
        *,
        store: Store | None = None,
        clock: Clock | None = None,
        calendar: SchoolCalendar | None = None,
        plugins: bool = True,
        language: str = DEFAULT_LANGUAGE,
    ) -> None:
        self._configure(definitions, clock, calendar, plugins, language)
        self._attach(store if store is not None else MemoryStore())

    @classmethod
    def _unattached(
        cls,
        definitions: DefinitionSource | None,
        *,
        clock: Clock | None,
        calendar: SchoolCalendar | None,
        plugins: bool,
        language: str,
    ) -> Engine:
        """An engine with its definitions loaded and no store yet: :meth:`_attach` gives it
        one (the core of :class:`~coachflow.aio.AsyncEngine`, which reads its store only
        once the store is open)."""
        engine = cls.__new__(cls)
        engine._configure(definitions, clock, calendar, plugins, language)
        return engine

    def _configure(
        self,
        definitions: DefinitionSource | None,
        clock: Clock | None,
        calendar: SchoolCalendar | None,
        plugins: bool,
        language: str,
    ) -> None:
        """Everything of construction but the store: the definitions are read and
        loaded, not yet compared with the versions the store holds."""
        self.language = language
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.calendar = calendar
        self._registry = Registry()
        self._listeners: tuple[Listener, ...] = ()
        self._predicates: dict[str, Predicate] = {}
        from coachflow.files.loading import definitions_from  # pydantic and the YAML reader

        for definition in definitions_from(definitions, plugins=plugins):
            self.add_definition(definition)

    def _attach(self, store: Store) -> None:
        """Use ``store``: every version loaded here (given, or added before) is checked
        against the content the store holds under it, before anything is changed (so an
        async engine whose opening was refused refuses again at the next try); the
        versions only the store holds are loaded too (their files may be gone)."""
        stored = {d.key: d for d in store.stored_definitions()}
        for key, definition in stored.items():
            if key not in self._registry:
                continue
            loaded = self._registry.program(*key).definition
            if content_hash(loaded)[1] != content_hash(definition)[1]:
                raise definition_changed(*key)
        self.store: Store = store
        self.outbox = Outbox(self.store, self.clock)
        """The store's outbox: a message for every accepted change, for consumers that
        claim and acknowledge them (:class:`Outbox`)."""
        self._recorded = set(stored)
        """The versions the store holds: recorded earlier, or by this engine."""
        for key, definition in stored.items():  # versions whose files are gone still run
            if key not in self._registry:
                program = self._registry.add(definition, stored=True)
                if not program.compiled.passes_later_checks:
                    warnings.warn(
                        f"{definition.id!r} version {definition.version}, stored earlier, "
                        "fails checks added since it was stored (self-escalation, "
                        "confidential-flow); its trajectories keep running on it as before: "
                        "migrate them to a newer version (Engine.migrate)",
                        StoredDefinitionWarning,
                        stacklevel=3,
                    )

    # -- definitions ---------------------------------------------------------------------

    def add_definition(self, definition: Definition) -> None:
        """Make a definition version available (checked and compiled once)."""
        self._registry.add(definition)

    def next_due(self, trajectory: Trajectory) -> date | None:
        """The earliest due date of a one-off activity not yet done (week- or fact-based),
        kept in the store's index so agendas can be queried by date."""
        key = (trajectory.definition_id, trajectory.definition_version)
        return self._program(*key).next_due(trajectory) if key in self._registry else None

    def definition(self, definition_id: str, version: int | None = None) -> Definition:
        """A loaded definition (the newest version unless ``version`` is given)."""
        return self._program(definition_id, version).definition

    @property
    def definitions(self) -> Mapping[str, Definition]:
        """The newest version of every loaded definition, by id."""
        return self._registry.newest()

    def _program(self, definition_id: str, version: int | None = None) -> Program:
        return self._registry.program(definition_id, version)

    def register_predicate(self, name: str, fn: Predicate) -> None:
        """Register the Python predicate that definitions call as ``name()`` in guards.

        ``fn`` receives the trajectory snapshot and returns a bool.
        """
        if not callable(fn):
            raise TypeError(f"predicate {name!r} must be callable")
        if inspect.iscoroutinefunction(fn):
            raise TypeError(
                f"predicate {name!r} is an async function: register it with an AsyncEngine"
            )
        self._predicates[name] = fn

    def _moment(self) -> Moment:
        """The one clock reading of a command, with the predicates."""
        return Moment(None, self._predicates, self.clock, self.language)

    def _record_definition(self, definition: Definition) -> None:
        if (definition.id, definition.version) not in self._recorded:
            self.store.remember_definition(definition)
            self._recorded.add(definition.key)

    # -- reading -------------------------------------------------------------------------

    def get(self, trajectory_id: str, *, viewer: str | None = None) -> Trajectory:
        """The current snapshot of a trajectory.

        With ``viewer``, its history shows only what that person may read now: every
        confidential value they may not read is replaced by ``REDACTED``, and every one they
        are shown is appended to the store's access log (one :class:`AccessEntry` each, at
        the clock's now; see :meth:`access_log`) before the snapshot is returned: when the
        log cannot be written (:class:`~coachflow.errors.StoreError`), nothing is shown.
        Without it the snapshot holds everything and nothing is logged - for trusted server
        code only, never to hand to a person as it is.
        """
        if viewer is None:
            return self.store.load(trajectory_id)
        refuse_bad_id(viewer, "the viewer's person id", "viewer", trajectory_id, None, None)
        t = self.store.load(trajectory_id)
        self._program(t.definition_id, t.definition_version)  # a version it runs, or refused
        hidden = self._hidden(t, viewer)
        reads: list[Read] = []
        records = redact(t, viewer, reads, hidden)
        if reads:
            self.store.log_reads(entries_of(t.id, viewer, self.clock.now(), reads))
        return t.with_history(records, redacted(t.facts, hidden.now) if hidden else None)

    def _hidden(self, t: Trajectory, viewer: str) -> HiddenFacts:
        """The facts of ``t`` that ``viewer`` may not be shown now, era by era of its
        history (each by the version it ran on; see :mod:`coachflow.runtime.flows`)."""

        def compiled_of(version: int) -> CompiledDefinition | None:
            key = (t.definition_id, version)
            return self._registry.program(*key).compiled if key in self._registry else None

        return hidden_by_era(t, viewer, compiled_of)

    def history(
        self, trajectory_id: str, *, viewer: str | None = None
    ) -> tuple[HistoryRecord, ...]:
        """The history (as ``viewer`` may see it now, and logged; see :meth:`get`)."""
        return self.get(trajectory_id, viewer=viewer).history

    def access_log(self, trajectory_id: str, *, viewer: str) -> tuple[AccessEntry, ...]:
        """Who was shown which confidential value of a trajectory, when and why, oldest
        first: the entries about values ``viewer`` may read now themselves (by each value's
        label, with their roles and consents of now), and always those about what they
        wrote - so a teacher sees who read their reports. Reading the log is not logged.

        :class:`~coachflow.errors.NotPermitted` when ``viewer`` takes no part in the
        trajectory and wrote nothing in it.
        """
        refuse_bad_id(viewer, "the viewer's person id", "viewer", trajectory_id, None, None)
        t = self.store.load(trajectory_id)
        if not may_read_log(t, viewer):
            raise NotPermitted(
                f"{viewer!r} takes no part in trajectory {trajectory_id!r} and wrote nothing "
                "in it: its access log is not theirs to read",
                trajectory_id=trajectory_id,
                actor=viewer,
            )
        return readable_entries(t, viewer, self.store.access_log(trajectory_id))

    def export_person(self, person: str) -> dict[str, object]:
        """Everything the store holds about ``person`` (the AVG's right of access), as plain
        JSON data of the shape ``coachflow.person-export/1`` (docs/privacy.md), for that
        person alone: like ``get(viewer=person)``, it trusts the application to have
        established who asks. Per trajectory that holds data of theirs: the roles they hold
        and held, the records they wrote or that name them (all of them where they hold or
        held a ``subject`` role), their consents and the access log of who read their data
        (as it stood before this export), each value as they may read it now; a value they
        may not read is ``{"redacted": true}`` and counted in ``withheld``. The confidential
        values it shows are logged as read by them (nothing else is). Each stored
        trajectory is read once, as one snapshot."""
        refuse_bad_id(person, "person id", "person", None, None, None)
        if person == SYSTEM:
            message = f"person id {SYSTEM!r} is the worker's, not a person's"
            raise InvalidId(message, fields=["person"], reasons=[Reason("bad-id", message)])
        found: list[dict[str, object]] = []
        for t, program in self._holding(person):
            tid = t.id
            entries = readable_entries(t, person, self.store.access_log(tid))
            scope = scope_of(program.definition, t, person)
            hidden = self._hidden(t, person)
            reads: list[Read] = []
            records = redact(t, person, reads, hidden)
            reads = [r for r in reads if r.seq in scope.shown]
            if reads:
                self.store.log_reads(entries_of(tid, person, self.clock.now(), reads))
            seen = t.with_history(records, redacted(t.facts, hidden.now) if hidden else None)
            found.append(trajectory_export(t, seen, person, entries, scope))
        return {
            "schema": EXPORT_SCHEMA,
            "person": person,
            "exported_at": self.clock.now().isoformat(),
            "trajectories": found,
        }

    # -- privacy (AVG/GDPR) ----------------------------------------------------------------

    def erase(
        self,
        trajectory_id: str,
        *,
        classes: Sequence[str] | None = None,
        reason: str,
        actor: str,
        force: bool = False,
    ) -> Trajectory:
        """Erase the values of ``classes`` (``confidential``, ``personal``; None: both) of
        a trajectory: the store deletes their keys, so from then on each of them reads as
        :data:`~coachflow.ERASED` for everyone, server code included, while the history
        stays complete and replayable; an ``erased`` record (who, when, which fields, how
        many values, why) is appended as the proof. Idempotent: erasing what is already
        erased appends nothing. :class:`ErasureError` (and nothing erased) for a
        trajectory that has not ended, unless ``force``; for an unknown class or an empty
        ``reason``. Returns the trajectory as stored now."""
        refuse_bad_id(actor, "the actor's person id", "actor", trajectory_id, None, actor)
        chosen = _erasure_classes(classes)
        _check_reason(reason)
        t = self.store.load(trajectory_id)
        program = self._program(t.definition_id, t.definition_version)
        if not force and ended_on(t, program.final_states) is None:
            raise ErasureError(
                f"trajectory {trajectory_id!r} is still running (state {t.state!r}): erase "
                "it when it has ended, or with force=True",
                code="still-running",
                trajectory_id=trajectory_id,
            )
        return self._erase(t, program, chosen, reason, actor)

    def _erase(
        self, t: Trajectory, program: Program, chosen: Sequence[str], reason: str, actor: str
    ) -> Trajectory:
        todo = [c for c in chosen if c not in erased_classes(t.history)]
        plans = self._seal_plans(t)
        fields, count = erasure_of(t, plans, todo)  # counted before the values are gone
        self.store.erase_values(t.id, chosen)  # also what an erasure that failed left
        for _ in range(5):
            if not todo:
                return self.store.load(t.id)
            record = erased_record(
                t,
                plans.get(t.definition_version, seal_plan(program.definition)),
                classes=todo,
                fields=fields,
                count=count,
                reason=reason,
                actor=actor,
                at=self.clock.now(),
            )
            try:
                self._commit(t, record, program, None)
                return self.store.load(t.id)
            except VersionConflict:  # changed meanwhile: prove it on what is stored now
                t = self.store.load(t.id)
                program = self._program(t.definition_id, t.definition_version)
                plans = self._seal_plans(t)
                todo = [c for c in todo if c not in erased_classes(t.history)]
        raise ErasureError(
            f"the values of trajectory {t.id!r} are erased, but its erased record could not "
            "be appended (it kept changing): erase it again to record the proof",
            code="no-proof",
            trajectory_id=t.id,
        )

    def _seal_plans(self, t: Trajectory) -> dict[int, SealPlan]:
        """The seal plan of every loaded version of ``t``'s definition."""
        plans: dict[int, SealPlan] = {}
        for version in {t.definition_version, *(v for _, v in eras_of(t))}:
            key = (t.definition_id, version)
            if key in self._registry:
                plans[version] = self._registry.program(*key).seal_plan
        return plans

    def erase_person(
        self, person: str, *, reason: str, actor: str, force: bool = False
    ) -> list[str]:
        """:meth:`erase` every class of every trajectory about ``person`` (one in which
        they hold or held a ``subject`` role); the ids erased, in order. When one of them
        is still running and ``force`` is not given, :class:`ErasureError` and nothing is
        erased."""
        refuse_bad_id(person, "person id", "person", None, None, None)
        refuse_bad_id(actor, "the actor's person id", "actor", None, None, actor)
        _check_reason(reason)
        about = [
            (t, program)
            for t, program in self._holding(person)
            if scope_of(program.definition, t, person).subject
        ]
        running = [t.id for t, p in about if ended_on(t, p.final_states) is None]
        if running and not force:
            raise ErasureError(
                f"{person!r} is the subject of trajectories still running: "
                f"{', '.join(map(repr, running))}; erase them when they have ended, or with "
                "force=True",
                code="still-running",
                trajectory_id=running[0],
            )
        for t, program in about:
            self._erase(t, program, CLASSES, reason, actor)
        return [t.id for t, _ in about]

    def purge(self, *, as_of: date | str | None = None, dry_run: bool = False) -> list[Purge]:
        """Apply the declared retention (``retention:`` of each trajectory's definition
        version) to every stored trajectory: each class whose period ended on or before
        ``as_of`` (default: the clock's today) and is not erased yet is erased, by
        ``system``, with the period as the reason. A period ``after_end`` counts from the
        day the trajectory reached a final state; one ``after_start`` from its start day,
        once it has ended (a running trajectory is never purged). ``dry_run``: only what
        would be erased. Safe to run by several processes at once: each class is erased
        once (the other process finds it erased)."""
        today = parse_date(as_of) if as_of is not None else day_of(self.clock.now())
        found: list[Purge] = []
        for t in self._each_stored():
            key = (t.definition_id, t.definition_version)
            if key not in self._registry:
                continue
            program = self._registry.program(*key)
            retention = program.definition.retention
            ended = ended_on(t, program.final_states)
            if retention is None or ended is None:
                continue
            done = erased_classes(t.history)
            due: dict[str, date] = {}
            reasons: list[str] = []
            for value_class in CLASSES:
                period = retention.of(value_class)
                if period is None or value_class in done:
                    continue
                start, since = (
                    (ended, "after_end")
                    if period.after_end is not None
                    else (t.start_date, "after_start")
                )
                day = period.duration.after(start)
                if day <= today:
                    due[value_class] = day
                    reasons.append(f"{value_class}: {since} {period.duration}")
            if not due:
                continue
            classes = tuple(sorted(due))
            fields, count = erasure_of(t, self._seal_plans(t), classes)
            found.append(Purge(t.id, classes, max(due.values()), count, tuple(fields)))
            if not dry_run:
                self._erase(t, program, classes, "retention " + "; ".join(reasons), SYSTEM)
        return found

    def _each_stored(self) -> Iterator[Trajectory]:
        """Every stored trajectory, each read once, as one snapshot (one removed meanwhile
        is passed by)."""
        for tid in self.store.ids():
            try:
                yield self.store.load(tid)
            except UnknownTrajectory:
                continue

    def _holding(self, person: str) -> Iterator[tuple[Trajectory, Program]]:
        """Every stored trajectory that holds data of ``person`` (see
        :func:`~coachflow.runtime.export.mentions`), with its program."""
        for t in self._each_stored():
            if mentions(t, person):
                yield t, self._program(t.definition_id, t.definition_version)

    def trajectories(self) -> Iterator[Trajectory]:
        """Every stored trajectory."""
        for tid in self.store.ids():
            yield self.store.load(tid)

    def replay(self, trajectory_id: str) -> Trajectory:
        """The trajectory rebuilt from its history alone (equal to :meth:`get`)."""
        return replay(trajectory_id, self.get(trajectory_id).history)

    def allowed_events(self, trajectory_id: str, *, actor: str) -> list[str]:
        """The events ``actor`` may fire now (input not yet given), in file order."""
        t = self.get(trajectory_id)
        program = self._program(t.definition_id, t.definition_version)
        return allowed_events(program, t, actor, self._moment())

    def allowed_activities(self, trajectory_id: str, *, actor: str) -> list[str]:
        """The activities ``actor`` may record today (input not yet given), in file order:
        the state is one of the activity's ``during``, they hold a role of its ``by``, its
        ``when`` (if it reads no input) holds and its ``at_most`` limits leave room."""
        t = self.get(trajectory_id)
        program = self._program(t.definition_id, t.definition_version)
        return allowed_activities(program, t, actor, self._moment())

    def explain(
        self,
        trajectory_id: str,
        event: str,
        *,
        actor: str,
        input: Mapping[str, object] | None = None,
    ) -> Explanation:
        """Whether ``actor`` may fire ``event`` now, and the reasons when not.

        With ``input=None`` the input and the guards and effects that read it are not
        checked (a form's button can be enabled before the form is filled in).
        """
        t = self.get(trajectory_id)
        program = self._program(t.definition_id, t.definition_version)
        return explain(program, t, event, actor, input, self._moment())

    # -- changing ------------------------------------------------------------------------

    def start(
        self,
        definition_id: str,
        *,
        participants: Mapping[str, str | Sequence[str]],
        actor: str,
        facts: Mapping[str, object] | None = None,
        trajectory_id: str | None = None,
        version: int | None = None,
        start_date: date | str | None = None,
        calendar: SchoolCalendar | None = None,
    ) -> Trajectory:
        """Start a trajectory of the newest (or the given) version of a definition.

        ``start_date``: the day week 1 holds (default: today, by the engine's clock).
        ``calendar``: its school calendar (default: the engine's).
        """
        program = self._program(definition_id, version)
        if not program.compiled.passes_later_checks:
            raise stored_only(*program.key)
        used_calendar = calendar if calendar is not None else self.calendar
        tid, record = decide_start(
            program,
            participants=participants,
            actor=actor,
            facts=facts,
            trajectory_id=trajectory_id,
            start_date=start_date,
            calendar=used_calendar,
            moment=self._moment(),
        )
        trajectory = begin_decided(tid, record, used_calendar)
        warning = None  # found before anything is written
        if used_calendar is not None:
            warning = calendar_warning(program.definition, trajectory.start_date, used_calendar)
        self._record_definition(program.definition)
        self.store.create(
            trajectory,
            next_due=program.next_due(trajectory),
            next_timer=self._next_timer(program, trajectory),
        )
        if self._listeners:
            self._tell(trajectory, trajectory.history)
        if warning is not None:
            warnings.warn(f"{tid}: {warning}", CalendarWarning, stacklevel=2)
        return trajectory

    def fire(
        self,
        trajectory_id: str,
        event: str,
        *,
        actor: str,
        input: Mapping[str, object] | None = None,
        expected_version: int | None = None,
    ) -> Trajectory:
        """Fire ``event`` as ``actor``. All or nothing: on any refusal a
        :class:`TransitionRejected` subclass is raised and nothing changed."""
        t, program = self._read(trajectory_id, actor, expected_version, event)
        moment = Moment(None, self._predicates, self.clock, self.language)
        record = decide_fire(program, t, event, actor, input, moment)
        return self._commit(t, record, program, event)

    def record_activity(
        self,
        trajectory_id: str,
        activity: str,
        *,
        actor: str,
        on: date | str | None = None,
        input: Mapping[str, object] | None = None,
        expected_version: int | None = None,
    ) -> Trajectory:
        """Record that ``activity`` took place ``on`` a day (default: today).

        All or nothing, like :meth:`fire`: an unknown activity (``UnknownEvent``), a
        state it does not belong to (``NotAllowedInState``), a person without a role in
        its ``by`` (``NotPermitted``), bad input or day (``InvalidInput``) or a false
        ``when`` (``GuardFailed``) changes nothing.
        """
        t, program = self._read(trajectory_id, actor, expected_version, activity)
        record = decide_activity(program, t, activity, actor, on, input, self._moment())
        return self._commit(t, record, program, activity)

    def grant_consent(
        self, trajectory_id: str, consent: str, *, actor: str, expected_version: int | None = None
    ) -> Trajectory:
        """Grant ``consent`` as ``actor`` (who must hold the role that grants it)."""
        return self._consent(trajectory_id, consent, actor, True, expected_version)

    def withdraw_consent(
        self, trajectory_id: str, consent: str, *, actor: str, expected_version: int | None = None
    ) -> Trajectory:
        """Withdraw ``consent`` as ``actor``; allowed in every state, final ones too."""
        return self._consent(trajectory_id, consent, actor, False, expected_version)

    def _consent(
        self,
        trajectory_id: str,
        consent: str,
        actor: str,
        grant: bool,
        expected_version: int | None,
    ) -> Trajectory:
        t, program = self._read(trajectory_id, actor, expected_version)
        record = decide_consent(program.definition, t, consent, actor, grant, self._moment())
        return self._commit(t, record, program, None)

    def assign(
        self,
        trajectory_id: str,
        role: str,
        person: str,
        *,
        actor: str,
        replacing: str | None = None,
        expected_version: int | None = None,
    ) -> Trajectory:
        """Bind ``person`` to ``role``, as ``actor`` (a role in ``assigned_by``).

        ``replacing``: a person bound to ``role`` who is unbound in the same change (the
        way to hand over a required role that binds one person).
        """
        t, program = self._read(trajectory_id, actor, expected_version)
        record = decide_assignment(program, t, role, person, actor, True, replacing, self._moment())
        return self._commit(t, record, program, None)

    def unassign(
        self,
        trajectory_id: str,
        role: str,
        person: str,
        *,
        actor: str,
        expected_version: int | None = None,
    ) -> Trajectory:
        """Unbind ``person`` from ``role``, as ``actor`` (a role in ``assigned_by``)."""
        t, program = self._read(trajectory_id, actor, expected_version)
        record = decide_assignment(program, t, role, person, actor, False, None, self._moment())
        return self._commit(t, record, program, None)

    def migrate(
        self,
        trajectory_id: str,
        to_version: int | None = None,
        *,
        actor: str,
        expected_version: int | None = None,
    ) -> Trajectory:
        """Move a trajectory to a newer version of its definition (default: the newest),
        along that version's ``migrates_from`` map, and record it in history.

        An administrative operation: ``actor`` is recorded, not checked against roles.
        Raises :class:`MigrationError` when the trajectory cannot move; nothing changes.
        """
        t, _ = self._read(trajectory_id, actor, expected_version)
        target = self._program(t.definition_id, to_version)
        if not target.compiled.passes_later_checks:
            raise stored_only(*target.key)
        record = decide_migration(t, target.definition, actor, self._moment(), target.holidays)
        return self._commit(t, record, target, None)

    def plan_migration(
        self, definition_id: str, to_version: int | None = None
    ) -> list[tuple[str, int, str | None]]:
        """For every stored trajectory of an older version of ``definition_id``:
        ``(trajectory_id, from_version, problem)`` - ``problem`` None when it can move.
        The target version is recorded in the store (nothing else is written)."""
        program = self._program(definition_id, to_version)
        if not program.compiled.passes_later_checks:
            raise stored_only(*program.key)
        self._record_definition(program.definition)  # later processes migrate without its file
        return migration_plan(self.trajectories(), program.definition, program.holidays)

    def _read(
        self, trajectory_id: str, actor: str, expected_version: int | None, event: str | None = None
    ) -> tuple[Trajectory, Program]:
        """The trajectory (checked against ``expected_version``) and its program."""
        if id_problem(actor) is not None:
            refuse_bad_id(actor, "the actor's person id", "actor", trajectory_id, event, actor)
        t = self.store.load(trajectory_id)
        if expected_version is not None and expected_version != t.version:
            raise conflict(t, event, actor, expected_version)
        return t, self._registry.program(t.definition_id, t.definition_version)

    def _commit(
        self, t: Trajectory, record: HistoryRecord, program: Program, event: str | None
    ) -> Trajectory:
        """Apply ``record`` to ``t`` and hand the result to the store (recording the
        definition version first if the store does not hold it yet)."""
        new = apply(t, record)
        if program.key not in self._recorded:
            self._record_definition(program.definition)
        try:
            self.store.commit(
                new,
                expected_version=t.version,
                next_due=program.next_due(new),
                next_timer=self._next_timer(program, new) if program.timers.any else None,
            )
        except VersionConflict as exc:
            raise conflict(t, event, record.actor, t.version, exc.actual) from None
        if self._listeners:
            self._tell(new, (record,))
        return new

    def _next_timer(self, program: Program, t: Trajectory) -> date | None:
        """The first day a timer of ``t`` is due (the worker's index), or None."""
        if not program.timers.any:
            return None
        moment = self._moment()
        return next_timer(program, t, expectations(program, moment), moment.now.date())

    # -- suspension ------------------------------------------------------------------------

    def suspend(
        self,
        trajectory_id: str,
        *,
        actor: str,
        reason: str,
        expected_version: int | None = None,
    ) -> Trajectory:
        """Suspend a trajectory ("opschorting": sick leave, parental leave), as ``actor``
        (a role of the definition's ``suspendable_by``): until :meth:`resume` nothing is
        due and no timer fires; afterwards every due date and timer moves on by the
        suspended time. ``reason`` is kept in the history, readable only by the roles that
        suspend (and the one who wrote it); no message carries it."""
        t, program = self._read(trajectory_id, actor, expected_version, "suspend")
        record = decide_suspension(program, t, actor, True, reason, self._moment())
        return self._commit(t, record, program, "suspend")

    def resume(
        self,
        trajectory_id: str,
        *,
        actor: str,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> Trajectory:
        """Resume a suspended trajectory, as ``actor`` (a role of ``suspendable_by``)."""
        t, program = self._read(trajectory_id, actor, expected_version, "resume")
        record = decide_suspension(program, t, actor, False, reason, self._moment())
        return self._commit(t, record, program, "resume")

    # -- the worker ------------------------------------------------------------------------

    def run_due(self, now: datetime | None = None, *, limit: int = 1000) -> DueReport:
        """Do the due work of up to ``limit`` trajectories once: every reminder and
        escalation due by ``now`` (default: the clock's) becomes a ``timer`` record with
        its notice in the outbox, and every due timeout fires its state's event as the
        actor ``system``. Each timer is handled exactly once, however many processes run
        this at the same time and whenever one is killed: a timer is handled by the
        commit of its record, which the store's version check lets only one process make
        (the changes of many trajectories are committed together, :data:`BATCH` at a time;
        one another process changed first is read again and decided anew).
        The trajectories are found through the store's index (``next_timer``), never by
        reading them all."""
        check_limit(limit, "trajectories")
        if now is not None and (not isinstance(now, datetime) or now.tzinfo is None):
            raise ValueError(f"now: a datetime with its timezone, not {now!r:.60}")
        moment = Moment(now, self._predicates, self.clock, self.language)
        today = moment.now.date()
        ids = self.store.due(today, limit=limit)
        random.shuffle(ids)  # workers that run at once seldom meet
        counts = {"reminders": 0, "escalations": 0, "timeouts": 0, "refused": 0, "conflicts": 0}
        todo = ids
        failed: list[str] = []
        for _ in range(MAX_ROUNDS):
            changes: list[tuple[Change, list[HistoryRecord]]] = []
            for tid in todo:
                try:
                    t = self.store.load(tid)
                    change, records, failing = self._due_change(t, today, moment)
                    changes.append((change, records))
                    for activity, exc in failing:  # its other timers are handled all the same
                        log.warning(
                            "run_due: %s: expected of %r: %s: %s",
                            tid,
                            activity,
                            exc.__class__.__name__,
                            exc,
                        )
                    if failing:
                        failed.append(tid)
                except UnknownTrajectory:
                    continue
                except CoachflowError as exc:  # one trajectory never stops the others' work
                    log.warning("run_due: %s: %s: %s", tid, exc.__class__.__name__, exc)
                    failed.append(tid)
            todo = []
            for first in range(0, len(changes), BATCH):
                batch = changes[first : first + BATCH]
                written = self.store.commit_batch([change for change, _ in batch])
                for (change, records), ok in zip(batch, written, strict=True):
                    if not ok:  # changed by another process since it was read
                        counts["conflicts"] += 1
                        todo.append(change.trajectory.id)
                        continue
                    _count(records, counts)
                    if self._listeners and records:
                        self._tell(change.trajectory, records)
            if not todo:
                break
        more = len(ids) == limit
        return DueReport(len(ids), **counts, more=more, failed=tuple(dict.fromkeys(failed)))

    def _due_change(
        self, t: Trajectory, today: date, moment: Moment
    ) -> tuple[Change, list[HistoryRecord], list[tuple[str, CoachflowError]]]:
        """The change that handles every timer of ``t`` due by ``today``, its records
        (none: only the worker's index moves on) and the activities whose ``expected``
        failed (their timers wait for a later pass: the index asks again tomorrow)."""
        program = self._program(t.definition_id, t.definition_version)
        expected = expectations(program, moment)

        def fire(current: Trajectory, event: str) -> HistoryRecord:
            return decide_fire(program, current, event, SYSTEM, None, moment, roles=(SYSTEM,))

        new = t
        records: list[HistoryRecord] = []
        failing: list[tuple[str, CoachflowError]] = []
        for _ in range(MAX_TIMERS_PER_PASS):
            failing.clear()  # the last look counts: a record may have changed the answer
            handled = decide_due(program, new, today, moment, fire, expected, failing)
            if not handled:
                break
            for record in handled:
                new = apply(new, record)
            records += handled
        for _, exc in failing:
            if isinstance(exc, PredicateError) and not exc.registered:
                raise exc  # another process (the application) decides it: left as it was
        if records and program.key not in self._recorded:
            self._record_definition(program.definition)
        timer = next_timer(program, new, expected, today)
        change = Change(new, t.version, program.next_due(new), timer)
        return change, records, failing

    # -- listeners -----------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with the ``trajectory.changed`` message of every change this
        engine commits from now on (its ``id`` is 0: it is not read from the outbox),
        after the commit, in this thread. A listener that raises is logged (logger
        ``coachflow.engine``) and never undoes the change nor stops the other listeners.
        Returns the function that unsubscribes it. For delivery that survives a crash,
        consume :attr:`outbox` instead."""
        if not callable(listener):
            raise TypeError(f"a listener must be callable, not {type(listener).__name__}")
        if inspect.iscoroutinefunction(listener):
            raise TypeError("an async listener needs an AsyncEngine: this engine never awaits it")
        self._listeners = (*self._listeners, listener)

        def unsubscribe() -> None:
            self._listeners = tuple(f for f in self._listeners if f is not listener)

        return unsubscribe

    def _tell(self, t: Trajectory, records: Sequence[HistoryRecord]) -> None:
        messages = []
        for record in records:
            messages.append(change_message(0, t.id, t.definition_id, record))
            if record.kind == "timer":
                messages.append(timer_message(0, t.id, t.definition_id, record))
        for message in messages:
            for listener in self._listeners:
                try:
                    told = listener(message)
                    if inspect.isawaitable(told):  # never left unawaited without a word
                        discard(told)
                        raise TypeError("the listener returned an awaitable: use an AsyncEngine")
                except Exception:
                    log.exception(
                        "listener %r failed on %s (the change stands)", listener, message.key
                    )

    # -- agendas -------------------------------------------------------------------------

    def agenda(self, trajectory_id: str, *, as_of: date | str | None = None) -> list[AgendaItem]:
        """Every activity of a trajectory with its due date and status on ``as_of``
        (default: today), in the definition's order."""
        t = self.store.load(trajectory_id)
        return self._agenda(t, self._moment(), as_of)

    def agenda_for(
        self, person: str, *, as_of: date | str | None = None, include_done: bool = False
    ) -> list[AgendaItem]:
        """What ``person`` is responsible for, across every stored trajectory, most
        urgent first. Items already done are left out, unless ``include_done``: then they
        come last (a calendar feed keeps them, see :func:`coachflow.agenda_to_ical`)."""
        refuse_bad_id(person, "person id", "person", None, None, None)
        moment = self._moment()
        items: list[AgendaItem] = []
        for t in self.store.with_participant(person):
            roles = set(t.roles_of(person))
            items.extend(
                item
                for item in self._agenda(t, moment, as_of)
                if (include_done or item.status != "done") and roles.intersection(item.roles)
            )
        return most_urgent_first(items)

    def _agenda(self, t: Trajectory, moment: Moment, as_of: date | str | None) -> list[AgendaItem]:
        program = self._program(t.definition_id, t.definition_version)
        day = moment.now.date() if as_of is None else parse_date(as_of)
        expected = expectations(program, moment)
        return agenda(program.definition, t, day, t.calendar, expected, moment.language)


def _erasure_classes(classes: Sequence[str] | None) -> tuple[str, ...]:
    """The classes an erasure names, checked (None: every class)."""
    if classes is None:
        return CLASSES
    if isinstance(classes, str):
        classes = [classes]
    unknown = sorted(set(classes) - set(CLASSES))
    if unknown or not classes:
        raise ErasureError(
            f"unknown class of values {', '.join(map(repr, unknown)) or '(none given)'}: "
            f"erase {' or '.join(map(repr, CLASSES))}",
            code="unknown-class",
        )
    return tuple(c for c in CLASSES if c in classes)


def _check_reason(reason: str) -> None:
    """:class:`ErasureError` (``no-reason``) for an empty reason: the proof says why."""
    if not reason.strip():
        raise ErasureError("an erasure needs a reason", code="no-reason")
