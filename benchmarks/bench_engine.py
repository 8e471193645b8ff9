"""Engine speed and memory, measured in one run against the alternatives.

    python benchmarks/bench_engine.py [--quick]

A coaching-like definition (10 states in a cycle, a guard, an effect, an input on
some events) is run three ways:

* bare ``transitions``: one shared Machine, a model object with a condition;
* ``python-statemachine`` (if installed): a StateChart with the same guard;
* ``coachflow.Engine.fire`` with the in-memory store.

Bare ``transitions`` does the same checks as a condition (the actor's role, then the
guard) and the effect as an ``after`` callback; its refusals return False, coachflow's
raise (the exception is included in its figures).

Targets (speed issue): an accepted ``fire`` at most 1.0x bare transitions; a guard-false
refusal at most 2x bare's guard-false, a not-permitted one at most 1.5x bare's; ``start``
at most 8 us; at most 4 KB per live trajectory with a 7-event history; 100,000 just-started
trajectories under 200 MB. Prints figures and PASS/FAIL; never fails a test run.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import time
import tracemalloc
from collections.abc import Callable

from coachflow import Engine, FixedClock, TransitionRejected, loads_definition

STATES = [f"s{i}" for i in range(10)]

RING = "\n".join(
    f"""  - event: advance
    from: {a}
    to: {b}
    by: [adviser]
    when: sessions >= 0 and focus != "pedagogical"
    set: {{sessions: sessions + 1}}"""
    for a, b in zip(STATES, [*STATES[1:], STATES[0]], strict=True)
)

DEFINITION = f"""
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
{chr(10).join(f"  {s}: {{}}" for s in STATES)}
  done: {{final: true}}
transitions:
{RING}
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


def bare_transitions(number: int) -> dict[str, float]:
    from transitions import Machine

    class Model:
        __slots__ = ("actor", "focus", "roles", "sessions", "state")

        def __init__(self) -> None:
            self.state = "s0"
            self.sessions = 0
            self.focus = None
            self.roles = {"a": ("adviser",), "c": ("coachee",)}
            self.actor = "a"

    def condition(event_data: object) -> bool:
        model = event_data.model  # type: ignore[attr-defined]
        return "adviser" in model.roles.get(model.actor, ()) and bool(
            model.sessions >= 0 and model.focus != "pedagogical"
        )

    def blocked(event_data: object) -> bool:
        model = event_data.model  # type: ignore[attr-defined]
        return "adviser" in model.roles.get(model.actor, ()) and bool(model.sessions < 0)

    def effect(event_data: object) -> None:
        event_data.model.sessions += 1  # type: ignore[attr-defined]

    machine = Machine(
        model=None,
        states=[*STATES, "done"],
        initial="s0",
        auto_transitions=False,
        send_event=True,
    )
    for a, b in zip(STATES, [*STATES[1:], STATES[0]], strict=True):
        machine.add_transition("advance", a, b, conditions=[condition], after=[effect])
        machine.add_transition("blocked", a, "done", conditions=[blocked])
    model = Model()
    advance = machine.events["advance"].trigger
    accepted = best_us(lambda: advance(model), number)
    refuse = machine.events["blocked"].trigger
    guard_false = best_us(lambda: refuse(model), number)
    stranger = Model()
    stranger.actor = "c"
    not_permitted = best_us(lambda: advance(stranger), number)
    assert model.state != "done" and stranger.state == "s0"
    return {"accepted": accepted, "guard": guard_false, "not_permitted": not_permitted}


def python_statemachine(number: int) -> float | None:
    try:
        from statemachine import State, StateChart
    except ImportError:
        return None

    class Coaching(StateChart):  # type: ignore[misc]
        s0 = State(initial=True)
        s1 = State()
        done = State(final=True)
        advance = s0.to(s0, cond="ok", after="bump") | s1.to(s0, cond="ok", after="bump")
        note = s0.to(s1)
        finish = s0.to(done) | s1.to(done)

        def __init__(self) -> None:
            self.sessions = 0
            super().__init__()

        def ok(self) -> bool:
            return self.sessions >= 0

        def bump(self) -> None:
            self.sessions += 1

    sm = Coaching()
    return best_us(lambda: sm.send("advance"), number)


