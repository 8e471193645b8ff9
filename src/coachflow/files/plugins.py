"""Definition plugins: packages register directories of definition files.

A package adds an entry point to the group ``coachflow.definitions``; it names either a
directory (a string or path) or a function returning one::

    [project.entry-points."coachflow.definitions"]
    my-routes = "my_package:definitions_dir"

coachflow registers its own built-in definitions the same way (``builtin``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from coachflow.definition.model import Definition
from coachflow.diagnostics import ERROR, Diagnostic
from coachflow.errors import DefinitionError
from coachflow.files.loading import check_files, definition_files

GROUP = "coachflow.definitions"


@dataclass(frozen=True, slots=True)
class DefinitionSet:
    """One registered directory of definitions."""

    name: str
    package: str
    directory: Path


def registered_sets() -> list[DefinitionSet]:
    """Every directory registered under the ``coachflow.definitions`` entry-point group.

    Raises :class:`DefinitionError` when an entry point cannot be loaded or does not
    name an existing directory.
    """
    sets: list[DefinitionSet] = []
    problems: list[Diagnostic] = []
    for ep in sorted(entry_points(group=GROUP), key=lambda e: (e.name, e.value)):
        package = _package(ep)
        try:
            target = ep.load()
            directory = Path(target() if callable(target) else target)
        except Exception as exc:  # a broken plugin must not look like a coachflow crash
            problems.append(_problem(f"entry point {ep.name!r} of {package}: {exc!r}"))
            continue
        if not directory.is_dir():
            problems.append(
                _problem(f"entry point {ep.name!r} of {package} names {directory}, not a directory")
            )
            continue
        sets.append(DefinitionSet(ep.name, package, directory))
    if problems:
        raise DefinitionError(problems, GROUP)
    return sets


def load_registered() -> list[Definition]:
    """Every definition of every registered set; :class:`DefinitionError` lists the bad
    files and any id and version that two sets both define (naming both packages)."""
    definitions: list[Definition] = []
    problems: list[Diagnostic] = []
    origin: dict[tuple[str, int], DefinitionSet] = {}
    for dset in registered_sets():
        for parsed, compiled in check_files(definition_files([dset.directory])):
            if compiled is None:
                problems.extend(d for d in parsed.diagnostics if d.is_error)
                continue
            d = compiled.definition
            first = origin.get(d.key)
            if first is not None:
                problems.append(
                    Diagnostic(
                        "duplicate-definition",
                        ERROR,
                        f"{d.id!r} version {d.version} is defined by two packages: "
                        f"{first.package} ({first.name}) and {dset.package} ({dset.name})",
                        parsed.path,
                        1,
                        1,
                    )
                )
                continue
            origin[d.key] = dset
            definitions.append(d)
    if problems:
        raise DefinitionError(problems, GROUP)
    return definitions


def _package(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    if dist is not None:
        return f"{dist.metadata['Name']} {dist.version}"
    return ep.value.split(":")[0].split(".")[0]


def _problem(message: str) -> Diagnostic:
    return Diagnostic("plugin", ERROR, message, GROUP, 1, 1)


def builtin_definitions_dir() -> str:
    """The directory of coachflow's own definitions (its ``builtin`` entry point)."""
    from importlib.resources import files

    packaged = Path(str(files("coachflow"))) / "definitions"
    if packaged.is_dir():
        return os.fspath(packaged)
    return os.fspath(Path(__file__).resolve().parents[3] / "definitions")
