"""``unused-role``, ``unused-fact``, ``unused-consent``: a declaration nothing mentions.

Sound only when nothing that mentions them was left out as invalid
(:attr:`~coachflow.definition.parsed.ParsedDefinition.references_complete`)."""

from __future__ import annotations

from coachflow.definition.checks.context import Context, Uses
from coachflow.diagnostics import WARNING


def check_unused(ctx: Context, uses: Uses) -> None:
    """Warn about each declared role, fact and consent that is not in ``uses`` (what
    every other check saw mentioned)."""
    d = ctx.definition
    for kind, declared, used in (
        ("role", d.roles, uses.roles),
        ("fact", d.facts, uses.facts),
        ("consent", d.consents, uses.consents),
    ):
        for name in declared:
            if name not in used:
                ctx.report(
                    f"unused-{kind}",
                    WARNING,
                    f"{kind} {name!r} is declared but never used",
                    (kind + "s", name),
                    key=True,
                )
