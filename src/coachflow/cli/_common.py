"""What the commands of ``coachflow`` share: the exit statuses, the usage problem, the
parser class, the output writers and the engine on the database of ``--db``.

Cheap to import (the standard library and the stdlib layer of coachflow): everything
heavier - the engine, the SQL store, ``json``, ``pathlib`` - is imported by the function
that needs it, so that ``coachflow --help`` stays quick.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from typing import TYPE_CHECKING, NoReturn, TypeAlias

from coachflow._bounds import TerminalWriter, terminal_json, terminal_text
from coachflow.errors import CoachflowError, DefinitionError, StoreError, TransitionRejected

if TYPE_CHECKING:
    from coachflow import Clock, Engine, Trajectory
    from coachflow.store import SqlStore

# --- the exit statuses ------------------------------------------------------------------------

EXIT_OK = 0
"""Done, and nothing found wrong."""
EXIT_FAILED = 1
"""A definition with errors, a refused transition, a trajectory that cannot migrate, a
database check that found problems, a file that cannot be written."""
EXIT_USAGE = 2
"""Bad usage: an unknown option, a bad value, a path that is missing or cannot be read."""
EXIT_STORE = 3
"""The database cannot be used: unreachable, damaged, full, read-only, newer."""
EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl-C): 128 + SIGINT, as a shell reports it."""

Handler: TypeAlias = Callable[[argparse.Namespace], int]
"""A command: the parsed arguments in, the exit status out."""


class UsageProblem(Exception):
    """A command-line value that cannot be used (exit status 2)."""


# --- the parser -------------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """A parser whose usage errors exit with :data:`EXIT_USAGE`, the message escaped."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {terminal_text(message)}\n")


if TYPE_CHECKING:
    SubParsers: TypeAlias = argparse._SubParsersAction[Parser]
    """What ``add_subparsers`` returns; every command module adds its commands to it."""


FORMAT_HELP = "text for people, json for programs (default: text)"

DEFAULT_ZONE = "Europe/Amsterdam"
"""The zone of the built-in school calendars (the Netherlands): times are shown in it."""

LANGUAGES = ("nl", "en")
"""The languages of ``coachflow --lang``: those the built-in definitions are written in."""


def default_language() -> str:
    """``--lang``'s default: the language of ``$LANG`` (``en_GB.UTF-8`` is ``en``) when
    it is one of :data:`LANGUAGES`, else Dutch."""
    found = os.environ.get("LANG", "")[:2].lower()
    return found if found in LANGUAGES else "nl"


def day(text: str) -> date:
    """The ``type`` of a date option (``--start-date``, ``--on``, ``--date``, ``--as-of``):
    a day written ``YYYY-MM-DD``, read by the engine's own rule
    (:func:`coachflow.definition.plain.parse_date`). Anything else is a usage error (exit
    status 2) before the command runs, so a malformed date never reaches the engine."""
    from coachflow.definition.plain import parse_date

    try:
        return parse_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def database_options(*, acting: bool = True) -> Parser:
    """The options of the commands that work on a database (a parent parser);
    ``acting=False``: only ``--db`` and ``--format``, for the commands that run no engine
    (``db upgrade``, ``db current``, ``db check``)."""
    common = Parser(add_help=False)
    common.add_argument(
        "--db",
        default=None,
        metavar="PATH|URL",
        help="the database (default: $COACHFLOW_DB or ./coachflow.db)",
    )
    if acting:
        common.add_argument(
            "--definitions", metavar="DIR", help="definition files to use instead of the installed"
        )
        common.add_argument(
            "--now",
            metavar="ISO",
            help="act at this time, a local time of --tz unless it names its offset "
            "(default: $COACHFLOW_NOW or the clock)",
        )
        common.add_argument(
            "--tz",
            metavar="ZONE",
            help="the time zone times are shown and read in (default: $COACHFLOW_TZ, else "
            f"{DEFAULT_ZONE}, the zone of the built-in calendars); --tz UTC for UTC",
        )
        common.add_argument(
            "--keys-db",
            default=None,
            metavar="PATH|URL",
            help="the database of the encryption keys (default: $COACHFLOW_KEYS_DB, else --db)",
        )
    common.add_argument("--format", choices=("text", "json"), default="text", help=FORMAT_HELP)
    return common


