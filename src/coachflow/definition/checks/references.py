"""References between the parts of a definition: every state and role a transition, role,
consent or input field names must be declared (``unknown-initial``, ``unknown-state``,
``unknown-role``, ``ungrantable-consent``), and a role hook must be able to run
(``hook-never-runs``). The activities' references are in :mod:`.activities`."""

from __future__ import annotations

from collections.abc import Mapping

from coachflow.definition.checks.context import Context, Uses, YamlPath
from coachflow.definition.model import SYSTEM, InputField, Transition
from coachflow.diagnostics import ERROR, WARNING


def check_references(ctx: Context) -> Uses:
    """The references of the definition's top level, roles, consents and transitions."""
    uses = Uses()
    _check_top(ctx, uses)
    for i, t in ctx.transitions:
        _check_transition(ctx, ("transitions", i), t, uses)
    _check_hooks(ctx)
    return uses


def check_input_fields(ctx: Context, fields: Mapping[str, InputField], path: YamlPath) -> Uses:
    """``visible_to`` and ``disclose_to`` of the input fields at ``path``."""
    uses = Uses()
    for name, spec in fields.items():
        where = (*path, name)
        for j, role in enumerate(spec.visible_to or ()):
            uses.roles.add(role)
            if role not in ctx.roles:
                ctx.report(
                    "unknown-role", ERROR, f"unknown role {role!r}", (*where, "visible_to", j)
                )
        for role, consent in spec.disclose_to.items():
            uses.roles.add(role)
            uses.consents.add(consent)
            if role not in ctx.roles:
                ctx.report(
                    "unknown-role",
                    ERROR,
                    f"unknown role {role!r}",
                    (*where, "disclose_to", role),
                    key=True,
                )
            if consent not in ctx.consents:
                ctx.report(
                    "ungrantable-consent",
                    WARNING,
                    f"field {name!r} is disclosed to {role!r} through consent "
                    f"{consent!r}, which is not declared, so no role can grant it "
                    "(the field is never disclosed)",
                    (*where, "disclose_to", role),
                )
    return uses


def _check_top(ctx: Context, uses: Uses) -> None:
    """``initial``, ``assigned_by``, ``started_by`` and ``granted_by``."""
    d = ctx.definition
    if d.initial not in ctx.states:
        ctx.report(
            "unknown-initial", ERROR, f"initial state {d.initial!r} is not declared", ("initial",)
        )
    for name, role in d.roles.items():
        for j, other in enumerate(role.assigned_by):
            uses.roles.add(other)
            if other not in ctx.roles:
                ctx.report(
                    "unknown-role",
                    ERROR,
                    f"role {name!r} is assigned by unknown role {other!r}",
                    ("roles", name, "assigned_by", j),
                )
    for j, starter in enumerate(d.started_by or ()):
        uses.roles.add(starter)
        if starter not in ctx.roles:
            ctx.report(
                "unknown-role",
                ERROR,
                f"started_by names unknown role {starter!r}",
                ("started_by", j),
            )
    for name, consent in d.consents.items():
        uses.roles.add(consent.granted_by)
        if consent.granted_by not in ctx.roles:
            ctx.report(
                "unknown-role",
                ERROR,
                f"consent {name!r} is granted by unknown role {consent.granted_by!r}",
                ("consents", name, "granted_by"),
            )


def _check_transition(ctx: Context, where: YamlPath, t: Transition, uses: Uses) -> None:
    """The states a transition leaves and enters, its roles and its input fields."""
    states = ctx.states
    if isinstance(t.from_, tuple):
        for j, src in enumerate(t.from_):
            if src not in states:
                ctx.report("unknown-state", ERROR, f"unknown state {src!r}", (*where, "from", j))
    elif t.from_ != "*" and t.from_ not in states:
        ctx.report("unknown-state", ERROR, f"unknown state {t.from_!r}", (*where, "from"))
    if t.to not in states:
        ctx.report("unknown-state", ERROR, f"unknown state {t.to!r}", (*where, "to"))
    for j, role in enumerate(t.by):
        uses.roles.add(role)
        if role not in ctx.roles and role != SYSTEM:  # the worker's (see .timers)
            ctx.report("unknown-role", ERROR, f"unknown role {role!r}", (*where, "by", j))
    if t.input:
        field_uses = check_input_fields(ctx, t.input, (*where, "input"))
        uses.roles |= field_uses.roles
        uses.consents |= field_uses.consents


def _check_hooks(ctx: Context) -> None:
    """``hook-never-runs``: a role bound only at the start never has its hooks run."""
    for name, role in ctx.definition.roles.items():
        if role.assigned_by:
            continue
        for key in ("on_assign", "on_unassign"):
            if getattr(role, key) is not None:
                ctx.report(
                    "hook-never-runs",
                    WARNING,
                    f"role {name!r} has {key}, but no assigned_by: people are bound to "
                    "it only at the start, when no hook runs",
                    ("roles", name, key),
                    key=True,
                )
