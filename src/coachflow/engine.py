"""The runtime engine: start trajectories, fire events, explain refusals.

Execution is built on the ``transitions`` package, and this is the only module that
imports it. Each definition version is compiled once into one ``transitions.Machine``
(``auto_transitions=False``, no models attached) shared by every trajectory of that
version. An event is fired on a private carrier object that holds the current state
and what the conditions need; user objects are never touched. The machine picks the
first transition, in file order, whose conditions hold: the actor's permission, the
input, the guard and the bounds of the facts its effects set. The machine grows with
the states plus the transitions, never with their product: a ``from: "*"`` transition
is copied into each non-final state only while that stays small, else it is one
transition object of its event (see :data:`_SHARE_WILDCARDS_ABOVE`).

Every change is all-or-nothing: the new snapshot is built aside and handed to the store,
which accepts it only if the trajectory is still at the version it was read at.
"""

from __future__ import annotations

import heapq
import os
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import partial
from operator import attrgetter
from types import MappingProxyType
from typing import Any, cast

from transitions import Machine
from transitions import Transition as MachineTransition

from coachflow._bounds import (
    INT64_MAX,
    INT64_MIN,
    id_message,
    id_problem,
    show_int,
    shown,
)
from coachflow.calendar import SchoolCalendar
from coachflow.clock import Clock, SystemClock, checked_now
from coachflow.definition.checks import CompiledDefinition
from coachflow.definition.expressions import Compiled, EvalContext
from coachflow.definition.model import Definition, Transition, parse_date
from coachflow.definition.values import Fields, ValueProblem, coerce
from coachflow.errors import (
    ConsentError,
    DefinitionError,
    GuardFailed,
    InvalidId,
    InvalidInput,
    MigrationError,
    NotAllowedInState,
    NotPermitted,
    PredicateError,
    Reason,
    TransitionRejected,
    UnknownDefinition,
    UnknownEvent,
    VersionConflict,
)
from coachflow.files.loading import compile_definition, load_definition_versions
from coachflow.runtime.access import redact
from coachflow.runtime.agenda import AgendaItem, agenda, most_urgent_first
from coachflow.runtime.reducer import replay
from coachflow.runtime.trajectory import HistoryRecord, Trajectory, TrajectoryView, history_node
from coachflow.store.memory import MemoryStore
from coachflow.store.port import Store

Predicate = Callable[[TrajectoryView], bool]
_new_record = partial(tuple.__new__, HistoryRecord)  # skips NamedTuple's Python __new__
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Explanation:
    """Whether ``actor`` may do ``event`` now, and if not, why (``reasons``)."""

    event: str
    state: str
    allowed: bool
    reasons: tuple[Reason, ...] = ()

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)


# --- compiled definitions -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Step:
    """One transition, compiled."""

    index: int
    spec: Transition
    by: tuple[str, ...]
    by_set: frozenset[str]
    guard: Compiled | None
    guard_reads_input: bool
    effects: tuple[_Effect, ...]
    inputs: Mapping[str, Any]
    fields: Fields


@dataclass(frozen=True, slots=True)
class _ActivityRule:
    name: str
    by: tuple[str, ...]
    states: frozenset[str]
    guard: Compiled | None
    fields: Fields
    at_most: int | None
    at_most_per_person: int | None


class _Carrier:
    """What the machine fires on: the state attribute plus the attempt's data.

    Conditions record why each candidate transition was refused, so the engine can
    tell the caller without evaluating anything twice.
    """

    __slots__ = (
        "changes",
        "check_input",
        "chosen",
        "engine",
        "error",
        "fields",
        "guard",
        "raw_input",
        "reasons",
        "roles",
        "stage",
        "state",
        "trajectory",
        "values",
    )

    def __init__(
        self,
        engine: Engine,
        trajectory: Trajectory,
        roles: tuple[str, ...],
        raw_input: Any,
        check_input: bool,
    ) -> None:
        self.engine = engine
        self.trajectory = trajectory
        self.state = trajectory.state
        self.roles = roles
        self.raw_input = raw_input
        self.check_input = check_input
        self.chosen: _Step | None = None
        self.values: Mapping[str, Any] = _EMPTY
        self.changes: dict[str, Any] = {}
        self.reasons: list[Reason] = []
        self.stage = 0  # furthest check reached: 1 permission, 2 input, 3 guard
        self.fields: list[str] = []  # input fields refused
        self.guard: tuple[str, dict[str, Any]] | None = None  # first guard refused
        self.error: type[TransitionRejected] | None = None

    def predicate(self, name: str) -> bool:
        return self.engine._call_predicate(self.trajectory, name)

    def today(self) -> date:
        return self.engine._today()

    def week(self) -> int:
        return self.engine._week(self.trajectory)

    def refuse(self, stage: int, reason: Reason) -> bool:
        if stage > self.stage:
            self.stage = stage
            self.reasons = [reason]
        elif stage == self.stage:
            self.reasons.append(reason)
        return False


def _condition(step: _Step, event_data: Any) -> bool:
    carrier: _Carrier = event_data.model
    if step.by_set.isdisjoint(carrier.roles):
        held = ", ".join(carrier.roles) or "no role"
        return carrier.refuse(
            1,
            Reason(
                "not-permitted",
                f"{step.spec.event!r} may be done by {', '.join(step.by)}; "
                f"this person holds {held}",
            ),
        )
    values: Mapping[str, Any] = _EMPTY
    if carrier.check_input and (step.inputs or carrier.raw_input is not None):
        checked, problems = step.fields.check(carrier.raw_input)
        if problems:
            for field, problem in problems.items():
                carrier.refuse(2, Reason("invalid-input", problem))
                if field not in carrier.fields:
                    carrier.fields.append(field)
            return False
        values = checked
    trajectory = carrier.trajectory
    facts = trajectory.facts
    ctx = EvalContext(
        facts,
        trajectory.consents,
        values,
        carrier.predicate,
        trajectory.counts,
        carrier.today,
        carrier.week,
    )
    guard = step.guard
    checks_guard = guard is not None and (carrier.check_input or not step.guard_reads_input)
    if checks_guard and guard is not None and not guard.fn(ctx):
        values = _guard_values(guard, ctx)
        if carrier.guard is None:
            carrier.guard = (guard.source, values)
        read = ", ".join(f"{name}={value!r}" for name, value in values.items())
        return carrier.refuse(
            3,
            Reason(
                "guard-failed",
                f"guard {guard.source!r} is false" + (f" ({read})" if read else ""),
            ),
        )
    changes: dict[str, Any] = {}
    failed = _apply_effects(step.effects, ctx, changes, skip_input=not carrier.check_input)
    if failed is not None:
        effect, message = failed
        if carrier.guard is None:
            carrier.guard = (effect.source, _guard_values(effect.expr, ctx))
        return carrier.refuse(3, Reason("guard-failed", message))
    carrier.chosen = step
    carrier.values = values
    carrier.changes = changes
    return True


