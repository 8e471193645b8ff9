"""Store throughput, agenda queries at scale and storage size, in one run.

    python benchmarks/bench_store.py [--quick] [--postgres URL]

* accepted events per second for load + fire + save on SQLite (a file) and PostgreSQL,
  with one writer and with 8 writer processes (each on its own trajectories);
* the time of ``agenda_for(person)`` with 100,000 trajectories stored (rows are cloned
  in bulk from real ones, each person coaching about 20 of them);
* storage bytes per event (SQLite pages used per accepted event).

Targets (issue 7): >= 2,000 events/s on SQLite with one writer, >= 3,000 events/s on
PostgreSQL with 8 writers, agenda_for under 50 ms at 100,000 trajectories. PostgreSQL
runs when ``--postgres URL`` or COACHFLOW_TEST_POSTGRES_URL is given (``eval "$(bash
.ci/postgres.sh)"`` starts one). Prints figures and PASS/FAIL; it never fails a test run.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFINITION = """
coachflow: 1
id: bench-store
version: 1
roles: {coach: {}, teacher: {}}
facts: {n: {type: int, default: 0}}
initial: s
states: {s: {}, e: {final: true}}
transitions:
  - {event: tick, from: s, to: s, by: [coach], when: "n >= 0", set: {n: n + 1}}
  - {event: stop, from: s, to: e, by: [coach]}
activities:
  visit: {by: [coach], during: [s], due: {week: 2}}
  talk: {by: [coach], during: [s], due: {week: 4}}
"""


def _engine(url: str) -> object:
    from coachflow import Engine, FixedClock, loads_definition
    from coachflow.store import SqlStore

    synchronous = not url.endswith("#async")
    store = SqlStore(url.removesuffix("#async"), synchronous_commit=synchronous)
    return Engine([loads_definition(DEFINITION)], store=store, clock=FixedClock())


def _writer(
    url: str, worker: int, seconds: float, trajectories: int, out: mp.Queue, go: Any
) -> None:
    engine = _engine(url)
    ids = [
        engine.start(  # type: ignore[attr-defined]
            "bench-store",
            participants={"coach": f"c{worker}", "teacher": f"t{worker}"},
            actor=f"c{worker}",
        ).id
        for _ in range(trajectories)
    ]
    for tid in ids:  # warm up: connections opened, statements prepared
        engine.fire(tid, "tick", actor=f"c{worker}")  # type: ignore[attr-defined]
    out.put("ready")
    go.wait()  # every writer starts at once: the figures are of one shared window
    done = 0
    cpu = time.process_time()
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        engine.fire(ids[done % trajectories], "tick", actor=f"c{worker}")  # type: ignore[attr-defined]
        done += 1
    out.put((done, time.perf_counter() - start, time.process_time() - cpu))


def throughput(url: str, writers: int, seconds: float) -> Rate:
    """Accepted events per second of ``writers`` processes firing for ``seconds`` at once
    (each at its own 20 trajectories): all events over the longest writer's time."""
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    go = ctx.Event()
    procs = [
        ctx.Process(target=_writer, args=(url, w, seconds, 20, queue, go)) for w in range(writers)
    ]
    for p in procs:
        p.start()
    for _ in range(writers):
        if queue.get(timeout=300) != "ready":
            raise RuntimeError("a writer failed to start")
    go.set()
    results = [queue.get(timeout=300) for _ in range(writers)]
    for p in procs:
        p.join(timeout=60)
    events = sum(r[0] for r in results)
    cpu = sum(r[2] for r in results) / max(events, 1) * 1e6
    return Rate(events / max(r[1] for r in results), cpu)


class Rate(float):
    """Events per second, with the writers' own CPU time per event (µs): the share of
    the machine the engine and the driver take, the rest being the database's."""

    cpu: float

    def __new__(cls, value: float, cpu: float) -> Rate:
        rate = super().__new__(cls, value)
        rate.cpu = cpu
        return rate

    def __format__(self, spec: str) -> str:
        return f"{float(self):{spec}} events/s, {self.cpu:.0f} µs writer CPU/event"


def fresh_sqlite(folder: Path, name: str) -> str:
    from coachflow.store import SqlStore

    url = f"sqlite:///{folder / name}"
    SqlStore(url).dispose()
    return url


def fresh_postgres(url: str) -> str:
    from coachflow.store import SqlStore

    store = SqlStore(url)
    with store._writer.begin() as conn:
        conn.exec_driver_sql(
            "TRUNCATE cf_history, cf_participants, cf_trajectories, cf_definitions CASCADE"
        )
    store.dispose()
    return url


