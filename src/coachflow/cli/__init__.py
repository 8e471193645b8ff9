"""The ``coachflow`` command (``coachflow.cli:main``; ``python -m coachflow`` runs it too).

User mistakes end in one clear line on stderr and an exit status (``_common.EXIT_*``: 1 a
definition with errors or a refused change, 2 bad usage or an unreadable or missing path,
3 a database that cannot be used) - never a traceback.

The commands live in one module per thing they work on: :mod:`.definitions` (definition
files), :mod:`.trajectories` and :mod:`.database` (a database), :mod:`.outbox` and
:mod:`.worker` (the outbox and the due work), :mod:`.calendars` (school calendars),
:mod:`.privacy` (a person's export, erasure, purge). Each
adds its commands to the parser; nothing is imported before :func:`main`
runs, so ``import coachflow.cli`` costs no more than ``import coachflow``.
"""

from __future__ import annotations

import sys
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from coachflow.cli._common import Handler


def _build_parser() -> argparse.ArgumentParser:
    from coachflow.cli import (
        calendars,
        database,
        definitions,
        outbox,
        privacy,
        trajectories,
        worker,
    )
    from coachflow.cli._common import LANGUAGES, Parser, default_language

    parser = Parser(
        prog="coachflow",
        description="Run coaching trajectories for teachers as validated state machines.",
    )
    from coachflow import __version__

    parser.add_argument(
        "--version", action="version", version=f"coachflow {__version__}", help="print the version"
    )
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=default_language(),
        help="the language of titles and messages: nl or en "
        "(default: from $LANG, else nl); a text without a translation is shown in Dutch",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    definitions.register(sub)  # the order of the commands in --help
    trajectories.register(sub)
    database.register(sub)
    outbox.register(sub)
    worker.register(sub)
    privacy.register(sub)
    calendars.register(sub)
    return parser


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    """A warning of coachflow (a trajectory running past its school calendar, a stored
    version failing a later check) as one line on stderr: ``coachflow: warning: ...``."""
    print(f"coachflow: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    import contextlib

    from coachflow._bounds import TerminalWriter
    from coachflow.cli._common import EXIT_INTERRUPTED, EXIT_OK

    args = _build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        # whatever a command reports on standard error (a refusal naming a stored id, a
        # path) reaches the terminal with its control characters escaped
        with (
            contextlib.redirect_stderr(TerminalWriter(sys.stderr, lines=True)),
            warnings.catch_warnings(),
        ):
            warnings.showwarning = _show_warning  # restored when the block ends
            return handler(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
