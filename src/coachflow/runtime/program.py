"""A definition version compiled for execution: its rules and its machine.

Built once per definition version (by the engine, when the version is added) and shared,
read-only, by every trajectory and thread: the steps (one per transition: who may fire
it, its input fields, its compiled guard and effects), the activity rules, the role
hooks' effects, and the :class:`~coachflow.runtime.dispatch.Dispatcher` whose machine
decides each event.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import TYPE_CHECKING

from coachflow.calendar import due_before, week_end
from coachflow.definition.checks import CompiledDefinition
from coachflow.definition.expressions import Compiled
from coachflow.definition.plain import Label, labels_of
from coachflow.definition.values import Fields
from coachflow.durations import shifted
from coachflow.runtime.access import event_specs
from coachflow.runtime.decide import check_step
from coachflow.runtime.privacy import seal_plan
from coachflow.runtime.trajectory import Trajectory

if TYPE_CHECKING:  # transitions is imported when a program is first compiled, pydantic
    # when a definition is first read
    from coachflow.definition.model import AnyInput, Definition, ListFact, Text, Transition, Value
    from coachflow.runtime.dispatch import Dispatcher


@dataclass(frozen=True, slots=True)
class Effect:
    """One compiled effect: the fact it sets, its expression and the fact's bounds (the
    checker guarantees the type; the bounds are checked when it runs)."""

    fact: str
    expr: Compiled
    low: int | None
    high: int | None
    sized: ListFact | None = None
    """The spec of a list fact with ``min_items``/``max_items`` (else None)."""

    @property
    def source(self) -> str:
        return f"{self.fact}: {self.expr.source}"


@dataclass(frozen=True, slots=True)
class Step:
    """One transition, compiled."""

    index: int
    spec: Transition
    by: tuple[str, ...]
    by_set: frozenset[str]
    guard: Compiled | None
    guard_reads_input: bool
    effects: tuple[Effect, ...]
    inputs: Mapping[str, AnyInput]
    fields: Fields
    secret: frozenset[str]
    """Its confidential input fields: messages never show their values."""


@dataclass(frozen=True, slots=True)
class ActivityRule:
    name: str
    by: tuple[str, ...]
    states: frozenset[str]
    guard: Compiled | None
    fields: Fields
    at_most: int | None
    at_most_per_person: int | None
    labels: Mapping[str, Label]
    """The labels its records' confidential values get (see :mod:`coachflow.runtime.access`)."""
    secret: frozenset[str]
    message: Text | None = None
    """What a refusal says when its guard is false (the definition's ``message``)."""


def effects_of(d: Definition, compiled: Mapping[str, Compiled]) -> tuple[Effect, ...]:
    effects = []
    for fact, expr in compiled.items():
        spec = d.facts[fact]
        sized = spec.type == "list" and (spec.min_items is not None or spec.max_items is not None)
        effects.append(
            Effect(
                fact,
                expr,
                getattr(spec, "min", None),
                getattr(spec, "max", None),
                spec if spec.type == "list" and sized else None,
            )
        )
    return tuple(effects)


def secret_fields(inputs: Mapping[str, AnyInput]) -> frozenset[str]:
    """The confidential fields of an input."""
    return frozenset(name for name, spec in inputs.items() if spec.confidential)


