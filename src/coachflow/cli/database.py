"""``coachflow db upgrade|current|check``: the schema of the database of ``--db``.

Exit status 1 when ``current`` finds the schema not the newest or ``check`` finds problems,
3 when the database cannot be used (a newer coachflow's schema, say).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from coachflow.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    Parser,
    add_database_command,
    database_options,
    database_url,
    out,
)

if TYPE_CHECKING:
    from coachflow.cli._common import SubParsers


def register(sub: SubParsers) -> None:
    """Add ``db`` and its commands to ``sub``."""
    options = database_options(acting=False)
    db = sub.add_parser("db", help="database administration")
    db_sub = db.add_subparsers(dest="db_command", metavar="COMMAND", parser_class=Parser)
    db_sub.required = True
    add_database_command(db_sub, "upgrade", _upgrade, "create or upgrade the schema", options)
    add_database_command(
        db_sub,
        "current",
        _current,
        "the schema revision, and whether it is the newest",
        options,
    )
    add_database_command(
        db_sub, "check", _check, "check the schema, the file and every history", options
    )


def _upgrade(args: argparse.Namespace) -> int:
    from coachflow.store import SCHEMA_REVISION, SqlStore

    store = SqlStore(database_url(args.db), upgrade=True, check=True)
    store.dispose()
    return out(
        args,
        {"database": store.shown, "revision": SCHEMA_REVISION},
        lambda: print(f"{store.shown}: schema at revision {SCHEMA_REVISION}"),
    )


def _current(args: argparse.Namespace) -> int:
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

    out(args, data, text)
    return EXIT_OK if status == "newest" else EXIT_FAILED


def _check(args: argparse.Namespace) -> int:
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

    out(args, data, text)
    return EXIT_FAILED if report.problems else EXIT_OK
