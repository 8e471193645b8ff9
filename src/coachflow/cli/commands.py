"""The commands of ``coachflow`` that run trajectories in a database.

They share ``--db`` (default ``coachflow.db`` in the current directory, or the
``COACHFLOW_DB`` environment variable; a path means SQLite, a URL any SQLAlchemy
database), ``--definitions DIR`` (default: the built-in and installed definitions),
``--now`` (a fixed time, for back-filling and scripts; or ``COACHFLOW_NOW``) and
``--format text|json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from coachflow._bounds import TerminalWriter, terminal_json
from coachflow.errors import CoachflowError, DefinitionError, StoreError, TransitionRejected

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_STORE = 3  # the database cannot be used: unreachable, damaged, full, read-only, newer

Handler = Callable[[argparse.Namespace], int]


class UsageProblem(Exception):
    """A command-line value that cannot be used (exit status 2)."""


def add_commands(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        default=None,
        metavar="PATH|URL",
        help="the database (default: $COACHFLOW_DB or ./coachflow.db)",
    )
    common.add_argument(
        "--definitions", metavar="DIR", help="definition files to use instead of the installed"
    )
    common.add_argument(
        "--now", metavar="ISO", help="act at this time (default: $COACHFLOW_NOW or the clock)"
    )
    common.add_argument("--format", choices=("text", "json"), default="text")

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, parents=[common], help=help_text)
        p.set_defaults(handler=_guarded(handler))
        return p

    p = command("start", _start, "start a trajectory")
    p.add_argument("definition", metavar="DEFINITION")
    p.add_argument("--as", dest="actor", required=True, metavar="PERSON")
    p.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE=PERSON[,PERSON]",
        help="bind people to a role (repeat for every role)",
    )
    p.add_argument("--fact", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--id", dest="trajectory_id", metavar="ID")
    p.add_argument("--version", type=int, metavar="N")
    p.add_argument("--start-date", metavar="YYYY-MM-DD")
    p.add_argument(
        "--calendar", metavar="NAME|FILE", help="a school calendar (a built-in name or a file)"
    )

    p = command("fire", _fire, "fire an event as a person")
    p.add_argument("trajectory_id", metavar="ID")
    p.add_argument("event", metavar="EVENT")
    p.add_argument("--as", dest="actor", required=True, metavar="PERSON")
    p.add_argument("--input", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--expect-version", type=int, metavar="N")

    for name, grant in (("grant", True), ("withdraw", False)):
        p = command(name, _consent(grant), f"{name} a consent as a person")
        p.add_argument("trajectory_id", metavar="ID")
        p.add_argument("consent", metavar="CONSENT")
        p.add_argument("--as", dest="actor", required=True, metavar="PERSON")

    p = command("record", _record, "record an activity as a person")
    p.add_argument("trajectory_id", metavar="ID")
    p.add_argument("activity", metavar="ACTIVITY")
    p.add_argument("--as", dest="actor", required=True, metavar="PERSON")
    p.add_argument("--on", metavar="YYYY-MM-DD", help="the day it took place (default: today)")
    p.add_argument("--input", action="append", default=[], metavar="NAME=VALUE")

    for name, assign in (("assign", True), ("unassign", False)):
        p = command(name, _assignment(assign), f"{name} a person to a role")
        p.add_argument("trajectory_id", metavar="ID")
        p.add_argument("role", metavar="ROLE")
        p.add_argument("person", metavar="PERSON")
        p.add_argument("--as", dest="actor", required=True, metavar="PERSON")
        if assign:
            p.add_argument("--replacing", metavar="PERSON")

    p = command("show", _show, "state, facts, allowed events per participant, agenda")
    p.add_argument("trajectory_id", metavar="ID")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="the agenda's date (default: today)")

    p = command("history", _history, "the history, as a person may see it")
    p.add_argument("trajectory_id", metavar="ID")
    p.add_argument("--as", dest="viewer", metavar="PERSON", help="redact what they may not read")

    p = command("list", _list, "stored trajectories")
    p.add_argument("--definition", metavar="ID")
    p.add_argument("--state", metavar="STATE")
    p.add_argument("--person", metavar="PERSON")

    p = command("agenda", _agenda, "what a person must do, most urgent first")
    p.add_argument("--person", required=True, metavar="PERSON")
    p.add_argument("--date", metavar="YYYY-MM-DD")
    p.add_argument("--ics", metavar="FILE", help="also write an iCalendar file")

    p = command("migrate", _migrate, "move stored trajectories to a newer definition version")
    p.add_argument("definition", metavar="DEFINITION")
    p.add_argument("--to", type=int, metavar="N", help="the version (default: the newest)")
    p.add_argument("--dry-run", action="store_true", help="only report what would move")
    p.add_argument("--as", dest="actor", default="coachflow-migrate", metavar="PERSON")

    db = sub.add_parser("db", help="database administration")
    db_sub = db.add_subparsers(dest="db_command", metavar="COMMAND", parser_class=parser_class)
    db_sub.required = True
    p = db_sub.add_parser("upgrade", parents=[common], help="create or upgrade the schema")
    p.set_defaults(handler=_guarded(_db_upgrade))
    p = db_sub.add_parser(
        "current", parents=[common], help="the schema revision, and whether it is the newest"
    )
    p.set_defaults(handler=_guarded(_db_current))
    p = db_sub.add_parser(
        "check", parents=[common], help="check the schema, the file and every history"
    )
    p.set_defaults(handler=_guarded(_db_check))


# --- plumbing ---------------------------------------------------------------------------------


def _guarded(handler: Handler) -> Handler:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except UsageProblem as exc:
            print(f"coachflow: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except TransitionRejected as exc:
            print(f"coachflow: rejected ({type(exc).__name__}): {exc}", file=sys.stderr)
            for reason in exc.reasons:
                print(f"  - {reason.code}: {reason.message}", file=sys.stderr)
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
        except OSError as exc:  # a file to write (--ics) that cannot be written
            where = f" {exc.filename}" if exc.filename else ""
            print(f"coachflow: error: cannot write{where}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_FAILED

    return run


def database_url(value: str | None) -> str:
    value = value or os.environ.get("COACHFLOW_DB") or "coachflow.db"
    if "://" in value:
        return value
    return "sqlite:///" + str(Path(value).resolve())


def _engine(args: argparse.Namespace) -> Any:
    from coachflow.clock import FixedClock, SystemClock
    from coachflow.engine import Engine
    from coachflow.store import SqlStore

    now = args.now or os.environ.get("COACHFLOW_NOW")
    clock: Any = SystemClock()
    if now:
        try:
            at = datetime.fromisoformat(now)
        except ValueError:
            raise UsageProblem(f"--now: {now!r} is not an ISO date or date-time") from None
        if at.tzinfo is None:
            from datetime import UTC

            at = at.replace(tzinfo=UTC)
        clock = FixedClock(at)
    definitions = args.definitions
    if definitions is not None and not Path(definitions).is_dir():
        raise UsageProblem(f"--definitions: no such directory: {definitions}")
    store = SqlStore(database_url(args.db), check=True)  # a damaged file is refused
    return Engine(definitions, store=store, clock=clock)


def _pairs(items: list[str], what: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise UsageProblem(f"{what} {item!r} is not NAME=VALUE")
        values[name] = _value(raw)
    return values


def _value(raw: str) -> Any:
    """JSON when it parses as JSON (numbers, true/false, null, lists), else the text."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, a number of over 4,300 digits, too deep
        return raw
    return value if not isinstance(value, float) else raw


