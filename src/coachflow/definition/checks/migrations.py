"""Migration maps: a definition's own ``migrates_from`` (``migration-map``,
``unknown-state``, ``unknown-fact``), and :func:`migration_problems`, which checks it
against the older version it maps from (when that version is at hand), with
:func:`migration_warnings`, the input fields the new version lets more roles read
(``migration-widens-access``, a warning: it never stops a version from loading)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from coachflow.definition.checks.context import Context, Uses, YamlPath
from coachflow.definition.expressions import fits, type_of_spec
from coachflow.diagnostics import ERROR

if TYPE_CHECKING:
    from coachflow.definition.model import AnyFact, AnyInput, Definition, Transition


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


def migration_warnings(old: Definition, new: Definition) -> list[tuple[YamlPath, str]]:
    """Where ``new`` (migrating from ``old``) lets more roles read an input field than
    ``old`` did (``migration-widens-access``): a field of the same name, of the same
    activity, or of a transition of the same event (one whose states ``migrates_from``
    maps onto the new one's, when there is such a transition; else any of that event),
    readable by a role that could not read it before, or that needed a consent for it.
    Values written before keep their labels; the records this version writes do not."""
    m = new.migrates_from
    if m is None or m.version != old.version or old.id != new.id:
        return []
    warnings: list[tuple[YamlPath, str]] = []
    for j, t in enumerate(new.transitions):
        for name, spec in t.input.items():
            same = [o for o in old.transitions if o.event == t.event and name in o.input]
            mapped = [o for o in same if _corresponds(old, new, o, t)]
            wider = _widened(new, [o.input[name] for o in mapped or same], spec)
            if wider:
                what = f"input field {name!r} of event {t.event!r}"
                warnings.append(
                    (("transitions", j, "input", name), _widens(what, old.version, wider))
                )
    for activity_name, activity in new.activities.items():
        before = old.activities.get(activity_name)
        for name, spec in activity.input.items():
            if before is None or name not in before.input:
                continue
            wider = _widened(new, [before.input[name]], spec)
            if wider:
                what = f"input field {name!r} of activity {activity_name!r}"
                warnings.append(
                    (
                        ("activities", activity_name, "input", name),
                        _widens(what, old.version, wider),
                    )
                )
    return warnings


def _corresponds(old: Definition, new: Definition, o: Transition, t: Transition) -> bool:
    """Whether old transition ``o`` becomes ``t`` under the state map: its target maps to
    ``t``'s, and one of its sources to one of ``t``'s."""
    states = new.migrates_from.states  # type: ignore[union-attr]
    if states.get(o.to) != t.to:
        return False
    targets = set(new.sources(t))
    return any(states.get(s) in targets for s in old.sources(o))


_NEVER, _WITH_CONSENT, _ALWAYS = 0, 1, 2


def _access(spec: AnyInput, role: str) -> tuple[int, str | None]:
    """How a holder of ``role`` reads a value of ``spec``: never, with a consent (named),
    or always."""
    if spec.visible_to is not None and role in spec.visible_to:
        return _ALWAYS, None
    consent = spec.disclose_to.get(role)
    if consent is not None:
        return _WITH_CONSENT, consent
    return (_ALWAYS if spec.visible_to is None else _NEVER), None


def _widened(new: Definition, before: list[AnyInput], spec: AnyInput) -> list[str]:
    """The roles of ``new`` that read ``spec`` more easily than some spec in ``before``,
    each described (``'director' (before: only with consent 'share')``)."""
    found = []
    for role in new.roles:
        now, _ = _access(spec, role)
        for old_spec in before:
            then, consent = _access(old_spec, role)
            if now > then:
                how = "not at all" if then == _NEVER else f"only with consent {consent!r}"
                found.append(f"{role!r} (before: {how})")
                break
    return found


def _widens(what: str, version: int, roles: list[str]) -> str:
    return (
        f"{what} is readable by more roles than in version {version}: {', '.join(roles)}. "
        "Records written by this version can be read by more people than before (those "
        "written before keep their labels); make the field as strict as before unless "
        "that is intended"
    )


def _describe_fact(spec: AnyFact) -> str:
    if spec.type == "enum":
        return "enum of " + ", ".join(spec.values)
    return str(type_of_spec(spec))
