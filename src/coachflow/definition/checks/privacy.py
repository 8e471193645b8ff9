"""Privacy (AVG/GDPR): how long the values of confidential input fields are kept
(``no-retention``).

A definition declares ``retention`` per class of values (``confidential``, ``personal``,
``default``). A definition with confidential input fields whose class has no period, and
no ``default`` either, keeps them for as long as the trajectory is kept. That is allowed
(a designer who means it says so with ``keep``), but never by omission: the check warns
once per definition, at its first confidential field, counting them all, or at its
``retention`` when it declares one without the class.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from coachflow.definition.checks.context import Context, YamlPath
from coachflow.definition.model import Definition, InputField
from coachflow.diagnostics import WARNING


def check_privacy(ctx: Context) -> None:
    """Warn once when confidential input fields are kept by omission."""
    retention = ctx.definition.retention
    if retention is not None and (
        retention.confidential is not None or retention.default is not None
    ):
        return
    found = [
        (where, name) for where, name, spec in input_fields(ctx.definition) if spec.confidential
    ]
    if not found:
        return
    names = sorted({name for _, name in found})
    shown = ", ".join(map(repr, names[:3]))
    if len(names) > 3:
        shown += f" and {len(names) - 3} more"
    where, name = found[0]
    what, their = ("input field", "its") if len(names) == 1 else ("input fields", "their")
    places = "" if len(found) == len(names) else f" (in {len(found)} places)"
    message = (
        f"confidential {what} {shown}{places}: nothing says how long {their} values are "
        "kept; declare retention: {confidential: {after_end: P1Y}} (an ISO 8601 period), "
        "or confidential: keep to keep them as long as the trajectory"
    )
    if retention is not None:
        ctx.report("no-retention", WARNING, message, ("retention",), key=True)
    else:
        ctx.report("no-retention", WARNING, message, (*where, name), key=True)


def input_fields(d: Definition) -> Iterator[tuple[YamlPath, str, InputField]]:
    """Every input field of the transitions and activities: (where its fields are, its
    name, itself), in file order."""
    for i, t in enumerate(d.transitions):
        yield from _fields(("transitions", i, "input"), t.input)
    for name, activity in d.activities.items():
        yield from _fields(("activities", name, "input"), activity.input)


def _fields(
    where: YamlPath, fields: Mapping[str, InputField]
) -> Iterator[tuple[YamlPath, str, InputField]]:
    for name, spec in fields.items():
        yield where, name, spec