@dataclass(frozen=True, slots=True)
class _Effect:
    """One compiled effect: the fact it sets, its expression and the fact's bounds (the
    checker guarantees the type; the bounds are checked when it runs)."""

    fact: str
    expr: Compiled
    low: int | None
    high: int | None
    sized: Any = None
    """The spec of a list fact with ``min_items``/``max_items`` (else None)."""

    @property
    def source(self) -> str:
        return f"{self.fact}: {self.expr.source}"


def _effects(d: Definition, compiled: Mapping[str, Compiled]) -> tuple[_Effect, ...]:
    effects = []
    for fact, expr in compiled.items():
        spec = d.facts[fact]
        sized = getattr(spec, "min_items", None) is not None or getattr(spec, "max_items", None)
        effects.append(
            _Effect(
                fact,
                expr,
                getattr(spec, "min", None),
                getattr(spec, "max", None),
                spec if sized else None,
            )
        )
    return tuple(effects)


def _apply_effects(
    effects: tuple[_Effect, ...],
    ctx: EvalContext,
    changes: dict[str, Any],
    *,
    skip_input: bool = False,
) -> tuple[_Effect, str] | None:
    """Evaluate ``effects`` on ``ctx`` and add the values that differ from its facts to
    ``changes``; the effect that would pass a bound of its fact, and why, if one does.
    ``skip_input``: leave out the effects that read input (a form not filled in yet)."""
    facts = ctx.facts
    for effect in effects:
        if skip_input and effect.expr.inputs:
            continue
        value = effect.expr.fn(ctx)
        low, high = effect.low, effect.high
        if value is not None and (
            (low is not None and value < low) or (high is not None and value > high)
        ):
            bound = f"minimum {low}" if low is not None and value < low else f"maximum {high}"
            return effect, f"setting {effect.fact!r} to {show_int(value)} would pass its {bound}"
        if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
            end = (
                f"largest integer a fact can hold ({INT64_MAX})"
                if value > 0
                else f"smallest integer a fact can hold ({INT64_MIN})"
            )
            return effect, f"setting {effect.fact!r} to {show_int(value)} would pass the {end}"
        if effect.sized is not None and value is not None:
            problem = effect.sized.length_problem(len(value))
            if problem:
                return effect, f"setting {effect.fact!r} to {list(value)!r}: {problem}"
        if facts.get(effect.fact) != value:
            changes[effect.fact] = value
    return None


def _guard_values(guard: Compiled, ctx: EvalContext) -> dict[str, Any]:
    """The values an expression read: facts, ``consent.<name>``, ``input.<name>``."""
    values: dict[str, Any] = {name: ctx.facts.get(name) for name in sorted(guard.facts)}
    for name in sorted(guard.consents):
        values[f"consent.{name}"] = bool(ctx.consents.get(name, False))
    for name in sorted(guard.inputs):
        values[f"input.{name}"] = ctx.input.get(name)
    for name in sorted(guard.activities):
        values[f"count.{name}"] = ctx.counts.get(name, 0)
    if "today" in guard.time:
        values["today"] = ctx.today()
    if "week" in guard.time:
        values["week"] = ctx.week()
    return values


class _FileTransition(MachineTransition):
    """A transition of the compiled machine, with its place in the file (``index``)."""

    def __init__(self, *args: Any, index: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.index = index


class _AnyTransition(_FileTransition):
    """A ``from: "*"`` transition, held once for its event (see :class:`_Sources`): it
    leaves whichever state the event was fired in."""

    def _change_state(self, event_data: Any) -> None:
        # changed the way transitions does it, from the state it was fired in
        leaving = _Leaving(self, event_data.state.name)
        MachineTransition._change_state(cast(MachineTransition, leaving), event_data)


class _Leaving:
    """A ``from: "*"`` transition seen from the state it leaves, for one firing (not the
    transition itself: the machine is shared by threads)."""

    __slots__ = ("_transition", "dest", "source")

    def __init__(self, transition: MachineTransition, source: str) -> None:
        self._transition = transition
        self.source = source
        self.dest = transition.dest

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transition, name)


_SHARE_WILDCARDS_ABOVE = 4
"""The ``"*"`` transitions of a definition are copied into every non-final state of its
machine (as ``transitions`` itself does with ``source="*"``: the quickest to fire) unless
that would make more than this many times as many transition objects as the definition
has states and transitions; then each is one object, shared (:class:`_Sources`). Either
way the machine grows with the states plus the transitions, never with their product."""


class _Machine(Machine):
    """A ``transitions.Machine`` whose transitions know their place in the file."""

    transition_cls = _FileTransition


_BY_INDEX = attrgetter("index")


class _Sources(defaultdict[str, list[MachineTransition]]):
    """The transitions of an event that has ``from: "*"`` ones, by the state they
    leave, as ``transitions`` reads them (``state in event.transitions``, then
    ``event.transitions[state]``). Given ``source="*"``, ``transitions`` would add a
    copy to every state (final ones too); here they are kept once, under ``"*"``, and
    every non-final state finds them, in file order with the ones that name it."""

    def __init__(
        self,
        named: Mapping[str, list[MachineTransition]],
        anywhere: list[MachineTransition],
        non_final: frozenset[str],
    ) -> None:
        super().__init__(list, named)
        self["*"] = self.anywhere = anywhere
        self.non_final = non_final

    def __contains__(self, state: object) -> bool:
        return state in self.non_final or dict.__contains__(self, state)

    def __getitem__(self, state: str) -> list[MachineTransition]:
        if state not in self.non_final:
            return super().__getitem__(state)
        named = self.get(state)
        if named is None:
            return self.anywhere
        return list(heapq.merge(named, self.anywhere, key=_BY_INDEX))