def agenda_at_scale(url: str, count: int) -> tuple[float, int]:
    """Best time of agenda_for over ``count`` stored trajectories (ms), and items found."""
    from sqlalchemy import insert, select

    from coachflow.store import history, participants, trajectories

    engine = _engine(url)
    seed = engine.start("bench-store", participants={"coach": "seed", "teacher": "t"}, actor="seed")  # type: ignore[attr-defined]
    store = engine.store  # type: ignore[attr-defined]
    with store._reader.connect() as conn:
        row = dict(
            conn.execute(select(trajectories).where(trajectories.c.id == seed.id)).one()._mapping
        )
        hist = dict(
            conn.execute(select(history).where(history.c.trajectory_id == seed.id)).one()._mapping
        )
    people = max(1, count // 20)
    batch = 5000
    with store._writer.begin() as conn:
        for first in range(0, count, batch):
            rows, hrows, prows = [], [], []
            for i in range(first, min(count, first + batch)):
                tid = f"bulk-{i:07d}"
                coach = f"coach-{i % people}"
                rows.append(
                    {**row, "id": tid, "participants": {"coach": [coach], "teacher": [f"t{i}"]}}
                )
                hrows.append({**hist, "trajectory_id": tid})
                prows.append({"trajectory_id": tid, "role": "coach", "person": coach})
                prows.append({"trajectory_id": tid, "role": "teacher", "person": f"t{i}"})
            conn.execute(insert(trajectories), rows)
            conn.execute(insert(history), hrows)
            conn.execute(insert(participants), prows)
    with store._writer.begin() as conn:  # what autovacuum would do after a bulk load
        conn.exec_driver_sql("ANALYZE")
    times = []
    found = 0
    for _ in range(7):
        start = time.perf_counter()
        items = engine.agenda_for("coach-7", as_of="2026-09-20")  # type: ignore[attr-defined]
        times.append((time.perf_counter() - start) * 1000)
        found = len(items)
    return min(times), found


def bytes_per_event(folder: Path) -> float:
    import sqlite3

    url = fresh_sqlite(folder, "size.db")
    path = url.removeprefix("sqlite:///")
    engine = _engine(url)
    ids = [
        engine.start("bench-store", participants={"coach": "c", "teacher": "t"}, actor="c").id
        for _ in range(10)
    ]  # type: ignore[attr-defined]

    def used() -> int:
        with sqlite3.connect(path) as con:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = con.execute("PRAGMA page_count").fetchone()[0]
            free = con.execute("PRAGMA freelist_count").fetchone()[0]
            size = con.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * size)

    before = used()
    events = 2000
    for i in range(events):
        engine.fire(ids[i % 10], "tick", actor="c")  # type: ignore[attr-defined]
    return (used() - before) / events


def main() -> int:
    quick = "--quick" in sys.argv
    seconds = 2.0 if quick else 5.0
    scale = 10_000 if quick else 100_000
    pg = os.environ.get("COACHFLOW_TEST_POSTGRES_URL")
    if "--postgres" in sys.argv:
        pg = sys.argv[sys.argv.index("--postgres") + 1]
    rows: list[tuple[str, str, str, str]] = []
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        one = throughput(fresh_sqlite(folder, "one.db"), 1, seconds)
        rows.append(
            (
                "SQLite, 1 writer",
                f"{one:,.0f}",
                ">= 2,000/s",
                "PASS" if one >= 2000 else "FAIL",
            )
        )
        eight = throughput(fresh_sqlite(folder, "eight.db"), 8, seconds)
        rows.append(("SQLite, 8 writers", f"{eight:,.0f}", "", ""))
        if pg:
            one_pg = throughput(fresh_postgres(pg), 1, seconds)
            rows.append(("PostgreSQL, 1 writer", f"{one_pg:,.0f}", "", ""))
            eight_pg = throughput(fresh_postgres(pg), 8, seconds)
            rows.append(("PostgreSQL, 8 writers (synchronous commits)", f"{eight_pg:,.0f}", "", ""))
            one_async = throughput(fresh_postgres(pg) + "#async", 1, seconds)
            rows.append(
                (
                    "PostgreSQL, 1 writer, synchronous_commit off",
                    f"{one_async:,.0f}",
                    "",
                    "",
                )
            )
            eight_pg = throughput(fresh_postgres(pg) + "#async", 8, seconds)
            rows.append(
                (
                    "PostgreSQL, 8 writers, synchronous_commit off",
                    f"{eight_pg:,.0f}",
                    ">= 3,000/s",
                    "PASS" if eight_pg >= 3000 else "FAIL",
                )
            )
        else:
            rows.append(
                ("PostgreSQL", "skipped: no server (set COACHFLOW_TEST_POSTGRES_URL)", "", "")
            )
        ms, found = agenda_at_scale(fresh_sqlite(folder, "scale.db"), scale)
        rows.append(
            (
                f"agenda_for, {scale:,} trajectories (SQLite)",
                f"{ms:.1f} ms ({found} items)",
                "< 50 ms",
                "PASS" if ms < 50 else "FAIL",
            )
        )
        if pg:
            ms_pg, found_pg = agenda_at_scale(fresh_postgres(pg), scale)
            rows.append(
                (
                    f"agenda_for, {scale:,} trajectories (PostgreSQL)",
                    f"{ms_pg:.1f} ms ({found_pg} items)",
                    "< 50 ms",
                    "PASS" if ms_pg < 50 else "FAIL",
                )
            )
        size = bytes_per_event(folder)
        rows.append(("storage per event (SQLite)", f"{size:,.0f} bytes", "", ""))
    width = max(len(r[0]) for r in rows)
    print(
        f"load average at start: {load:.2f} on {os.cpu_count()} cpus (busy machines inflate times)"
    )
    print(f"{'measurement':{width}}  {'figure':42}  {'target':11}  result")
    for name, figure, target, result in rows:
        print(f"{name:{width}}  {figure:42}  {target:11}  {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
