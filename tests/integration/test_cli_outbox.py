"""``coachflow outbox list|ack``, run as the real command (``sys.executable -m coachflow``)
on a SQLite file: the messages of the changes other commands made, and acknowledging them."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli

START = [
    "start", "starter-year", "--id", "y", "--as", "dir1", "--role", "starter=ann",
    "--role", "coach=carl", "--role", "director=dir1", "--role", "buddy=bo",
    "--calendar", "nl-2026-2027-midden", "--start-date", "2026-08-31",
    "--now", "2026-08-31T09:00",
]  # fmt: skip


def test_outbox_list_and_ack(tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "o.db")]
    assert run_cli(*START, *db).returncode == 0
    recorded = run_cli(
        "record", "y", "tripartite_w1", "--as", "dir1", "--input", "work_points=Geheim",
        "--now", "2026-09-01T09:00", *db,
    )  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    listed = run_cli("outbox", "list", *db)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "       1  2026-08-31T09:00:00+02:00  trajectory.changed  y v0  started - by dir1",
        "       2  2026-09-01T09:00:00+02:00  trajectory.changed  y v1  activity tripartite_w1"
        " by dir1",
        "2 messages",
    ]
    assert "Geheim" not in listed.stdout  # a message never holds an input value
    as_json = json.loads(run_cli("outbox", "list", "--format", "json", *db).stdout)
    assert [m["key"] for m in as_json] == ["trajectory.changed:y:0", "trajectory.changed:y:1"]
    acked = run_cli("outbox", "ack", "mail", "1", *db)
    assert (acked.returncode, acked.stdout) == (0, "1 acknowledged for mail\n")
    pending = run_cli("outbox", "list", "--consumer", "mail", "--format", "json", *db)
    assert [m["id"] for m in json.loads(pending.stdout)] == [2]
    unknown = run_cli("outbox", "ack", "mail", "2", "99", *db)
    assert unknown.returncode == 2
    assert unknown.stderr == "coachflow: error: no outbox message 99\n"
    # nothing was acknowledged: message 2 is still pending for "mail"
    again = run_cli("outbox", "list", "--consumer", "mail", "--format", "json", *db)
    assert [m["id"] for m in json.loads(again.stdout)] == [2]
    bad = run_cli("outbox", "ack", "mail", "two", *db)
    assert bad.returncode == 2 and "invalid int value" in bad.stderr


def test_outbox_refuses_ids_out_of_range_in_one_line(tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "o.db")]
    assert run_cli(*START, *db).returncode == 0
    for command in (
        ["outbox", "ack", "mail", "99999999999999999999"],
        ["outbox", "list", "--after", "99999999999999999999"],
        ["outbox", "list", "--after", "-1"],
    ):
        result = run_cli(*command, *db)
        assert result.returncode == 2, (command, result.stderr)
        [line] = result.stderr.splitlines()
        assert line.startswith("coachflow: error: ") and "Traceback" not in result.stderr
