"""The semantic checks of a parsed definition, and their compiled outcome.

:func:`analyze` runs on what :mod:`coachflow.files.definitions` could read (possibly with
invalid entries left out), reports every problem as a located
:class:`~coachflow.diagnostics.Diagnostic`, and hands on the expressions, compiled once,
in a :class:`~coachflow.definition.compiled.CompiledDefinition`.

One module per concern; each check takes the :class:`~.context.Context` (the definition,
its known names, where diagnostics go) and whatever results of other checks it needs, as
arguments:

* :mod:`.names`: names the expression language reserves;
* :mod:`.references`: the states, roles and consents that are referred to;
* :mod:`.expressions`: guards and effects, compiled (with the checks of effects);
* :mod:`.activities`: the activities, their expressions included;
* :mod:`.texts`: control characters in titles, descriptions and expressions;
* :mod:`.migrations`: the migration map (and :func:`migration_problems` across versions);
* :mod:`.duties`: separation of duties (``excludes``, ``self-escalation``);
* :mod:`.flows`: confidential inputs that decide the state or the facts;
* :mod:`.timers`: timeouts, reminders, escalations, suspension and the role ``system``;
* :mod:`.privacy`: how long confidential values are kept (``retention``);
* :mod:`.graph`: final states, ambiguous events and reachability;
* :mod:`.unused`: declarations nothing mentions.

Importing this package loads only :func:`migration_problems` and the compiled types (the
runtime needs them to run a definition); the other checks load when :func:`analyze` first
runs.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from coachflow.definition.checks.migrations import migration_problems
from coachflow.definition.compiled import CompiledDefinition, CompiledTransition

if TYPE_CHECKING:
    from coachflow.definition.parsed import ParsedDefinition

__all__ = ["CompiledDefinition", "CompiledTransition", "analyze", "migration_problems"]


def analyze(
    parsed: ParsedDefinition, *, lenient: frozenset[str] = frozenset()
) -> CompiledDefinition | None:
    """Run every semantic check on ``parsed``; add the diagnostics to it (sorted).

    Returns the compiled definition when the whole file was valid and no check failed.
    ``lenient``: error codes that are warnings here (see
    :data:`coachflow.definition.compiled.ADDED_CHECKS`).

    The checks run in this order, which only decides the order of diagnostics that sort
    alike (same file, line, column and code: in a definition built in Python every one
    stands at 1:1): names, references, transition expressions, role hooks, activities,
    texts, the migration map, timers, duties, privacy, flows, then (when no state or
    transition was left out) the graph, and (when nothing that mentions a declaration was
    left out) unused declarations.
    """
    definition = parsed.definition
    if definition is None:
        return None
    from coachflow.definition.checks.activities import check_activities
    from coachflow.definition.checks.context import Context, Uses
    from coachflow.definition.checks.duties import check_duties
    from coachflow.definition.checks.expressions import (
        Names,
        compile_role_hooks,
        compile_transitions,
    )
    from coachflow.definition.checks.flows import check_flows
    from coachflow.definition.checks.graph import check_exits, check_reachability
    from coachflow.definition.checks.migrations import check_migration_map
    from coachflow.definition.checks.names import check_names
    from coachflow.definition.checks.privacy import check_privacy
    from coachflow.definition.checks.references import check_references
    from coachflow.definition.checks.texts import check_texts
    from coachflow.definition.checks.timers import check_timers
    from coachflow.definition.checks.unused import check_unused
    from coachflow.diagnostics import WARNING, sort_key

    ctx = Context.of(parsed, definition)
    names = Names.of(ctx)
    uses = [check_names(ctx), check_references(ctx)]
    transitions = compile_transitions(ctx, names)
    hooks = compile_role_hooks(ctx, names)
    activities = check_activities(ctx, names)
    check_texts(ctx, transitions.syntax_errors | hooks.syntax_errors | activities.syntax_errors)
    uses += [transitions.uses, hooks.uses, activities.uses, check_migration_map(ctx)]
    uses.append(check_timers(ctx, transitions.transitions))
    check_duties(ctx)
    check_privacy(ctx)
    derived = check_flows(ctx, transitions.transitions, hooks.role_effects, activities.guards)
    if parsed.graph_complete:
        check_exits(ctx)
        check_reachability(ctx)
    if parsed.references_complete:
        check_unused(ctx, Uses.union(*uses))
    parsed.diagnostics.extend(
        dataclasses.replace(d, severity=WARNING) if d.is_error and d.code in lenient else d
        for d in ctx.diagnostics
    )
    parsed.diagnostics.sort(key=sort_key)
    if any(d.is_error for d in parsed.diagnostics):
        return None
    return CompiledDefinition(
        definition,
        transitions.transitions,
        activities.guards,
        activities.expected,
        hooks.role_effects,
        derived,
    )
