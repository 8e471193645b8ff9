"""What every check of a definition needs, and nothing a check computes.

A :class:`Context` holds the parsed definition, the names it declares (with those whose
entries were left out as invalid, so that a reference to them is not reported again) and
the list the checks report their diagnostics into. A :class:`Uses` is what one check saw
mentioned: each check returns its own, and the unused-declaration check gets them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from coachflow.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from coachflow.definition.model import Definition, Transition
    from coachflow.definition.parsed import ParsedDefinition

YamlPath = tuple[str | int, ...]
"""Where a part of the definition stands in the document: keys and list indexes."""


@dataclass(frozen=True, slots=True)
class Context:
    """The definition under check, its known names, and where diagnostics go."""

    parsed: ParsedDefinition
    definition: Definition
    transitions: tuple[tuple[int, Transition], ...]
    """Each transition with its index in the file (invalid ones left out may shift them)."""
    states: frozenset[str]
    roles: frozenset[str]
    facts: frozenset[str]
    consents: frozenset[str]
    activities: frozenset[str]
    """The declared names of each kind, with those left out as invalid: the known ones."""
    dropped_facts: frozenset[str]
    """Facts declared but left out as invalid: their type is unknown."""
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @classmethod
    def of(cls, parsed: ParsedDefinition, definition: Definition) -> Context:
        dropped = parsed.dropped
        index = parsed.transition_index or tuple(range(len(definition.transitions)))

        def known(kind: str, declared: Iterable[str]) -> frozenset[str]:
            return frozenset(declared) | dropped.get(kind, frozenset())

        return cls(
            parsed=parsed,
            definition=definition,
            transitions=tuple(zip(index, definition.transitions, strict=True)),
            states=known("states", definition.states),
            roles=known("roles", definition.roles),
            facts=known("facts", definition.facts),
            consents=known("consents", definition.consents),
            activities=known("activities", definition.activities),
            dropped_facts=frozenset(dropped.get("facts", ())),
        )

    def report(
        self, code: str, severity: Severity, message: str, path: YamlPath, key: bool = False
    ) -> Diagnostic:
        """Add a diagnostic at the value (or with ``key``, the key) at ``path``."""
        mark = self.parsed.locate(path, key)
        diagnostic = Diagnostic(
            code, severity, message, self.parsed.path, mark.line or 1, mark.column or 1
        )
        self.diagnostics.append(diagnostic)
        return diagnostic


@dataclass(slots=True)
class Uses:
    """The roles, facts and consents a check saw mentioned (so they are not unused)."""

    roles: set[str] = field(default_factory=set)
    facts: set[str] = field(default_factory=set)
    consents: set[str] = field(default_factory=set)

    @classmethod
    def union(cls, *uses: Uses) -> Uses:
        every = cls()
        for u in uses:
            every.roles |= u.roles
            every.facts |= u.facts
            every.consents |= u.consents
        return every