def _out(args: argparse.Namespace, data: Any, text: Callable[[], None]) -> int:
    """Print ``data`` as JSON, or run ``text`` (which prints lines). Either way a character
    that could steer the terminal (ESC, a bidirectional override...), from a stored id,
    fact or input value, is written as an escape (``\\x1b``, ``\\u202e``)."""
    if args.format == "json":
        dumped = json.dumps(_jsonable(data), indent=2, ensure_ascii=False)
        sys.stdout.write(terminal_json(dumped) + "\n")
    else:  # ``text`` prints one line per print(): each is escaped whole
        with contextlib.redirect_stdout(TerminalWriter(sys.stdout)):
            text()
    return EXIT_OK


def _jsonable(value: Any) -> Any:
    from coachflow.runtime.access import REDACTED

    if value is REDACTED:
        return {"redacted": True}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _trajectory_data(t: Any) -> dict[str, Any]:
    data: dict[str, Any] = t.as_dict()
    data.pop("counts", None)
    data["activities"] = dict(t.counts)
    return data


def _print_trajectory(t: Any) -> None:
    print(
        f"{t.id}  {t.definition_id} v{t.definition_version}  state {t.state}  version {t.version}"
    )


# --- commands ---------------------------------------------------------------------------------


def _start(args: argparse.Namespace) -> int:
    engine = _engine(args)
    participants: dict[str, list[str]] = {}
    for item in args.role:
        role, sep, people = item.partition("=")
        if not sep or not role or not people:
            raise UsageProblem(f"--role {item!r} is not ROLE=PERSON[,PERSON]")
        participants.setdefault(role, []).extend(p for p in people.split(",") if p)
    calendar = None
    if args.calendar:
        calendar = _calendar(args.calendar)
    t = engine.start(
        args.definition,
        participants=participants,
        actor=args.actor,
        facts=_pairs(args.fact, "--fact") or None,
        trajectory_id=args.trajectory_id,
        version=args.version,
        start_date=args.start_date,
        calendar=calendar,
    )
    return _out(args, _trajectory_data(t), lambda: _print_trajectory(t))


