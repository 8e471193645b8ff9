"""Engine speed and memory, measured in one run against the alternatives and a floor.

    python benchmarks/bench_engine.py [--quick] [--rounds N]

The same coaching-like machine (a ring of 11 states and a final one, 12 in all; a role
check, the guard ``sessions >= 0 and focus != "pedagogical"`` and the effect
``sessions + 1`` on ``advance``; a ``blocked`` event whose guard is false) is run five ways:

* ``coachflow.Engine`` with the in-memory store (refusals raise: the figures include
  raising and catching the exception);
* bare ``transitions``: one shared Machine, a model whose condition does the role check
  and the guard, the effect as an ``after`` callback; refusals return False;
* ``python-statemachine`` (if installed): a StateChart whose ``cond`` does the same,
  the effect as an ``after`` callback; refusals do nothing;
* ``sismic`` (if installed): a statechart built in code, the check and guard as a guard
  string on the event's ``actor``, the effect as the transition's action string, run by
  an Interpreter (``queue`` then ``execute_once`` per event);
* the floor: a hand-written dict-based machine (below) doing the same checks and keeping
  an immutable record (a tuple) per event: the least work for what coachflow does.

The comparison table: an accepted event, a guard-false and a not-permitted refusal, a
start (a new trajectory: engine.start, attaching a model, instantiating the StateChart,
creating and starting an Interpreter, the floor's start) of the 12-state and of a
1000-state machine, and the bytes per live trajectory with a 7-event history.

Targets (speed issue), for coachflow: an accepted ``fire`` at most 1.0x bare transitions;
a guard-false refusal at most 2x bare's guard-false, a not-permitted one at most 1.5x
bare's; ``start`` at most 8 us; at most 4 KB per live trajectory with a 7-event history;
100,000 just-started trajectories under 200 MB.

Every figure is measured once per round (the best of 5 runs, see ``best_us``), in 3
rounds; each is printed as the median over the rounds with the spread, ``median
(min-max)``. The coachflow/bare ratios of the targets are taken within each round, and
PASS/FAIL is judged on their median. Prints figures and PASS/FAIL; never fails a test run.
"""

from __future__ import annotations

import argparse
import functools
import gc
import itertools
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from coachflow import Engine, FixedClock, TransitionRejected, loads_definition

T = TypeVar("T")

RING_STATES = 11
"""The ring of the main definition: with its final state ``done``, 12 states."""
LARGE_RING = 999
"""The ring of the large definition: 1000 states with ``done``."""
EVENTS = 7
"""The history of a live trajectory in the memory figures."""
SLOW_US = 5.0
"""A figure's run makes ``number`` calls, or fewer when a call is slower than this: as
many as take the time of ``number`` calls of this many microseconds (at least 5)."""
PARTICIPANTS = {"coachee": "c", "adviser": "a"}
ROLES = {"a": ("adviser",), "c": ("coachee",)}
"""The same participants as the peers see them: each person's roles."""
NOW = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def ring_states(ring: int) -> list[str]:
    return [f"s{i}" for i in range(ring)]


def ring_edges(ring: int) -> list[tuple[str, str]]:
    states = ring_states(ring)
    return list(zip(states, [*states[1:], states[0]], strict=True))


def definition_text(ring: int) -> str:
    """The coachflow definition: a ring of ``ring`` states, ``done``, and four events."""
    advance = "\n".join(
        f"""  - event: advance
    from: {a}
    to: {b}
    by: [adviser]
    when: sessions >= 0 and focus != "pedagogical"
    set: {{sessions: sessions + 1}}"""
        for a, b in ring_edges(ring)
    )
    states = "\n".join(f"  {s}: {{}}" for s in ring_states(ring))
    return f"""
coachflow: 1
id: bench-coaching
version: 1
roles: {{coachee: {{}}, adviser: {{}}}}
facts:
  sessions: {{type: int, default: 0, min: 0}}
  focus: {{type: enum, values: [didactic, pedagogical]}}
  held_on: {{type: date}}
consents: {{report: {{granted_by: coachee}}}}
initial: s0
states:
{states}
  done: {{final: true}}
transitions:
{advance}
  - event: blocked
    from: "*"
    to: done
    by: [adviser]
    when: sessions < 0
  - event: note
    from: "*"
    to: s1
    by: [adviser]
    input:
      held_on: {{type: date, required: true}}
    set: {{held_on: input.held_on}}
  - event: finish
    from: "*"
    to: done
    by: [adviser]
    when: consent.report
"""


