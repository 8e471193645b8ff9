"""``coachflow export-person``, ``erase`` and ``purge`` (issue 17), run as the real command on a
SQLite file (and a key database of its own): what a person's export shows, an erasure that
is refused while the trajectory runs and then done, a purge by the declared retention."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli

DEFINITION = """\
coachflow: 1
id: private
version: 1
roles:
  starter: {required: true, subject: true}
  coach: {required: true}
facts:
  help_question: {type: str, personal: true}
initial: open
states:
  open: {}
  closed: {final: true}
transitions:
  - event: ask
    from: open
    to: open
    by: [starter]
    input:
      question: {type: str, required: true, personal: true}
    set: {help_question: input.question}
  - event: close
    from: open
    to: closed
    by: [coach]
    input:
      notes: {type: str, visible_to: [coach, starter]}
retention:
  confidential: {after_end: P1Y}
  personal: {after_end: P2Y}
"""
QUESTION = "HULPVRAAG-3d1e"
NOTES = "NOTITIE-8b2f"


def setup(tmp_path: Path) -> list[str]:
    folder = tmp_path / "definitions"
    folder.mkdir()
    (folder / "private.yaml").write_text(DEFINITION)
    options = ["--db", str(tmp_path / "p.db"), "--keys-db", str(tmp_path / "keys.db")]
    options += ["--definitions", str(folder)]
    steps = [
        [
            "start", "private", "--id", "p1", "--as", "cas", "--role", "starter=sam",
            "--role", "coach=cas", "--now", "2026-09-01T09:00",
        ],
        [
            "fire", "p1", "ask", "--as", "sam", "--input", f"question={QUESTION}",
            "--now", "2026-09-02T09:00",
        ],
    ]  # fmt: skip
    for step in steps:
        done = run_cli(*step, *options)
        assert done.returncode == 0, done.stderr
    return options


def test_export_erase_and_purge_on_the_command_line(tmp_path: Path) -> None:
    options = setup(tmp_path)
    for file in ("p.db", "p.db-wal", "keys.db"):  # encrypted, the keys kept apart
        path = tmp_path / file
        assert not path.exists() or QUESTION.encode() not in path.read_bytes()
    exported = run_cli("export-person", "sam", "--format", "json", *options)
    assert exported.returncode == 0, exported.stderr
    export = json.loads(exported.stdout)
    assert export["schema"] == "coachflow.person-export/1"
    [part] = export["trajectories"]
    assert part["subject"] and QUESTION in exported.stdout
    text = run_cli("export-person", "sam", *options)
    assert text.stdout.splitlines()[-1] == "1 trajectory holds data of sam"
    refused = run_cli("erase", "p1", "--reason", "verzoek", "--as", "fg", *options)
    assert refused.returncode == 1
    assert refused.stderr.startswith("coachflow: error: trajectory 'p1' is still running")
    closed = run_cli(
        "fire", "p1", "close", "--as", "cas", "--input", f"notes={NOTES}",
        "--now", "2026-09-03T09:00", *options,
    )  # fmt: skip
    assert closed.returncode == 0, closed.stderr
    dry = run_cli("purge", "--dry-run", "--as-of", "2027-09-03", *options)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "p1  confidential  due 2027-09-03  1 values",
        "would erase 1 values of 1 trajectory",
    ]
    erased = run_cli(
        "erase", "p1", "--class", "personal", "--reason", "verzoek van Sam", "--as", "fg",
        "--now", "2026-10-01T09:00", *options,
    )  # fmt: skip
    assert erased.returncode == 0, erased.stderr
    assert erased.stdout == (
        "p1: erased personal: 2 values (fact.help_question, input.ask.question)\n"
    )
    again = run_cli("erase", "p1", "--class", "personal", "--reason", "x", "--as", "fg", *options)
    assert again.stdout == "p1: nothing left to erase\n"
    purged = run_cli("purge", "--as-of", "2027-09-03", "--format", "json", *options)
    assert purged.returncode == 0, purged.stderr
    assert json.loads(purged.stdout)["erased"] == [
        {
            "trajectory_id": "p1",
            "classes": ["confidential"],
            "due": "2027-09-03",
            "values": 1,
            "fields": ["input.close.notes"],
        }
    ]
    history = run_cli("history", "p1", "--as", "sam", "--format", "json", *options)
    assert QUESTION not in history.stdout and NOTES not in history.stdout
    # the question, its fact where ask set it and where the erasure did, and the notes
    assert history.stdout.count('"erased": true') == 4
    assert run_cli("purge", "--as-of", "2040-01-01", *options).stdout == (
        "erased 0 values of 0 trajectories\n"
    )


def test_bad_purge_and_erase_values_are_usage_errors(tmp_path: Path) -> None:
    options = setup(tmp_path)
    bad_day = run_cli("purge", "--as-of", "next year", *options)
    assert bad_day.returncode == 2
    assert bad_day.stderr.endswith(
        "coachflow purge: error: argument --as-of: "
        "expected a date written YYYY-MM-DD, got 'next year'\n"
    )
    bad_class = run_cli("erase", "p1", "--class", "all", "--reason", "x", "--as", "fg", *options)
    assert bad_class.returncode == 2 and "invalid choice" in bad_class.stderr
    no_reason = run_cli("erase", "p1", "--as", "fg", *options)
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    unknown = run_cli("erase", "nope", "--reason", "x", "--as", "fg", *options)
    assert unknown.returncode == 1 and unknown.stderr.count("\n") == 1
