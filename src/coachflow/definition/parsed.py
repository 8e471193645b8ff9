"""A definition as read from a file: what was read, where each part stands, what was
left out. The files layer builds it; the checks read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from coachflow.definition.model import Definition
from coachflow.diagnostics import Diagnostic, Mark


class Locator(Protocol):
    """Where the parts of a read document stand (the YAML reader's document is one)."""

    def locate(self, path: tuple[str | int, ...], *, key: bool = False) -> Mark: ...


@dataclass(slots=True)
class ParsedDefinition:
    """The outcome of reading one file: a definition (perhaps with invalid parts left
    out), where everything stands, and what was wrong."""

    path: str
    document: Locator | None
    definition: Definition | None
    diagnostics: list[Diagnostic]
    dropped: dict[str, set[str]] = field(default_factory=dict)
    transition_index: tuple[int, ...] = ()
    dropped_transitions: frozenset[int] = frozenset()

    @property
    def graph_complete(self) -> bool:
        """True when no state and no transition was left out (graph checks are sound)."""
        return (
            self.definition is not None
            and not self.dropped.get("states")
            and not self.dropped_transitions
        )

    @property
    def references_complete(self) -> bool:
        """True when everything that refers to roles, facts and consents is present, so
        'unused' warnings are sound."""
        return (
            self.definition is not None
            and not self.dropped_transitions
            and not self.dropped.get("consents")
        )

    def locate(self, path: tuple[str | int, ...], key: bool = False) -> Mark:
        if self.document is None:
            return Mark(1, 1)
        return self.document.locate(path, key=key)
