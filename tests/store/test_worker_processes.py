"""Several ``coachflow worker`` processes over one database (issue 16), on SQLite and real
PostgreSQL: 4 workers over 10,000 trajectories that each have a reminder and an escalation
due, one of them killed with SIGKILL in the middle. Every timer is handled (at least once),
none twice (one ``timer`` record per timer, one notice per key), and the history of every
trajectory is whole. Then the worker as an operator runs it: ``--once`` and a loop stopped
with SIGTERM (exit 0, the pass finished)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from coachflow import Engine, FixedClock
from coachflow.store import SqlStore

COUNT = 10_000
NOW = "2026-09-10T08:00:00+00:00"
DEFINITION = """\
coachflow: 1
id: reminded
version: 1
roles:
  starter: {required: true}
  coach: {required: true}
started_by: [coach]
initial: open
states:
  open: {}
  done: {final: true}
transitions:
  - {event: close, from: open, to: done, by: [coach]}
activities:
  visit:
    by: [coach]
    due: {week: 1}
    remind: [{before: P1D, to: [starter]}]
    escalate: [{after: P1D, to: [coach]}]
"""


def worker(url: str, folder: Path, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COACHFLOW_DB", "COACHFLOW_NOW")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "coachflow",
            "worker",
            "--db",
            url,
            "--definitions",
            str(folder),
            "--now",
            NOW,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def fill(url: str, folder: Path, count: int) -> None:
    (folder / "reminded.yaml").write_text(DEFINITION, encoding="utf-8")
    store = SqlStore(url)
    try:
        engine = Engine(folder, store=store, clock=FixedClock("2026-09-01T08:00:00+00:00"))
        for i in range(count):
            engine.start(
                "reminded",
                participants={"starter": f"s{i}", "coach": "c"},
                actor="c",
                trajectory_id=f"t{i:05}",
            )
    finally:
        store.dispose()


def check_exactly_once(url: str, count: int) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            timers = conn.execute(
                text("SELECT trajectory_id, input FROM cf_history WHERE kind = 'timer'")
            ).all()
            notices = conn.execute(
                text("SELECT trajectory_id, item FROM cf_outbox WHERE item IS NOT NULL")
            ).all()
            versions = conn.execute(text("SELECT version, next_timer FROM cf_trajectories")).all()
    finally:
        engine.dispose()
    per_trajectory = Counter(tid for tid, _ in timers)
    assert len(per_trajectory) == count, "a trajectory's timers were not handled"
    assert set(per_trajectory.values()) == {2}, "a timer handled twice, or not at all"
    assert len(notices) == len(set(notices)) == 2 * count
    assert {v for v, _ in versions} == {2}
    assert {n for _, n in versions} == {None}  # nothing left in the worker's index


@pytest.mark.parametrize("empty_url", ["sqlite", "postgresql"], indirect=True)
def test_four_workers_one_killed_handle_every_timer_once(empty_url: str, tmp_path: Path) -> None:
    fill(empty_url, tmp_path, COUNT)
    workers = [worker(empty_url, tmp_path, "--once", "--limit", "500") for _ in range(4)]
    time.sleep(1.5)
    workers[0].send_signal(signal.SIGKILL)
    for w in workers[1:]:
        out, err = w.communicate(timeout=600)
        assert w.returncode == 0, err
        assert "pass 1:" in out
    workers[0].wait(timeout=30)
    assert workers[0].returncode == -signal.SIGKILL
    # what the killed one may have left undone, the next pass does
    again = worker(empty_url, tmp_path, "--once")
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert "pass 1:" in out
    check_exactly_once(empty_url, COUNT)


@pytest.mark.parametrize("empty_url", ["sqlite"], indirect=True)
def test_a_worker_stops_cleanly_on_sigterm(empty_url: str, tmp_path: Path) -> None:
    fill(empty_url, tmp_path, 20)
    loop = worker(empty_url, tmp_path, "--interval", "0.2")
    deadline = time.monotonic() + 60
    assert loop.stdout is not None
    lines = [loop.stdout.readline()]
    assert "pass 1: 20 due, 20 reminders, 20 escalations" in lines[0], lines[0]
    while time.monotonic() < deadline and "pass 3:" not in lines[-1]:
        lines.append(loop.stdout.readline())
    loop.send_signal(signal.SIGTERM)
    out, err = loop.communicate(timeout=30)
    assert loop.returncode == 0, err
    assert err == ""
    lines += out.splitlines(keepends=True)
    # whether the signal came during a pass or between two: every pass printed its whole line
    assert len(lines) >= 3
    assert all(" pass " in line and line.endswith("conflicts\n") for line in lines), lines
    assert all(" 0 due," in line for line in lines[1:])  # nothing done twice
    check_exactly_once(empty_url, 20)


@pytest.mark.parametrize("empty_url", ["sqlite"], indirect=True)
def test_worker_usage_and_a_missing_database(empty_url: str, tmp_path: Path) -> None:
    bad = worker(empty_url, tmp_path, "--once", "--interval", "0")
    _, err = bad.communicate(timeout=60)
    assert bad.returncode == 2 and err.count("\n") == 1 and "--interval" in err
    gone = worker(f"sqlite:///{tmp_path}/no/such/dir/x.db", tmp_path, "--once")
    _, err = gone.communicate(timeout=60)
    assert gone.returncode == 3 and "Traceback" not in err


GUARDED = """\
coachflow: 1
id: guarded
version: 1
roles: {coach: {required: true}}
started_by: [coach]
predicates: [ready]
initial: a
states:
  a:
    timeout: {after: P3D, event: tick}
  b: {final: true}
transitions:
  - {event: tick, from: a, to: b, by: [system], when: "ready()"}
"""


@pytest.mark.parametrize("empty_url", ["sqlite"], indirect=True)
def test_a_trajectory_the_worker_cannot_decide_is_reported_and_the_rest_done(
    empty_url: str, tmp_path: Path
) -> None:
    fill(empty_url, tmp_path, 3)
    (tmp_path / "guarded.yaml").write_text(GUARDED, encoding="utf-8")
    store = SqlStore(empty_url)
    try:
        engine = Engine(tmp_path, store=store, clock=FixedClock("2026-09-01T08:00:00+00:00"))
        engine.start("guarded", participants={"coach": "c"}, actor="c", trajectory_id="g1")
    finally:
        store.dispose()
    # the worker has no application predicates: g1's timeout cannot be decided there
    once = worker(empty_url, tmp_path, "--once")
    out, err = once.communicate(timeout=120)
    assert once.returncode == 0, err
    why, summary = err.splitlines()
    assert why == (
        "coachflow: warning: run_due: g1: PredicateError: predicate 'ready' is not registered;"
        " call engine.register_predicate('ready', fn) first"
    )
    assert summary.startswith("coachflow: warning: pass 1: the due work of g1 could not be done")
    assert "Traceback" not in err
    # stamped with the time the worker acts at (--now), not the wall clock, shown in the
    # zone of --tz (Amsterdam's summer time by default)
    assert out.startswith("2026-09-10T10:00:00+02:00 pass 1: 4 due, 3 reminders, 3 escalations")
    assert out.rstrip().endswith("1 failed"), out
