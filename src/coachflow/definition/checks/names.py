"""``schema``: names that the expression language reserves (or Python keywords) cannot
name a fact, consent, predicate or input."""

from __future__ import annotations

import keyword

from coachflow.definition.checks.context import Context, Uses
from coachflow.definition.expressions import RESERVED_NAMES
from coachflow.diagnostics import ERROR


def check_names(ctx: Context) -> Uses:
    """Report the reserved names. A fact or consent so reported counts as used: one
    diagnostic is enough."""
    d = ctx.definition
    uses = Uses()
    for name in d.facts:
        if name in RESERVED_NAMES or keyword.iskeyword(name):
            uses.facts.add(name)
            ctx.report(
                "schema",
                ERROR,
                f"{name!r} is reserved in expressions and cannot name a fact",
                ("facts", name),
                key=True,
            )
    for name in d.consents:
        if keyword.iskeyword(name) or name.startswith("__"):
            uses.consents.add(name)
            ctx.report(
                "schema",
                ERROR,
                f"{name!r} is a Python keyword, so consent.{name} could never be read",
                ("consents", name),
                key=True,
            )
    for j, name in enumerate(d.predicates):
        if name in RESERVED_NAMES or keyword.iskeyword(name):
            ctx.report(
                "schema",
                ERROR,
                f"{name!r} is reserved in expressions and cannot name a predicate",
                ("predicates", j),
            )
    for i, t in ctx.transitions:
        for name in t.input:
            if keyword.iskeyword(name):
                ctx.report(
                    "schema",
                    ERROR,
                    f"{name!r} is a Python keyword and cannot name an input",
                    ("transitions", i, "input", name),
                    key=True,
                )
    return uses
