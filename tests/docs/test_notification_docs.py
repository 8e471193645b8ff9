"""docs/time-and-notifications.md is executed: its Python blocks run in order, as one
program (see ``run_doc`` in ``test_schedule_docs.py``), and assert what they show."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_schedule_docs import run_doc

from coachflow import Engine


def test_the_notifications_guide_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ns = run_doc("time-and-notifications.md", tmp_path, monkeypatch)
    assert ns["__blocks__"] >= 4, "the notifications guide lost its examples"
    engine = ns["engine"]
    assert isinstance(engine, Engine)
    # what the guide did, as the outbox holds it: four changes, "mail" acknowledged 3
    kinds = [m.payload["kind"] for m in engine.outbox.messages()]
    assert kinds == ["started", "event", "consent_granted", "event"]
    assert [m.payload["event"] for m in engine.outbox.messages(consumer="mail")] == ["finish"]
    assert ns["seen"] == [("event", "finish")]
    # the worker's part: a reminder, an escalation and a timeout, each once, then a suspension
    worker = ns["worker_engine"]
    assert isinstance(worker, Engine)
    timers = [r.input["item"] for r in worker.history("sam-2026") if r.kind == "timer"]
    assert timers == sorted(set(timers), key=timers.index), "a timer handled twice"
    assert len(timers) == 3
    assert [r.kind for r in worker.history("sue-2026")][-2:] == ["suspended", "resumed"]
    assert ns["queued"] == [
        "activity.reminder:sam-2026:remind:director_visit_w3:P1W:director",
        "activity.overdue:sam-2026:escalate:director_visit_w3:P2W:coordinator",
    ]