def add_database_command(
    sub: SubParsers, name: str, handler: Handler, help_text: str, options: Parser
) -> Parser:
    """Add the command ``name`` with the ``options`` of :func:`database_options`; what it
    raises ends as one line on stderr and its exit status (see :func:`guarded`)."""
    p = sub.add_parser(name, parents=[options], help=help_text)
    p.set_defaults(handler=guarded(handler))
    return p


def guarded(handler: Handler) -> Handler:
    """``handler``, with the refusals of coachflow, a bad value and a file that cannot be
    written each reported as one line on stderr and an exit status."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except UsageProblem as exc:
            print(f"coachflow: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except TransitionRejected as exc:
            print_refusal(exc)
            return EXIT_FAILED
        except DefinitionError as exc:
            print(f"coachflow: error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        except StoreError as exc:  # one line: the database (password masked) and the reason
            print(f"coachflow: error: {exc}", file=sys.stderr)
            return EXIT_STORE
        except CoachflowError as exc:
            print(f"coachflow: error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        except ValueError as exc:  # a bad date or number given on the command line
            print(f"coachflow: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except BrokenPipeError:  # the reader went away (| head): main() ends quietly
            raise
        except OSError as exc:  # a file to write (--ics) that cannot be written
            where = f" {exc.filename}" if exc.filename else ""
            print(f"coachflow: error: cannot write{where}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_FAILED

    return run


def print_refusal(exc: TransitionRejected) -> None:
    """A refusal on stderr, its headline said once: ``coachflow: rejected (CODE): MESSAGE``
    for one reason; ``coachflow: rejected, N reasons:`` and a line ``  - CODE: MESSAGE``
    per reason for several."""
    reasons = exc.reasons
    headline = str(exc)
    if len(reasons) == 1 and reasons[0].message == headline:
        print(f"coachflow: rejected ({reasons[0].code}): {exc}", file=sys.stderr)
        return
    joined = "; ".join(r.message for r in reasons)
    if len(reasons) > 1 and (headline == joined or any(r.message == headline for r in reasons)):
        print(f"coachflow: rejected, {len(reasons)} reasons:", file=sys.stderr)
    else:
        print(f"coachflow: rejected: {exc}", file=sys.stderr)
    for reason in reasons:
        print(f"  - {reason.code}: {reason.message}", file=sys.stderr)


# --- output -----------------------------------------------------------------------------------


def print_error(message: str, status: int) -> int:
    """Print ``coachflow: error: message`` (escaped) on stderr; returns ``status``."""
    print(f"coachflow: error: {terminal_text(message)}", file=sys.stderr)
    return status


def write_json(data: object, *, indent: int | None = None, ensure_ascii: bool = True) -> None:
    """``data`` as one JSON document on stdout, a line feed after it."""
    import json

    json.dump(data, sys.stdout, indent=indent, ensure_ascii=ensure_ascii)
    sys.stdout.write("\n")


def write_lines(text: str) -> None:
    """``text`` on stdout, every line escaped on its own (as is, no line feed added)."""
    sys.stdout.write("\n".join(map(terminal_text, text.split("\n"))))


def out(args: argparse.Namespace, data: object, text: Callable[[], None]) -> int:
    """Print ``data`` as JSON, or run ``text`` (which prints lines). Either way a character
    that could steer the terminal (ESC, a bidirectional override...), from a stored id,
    fact or input value, is written as an escape (``\\x1b``, ``\\u202e``)."""
    if args.format == "json":
        import json

        dumped = json.dumps(jsonable(data), indent=2, ensure_ascii=False)
        sys.stdout.write(terminal_json(dumped) + "\n")
    else:  # ``text`` prints one line per print(): each is escaped whole
        with contextlib.redirect_stdout(TerminalWriter(sys.stdout)):
            text()
    return EXIT_OK


def jsonable(value: object) -> object:
    """``value`` as JSON can hold it: dates as ISO text, a redacted value as
    ``{"redacted": true}``, an erased one as ``{"erased": true}``, mappings as objects,
    tuples as arrays (anything else as it is): the engine's one rule for it."""
    from coachflow import jsonable as plain

    return plain(value)


