"""The decisions: given a trajectory and a command, the record it makes, or why not.

Every ``decide_*`` function is pure: it reads the compiled program, the trajectory
snapshot and one :class:`Moment` (one clock reading and the registered predicates),
and returns the :class:`HistoryRecord` the command makes, or raises a
:class:`TransitionRejected` subclass. None of them touches a store or a clock; the
engine applies the record with :func:`coachflow.runtime.trajectory.apply` and commits
it. An event is decided by the program's ``transitions`` machine
(:mod:`coachflow.runtime.dispatch`): :func:`check_step` is the condition of each of its
transitions, and the state the machine sets on the carrier is the record's target.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from inspect import isawaitable
from types import MappingProxyType
from typing import TYPE_CHECKING

from coachflow._bounds import INT64_MAX, INT64_MIN, id_message, id_problem, show_int, shown
from coachflow._frozen import FrozenDict
from coachflow.calendar import SchoolCalendar, missing_holidays, week_of
from coachflow.clock import Clock, checked_now
from coachflow.definition.checks.duties import exclude
from coachflow.definition.expressions import Compiled, EvalContext
from coachflow.definition.plain import DEFAULT_LANGUAGE, Rule, parse_date, text_of
from coachflow.definition.values import ValueProblem, coerce
from coachflow.errors import (
    ConsentError,
    GuardFailed,
    InvalidId,
    InvalidInput,
    MigrationError,
    NotAllowedInState,
    NotPermitted,
    PredicateError,
    Reason,
    TransitionRejected,
    UnknownEvent,
    VersionConflict,
    Where,
    version_conflict,
)
from coachflow.runtime.access import REDACTED, labeled
from coachflow.runtime.trajectory import HistoryRecord, Trajectory, TrajectoryView, new_record

if TYPE_CHECKING:
    from coachflow.definition.model import Definition, Text, Value, Values
    from coachflow.runtime.program import ActivityRule, Effect, Program, Step

Predicate = Callable[[TrajectoryView], bool]
_EMPTY: Values = MappingProxyType({})

LAST_START_DATE = date(9899, 12, 31)
"""The latest start date: every week and due date of a trajectory (at most
:data:`~coachflow._bounds.MAX_WEEK` weeks on) stays a valid date."""


class Moment:
    """What a decision reads besides the trajectory: the one clock reading of the
    command, and the predicates the application registered. Given a clock, the clock is
    read when a decision first asks for ``now`` (a refusal that needs no time reads no
    clock), and never again."""

    __slots__ = ("_clock", "_now", "language", "predicates")

    def __init__(
        self,
        now: datetime | None,
        predicates: Mapping[str, Predicate],
        clock: Clock | None = None,
        language: str = DEFAULT_LANGUAGE,
    ) -> None:
        self._now = now
        self._clock = clock
        self.predicates = predicates
        self.language = language
        """The language of the definition's texts in what a decision says (a guard's
        ``message``): ``nl`` or ``en``, falling back to Dutch."""

    @property
    def now(self) -> datetime:
        now = self._now
        if now is None:
            if self._clock is None:
                raise ValueError("a moment needs a time or a clock")
            now = self._now = checked_now(self._clock)
        return now


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


# --- what expressions read ---------------------------------------------------------------


def discard(awaitable: object) -> None:
    """Close an awaitable that sync code was handed and will not await (a coroutine left
    unclosed would warn that it was never awaited)."""
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()


def call_predicate(predicates: Mapping[str, Predicate], t: Trajectory, name: str) -> bool:
    fn = predicates.get(name)
    if fn is None:
        raise PredicateError(
            f"predicate {name!r} is not registered; call "
            f"engine.register_predicate({name!r}, fn) first",
            registered=False,
        )
    try:
        result = fn(t)
        if result is True or result is False:
            return result
        if not isawaitable(result):
            return bool(result)
    except Exception as exc:
        raise PredicateError(f"predicate {name!r} raised {exc!r}") from exc
    discard(result)  # a coroutine is no answer, and is never run
    raise PredicateError(
        f"predicate {name!r} returned an awaitable: async predicates need an AsyncEngine"
    )


class _Context(EvalContext):
    """An :class:`EvalContext` of a trajectory at a moment: today, its week and the
    predicates are read from them when an expression asks (most never do)."""

    __slots__ = ("_moment", "_trajectory")

    def __init__(self, t: Trajectory, moment: Moment, values: Values, facts: Values) -> None:
        self.facts = facts
        self.consents = t._consents  # the snapshot's own read-only mappings
        self.input = values
        self.counts = t._counts
        self._trajectory = t
        self._moment = moment

    def predicate(self, name: str) -> bool:
        return call_predicate(self._moment.predicates, self._trajectory, name)

    def today(self) -> date:
        return self._moment.now.date()

    def week(self) -> int:
        t = self._trajectory
        return week_of(t.start_date, self.today(), t.calendar)

    def holiday(self, name: str) -> tuple[date, date] | None:
        t = self._trajectory
        found = None if t.calendar is None else t.calendar.holiday(name, t.start_date)
        return None if found is None else (found.start, found.end)


def context(
    t: Trajectory,
    moment: Moment,
    values: Values | None = None,
    facts: Values | None = None,
) -> EvalContext:
    """What an expression about ``t`` reads at ``moment`` (``facts``: instead of its
    own): the one place an :class:`EvalContext` of a trajectory is made."""
    return _Context(
        t, moment, _EMPTY if values is None else values, t.facts if facts is None else facts
    )


def expectations(program: Program, moment: Moment) -> dict[str, Callable[[Trajectory], bool]]:
    """The activities' ``expected`` conditions at ``moment``, as functions of a trajectory
    (for :func:`coachflow.runtime.agenda.agenda`)."""

    def check(expr: Compiled) -> Callable[[Trajectory], bool]:
        return lambda t: bool(expr.fn(context(t, moment)))

    return {name: check(expr) for name, expr in program.expected.items()}


def guard_values(
    guard: Compiled, ctx: EvalContext, secret: frozenset[str] = frozenset()
) -> dict[str, object]:
    """The values an expression read: facts, ``consent.<name>``, ``input.<name>``; a
    ``secret`` (confidential) input field's value is shown as ``REDACTED``."""
    values: dict[str, object] = {name: ctx.facts.get(name) for name in sorted(guard.facts)}
    for name in sorted(guard.consents):
        values[f"consent.{name}"] = bool(ctx.consents.get(name, False))
    for name in sorted(guard.inputs):
        values[f"input.{name}"] = REDACTED if name in secret else ctx.input.get(name)
    for name in sorted(guard.activities):
        values[f"count.{name}"] = ctx.counts.get(name, 0)
    if "today" in guard.time:
        values["today"] = ctx.today()
    if "week" in guard.time:
        values["week"] = ctx.week()
    for name in sorted(guard.holidays):
        days = ctx.holiday(name)
        values[f"holiday {name}"] = None if days is None else f"{days[0]} to {days[1]}"
    return values