class Program:
    """A definition version compiled for execution: one machine, shared."""

    def __init__(self, compiled: CompiledDefinition) -> None:
        d = compiled.definition
        self.definition = d
        self.compiled = compiled
        self.key = d.key
        self.events = frozenset(d.events)
        steps: list[Step] = []
        for ct in compiled.transitions:
            spec = d.transitions[ct.index]
            steps.append(
                Step(
                    index=ct.index,
                    spec=spec,
                    by=spec.by,
                    by_set=frozenset(spec.by),
                    guard=ct.guard,
                    guard_reads_input=bool(ct.guard and ct.guard.inputs),
                    effects=effects_of(d, ct.effects),
                    inputs=spec.input,
                    fields=Fields(spec.input, what="input"),
                    secret=secret_fields(spec.input),
                )
            )
        self.steps = tuple(steps)
        self.non_final = frozenset(n for n, s in d.states.items() if not s.final)
        self.final_states = frozenset(d.states) - self.non_final
        self.seal_plan = seal_plan(d)
        """Which of its values are personal data (:mod:`coachflow.runtime.privacy`)."""
        from coachflow.runtime.dispatch import SHARE_WILDCARDS_ABOVE, Dispatcher, Edge

        self.dispatcher: Dispatcher[Step] = Dispatcher(
            d.states,
            d.initial,
            self.non_final,
            (
                Edge(
                    step.index,
                    step.spec.event,
                    () if step.spec.from_any else d.sources(step.spec),
                    step.spec.to,
                    step,
                    anywhere=step.spec.from_any,
                )
                for step in self.steps
            ),
            check_step,
        )
        named: dict[str, set[str]] = {}  # state -> the events that name it in from
        anywhere: set[str] = set()  # the events with a from: "*" transition
        for step in self.steps:
            if step.spec.from_any:
                anywhere.add(step.spec.event)
            else:
                for source in d.sources(step.spec):
                    named.setdefault(source, set()).add(step.spec.event)
        self.order = {e: i for i, e in enumerate(d.events)}
        self.named_events = {
            s: tuple(sorted(es, key=self.order.__getitem__)) for s, es in named.items()
        }
        self._named = {s: frozenset(es) for s, es in named.items()}
        self.anywhere_events = tuple(sorted(anywhere, key=self.order.__getitem__))
        self._anywhere = frozenset(anywhere)
        size = len(d.states) + len(d.transitions)
        # every state's events merged ahead, unless that takes more than a few times the
        # size of the definition (then each call merges them)
        merged_size = len(self.non_final) * len(self.anywhere_events) + sum(
            len(es) for es in named.values()
        )
        self._events_from = (
            {s: self._merge_events(s) for s in self.non_final}
            if merged_size <= SHARE_WILDCARDS_ABOVE * size
            else {}
        )
        self.role_effects = {
            hook: effects_of(d, effects) for hook, effects in compiled.role_effects.items()
        }
        self.facts = Fields(d.facts, what="fact")
        defaults, problems = self.facts.check(None)
        self.default_facts = MappingProxyType(defaults) if not problems else None
        """The facts of a trajectory started without any, shared until one changes."""
        self.no_consents = MappingProxyType(dict.fromkeys(d.consents, False))
        """Every consent not granted: where each trajectory starts, shared."""
        self.started_by = d.started_by if d.started_by is not None else tuple(d.roles)
        self.expected = {
            name: expr for name, expr in compiled.activity_expected.items() if expr is not None
        }
        self.activities = {
            name: ActivityRule(
                name=name,
                by=activity.by,
                states=frozenset(d.activity_states(name)),
                guard=compiled.activity_guards.get(name),
                fields=Fields(activity.input, what="input"),
                at_most=activity.at_most,
                at_most_per_person=activity.at_most_per_person,
                labels=labels_of((activity.input,)),
                secret=secret_fields(activity.input),
                message=activity.message,
            )
            for name, activity in d.activities.items()
        }
        self.confidential_events = frozenset(
            t.event for t in d.transitions if any(f.confidential for f in t.input.values())
        )
        """The events some transition of which has a confidential input field."""
        self._labels: dict[tuple[str, str, str], Mapping[str, Label]] = {}
        self.holidays = compiled.holidays
        """The holiday names the definition reads: a trajectory's calendar needs each."""
        from coachflow.runtime.timers import timer_rules

        self.timers = timer_rules(self)
        """Its reminders, escalations and timeouts (see :mod:`coachflow.runtime.timers`)."""
        self.suspendable_by = d.suspendable_by
        self._due = tuple(
            (name, activity.due)
            for name, activity in d.activities.items()
            if activity.due is not None
        )

    def event_labels(self, event: str, source: str, target: str) -> Mapping[str, Label]:
        """The labels of an ``event`` record from ``source`` to ``target``: of every
        transition that makes such a record (computed once per triple)."""
        key = (event, source, target)
        labels = self._labels.get(key)
        if labels is None:
            labels = labels_of(event_specs(self.definition, event, source, target))
            self._labels[key] = labels
        return labels

    def leaves(self, state: str, event: str) -> bool:
        """Whether a transition of ``event`` leaves ``state`` (``"*"`` included)."""
        named = self._named.get(state)
        if named is not None and event in named:
            return True
        return event in self._anywhere and state in self.non_final

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

    def next_due(self, trajectory: Trajectory) -> date | None:
        """The earliest due date of a one-off activity not yet done (week- or fact-based),
        kept in the store's index so that agendas can be queried by date."""
        best: date | None = None
        pauses = trajectory.timing.pauses  # kept by a version that cannot suspend, too
        for name, due in self._due:
            if trajectory.counts.get(name):
                continue
            day: Value = None
            if due.week is not None:
                day = week_end(trajectory.start_date, due.week, trajectory.calendar)
            elif due.fact is not None:
                day = trajectory.facts.get(due.fact)
            if isinstance(day, date) and due.before is not None:
                day = due_before(day, trajectory.start_date, trajectory.calendar, due.before)[0]
            if isinstance(day, date) and pauses:
                day = shifted(
                    day, pauses, school=due.week is not None, calendar=trajectory.calendar
                )
            if isinstance(day, date) and (best is None or day < best):
                best = day
        return best