def _calendar(value: str) -> Any:
    from coachflow.files.calendars import builtin_calendar, load_calendar

    if Path(value).is_file():
        return load_calendar(value)
    try:
        return builtin_calendar(value)
    except LookupError:
        raise UsageProblem(f"--calendar: no file and no built-in calendar {value!r}") from None


def _fire(args: argparse.Namespace) -> int:
    engine = _engine(args)
    t = engine.fire(
        args.trajectory_id,
        args.event,
        actor=args.actor,
        input=_pairs(args.input, "--input") or None,
        expected_version=args.expect_version,
    )
    return _out(args, _trajectory_data(t), lambda: _print_trajectory(t))


def _consent(grant: bool) -> Handler:
    def run(args: argparse.Namespace) -> int:
        engine = _engine(args)
        call = engine.grant_consent if grant else engine.withdraw_consent
        t = call(args.trajectory_id, args.consent, actor=args.actor)
        return _out(args, _trajectory_data(t), lambda: _print_trajectory(t))

    return run


def _assignment(assign: bool) -> Handler:
    def run(args: argparse.Namespace) -> int:
        engine = _engine(args)
        if assign:
            t = engine.assign(
                args.trajectory_id,
                args.role,
                args.person,
                actor=args.actor,
                replacing=args.replacing,
            )
        else:
            t = engine.unassign(args.trajectory_id, args.role, args.person, actor=args.actor)
        return _out(args, _trajectory_data(t), lambda: _print_trajectory(t))

    return run


def _record(args: argparse.Namespace) -> int:
    engine = _engine(args)
    t = engine.record_activity(
        args.trajectory_id,
        args.activity,
        actor=args.actor,
        on=args.on,
        input=_pairs(args.input, "--input") or None,
    )
    return _out(args, _trajectory_data(t), lambda: _print_trajectory(t))


def _show(args: argparse.Namespace) -> int:
    engine = _engine(args)
    t = engine.get(args.trajectory_id)
    allowed = {
        person: engine.allowed_events(t.id, actor=person)
        for people in t.participants.values()
        for person in people
    }
    items = engine.agenda(t.id, as_of=args.date)
    data = {
        **_trajectory_data(t),
        "allowed_events": allowed,
        "agenda": [i._asdict() for i in items],
    }

    def text() -> None:
        _print_trajectory(t)
        print("participants:")
        for role, people in t.participants.items():
            print(f"  {role}: {', '.join(people) or '-'}")
        print("facts:")
        for name, value in t.facts.items():
            print(f"  {name} = {_show_value(value)}")
        if t.consents:
            print("consents:")
            for name, granted in t.consents.items():
                print(f"  {name}: {'granted' if granted else 'not granted'}")
        print("allowed events:")
        for person, events in allowed.items():
            print(f"  {person}: {', '.join(events) or '-'}")
        if items:
            print("agenda:")
            for i in items:
                print(f"  {i.due_date or '-'!s:>10}  {i.status:8}  {i.activity}")

    return _out(args, data, text)


def _show_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    return json.dumps(_jsonable(value), ensure_ascii=False)


def _history(args: argparse.Namespace) -> int:
    engine = _engine(args)
    records = engine.history(args.trajectory_id, viewer=args.viewer)
    data = [r._asdict() for r in records]

    def text() -> None:
        for r in records:
            what = r.event or ""
            move = f" {r.source} -> {r.target}" if r.source and r.target != r.source else ""
            shown = {} if r.kind in ("started", "migrated") else r.input
            detail = ", ".join(f"{k}={_show_value(v)}" for k, v in shown.items())
            changes = ", ".join(f"{k}={_show_value(v)}" for k, v in r.changes.items())
            print(
                f"{r.seq:>4}  {r.at.isoformat(timespec='minutes')}  {r.actor} ({r.role or '-'})"
                f"  {r.kind} {what}{move}"
                + (f"  [{detail}]" if detail else "")
                + (f"  => {changes}" if changes and r.kind not in ("started", "migrated") else "")
            )

    return _out(args, data, text)


