"""Time that acts: states' ``timeout``, activities' ``remind`` and ``escalate``,
``suspendable_by``, and the reserved role ``system`` (``bad-timeout``, ``bad-reminder``,
``reserved-role``, ``unknown-role``). A notice needs a due date, and one activity's
notices must differ in duration or roles (the worker keys them by those, see
:func:`coachflow.definition.model.notice_key`).

A timeout's event is fired by the worker as the actor ``system``, with no input: so it
must leave the state, every transition of it from there must be ``by: [system]``, take no
required input and have a guard that reads no input. A transition ``by: [system]`` is
fired by nothing else, so some state it leaves must time out with its event.
"""

from __future__ import annotations

from collections.abc import Sequence

from coachflow.definition.checks.context import Context, Uses
from coachflow.definition.compiled import CompiledTransition
from coachflow.definition.model import SYSTEM, Activity, Escalation, Reminder
from coachflow.diagnostics import ERROR


def check_timers(ctx: Context, compiled: Sequence[CompiledTransition]) -> Uses:
    """Check the timers and the reserved role; ``compiled``: the transitions compiled
    (a guard that failed to compile is left out, and reported elsewhere)."""
    uses = Uses()
    d = ctx.definition
    if SYSTEM in d.roles:
        ctx.report(
            "reserved-role",
            ERROR,
            f"the role {SYSTEM!r} is reserved for the worker that fires timeouts: no person "
            "may hold it, so it is not declared (write by: [system] without declaring it)",
            ("roles", SYSTEM),
            key=True,
        )
    guards = {ct.index: ct.guard for ct in compiled}
    reported: set[int] = set()  # the transitions whose by a timeout's check reported
    timed: dict[str, set[str]] = {}  # event -> the states that time out with it
    for name, state in d.states.items():
        timeout = state.timeout
        if timeout is None:
            continue
        where = ("states", name, "timeout")
        timed.setdefault(timeout.event, set()).add(name)
        if state.final:
            ctx.report(
                "bad-timeout",
                ERROR,
                f"state {name!r} is final: a trajectory that ended never times out",
                where,
                key=True,
            )
            continue
        if timeout.event not in d.events:
            ctx.report(
                "bad-timeout",
                ERROR,
                f"state {name!r} times out with event {timeout.event!r}, which no transition has",
                (*where, "event"),
            )
            continue
        leaving = [(i, t) for i, t in ctx.transitions if t.event == timeout.event]
        leaving = [(i, t) for i, t in leaving if name in d.sources(t)]
        if not leaving:
            ctx.report(
                "bad-timeout",
                ERROR,
                f"state {name!r} times out with event {timeout.event!r}, but no transition "
                "of it leaves the state",
                (*where, "event"),
            )
        for i, t in leaving:
            at = ("transitions", i)
            if t.by != (SYSTEM,):
                reported.add(i)
                ctx.report(
                    "bad-timeout",
                    ERROR,
                    f"event {t.event!r} is state {name!r}'s timeout, fired by the worker: "
                    f"its transition is by: [{SYSTEM}], not by: [{', '.join(t.by)}]",
                    (*at, "by"),
                )
            required = [f for f, spec in t.input.items() if spec.required]
            if required:
                ctx.report(
                    "bad-timeout",
                    ERROR,
                    f"event {t.event!r} is state {name!r}'s timeout, fired with no input: "
                    f"its transition requires {', '.join(map(repr, required))}",
                    (*at, "input", required[0]),
                    key=True,
                )
            guard = guards.get(i)
            if guard is not None and guard.inputs:
                ctx.report(
                    "bad-timeout",
                    ERROR,
                    f"event {t.event!r} is state {name!r}'s timeout, fired with no input: "
                    f"its guard reads input.{sorted(guard.inputs)[0]}",
                    (*at, "when"),
                )
    for i, t in ctx.transitions:
        if SYSTEM not in t.by or i in reported:
            continue
        if t.by != (SYSTEM,):
            ctx.report(
                "bad-timeout",
                ERROR,
                f"only the worker fires a transition by {SYSTEM!r}: it is by: [{SYSTEM}] alone",
                ("transitions", i, "by"),
            )
        elif ctx.parsed.graph_complete and not timed.get(t.event, set()).intersection(
            d.sources(t)
        ):  # (a state left out as invalid may be the one that times out)
            ctx.report(
                "bad-timeout",
                ERROR,
                f"event {t.event!r} is by: [{SYSTEM}], but no state it leaves times out "
                f"with it (timeout: {{after: ..., event: {t.event}}}), so nothing ever fires it",
                ("transitions", i, "by"),
            )
    for name, activity in d.activities.items():
        notices = [("remind", j, r.to) for j, r in enumerate(activity.remind)]
        notices += [("escalate", j, e.to) for j, e in enumerate(activity.escalate)]
        if notices and activity.due is None:
            kind = notices[0][0]
            ctx.report(
                "bad-reminder",
                ERROR,
                f"activity {name!r} has {kind}, but no due date (due: ...): a reminder and "
                "an escalation are counted from it",
                ("activities", name, kind),
                key=True,
            )
        _check_same_notices(ctx, name, activity)
        for kind, j, roles in notices:
            for k, role in enumerate(roles):
                uses.roles.add(role)
                if role not in ctx.roles:
                    ctx.report(
                        "unknown-role",
                        ERROR,
                        f"unknown role {role!r}",
                        ("activities", name, kind, j, "to", k),
                    )
    for j, role in enumerate(d.suspendable_by):
        uses.roles.add(role)
        if role not in ctx.roles:
            ctx.report("unknown-role", ERROR, f"unknown role {role!r}", ("suspendable_by", j))
    return uses


def _check_same_notices(ctx: Context, name: str, activity: Activity) -> None:
    """Two reminders (or escalations) of one activity with the same duration and roles are
    one notice to the worker, sent once: with another message, that message would never be
    sent; with the same, the definition says twice what happens once."""
    first: dict[str, tuple[int, Reminder | Escalation]] = {}
    places = {"remind": 0, "escalate": 0}
    for kind, key, duration, notice in activity.notices(name):
        j = places[kind]
        places[kind] += 1
        if key not in first:
            first[key] = (j, notice)
            continue
        k, earlier = first[key]
        when = "before" if kind == "remind" else "after"
        same = notice.message == earlier.message
        ctx.report(
            "bad-reminder",
            ERROR,
            f"activity {name!r}: this {kind} ({when}: {duration}, to: {', '.join(notice.to)}) "
            f"repeats {kind} {k} with {'the same' if same else 'another'} message; both are "
            "one notice, sent once"
            + (": drop this one" if same else ": merge them, or change the duration or roles"),
            ("activities", name, kind, j),
        )
