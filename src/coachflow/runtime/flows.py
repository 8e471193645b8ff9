"""Facts a viewer may not be shown because they were derived from a confidential input.

The validator refuses a definition in which a confidential input decides, for someone who
may not read it, the state, a fact or whether an activity is recorded
(``confidential-flow``, ``confidential-effect``), unless the transition or the activity
declassifies it. As a second line of defence the runtime still knows which facts depend
on a confidential input that no transition or activity declassifies, through a
transition's guard or effect or through an activity's guard (and the ``done.`` and
``count.`` that read it): the analysis of :mod:`coachflow.definition.checks.flows`, done
once per definition version and kept on its
:class:`~coachflow.definition.compiled.CompiledDefinition`. :func:`hidden_facts` names
those of them a viewer may not read the source of, now, for the engine to show as
``REDACTED``.

A viewer reads a source as they would read its value in the history (see
:mod:`coachflow.runtime.access`): every rule of its label must let one of their roles read
it, by ``visible_to``, or by ``disclose_to`` with its consent granted; someone who holds no
role reads none. Which record set the fact is not known here, so being the author of the
input does not count: a fact is hidden from its own author when their roles may not read
the source.

A trajectory's history may span versions: a migration carries facts over, renamed by the
newer version's ``migrates_from``. :func:`hidden_by_era` judges each stretch of the
history (an *era*: from its start or a ``migrated`` record to the next) by the version it
ran on, and a fact derived in an older version stays hidden where a migration carried
it, and in every fact of the newer version that may depend on it
(:func:`~coachflow.definition.checks.flows.fact_dependencies`). An era whose version is
not loaded cannot be judged: all its facts are hidden, and what they reach later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from coachflow.definition.compiled import CompiledDefinition, FlowSource
from coachflow.definition.plain import Label, Rule, may_read
from coachflow.runtime.trajectory import eras_of

if TYPE_CHECKING:
    from coachflow.definition.model import Definition
    from coachflow.runtime.trajectory import Trajectory

_NONE: frozenset[str] = frozenset()


def derived_facts(
    compiled: CompiledDefinition | Definition,
) -> Mapping[str, frozenset[FlowSource]]:
    """Each fact that depends on a confidential input no transition or activity
    declassifies -> those inputs (transition, event, field and label; for an activity's
    input the transition is ``None`` and the event the activity's name). Empty for most
    definitions. Given a :class:`Definition`, its compiled form comes from the process's
    compile cache (it is analysed once)."""
    if not isinstance(compiled, CompiledDefinition):
        from coachflow.definition.compiled import compile_definition

        compiled = compile_definition(compiled)
    return compiled.derived_facts


def hidden_facts(
    compiled: CompiledDefinition | Definition, trajectory: Trajectory, viewer: str
) -> frozenset[str]:
    """The facts of ``trajectory`` that ``viewer`` may not be shown now by the rules of
    ``compiled`` alone: those derived from a confidential input (not declassified) whose
    label does not let the viewer's current roles read it, with the trajectory's current
    consents. Pure; for a definition without such facts (nearly every one) it returns at
    once. Across migrations, see :func:`hidden_by_era`."""
    return _judged(derived_facts(compiled), trajectory, viewer)


def _judged(
    derived: Mapping[str, frozenset[FlowSource]], trajectory: Trajectory, viewer: str
) -> frozenset[str]:
    """The facts of ``derived`` with a source ``viewer`` may not read now."""
    if not derived:
        return _NONE
    roles = trajectory.roles_of(viewer)
    if not roles:
        return frozenset(derived)  # not a participant: reads no confidential input at all
    consents = trajectory.consents
    labels: dict[Label, bool] = {}  # label -> may the viewer read it
    judged: dict[int, bool] = {}  # id of a set of sources (facts share them) -> hidden

    def hidden(sources: frozenset[FlowSource]) -> bool:
        known = judged.get(id(sources))
        if known is None:
            known = False
            for source in sources:
                readable = labels.get(source.label)
                if readable is None:
                    readable = labels[source.label] = may_read(source.label, roles, consents)
                if not readable:
                    known = True
                    break
            judged[id(sources)] = known
        return known

    return frozenset(fact for fact, sources in derived.items() if hidden(sources))


@dataclass(frozen=True, slots=True)
class HiddenFacts:
    """The facts a viewer may not be shown, era by era of a trajectory's history."""

    eras: tuple[tuple[int, frozenset[str]], ...]
    """``(seq of the era's first record, the facts hidden in its records)``, oldest first;
    the records of an era name facts as its version does."""

    @property
    def now(self) -> frozenset[str]:
        """The facts hidden in the trajectory's current facts (its last era)."""
        return self.eras[-1][1] if self.eras else _NONE

    def __bool__(self) -> bool:
        return any(hidden for _, hidden in self.eras)


NOTHING_HIDDEN = HiddenFacts(())

_UNJUDGED: frozenset[FlowSource] = frozenset(
    {FlowSource(None, "", "", (Rule((), ()),))}  # a label no role passes
)
"""The source of a fact of a version that is not loaded: nobody may read it."""


def hidden_by_era(
    trajectory: Trajectory,
    viewer: str,
    compiled_of: Callable[[int], CompiledDefinition | None],
) -> HiddenFacts:
    """The facts of ``trajectory`` that ``viewer`` may not be shown now, era by era
    (see the module's text). ``compiled_of``: the compiled form of a version of the
    trajectory's definition, or None when it is not loaded."""
    eras = eras_of(trajectory)
    if len(eras) == 1:  # never migrated: the usual case
        compiled = compiled_of(eras[0][1])
        if compiled is None:
            return HiddenFacts(((eras[0][0], frozenset(trajectory.facts)),))
        hidden = hidden_facts(compiled, trajectory, viewer)
        return HiddenFacts(((eras[0][0], hidden),)) if hidden else NOTHING_HIDDEN
    out: list[tuple[int, frozenset[str]]] = []
    taint: dict[str, frozenset[FlowSource]] = {}
    for k, (first, version) in enumerate(eras):
        compiled = compiled_of(version)
        if compiled is None:
            names = set(taint)
            end = eras[k + 1][0] if k + 1 < len(eras) else None
            for r in trajectory.history:
                if r.seq >= first and (end is None or r.seq < end):
                    names.update(r.changes)
            taint = dict.fromkeys(names, _UNJUDGED)
        else:
            taint = _carried(compiled, taint)
        out.append((first, _judged(taint, trajectory, viewer)))
    return HiddenFacts(tuple(out)) if any(h for _, h in out) else NOTHING_HIDDEN


def _carried(
    compiled: CompiledDefinition, before: Mapping[str, frozenset[FlowSource]]
) -> dict[str, frozenset[FlowSource]]:
    """What depends on a hidden source in ``compiled``'s version, given the facts
    ``before`` that did in the version it migrated from: its own derived facts, each fact
    carried over (renamed by its ``migrates_from``) and every fact that may depend on one."""
    taint = dict(compiled.derived_facts)
    if not before:
        return taint
    d = compiled.definition
    renames = d.migrates_from.facts if d.migrates_from is not None else {}
    carried: dict[str, frozenset[FlowSource]] = {}
    for fact, sources in before.items():
        name = renames.get(fact, fact)
        if name in d.facts:
            carried[name] = carried.get(name, frozenset()) | sources
    if not carried:
        return taint
    from coachflow.definition.checks.flows import fact_dependencies  # only when it is needed

    reach = fact_dependencies(
        d, compiled.transitions, compiled.role_effects, compiled.activity_guards
    )
    for fact, on in reach.items():
        for name in on & carried.keys():
            taint[fact] = taint.get(fact, frozenset()) | carried[name]
    return taint


__all__ = ["NOTHING_HIDDEN", "HiddenFacts", "derived_facts", "hidden_by_era", "hidden_facts"]
