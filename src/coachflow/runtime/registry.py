"""The definition versions an engine runs, each compiled once into a :class:`Program`.

A version is added once: checked and compiled (:func:`compile_definition`, which reuses
the analysis of a file just validated), and checked against the versions of the same id
it migrates from or to. Adding the same content again is a no-op; other content under a
known version is :func:`~coachflow.errors.definition_changed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from coachflow.definition.checks import migration_problems
from coachflow.definition.compiled import compile_definition
from coachflow.diagnostics import ERROR, Diagnostic
from coachflow.errors import DefinitionError, UnknownDefinition, definition_changed
from coachflow.runtime.program import Program

if TYPE_CHECKING:
    from coachflow.definition.model import Definition


class Registry:
    """The compiled programs by ``(definition id, version)``, and the newest version of
    each id."""

    __slots__ = ("_newest", "_programs")

    def __init__(self) -> None:
        self._programs: dict[tuple[str, int], Program] = {}
        self._newest: dict[str, int] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._programs

    def add(self, definition: Definition, *, stored: bool = False) -> Program:
        """Make ``definition`` runnable; :class:`DefinitionError` (``migration-map``)
        when its ``migrates_from`` map does not fit the version it names. ``stored``: it
        was read back from a store (see :func:`compile_definition`)."""
        key = definition.key
        known = self._programs.get(key)
        if known is not None:
            if known.definition == definition:
                return known
            raise definition_changed(definition.id, definition.version, earlier="is loaded")
        program = Program(compile_definition(definition, stored=stored))
        self._programs[key] = program
        self._check_migrations(definition.id)
        if definition.version > self._newest.get(definition.id, 0):
            self._newest[definition.id] = definition.version
        return program

    def _check_migrations(self, definition_id: str) -> None:
        versions = {v: p.definition for (i, v), p in self._programs.items() if i == definition_id}
        for new in versions.values():
            if new.migrates_from is None or new.migrates_from.version not in versions:
                continue
            problems = migration_problems(versions[new.migrates_from.version], new)
            if problems:  # the version whose map does not fit is not runnable
                del self._programs[new.key]
                where = f"<{new.id}@{new.version}>"
                raise DefinitionError(
                    [Diagnostic("migration-map", ERROR, m, where, 1, 1) for _, m in problems]
                )

    def program(self, definition_id: str, version: int | None = None) -> Program:
        """The program of a version (default: the newest), or :class:`UnknownDefinition`."""
        if version is not None:
            found = self._programs.get((definition_id, version))
            if found is not None:
                return found
        else:
            version = self._newest.get(definition_id)
        program = self._programs.get((definition_id, version or 0))
        if program is None:
            known = ", ".join(sorted(self._newest)) or "none"
            which = definition_id if version is None else f"{definition_id} version {version}"
            raise UnknownDefinition(f"no definition {which!r} is loaded (loaded: {known})")
        return program

    def newest(self) -> Mapping[str, Definition]:
        """The newest version of every definition, by id (sorted)."""
        return {i: self._programs[(i, v)].definition for i, v in sorted(self._newest.items())}


__all__ = ["Registry"]
