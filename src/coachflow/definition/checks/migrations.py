"""Migration maps: a definition's own ``migrates_from`` (``migration-map``,
``unknown-state``, ``unknown-fact``), and :func:`migration_problems`, which checks it
against the older version it maps from (when that version is at hand)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from coachflow.definition.checks.context import Context, Uses, YamlPath
from coachflow.definition.expressions import fits, type_of_spec
from coachflow.diagnostics import ERROR

if TYPE_CHECKING:
    from coachflow.definition.model import AnyFact, Definition


def check_migration_map(ctx: Context) -> Uses:
    """The map's version is older, and it maps onto states and facts of this version."""
    d = ctx.definition
    uses = Uses()
    m = d.migrates_from
    if m is None:
        return uses
    where = ("migrates_from",)
    if m.version >= d.version:
        ctx.report(
            "migration-map",
            ERROR,
            f"a definition migrates from an older version; {m.version} is not older "
            f"than {d.version}",
            (*where, "version"),
        )
    for old, new in m.states.items():
        if new not in ctx.states:
            ctx.report("unknown-state", ERROR, f"unknown state {new!r}", (*where, "states", old))
    for old, new in m.facts.items():
        uses.facts.add(new)
        if new not in ctx.facts:
            ctx.report("unknown-fact", ERROR, f"unknown fact {new!r}", (*where, "facts", old))
    return uses


def migration_problems(old: Definition, new: Definition) -> list[tuple[YamlPath, str]]:
    """What is wrong with ``new.migrates_from`` given the old version ``old``: every
    state of ``old`` must be mapped, and facts that carry over must keep their type."""
    m = new.migrates_from
    if m is None or m.version != old.version or old.id != new.id:
        return []
    problems: list[tuple[YamlPath, str]] = []
    missing = [s for s in old.states if s not in m.states]
    if missing:
        problems.append(
            (
                ("migrates_from", "states"),
                f"states of version {old.version} not mapped: {', '.join(missing)}",
            )
        )
    for s in m.states:
        if s not in old.states:
            problems.append(
                (
                    ("migrates_from", "states", s),
                    f"version {old.version} has no state {s!r}",
                )
            )
    for old_name, spec in old.facts.items():
        new_name = m.facts.get(old_name, old_name)
        target = new.facts.get(new_name)
        if target is None:
            continue  # dropped
        if not fits(type_of_spec(spec), type_of_spec(target)):
            problems.append(
                (
                    ("migrates_from", "facts", old_name)
                    if old_name in m.facts
                    else ("facts", new_name),
                    f"fact {old_name!r} ({_describe_fact(spec)}) cannot become {new_name!r} "
                    f"({_describe_fact(target)})",
                )
            )
    for old_name in m.facts:
        if old_name not in old.facts:
            problems.append(
                (
                    ("migrates_from", "facts", old_name),
                    f"version {old.version} has no fact {old_name!r}",
                )
            )
    return problems


def _describe_fact(spec: AnyFact) -> str:
    if spec.type == "enum":
        return "enum of " + ", ".join(spec.values)
    return str(type_of_spec(spec))
