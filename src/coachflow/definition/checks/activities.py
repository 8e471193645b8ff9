"""The activities: their roles, states, due dates and recurrence (``unknown-role``,
``unknown-state``, ``during-final``, ``unknown-fact``, ``bad-due``,
``due-outside-during``, ``bad-recurring``), their input fields, and their guard and
``expected`` expressions (compiled as in :mod:`.expressions`)."""

from __future__ import annotations

from dataclasses import dataclass

from coachflow.definition.checks.context import Context, Uses, YamlPath
from coachflow.definition.checks.expressions import Compiler, Mark, Names, compile_activity
from coachflow.definition.checks.references import check_input_fields
from coachflow.definition.expressions import Compiled
from coachflow.definition.model import Activity
from coachflow.definition.plain import PERIOD_NAMES
from coachflow.diagnostics import ERROR, WARNING


@dataclass(frozen=True, slots=True)
class ActivityChecks:
    guards: dict[str, Compiled | None]
    """Every activity -> its compiled guard (``None`` without one, or when it failed)."""
    expected: dict[str, Compiled | None]
    """Each activity with ``expected`` -> it compiled (``None`` when it failed)."""
    uses: Uses
    syntax_errors: frozenset[Mark]


def check_activities(ctx: Context, names: Names) -> ActivityChecks:
    """Check every activity, one after the other, and compile its expressions."""
    compiler = Compiler(ctx, names)
    guards: dict[str, Compiled | None] = {}
    expected: dict[str, Compiled | None] = {}
    for name, activity in ctx.definition.activities.items():
        where = ("activities", name)
        _check_roles_and_states(ctx, name, activity, where, compiler.uses)
        _check_due(ctx, name, activity, (*where, "due"), compiler.uses)
        _check_recurring(ctx, name, activity, (*where, "recurring", "every", "fact"), compiler.uses)
        if activity.input:
            field_uses = check_input_fields(ctx, activity.input, (*where, "input"))
            compiler.uses.roles |= field_uses.roles
            compiler.uses.consents |= field_uses.consents
        guards[name], expectation = compile_activity(compiler, activity, where)
        if activity.expected is not None:
            expected[name] = expectation
    return ActivityChecks(guards, expected, compiler.uses, frozenset(compiler.syntax_errors))


def _check_roles_and_states(
    ctx: Context, name: str, activity: Activity, where: YamlPath, uses: Uses
) -> None:
    """``by``, ``hours`` and ``during``."""
    for j, role in enumerate(activity.by):
        uses.roles.add(role)
        if role not in ctx.roles:
            ctx.report("unknown-role", ERROR, f"unknown role {role!r}", (*where, "by", j))
    for role in activity.hours:
        uses.roles.add(role)
        if role not in ctx.roles:
            ctx.report(
                "unknown-role",
                ERROR,
                f"hours are given for unknown role {role!r}",
                (*where, "hours", role),
                key=True,
            )
    finals = ctx.definition.final_states
    for j, state in enumerate(activity.during or ()):
        if state not in ctx.states:
            ctx.report("unknown-state", ERROR, f"unknown state {state!r}", (*where, "during", j))
        elif state in finals:
            ctx.report(
                "during-final",
                ERROR,
                f"activity {name!r} cannot be recorded in final state {state!r}: "
                "a trajectory that has ended takes no more records",
                (*where, "during", j),
            )


def _check_due(ctx: Context, name: str, activity: Activity, path: YamlPath, uses: Uses) -> None:
    """``due``: on a date fact, and in a week that its ``during`` states hold."""
    d = ctx.definition
    due = activity.due
    if due is None:
        return
    if due.fact is not None:
        spec = d.facts.get(due.fact)
        if spec is None and due.fact not in ctx.facts:
            ctx.report("unknown-fact", ERROR, f"unknown fact {due.fact!r}", (*path, "fact"))
        elif spec is not None and spec.type != "date":
            ctx.report(
                "bad-due",
                ERROR,
                f"activity {name!r} is due on fact {due.fact!r}, which is a "
                f"{spec.type}, not a date",
                (*path, "fact"),
            )
        uses.facts.add(due.fact)
    if due.week is not None and activity.during:
        spans = [d.states[s].weeks for s in activity.during if s in d.states]
        if (
            spans
            and all(w is not None for w in spans)
            and not any(w.from_ <= due.week <= w.to for w in spans if w is not None)
        ):
            windows = ", ".join(f"{w.from_}-{w.to}" for w in spans if w is not None)
            ctx.report(
                "due-outside-during",
                WARNING,
                f"activity {name!r} is due in week {due.week}, but its states "
                f"{', '.join(activity.during)} hold in weeks {windows} only",
                (*path, "week"),
            )


def _check_recurring(
    ctx: Context, name: str, activity: Activity, path: YamlPath, uses: Uses
) -> None:
    """``recurring: {every: {fact: ...}}`` needs an enum fact whose values are periods;
    ``include`` names other activities."""
    if activity.recurring is not None:
        for j, other in enumerate(activity.recurring.include):
            at = (*path[:-2], "include", j)
            if other not in ctx.definition.activities:
                ctx.report("unknown-activity", ERROR, f"unknown activity {other!r}", at)
            elif other == name:
                ctx.report(
                    "bad-recurring",
                    ERROR,
                    f"activity {name!r} includes itself; its own records always count",
                    at,
                )
    every = activity.recurring.every if activity.recurring is not None else None
    if every is None or isinstance(every, str):
        return
    uses.facts.add(every.fact)
    spec = ctx.definition.facts.get(every.fact)
    if spec is None:
        if every.fact not in ctx.facts:
            ctx.report("unknown-fact", ERROR, f"unknown fact {every.fact!r}", path)
        return
    values = spec.values if spec.type == "enum" else None
    wrong = [v for v in values or () if v not in PERIOD_NAMES]
    if values is None or wrong:
        what = f"the values {wrong}" if wrong else f"values of type {spec.type}"
        ctx.report(
            "bad-recurring",
            ERROR,
            f"activity {name!r} recurs every {every.fact!r}, which holds {what}; "
            f"it must be an enum of periods ({', '.join(PERIOD_NAMES)})",
            path,
        )
