"""Outbox throughput: messages claimed and acknowledged per second, in one run.

    python benchmarks/bench_outbox.py [--quick] [--postgres URL]

Writes N accepted changes (one ``trajectory.changed`` message each) and then lets 1 and 4
consumer processes of one consumer name claim (batches of 100) and acknowledge them all,
on SQLite (a file) and, when ``--postgres URL`` or COACHFLOW_TEST_POSTGRES_URL is given, on
PostgreSQL. Checks that every message was handed out exactly once while its lease ran (no
lease runs out here). Target (issue 16): >= 2,000 messages/s with 4 consumers on
PostgreSQL. Prints figures and PASS/FAIL; it never fails a test run.
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
id: bench-outbox
version: 1
roles: {coach: {}}
initial: s
states: {s: {}, e: {final: true}}
transitions:
  - {event: tick, from: s, to: s, by: [coach]}
  - {event: stop, from: s, to: e, by: [coach]}
"""


def _engine(url: str) -> Any:
    from coachflow import Engine, FixedClock, loads_definition
    from coachflow.store import SqlStore

    return Engine([loads_definition(DEFINITION)], store=SqlStore(url), clock=FixedClock())


def fill(url: str, messages: int) -> None:
    """``messages`` accepted changes: starts and ticks of 100-change trajectories."""
    engine = _engine(url)
    made = 0
    n = 0
    while made < messages:
        tid = engine.start("bench-outbox", participants={"coach": "c"}, actor="c").id
        made += 1
        for _ in range(min(99, messages - made)):
            engine.fire(tid, "tick", actor="c")
            made += 1
        n += 1
    engine.store.dispose()


def _consume(url: str, out: mp.Queue, go: Any) -> None:
    engine = _engine(url)
    keys: list[str] = []
    go.wait()
    while batch := engine.outbox.claim("bench", 100):
        engine.outbox.ack("bench", [m.id for m in batch])
        keys.extend(m.key for m in batch)
    out.put(keys)
    engine.store.dispose()


def consume(url: str, consumers: int) -> tuple[float, int, int]:
    """Seconds for ``consumers`` processes to claim and acknowledge every message, how
    many they were handed, and how many distinct keys."""
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    go = ctx.Event()
    procs = [ctx.Process(target=_consume, args=(url, out, go)) for _ in range(consumers)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # every process imported and connected
    started = time.perf_counter()
    go.set()
    handed: list[str] = []
    for _ in procs:
        handed.extend(out.get(timeout=600))
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join()
    return elapsed, len(handed), len(set(handed))


def fresh_postgres(url: str) -> str:
    from coachflow.store import SqlStore

    store = SqlStore(url)
    with store._writer.begin() as conn:
        conn.exec_driver_sql(
            "TRUNCATE cf_history, cf_participants, cf_trajectories, cf_definitions, "
            "cf_outbox_consumers, cf_keys CASCADE"
        )
    store.dispose()
    return url


def main() -> int:
    quick = "--quick" in sys.argv
    messages = 2_000 if quick else 20_000
    pg = os.environ.get("COACHFLOW_TEST_POSTGRES_URL")
    if "--postgres" in sys.argv:
        pg = sys.argv[sys.argv.index("--postgres") + 1]
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus")
    print(f"{'measurement':44} {'figure':36} {'target':14} result")
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("SQLite", lambda: f"sqlite:///{Path(tmp) / 'outbox.db'}")]
        if pg:
            backends.append(("PostgreSQL", lambda: fresh_postgres(pg)))
        for name, make in backends:
            for consumers in (1, 4):
                url = make()
                if name == "SQLite":
                    url = f"sqlite:///{Path(tmp) / f'outbox-{consumers}.db'}"
                fill(url, messages)
                elapsed, handed, distinct = consume(url, consumers)
                rate = handed / elapsed
                exact = handed == distinct == messages
                target, result = "", ""
                if name == "PostgreSQL" and consumers == 4:
                    target = ">= 2,000/s"
                    result = "PASS" if rate >= 2000 and exact else "FAIL"
                figure = f"{rate:,.0f} messages/s ({handed:,} handed, {distinct:,} keys)"
                label = f"{name}, {consumers} consumer{'s' if consumers > 1 else ''}"
                print(f"{label:44} {figure:36} {target:14} {result}")
                if not exact:
                    print(f"  NOT EXACT: {messages:,} written, {handed:,} handed, {distinct:,}")
        if not pg:
            print(f"{'PostgreSQL':44} skipped: set COACHFLOW_TEST_POSTGRES_URL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
