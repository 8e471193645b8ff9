"""A definition with its expressions compiled, and the process-wide cache of them.

:func:`compile_definition` checks a definition built in Python (or loaded) and compiles
its expressions once: a definition that was already compiled, by this function or by
loading its file (:mod:`coachflow.files.loading` adds each one it analysed to
:data:`COMPILED`), is not analysed again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from coachflow.definition.expressions import Compiled
from coachflow.definition.plain import Label
from coachflow.errors import DefinitionError

if TYPE_CHECKING:  # pydantic loads with the first definition, not with the engine
    from coachflow.definition.model import Definition
    from coachflow.definition.parsed import ParsedDefinition


@dataclass(frozen=True, slots=True)
class CompiledTransition:
    """A transition with its guard and effects compiled."""

    index: int
    """Its place among the transitions in the file."""
    guard: Compiled | None
    effects: Mapping[str, Compiled]


@dataclass(frozen=True, slots=True)
class FlowSource:
    """A confidential input field of one transition or activity that facts or the state
    depend on (and that the transition or activity does not declassify)."""

    transition: int | None
    """The transition's place among the transitions in the file; ``None`` for an input
    of an activity."""
    event: str
    """The transition's event, or the activity's name."""
    field: str
    label: Label
    """Who may read it: a reader must pass every rule (each spec of the field on a
    transition that writes the same record: the strictest wins)."""

    @property
    def activity(self) -> str | None:
        """The activity whose input it is (``None`` for a transition's input)."""
        return self.event if self.transition is None else None


@dataclass(frozen=True, slots=True)
class CompiledDefinition:
    """A valid definition and its compiled expressions."""

    definition: Definition
    transitions: tuple[CompiledTransition, ...] = ()
    activity_guards: Mapping[str, Compiled | None] = field(default_factory=dict)
    """Every activity -> its compiled ``when`` (``None`` without one)."""
    activity_expected: Mapping[str, Compiled | None] = field(default_factory=dict)
    """Each activity with ``expected`` -> it compiled."""
    role_effects: Mapping[tuple[str, str], Mapping[str, Compiled]] = field(default_factory=dict)
    """``(role, "on_assign" | "on_unassign")`` -> the compiled effects."""
    derived_facts: Mapping[str, frozenset[FlowSource]] = field(default_factory=dict)
    """Each fact whose value depends on a confidential input that no transition or
    activity declassifies -> those inputs (:mod:`coachflow.definition.checks.flows`); a
    viewer who may not read one of them should not be shown the fact."""


class CompileCache:
    """Compiled definitions by the identity of their definition, for one process.

    Thread-safe: every read and write holds a lock (two threads compiling the same
    definition at once may both compile it; either result is the same, and the later one
    is kept). Bounded: past ``limit`` entries the least recently used one goes, so a
    long-running process that loads many files does not keep them all. An entry holds its
    definition, so the definition's ``id`` cannot be reused while the entry exists; a
    lookup still checks that the entry is of that very object.
    """

    def __init__(self, limit: int = 1000) -> None:
        if limit < 1:
            raise ValueError("a compile cache holds at least one entry")
        self._limit = limit
        self._entries: OrderedDict[int, CompiledDefinition] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, definition: Definition) -> CompiledDefinition | None:
        """The compiled form of this very ``definition``, if it is cached."""
        key = id(definition)
        with self._lock:
            known = self._entries.get(key)
            if known is None or known.definition is not definition:
                return None
            self._entries.move_to_end(key)
            return known

    def add(self, compiled: CompiledDefinition) -> None:
        """Keep ``compiled`` (in place of any entry for the same definition)."""
        key = id(compiled.definition)
        with self._lock:
            self._entries[key] = compiled
            self._entries.move_to_end(key)
            while len(self._entries) > self._limit:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


COMPILED = CompileCache()
"""The definitions this process has compiled (from files or with compile_definition)."""


def in_memory(definition: Definition) -> ParsedDefinition:
    """A definition built in Python as if parsed from a file, with no file locations
    (every diagnostic is at 1:1 of ``<id@version>``)."""
    from coachflow.definition.parsed import ParsedDefinition

    return ParsedDefinition(
        path=f"<{definition.id}@{definition.version}>",
        document=None,
        definition=definition,
        diagnostics=[],
        transition_index=tuple(range(len(definition.transitions))),
    )


def compile_definition(definition: Definition) -> CompiledDefinition:
    """Check a definition and compile its expressions, once per definition object;
    :class:`~coachflow.errors.DefinitionError` when anything is wrong."""
    known = COMPILED.get(definition)
    if known is not None:
        return known
    from coachflow.definition.checks import analyze  # the checks import this module

    parsed = in_memory(definition)
    compiled = analyze(parsed)
    if compiled is None:
        raise DefinitionError(parsed.diagnostics, parsed.path)
    COMPILED.add(compiled)
    return compiled
