"""``coachflow access-log ID --as PERSON`` and the logging of ``history --as`` (issue 14):
the real command in processes of its own, on an SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli as cli

from coachflow.store import SqlStore

DEFINITION = """\
coachflow: 1
id: notes
version: 1
roles:
  teacher: {required: true}
  coach: {required: true}
  director: {required: true}
started_by: [director]
consents:
  share: {granted_by: teacher}
initial: open
states:
  open: {}
  closed: {final: true}
transitions:
  - event: note
    from: open
    to: open
    by: [coach]
    input:
      text:
        type: str
        required: true
        visible_to: [coach, teacher]
        disclose_to: {director: share}
      topic: {type: str}
  - event: close
    from: open
    to: closed
    by: [director]
"""


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, ...]:
    """The options of a database holding one trajectory 't' with one confidential note."""
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "notes.yaml").write_text(DEFINITION, encoding="utf-8")
    options = ("--db", str(tmp_path / "cf.db"), "--definitions", str(folder))
    start = ("start", "notes", "--id", "t", "--as", "dirk", "--role", "teacher=tess")
    roles = ("--role", "coach=cas", "--role", "director=dirk", "--now", "2026-09-01T09:00")
    note = ("fire", "t", "note", "--as", "cas", "--input", "text=Lastige klas")
    topic = ("--input", "topic=orde", "--now", "2026-09-01T10:00")
    for command in ((*start, *roles), (*note, *topic)):
        done = cli(*command, *options)
        assert done.returncode == 0, done.stderr
    return options


def stored(options: tuple[str, ...]) -> list[tuple[str, int, str, str]]:
    store = SqlStore(f"sqlite:///{options[1]}", upgrade=False)
    try:
        return [(e.viewer, e.seq, e.field, e.basis) for e in store.access_log("t")]
    finally:
        store.dispose()


def test_history_as_a_person_is_logged_and_without_as_it_is_not(db: tuple[str, ...]) -> None:
    done = cli("history", "t", *db)
    assert done.returncode == 0 and "Lastige klas" in done.stdout
    done = cli("history", "t", "--as", "dirk", *db)
    assert done.returncode == 0 and "Lastige klas" not in done.stdout
    assert stored(db) == []  # nothing confidential shown yet
    done = cli("history", "t", "--as", "tess", "--now", "2026-09-02T08:00", *db)
    assert done.returncode == 0 and "Lastige klas" in done.stdout
    done = cli("history", "t", "--as", "tess", "--format", "json", *db)
    assert done.returncode == 0
    assert stored(db) == [("tess", 1, "text", "role:teacher")] * 2


def test_access_log_prints_one_line_per_read(db: tuple[str, ...]) -> None:
    done = cli("access-log", "t", "--as", "tess", *db)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "0 reads of confidential values\n"
    cli("grant", "t", "share", "--as", "tess", "--now", "2026-09-02T08:00", *db)
    cli("history", "t", "--as", "dirk", "--now", "2026-09-03T12:30", *db)
    cli("history", "t", "--as", "cas", "--now", "2026-09-04T07:15", *db)
    done = cli("access-log", "t", "--as", "tess", *db)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "2026-09-03T12:30+02:00  dirk     1  text  consent:share",
        "2026-09-04T07:15+02:00  cas     1  text  author",
        "2 reads of confidential values",
    ]
    done = cli("access-log", "t", "--as", "dirk", "--format", "json", *db)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {
            "viewer": "dirk",
            "at": "2026-09-03T10:30:00+00:00",
            "trajectory_id": "t",
            "seq": 1,
            "field": "text",
            "basis": "consent:share",
        },
        {
            "viewer": "cas",
            "at": "2026-09-04T05:15:00+00:00",
            "trajectory_id": "t",
            "seq": 1,
            "field": "text",
            "basis": "author",
        },
    ]
    cli("withdraw", "t", "share", "--as", "tess", *db)
    done = cli("access-log", "t", "--as", "dirk", *db)  # he may not read the value now
    assert done.stdout == "0 reads of confidential values\n"
    assert len(stored(db)) == 2  # reading the log is not logged


@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        (["t", "--as", "eve"], 1, "'eve' takes no part in trajectory 't' and wrote nothing"),
        (["nope", "--as", "tess"], 1, "no trajectory 'nope'"),
        (["t", "--as", "bad\u202eid"], 1, "bidirectional control character"),
    ],
)
def test_access_log_refusals_are_one_line(
    db: tuple[str, ...], args: list[str], status: int, says: str
) -> None:
    done = cli("access-log", *args, *db)
    assert done.returncode == status
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("coachflow: error: ") and says in line
    assert "Lastige klas" not in line and "Traceback" not in done.stderr


def test_access_log_needs_a_person(db: tuple[str, ...]) -> None:
    done = cli("access-log", "t", *db)
    assert done.returncode == 2
    assert "the following arguments are required: --as" in done.stderr
