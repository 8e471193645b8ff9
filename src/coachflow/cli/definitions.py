"""The commands of ``coachflow`` on definition files: ``validate``, ``schema``, ``graph``
and ``workload``.

A file that is missing or cannot be read ends in exit status 2, a definition with errors
in 1 (its diagnostics on stderr first).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from coachflow._bounds import terminal_text
from coachflow.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    FORMAT_HELP,
    Handler,
    UsageProblem,
    print_error,
    write_json,
    write_lines,
)
from coachflow.errors import DefinitionError

if TYPE_CHECKING:
    from coachflow import Definition
    from coachflow.cli._common import SubParsers


def register(sub: SubParsers) -> None:
    """Add ``validate``, ``schema``, ``graph`` and ``workload`` to ``sub``."""
    validate = sub.add_parser(
        "validate",
        help="check definition files and report every problem",
        description="Check definition files (directories: every *.yaml/*.yml below them).",
    )
    validate.add_argument(
        "paths", nargs="*", metavar="PATH", help="definition files or directories to check"
    )
    validate.add_argument(
        "--installed",
        action="store_true",
        help="also validate every definition set registered by installed packages",
    )
    validate.add_argument("--format", choices=("text", "json"), default="text", help=FORMAT_HELP)
    validate.add_argument("--strict", action="store_true", help="warnings count as failures")
    validate.add_argument(
        "--calendar",
        metavar="NAME|FILE",
        help="check the holidays the definitions name against this school calendar "
        "(a built-in name or a file)",
    )
    validate.set_defaults(handler=_validate)

    schema = sub.add_parser(
        "schema",
        help="print the JSON Schema of the definition format, or of a definition's inputs",
    )
    schema.add_argument(
        "definition",
        nargs="?",
        metavar="DEFINITION",
        help="a definition file or id: print the JSON Schema of its facts and of the input "
        "of its events and activities instead",
    )
    _definition_options(schema, required=False)
    schema.set_defaults(handler=_schema)

    graph = sub.add_parser("graph", help="print a state diagram of a definition")
    _definition_options(graph)
    graph.add_argument(
        "--format",
        choices=("mermaid", "dot"),
        default="mermaid",
        help="Mermaid or Graphviz DOT (default: mermaid)",
    )
    graph.set_defaults(handler=_on_definition(_graph))

    workload = sub.add_parser(
        "workload", help="hours per role for a number of trajectories of a definition"
    )
    _definition_options(workload)
    workload.add_argument(
        "--count", type=_positive, default=1, metavar="N", help="how many trajectories (default: 1)"
    )
    workload.add_argument("--format", choices=("text", "json"), default="text", help=FORMAT_HELP)
    workload.set_defaults(handler=_on_definition(_workload))

    known = sub.add_parser("definitions", help="list the known definitions and their versions")
    known.add_argument(
        "--definitions",
        metavar="DIR",
        help="the definitions in DIR instead of the built-in and installed ones",
    )
    known.add_argument("--format", choices=("text", "json"), default="text", help=FORMAT_HELP)
    known.set_defaults(handler=_definitions)


_DEFINITION = "a definition file, or the id of a known one (coachflow definitions lists them)"


def _definition_options(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """The definition argument (a file or an id) and the options that go with an id."""
    if required:
        parser.add_argument("definition", metavar="DEFINITION", help=_DEFINITION)
    parser.add_argument(
        "--definitions",
        metavar="DIR",
        help="look the id up in DIR instead of the built-in and installed definitions",
    )
    parser.add_argument(
        "--version",
        type=_positive,
        metavar="N",
        help="the version of the id (default: the newest); a file holds one version",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _on_definition(command: Callable[[argparse.Namespace, Definition], int]) -> Handler:
    """A command on the definition ``args.definition`` (a file or a known id): if there is
    none, why not is printed and the exit status is 2 (no such file or id, unreadable) or 1
    (not valid)."""

    def run(args: argparse.Namespace) -> int:
        try:
            definition = _resolve(args)
        except UsageProblem as exc:
            return print_error(str(exc), EXIT_USAGE)
        except DefinitionError as exc:  # an installed set that does not load
            return print_error(str(exc), EXIT_FAILED)
        if definition is None:
            path = args.definition
            message = f"{path} is not a valid definition (run coachflow validate {path})"
            return print_error(message, EXIT_FAILED)
        return command(args, definition)

    return run


def _resolve(args: argparse.Namespace) -> Definition | None:
    """The definition of ``args.definition``: the file of that name when there is one,
    else the known definition of that id (``--version``, else the newest)."""
    from pathlib import Path

    target: str = args.definition
    path = Path(target)
    if path.is_file() or path.suffix in (".yaml", ".yml") or "/" in target:
        if args.version is not None:
            raise UsageProblem(f"--version is for a definition id: the file {target} holds one")
        return _load(target)
    versions = [d for d in _known(args.definitions) if d.id == target]
    if not versions:
        raise UsageProblem(
            f"no file and no known definition {target!r} (coachflow definitions lists them)"
        )
    if args.version is None:
        return max(versions, key=lambda d: d.version)
    for d in versions:
        if d.version == args.version:
            return d
    have = ", ".join(str(d.version) for d in sorted(versions, key=lambda d: d.version))
    raise UsageProblem(f"{target!r} has no version {args.version} (known: {have})")


def _known(directory: str | None) -> list[Definition]:
    """Every version of every definition in ``directory``, or of the built-in and installed
    sets; a directory that is missing is a usage error."""
    from pathlib import Path

    from coachflow.files.loading import definitions_from

    if directory is not None and not Path(directory).is_dir():
        raise UsageProblem(f"--definitions: no such directory: {directory}")
    return definitions_from(directory, plugins=True)


def _definitions(args: argparse.Namespace) -> int:
    from coachflow.definition.plain import text_of

    try:
        known = _known(args.definitions)
    except UsageProblem as exc:
        return print_error(str(exc), EXIT_USAGE)
    except DefinitionError as exc:
        return print_error(str(exc), EXIT_FAILED)
    versions: dict[str, list[Definition]] = {}
    for d in sorted(known, key=lambda d: (d.id, d.version)):
        versions.setdefault(d.id, []).append(d)
    rows = [
        (i, [d.version for d in ds], text_of(ds[-1].title, args.lang) or "")
        for i, ds in versions.items()
    ]
    if args.format == "json":
        data = [{"id": i, "versions": vs, "title": title} for i, vs, title in rows]
        write_json(data, indent=2, ensure_ascii=False)
        return EXIT_OK
    width = max((len(i) for i, _, _ in rows), default=2)
    for i, vs, title in rows:
        shown = ", ".join(f"v{v}" for v in vs)
        print(terminal_text(f"{i:{width}}  {shown:12}  {title}".rstrip()))
    print(_plural(len(rows), "definition"))
    return EXIT_OK


def _load(path: str) -> Definition | None:
    """The definition in ``path``; None, its diagnostics printed, if it is not valid.
    :class:`UsageProblem` if the file is missing or cannot be read."""
    from coachflow import load_definition

    try:
        return load_definition(path)
    except FileNotFoundError:
        raise UsageProblem(f"no such file: {path}") from None
    except OSError as exc:
        raise UsageProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    except DefinitionError as exc:
        for d in exc.diagnostics:
            print(terminal_text(d.format()), file=sys.stderr)
    return None


def _graph(args: argparse.Namespace, definition: Definition) -> int:
    from coachflow.files.diagram import to_dot, to_mermaid

    draw = to_mermaid if args.format == "mermaid" else to_dot
    diagram = draw(definition, language=args.lang)
    # titles hold no control characters, but may hold a bidirectional override
    write_lines(diagram)
    return EXIT_OK


def _workload(args: argparse.Namespace, definition: Definition) -> int:
    hours = definition.workload(args.count)
    # an activity without hours adds nothing: say so, or the totals look complete
    uncounted = sorted(name for name, a in definition.activities.items() if not a.hours)
    if args.format == "json":
        data = {"definition": definition.id, "version": definition.version, "count": args.count}
        write_json({**data, "hours": hours, "not_counted": uncounted})
        return EXIT_OK
    print(f"{definition.id} version {definition.version}, {_plural(args.count, 'trajectory')}:")
    width = max((len(r) for r in hours), default=4)
    for role, total in hours.items():
        print(f"  {role:{width}}  {total:8.2f} h")
    if not hours:
        print("  (no activity declares hours)")
    if uncounted:
        print(f"not counted, no hours declared: {', '.join(uncounted)}")
    return EXIT_OK


def _plural(n: int, word: str) -> str:
    if n != 1 and word.endswith("y"):
        return f"{n} {word[:-1]}ies"
    return f"{n} {word}{'' if n == 1 else 's'}"


def _validate(args: argparse.Namespace) -> int:
    # the facade has one file at a time; these check a set (duplicate ids, migrations)
    from coachflow.files.loading import definition_files, validate_files

    paths = list(args.paths)
    if args.installed:
        from coachflow.files.plugins import registered_sets  # no facade name for plugins

        try:
            paths.extend(str(s.directory) for s in registered_sets())
        except DefinitionError as exc:
            return print_error(str(exc), EXIT_FAILED)
    if not paths:
        return print_error(
            "nothing to validate: name files or directories, or use --installed", EXIT_USAGE
        )
    calendar = None
    if args.calendar:
        from coachflow.cli.trajectories import _calendar

        try:
            calendar = _calendar(args.calendar)
        except UsageProblem as exc:
            return print_error(str(exc), EXIT_USAGE)
        except DefinitionError as exc:
            return print_error(f"--calendar: {exc}", EXIT_USAGE)
    try:
        files = list(definition_files(paths))
        results = validate_files(files, calendar=calendar)
    except FileNotFoundError as exc:
        return print_error(str(exc).removeprefix("[Errno 2] "), EXIT_USAGE)
    except OSError as exc:
        return print_error(f"cannot read {exc.filename}: {exc.strerror or exc}", EXIT_USAGE)
    report: list[dict[str, object]] = []
    errors = warnings = 0
    failed = False
    lines: list[str] = []
    for name, diagnostics in results.items():
        e = sum(1 for d in diagnostics if d.is_error)
        w = len(diagnostics) - e
        errors += e
        warnings += w
        file_failed = e > 0 or (args.strict and w > 0)
        failed = failed or file_failed
        lines.extend(d.format() for d in diagnostics)
        report.append(
            {
                "path": name,
                "valid": not file_failed,
                "diagnostics": [d.to_json() for d in diagnostics],
            }
        )
    if args.format == "json":
        write_json({"files": report, "errors": errors, "warnings": warnings}, indent=2)
    else:
        for line in lines:  # a message may quote the file: ESC and the like are escaped
            print(terminal_text(line))
        print(
            f"{_plural(len(files), 'file')} checked, {_plural(errors, 'error')}, "
            f"{_plural(warnings, 'warning')}"
        )
    return EXIT_FAILED if failed else EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    if args.definition is None:
        if args.version is not None or args.definitions is not None:
            return print_error("--version and --definitions go with a DEFINITION", EXIT_USAGE)
        from coachflow import definition_json_schema

        write_json(definition_json_schema(), indent=2, ensure_ascii=False)
        return EXIT_OK
    return _on_definition(_input_schema)(args)


def _input_schema(args: argparse.Namespace, definition: Definition) -> int:
    from coachflow import input_json_schema

    write_json(input_json_schema(definition, language=args.lang), indent=2, ensure_ascii=False)
    return EXIT_OK