def read_values(read: Mapping[str, object]) -> str:
    """What a guard read, for its message: ``name=value``, a confidential value as
    ``name=[redacted]``."""
    return ", ".join(
        f"{name}={value}" if value is REDACTED else f"{name}={value!r}"
        for name, value in read.items()
    )


def apply_effects(
    effects: tuple[Effect, ...],
    ctx: EvalContext,
    changes: dict[str, Value],
    *,
    skip_input: bool = False,
    secret: frozenset[str] = frozenset(),
) -> tuple[Effect, str] | None:
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
            return (
                effect,
                f"setting {effect.fact!r} to {_shown_result(effect, value, secret)} would "
                f"pass its {bound}",
            )
        if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
            end = (
                f"largest integer a fact can hold ({INT64_MAX})"
                if value > 0
                else f"smallest integer a fact can hold ({INT64_MIN})"
            )
            return (
                effect,
                f"setting {effect.fact!r} to {_shown_result(effect, value, secret)} would "
                f"pass the {end}",
            )
        if effect.sized is not None and value is not None:
            problem = effect.sized.length_problem(len(value))
            if problem:
                shown_list = REDACTED if effect.expr.inputs & secret else repr(list(value))
                return effect, f"setting {effect.fact!r} to {shown_list}: {problem}"
        if facts.get(effect.fact) != value:
            changes[effect.fact] = value
    return None


def _shown_result(effect: Effect, value: int, secret: frozenset[str]) -> object:
    """An effect's value for a message: ``[redacted]`` when it reads a secret input."""
    return REDACTED if effect.expr.inputs & secret else show_int(value)


# --- events: the machine decides -----------------------------------------------------------


class Carrier:
    """What the machine fires on: the state attribute it reads and sets, the transition
    it took (``chosen``), and the attempt's data. Conditions record why each candidate
    transition was refused, so the caller can be told without evaluating anything twice.
    """

    __slots__ = (
        "_state",
        "changes",
        "check_input",
        "chosen",
        "error",
        "fields",
        "guard",
        "moment",
        "raw_input",
        "reasons",
        "roles",
        "stage",
        "trajectory",
        "values",
    )

    def __init__(
        self,
        trajectory: Trajectory,
        roles: tuple[str, ...],
        raw_input: object,
        check_input: bool,
        moment: Moment,
    ) -> None:
        self._state = trajectory.state
        self.trajectory = trajectory
        self.roles = roles
        self.raw_input = raw_input
        self.check_input = check_input
        self.moment = moment
        self.chosen: Step | None = None
        self.values: Values = _EMPTY
        self.changes: Values = _EMPTY
        self.reasons: list[Reason | Pending] | None = None  # made at the first refusal
        self.stage = 0  # furthest check reached: 1 permission, 2 input, 3 guard
        self.fields: tuple[str, ...] = ()  # input fields refused
        # the first guard refused: its source, expression, context and secret fields
        self.guard: tuple[str, Compiled, EvalContext, frozenset[str]] | None = None
        self.error: type[TransitionRejected] | None = None

    def refuse(self, stage: int, reason: Reason | Pending) -> bool:
        if stage > self.stage or self.reasons is None:
            self.stage = stage
            self.reasons = [reason]
        elif stage == self.stage:
            self.reasons.append(reason)
        return False

    def reasons_now(self) -> list[Reason]:
        """The reasons of the refusals, each made now if it was left to be made."""
        language = self.moment.language
        return [r if isinstance(r, Reason) else _reason(r, language) for r in self.reasons or ()]

    def guard_read(self) -> dict[str, object]:
        """What the first refusing guard read."""
        if self.guard is None:
            return {}
        _, expr, ctx, secret = self.guard
        return guard_values(expr, ctx, secret)


