"""``coachflow worker``: the due work of the database of ``--db``, now and then.

Every pass runs :meth:`Engine.run_due` until nothing is left that is due (reminders and
escalations into the outbox, timeouts fired as ``system``) and prints one progress line.
``--once`` does one pass and exits (for cron); otherwise the next pass starts ``--interval``
seconds after one ended. SIGTERM (and Ctrl-C) stop it cleanly: the batch under way is
finished, then it exits
(0 for SIGTERM, 130 for Ctrl-C). A pass that finds the database unusable is reported on
stderr and tried again at the next interval (``--once``: exit status 3). Several workers
may run at once, on one host or several (PostgreSQL): each timer is handled exactly once.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING

from coachflow.cli._common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_STORE,
    UsageProblem,
    add_database_command,
    database_options,
    jsonable,
    open_engine,
    zone,
)
from coachflow.errors import CoachflowError

if TYPE_CHECKING:
    from coachflow import DueReport, Engine
    from coachflow.cli._common import SubParsers

MAX_PASSES = 1000
"""The most ``run_due`` batches in one pass (a pass never runs forever)."""


def register(sub: SubParsers) -> None:
    """Add ``worker`` to ``sub``."""
    worker = add_database_command(
        sub,
        "worker",
        _worker,
        "send due reminders and escalations, fire due timeouts (in a loop, or --once)",
        database_options(),
    )
    worker.add_argument("--once", action="store_true", help="one pass, then exit")
    worker.add_argument(
        "--interval",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="seconds from the start of one pass to the next (default 60)",
    )
    worker.add_argument(
        "--limit",
        type=int,
        default=1000,
        metavar="N",
        help="trajectories per batch of a pass (default 1000)",
    )


class _Stop:
    """What stops the loop: the signal received, and the event the wait sleeps on."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.status = EXIT_OK

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.status = EXIT_INTERRUPTED if signum == signal.SIGINT else EXIT_OK
        self.event.set()


def _worker(args: argparse.Namespace) -> int:
    if not 0 < args.interval <= 86_400:
        raise UsageProblem(f"--interval: 0 to 86400 seconds, not {args.interval:g}")
    if not 0 < args.limit <= 10_000:
        raise UsageProblem(f"--limit: 1 to 10,000 trajectories, not {args.limit}")
    engine, store = open_engine(args)
    _warnings_to_stderr()
    stop = _Stop()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        number = 0
        while True:
            number += 1
            try:
                reports = _pass(engine, args.limit, stop)
            except CoachflowError as exc:  # the store, or the engine: tried again next pass
                print(f"coachflow: error: pass {number}: {exc}", file=sys.stderr, flush=True)
                if args.once:
                    return EXIT_STORE
            else:
                _progress(args, number, reports, engine.clock.now())
            if args.once or stop.event.wait(args.interval):
                return stop.status
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        store.dispose()


def _warnings_to_stderr() -> None:
    """The engine's warnings (a trajectory whose due work could not be done, and why) as
    ``coachflow: warning: ...`` lines on stderr."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("coachflow: warning: %(message)s"))
    engine_log = logging.getLogger("coachflow.engine")
    engine_log.addHandler(handler)
    engine_log.setLevel(logging.WARNING)
    engine_log.propagate = False


def _pass(engine: Engine, limit: int, stop: _Stop) -> list[DueReport]:
    """``run_due`` until no batch is full (or a stop was asked for between batches)."""
    reports = []
    for _ in range(MAX_PASSES):
        report = engine.run_due(limit=limit)
        reports.append(report)
        if not report.more or stop.event.is_set() or not (report.handled or report.conflicts):
            break
    return reports


def _progress(
    args: argparse.Namespace, number: int, reports: list[DueReport], now: datetime
) -> None:
    """The pass's line on stdout (``now``: the engine's clock, ``--now`` when given)."""
    failed = sorted({tid for r in reports for tid in r.failed})
    if failed:
        shown = ", ".join(failed[:10]) + (
            f" and {len(failed) - 10} more" if len(failed) > 10 else ""
        )
        print(
            f"coachflow: warning: pass {number}: the due work of {shown} could not be done"
            " (tried again at the next pass)",
            file=sys.stderr,
            flush=True,
        )
    totals = {
        key: sum(getattr(r, key) for r in reports)
        for key in ("trajectories", "reminders", "escalations", "timeouts", "refused", "conflicts")
    }
    at = now.astimezone(UTC).replace(microsecond=0)
    if args.format == "json":
        import json

        print(
            json.dumps(jsonable({"pass": number, "at": at, **totals, "failed": len(failed)})),
            flush=True,
        )
        return
    print(
        f"{at.astimezone(zone(args)).isoformat()} pass {number}: {totals['trajectories']} due, "
        f"{totals['reminders']} reminders, {totals['escalations']} escalations, "
        f"{totals['timeouts']} timeouts fired, {totals['refused']} refused, "
        f"{totals['conflicts']} conflicts" + (f", {len(failed)} failed" if failed else ""),
        flush=True,
    )


__all__ = ["register"]
