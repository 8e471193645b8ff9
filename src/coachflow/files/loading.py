"""Loading and validating definition files: io (structure) + analysis (meaning).

Cheap to import (the engine imports it for :func:`definitions_from`): the YAML reader, the
parser and the semantic checks load when a definition is first read or checked.
"""

from __future__ import annotations

import functools
import gc
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from coachflow.definition.compiled import COMPILED, CompiledDefinition, in_memory
from coachflow.definition.compiled import compile_definition as compile_definition
from coachflow.definition.model import Definition
from coachflow.definition.parsed import ParsedDefinition
from coachflow.diagnostics import ERROR, WARNING, Diagnostic, sort_key
from coachflow.errors import DefinitionError

if TYPE_CHECKING:
    from coachflow.calendar import Holiday, SchoolCalendar
    from coachflow.diagnostics import Mark

DEFINITION_SUFFIXES = (".yaml", ".yml")

StrPath = str | os.PathLike[str]


def check_file(
    path: StrPath, *, calendar: SchoolCalendar | None = None
) -> tuple[ParsedDefinition, CompiledDefinition | None]:
    """:func:`check_text` of the file at ``path``, read by :func:`read_source` (which
    refuses a non-regular or too large file before reading it)."""
    from coachflow.files.reader import read_source

    name = os.fspath(path)
    data, refused = read_source(name)
    if data is None:
        assert refused is not None
        return ParsedDefinition(name, None, None, [refused]), None
    return check_text(data, name, calendar=calendar)


def check_text(
    text: str | bytes, path: str, *, calendar: SchoolCalendar | None = None
) -> tuple[ParsedDefinition, CompiledDefinition | None]:
    # Reading builds many small objects that all stay alive until the end: the cyclic
    # garbage collector would scan them again and again for nothing (about half the time
    # of a large definition). The collector is process-wide, so it is paused only while
    # no other thread runs (the CLI, a script); in a threaded server it stays on, and
    # validation takes longer there instead of stopping collection for every thread.
    from coachflow.definition.checks import analyze
    from coachflow.files.definitions import parse_definition

    pause = gc.isenabled() and threading.active_count() == 1
    if pause:
        gc.disable()
    try:
        parsed = parse_definition(text, path)
        compiled = analyze(parsed)
        if compiled is not None:
            # so that an Engine given this definition does not analyse it again. Added
            # while the collector is paused: once it is resumed, the first allocation of
            # a tracked object starts a collection that scans everything read, which is
            # still alive in here (tens of milliseconds for a large definition).
            COMPILED.add(compiled)
    finally:
        if pause:
            gc.enable()
    if compiled is not None:
        parsed.diagnostics.extend(holiday_diagnostics(parsed, compiled, calendar))
    parsed.diagnostics.sort(key=sort_key)
    return parsed, compiled


@functools.cache
def _builtin_holidays() -> tuple[Holiday, ...]:
    """Every holiday of the built-in school calendars (read once per process)."""
    from coachflow.files.calendars import builtin_calendar, builtin_calendars

    return tuple(h for name in builtin_calendars() for h in builtin_calendar(name).holidays)


def holiday_diagnostics(
    parsed: ParsedDefinition, compiled: CompiledDefinition, calendar: SchoolCalendar | None
) -> list[Diagnostic]:
    """``unknown-holiday`` where the definition names a holiday: an error when
    ``calendar`` has none of that name, else (no calendar given) a warning when no
    built-in calendar has one, since a trajectory can only start with a calendar that
    does."""
    uses = compiled.holiday_uses()
    if not uses:
        return []
    holidays = calendar.holidays if calendar is not None else _builtin_holidays()
    found: list[Diagnostic] = []
    for where, name in uses:
        if any(h.is_named(name) for h in holidays):
            continue
        mark = parsed.locate(where)
        if calendar is not None:
            held = ", ".join(sorted({h.name for h in calendar.holidays})) or "none"
            message = (
                f"the school calendar {calendar.name!r} has no holiday named {name!r} "
                f"(its holidays: {held}); a trajectory of this definition cannot start with it"
            )
        else:
            message = (
                f"no built-in school calendar has a holiday named {name!r}: a trajectory "
                "starts only with a calendar that has it (check yours with "
                "coachflow validate --calendar FILE)"
            )
        found.append(
            Diagnostic(
                "unknown-holiday",
                ERROR if calendar is not None else WARNING,
                message,
                parsed.path,
                mark.line or 1,
                mark.column or 1,
            )
        )
    return found


def validate_text(text: str | bytes, *, path: str = "<string>") -> list[Diagnostic]:
    """Every problem in a definition's text. Never raises for problems in the content."""
    return check_text(text, path)[0].diagnostics


def validate_file(path: StrPath) -> list[Diagnostic]:
    """Every problem in a definition file.

    Raises :class:`OSError` only when the file cannot be opened at all; a FIFO, a device
    or a file over the size bound is a diagnostic, and is not read.
    """
    return check_file(path)[0].diagnostics


def check_files(
    files: Iterable[StrPath], *, calendar: SchoolCalendar | None = None
) -> list[tuple[ParsedDefinition, CompiledDefinition | None]]:
    """Check each file, and add ``duplicate-definition`` (at the ``version`` of the later
    file) where two files hold the same id and version. Raises :class:`OSError` for a
    file that cannot be read. ``calendar``: the school calendar the definitions' holiday
    names are checked against (see :func:`holiday_diagnostics`)."""
    results: list[tuple[ParsedDefinition, CompiledDefinition | None]] = []
    origin: dict[tuple[str, int], str] = {}
    for file in files:
        name = os.fspath(file)
        parsed, compiled = check_file(name, calendar=calendar)
        definition = parsed.definition
        if definition is not None:
            if definition.key in origin:
                mark = parsed.locate(("version",))
                parsed.diagnostics.append(
                    _duplicate(definition, origin[definition.key], name, mark)
                )
                parsed.diagnostics.sort(key=sort_key)
                compiled = None
            else:
                origin[definition.key] = name
        results.append((parsed, compiled))
    _check_migrations(results)
    return results