# --- the database and the engine --------------------------------------------------------------


def database_url(value: str | None) -> str:
    """The SQLAlchemy URL of ``--db`` (default ``$COACHFLOW_DB``, else ``./coachflow.db``):
    a URL as given, a path as an absolute SQLite URL."""
    from pathlib import Path

    value = value or os.environ.get("COACHFLOW_DB") or "coachflow.db"
    if "://" in value:
        return value
    return "sqlite:///" + str(Path(value).resolve())


def open_engine(args: argparse.Namespace) -> tuple[Engine, SqlStore]:
    """The engine of ``--definitions`` and ``--now`` on the database of ``--db``, and that
    database's store (a damaged file is refused)."""
    from pathlib import Path

    from coachflow import Engine, FixedClock, SystemClock
    from coachflow.store import SqlStore

    zone(args)  # an unknown --tz is refused before anything runs
    at = fixed_now(args)
    clock: Clock = SystemClock() if at is None else FixedClock(at)
    definitions = args.definitions
    if definitions is not None and not Path(definitions).is_dir():
        raise UsageProblem(f"--definitions: no such directory: {definitions}")
    keys = getattr(args, "keys_db", None) or os.environ.get("COACHFLOW_KEYS_DB")
    keys_url = database_url(keys) if keys else None
    store = SqlStore(database_url(args.db), check=True, keys_url=keys_url)  # damage refused
    language = getattr(args, "lang", "nl")
    return Engine(definitions, store=store, clock=clock, language=language), store


def fixed_now(args: argparse.Namespace) -> datetime | None:
    """The time of ``--now`` (else ``$COACHFLOW_NOW``); None when neither is given (the
    engine reads the system clock). A time without an offset is a local time of
    :func:`zone`; a date alone is that day at 00:00 UTC, so it is that day for the engine,
    which dates days in UTC."""
    now = getattr(args, "now", None) or os.environ.get("COACHFLOW_NOW")
    if not now:
        return None
    try:
        day = date.fromisoformat(now)  # a date alone (2026-09-07, 20260907): the day itself
    except ValueError:
        pass
    else:
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        at = datetime.fromisoformat(now)
    except ValueError:
        raise UsageProblem(f"--now: {now!r} is not an ISO date or date-time") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone(args))
    # the engine reads "today" off its clock: in UTC, the day every record is dated by
    return at.astimezone(UTC)


def zone(args: argparse.Namespace) -> tzinfo:
    """The zone of ``--tz`` (else ``$COACHFLOW_TZ``, else :data:`DEFAULT_ZONE`): the one
    times are shown in and read in; an unknown zone is a usage error."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = getattr(args, "tz", None) or os.environ.get("COACHFLOW_TZ") or DEFAULT_ZONE
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageProblem(f"--tz: no time zone {name!r} (e.g. Europe/Amsterdam, UTC)") from None


def shown_time(at: datetime, args: argparse.Namespace) -> str:
    """``at`` to the minute in the zone of :func:`zone`, with its offset:
    ``2026-09-07T09:00+02:00``."""
    return at.astimezone(zone(args)).isoformat(timespec="minutes")


def stored(engine: Engine, trajectory_id: str) -> Trajectory | None:
    """The stored trajectory, for a command's own checks before it acts; None when there is
    none (the command then reports it the usual way)."""
    try:
        return engine.get(trajectory_id)
    except CoachflowError:
        return None


def not_back_in_time(args: argparse.Namespace, *trajectories: Trajectory | None) -> None:
    """Refuse (a usage error) a ``--now`` earlier than the last record of any of the
    trajectories (:func:`stored`): a history never goes back in time. Without ``--now`` the
    clock decides."""
    at = fixed_now(args)
    if at is None:
        return
    for t in trajectories:
        if t is not None and at < t.history[-1].at:
            raise UsageProblem(
                f"--now {shown_time(at, args)} is before the last record of {t.id!r} "
                f"({shown_time(t.history[-1].at, args)}): a history never goes back in time"
            )


def build_engine(args: argparse.Namespace) -> Engine:
    """The engine of :func:`open_engine`."""
    return open_engine(args)[0]