def coachflow_runs(number: int) -> dict[str, float]:
    definition = loads_definition(DEFINITION)
    engine = Engine([definition], clock=FixedClock())
    participants = {"coachee": "c", "adviser": "a"}
    t = engine.start("bench-coaching", participants=participants, actor="a")
    tid = t.id
    fire = engine.fire
    accepted = best_us(lambda: fire(tid, "advance", actor="a"), number)

    def refusing(event: str, actor: str, trajectory: str = tid) -> Callable[[], None]:
        def attempt() -> None:
            with contextlib.suppress(TransitionRejected):
                fire(trajectory, event, actor=actor)

        return attempt

    refused = best_us(refusing("blocked", "a"), number)
    not_permitted = best_us(refusing("advance", "c"), number)
    unknown = best_us(refusing("no_such_event", "a"), number)
    ended = engine.start("bench-coaching", participants=participants, actor="a").id
    engine.grant_consent(ended, "report", actor="c")
    fire(ended, "finish", actor="a")
    not_in_state = best_us(refusing("advance", "a", ended), number)
    explained = best_us(lambda: engine.explain(tid, "blocked", actor="a"), number)
    with_input = best_us(
        lambda: fire(tid, "note", actor="a", input={"held_on": "2026-10-01"}), number // 2
    )
    start = best_us(
        lambda: engine.start("bench-coaching", participants=participants, actor="a"),
        number // 2,
    )
    allowed = best_us(lambda: engine.allowed_events(tid, actor="a"), number // 4)
    return {
        "accepted": accepted,
        "rejected": refused,
        "not_permitted": not_permitted,
        "unknown": unknown,
        "not_in_state": not_in_state,
        "explain": explained,
        "with_input": with_input,
        "start": start,
        "allowed_events": allowed,
    }


def history_memory_for(count: int, events: int = 7) -> float:
    """Bytes per live trajectory with a history of ``events`` events (and its start)."""
    definition = loads_definition(DEFINITION)
    engine = Engine([definition], clock=FixedClock())
    participants = {"coachee": "c", "adviser": "a"}
    engine.start("bench-coaching", participants=participants, actor="a")
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(count):
        tid = engine.start("bench-coaching", participants=participants, actor="a").id
        for _ in range(events):
            engine.fire(tid, "advance", actor="a")
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / count


def memory_for(count: int) -> float:
    """Megabytes for ``count`` just-started trajectories."""
    return history_memory_for(count, events=0) * count / 1e6


def main() -> int:
    quick = "--quick" in sys.argv
    number = 2_000 if quick else 20_000
    count = 10_000 if quick else 100_000
    bares = bare_transitions(number)
    bare = bares["accepted"]
    psm = python_statemachine(number)
    ours = coachflow_runs(number)
    megabytes = memory_for(count) * (100_000 / count)
    per_trajectory = history_memory_for(count // 10)
    rows = [
        ("bare transitions, accepted event", f"{bare:.2f} us", "", ""),
        ("bare transitions, guard false", f"{bares['guard']:.2f} us", "", ""),
        ("bare transitions, not permitted", f"{bares['not_permitted']:.2f} us", "", ""),
        (
            "python-statemachine, accepted event",
            f"{psm:.2f} us" if psm is not None else "not installed",
            "",
            "",
        ),
        (
            "coachflow fire, accepted event",
            f"{ours['accepted']:.2f} us ({ours['accepted'] / bare:.2f}x bare)",
            "<= 1.0x bare",
            "PASS" if ours["accepted"] <= bare else "FAIL",
        ),
        (
            "coachflow fire, rejected (guard)",
            f"{ours['rejected']:.2f} us ({ours['rejected'] / bares['guard']:.2f}x bare's)",
            "<= 2x bare's",
            "PASS" if ours["rejected"] <= 2 * bares["guard"] else "FAIL",
        ),
        (
            "coachflow fire, rejected (not permitted)",
            f"{ours['not_permitted']:.2f} us "
            f"({ours['not_permitted'] / bares['not_permitted']:.2f}x bare's)",
            "<= 1.5x bare's",
            "PASS" if ours["not_permitted"] <= 1.5 * bares["not_permitted"] else "FAIL",
        ),
        *(
            (
                f"coachflow fire, rejected ({what})",
                f"{ours[key]:.2f} us ({ours[key] / bare:.2f}x bare)",
                "",
                "",
            )
            for what, key in (
                ("not in this state", "not_in_state"),
                ("unknown event", "unknown"),
            )
        ),
        ("coachflow explain (guard false)", f"{ours['explain']:.2f} us", "", ""),
        ("coachflow fire, with a date input", f"{ours['with_input']:.2f} us", "", ""),
        ("coachflow allowed_events (4 events)", f"{ours['allowed_events']:.2f} us", "", ""),
        (
            "coachflow start",
            f"{ours['start']:.2f} us",
            "<= 8 us",
            "PASS" if ours["start"] <= 8 else "FAIL",
        ),
        (
            "a live trajectory with 7 events",
            f"{per_trajectory / 1024:.2f} KB",
            "<= 4 KB",
            "PASS" if per_trajectory <= 4096 else "FAIL",
        ),
        (
            "100,000 trajectories in memory",
            f"{megabytes:.1f} MB",
            "< 200 MB",
            "PASS" if megabytes < 200 else "FAIL",
        ),
    ]
    if psm is not None:
        rows.insert(
            4, ("  ratio coachflow / python-statemachine", f"{ours['accepted'] / psm:.2f}x", "", "")
        )
    width = max(len(r[0]) for r in rows)
    print(f"{'measurement':{width}}  {'figure':32}  {'target':15}  result")
    for name, figure, target, result in rows:
        print(f"{name:{width}}  {figure:32}  {target:15}  {result}")
    print(f"(best of 5 runs of {number} calls each, one process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
