"""Separation of duties: the roles a role ``excludes`` are declared (``unknown-role``), and
no role can make someone who holds it a role that reads what it may not read itself
(``self-escalation``).

A role R that may assign a role S (S's ``assigned_by`` names R) lets a person who holds R
assign *themselves* S. When S reads a confidential input field that R may not read (under
some consents), that person would read it too. That is reported, at S's ``assigned_by``
entry naming R, unless R and S exclude each other (``excludes`` on either of them: then one
person never holds both) or S declares ``allow_self_assignment: {reason: ...}``.

Who reads a value is the one reading rule of :mod:`coachflow.definition.plain` (the runtime
uses it too): every confidential spec of a field that describes the same record is a rule
the reader must pass (:func:`~coachflow.definition.plain.labels_of`,
:func:`~coachflow.definition.plain.may_read`). Each field is judged under every combination
of the consents its rules name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import product
from typing import TYPE_CHECKING

from coachflow.definition.checks.context import Context
from coachflow.definition.plain import Label, labels_of, may_read
from coachflow.diagnostics import ERROR

if TYPE_CHECKING:
    from coachflow.definition.model import Definition, InputField

SHOWN = 3
"""How many of the fields a self-escalation exposes its message names."""


def check_duties(ctx: Context) -> None:
    """``unknown-role`` in ``excludes``; ``self-escalation`` at ``assigned_by``."""
    d = ctx.definition
    for name, role in d.roles.items():
        for j, other in enumerate(role.excludes):
            if other not in ctx.roles:
                ctx.report(
                    "unknown-role",
                    ERROR,
                    f"role {name!r} excludes unknown role {other!r}",
                    ("roles", name, "excludes", j),
                )
    fields: list[tuple[str, Label]] | None = None
    for name, role in d.roles.items():
        if role.allow_self_assignment is not None:
            continue
        for j, assigner in enumerate(role.assigned_by):
            if assigner == name or assigner not in d.roles or exclude(d, assigner, name):
                continue
            if fields is None:
                fields = list(_confidential_fields(d))
            exposed = list(
                dict.fromkeys(where for where, rules in fields if _escalates(rules, assigner, name))
            )
            if not exposed:
                continue
            more = len(exposed) - SHOWN
            listed = ", ".join(exposed[:SHOWN]) + (f" and {more} more" if more > 0 else "")
            ctx.report(
                "self-escalation",
                ERROR,
                f"role {assigner!r} can assign role {name!r}, which reads what {assigner!r} "
                f"may not read itself ({listed}): someone holding {assigner!r} could assign "
                f"themselves {name!r} and read it. Declare excludes: [{assigner}] on one of "
                f"the two roles, or allow_self_assignment: {{reason: ...}} on {name!r}",
                ("roles", name, "assigned_by", j),
            )


def exclude(d: Definition, first: str, second: str) -> bool:
    """Whether one person may not hold both roles (either declares ``excludes``)."""
    roles = d.roles
    return (first in roles and second in roles[first].excludes) or (
        second in roles and first in roles[second].excludes
    )


def _confidential_fields(d: Definition) -> Iterator[tuple[str, Label]]:
    """Each confidential field of a record (where it is, described for a message) with
    the rules of every spec that describes it there: the inputs of every transition that
    makes the same ``event`` record from a state to a state, and each activity's."""
    records: dict[tuple[str, str, str], list[Mapping[str, InputField]]] = {}
    for t in d.transitions:
        if t.input:
            for source in d.sources(t):
                records.setdefault((t.event, source, t.to), []).append(t.input)
    for (event, _, _), inputs in records.items():
        for field, rules in labels_of(inputs).items():
            yield f"{field!r} of event {event!r}", rules
    for name, activity in d.activities.items():
        for field, rules in labels_of([activity.input]).items():
            yield f"{field!r} of activity {name!r}", rules


def _escalates(rules: Label, holder: str, gained: str) -> bool:
    """Whether someone holding ``holder`` reads a value with these ``rules`` once they
    hold ``gained`` as well, under some consents, where ``holder`` alone does not."""
    consents = sorted({c for _, disclose in rules for _, c in disclose})
    for granted in product((False, True), repeat=len(consents)):
        now = dict(zip(consents, granted, strict=True))
        if may_read(rules, (holder, gained), now) and not may_read(rules, (holder,), now):
            return True
    return False