class _Runtime:
    """A definition version compiled for execution: one machine, shared."""

    def __init__(self, compiled: CompiledDefinition) -> None:
        d = compiled.definition
        self.definition = d
        self.events = frozenset(d.events)
        steps: list[_Step] = []
        for ct in compiled.transitions:
            spec = d.transitions[ct.index]
            steps.append(
                _Step(
                    index=ct.index,
                    spec=spec,
                    by=spec.by,
                    by_set=frozenset(spec.by),
                    guard=ct.guard,
                    guard_reads_input=bool(ct.guard and ct.guard.inputs),
                    effects=_effects(d, ct.effects),
                    inputs=spec.input,
                    fields=Fields(spec.input, what="input"),
                )
            )
        self.steps = tuple(steps)
        self.machine = _Machine(
            model=None,
            states=list(d.states),
            initial=d.initial,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=True,
            model_attribute="state",
        )
        self.non_final = frozenset(n for n, s in d.states.items() if not s.final)
        copies = len(self.non_final) * sum(1 for step in self.steps if step.spec.from_any)
        size = len(d.states) + len(d.transitions)
        self.shared = copies > _SHARE_WILDCARDS_ABOVE * size
        """Whether the ``"*"`` transitions are one object each (else a copy per state)."""
        named: dict[tuple[str, str], list[_Step]] = {}
        anywhere: dict[str, list[_Step]] = {}  # event -> its from: "*" steps
        anywhere_transitions: dict[str, list[MachineTransition]] = {}
        for step in self.steps:
            event, spec = step.spec.event, step.spec
            if spec.from_any:
                anywhere.setdefault(event, []).append(step)
            if spec.from_any and self.shared:
                # source=[] makes the event only; the "*" transition is added below, once
                # (given source="*", transitions would copy it into every state)
                self.machine.add_transition(event, source=[], dest=spec.to, index=step.index)
                anywhere_transitions.setdefault(event, []).append(
                    _AnyTransition(
                        "*", spec.to, conditions=[partial(_condition, step)], index=step.index
                    )
                )
                continue
            for source in d.sources(spec):  # "*": every non-final state
                self.machine.add_transition(
                    trigger=event,
                    source=source,
                    dest=spec.to,
                    conditions=[partial(_condition, step)],
                    index=step.index,
                )
                if not spec.from_any:
                    named.setdefault((source, event), []).append(step)
        for event, transitions in anywhere_transitions.items():
            machine_event = self.machine.events[event]
            machine_event.transitions = _Sources(
                machine_event.transitions, transitions, self.non_final
            )
        self.named = {k: tuple(v) for k, v in named.items()}
        """(state, event) -> the steps that name the state in ``from``, in file order."""
        self.anywhere = {k: tuple(v) for k, v in anywhere.items()}
        """event -> its ``from: "*"`` steps, in file order."""
        self.triggers = {name: event.trigger for name, event in self.machine.events.items()}
        self.order = {e: i for i, e in enumerate(d.events)}
        named_events: dict[str, set[str]] = {}
        for source, event in self.named:
            named_events.setdefault(source, set()).add(event)
        self.named_events = {
            s: tuple(sorted(es, key=self.order.__getitem__)) for s, es in named_events.items()
        }
        self.anywhere_events = tuple(sorted(self.anywhere, key=self.order.__getitem__))
        # every state's events merged ahead, unless that takes more than a few times the
        # size of the definition (then each call merges them)
        merged_size = len(self.non_final) * len(self.anywhere_events) + len(self.named)
        self._events_from = (
            {s: self._merge_events(s) for s in self.non_final}
            if merged_size <= _SHARE_WILDCARDS_ABOVE * size
            else {}
        )
        self.role_effects = {
            hook: _effects(d, effects) for hook, effects in compiled.role_effects.items()
        }
        self.facts = Fields(d.facts, what="fact")
        self.expected = {
            name: expr for name, expr in compiled.activity_expected.items() if expr is not None
        }
        self.activities = {
            name: _ActivityRule(
                name=name,
                by=activity.by,
                states=frozenset(d.activity_states(name)),
                guard=compiled.activity_guards.get(name),
                fields=Fields(activity.input, what="input"),
                at_most=activity.at_most,
                at_most_per_person=activity.at_most_per_person,
            )
            for name, activity in d.activities.items()
        }

    def candidates(self, state: str, event: str) -> tuple[_Step, ...]:
        """The steps of ``event`` that leave ``state``, in file order (``"*"`` included)."""
        named = self.named.get((state, event), ())
        if event not in self.anywhere or state not in self.non_final:
            return named
        return tuple(heapq.merge(named, self.anywhere[event], key=_BY_INDEX))

    def events_from(self, state: str) -> tuple[str, ...]:
        """The events that leave ``state``, in file order (``"*"`` included)."""
        events = self._events_from.get(state)
        return events if events is not None else self._merge_events(state)

    def _merge_events(self, state: str) -> tuple[str, ...]:
        named = self.named_events.get(state, ())
        if not self.anywhere_events or state not in self.non_final:
            return named
        merged = heapq.merge(named, self.anywhere_events, key=self.order.__getitem__)
        return tuple(dict.fromkeys(merged))


_STAGE_ERRORS: dict[int, type[TransitionRejected]] = {
    1: NotPermitted,
    2: InvalidInput,
    3: GuardFailed,
}


def _memory_store() -> Store:
    return MemoryStore()


_store_factory: Callable[[], Store] = _memory_store


def default_store() -> Store:
    """The store of an ``Engine(store=None)``: a new in-memory store (test suites may
    swap the factory with :func:`set_default_store_factory` to run against SQL)."""
    return _store_factory()


def set_default_store_factory(factory: Callable[[], Store] | None) -> None:
    """Make ``Engine(store=None)`` use ``factory()`` (None: back to in-memory)."""
    global _store_factory
    _store_factory = factory if factory is not None else _memory_store


