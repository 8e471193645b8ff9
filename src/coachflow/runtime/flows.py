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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from coachflow.definition.compiled import CompiledDefinition, FlowSource
from coachflow.definition.plain import Label, may_read

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
    """The facts of ``trajectory`` that ``viewer`` may not be shown now: those derived
    from a confidential input (not declassified) whose label does not let the viewer's
    current roles read it, with the trajectory's current consents. Pure; for a definition
    without such facts (nearly every one) it returns at once."""
    derived = derived_facts(compiled)
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


__all__ = ["derived_facts", "hidden_facts"]
