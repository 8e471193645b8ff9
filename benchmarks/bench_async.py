"""The async engine against the sync one, in one run (issue 19).

    python benchmarks/bench_async.py [--quick] [--postgres URL]

Accepted events per second of load + fire + commit, each engine in a process of its own
(started fresh for every window), on the same database emptied before each window:

* the sync engine: ``Engine`` on ``SqlStore``, 8 threads, each firing at its own 20
  trajectories;
* the async engine: ``AsyncEngine`` on ``AsyncSqlStore`` (its default 10 connections), one
  event loop with 64 tasks, each firing at its own 20 trajectories.

The windows alternate (sync, async, sync, async): the best of each side counts, so a burst
of load on a shared machine does not land on one side only. PostgreSQL (durable commits) is
the target: async >= sync. SQLite is shown too. PostgreSQL runs when ``--postgres URL`` or
COACHFLOW_TEST_POSTGRES_URL is given (``eval "$(bash .ci/postgres.sh)"`` starts one).
Prints figures and PASS/FAIL; it never fails a test run.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_store import DEFINITION, fresh_postgres, fresh_sqlite

PER_WORKER = 20
THREADS = 8
TASKS = 64


def _sync_window(url: str, seconds: float, out: mp.Queue) -> None:
    from coachflow import Engine, FixedClock, loads_definition
    from coachflow.store import SqlStore

    engine = Engine([loads_definition(DEFINITION)], store=SqlStore(url), clock=FixedClock())
    ids = [
        [
            engine.start("bench-store", participants={"coach": f"c{w}"}, actor=f"c{w}").id
            for _ in range(PER_WORKER)
        ]
        for w in range(THREADS)
    ]
    counts = [0] * THREADS
    go = threading.Barrier(THREADS + 1)
    stop = threading.Event()

    def work(w: int) -> None:
        mine = ids[w]
        for tid in mine:  # warm up: this thread's connection opened
            engine.fire(tid, "tick", actor=f"c{w}")
        go.wait()
        done = 0
        while not stop.is_set():
            engine.fire(mine[done % PER_WORKER], "tick", actor=f"c{w}")
            done += 1
        counts[w] = done

    threads = [threading.Thread(target=work, args=(w,)) for w in range(THREADS)]
    for t in threads:
        t.start()
    go.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    out.put(sum(counts) / (time.perf_counter() - start))
    engine.store.dispose()  # type: ignore[attr-defined]


def _async_window(url: str, seconds: float, out: mp.Queue) -> None:
    from coachflow import AsyncEngine, AsyncSqlStore, FixedClock, loads_definition

    async def main() -> float:
        engine = AsyncEngine(
            [loads_definition(DEFINITION)], store=AsyncSqlStore(url), clock=FixedClock()
        )
        async with engine:
            ids = [
                [
                    (
                        await engine.start(
                            "bench-store", participants={"coach": f"c{w}"}, actor=f"c{w}"
                        )
                    ).id
                    for _ in range(PER_WORKER)
                ]
                for w in range(TASKS)
            ]
            for w, mine in enumerate(ids):  # warm up: the leases' connections opened
                await asyncio.gather(*(engine.fire(tid, "tick", actor=f"c{w}") for tid in mine))
            counts = [0] * TASKS
            stop = asyncio.Event()

            async def work(w: int) -> None:
                mine = ids[w]
                done = 0
                while not stop.is_set():
                    await engine.fire(mine[done % PER_WORKER], "tick", actor=f"c{w}")
                    done += 1
                counts[w] = done

            tasks = [asyncio.create_task(work(w)) for w in range(TASKS)]
            start = time.perf_counter()
            await asyncio.sleep(seconds)
            stop.set()
            await asyncio.gather(*tasks)
            return sum(counts) / (time.perf_counter() - start)

    out.put(asyncio.run(main()))


def window(target: Any, url: str, seconds: float) -> float:
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    process = ctx.Process(target=target, args=(url, seconds, queue))
    process.start()
    rate = float(queue.get(timeout=600))
    process.join(timeout=60)
    return rate


def compare(fresh: Callable[[int], str], seconds: float, rounds: int = 2) -> tuple[float, float]:
    """The best window of each side over ``rounds`` alternating pairs, each window on the
    empty database ``fresh(number)`` gives."""
    sync: list[float] = []
    ours: list[float] = []
    for i in range(rounds):
        sync.append(window(_sync_window, fresh(2 * i), seconds))
        ours.append(window(_async_window, fresh(2 * i + 1), seconds))
    return max(sync), max(ours)


def main() -> int:
    quick = "--quick" in sys.argv
    seconds = 2.0 if quick else 5.0
    pg = os.environ.get("COACHFLOW_TEST_POSTGRES_URL")
    if "--postgres" in sys.argv:
        pg = sys.argv[sys.argv.index("--postgres") + 1]
    rows: list[tuple[str, str, str, str]] = []
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        sync, ours = compare(lambda i: fresh_sqlite(Path(tmp), f"w{i}.db"), seconds)
        rows.append((f"SQLite, sync Engine, {THREADS} threads", f"{sync:,.0f} events/s", "", ""))
        rows.append(
            (
                f"SQLite, AsyncEngine, {TASKS} tasks",
                f"{ours:,.0f} events/s ({ours / sync:.2f}x)",
                "",
                "",
            )
        )
    if pg:
        url = pg
        sync_pg, ours_pg = compare(lambda i: fresh_postgres(url), seconds)
        rows.append(
            (f"PostgreSQL, sync Engine, {THREADS} threads", f"{sync_pg:,.0f} events/s", "", "")
        )
        rows.append(
            (
                f"PostgreSQL, AsyncEngine, {TASKS} tasks, 1 process",
                f"{ours_pg:,.0f} events/s ({ours_pg / sync_pg:.2f}x)",
                ">= the sync figure",
                "PASS" if ours_pg >= sync_pg else "FAIL",
            )
        )
    else:
        rows.append(("PostgreSQL", "skipped: no server (set COACHFLOW_TEST_POSTGRES_URL)", "", ""))
    print(f"load average at the start: {load:.2f} (2 cores)")
    width = max(len(r[0]) for r in rows)
    for name, figure, target, verdict in rows:
        print(f"{name:<{width}}  {figure:<40} {target:<20} {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
