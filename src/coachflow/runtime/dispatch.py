"""The execution core: each event is dispatched by a ``transitions`` machine.

This is the only module that imports ``transitions``. A definition version is compiled
once into one :class:`Dispatcher` holding one ``transitions.Machine``
(``auto_transitions=False``, no models attached), shared by every trajectory of that
version and by every thread. An event is fired on a carrier: any object with a
``_state`` attribute (the state the trajectory is in) and a ``chosen`` attribute. The
machine's trigger walks the transitions that leave that state, in file order; each one
checks its condition and, when it holds, sets the carrier's ``_state`` to its
destination and ``chosen`` to its payload. The caller reads both from the carrier: what
the machine did is the decision.

The transitions are lean (:class:`_Lean`): coachflow registers no enter, exit, before or
after callbacks, so a transition only checks its condition and changes the carrier's
state. A ``from: "*"`` transition is given to the machine as ``transitions``' own
``"*"`` source (``Machine.wildcard_all``), which this machine reads as every state not
tagged ``final``, and ``transitions`` adds it to each of them, while that stays small;
else it is held once for its event and found from every non-final state
(:class:`_Sources`). Either way the machine grows with the states plus the transitions,
never with their product.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from operator import attrgetter
from typing import Any, Generic, Protocol, TypeVar

from transitions import Machine, State, Transition
from transitions.core import Condition, Event, EventData

P = TypeVar("P")
STATE_ATTRIBUTE = "_state"
"""The carrier's attribute that holds the state (no event name can be it: events are
lower-case identifiers, so an event named ``state`` is fine)."""

SHARE_WILDCARDS_ABOVE = 4
"""The ``"*"`` transitions of a definition are copied into every non-final state of its
machine (as ``transitions`` itself does with ``source="*"``: the quickest to fire) unless
that would make more than this many times as many transition objects as the definition
has states and transitions; then each is one object, shared (:class:`_Sources`)."""


class Carrier(Protocol[P]):
    """What the machine fires on: the state, and the payload of the transition taken."""

    _state: str
    chosen: P | None


@dataclass(frozen=True, slots=True)
class Edge(Generic[P]):
    """One transition to compile, in file order: it leaves ``sources``, or with
    ``anywhere`` (``from: "*"``) every non-final state (``sources`` is then unused);
    the dispatcher's ``condition(payload, carrier)`` decides whether it is taken."""

    index: int
    event: str
    sources: tuple[str, ...]
    dest: str
    payload: P
    anywhere: bool = False


class _Check(Condition):
    """A transition's condition: the dispatcher's ``condition(payload, carrier)`` (not a
    callback resolved by name on a model)."""

    def __init__(self, condition: Callable[[Any, Any], bool]) -> None:
        super().__init__(condition)
        self.condition = condition
        self.payload: object = None  # set by the transition it belongs to

    def check(self, event_data: EventData) -> bool:
        return self.condition(self.payload, event_data.model)


