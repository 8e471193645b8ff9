"""docs/privacy.md is executed: its Python blocks run in order, as one program (see
``run_doc`` in ``test_schedule_docs.py``), and assert what they show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_schedule_docs import run_doc


def test_the_privacy_guide_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ns = run_doc("privacy.md", tmp_path, monkeypatch)
    assert ns["__blocks__"] >= 2, "the privacy guide lost its examples"
    export = ns["export"]
    assert export["schema"] == "coachflow.person-export/1"
    assert "Alleen voor de directeur" not in json.dumps(export)
    assert set(export["trajectories"][0]) == {
        "trajectory",
        "definition",
        "state",
        "started_at",
        "roles",
        "roles_held",
        "subject",
        "records",
        "withheld",
        "consents",
        "access_log",
    }