def _check_migrations(results: list[tuple[ParsedDefinition, CompiledDefinition | None]]) -> None:
    """Check each ``migrates_from`` against the older version, when it is among the files."""
    found = {p.definition.key: p.definition for p, _ in results if p.definition is not None}
    for i, (parsed, compiled) in enumerate(results):
        new = parsed.definition
        if new is None or new.migrates_from is None:
            continue
        old = found.get((new.id, new.migrates_from.version))
        if old is None:
            continue
        from coachflow.definition.checks import migration_problems
        from coachflow.definition.checks.migrations import migration_warnings

        problems = migration_problems(old, new)
        for path, message in problems:
            mark = parsed.locate(path)
            parsed.diagnostics.append(
                Diagnostic(
                    "migration-map", ERROR, message, parsed.path, mark.line or 1, mark.column or 1
                )
            )
        # warnings do not stop loading; only a valid file's transitions are where they were
        warnings = migration_warnings(old, new) if compiled is not None else []
        for path, message in warnings:
            mark = parsed.locate(path)
            parsed.diagnostics.append(
                Diagnostic(
                    "migration-widens-access",
                    WARNING,
                    message,
                    parsed.path,
                    mark.line or 1,
                    mark.column or 1,
                )
            )
        if problems or warnings:
            parsed.diagnostics.sort(key=sort_key)
        if problems:
            results[i] = (parsed, None)


def validate_files(
    files: Iterable[StrPath], *, calendar: SchoolCalendar | None = None
) -> dict[str, list[Diagnostic]]:
    """The diagnostics of each file (see :func:`check_files`)."""
    return {parsed.path: parsed.diagnostics for parsed, _ in check_files(files, calendar=calendar)}


def _duplicate(definition: Definition, first: str, path: str, mark: Mark) -> Diagnostic:
    return Diagnostic(
        "duplicate-definition",
        ERROR,
        f"{definition.id!r} version {definition.version} is also defined in {first}",
        path,
        mark.line or 1,
        mark.column or 1,
    )


def loads_definition(text: str | bytes, *, path: str = "<string>") -> Definition:
    """The definition in ``text``; :class:`DefinitionError` lists every error."""
    return compile_text(text, path).definition


def compile_text(text: str | bytes, path: str) -> CompiledDefinition:
    parsed, compiled = check_text(text, path)
    if compiled is None:
        raise DefinitionError(parsed.diagnostics, path)
    return compiled


def load_definition(path: StrPath) -> Definition:
    """The definition in the file at ``path``; :class:`DefinitionError` lists every error."""
    parsed, compiled = check_file(path)
    if compiled is None:
        raise DefinitionError(parsed.diagnostics, parsed.path)
    return compiled.definition


def check_definition(definition: Definition) -> list[Diagnostic]:
    """Semantic checks of a definition built in Python (no file locations)."""
    from coachflow.definition.checks import analyze

    parsed = in_memory(definition)
    analyze(parsed)
    return parsed.diagnostics


def definition_files(paths: Iterable[StrPath]) -> Iterator[Path]:
    """Every ``*.yaml``/``*.yml`` file named or found below the directories named, in
    a stable order, each once. Below a directory, every entry with such a name that is
    not a directory is listed (a FIFO or device too, so that the reader refuses it with
    a diagnostic instead of passing over it); a dangling symbolic link (an editor's lock
    file such as ``.#name.yaml``) is passed over. Raises :class:`FileNotFoundError` for a
    path that does not exist."""
    seen: set[Path] = set()
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*")
                if f.suffix in DEFINITION_SUFFIXES and f.exists() and not f.is_dir()
            )
        elif p.exists():
            found = [p]
        else:
            raise FileNotFoundError(f"no such file or directory: {os.fspath(p)}")
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                yield f


def load_definition_versions(directory: StrPath) -> list[Definition]:
    """Every definition below ``directory`` (recursively), all versions.

    Raises :class:`DefinitionError` with the diagnostics of every bad file, and when two
    files hold the same id and version.
    """
    definitions: list[Definition] = []
    problems: list[Diagnostic] = []
    for parsed, compiled in check_files(definition_files([directory])):
        if compiled is None:
            problems.extend(d for d in parsed.diagnostics if d.is_error)
        else:
            definitions.append(compiled.definition)
    if problems:
        raise DefinitionError(problems, os.fspath(directory))
    return definitions


DefinitionSource = StrPath | Definition | Iterable[Definition]
"""What an engine is given: a directory of files, one definition, or several."""


def definitions_from(source: DefinitionSource | None, *, plugins: bool) -> list[Definition]:
    """The definitions of ``source``; for None, the registered definition sets (the
    built-in ones and those of installed plugins), or none without ``plugins``."""
    if source is None:
        if not plugins:
            return []
        from coachflow.files.plugins import load_registered  # plugins imports this module

        return load_registered()
    if isinstance(source, Definition):
        return [source]
    if isinstance(source, (str, os.PathLike)):
        return load_definition_versions(source)
    return list(source)


def load_definitions(directory: StrPath) -> dict[str, Definition]:
    """The newest version of every definition below ``directory``, keyed by id.

    Use :func:`load_definition_versions` to get older versions too.
    """
    newest: dict[str, Definition] = {}
    for d in load_definition_versions(directory):
        if d.id not in newest or d.version > newest[d.id].version:
            newest[d.id] = d
    return dict(sorted(newest.items()))