Pending = tuple[str, "Step", object]
"""A refusal whose :class:`Reason` is made only when it is read: ``("not-permitted",
step, the roles the actor holds)`` or ``("guard-failed", step, the context the guard
read)``. What it holds does not change during the command."""


def _reason(pending: Pending, language: str) -> Reason:
    code, step, detail = pending
    if code == "not-permitted":
        held = ", ".join(detail) if isinstance(detail, tuple) and detail else "no role"
        return Reason(
            code,
            f"{step.spec.event!r} may be done by {', '.join(step.by)}; this person holds {held}",
        )
    guard = step.guard
    assert guard is not None and isinstance(detail, EvalContext)
    read = guard_values(guard, detail, step.secret)
    return Reason(code, guard_refusal(guard.source, read, step.spec.message, language))


def guard_refusal(
    source: str, read: Mapping[str, object], message: Text | None, language: str
) -> str:
    """What a false guard's refusal says: the definition's ``message`` in ``language``
    when it has one (a sentence, not the expression), else the expression and the values
    it ``read`` (:func:`guard_values`: never a secret one)."""
    said = text_of(message, language)
    if said is not None:
        return said
    shown_values = read_values(read)
    return f"guard {source!r} is false" + (f" ({shown_values})" if shown_values else "")


def check_step(step: Step, carrier: Carrier) -> bool:
    """The condition of one transition of the machine: the actor's permission, the
    input, the guard and the bounds of the facts its effects set."""
    if step.by_set.isdisjoint(carrier.roles):
        return carrier.refuse(1, ("not-permitted", step, carrier.roles))
    values: Values = _EMPTY
    if carrier.check_input and (step.inputs or carrier.raw_input is not None):
        checked, problems = step.fields.check(carrier.raw_input)
        if problems:
            for field, problem in problems.items():
                carrier.refuse(2, Reason("invalid-input", problem))
                if field not in carrier.fields:
                    carrier.fields = (*carrier.fields, field)
            return False
        values = checked
    t = carrier.trajectory
    ctx = _Context(t, carrier.moment, values, t._facts)
    guard = step.guard
    checks_guard = guard is not None and (carrier.check_input or not step.guard_reads_input)
    if checks_guard and guard is not None and not guard.fn(ctx):
        if carrier.guard is None:
            carrier.guard = (guard.source, guard, ctx, step.secret)
        return carrier.refuse(3, ("guard-failed", step, ctx))
    changes: dict[str, Value] = {}
    failed = apply_effects(
        step.effects, ctx, changes, skip_input=not carrier.check_input, secret=step.secret
    )
    if failed is not None:
        effect, message = failed
        if carrier.guard is None:
            carrier.guard = (effect.source, effect.expr, ctx, step.secret)
        return carrier.refuse(3, Reason("guard-failed", message))
    carrier.values = values
    carrier.changes = changes
    return True


_STAGE_ERRORS: dict[int, type[TransitionRejected]] = {
    1: NotPermitted,
    2: InvalidInput,
    3: GuardFailed,
}


def _structural(program: Program, t: Trajectory, event: str) -> Reason | None:
    """Why ``event`` cannot even be tried in ``t``'s state (unknown, or no transition of
    it leaves the state), else None: then the machine decides."""
    if event not in program.events:
        return Reason("unknown-event", f"{program.definition.id!r} has no event {event!r}")
    state = t._state
    if not program.leaves(state, event):
        final = state in program.definition.final_states
        why = "the trajectory has ended" if final else "no transition for it leaves it"
        return Reason(
            "not-allowed-in-state", f"{event!r} is not possible in state {state!r}: {why}"
        )
    return None


_STRUCTURAL_ERRORS: dict[str, type[TransitionRejected]] = {
    "unknown-event": UnknownEvent,
    "not-allowed-in-state": NotAllowedInState,
}


def evaluate(
    program: Program,
    t: Trajectory,
    event: str,
    actor: str,
    raw_input: object,
    moment: Moment,
    *,
    check_input: bool,
    tried: bool = False,
    roles: tuple[str, ...] | None = None,
) -> Carrier:
    """Fire ``event`` on a carrier of ``t`` (nothing else changes): afterwards its
    ``chosen`` is the step the machine took (None when refused, with the reasons).
    ``tried``: the caller found it structurally possible already. ``roles``: those the
    actor holds, when not the trajectory's (the worker: ``system``)."""
    held = t.roles_of(actor) if roles is None else roles
    carrier = Carrier(t, held, raw_input, check_input, moment)
    refused = None if tried else _structural(program, t, event)
    if refused is not None:
        carrier.error = _STRUCTURAL_ERRORS[refused.code]
        carrier.reasons = [refused]
    elif not program.dispatcher.fire(event, carrier):
        carrier.error = _STAGE_ERRORS.get(carrier.stage, NotAllowedInState)
        if not carrier.reasons:  # the machine found no transition to try
            carrier.reasons = [
                Reason(
                    "not-allowed-in-state",
                    f"{event!r} is not possible in state {t.state!r}: "
                    "no transition for it leaves it",
                )
            ]
    return carrier


