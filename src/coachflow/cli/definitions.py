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

    schema = sub.add_parser("schema", help="print the JSON Schema of the definition format")
    schema.set_defaults(handler=_schema)

    graph = sub.add_parser("graph", help="print a state diagram of a definition")
    graph.add_argument("file", metavar="FILE", help="the definition file")
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
    workload.add_argument("file", metavar="FILE", help="the definition file")
    workload.add_argument(
        "--count", type=_positive, default=1, metavar="N", help="how many trajectories (default: 1)"
    )
    workload.add_argument("--format", choices=("text", "json"), default="text", help=FORMAT_HELP)
    workload.set_defaults(handler=_on_definition(_workload))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _on_definition(command: Callable[[argparse.Namespace, Definition], int]) -> Handler:
    """A command on the definition in the file ``args.file``: if there is none, why not is
    printed and the exit status is 2 (no such file, unreadable) or 1 (not valid)."""

    def run(args: argparse.Namespace) -> int:
        try:
            definition = _load(args.file)
        except UsageProblem as exc:
            return print_error(str(exc), EXIT_USAGE)
        if definition is None:
            path = args.file
            message = f"{path} is not a valid definition (run coachflow validate {path})"
            return print_error(message, EXIT_FAILED)
        return command(args, definition)

    return run


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

    diagram = to_mermaid(definition) if args.format == "mermaid" else to_dot(definition)
    # titles hold no control characters, but may hold a bidirectional override
    write_lines(diagram)
    return EXIT_OK


def _workload(args: argparse.Namespace, definition: Definition) -> int:
    hours = definition.workload(args.count)
    if args.format == "json":
        write_json({"definition": definition.id, "count": args.count, "hours": hours})
        return EXIT_OK
    print(f"{definition.id} version {definition.version}, {args.count} trajectories:")
    width = max((len(r) for r in hours), default=4)
    for role, total in hours.items():
        print(f"  {role:{width}}  {total:8.2f} h")
    if not hours:
        print("  (no activity declares hours)")
    return EXIT_OK


def _plural(n: int, word: str) -> str:
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
    from coachflow import definition_json_schema

    write_json(definition_json_schema(), indent=2, ensure_ascii=False)
    return EXIT_OK