STATES = ring_states(RING_STATES)
DEFINITION = definition_text(RING_STATES)


@functools.cache
def definition(ring: int = RING_STATES) -> Any:
    return loads_definition(definition_text(ring))


# -- measuring ---------------------------------------------------------------------------


def best_us(fn: Callable[[], object], number: int, repeat: int = 5) -> float:
    """The best per-call time in microseconds over ``repeat`` runs of ``number`` calls."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()  # as timeit does: the collector's pauses depend on what else is alive
        try:
            start = time.perf_counter()
            for _ in range(number):
                fn()
            times.append((time.perf_counter() - start) / number * 1e6)
        finally:
            gc.enable()
    return min(times)


def fitted_us(fn: Callable[[], object], number: int) -> float:
    """``best_us`` of ``number`` calls, or of fewer for a slow ``fn`` (see ``SLOW_US``)."""
    fn()  # the first call may compile or fill a cache
    once = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        fn()
        once = min(once, (time.perf_counter() - start) * 1e6)
    return best_us(fn, max(5, min(number, int(number * SLOW_US / max(once, 1e-3)))))


def bytes_per_trajectory(
    start: Callable[[], T], fire: Callable[[T], object], count: int, events: int = EVENTS
) -> float:
    """Traced bytes per live trajectory made by ``start`` and ``events`` calls of ``fire``."""
    fire(start())  # caches filled on first use are not the trajectory's
    kept = []
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(count):
        trajectory = start()
        for _ in range(events):
            fire(trajectory)
        kept.append(trajectory)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / count


# -- bare transitions --------------------------------------------------------------------


def _bare_condition(event_data: Any) -> bool:
    model = event_data.model
    return "adviser" in model.roles.get(model.actor, ()) and bool(
        model.sessions >= 0 and model.focus != "pedagogical"
    )


def _bare_blocked(event_data: Any) -> bool:
    model = event_data.model
    return "adviser" in model.roles.get(model.actor, ()) and bool(model.sessions < 0)


def _bare_effect(event_data: Any) -> None:
    event_data.model.sessions += 1


@functools.cache
def bare_machine(ring: int = RING_STATES) -> Any:
    """One shared Machine of the ring; models are passed to its events or attached."""
    from transitions import Machine

    machine = Machine(
        model=None,
        states=[*ring_states(ring), "done"],
        initial="s0",
        auto_transitions=False,
        send_event=True,
    )
    for a, b in ring_edges(ring):
        machine.add_transition("advance", a, b, conditions=[_bare_condition], after=[_bare_effect])
        machine.add_transition("blocked", a, "done", conditions=[_bare_blocked])
    return machine


class BareModel:
    """A model to attach with ``add_model`` (which sets its triggers and ``is_<state>``)."""

    def __init__(self, actor: str = "a") -> None:
        self.sessions = 0
        self.focus = None
        self.roles = ROLES
        self.actor = actor


def bare_transitions(number: int) -> dict[str, float]:
    class Model:
        __slots__ = ("actor", "focus", "roles", "sessions", "state")

        def __init__(self) -> None:
            self.state = "s0"
            self.sessions = 0
            self.focus = None
            self.roles = ROLES
            self.actor = "a"

    machine = bare_machine()
    model = Model()
    advance = machine.events["advance"].trigger
    accepted = fitted_us(lambda: advance(model), number)
    refuse = machine.events["blocked"].trigger
    guard_false = fitted_us(lambda: refuse(model), number)
    stranger = Model()
    stranger.actor = "c"
    not_permitted = fitted_us(lambda: advance(stranger), number)
    assert model.state != "done" and stranger.state == "s0"

    def attaching(machine: Any) -> Callable[[], None]:
        def attach() -> None:
            new = BareModel()
            machine.add_model(new)
            machine.remove_model(new)  # else each add_model scans a growing list

        return attach

    return {
        "accepted": accepted,
        "guard": guard_false,
        "not_permitted": not_permitted,
        "start": fitted_us(attaching(machine), number // 2),
        "start_large": fitted_us(attaching(bare_machine(LARGE_RING)), number // 2),
    }


def bare_memory(count: int) -> float:
    machine = bare_machine()

    def start() -> BareModel:
        model = BareModel()
        machine.add_model(model)
        return model

    return bytes_per_trajectory(start, lambda model: model.advance(), count)


# -- python-statemachine -----------------------------------------------------------------


@functools.cache
def psm_class(ring: int = RING_STATES) -> Any:
    """A StateChart class of the ring, or None when python-statemachine is not installed."""
    try:
        from statemachine import State, StateChart
    except ImportError:
        return None

    class Coaching(StateChart):  # type: ignore[misc]
        def __init__(self, roles: dict[str, tuple[str, ...]]) -> None:
            self.sessions = 0
            self.focus = None
            self.roles = roles
            super().__init__()

        def ok(self, actor: str) -> bool:
            return "adviser" in self.roles.get(actor, ()) and bool(
                self.sessions >= 0 and self.focus != "pedagogical"
            )

        def blocked_ok(self, actor: str) -> bool:
            return "adviser" in self.roles.get(actor, ()) and bool(self.sessions < 0)

        def bump(self) -> None:
            self.sessions += 1

    names = ring_states(ring)
    namespace: dict[str, Any] = {n: State(initial=n == "s0") for n in names}
    namespace["done"] = State(final=True)
    advance = [namespace[a].to(namespace[b], cond="ok", after="bump") for a, b in ring_edges(ring)]
    blocked = [namespace[a].to(namespace["done"], cond="blocked_ok") for a in names]
    namespace["advance"] = functools.reduce(lambda x, y: x | y, advance)
    namespace["blocked"] = functools.reduce(lambda x, y: x | y, blocked)
    return type(StateChart)(f"Ring{ring}", (Coaching,), namespace)


def python_statemachine(number: int) -> dict[str, float] | None:
    machine_class = psm_class()
    if machine_class is None:
        return None
    sm = machine_class(ROLES)
    send = sm.send
    accepted = fitted_us(lambda: send("advance", actor="a"), number)
    guard_false = fitted_us(lambda: send("blocked", actor="a"), number)
    not_permitted = fitted_us(lambda: send("advance", actor="c"), number)
    assert "done" not in sm.configuration_values and sm.sessions > 0
    large = psm_class(LARGE_RING)
    return {
        "accepted": accepted,
        "guard": guard_false,
        "not_permitted": not_permitted,
        "start": fitted_us(lambda: machine_class(ROLES), number // 2),
        "start_large": fitted_us(lambda: large(ROLES), number // 2),
    }


def psm_memory(count: int) -> float | None:
    machine_class = psm_class()
    if machine_class is None:
        return None
    return bytes_per_trajectory(
        lambda: machine_class(ROLES), lambda sm: sm.send("advance", actor="a"), count
    )


# -- sismic ------------------------------------------------------------------------------

SISMIC_GUARD = (
    '"adviser" in roles.get(event.actor, ()) and sessions >= 0 and focus != "pedagogical"'
)
SISMIC_BLOCKED = '"adviser" in roles.get(event.actor, ()) and sessions < 0'


@functools.cache
def sismic_chart(ring: int = RING_STATES) -> Any:
    """A sismic statechart of the ring, or None when sismic is not installed."""
    try:
        from sismic.model import BasicState, CompoundState, FinalState, Statechart, Transition
    except ImportError:
        return None
    chart = Statechart(f"ring{ring}")
    chart.add_state(CompoundState("coaching", initial="s0"), None)
    for name in ring_states(ring):
        chart.add_state(BasicState(name), "coaching")
    chart.add_state(FinalState("done"), "coaching")
    for a, b in ring_edges(ring):
        chart.add_transition(
            Transition(a, b, event="advance", guard=SISMIC_GUARD, action="sessions += 1")
        )
        chart.add_transition(Transition(a, "done", event="blocked", guard=SISMIC_BLOCKED))
    return chart


def sismic_start(chart: Any) -> Any:
    """A new Interpreter in the chart's initial state (its first ``execute_once``)."""
    from sismic.interpreter import Interpreter

    interpreter = Interpreter(chart, initial_context={"sessions": 0, "focus": None, "roles": ROLES})
    interpreter.execute_once()
    return interpreter