def _list(args: argparse.Namespace) -> int:
    engine = _engine(args)
    store = engine.store
    found = store.find(definition_id=args.definition, state=args.state, participant=args.person)
    data = [
        {
            "id": t.id,
            "definition_id": t.definition_id,
            "definition_version": t.definition_version,
            "state": t.state,
            "version": t.version,
        }
        for t in found
    ]

    def text() -> None:
        for t in found:
            _print_trajectory(t)
        print(f"{len(found)} {'trajectory' if len(found) == 1 else 'trajectories'}")

    return _out(args, data, text)


def _agenda(args: argparse.Namespace) -> int:
    from coachflow.files.ical import to_ical

    engine = _engine(args)
    items = engine.agenda_for(args.person, as_of=args.date)
    if args.ics:
        Path(args.ics).write_bytes(to_ical(items, name=f"coachflow: {args.person}"))
    data = [i._asdict() for i in items]

    def text() -> None:
        for i in items:
            print(
                f"{i.due_date or '-'!s:>10}  {i.status:8}  {i.trajectory_id}  {i.activity}"
                + (f"  ({i.title})" if i.title else "")
            )
        print(f"{len(items)} items for {args.person}")

    return _out(args, data, text)


def _migrate(args: argparse.Namespace) -> int:
    engine = _engine(args)
    plan = engine.plan_migration(args.definition, args.to)
    target = engine.definition(args.definition, args.to).version
    moved: list[str] = []
    if not args.dry_run:
        for tid, _, problem in plan:
            if problem is None:
                engine.migrate(tid, target, actor=args.actor)
                moved.append(tid)
    data = {
        "definition": args.definition,
        "to_version": target,
        "dry_run": args.dry_run,
        "trajectories": [
            {"id": tid, "from_version": v, "can_move": p is None, "problem": p}
            for tid, v, p in plan
        ],
        "moved": moved,
    }

    def text() -> None:
        verb = "would move" if args.dry_run else "moved"
        for tid, version, problem in plan:
            status = verb if problem is None else f"cannot move: {problem}"
            print(f"{tid}  v{version} -> v{target}  {status}")
        movable = sum(1 for *_, p in plan if p is None)
        print(f"{movable} of {len(plan)} trajectories {verb} to version {target}")

    _out(args, data, text)
    return EXIT_OK if all(p is None for *_, p in plan) else EXIT_FAILED


def _db_upgrade(args: argparse.Namespace) -> int:
    from coachflow.store import SCHEMA_REVISION, SqlStore

    store = SqlStore(database_url(args.db), upgrade=True, check=True)
    store.dispose()
    return _out(
        args,
        {"database": store.shown, "revision": SCHEMA_REVISION},
        lambda: print(f"{store.shown}: schema at revision {SCHEMA_REVISION}"),
    )


def _db_current(args: argparse.Namespace) -> int:
    from coachflow.store import SCHEMA_REVISION, SqlStore

    store = SqlStore(database_url(args.db), require_schema=False, check=True)
    try:
        status = store.schema_status()  # a newer coachflow's revision: StoreError
        found = store.revision()
    finally:
        store.dispose()
    data = {
        "database": store.shown,
        "revision": found,
        "newest": SCHEMA_REVISION,
        "is_newest": status == "newest",
    }

    def text() -> None:
        if status == "newest":
            print(f"{store.shown}: schema at revision {found} (the newest)")
        elif status == "older":
            print(
                f"{store.shown}: schema at revision {found}, older than {SCHEMA_REVISION}; "
                "run: coachflow db upgrade"
            )
        else:
            print(f"{store.shown}: no schema yet; run: coachflow db upgrade")

    _out(args, data, text)
    return EXIT_OK if status == "newest" else EXIT_FAILED


def _db_check(args: argparse.Namespace) -> int:
    from coachflow.store import SCHEMA_REVISION, SqlStore

    store = SqlStore(database_url(args.db), require_schema=False)  # checks a damaged file
    try:
        report = store.check()
    finally:
        store.dispose()
    data = {
        "database": store.shown,
        "revision": report.revision,
        "newest": SCHEMA_REVISION,
        "trajectories": report.trajectories,
        "problems": report.problems,
        "ok": not report.problems,
    }

    def text() -> None:
        for problem in report.problems:
            print(problem)
        count = len(report.problems)
        found = f"{count} {'problem' if count == 1 else 'problems'}" if count else "ok"
        checked = report.trajectories
        print(
            f"{store.shown}: {found} (schema revision {report.revision or 'none'}, "
            f"{checked} {'trajectory' if checked == 1 else 'trajectories'} checked)"
        )

    _out(args, data, text)
    return EXIT_FAILED if report.problems else EXIT_OK
