"""The ``coachflow`` command.

User mistakes end in one clear line on stderr and exit status 1 (a definition with
errors) or 2 (bad usage, unreadable or missing paths) - never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from coachflow._bounds import TerminalWriter, terminal_text

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {terminal_text(message)}\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="coachflow",
        description="Run coaching trajectories for teachers as validated state machines.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    validate = sub.add_parser(
        "validate",
        help="check definition files and report every problem",
        description="Check definition files (directories: every *.yaml/*.yml below them).",
    )
    validate.add_argument("paths", nargs="*", metavar="PATH")
    validate.add_argument(
        "--installed",
        action="store_true",
        help="also validate every definition set registered by installed packages",
    )
    validate.add_argument("--format", choices=("text", "json"), default="text")
    validate.add_argument("--strict", action="store_true", help="warnings count as failures")
    validate.set_defaults(handler=_cmd_validate)

    schema = sub.add_parser("schema", help="print the JSON Schema of the definition format")
    schema.set_defaults(handler=_cmd_schema)

    graph = sub.add_parser("graph", help="print a state diagram of a definition")
    graph.add_argument("file", metavar="FILE")
    graph.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    graph.set_defaults(handler=_cmd_graph)

    workload = sub.add_parser(
        "workload", help="hours per role for a number of trajectories of a definition"
    )
    workload.add_argument("file", metavar="FILE")
    workload.add_argument("--count", type=_positive, default=1, metavar="N")
    workload.add_argument("--format", choices=("text", "json"), default="text")
    workload.set_defaults(handler=_cmd_workload)

    from coachflow.cli.commands import add_commands

    add_commands(sub, _Parser)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


class _UsageExit(Exception):
    """The file could not be read: exit status 2."""


def _load_one(path: str) -> Any:
    """The definition in ``path``; prints why not and returns None."""
    from coachflow.errors import DefinitionError
    from coachflow.files.loading import load_definition

    try:
        return load_definition(path)
    except FileNotFoundError:
        _fail(f"no such file: {path}", EXIT_USAGE)
        raise _UsageExit from None
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE)
        raise _UsageExit from None
    except DefinitionError as exc:
        for d in exc.diagnostics:
            print(terminal_text(d.format()), file=sys.stderr)
        _fail(f"{path} is not a valid definition (run coachflow validate {path})", EXIT_FAILED)
    return None


def _cmd_graph(args: argparse.Namespace) -> int:
    from coachflow.files.diagram import to_dot, to_mermaid

    try:
        definition = _load_one(args.file)
    except _UsageExit:
        return EXIT_USAGE
    if definition is None:
        return EXIT_FAILED
    diagram = to_mermaid(definition) if args.format == "mermaid" else to_dot(definition)
    # titles hold no control characters, but may hold a bidirectional override
    sys.stdout.write("\n".join(map(terminal_text, diagram.split("\n"))))
    return EXIT_OK


def _cmd_workload(args: argparse.Namespace) -> int:
    try:
        definition = _load_one(args.file)
    except _UsageExit:
        return EXIT_USAGE
    if definition is None:
        return EXIT_FAILED
    hours = definition.workload(args.count)
    if args.format == "json":
        json.dump({"definition": definition.id, "count": args.count, "hours": hours}, sys.stdout)
        sys.stdout.write("\n")
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


def _cmd_validate(args: argparse.Namespace) -> int:
    from coachflow.files.loading import definition_files, validate_files

    paths = list(args.paths)
    if args.installed:
        from coachflow.errors import DefinitionError
        from coachflow.files.plugins import registered_sets

        try:
            paths.extend(str(s.directory) for s in registered_sets())
        except DefinitionError as exc:
            return _fail(str(exc), EXIT_FAILED)
    if not paths:
        return _fail(
            "nothing to validate: name files or directories, or use --installed", EXIT_USAGE
        )
    try:
        files = list(definition_files(paths))
        results = validate_files(files)
    except FileNotFoundError as exc:
        return _fail(str(exc).removeprefix("[Errno 2] "), EXIT_USAGE)
    except OSError as exc:
        return _fail(f"cannot read {exc.filename}: {exc.strerror or exc}", EXIT_USAGE)
    report: list[dict[str, Any]] = []
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
        json.dump({"files": report, "errors": errors, "warnings": warnings}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for line in lines:  # a message may quote the file: ESC and the like are escaped
            print(terminal_text(line))
        print(
            f"{_plural(len(files), 'file')} checked, {_plural(errors, 'error')}, "
            f"{_plural(warnings, 'warning')}"
        )
    return EXIT_FAILED if failed else EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from coachflow.definition.model import definition_json_schema

    json.dump(definition_json_schema(), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return EXIT_OK


def _fail(message: str, status: int) -> int:
    print(f"coachflow: error: {terminal_text(message)}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        # whatever a command reports on standard error (a refusal naming a stored id, a
        # path) reaches the terminal with its control characters escaped
        with contextlib.redirect_stderr(TerminalWriter(sys.stderr, lines=True)):
            status: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