def explain(
    program: Program,
    t: Trajectory,
    event: str,
    actor: str,
    raw_input: object,
    moment: Moment,
) -> Explanation:
    carrier = evaluate(
        program, t, event, actor, raw_input, moment, check_input=raw_input is not None
    )
    allowed = carrier.chosen is not None
    return Explanation(event, t.state, allowed, () if allowed else tuple(carrier.reasons_now()))


def allowed_events(program: Program, t: Trajectory, actor: str, moment: Moment) -> list[str]:
    return [
        event
        for event in program.events_from(t.state)
        if evaluate(program, t, event, actor, None, moment, check_input=False).chosen is not None
    ]


def decide_fire(
    program: Program,
    t: Trajectory,
    event: str,
    actor: str,
    raw_input: object,
    moment: Moment,
    roles: tuple[str, ...] | None = None,
) -> HistoryRecord:
    """The ``event`` record of firing ``event`` as ``actor``: the transition and the
    state are the ones the machine chose. ``roles``: the worker's (``("system",)``)."""
    refused = _structural(program, t, event)
    if refused is not None:  # refused before a carrier is made: the cheapest refusal
        raise _STRUCTURAL_ERRORS[refused.code](
            refused.message, trajectory_id=t.id, event=event, actor=actor, reasons=[refused]
        )
    carrier = evaluate(
        program, t, event, actor, raw_input, moment, check_input=True, tried=True, roles=roles
    )
    step = carrier.chosen
    if step is None:
        raise rejection(carrier, t, event, actor)
    roles = carrier.roles
    for role in step.by:  # the first of the step's roles that the actor holds
        if role in roles:
            break
    values = carrier.values
    if values:
        values = MappingProxyType({k: v for k, v in values.items() if v is not None})
        if event in program.confidential_events:  # labels fixed now, by this version
            values = labeled(values, program.event_labels(event, t._state, carrier._state))
    changes = carrier.changes
    return new_record(
        t._version + 1,
        moment.now,
        actor,
        role,
        "event",
        event,
        t._state,
        carrier._state,
        values or _EMPTY,
        FrozenDict(changes) if changes else _EMPTY,  # a read-only dict: no proxy object
    )


def rejection(carrier: Carrier, t: Trajectory, event: str, actor: str) -> TransitionRejected:
    """The refusal of ``event``; its reasons, message and guard values are made when read."""
    error = carrier.error or TransitionRejected
    tid = t._id
    if error is InvalidInput:
        return InvalidInput(
            fields=carrier.fields,
            reasons=carrier.reasons_now,
            trajectory_id=tid,
            event=event,
            actor=actor,
        )
    if error is GuardFailed:
        return GuardFailed(
            guard=carrier.guard[0] if carrier.guard else None,
            values=carrier.guard_read,
            reasons=carrier.reasons_now,
            trajectory_id=tid,
            event=event,
            actor=actor,
        )
    return error(reasons=carrier.reasons_now, trajectory_id=tid, event=event, actor=actor)


# --- the other commands ---------------------------------------------------------------------


def conflict(
    t: Trajectory, event: str | None, actor: str, expected: int, actual: int | None = None
) -> VersionConflict:
    """The :class:`VersionConflict` of a command: ``t`` is not at the ``expected``
    version, or (``actual`` given) it was read at ``expected`` and is at ``actual`` now."""
    return version_conflict(
        t.id,
        expected=expected,
        actual=t.version if actual is None else actual,
        raced=actual is not None,
        event=event,
        actor=actor,
    )


