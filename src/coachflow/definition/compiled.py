"""A definition with its expressions compiled, and the process-wide cache of them.

:func:`compile_definition` checks a definition built in Python (or loaded) and compiles
its expressions once: a definition that was already compiled, by this function or by
loading its file (:mod:`coachflow.files.loading` adds each one it analysed to
:data:`COMPILED`), is not analysed again.
"""

from __future__ import annotations

import dataclasses
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
    passes_later_checks: bool = True
    """False for a stored version that fails one of the :data:`ADDED_CHECKS` (it runs,
    as it did when it was stored; its trajectories should be migrated to a newer one)."""

    def holiday_uses(self) -> tuple[tuple[tuple[str | int, ...], str], ...]:
        """Where the definition names each holiday it reads: ``(path, name)``, the path
        into the definition's document (``("activities", "pop_w18", "due", "before")``)."""
        uses: list[tuple[tuple[str | int, ...], str]] = []

        def add(path: tuple[str | int, ...], expr: Compiled | None) -> None:
            if expr is not None:
                uses.extend((path, h) for h in sorted(expr.holidays))

        for t in self.transitions:
            add(("transitions", t.index, "when"), t.guard)
            for fact, effect in t.effects.items():
                add(("transitions", t.index, "set", fact), effect)
        for name, activity in self.definition.activities.items():
            add(("activities", name, "when"), self.activity_guards.get(name))
            add(("activities", name, "expected"), self.activity_expected.get(name))
            if activity.due is not None and activity.due.before is not None:
                uses.append((("activities", name, "due", "before"), activity.due.before))
        for (role, hook), effects in self.role_effects.items():
            for fact, effect in effects.items():
                add(("roles", role, hook, "set", fact), effect)
        return tuple(uses)

    @property
    def holidays(self) -> frozenset[str]:
        """Every holiday name the definition reads (its expressions and its ``due:
        {before: ...}``): a trajectory's school calendar must have each one."""
        return frozenset(name for _, name in self.holiday_uses())


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


ADDED_CHECKS = frozenset({"self-escalation", "confidential-flow"})
"""Error codes of checks added after definitions were stored that passed the checks of
their day: a version read back from a store (its trajectories already run on it) is held
to them as warnings, so that an upgrade of coachflow never stops running trajectories; a
version given as a file or object is held to them as errors."""


def compile_definition(definition: Definition, *, stored: bool = False) -> CompiledDefinition:
    """Check a definition and compile its expressions, once per definition object;
    :class:`~coachflow.errors.DefinitionError` when anything is wrong. ``stored``: the
    version was read back from a store, so the :data:`ADDED_CHECKS` are warnings (see
    :func:`stored_warnings`)."""
    known = COMPILED.get(definition)
    if known is not None and (stored or known.passes_later_checks):
        return known  # (a lenient result does not answer a strict compile)
    from coachflow.definition.checks import analyze  # the checks import this module

    parsed = in_memory(definition)
    compiled = analyze(parsed, lenient=ADDED_CHECKS if stored else frozenset())
    if compiled is None:
        raise DefinitionError(parsed.diagnostics, parsed.path)
    if stored:
        compiled = dataclasses.replace(
            compiled,
            passes_later_checks=not any(d.code in ADDED_CHECKS for d in parsed.diagnostics),
        )
    COMPILED.add(compiled)
    return compiled
