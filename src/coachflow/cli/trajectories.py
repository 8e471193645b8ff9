"""The commands of ``coachflow`` that run trajectories in a database: ``start``, ``fire``,
``grant``/``withdraw``, ``record``, ``assign``/``unassign``, ``show``, ``history``,
``access-log``, ``list``, ``agenda`` and ``migrate``.

They share ``--db`` (default ``coachflow.db`` in the current directory, or the
``COACHFLOW_DB`` environment variable; a path means SQLite, a URL any SQLAlchemy
database), ``--definitions DIR`` (default: the built-in and installed definitions),
``--now`` (a fixed time, for back-filling and scripts; or ``COACHFLOW_NOW``) and
``--format text|json``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TYPE_CHECKING, Protocol

from coachflow.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    Handler,
    Parser,
    UsageProblem,
    add_database_command,
    build_engine,
    database_options,
    day,
    jsonable,
    not_back_in_time,
    open_engine,
    out,
    print_error,
    shown_time,
    stored,
)
from coachflow.errors import TrajectoryExists

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from coachflow import Definition, Engine, SchoolCalendar, Trajectory
    from coachflow.cli._common import SubParsers


_ID = "the trajectory's id"
_ACTOR = "who does it (a person's id): the rules check their role"
_INPUT = "an input value (repeat for every field; checked against the field's type)"


def register(sub: SubParsers) -> None:
    """Add the trajectory commands to ``sub``."""
    options = database_options()

    def command(name: str, handler: Handler, help_text: str) -> Parser:
        return add_database_command(sub, name, handler, help_text, options)

    p = command("start", _start, "start a trajectory")
    p.add_argument("definition", metavar="DEFINITION", help="the definition's id")
    p.add_argument(
        "--as", dest="actor", required=True, metavar="PERSON", help="who starts it (a person's id)"
    )
    p.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="ROLE=PERSON[,PERSON]",
        help="bind people to a role (repeat for every role)",
    )
    p.add_argument(
        "--fact",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a fact's first value (repeat for every fact; checked against its type)",
    )
    p.add_argument(
        "--id",
        dest="trajectory_id",
        metavar="ID",
        help="the new trajectory's id (default: a new one)",
    )
    p.add_argument(
        "--version", type=int, metavar="N", help="the definition version (default: the newest)"
    )
    p.add_argument(
        "--start-date",
        type=day,
        metavar="YYYY-MM-DD",
        help="the day it starts, week 1 (default: today)",
    )
    p.add_argument(
        "--calendar", metavar="NAME|FILE", help="a school calendar (a built-in name or a file)"
    )

    p = command("fire", _fire, "fire an event as a person")
    p.add_argument("trajectory_id", metavar="ID", help=_ID)
    p.add_argument("event", metavar="EVENT", help="the event's name")
    p.add_argument("--as", dest="actor", required=True, metavar="PERSON", help=_ACTOR)
    p.add_argument("--input", action="append", default=[], metavar="NAME=VALUE", help=_INPUT)
    p.add_argument(
        "--expect-version",
        type=int,
        metavar="N",
        help="refuse unless the trajectory is still at this version (no lost update)",
    )

    for name, grant in (("grant", True), ("withdraw", False)):
        p = command(name, _consent(grant), f"{name} a consent as a person")
        p.add_argument("trajectory_id", metavar="ID", help=_ID)
        p.add_argument("consent", metavar="CONSENT", help="the consent's name")
        p.add_argument(
            "--as", dest="actor", required=True, metavar="PERSON", help="who gives or withdraws it"
        )

    p = command("record", _record, "record an activity as a person")
    p.add_argument("trajectory_id", metavar="ID", help=_ID)
    p.add_argument("activity", metavar="ACTIVITY", help="the activity's name")
    p.add_argument("--as", dest="actor", required=True, metavar="PERSON", help=_ACTOR)
    p.add_argument(
        "--on", type=day, metavar="YYYY-MM-DD", help="the day it took place (default: today)"
    )
    p.add_argument("--input", action="append", default=[], metavar="NAME=VALUE", help=_INPUT)

    for name, assign in (("assign", True), ("unassign", False)):
        told = "assign a person to a role" if assign else "unassign a person from a role"
        p = command(name, _assignment(assign), told)
        p.add_argument("trajectory_id", metavar="ID", help=_ID)
        p.add_argument("role", metavar="ROLE", help="the role's name")
        p.add_argument("person", metavar="PERSON", help="the person's id")
        p.add_argument(
            "--as", dest="actor", required=True, metavar="PERSON", help="who makes the change"
        )
        if assign:
            p.add_argument(
                "--replacing", metavar="PERSON", help="the person who leaves the role for them"
            )

    p = command("show", _show, "state, facts, allowed events per participant, agenda")
    p.add_argument("trajectory_id", metavar="ID", help=_ID)
    p.add_argument(
        "--date", type=day, metavar="YYYY-MM-DD", help="the agenda's date (default: today)"
    )

    p = command("history", _history, "the history, as a person may see it")
    p.add_argument("trajectory_id", metavar="ID", help=_ID)
    p.add_argument("--as", dest="viewer", metavar="PERSON", help="redact what they may not read")

    p = command("access-log", _access_log, "who read which confidential value, as a person may see")
    p.add_argument("trajectory_id", metavar="ID", help=_ID)
    p.add_argument("--as", dest="viewer", required=True, metavar="PERSON", help="who reads the log")

    p = command("list", _list, "stored trajectories")
    p.add_argument("--definition", metavar="ID", help="only of this definition")
    p.add_argument("--state", metavar="STATE", help="only in this state")
    p.add_argument("--person", metavar="PERSON", help="only those this person takes part in")

    p = command("agenda", _agenda, "what a person must do, most urgent first")
    p.add_argument("--person", required=True, metavar="PERSON", help="whose agenda")
    p.add_argument(
        "--date", type=day, metavar="YYYY-MM-DD", help="the agenda's date (default: today)"
    )
    p.add_argument("--ics", metavar="FILE", help="also write an iCalendar file")

    p = command("migrate", _migrate, "move stored trajectories to a newer definition version")
    p.add_argument("definition", metavar="DEFINITION", help="the definition's id")
    p.add_argument("--to", type=int, metavar="N", help="the version (default: the newest)")
    p.add_argument("--dry-run", action="store_true", help="only report what would move")
    p.add_argument(
        "--as",
        dest="actor",
        default="coachflow-migrate",
        metavar="PERSON",
        help="who the migrated records name (default: coachflow-migrate)",
    )


# --- values in and out ------------------------------------------------------------------------


def _pairs(items: list[str], what: str, text: Collection[str] = frozenset()) -> dict[str, object]:
    """``NAME=VALUE`` options as values: the fields in ``text`` (declared ``str``, ``enum``
    or ``date``) as the text given, the others as :func:`_value` reads them; the engine
    checks them. A field given twice is a usage error (no "last one wins")."""
    values: dict[str, object] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise UsageProblem(f"{what} {item!r} is not NAME=VALUE")
        if name in values:
            raise UsageProblem(f"{what} {name!r} is given twice: give each field once")
        values[name] = raw if name in text else _value(raw)
    return values


_TEXT_TYPES = frozenset({"str", "enum", "date"})


class _Typed(Protocol):
    """A declared field or fact (what :func:`_text_fields` reads of it)."""

    def fact_type(self) -> str: ...


def _text_fields(*declared: Mapping[str, _Typed]) -> frozenset[str]:
    """The fields every declaration in ``declared`` types as text (``str``, ``enum``,
    ``date``): ``--input question=42`` gives such a field the text ``"42"``."""
    types: dict[str, set[str]] = {}
    for fields in declared:
        for name, spec in fields.items():
            types.setdefault(name, set()).add(spec.fact_type())
    return frozenset(name for name, found in types.items() if found <= _TEXT_TYPES)


def _event_fields(engine: Engine, t: Trajectory | None, event: str) -> frozenset[str]:
    """:func:`_text_fields` of the transitions of ``event`` in the definition of ``t``
    (none when the trajectory or the event is unknown: the engine then says so)."""
    definition = _definition_of(engine, t)
    if definition is None:
        return frozenset()
    return _text_fields(*(s.input for s in definition.transitions if s.event == event))


def _activity_fields(engine: Engine, t: Trajectory | None, activity: str) -> frozenset[str]:
    definition = _definition_of(engine, t)
    if definition is None or activity not in definition.activities:
        return frozenset()
    return _text_fields(definition.activities[activity].input)


def _definition_of(engine: Engine, t: Trajectory | None) -> Definition | None:
    from coachflow.errors import CoachflowError

    if t is None:
        return None
    try:
        return engine.definition(t.definition_id, t.definition_version)
    except CoachflowError:  # the command itself reports it, the same way as without --input
        return None


def _fact_fields(engine: Engine, definition_id: str, version: int | None) -> frozenset[str]:
    from coachflow.errors import CoachflowError

    try:
        return _text_fields(engine.definition(definition_id, version).facts)
    except (CoachflowError, LookupError):  # start reports the unknown definition itself
        return frozenset()


def _value(raw: str) -> object:
    """JSON when it parses as JSON (numbers, true/false, null, lists), else the text."""
    import json

    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, a number of over 4,300 digits, too deep
        return raw
    return value if not isinstance(value, float) else raw


def _calendar(value: str) -> SchoolCalendar:
    from pathlib import Path

    from coachflow import builtin_calendar, load_calendar

    if Path(value).is_file():
        calendar: SchoolCalendar = load_calendar(value)
        return calendar
    try:
        return builtin_calendar(value)
    except LookupError:
        raise UsageProblem(f"--calendar: no file and no built-in calendar {value!r}") from None


def _trajectory_data(t: Trajectory) -> dict[str, object]:
    data = t.as_dict()
    data.pop("counts", None)
    data["activities"] = dict(t.counts)
    return data


def _print_trajectory(t: Trajectory) -> None:
    print(
        f"{t.id}  {t.definition_id} v{t.definition_version}  state {t.state}  version {t.version}"
    )


def _trajectory_out(args: argparse.Namespace, t: Trajectory) -> int:
    return out(args, _trajectory_data(t), lambda: _print_trajectory(t))


def _show_value(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    import json

    return json.dumps(jsonable(value), ensure_ascii=False)


# --- the commands -----------------------------------------------------------------------------


def _start(args: argparse.Namespace) -> int:
    engine = build_engine(args)
    participants: dict[str, list[str]] = {}
    for item in args.role:
        role, sep, people = item.partition("=")
        if not sep or not role or not people:
            raise UsageProblem(f"--role {item!r} is not ROLE=PERSON[,PERSON]")
        participants.setdefault(role, []).extend(p for p in people.split(",") if p)
    calendar = None
    if args.calendar:
        calendar = _calendar(args.calendar)
    facts = _pairs(args.fact, "--fact", _fact_fields(engine, args.definition, args.version))
    try:
        t = engine.start(
            args.definition,
            participants=participants,
            actor=args.actor,
            facts=facts or None,
            trajectory_id=args.trajectory_id,
            version=args.version,
            start_date=args.start_date,
            calendar=calendar,
        )
    except TrajectoryExists as exc:
        hint = f"coachflow show {args.trajectory_id} shows it, or start with another --id"
        return print_error(f"{exc}: {hint}", EXIT_FAILED)
    return _trajectory_out(args, t)


def _fire(args: argparse.Namespace) -> int:
    engine = build_engine(args)
    current = stored(engine, args.trajectory_id)  # read once, for the checks of the CLI
    not_back_in_time(args, current)
    t = engine.fire(
        args.trajectory_id,
        args.event,
        actor=args.actor,
        input=_pairs(args.input, "--input", _event_fields(engine, current, args.event)) or None,
        expected_version=args.expect_version,
    )
    return _trajectory_out(args, t)


def _consent(grant: bool) -> Handler:
    def run(args: argparse.Namespace) -> int:
        engine = build_engine(args)
        not_back_in_time(args, stored(engine, args.trajectory_id))
        call = engine.grant_consent if grant else engine.withdraw_consent
        t = call(args.trajectory_id, args.consent, actor=args.actor)
        return _trajectory_out(args, t)

    return run


def _assignment(assign: bool) -> Handler:
    def run(args: argparse.Namespace) -> int:
        engine = build_engine(args)
        not_back_in_time(args, stored(engine, args.trajectory_id))
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
        return _trajectory_out(args, t)

    return run


def _record(args: argparse.Namespace) -> int:
    engine = build_engine(args)
    current = stored(engine, args.trajectory_id)  # read once, for the checks of the CLI
    not_back_in_time(args, current)
    t = engine.record_activity(
        args.trajectory_id,
        args.activity,
        actor=args.actor,
        on=args.on,
        input=_pairs(args.input, "--input", _activity_fields(engine, current, args.activity))
        or None,
    )
    return _trajectory_out(args, t)


def _show(args: argparse.Namespace) -> int:
    engine = build_engine(args)
    t = engine.get(args.trajectory_id)
    people = list(dict.fromkeys(p for group in t.participants.values() for p in group))
    allowed = {person: engine.allowed_events(t.id, actor=person) for person in people}
    recordable = {person: engine.allowed_activities(t.id, actor=person) for person in people}
    # most urgent first: by due date, the undated after the dated (ties in file order)
    items = sorted(engine.agenda(t.id, as_of=args.date), key=lambda i: i.due_date or date.max)
    data = {
        **_trajectory_data(t),
        "allowed_events": allowed,
        "allowed_activities": recordable,
        "agenda": [i._asdict() for i in items],
    }

    def text() -> None:
        _print_trajectory(t)
        print("participants:")
        for role, holders in t.participants.items():
            print(f"  {role}: {', '.join(holders) or '-'}")
        print("facts:")
        for name, value in t.facts.items():
            print(f"  {name} = {_show_value(value)}")
        if t.consents:
            print("consents:")
            for name, granted in t.consents.items():
                print(f"  {name}: {'granted' if granted else 'not granted'}")
        print("can do now:")
        for person in people:
            events = ", ".join(allowed[person]) or "-"
            activities = ", ".join(recordable[person]) or "-"
            print(f"  {person}: fire {events}; record {activities}")
        if items:
            print("agenda:")
            for i in items:
                print(f"  {i.due_date or '-'!s:>10}  {i.status:8}  {i.activity}")
                if i.notice:
                    print(f"              note: {i.notice}")

    return out(args, data, text)


def _history(args: argparse.Namespace) -> int:
    engine = build_engine(args)
    records = engine.history(args.trajectory_id, viewer=args.viewer)
    data = [r._asdict() for r in records]
    if args.viewer is not None and not engine.get(args.trajectory_id).roles_of(args.viewer):
        # not silent: every value but their own reads as redacted, and this says why
        print(
            f"coachflow: notice: {args.viewer!r} takes no part in {args.trajectory_id!r} "
            "(now): only the input values they wrote are shown",
            file=sys.stderr,
        )

    def text() -> None:
        for r in records:
            what = r.event or ""
            move = f" {r.source} -> {r.target}" if r.source and r.target != r.source else ""
            shown = {} if r.kind in ("started", "migrated") else r.input
            detail = ", ".join(f"{k}={_show_value(v)}" for k, v in shown.items())
            changes = ", ".join(f"{k}={_show_value(v)}" for k, v in r.changes.items())
            print(
                f"{r.seq:>4}  {shown_time(r.at, args)}  {r.actor} ({r.role or '-'})"
                f"  {r.kind} {what}{move}"
                + (f"  [{detail}]" if detail else "")
                + (f"  => {changes}" if changes and r.kind not in ("started", "migrated") else "")
            )

    return out(args, data, text)


def _access_log(args: argparse.Namespace) -> int:
    from coachflow.errors import TransitionRejected

    engine = build_engine(args)
    try:
        log = engine.access_log(args.trajectory_id, viewer=args.viewer)
    except TransitionRejected as exc:  # not theirs to read, a bad id: one line
        return print_error(str(exc), EXIT_FAILED)
    data = [e._asdict() for e in log]

    def text() -> None:
        for e in log:
            when = shown_time(e.at, args)
            print(f"{when}  {e.viewer}  {e.seq:>4}  {e.field}  {e.basis}")
        print(f"{len(log)} {'read' if len(log) == 1 else 'reads'} of confidential values")

    return out(args, data, text)


def _list(args: argparse.Namespace) -> int:
    _, store = open_engine(args)  # the engine first: it reads and checks the definitions
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

    return out(args, data, text)


def _agenda(args: argparse.Namespace) -> int:
    from pathlib import Path

    from coachflow import agenda_to_ical

    engine = build_engine(args)
    # the feed keeps the done items (a calendar that fetches it again updates their events
    # instead of losing them); what is printed leaves them out, as agenda_for does
    feed = engine.agenda_for(args.person, as_of=args.date, include_done=True)
    items = [i for i in feed if i.status != "done"]
    if args.ics:
        calendar = agenda_to_ical(feed, name=f"coachflow: {args.person}", stamp=engine.clock.now())
        Path(args.ics).write_bytes(calendar)
    data = [i._asdict() for i in items]

    def text() -> None:
        for i in items:
            print(
                f"{i.due_date or '-'!s:>10}  {i.status:8}  {i.trajectory_id}  {i.activity}"
                + (f"  ({i.title})" if i.title else "")
            )
            if i.notice:
                print(f"            note: {i.notice}")
        print(f"{len(items)} items for {args.person}")

    return out(args, data, text)


def _migrate(args: argparse.Namespace) -> int:
    engine = build_engine(args)
    plan = engine.plan_migration(args.definition, args.to)
    target = engine.definition(args.definition, args.to).version
    if not args.dry_run:
        movable = (tid for tid, _, problem in plan if problem is None)
        not_back_in_time(args, *(stored(engine, tid) for tid in movable))
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

    out(args, data, text)
    return EXIT_OK if all(p is None for *_, p in plan) else EXIT_FAILED
