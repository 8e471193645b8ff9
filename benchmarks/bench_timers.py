"""The worker's pass: ``Engine.run_due`` over many stored trajectories of which few are due.

    python benchmarks/bench_timers.py [--quick] [--postgres URL]

Stores N trajectories (100,000; ``--quick``: 10,000) of a definition with a reminder, 1 % of
them with their reminder due, on SQLite (a file) and, when ``--postgres URL`` or
COACHFLOW_TEST_POSTGRES_URL is given, on PostgreSQL. The rows are copies of two started
trajectories (one due, one not), written in bulk: the benchmark measures the pass, not the
filling. Then it times:

* the pass that handles every due reminder (one ``timer`` record and its notice each),
* a second pass with nothing left due (the index read alone),
* the floor of the same writes in the same run: one accepted ``fire`` on each of as many
  other trajectories (load, decide, commit: the engine's hot path).

Target (issue 16): a pass under 1 s on SQLite and on PostgreSQL. Prints figures and
PASS/FAIL; it never fails a test run.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

DEFINITION = """
coachflow: 1
id: bench-timers
version: 1
roles: {starter: {required: true}, coach: {required: true}}
started_by: [coach]
initial: open
states: {open: {}, done: {final: true}}
transitions:
  - {event: tick, from: open, to: open, by: [coach]}
  - {event: close, from: open, to: done, by: [coach]}
activities:
  visit:
    by: [coach]
    due: {week: 2}
    remind: [{before: P7D, to: [starter, coach]}]
"""
NOW = datetime.fromisoformat("2026-09-10T06:00:00+00:00")


def _engine(url: str) -> Any:
    from coachflow import Engine, FixedClock, loads_definition
    from coachflow.store import SqlStore

    return Engine(
        [loads_definition(DEFINITION)],
        store=SqlStore(url),
        clock=FixedClock("2026-09-01T08:00:00+00:00"),
        plugins=False,
    )


def fill(url: str, count: int, due_share: float) -> list[str]:
    """``count`` trajectories, ``due_share`` of them with a reminder due on NOW, as copies
    of two started ones; returns the ids of the extra trajectories the floor fires on."""
    from sqlalchemy import insert, select

    from coachflow.store import sql

    engine = _engine(url)
    engine.start(
        "bench-timers",
        participants={"starter": "s", "coach": "c"},
        actor="c",
        trajectory_id="due",
        start_date="2026-09-01",
    )
    engine.start(
        "bench-timers",
        participants={"starter": "s", "coach": "c"},
        actor="c",
        trajectory_id="later",
        start_date="2027-01-04",
    )
    floor_ids = [f"floor{i:06}" for i in range(max(1, int(count * due_share)))]
    for tid in floor_ids:
        engine.start(
            "bench-timers",
            participants={"starter": "s", "coach": "c"},
            actor="c",
            trajectory_id=tid,
            start_date="2027-01-04",
        )
    store = engine.store
    due_every = round(1 / due_share)
    with store._writer.begin() as conn:
        rows = {
            name: conn.execute(select(table).where(table.c[key] == name)).mappings().all()
            for name, table, key in [
                ("due", sql.trajectories, "id"),
                ("later", sql.trajectories, "id"),
            ]
        }
        histories = {
            name: conn.execute(select(sql.history).where(sql.history.c.trajectory_id == name))
            .mappings()
            .all()
            for name in ("due", "later")
        }
        people = {
            name: conn.execute(
                select(sql.participants).where(sql.participants.c.trajectory_id == name)
            )
            .mappings()
            .all()
            for name in ("due", "later")
        }
        batch = 5000
        for first in range(0, count - 2, batch):
            t_rows, h_rows, p_rows = [], [], []
            for i in range(first, min(first + batch, count - 2)):
                template = "due" if i % due_every == 0 else "later"
                tid = f"t{i:07}"
                t_rows.append({**rows[template][0], "id": tid})
                h_rows += [{**h, "trajectory_id": tid} for h in histories[template]]
                p_rows += [{**p, "trajectory_id": tid} for p in people[template]]
            conn.execute(insert(sql.trajectories), t_rows)
            conn.execute(insert(sql.history), h_rows)
            conn.execute(insert(sql.participants), p_rows)
    if not store.is_sqlite:
        with store._writer.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    store.dispose()
    return floor_ids


def measure(url: str, count: int) -> dict[str, float]:
    floor_ids = fill(url, count, 0.01)
    engine = _engine(url)
    due = len(engine.store.due(NOW.date(), limit=10_000))
    started = time.perf_counter()
    report = engine.run_due(NOW, limit=10_000)
    first = time.perf_counter() - started
    started = time.perf_counter()
    idle = engine.run_due(NOW, limit=10_000)
    second = time.perf_counter() - started
    started = time.perf_counter()
    for tid in floor_ids:
        engine.fire(tid, "tick", actor="c")
    floor = time.perf_counter() - started
    left = len(engine.store.due(NOW.date(), limit=10_000))
    engine.store.dispose()
    assert report.reminders == due and idle.handled == 0 and left == 0, (report, idle, left)
    return {
        "due": due,
        "pass": first,
        "idle": second,
        "floor": floor,
        "per": first / max(due, 1),
        "floor_per": floor / max(len(floor_ids), 1),
    }


def report(name: str, count: int, figures: dict[str, float]) -> bool:
    ok = figures["pass"] < 1.0
    print(
        f"{name}: {count:,} trajectories, {int(figures['due']):,} due: pass "
        f"{figures['pass']:.3f} s ({figures['per'] * 1e6:,.0f} us each; floor, one fire "
        f"each: {figures['floor_per'] * 1e6:,.0f} us, ratio "
        f"{figures['per'] / figures['floor_per']:.2f}x), nothing left due: "
        f"{figures['idle'] * 1000:.1f} ms  [{'PASS' if ok else 'FAIL'}: a pass < 1 s]"
    )
    return ok


def main() -> None:
    quick = "--quick" in sys.argv
    count = 10_000 if quick else 100_000
    url = os.environ.get("COACHFLOW_TEST_POSTGRES_URL")
    if "--postgres" in sys.argv:
        url = sys.argv[sys.argv.index("--postgres") + 1]
    with tempfile.TemporaryDirectory() as folder:
        report("SQLite", count, measure(f"sqlite:///{Path(folder) / 'timers.db'}", count))
    if url:
        from sqlalchemy import create_engine

        schema = f"bench_timers_{os.getpid()}"
        admin = create_engine(url)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        try:
            separator = "&" if "?" in url else "?"
            report(
                "PostgreSQL",
                count,
                measure(f"{url}{separator}options=-csearch_path%3D{schema}", count),
            )
        finally:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()
    else:
        print("PostgreSQL: skipped (set COACHFLOW_TEST_POSTGRES_URL or --postgres URL)")


if __name__ == "__main__":
    main()