def refuse_bad_id(
    value: object,
    what: str,
    field: str,
    trajectory_id: str | None,
    event: str | None,
    actor: object,
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


def decide_start(
    program: Program,
    *,
    participants: Mapping[str, str | Sequence[str]],
    actor: str,
    facts: Mapping[str, object] | None,
    trajectory_id: str | None,
    start_date: date | str | None,
    calendar: SchoolCalendar | None,
    moment: Moment,
) -> tuple[str, HistoryRecord]:
    """The id of a new trajectory and its ``started`` record."""
    d = program.definition
    bound, problems, bad_ids = _check_participants(d, participants)
    fields = ["participants"] if problems or bad_ids else []
    if (problem := id_problem(actor)) is not None:
        bad_ids.insert(0, id_message("the actor's person id", actor, problem))
        fields.insert(0, "actor")
    if trajectory_id is not None and (problem := id_problem(trajectory_id)):
        bad_ids.append(id_message("trajectory id", trajectory_id, problem))
        fields.append("trajectory_id")
    where: Where = {"trajectory_id": trajectory_id, "event": None, "actor": actor}
    if problems or bad_ids:
        reasons = [Reason("bad-id", p) for p in bad_ids]
        reasons += [Reason("invalid-input", p) for p in problems]
        raise (InvalidId if bad_ids else InvalidInput)(
            reasons[0].message, fields=fields, reasons=reasons, **where
        )
    conflicts = _start_conflicts(d, bound)
    if conflicts:
        raise NotPermitted(reasons=conflicts, **where)
    initial_facts: Values | None = program.default_facts if facts is None else None
    fact_problems: dict[str, str] = {}
    if initial_facts is None:
        checked, fact_problems = program.facts.check(facts)
        initial_facts = MappingProxyType(checked)
    if fact_problems:
        raise InvalidInput(
            next(iter(fact_problems.values())),
            fields=list(fact_problems),
            reasons=[Reason("invalid-input", p) for p in fact_problems.values()],
            **where,
        )
    allowed = program.started_by
    role = None
    for r in allowed:
        if actor in bound[r]:
            role = r
            break
    if role is None:
        raise NotPermitted(
            f"{actor!r} may not start {d.id!r}: a trajectory is started by "
            f"{', '.join(allowed)}, and the person starting must be bound to one of them",
            **where,
        )
    tid = trajectory_id if trajectory_id is not None else _new_id()
    now = moment.now  # outside the try: a broken clock is not the caller's bad input
    try:
        first_day = now.date() if start_date is None else parse_date(start_date)
    except ValueError as exc:
        raise InvalidInput(f"start_date: {exc}", fields=["start_date"], **where) from None
    if first_day > LAST_START_DATE:
        raise InvalidInput(
            f"start_date: {first_day} is too far ahead; a trajectory starts at the latest "
            f"on {LAST_START_DATE} (its weeks and due dates must fit the calendar)",
            fields=["start_date"],
            **where,
        )
    if program.holidays:
        _check_holidays(program, calendar, first_day, where)
    record = new_record(
        0,
        now,
        actor,
        role,
        "started",
        None,
        None,
        d.initial,
        FrozenDict(
            {
                "definition_id": d.id,
                "definition_version": d.version,
                "participants": FrozenDict(bound),
                "consents": program.no_consents,
                "start_date": first_day,
                "calendar": calendar.as_data() if calendar else None,
            }
        ),
        initial_facts,
    )
    return tid, record


def _check_holidays(
    program: Program, calendar: SchoolCalendar | None, first_day: date, where: Where
) -> None:
    """Refuse a start whose school calendar lacks a holiday the definition reads."""
    missing = missing_holidays(program.holidays, calendar, first_day)
    if missing:
        names = ", ".join(repr(h) for h in missing)
        holiday = "holiday" if len(missing) == 1 else "holidays"
        if calendar is None:
            held = "no school calendar was given"
        else:
            held = f"the school calendar {calendar.name!r} has no {holiday} of that name"
        message = (
            f"{program.definition.id!r} reads the {holiday} {names} of the trajectory's "
            f"school calendar, and {held}: start it with a calendar that has "
            f"{'it' if len(missing) == 1 else 'them'} (calendar=..., e.g. "
            "coachflow.builtin_calendar('nl-2026-2027-midden'))"
        )
        raise InvalidInput(
            message, fields=["calendar"], reasons=[Reason("unknown-holiday", message)], **where
        )


def _new_id() -> str:
    """A new trajectory id: 32 hex digits, a version-4 UUID's (122 random bits from the
    operating system, the version and variant bits set as :func:`uuid.uuid4` sets
    them, without its object)."""
    b = bytearray(os.urandom(16))
    b[6] = b[6] & 0x0F | 0x40
    b[8] = b[8] & 0x3F | 0x80
    return b.hex()


SYSTEM = "system"
"""The worker's actor and role: no person is ever bound to it."""


def _reserved(person: object) -> str | None:
    if person == SYSTEM:
        return "is reserved: the worker fires timeouts as 'system', and no person holds it"
    return None


def decide_suspension(
    program: Program,
    t: Trajectory,
    actor: str,
    suspend: bool,
    reason: object,
    moment: Moment,
) -> HistoryRecord:
    """The ``suspended`` (or ``resumed``) record of ``actor`` suspending (resuming) ``t``,
    by a role of the definition's ``suspendable_by``. ``reason``: why (1 to 500
    characters); it is kept in the history, readable by the roles that suspend (and the
    one who wrote it), and never in a message."""
    d = program.definition
    what = "suspend" if suspend else "resume"
    where: Where = {"trajectory_id": t.id, "event": what, "actor": actor}
    if not d.suspendable_by:
        raise NotPermitted(
            f"{d.id!r} cannot be suspended: its definition names no suspendable_by roles",
            reasons=[Reason("not-permitted", f"{d.id!r} declares no suspendable_by")],
            **where,
        )
    held = t.roles_of(actor)
    role = next((r for r in d.suspendable_by if r in held), None)
    if role is None:
        message = (
            f"a trajectory of {d.id!r} is suspended and resumed by "
            f"{', '.join(d.suspendable_by)}; {actor!r} holds "
            + (", ".join(held) if held else "no role in it")
        )
        raise NotPermitted(message, reasons=[Reason("not-permitted", message)], **where)
    if t.state in d.final_states:
        raise NotAllowedInState(
            f"the trajectory has ended (state {t.state!r}): it cannot be {what}d", **where
        )
    if t.timing.suspended == suspend:
        message = f"the trajectory is {'already' if suspend else 'not'} suspended"
        raise NotAllowedInState(message, reasons=[Reason("not-allowed-in-state", message)], **where)
    given: dict[str, object] = {}
    if suspend or reason is not None:
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
            raise InvalidInput(
                "reason: say why in 1 to 500 characters (it is kept in the history, "
                "readable by the roles that suspend)",
                fields=["reason"],
                **where,
            )
        given["reason"] = reason
    labels = {"reason": (Rule(tuple(sorted(d.suspendable_by)), ()),)} if given else {}
    return new_record(
        t.version + 1,
        moment.now,
        actor,
        role,
        "suspended" if suspend else "resumed",
        input=labeled(MappingProxyType(given), labels) if given else _EMPTY,
    )


def _check_participants(
    d: Definition, participants: Mapping[str, str | Sequence[str]]
) -> tuple[dict[str, tuple[str, ...]], list[str], list[str]]:
    """The people bound per role, the problems, and the ids that break the id rule."""
    problems: list[str] = []
    bad_ids: list[str] = []
    bound: dict[str, tuple[str, ...]] = {}
    if type(participants) is not dict and not isinstance(participants, Mapping):
        return (
            {},
            [f"participants must map role names to person ids, got {shown(participants)}"],
            [],
        )
    roles = d.roles
    for role, people in participants.items():
        spec = roles.get(role)
        if spec is None:
            problems.append(f"unknown role {role!r} (declared: {', '.join(roles)})")
            continue
        if type(people) is str or isinstance(people, str):
            persons: tuple[object, ...] = (people,)
        elif isinstance(people, (list, tuple)):
            persons = tuple(people)
        else:
            problems.append(
                f"role {role!r}: expected a person id or a list of them, got {shown(people)}"
            )
            continue
        checked: list[str] = []
        for person in persons:
            problem = id_problem(person) or _reserved(person)
            if problem is not None:
                bad_ids.append(f"role {role!r}: {id_message('person id', person, problem)}")
                break
            checked.append(str(person))  # it passed the id rule: a string
        else:
            if len(checked) > 1 and len(set(checked)) != len(checked):
                problems.append(f"role {role!r} names the same person twice")
            if len(checked) > spec.max:
                problems.append(f"role {role!r} binds at most {spec.max}, got {len(checked)}")
            bound[role] = tuple(checked)
    result: dict[str, tuple[str, ...]] = {}
    for role, spec in roles.items():
        people_bound = bound.get(role, ())
        if spec.required and not people_bound:
            problems.append(f"role {role!r} is required: bind someone to it at start")
        result[role] = people_bound
    return result, problems, bad_ids


# --- separation of duties: roles one person may not hold together ------------------------------


def _excluded(d: Definition, role: str, held: Iterable[str]) -> list[str]:
    """Those of the roles ``held`` that one person may not hold together with ``role``:
    the roles it ``excludes`` and those that exclude it (both ways)."""
    return [other for other in held if other != role and exclude(d, role, other)]


def _conflict(d: Definition, person: str, held: str, given: str) -> Reason:
    """The refusal of ``person``, who holds ``held``, holding ``given`` as well."""
    declares = given if held in d.roles[given].excludes else held
    other = held if declares == given else given
    return Reason(
        "excluded-roles",
        f"{person!r} may not be both {held} and {given}: role {declares!r} excludes {other!r}",
    )


def _start_conflicts(d: Definition, bound: Mapping[str, tuple[str, ...]]) -> list[Reason]:
    """The people ``bound`` to two roles that exclude each other, each pair once (people
    and roles in the definition's order)."""
    if not any(spec.excludes for spec in d.roles.values()):
        return []
    held: dict[str, list[str]] = {}
    for role, people in bound.items():
        for person in people:
            held.setdefault(person, []).append(role)
    return [
        _conflict(d, person, first, second)
        for person, roles in held.items()
        for i, second in enumerate(roles)
        for first in _excluded(d, second, roles[:i])
    ]


def decide_activity(
    program: Program,
    t: Trajectory,
    activity: str,
    actor: str,
    on: date | str | None,
    raw_input: object,
    moment: Moment,
) -> HistoryRecord:
    """The ``activity`` record of recording ``activity`` as ``actor`` ``on`` a day."""
    where: Where = {"trajectory_id": t.id, "event": activity, "actor": actor}
    rule = program.activities.get(activity)
    if rule is None:
        known = ", ".join(program.activities) or "none"
        raise UnknownEvent(
            f"{t.definition_id!r} has no activity {activity!r} (activities: {known})", **where
        )
    role = _activity_role(t, rule, actor, where)
    today = moment.now.date()
    try:
        day = today if on is None else parse_date(on)
    except ValueError as exc:
        raise InvalidInput(f"on: {exc}", fields=["on"], **where) from None
    if day < t.start_date or day > today:
        raise InvalidInput(
            f"on: {day} is outside the trajectory's time (from {t.start_date} to today, {today})",
            fields=["on"],
            **where,
        )
    values, problems = rule.fields.check(raw_input)
    if problems:
        raise InvalidInput(
            "; ".join(problems.values()),
            fields=list(problems),
            reasons=[Reason("invalid-input", p) for p in problems.values()],
            **where,
        )
    _check_activity_guard(t, rule, moment, values, where)
    _check_activity_limits(t, rule, actor, where)
    kept = {k: v for k, v in values.items() if v is not None}
    return new_record(
        t.version + 1,
        moment.now,
        actor,
        role,
        "activity",
        activity,
        t.state,
        t.state,
        labeled(MappingProxyType(kept), rule.labels) if kept else _EMPTY,
        _EMPTY,
        day,
    )


def _activity_role(t: Trajectory, rule: ActivityRule, actor: str, where: Where) -> str:
    """The role ``actor`` records ``rule``'s activity in: the first of its ``by`` they hold
    (refused when the state is not one of its ``during`` or they hold none)."""
    if t.state not in rule.states:
        raise NotAllowedInState(
            f"{rule.name!r} cannot be recorded in state {t.state!r} (only in "
            f"{', '.join(sorted(rule.states)) or 'no state'})",
            **where,
        )
    roles = t.roles_of(actor)
    role = next((r for r in rule.by if r in roles), None)
    if role is None:
        raise NotPermitted(
            f"{rule.name!r} is recorded by {', '.join(rule.by)}; this person holds "
            f"{', '.join(roles) or 'no role'}",
            **where,
        )
    return role


def _check_activity_guard(
    t: Trajectory,
    rule: ActivityRule,
    moment: Moment,
    values: Values | None,
    where: Where,
) -> None:
    """Refuse when the activity's ``when:`` is false; ``values=None`` (no input given yet):
    a guard that reads the input is not checked."""
    if rule.guard is None or (values is None and rule.guard.inputs):
        return
    ctx = context(t, moment, values)
    if not rule.guard.fn(ctx):
        read = guard_values(rule.guard, ctx, rule.secret)
        raise GuardFailed(
            guard_refusal(rule.guard.source, read, rule.message, moment.language),
            guard=rule.guard.source,
            values=read,
            **where,
        )


def allowed_activities(program: Program, t: Trajectory, actor: str, moment: Moment) -> list[str]:
    """The activities ``actor`` may record today (input not yet given), in file order: the
    checks of :func:`decide_activity` but the input and a guard that reads it."""
    found = []
    today = moment.now.date()
    for name, rule in program.activities.items():
        where: Where = {"trajectory_id": t.id, "event": name, "actor": actor}
        try:
            _activity_role(t, rule, actor, where)
            if not t.start_date <= today:
                continue
            _check_activity_guard(t, rule, moment, None, where)
            _check_activity_limits(t, rule, actor, where)
        except TransitionRejected:
            continue
        found.append(name)
    return found


def _check_activity_limits(t: Trajectory, rule: ActivityRule, actor: str, where: Where) -> None:
    if rule.at_most is not None and t.counts.get(rule.name, 0) >= rule.at_most:
        raise GuardFailed(
            f"{rule.name!r} may be recorded at most {rule.at_most} times; it has been",
            guard=f"at_most: {rule.at_most}",
            values={f"count.{rule.name}": t.counts.get(rule.name, 0)},
            **where,
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
                **where,
            )


def decide_consent(
    d: Definition, t: Trajectory, consent: str, actor: str, grant: bool, moment: Moment
) -> HistoryRecord:
    """The record of granting (or withdrawing) ``consent`` as ``actor``."""
    where: Where = {"trajectory_id": t.id, "event": None, "actor": actor}
    spec = d.consents.get(consent)
    if spec is None:
        known = ", ".join(d.consents) or "none"
        raise ConsentError(f"unknown consent {consent!r} (declared: {known})", **where)
    if spec.granted_by not in t.roles_of(actor):
        raise ConsentError(
            f"consent {consent!r} is granted and withdrawn by the {spec.granted_by}; "
            f"{actor!r} is not bound to that role",
            **where,
        )
    if t.consents.get(consent, False) == grant:
        state = "granted" if grant else "not granted"
        raise ConsentError(f"consent {consent!r} is already {state}", **where)
    return new_record(
        t.version + 1,
        moment.now,
        actor,
        spec.granted_by,
        "consent_granted" if grant else "consent_withdrawn",
        input=MappingProxyType({"consent": consent}),
    )


def decide_assignment(
    program: Program,
    t: Trajectory,
    role: str,
    person: str,
    actor: str,
    assign: bool,
    replacing: str | None,
    moment: Moment,
) -> HistoryRecord:
    """The record of binding ``person`` to ``role`` (or unbinding), as ``actor``."""
    d = program.definition
    where: Where = {"trajectory_id": t.id, "event": None, "actor": actor}
    spec = d.roles.get(role)
    if spec is None:
        raise InvalidInput(
            f"unknown role {role!r} (declared: {', '.join(d.roles)})",
            fields=["role"],
            **where,
        )
    if t.state in d.final_states:
        raise NotAllowedInState(
            f"the trajectory has ended (state {t.state!r}); participants no longer change",
            **where,
        )
    used = next((r for r in spec.assigned_by if r in t.roles_of(actor)), None)
    if used is None:
        who = ", ".join(spec.assigned_by) or "nobody (the participants given at start stay)"
        raise NotPermitted(f"role {role!r} is assigned by {who}", **where)
    if assign:  # unassigning matches the ids stored, whatever they are
        refuse_bad_id(person, "person id", "person", t.id, None, actor)
        if person == SYSTEM:
            message = id_message("person id", person, _reserved(person) or "")
            raise InvalidId(
                message, fields=["person"], reasons=[Reason("bad-id", message)], **where
            )
    people = t.participants.get(role, ())
    if assign:
        if person in people:
            raise InvalidInput(f"{person!r} is already {role}", fields=["person"], **where)
        conflicts = [
            _conflict(d, person, held, role) for held in _excluded(d, role, t.roles_of(person))
        ]
        if conflicts:
            raise NotPermitted(reasons=conflicts, **where)
        if replacing is not None:
            if replacing not in people:
                raise InvalidInput(
                    f"{replacing!r} is not {role}, so cannot be replaced",
                    fields=["replacing"],
                    **where,
                )
            people = tuple(p for p in people if p != replacing)
        if len(people) >= spec.max:
            raise InvalidInput(
                f"role {role!r} binds at most {spec.max} "
                f"{'person' if spec.max == 1 else 'people'}; unassign someone first",
                fields=["role"],
                **where,
            )
    else:
        if person not in people:
            raise InvalidInput(f"{person!r} is not {role}", fields=["person"], **where)
        if spec.required and len(people) == 1:
            raise InvalidInput(
                f"role {role!r} is required; assign someone else before unassigning {person!r}",
                fields=["role"],
                **where,
            )
    hooks = ["on_unassign"] if replacing is not None else []
    hooks.append("on_assign" if assign else "on_unassign")
    changes = _role_effects(program, t, role, hooks, moment, where)
    return new_record(
        t.version + 1,
        moment.now,
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


def _role_effects(
    program: Program,
    t: Trajectory,
    role: str,
    hooks: list[str],
    moment: Moment,
    where: Where,
) -> dict[str, Value]:
    """The fact changes of a role's ``on_unassign``/``on_assign`` effects, in the
    order of ``hooks``; :class:`GuardFailed` when one would pass a fact's bound."""
    changes: dict[str, Value] = {}
    for hook in hooks:
        effects = program.role_effects.get((role, hook))
        if not effects:
            continue
        ctx = context(t, moment, facts={**t.facts, **changes})
        failed = apply_effects(effects, ctx, changes)
        if failed is not None:
            effect, message = failed
            raise GuardFailed(
                f"{hook} of role {role!r}: {message}",
                guard=effect.source,
                values=guard_values(effect.expr, ctx),
                **where,
            )
    return changes


def migrated(
    t: Trajectory, target: Definition, holidays: frozenset[str] = frozenset()
) -> tuple[str, dict[str, Value], dict[str, bool], dict[str, tuple[str, ...]]]:
    """Where ``t`` lands in ``target``: its state, facts, consents and participants;
    :class:`MigrationError` when it cannot move. ``holidays``: the holiday names
    ``target`` reads, which the trajectory's school calendar must have."""
    m = target.migrates_from
    if target.version <= t.definition_version:
        raise MigrationError(
            f"{t.id!r} is at version {t.definition_version}; version {target.version} is not newer"
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
    if t.timing.suspended and not target.suspendable_by:
        raise MigrationError(
            f"{t.id!r} is suspended, and version {target.version} names no suspendable_by "
            "roles: nobody could resume it there (resume it first)"
        )
    calendar = t.calendar
    lacking = missing_holidays(holidays, calendar, t.start_date)
    if lacking:
        held = (
            "it has no school calendar"
            if calendar is None
            else (f"its school calendar {calendar.name!r} has no holiday of that name")
        )
        raise MigrationError(
            f"version {target.version} reads the holiday {', '.join(map(repr, lacking))}, "
            f"and {held}"
        )
    facts: dict[str, Value] = {}
    for name, spec in target.facts.items():
        facts[name] = getattr(spec, "default", None)
    for old, value in t.facts.items():
        new_name = m.facts.get(old, old)
        if new_name in target.facts and value is not None:
            try:
                facts[new_name] = coerce(target.facts[new_name], value)
            except ValueProblem as exc:
                raise MigrationError(f"fact {old!r} cannot become {new_name!r}: {exc}") from None
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
    conflicts = _start_conflicts(target, people)
    if conflicts:  # the new version keeps these roles apart: reassign first, then migrate
        raise MigrationError(
            f"version {target.version} keeps roles apart that one person holds here: "
            + "; ".join(r.message for r in conflicts)
            + " (assign one of them to someone else first)"
        )
    consents = {c: bool(t.consents.get(c, False)) for c in target.consents}
    return state, facts, consents, people


def migration_plan(
    trajectories: Iterable[Trajectory], target: Definition, holidays: frozenset[str] = frozenset()
) -> list[tuple[str, int, str | None]]:
    """``(trajectory_id, from_version, problem)`` for every trajectory of an older
    version of ``target``'s definition (``problem`` None when it can move)."""
    plan: list[tuple[str, int, str | None]] = []
    for t in trajectories:
        if t.definition_id != target.id or t.definition_version >= target.version:
            continue
        try:
            migrated(t, target, holidays)
        except MigrationError as exc:
            plan.append((t.id, t.definition_version, str(exc)))
        else:
            plan.append((t.id, t.definition_version, None))
    return plan


def decide_migration(
    t: Trajectory,
    target: Definition,
    actor: str,
    moment: Moment,
    holidays: frozenset[str] = frozenset(),
) -> HistoryRecord:
    """The ``migrated`` record that moves ``t`` to ``target`` (which reads ``holidays``)."""
    state, facts, consents, people = migrated(t, target, holidays)
    return new_record(
        t.version + 1,
        moment.now,
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