class _Lean(Transition):
    """A transition that checks its conditions and changes the carrier's state: no state
    enter/exit, no callback lists, no logging (coachflow registers no callbacks)."""

    condition_cls = _Check

    def __init__(self, *args: Any, index: int, payload: object, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.index = index
        self.payload = payload
        for condition in self.conditions:
            if isinstance(condition, _Check):
                condition.payload = payload

    def execute(self, event_data: EventData) -> bool:
        for condition in self.conditions:
            if not condition.check(event_data):
                return False
        carrier: Any = event_data.model  # the Carrier that Dispatcher.fire was given
        carrier._state = self.dest
        carrier.chosen = self.payload
        return True


class _Event(Event):
    """An event of an unqueued machine: its trigger runs ``transitions``' own
    ``Event._trigger`` at once, without first wrapping it in a ``partial`` for the
    machine's event queue (coachflow's machines never queue)."""

    def trigger(self, model: object, *args: Any, **kwargs: Any) -> bool:
        return bool(self._trigger(EventData(None, self, self.machine, model, args, kwargs)))


_Source = str | Enum | State | list[str | Enum | State]
_Dest = str | Enum | State | None


class _Machine(Machine):
    """Lean transitions; ``"*"`` (``Machine.wildcard_all``) is every state not tagged
    final (``transitions`` itself would copy it into the final states as well)."""

    transition_cls = _Lean
    event_cls = _Event

    def add_transition(
        self, trigger: str, source: _Source, dest: _Dest = None, *args: Any, **kwargs: Any
    ) -> None:
        if source == self.wildcard_all:
            source = [name for name, state in self.states.items() if not state.final]
        super().add_transition(trigger, source, dest, *args, **kwargs)


_BY_INDEX = attrgetter("index")


class _Sources(defaultdict[str, list[Transition]]):
    """The transitions of an event that has ``from: "*"`` ones, by the state they
    leave, as ``transitions`` reads them (``state in event.transitions``, then
    ``event.transitions[state]``). Given ``source="*"``, ``transitions`` would add a
    copy to every state (final ones too); here they are kept once, under ``"*"``, and
    every non-final state finds them, in file order with the ones that name it."""

    def __init__(
        self,
        named: Mapping[str, list[Transition]],
        anywhere: list[Transition],
        non_final: frozenset[str],
    ) -> None:
        super().__init__(list, named)
        self["*"] = self.anywhere = anywhere
        self.non_final = non_final

    def __contains__(self, state: object) -> bool:
        return state in self.non_final or dict.__contains__(self, state)

    def __getitem__(self, state: str) -> list[Transition]:
        if state not in self.non_final:
            return super().__getitem__(state)
        named = self.get(state)
        if named is None:
            return self.anywhere
        return list(heapq.merge(named, self.anywhere, key=_BY_INDEX))


class Dispatcher(Generic[P]):
    """One compiled machine for a definition version."""

    def __init__(
        self,
        states: Iterable[str],
        initial: str,
        non_final: frozenset[str],
        edges: Iterable[Edge[P]],
        condition: Callable[[P, Any], bool],
    ) -> None:
        edges = list(edges)
        state_list = list(states)
        self.machine = _Machine(
            model=None,
            states=[{"name": s, "final": s not in non_final} for s in state_list],
            initial=initial,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=True,
            model_attribute=STATE_ATTRIBUTE,
        )
        copies = len(non_final) * sum(1 for e in edges if e.anywhere)
        self.shared = copies > SHARE_WILDCARDS_ABOVE * (len(state_list) + len(edges))
        """Whether the ``"*"`` transitions are one object each (else a copy per state)."""
        anywhere: dict[str, list[Transition]] = {}
        for edge in edges:
            if edge.anywhere and self.shared:
                # source=[] makes the event only; the "*" transition is held once, below
                self.machine.add_transition(edge.event, source=[], dest=edge.dest)
                anywhere.setdefault(edge.event, []).append(
                    _Lean("*", edge.dest, [condition], index=edge.index, payload=edge.payload)
                )
                continue
            # appended in file order, so tried in file order
            self.machine.add_transition(
                edge.event,
                Machine.wildcard_all if edge.anywhere else list(edge.sources),
                edge.dest,
                conditions=[condition],
                index=edge.index,
                payload=edge.payload,
            )
        for event, shared in anywhere.items():
            machine_event = self.machine.events[event]
            machine_event.transitions = _Sources(machine_event.transitions, shared, non_final)
        self._events: dict[str, Event] = dict(self.machine.events)

    def fire(self, event: str, carrier: Carrier[P]) -> bool:
        """Dispatch ``event`` on ``carrier`` (whose ``_state`` is the current state):
        True when a transition was taken (``carrier._state`` and ``carrier.chosen`` then
        say which). ``transitions``' own ``Event._trigger`` decides, given the event data
        its ``trigger`` would make (:class:`_Event`)."""
        found = self._events[event]
        return bool(found._trigger(EventData(None, found, self.machine, carrier, (), {})))

    def transitions_of(self, event: str, state: str) -> list[Transition]:
        """The machine's transitions of ``event`` from ``state``, in the order it tries
        them (for tests and diagrams)."""
        found = self.machine.events.get(event)
        if found is None or state not in found.transitions:
            return []
        return list(found.transitions[state])