DefinitionSource = str | os.PathLike[str] | Definition | Iterable[Definition]


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
    """

    def __init__(
        self,
        definitions: DefinitionSource | None = None,
        *,
        store: Store | None = None,
        clock: Clock | None = None,
        calendar: SchoolCalendar | None = None,
        plugins: bool = True,
    ) -> None:
        self.store: Store = store if store is not None else default_store()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.calendar = calendar
        self._runtimes: dict[tuple[str, int], _Runtime] = {}
        self._newest: dict[str, int] = {}
        self._predicates: dict[str, Predicate] = {}
        remember = getattr(self.store, "remember_definition", None)
        for definition in _definitions_from(definitions, plugins):
            self.add_definition(definition)
            if remember is not None:
                remember(definition)  # a changed content under an old version is refused
        stored = getattr(self.store, "stored_definitions", None)
        if stored is not None:
            for definition in stored():  # versions whose files are gone still run
                if definition.key not in self._runtimes:
                    self.add_definition(definition)
        if hasattr(self.store, "next_due"):
            self.store.next_due = self.next_due

    # -- definitions ---------------------------------------------------------------------

    def add_definition(self, definition: Definition) -> None:
        """Make a definition version available (checked and compiled once)."""
        key = definition.key
        known = self._runtimes.get(key)
        if known is not None:
            if known.definition == definition:
                return
            raise UnknownDefinition(
                f"{definition.id!r} version {definition.version} is already loaded with a "
                "different content; give the changed definition a new version"
            )
        self._runtimes[key] = _Runtime(compile_definition(definition))
        self._check_migrations(definition.id)
        if definition.version > self._newest.get(definition.id, 0):
            self._newest[definition.id] = definition.version

    def _check_migrations(self, definition_id: str) -> None:
        from coachflow.definition.checks import migration_problems
        from coachflow.diagnostics import ERROR, Diagnostic

        versions = {v: r.definition for (i, v), r in self._runtimes.items() if i == definition_id}
        for new in versions.values():
            if new.migrates_from is None or new.migrates_from.version not in versions:
                continue
            problems = migration_problems(versions[new.migrates_from.version], new)
            if problems:
                del self._runtimes[new.key]
                raise DefinitionError(
                    [
                        Diagnostic("migration-map", ERROR, m, f"<{new.id}@{new.version}>", 1, 1)
                        for _, m in problems
                    ]
                )

    def next_due(self, trajectory: Trajectory) -> date | None:
        """The earliest due date of a one-off activity not yet done (week- or fact-based),
        kept in the store's index so agendas can be queried by date."""
        runtime = self._runtimes.get((trajectory.definition_id, trajectory.definition_version))
        if runtime is None or not runtime.definition.activities:
            return None
        from coachflow.calendar import week_end

        best: date | None = None
        for name, activity in runtime.definition.activities.items():
            due = activity.due
            if due is None or trajectory.counts.get(name):
                continue
            day: Any = None
            if due.week is not None:
                day = week_end(trajectory.start_date, due.week, trajectory.calendar)
            elif due.fact is not None:
                day = trajectory.facts.get(due.fact)
            if isinstance(day, date) and (best is None or day < best):
                best = day
        return best

    def definition(self, definition_id: str, version: int | None = None) -> Definition:
        """A loaded definition (the newest version unless ``version`` is given)."""
        return self._runtime(definition_id, version).definition

    @property
    def definitions(self) -> Mapping[str, Definition]:
        """The newest version of every loaded definition, by id."""
        return {i: self._runtimes[(i, v)].definition for i, v in sorted(self._newest.items())}

    def _runtime(self, definition_id: str, version: int | None) -> _Runtime:
        if version is None:
            version = self._newest.get(definition_id)
        runtime = self._runtimes.get((definition_id, version or 0))
        if runtime is None:
            known = ", ".join(sorted(self._newest)) or "none"
            which = definition_id if version is None else f"{definition_id} version {version}"
            raise UnknownDefinition(f"no definition {which!r} is loaded (loaded: {known})")
        return runtime

    def register_predicate(self, name: str, fn: Predicate) -> None:
        """Register the Python predicate that definitions call as ``name()`` in guards.

        ``fn`` receives the trajectory snapshot and returns a bool.
        """
        if not callable(fn):
            raise TypeError(f"predicate {name!r} must be callable")
        self._predicates[name] = fn

    def _today(self) -> date:
        return checked_now(self.clock).date()

    def _week(self, trajectory: Trajectory) -> int:
        from coachflow.calendar import week_of

        return week_of(trajectory.start_date, self._today(), trajectory.calendar)

    def _context(
        self,
        t: Trajectory,
        values: Mapping[str, Any] | None = None,
        facts: Mapping[str, Any] | None = None,
    ) -> EvalContext:
        """What an expression about ``t`` reads (``facts``: instead of its own)."""
        return EvalContext(
            t.facts if facts is None else facts,
            t.consents,
            values,
            lambda name: self._call_predicate(t, name),
            t.counts,
            self._today,
            lambda: self._week(t),
        )

    def _call_predicate(self, trajectory: Trajectory, name: str) -> bool:
        fn = self._predicates.get(name)
        if fn is None:
            raise PredicateError(
                f"predicate {name!r} is not registered; call "
                f"engine.register_predicate({name!r}, fn) first"
            )
        try:
            return bool(fn(trajectory))
        except Exception as exc:
            raise PredicateError(f"predicate {name!r} raised {exc!r}") from exc

    # -- reading -------------------------------------------------------------------------

    def get(self, trajectory_id: str, *, viewer: str | None = None) -> Trajectory:
        """The current snapshot of a trajectory.

        With ``viewer``, its history shows only what that person may read now: every
        confidential value they may not read is replaced by ``REDACTED``. Without it the
        snapshot holds everything - for trusted server code only, never to hand to a
        person as it is.
        """
        if viewer is None:
            return self.store.load(trajectory_id)
        _refuse_bad_id(viewer, "the viewer's person id", "viewer", trajectory_id, None, None)
        t = self.store.load(trajectory_id)
        definition = self._runtime(t.definition_id, t.definition_version).definition
        return t.with_history(redact(definition, t, viewer))

    def history(
        self, trajectory_id: str, *, viewer: str | None = None
    ) -> tuple[HistoryRecord, ...]:
        """The history (as ``viewer`` may see it now; see :meth:`get`)."""
        return self.get(trajectory_id, viewer=viewer).history

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
        runtime = self._runtime(t.definition_id, t.definition_version)
        return [
            event
            for event in runtime.events_from(t.state)
            if self._attempt(runtime, t, event, actor, None, check_input=False).chosen is not None
        ]

    def explain(
        self,
        trajectory_id: str,
        event: str,
        *,
        actor: str,
        input: Mapping[str, Any] | None = None,
    ) -> Explanation:
        """Whether ``actor`` may fire ``event`` now, and the reasons when not.

        With ``input=None`` the input and the guards and effects that read it are not
        checked (a form's button can be enabled before the form is filled in).
        """
        t = self.get(trajectory_id)
        runtime = self._runtime(t.definition_id, t.definition_version)
        carrier = self._attempt(runtime, t, event, actor, input, check_input=input is not None)
        allowed = carrier.chosen is not None
        return Explanation(event, t.state, allowed, () if allowed else tuple(carrier.reasons))

    # -- changing ------------------------------------------------------------------------

    def start(
        self,
        definition_id: str,
        *,
        participants: Mapping[str, str | Sequence[str]],
        actor: str,
        facts: Mapping[str, Any] | None = None,
        trajectory_id: str | None = None,
        version: int | None = None,
        start_date: date | str | None = None,
        calendar: SchoolCalendar | None = None,
    ) -> Trajectory:
        """Start a trajectory of the newest (or the given) version of a definition.

        ``start_date``: the day week 1 holds (default: today, by the engine's clock).
        ``calendar``: its school calendar (default: the engine's).
        """
        runtime = self._runtime(definition_id, version)
        d = runtime.definition
        bound, problems, bad_ids = _check_participants(d, participants)
        fields = ["participants"] if problems or bad_ids else []
        if (problem := id_problem(actor)) is not None:
            bad_ids.insert(0, id_message("the actor's person id", actor, problem))
            fields.insert(0, "actor")
        if trajectory_id is not None and (problem := id_problem(trajectory_id)):
            bad_ids.append(id_message("trajectory id", trajectory_id, problem))
            fields.append("trajectory_id")
        context: dict[str, Any] = {"trajectory_id": trajectory_id, "event": None, "actor": actor}
        if problems or bad_ids:
            reasons = [Reason("bad-id", p) for p in bad_ids]
            reasons += [Reason("invalid-input", p) for p in problems]
            raise (InvalidId if bad_ids else InvalidInput)(
                reasons[0].message, fields=fields, reasons=reasons, **context
            )
        initial_facts, fact_problems = runtime.facts.check(facts)
        if fact_problems:
            raise InvalidInput(
                next(iter(fact_problems.values())),
                fields=list(fact_problems),
                reasons=[Reason("invalid-input", p) for p in fact_problems.values()],
                **context,
            )
        allowed = d.started_by if d.started_by is not None else tuple(d.roles)
        role = next((r for r in allowed if actor in bound.get(r, ())), None)
        if role is None:
            raise NotPermitted(
                f"{actor!r} may not start {d.id!r}: a trajectory is started by "
                f"{', '.join(allowed)}, and the person starting must be bound to one of them",
                **context,
            )
        tid = trajectory_id if trajectory_id is not None else uuid.uuid4().hex
        now = checked_now(self.clock)
        try:
            first_day = now.date() if start_date is None else parse_date(start_date)
        except ValueError as exc:
            raise InvalidInput(f"start_date: {exc}", fields=["start_date"], **context) from None
        if first_day > LAST_START_DATE:
            raise InvalidInput(
                f"start_date: {first_day} is too far ahead; a trajectory starts at the latest "
                f"on {LAST_START_DATE} (its weeks and due dates must fit the calendar)",
                fields=["start_date"],
                **context,
            )
        used_calendar = calendar if calendar is not None else self.calendar
        # the snapshot and its 'started' record share these read-only mappings
        fact_map = MappingProxyType(initial_facts)
        people = MappingProxyType(bound)
        consents = MappingProxyType(dict.fromkeys(d.consents, False))
        record = HistoryRecord(
            seq=0,
            at=now,
            actor=actor,
            role=role,
            kind="started",
            target=d.initial,
            input=MappingProxyType(
                {
                    "definition_id": d.id,
                    "definition_version": d.version,
                    "participants": people,
                    "consents": consents,
                    "start_date": first_day,
                    "calendar": used_calendar.as_data() if used_calendar else None,
                }
            ),
            changes=fact_map,
        )
        trajectory = Trajectory(
            id=tid,
            definition_id=d.id,
            definition_version=d.version,
            state=d.initial,
            facts=fact_map,
            consents=consents,
            participants=people,
            version=0,
            started_at=now,
            node=history_node([record]),
            start_date=first_day,
            calendar=used_calendar,
        )
        self.store.create(trajectory)
        return trajectory

    def fire(
        self,
        trajectory_id: str,
        event: str,
        *,
        actor: str,
        input: Mapping[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> Trajectory:
        """Fire ``event`` as ``actor``. All or nothing: on any refusal a
        :class:`TransitionRejected` subclass is raised and nothing changed."""
        _refuse_bad_id(actor, "the actor's person id", "actor", trajectory_id, event, actor)
        t = self.store.load(trajectory_id)
        if expected_version is not None and expected_version != t.version:
            raise _conflict(t, event, actor, expected_version)
        runtime = self._runtime(t.definition_id, t.definition_version)
        carrier = self._attempt(runtime, t, event, actor, input, check_input=True)
        step = carrier.chosen
        if step is None:
            raise _rejection(carrier, t, event, actor)
        roles = carrier.roles
        role = next(r for r in step.by if r in roles)
        values = carrier.values
        if values:
            values = MappingProxyType({k: v for k, v in values.items() if v is not None})
        changes = carrier.changes
        target = step.spec.to
        record = _new_record(
            (
                t.version + 1,
                checked_now(self.clock),
                actor,
                role,
                "event",
                event,
                t.state,
                target,
                values or _EMPTY,
                MappingProxyType(changes) if changes else _EMPTY,
                None,
            )
        )
        new = t.evolve(
            record,
            state=target,
            facts=MappingProxyType({**t.facts, **changes}) if changes else None,
        )
        self._commit(new, t, event, actor)
        return new

    def _commit(self, new: Trajectory, old: Trajectory, event: str | None, actor: str) -> None:
        try:
            self.store.commit(new, expected_version=old.version)
        except VersionConflict as exc:
            raise VersionConflict(
                f"trajectory {old.id!r} was changed by someone else since it was read at "
                f"version {old.version}; read it again and retry",
                trajectory_id=old.id,
                event=event,
                actor=actor,
                expected=old.version,
                actual=exc.actual,
            ) from None

    def record_activity(
        self,
        trajectory_id: str,
        activity: str,
        *,
        actor: str,
        on: date | str | None = None,
        input: Mapping[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> Trajectory:
        """Record that ``activity`` took place ``on`` a day (default: today).

        All or nothing, like :meth:`fire`: an unknown activity (``UnknownEvent``), a
        state it does not belong to (``NotAllowedInState``), a person without a role in
        its ``by`` (``NotPermitted``), bad input or day (``InvalidInput``) or a false
        ``when`` (``GuardFailed``) changes nothing.
        """
        _refuse_bad_id(actor, "the actor's person id", "actor", trajectory_id, activity, actor)
        t = self.store.load(trajectory_id)
        context: dict[str, Any] = {"trajectory_id": t.id, "event": activity, "actor": actor}
        if expected_version is not None and expected_version != t.version:
            raise _conflict(t, activity, actor, expected_version)
        runtime = self._runtime(t.definition_id, t.definition_version)
        rule = runtime.activities.get(activity)
        if rule is None:
            known = ", ".join(runtime.activities) or "none"
            raise UnknownEvent(
                f"{t.definition_id!r} has no activity {activity!r} (activities: {known})",
                **context,
            )
        if t.state not in rule.states:
            raise NotAllowedInState(
                f"{activity!r} cannot be recorded in state {t.state!r} (only in "
                f"{', '.join(sorted(rule.states)) or 'no state'})",
                **context,
            )
        roles = t.roles_of(actor)
        role = next((r for r in rule.by if r in roles), None)
        if role is None:
            raise NotPermitted(
                f"{activity!r} is recorded by {', '.join(rule.by)}; this person holds "
                f"{', '.join(roles) or 'no role'}",
                **context,
            )
        today = checked_now(self.clock).date()
        try:
            day = today if on is None else parse_date(on)
        except ValueError as exc:
            raise InvalidInput(f"on: {exc}", fields=["on"], **context) from None
        if day < t.start_date or day > today:
            raise InvalidInput(
                f"on: {day} is outside the trajectory's time (from {t.start_date} to "
                f"today, {today})",
                fields=["on"],
                **context,
            )
        values, problems = rule.fields.check(input)
        if problems:
            raise InvalidInput(
                "; ".join(problems.values()),
                fields=list(problems),
                reasons=[Reason("invalid-input", p) for p in problems.values()],
                **context,
            )
        if rule.guard is not None:
            ctx = self._context(t, values)
            if not rule.guard.fn(ctx):
                read = _guard_values(rule.guard, ctx)
                shown = ", ".join(f"{k}={v!r}" for k, v in read.items())
                raise GuardFailed(
                    f"guard {rule.guard.source!r} is false" + (f" ({shown})" if shown else ""),
                    guard=rule.guard.source,
                    values=read,
                    **context,
                )
        self._check_activity_limits(t, rule, actor, context)
        kept = {k: v for k, v in values.items() if v is not None}
        record = HistoryRecord(
            t.version + 1,
            checked_now(self.clock),
            actor,
            role,
            "activity",
            activity,
            t.state,
            t.state,
            MappingProxyType(kept) if kept else _EMPTY,
            _EMPTY,
            day,
        )
        new = t.evolve(record, counts={**t.counts, activity: t.counts.get(activity, 0) + 1})
        self._commit(new, t, activity, actor)
        return new

    @staticmethod
    def _check_activity_limits(
        t: Trajectory, rule: _ActivityRule, actor: str, context: dict[str, Any]
    ) -> None:
        if rule.at_most is not None and t.counts.get(rule.name, 0) >= rule.at_most:
            raise GuardFailed(
                f"{rule.name!r} may be recorded at most {rule.at_most} times; it has been",
                guard=f"at_most: {rule.at_most}",
                values={f"count.{rule.name}": t.counts.get(rule.name, 0)},
                **context,
            )
        if rule.at_most_per_person is not None:
            mine = sum(
                1
                for r in t.history
                if r.kind == "activity" and r.event == rule.name and r.actor == actor
            )
            if mine >= rule.at_most_per_person:
                raise GuardFailed(
                    f"{actor!r} may record {rule.name!r} at most "
                    f"{rule.at_most_per_person} times and has done so {mine} times",
                    guard=f"at_most_per_person: {rule.at_most_per_person}",
                    values={"records by this person": mine},
                    **context,
                )

    def agenda(self, trajectory_id: str, *, as_of: date | str | None = None) -> list[AgendaItem]:
        """Every activity of a trajectory with its due date and status on ``as_of``
        (default: today), in the definition's order."""
        t = self.store.load(trajectory_id)
        runtime = self._runtime(t.definition_id, t.definition_version)
        return agenda(runtime.definition, t, self._day(as_of), t.calendar, self._expected(runtime))

    def agenda_for(self, person: str, *, as_of: date | str | None = None) -> list[AgendaItem]:
        """What ``person`` is responsible for, across every stored trajectory, most
        urgent first (items already done are left out)."""
        _refuse_bad_id(person, "person id", "person", None, None, None)
        day = self._day(as_of)
        items: list[AgendaItem] = []
        for t in self.store.with_participant(person):
            roles = set(t.roles_of(person))
            runtime = self._runtime(t.definition_id, t.definition_version)
            expected = self._expected(runtime)
            items.extend(
                item
                for item in agenda(runtime.definition, t, day, t.calendar, expected)
                if item.status != "done" and roles.intersection(item.roles)
            )
        return most_urgent_first(items)

    def _expected(self, runtime: _Runtime) -> dict[str, Callable[[Trajectory], bool]]:
        def check(expr: Compiled) -> Callable[[Trajectory], bool]:
            def run(t: Trajectory) -> bool:
                return bool(expr.fn(self._context(t)))

            return run

        return {name: check(expr) for name, expr in runtime.expected.items()}

    def _day(self, value: date | str | None) -> date:
        if value is None:
            return checked_now(self.clock).date()
        return parse_date(value)

    def plan_migration(
        self, definition_id: str, to_version: int | None = None
    ) -> list[tuple[str, int, str | None]]:
        """For every stored trajectory of an older version of ``definition_id``:
        ``(trajectory_id, from_version, problem)`` - ``problem`` None when it can move."""
        target = self._runtime(definition_id, to_version).definition
        plan: list[tuple[str, int, str | None]] = []
        for t in self.trajectories():
            if t.definition_id != definition_id or t.definition_version >= target.version:
                continue
            try:
                self._migrated(t, target)
            except MigrationError as exc:
                plan.append((t.id, t.definition_version, str(exc)))
            else:
                plan.append((t.id, t.definition_version, None))
        return plan

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
        _refuse_bad_id(actor, "the actor's person id", "actor", trajectory_id, None, actor)
        t = self.store.load(trajectory_id)
        if expected_version is not None and expected_version != t.version:
            raise _conflict(t, None, actor, expected_version)
        target = self._runtime(t.definition_id, to_version).definition
        state, facts, consents, people = self._migrated(t, target)
        record = HistoryRecord(
            t.version + 1,
            checked_now(self.clock),
            actor,
            None,
            "migrated",
            None,
            t.state,
            state,
            MappingProxyType(
                {
                    "from_version": t.definition_version,
                    "to_version": target.version,
                    "participants": MappingProxyType(people),
                    "consents": MappingProxyType(consents),
                }
            ),
            MappingProxyType(facts),
        )
        new = t.evolve(
            record,
            state=state,
            facts=facts,
            consents=consents,
            participants=people,
            definition_version=target.version,
        )
        self._commit(new, t, None, actor)
        return new

    def _migrated(
        self, t: Trajectory, target: Definition
    ) -> tuple[str, dict[str, Any], dict[str, bool], dict[str, tuple[str, ...]]]:
        m = target.migrates_from
        if target.version <= t.definition_version:
            raise MigrationError(
                f"{t.id!r} is at version {t.definition_version}; version {target.version} "
                "is not newer"
            )
        if m is None or m.version != t.definition_version:
            raise MigrationError(
                f"{target.id!r} version {target.version} does not migrate from version "
                f"{t.definition_version} (its migrates_from names "
                f"{m.version if m else 'no version'})"
            )
        state = m.states.get(t.state)
        if state is None:
            raise MigrationError(f"state {t.state!r} has no place in version {target.version}")
        facts: dict[str, Any] = {}
        for name, spec in target.facts.items():
            facts[name] = getattr(spec, "default", None)
        for old, value in t.facts.items():
            new_name = m.facts.get(old, old)
            if new_name in target.facts and value is not None:
                try:
                    facts[new_name] = coerce(target.facts[new_name], value)
                except ValueProblem as exc:
                    raise MigrationError(
                        f"fact {old!r} cannot become {new_name!r}: {exc}"
                    ) from None
        people: dict[str, tuple[str, ...]] = {}
        for role, persons in t.participants.items():
            if role in target.roles:
                people[role] = persons
            elif persons:
                raise MigrationError(
                    f"role {role!r} (held by {', '.join(map(repr, persons))}) is gone in version "
                    f"{target.version}"
                )
        for role, role_spec in target.roles.items():
            people.setdefault(role, ())
            if role_spec.required and not people[role]:
                raise MigrationError(f"version {target.version} requires someone as {role!r}")
        consents = {c: bool(t.consents.get(c, False)) for c in target.consents}
        return state, facts, consents, people

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

    def _read(
        self, trajectory_id: str, actor: str, expected_version: int | None, event: str | None = None
    ) -> tuple[Trajectory, Definition, dict[str, Any]]:
        """The trajectory (checked against ``expected_version``), its definition, and the
        context every refusal carries."""
        _refuse_bad_id(actor, "the actor's person id", "actor", trajectory_id, event, actor)
        t = self.store.load(trajectory_id)
        if expected_version is not None and expected_version != t.version:
            raise _conflict(t, event, actor, expected_version)
        d = self._runtime(t.definition_id, t.definition_version).definition
        return t, d, {"trajectory_id": t.id, "event": event, "actor": actor}

    def _consent(
        self,
        trajectory_id: str,
        consent: str,
        actor: str,
        grant: bool,
        expected_version: int | None,
    ) -> Trajectory:
        t, d, context = self._read(trajectory_id, actor, expected_version)
        spec = d.consents.get(consent)
        if spec is None:
            known = ", ".join(d.consents) or "none"
            raise ConsentError(f"unknown consent {consent!r} (declared: {known})", **context)
        if spec.granted_by not in t.roles_of(actor):
            raise ConsentError(
                f"consent {consent!r} is granted and withdrawn by the {spec.granted_by}; "
                f"{actor!r} is not bound to that role",
                **context,
            )
        if t.consents.get(consent, False) == grant:
            state = "granted" if grant else "not granted"
            raise ConsentError(f"consent {consent!r} is already {state}", **context)
        record = HistoryRecord(
            t.version + 1,
            checked_now(self.clock),
            actor,
            spec.granted_by,
            "consent_granted" if grant else "consent_withdrawn",
            input=MappingProxyType({"consent": consent}),
        )
        new = t.evolve(record, consents={**t.consents, consent: grant})
        self._commit(new, t, None, actor)
        return new

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
        return self._assignment(
            trajectory_id, role, person, actor, True, expected_version, replacing
        )

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
        return self._assignment(trajectory_id, role, person, actor, False, expected_version)

    def _assignment(
        self,
        trajectory_id: str,
        role: str,
        person: str,
        actor: str,
        assign: bool,
        expected_version: int | None,
        replacing: str | None = None,
    ) -> Trajectory:
        t, d, context = self._read(trajectory_id, actor, expected_version)
        spec = d.roles.get(role)
        if spec is None:
            raise InvalidInput(
                f"unknown role {role!r} (declared: {', '.join(d.roles)})",
                fields=["role"],
                **context,
            )
        if t.state in d.final_states:
            raise NotAllowedInState(
                f"the trajectory has ended (state {t.state!r}); participants no longer change",
                **context,
            )
        used = next((r for r in spec.assigned_by if r in t.roles_of(actor)), None)
        if used is None:
            who = ", ".join(spec.assigned_by) or "nobody (the participants given at start stay)"
            raise NotPermitted(f"role {role!r} is assigned by {who}", **context)
        if assign:  # unassigning matches the ids stored, whatever they are
            _refuse_bad_id(person, "person id", "person", t.id, None, actor)
        people = t.participants.get(role, ())
        if assign:
            if person in people:
                raise InvalidInput(f"{person!r} is already {role}", fields=["person"], **context)
            if replacing is not None:
                if replacing not in people:
                    raise InvalidInput(
                        f"{replacing!r} is not {role}, so cannot be replaced",
                        fields=["replacing"],
                        **context,
                    )
                people = tuple(p for p in people if p != replacing)
            if len(people) >= spec.max:
                raise InvalidInput(
                    f"role {role!r} binds at most {spec.max} "
                    f"{'person' if spec.max == 1 else 'people'}; unassign someone first",
                    fields=["role"],
                    **context,
                )
            people = (*people, person)
        else:
            if person not in people:
                raise InvalidInput(f"{person!r} is not {role}", fields=["person"], **context)
            people = tuple(p for p in people if p != person)
            if spec.required and not people:
                raise InvalidInput(
                    f"role {role!r} is required; assign someone else before unassigning {person!r}",
                    fields=["role"],
                    **context,
                )
        hooks = ["on_unassign"] if replacing is not None else []
        hooks.append("on_assign" if assign else "on_unassign")
        changes = self._role_effects(t, role, hooks, context)
        record = HistoryRecord(
            t.version + 1,
            checked_now(self.clock),
            actor,
            used,
            "assigned" if assign else "unassigned",
            input=MappingProxyType(
                {"role": role, "person": person}
                if replacing is None
                else {"role": role, "person": person, "replacing": replacing}
            ),
            changes=MappingProxyType(changes) if changes else _EMPTY,
        )
        new = t.evolve(
            record,
            participants={**t.participants, role: people},
            facts=MappingProxyType({**t.facts, **changes}) if changes else None,
        )
        self._commit(new, t, None, actor)
        return new

    def _role_effects(
        self, t: Trajectory, role: str, hooks: list[str], context: dict[str, Any]
    ) -> dict[str, Any]:
        """The fact changes of a role's ``on_unassign``/``on_assign`` effects, in the
        order of ``hooks``; :class:`GuardFailed` when one would pass a fact's bound."""
        runtime = self._runtime(t.definition_id, t.definition_version)
        changes: dict[str, Any] = {}
        for hook in hooks:
            effects = runtime.role_effects.get((role, hook))
            if not effects:
                continue
            ctx = self._context(t, facts={**t.facts, **changes})
            failed = _apply_effects(effects, ctx, changes)
            if failed is not None:
                effect, message = failed
                raise GuardFailed(
                    f"{hook} of role {role!r}: {message}",
                    guard=effect.source,
                    values=_guard_values(effect.expr, ctx),
                    **context,
                )
        return changes

    # -- the one place that decides -------------------------------------------------------

    def _attempt(
        self,
        runtime: _Runtime,
        t: Trajectory,
        event: str,
        actor: str,
        raw_input: Any,
        *,
        check_input: bool,
    ) -> _Carrier:
        carrier = _Carrier(self, t, t.roles_of(actor), raw_input, check_input)
        if event not in runtime.events:
            carrier.error = UnknownEvent
            carrier.reasons.append(
                Reason("unknown-event", f"{runtime.definition.id!r} has no event {event!r}")
            )
        elif (t.state, event) not in runtime.named and (
            event not in runtime.anywhere or t.state not in runtime.non_final
        ):
            final = t.state in runtime.definition.final_states
            why = "the trajectory has ended" if final else "no transition for it leaves it"
            carrier.error = NotAllowedInState
            carrier.reasons.append(
                Reason(
                    "not-allowed-in-state",
                    f"{event!r} is not possible in state {t.state!r}: {why}",
                )
            )
        else:
            runtime.triggers[event](carrier)
            if carrier.chosen is None:
                carrier.error = _STAGE_ERRORS[carrier.stage]
        return carrier


def _rejection(carrier: _Carrier, t: Trajectory, event: str, actor: str) -> TransitionRejected:
    error = carrier.error or TransitionRejected
    reasons = list(carrier.reasons)
    message = "; ".join(r.message for r in reasons)
    context: dict[str, Any] = {
        "trajectory_id": t.id,
        "event": event,
        "actor": actor,
        "reasons": reasons,
    }
    if error is InvalidInput:
        return InvalidInput(message, fields=carrier.fields, **context)
    if error is GuardFailed:
        guard, values = carrier.guard if carrier.guard else (None, {})
        return GuardFailed(message, guard=guard, values=values, **context)
    return error(message, **context)


def _conflict(t: Trajectory, event: str | None, actor: str, expected: int) -> VersionConflict:
    return VersionConflict(
        f"trajectory {t.id!r} is at version {t.version}, not {expected}",
        trajectory_id=t.id,
        event=event,
        actor=actor,
        expected=expected,
        actual=t.version,
    )


LAST_START_DATE = date(9899, 12, 31)
"""The latest start date: every week and due date of a trajectory (at most
:data:`~coachflow._bounds.MAX_WEEK` weeks on) stays a valid date."""


def _refuse_bad_id(
    value: object,
    what: str,
    field: str,
    trajectory_id: str | None,
    event: str | None,
    actor: Any,
) -> None:
    """Raise :class:`InvalidId` when ``value`` breaks the id rule (:func:`id_problem`)."""
    problem = id_problem(value)
    if problem is not None:
        message = id_message(what, value, problem)
        raise InvalidId(
            message,
            fields=[field],
            reasons=[Reason("bad-id", message)],
            trajectory_id=trajectory_id,
            event=event,
            actor=actor,
        )


def _check_participants(
    d: Definition, participants: Mapping[str, str | Sequence[str]]
) -> tuple[dict[str, tuple[str, ...]], list[str], list[str]]:
    """The people bound per role, the problems, and the ids that break the id rule."""
    problems: list[str] = []
    bad_ids: list[str] = []
    bound: dict[str, tuple[str, ...]] = {}
    if not isinstance(participants, Mapping):
        return (
            {},
            [f"participants must map role names to person ids, got {shown(participants)}"],
            [],
        )
    for role, people in participants.items():
        spec = d.roles.get(role)
        if spec is None:
            problems.append(f"unknown role {role!r} (declared: {', '.join(d.roles)})")
            continue
        if isinstance(people, str):
            persons: tuple[Any, ...] = (people,)
        elif isinstance(people, (list, tuple)):
            persons = tuple(people)
        else:
            problems.append(
                f"role {role!r}: expected a person id or a list of them, got {shown(people)}"
            )
            continue
        bad = next(((p, msg) for p in persons if (msg := id_problem(p)) is not None), None)
        if bad is not None:
            bad_ids.append(f"role {role!r}: {id_message('person id', *bad)}")
            continue
        if len(set(persons)) != len(persons):
            problems.append(f"role {role!r} names the same person twice")
        if len(persons) > spec.max:
            problems.append(f"role {role!r} binds at most {spec.max}, got {len(persons)}")
        bound[role] = persons
    for role, spec in d.roles.items():
        if spec.required and not bound.get(role):
            problems.append(f"role {role!r} is required: bind someone to it at start")
    return {r: bound.get(r, ()) for r in d.roles}, problems, bad_ids


def _definitions_from(source: DefinitionSource | None, plugins: bool) -> list[Definition]:
    if source is None:
        if not plugins:
            return []
        from coachflow.files.plugins import load_registered

        return load_registered()
    if isinstance(source, Definition):
        return [source]
    if isinstance(source, (str, os.PathLike)):
        return load_definition_versions(source)
    return list(source)
