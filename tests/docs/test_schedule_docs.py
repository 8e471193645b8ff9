"""docs/schedules.md and docs/confidentiality.md are executed.

Each document's Python blocks run in order, as one program with one namespace, in a
scratch directory that holds every block marked ``<!-- file: NAME -->`` in that document
(the same convention as the console sessions of ``tests/docs/test_docs.py``). The examples
assert what they show; this test also checks that they still show the essentials.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCE = re.compile(
    r"^(?P<fence>```+)(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.S | re.M,
)
FILE = re.compile(r"<!--\s*file:\s*(?P<name>[\w./-]+)\s*-->")


def blocks(doc: Path) -> list[tuple[str, str, str]]:
    """``(info string, body, the three lines above)`` of every fenced block."""
    text = doc.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        above = "\n".join(text[: match.start()].splitlines()[-3:])
        found.append((match["info"].strip(), match["body"], above))
    return found


def run_doc(name: str, directory: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Write the document's files into ``directory`` and run its Python blocks there."""
    doc = DOCS / name
    python = []
    for info, body, above in blocks(doc):
        named = FILE.search(above)
        if named:
            target = directory / named["name"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(body, encoding="utf-8")
        if info == "python":
            python.append(body)
    monkeypatch.chdir(directory)
    namespace: dict[str, Any] = {"__name__": doc.stem.replace("-", "_") + "_doc"}
    for number, body in enumerate(python, 1):
        exec(compile(body, f"{doc.name} block {number}", "exec"), namespace)
    namespace["__blocks__"] = len(python)
    return namespace


def test_schedules_doc_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from coachflow import Engine, SchoolCalendar

    ns = run_doc("schedules.md", tmp_path, monkeypatch)
    assert ns["__blocks__"] >= 9, "the schedules guide lost its examples"
    engine = ns["engine"]
    assert isinstance(engine, Engine) and isinstance(ns["calendar"], SchoolCalendar)
    sam = engine.get("starter-sam")
    assert sam.state == "completed"
    kinds = [r.kind for r in sam.history]
    assert kinds.count("activity") == 12
    statuses = {i.status for i in engine.agenda("starter-sam", as_of="2027-08-15")}
    assert statuses == {"done", "missed"}
    assert ns["definition"].workload(4)["coach"] == 42.0


def test_confidentiality_doc_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from coachflow import REDACTED

    ns = run_doc("confidentiality.md", tmp_path, monkeypatch)
    assert ns["__blocks__"] >= 5, "the confidentiality guide lost its examples"
    engine = ns["engine"]
    trajectory_id = ns["t"].id
    # the director reads no agreements without the consent, and never what was hidden
    # from him while it is withdrawn
    assert not engine.get(trajectory_id).consents["report_to_director"]
    for record in engine.history(trajectory_id, viewer="p-dirk"):
        if record.kind == "activity" and record.actor != "p-dirk":
            assert record.input.get("agreements", REDACTED) is REDACTED