def sismic_runs(number: int) -> dict[str, float] | None:
    chart = sismic_chart()
    if chart is None:
        return None
    from sismic.model import Event

    interpreter = sismic_start(chart)

    def sending(name: str, actor: str) -> Callable[[], None]:
        def send() -> None:
            interpreter.queue(Event(name, actor=actor))
            interpreter.execute_once()

        return send

    accepted = fitted_us(sending("advance", "a"), number)
    guard_false = fitted_us(sending("blocked", "a"), number)
    not_permitted = fitted_us(sending("advance", "c"), number)
    assert "done" not in interpreter.configuration and interpreter.context["sessions"] > 0
    large = sismic_chart(LARGE_RING)
    return {
        "accepted": accepted,
        "guard": guard_false,
        "not_permitted": not_permitted,
        "start": fitted_us(lambda: sismic_start(chart), number // 2),
        "start_large": fitted_us(lambda: sismic_start(large), number // 2),
    }


def sismic_memory(count: int) -> float | None:
    chart = sismic_chart()
    if chart is None:
        return None
    from sismic.model import Event

    def fire(interpreter: Any) -> None:
        interpreter.queue(Event("advance", actor="a"))
        interpreter.execute_once()

    return bytes_per_trajectory(lambda: sismic_start(chart), fire, count)


# -- the floor ---------------------------------------------------------------------------


class Refused(Exception):
    """The floor's refusal: coachflow raises one, so the floor does too."""


class FloorTrajectory:
    __slots__ = ("focus", "history", "roles", "sessions", "state")


def _floor_guard(t: FloorTrajectory) -> bool:
    return t.sessions >= 0 and t.focus != "pedagogical"


def _floor_blocked(t: FloorTrajectory) -> bool:
    return t.sessions < 0


def _floor_effect(t: FloorTrajectory) -> tuple[tuple[str, int], ...]:
    t.sessions += 1
    return (("sessions", t.sessions),)


class Floor:
    """A hand-written machine: a dict of (state, event) -> (target, role, guard, effect)
    and a dict of trajectories. ``fire`` finds the trajectory, checks the actor's role and
    the guard, applies the effect and appends an immutable record, a tuple of what
    coachflow's record holds (seq, time, actor, role, kind, event, source, target, changes).
    """

    def __init__(self, ring: int = RING_STATES) -> None:
        self.table: dict[tuple[str, str], tuple[str, str, Callable[..., Any], Any]] = {}
        for a, b in ring_edges(ring):
            self.table[a, "advance"] = (b, "adviser", _floor_guard, _floor_effect)
            self.table[a, "blocked"] = ("done", "adviser", _floor_blocked, None)
        self.trajectories: dict[int, FloorTrajectory] = {}
        self._ids = itertools.count(1)

    def start(self, participants: dict[str, str], actor: str) -> int:
        t = FloorTrajectory()
        t.state, t.sessions, t.focus = "s0", 0, None
        t.roles = {person: role for role, person in participants.items()}
        t.history = [(1, NOW, actor, None, "started", None, None, "s0", ())]
        tid = next(self._ids)
        self.trajectories[tid] = t
        return tid

    def fire(self, tid: int, event: str, actor: str) -> None:
        t = self.trajectories[tid]
        try:
            target, role, guard, effect = self.table[t.state, event]
        except KeyError:
            raise Refused("not in this state") from None
        if t.roles.get(actor) != role:
            raise Refused("not permitted")
        if not guard(t):
            raise Refused("guard false")
        changes = effect(t) if effect is not None else ()
        source, t.state = t.state, target
        t.history.append(
            (len(t.history) + 1, NOW, actor, role, "event", event, source, target, changes)
        )


def floor_runs(number: int) -> dict[str, float]:
    floor = Floor()
    tid = floor.start(PARTICIPANTS, "a")
    fire = floor.fire

    def refusing(event: str, actor: str) -> Callable[[], None]:
        def attempt() -> None:
            try:  # noqa: SIM105 - as coachflow's: contextlib.suppress costs 0.4 us more
                fire(tid, event, actor)
            except Refused:
                pass

        return attempt

    accepted = fitted_us(lambda: fire(tid, "advance", "a"), number)
    guard_false = fitted_us(refusing("blocked", "a"), number)
    not_permitted = fitted_us(refusing("advance", "c"), number)
    assert floor.trajectories[tid].state != "done"
    large = Floor(LARGE_RING)
    return {
        "accepted": accepted,
        "guard": guard_false,
        "not_permitted": not_permitted,
        "start": fitted_us(lambda: floor.start(PARTICIPANTS, "a"), number // 2),
        "start_large": fitted_us(lambda: large.start(PARTICIPANTS, "a"), number // 2),
    }


def floor_memory(count: int) -> float:
    floor = Floor()
    return bytes_per_trajectory(
        lambda: floor.start(PARTICIPANTS, "a"), lambda tid: floor.fire(tid, "advance", "a"), count
    )


# -- coachflow ---------------------------------------------------------------------------


def coachflow_runs(number: int) -> dict[str, float]:
    engine = Engine([definition()], clock=FixedClock())
    t = engine.start("bench-coaching", participants=PARTICIPANTS, actor="a")
    tid = t.id
    fire = engine.fire
    accepted = fitted_us(lambda: fire(tid, "advance", actor="a"), number)

    def refusing(event: str, actor: str, trajectory: str = tid) -> Callable[[], None]:
        def attempt() -> None:
            try:  # noqa: SIM105 - a with-statement would add its own cost (0.4 us)
                fire(trajectory, event, actor=actor)
            except TransitionRejected:
                pass

        return attempt

    refused = fitted_us(refusing("blocked", "a"), number)
    not_permitted = fitted_us(refusing("advance", "c"), number)
    unknown = fitted_us(refusing("no_such_event", "a"), number)
    ended = engine.start("bench-coaching", participants=PARTICIPANTS, actor="a").id
    engine.grant_consent(ended, "report", actor="c")
    fire(ended, "finish", actor="a")
    not_in_state = fitted_us(refusing("advance", "a", ended), number)
    explained = fitted_us(lambda: engine.explain(tid, "blocked", actor="a"), number)
    with_input = fitted_us(
        lambda: fire(tid, "note", actor="a", input={"held_on": "2026-10-01"}), number // 2
    )
    start = fitted_us(
        lambda: engine.start("bench-coaching", participants=PARTICIPANTS, actor="a"),
        number // 2,
    )
    allowed = fitted_us(lambda: engine.allowed_events(tid, actor="a"), number // 4)
    large = Engine([definition(LARGE_RING)], clock=FixedClock())
    start_large = fitted_us(
        lambda: large.start("bench-coaching", participants=PARTICIPANTS, actor="a"),
        number // 2,
    )
    return {
        "accepted": accepted,
        "rejected": refused,
        "guard": refused,
        "not_permitted": not_permitted,
        "unknown": unknown,
        "not_in_state": not_in_state,
        "explain": explained,
        "with_input": with_input,
        "start": start,
        "start_large": start_large,
        "allowed_events": allowed,
    }


def history_memory_for(count: int, events: int = EVENTS) -> float:
    """Bytes per live trajectory with a history of ``events`` events (and its start)."""
    engine = Engine([definition()], clock=FixedClock())
    engine.start("bench-coaching", participants=PARTICIPANTS, actor="a")
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(count):
        tid = engine.start("bench-coaching", participants=PARTICIPANTS, actor="a").id
        for _ in range(events):
            engine.fire(tid, "advance", actor="a")
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / count


def memory_for(count: int) -> float:
    """Megabytes for ``count`` just-started trajectories."""
    return history_memory_for(count, events=0) * count / 1e6


# -- one round, many rounds, the tables --------------------------------------------------

COLUMNS = ("coachflow", "bare transitions", "python-statemachine", "sismic", "floor")
Round = dict[str, dict[str, float] | None]
"""One round's figures: for each column (None: not installed), figure -> value."""


def one_round(number: int, count: int, peer_count: int) -> Round:
    """Every figure once. ``count`` just-started coachflow trajectories are measured for
    the 100,000-trajectory target, a tenth of them with 7 events for its per-trajectory
    target; each peer's and the floor's bytes per trajectory over ``peer_count``."""
    ours = coachflow_runs(number)
    ours["bytes"] = history_memory_for(count // 10)
    ours["megabytes"] = memory_for(count) * (100_000 / count)
    bare = bare_transitions(number) | {"bytes": bare_memory(peer_count)}
    psm = python_statemachine(number)
    if psm is not None:
        psm["bytes"] = psm_memory(peer_count) or 0.0
    sismic = sismic_runs(number)
    if sismic is not None:
        sismic["bytes"] = sismic_memory(peer_count) or 0.0
    floor = floor_runs(number) | {"bytes": floor_memory(peer_count)}
    return dict(zip(COLUMNS, (ours, bare, psm, sismic, floor), strict=True))


def number_text(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 100 else f"{value:.2f}"


def spread(values: Sequence[float], fmt: Callable[[float], str] = number_text) -> str:
    """``median (min-max)`` of the rounds' values; only the value for one round."""
    median = fmt(statistics.median(values))
    if len(values) == 1:
        return median
    return f"{median} ({fmt(min(values))}\u2013{fmt(max(values))})"


def values(rounds: Sequence[Round], column: str, figure: str) -> list[float] | None:
    found = [r[column] for r in rounds]
    if any(f is None for f in found):
        return None
    return [f[figure] for f in found if f is not None]


def ratios(rounds: Sequence[Round], figure: str, over: str, over_figure: str) -> list[float]:
    """coachflow's ``figure`` over ``over``'s ``over_figure``, within each round."""
    return [
        r["coachflow"][figure] / r[over][over_figure]  # type: ignore[index]
        for r in rounds
    ]


COMPARED = (
    ("accepted fire, \u00b5s", "accepted", number_text),
    ("guard false, \u00b5s", "guard", number_text),
    ("not permitted, \u00b5s", "not_permitted", number_text),
    (f"start/attach, {RING_STATES + 1} states, \u00b5s", "start", number_text),
    (f"start/attach, {LARGE_RING + 1} states, \u00b5s", "start_large", number_text),
    (f"bytes/trajectory, {EVENTS} events", "bytes", lambda v: f"{v:,.0f}"),
)


def comparison_table(rounds: Sequence[Round]) -> list[str]:
    cells = [
        [label]
        + [
            spread(found, fmt) if (found := values(rounds, column, key)) else "not installed"
            for column in COLUMNS
        ]
        for label, key, fmt in COMPARED
    ]
    header = ["figure", *COLUMNS]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]
    return [
        "  ".join(f"{cell:{width}}" for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *cells]
    ]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def target_rows(rounds: Sequence[Round]) -> list[tuple[str, str, str, str]]:
    def us(column: str, key: str) -> str:
        found = values(rounds, column, key)
        return f"{spread(found)} us" if found else "not installed"

    accepted = ratios(rounds, "accepted", "bare transitions", "accepted")
    guard = ratios(rounds, "rejected", "bare transitions", "guard")
    not_permitted = ratios(rounds, "not_permitted", "bare transitions", "not_permitted")
    start = values(rounds, "coachflow", "start") or []
    per_trajectory = values(rounds, "coachflow", "bytes") or []
    megabytes = values(rounds, "coachflow", "megabytes") or []
    rows = [
        ("bare transitions, accepted event", us("bare transitions", "accepted"), "", ""),
        ("bare transitions, guard false", us("bare transitions", "guard"), "", ""),
        ("bare transitions, not permitted", us("bare transitions", "not_permitted"), "", ""),
        ("python-statemachine, accepted event", us("python-statemachine", "accepted"), "", ""),
    ]
    if values(rounds, "python-statemachine", "accepted"):
        psm = ratios(rounds, "accepted", "python-statemachine", "accepted")
        rows.append(("  ratio coachflow / python-statemachine", f"{spread(psm)}x", "", ""))
    rows += [
        (
            "coachflow fire, accepted event",
            f"{us('coachflow', 'accepted')}, {spread(accepted)}x bare",
            "<= 1.0x bare",
            verdict(statistics.median(accepted) <= 1.0),
        ),
        (
            "coachflow fire, rejected (guard)",
            f"{us('coachflow', 'rejected')}, {spread(guard)}x bare's",
            "<= 2x bare's",
            verdict(statistics.median(guard) <= 2.0),
        ),
        (
            "coachflow fire, rejected (not permitted)",
            f"{us('coachflow', 'not_permitted')}, {spread(not_permitted)}x bare's",
            "<= 1.5x bare's",
            verdict(statistics.median(not_permitted) <= 1.5),
        ),
        *(
            (
                f"coachflow fire, rejected ({what})",
                f"{us('coachflow', key)}, "
                f"{spread(ratios(rounds, key, 'bare transitions', 'accepted'))}x bare",
                "",
                "",
            )
            for what, key in (
                ("not in this state", "not_in_state"),
                ("unknown event", "unknown"),
            )
        ),
        ("coachflow explain (guard false)", us("coachflow", "explain"), "", ""),
        ("coachflow fire, with a date input", us("coachflow", "with_input"), "", ""),
        ("coachflow allowed_events (4 events)", us("coachflow", "allowed_events"), "", ""),
        (
            "coachflow start",
            us("coachflow", "start"),
            "<= 8 us",
            verdict(statistics.median(start) <= 8),
        ),
        (
            f"a live trajectory with {EVENTS} events",
            f"{spread([b / 1024 for b in per_trajectory])} KB",
            "<= 4 KB",
            verdict(statistics.median(per_trajectory) <= 4096),
        ),
        (
            "100,000 trajectories in memory",
            f"{spread(megabytes, lambda v: f'{v:.1f}')} MB",
            "< 200 MB",
            verdict(statistics.median(megabytes) < 200),
        ),
    ]
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls, one round")
    parser.add_argument("--rounds", type=int, help="rounds (default 3, 1 with --quick)")
    args = parser.parse_args(argv)
    number = 2_000 if args.quick else 20_000
    count = 10_000 if args.quick else 100_000
    peer_count = 200 if args.quick else 500
    rounds_wanted = args.rounds or (1 if args.quick else 3)
    if rounds_wanted < 1:
        parser.error("--rounds must be at least 1")
    if hasattr(os, "getloadavg"):
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    began = time.perf_counter()
    for ring in (RING_STATES, LARGE_RING):  # built once, outside the rounds
        for build in (definition, bare_machine, psm_class, sismic_chart):
            build(ring)
    rounds = []
    for i in range(rounds_wanted):
        rounds.append(one_round(number, count, peer_count))
        print(f"round {i + 1}/{rounds_wanted} done ({time.perf_counter() - began:.0f} s)")
    print()
    if rounds_wanted > 1:
        print(f"Comparison, median (min\u2013max) of {rounds_wanted} rounds:")
    else:
        print("Comparison, one round:")
    for line in comparison_table(rounds):
        print(line)
    print()
    rows = target_rows(rounds)
    width = max(len(r[0]) for r in rows)
    figure_width = max(len(r[1]) for r in rows)
    print(f"{'measurement':{width}}  {'figure':{figure_width}}  {'target':15}  result")
    for name, figure, target, result in rows:
        print(f"{name:{width}}  {figure:{figure_width}}  {target:15}  {result}".rstrip())
    print(
        f"(each figure: best of 5 runs of {number:,} calls, fewer for calls slower than "
        f"{SLOW_US:.0f} us; bytes per trajectory over {count // 10:,} coachflow and "
        f"{peer_count:,} peer trajectories; ratios within each round; "
        f"{time.perf_counter() - began:.0f} s in all)"
    )
    if hasattr(os, "getloadavg"):
        print(f"load average {os.getloadavg()[0]:.2f} at the end (a busy machine widens spreads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
