"""One exit-status table for every command (issue 18, ``docs/cli.md``): 0 done, 1 refused by
the rules, 2 bad usage (every malformed date included), 3 a database that cannot be used.

The sweeps walk the parser, so a command added later is covered without a new test: every
command refuses an unknown option with 2, every date option a malformed date with 2, and
every command on a database a file that is no database with 3. The table of 0 and 1 runs
each command once as it should work and once as the rules refuse it, on one database.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import pytest

from coachflow.cli import _build_parser, main
from coachflow.cli._common import day
from tests.conftest import run_cli

ROUTE = """\
coachflow: 1
id: short-coaching
version: 1
title: Kort coachingstraject
roles:
  coachee: {title: Leerkracht, required: true, subject: true}
  adviser: {title: Adviseur, required: true}
  manager: {title: Leidinggevende, assigned_by: [adviser]}
started_by: [adviser]
retention: {confidential: {after_end: P1Y}}
facts:
  goal: {type: str, title: Doel}
  visits: {type: int, default: 0}
consents:
  share_reports: {granted_by: coachee, title: Verslagen delen}
initial: intake
states:
  intake: {title: Intake}
  coaching: {title: Coaching}
  completed: {title: Afgerond, final: true}
transitions:
  - event: hold_intake
    from: intake
    to: coaching
    by: [adviser]
    input:
      goal: {type: str, required: true}
      visits: {type: int}
    set: {goal: input.goal}
  - event: finish
    from: coaching
    to: completed
    by: [adviser]
    when: count.session >= 2
activities:
  session:
    title: Coachingsgesprek
    by: [adviser]
    during: [coaching]
    input:
      report: {type: str, required: true, visible_to: [adviser, coachee]}
  report_w4: {by: [adviser], during: [coaching], due: {week: 4}}
  visit_w2: {by: [adviser], during: [coaching], due: {week: 2}}
"""


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found = []
            for name, child in action.choices.items():
                found += _commands(child, (*path, name))
            return found
    return [(path, parser)]


COMMANDS = _commands(_build_parser())


def _argv(path: tuple[str, ...], parser: argparse.ArgumentParser) -> list[str]:
    """The command with every required argument and option given a harmless value."""
    argv = list(path)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if not action.option_strings:
            argv += ["1"] if action.nargs in ("+",) or action.type is int else ["x"]
        elif action.required:
            argv += [action.option_strings[0], "x"]
    return argv


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        status = exc.code if isinstance(exc.code, int) else 1
    return status, capsys.readouterr().err


def _stdout(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    status = main(argv)
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return captured.out


def _has(parser: argparse.ArgumentParser, option: str) -> bool:
    return any(option in a.option_strings for a in parser._actions)


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("COACHFLOW_DB", raising=False)
    monkeypatch.delenv("COACHFLOW_NOW", raising=False)
    monkeypatch.delenv("COACHFLOW_KEYS_DB", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_an_unknown_option_is_status_2(
    path: tuple[str, ...], parser: argparse.ArgumentParser, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = _run([*_argv(path, parser), "--no-such-option"], capsys)
    assert status == 2, err
    assert "unrecognized arguments: --no-such-option" in err


DATE_OPTIONS = [
    (path, parser, option)
    for path, parser in COMMANDS
    for action in parser._actions
    if action.type is day
    for option in action.option_strings[:1]
]


def test_every_date_option_is_swept() -> None:
    # the sweep below is only as good as its list: these are the date options today
    assert sorted((" ".join(p), o) for p, _, o in DATE_OPTIONS) == [
        ("agenda", "--date"),
        ("purge", "--as-of"),
        ("record", "--on"),
        ("show", "--date"),
        ("start", "--start-date"),
    ]


@pytest.mark.parametrize(
    "bad", ["7-9-2026", "2026-02-30", "20260907", "2026-9-7", "\uff12\uff10\uff12\uff16-09-07"]
)
@pytest.mark.parametrize(
    ("path", "parser", "option"), DATE_OPTIONS, ids=[" ".join(p) for p, *_ in DATE_OPTIONS]
)
def test_a_malformed_date_is_status_2_before_anything_runs(
    path: tuple[str, ...],
    parser: argparse.ArgumentParser,
    option: str,
    bad: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    status, err = _run([*_argv(path, parser), option, bad], capsys)
    assert status == 2, err
    assert f"argument {option}: " in err and repr(bad) in err
    assert not (tmp_path / "coachflow.db").exists()  # refused before the database opened


DATABASE_COMMANDS = [(p, c) for p, c in COMMANDS if _has(c, "--db")]


@pytest.mark.parametrize(
    ("path", "parser"), DATABASE_COMMANDS, ids=[" ".join(p) for p, _ in DATABASE_COMMANDS]
)
def test_a_file_that_is_no_database_is_status_3(
    path: tuple[str, ...],
    parser: argparse.ArgumentParser,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    notes = tmp_path / "notes.db"
    notes.write_bytes(b"not a database, just notes\n" * 200)
    argv = [*_argv(path, parser), "--db", str(notes)]
    if path == ("worker",):
        argv.append("--once")
    status, err = _run(argv, capsys)
    assert status == 3, err
    assert err.startswith("coachflow: error: ") and "notes.db" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert notes.read_bytes() == b"not a database, just notes\n" * 200


# --- 0 and 1, command by command, on one database --------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> list[str]:
    routes = tmp_path / "routes"
    routes.mkdir()
    (routes / "short-coaching.yaml").write_text(ROUTE, encoding="utf-8")
    return ["--db", str(tmp_path / "cf.db"), "--definitions", str(routes)]


START = ["start", "short-coaching", "--as", "ada", "--id", "t1"]
START += ["--role", "coachee=ben", "--role", "adviser=ada"]


def test_every_command_ends_0_when_done_and_1_when_the_rules_refuse(
    db: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    route = str(tmp_path / "routes" / "short-coaching.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text(ROUTE.replace("to: completed", "to: nowhere"), encoding="utf-8")
    now = ["--now", "2026-09-01T09:00"]
    table: list[tuple[list[str], int]] = [
        (["validate", route], 0),
        (["validate", str(broken)], 1),
        (["schema"], 0),
        (["graph", route], 0),
        (["graph", str(broken)], 1),
        (["workload", route], 0),
        (["workload", str(broken)], 1),
        (["db", "upgrade", db[0], db[1]], 0),
        (["db", "current", db[0], db[1]], 0),
        (["db", "check", db[0], db[1]], 0),
        (["start", "short-coaching", "--as", "bob", "--role", "coachee=ben", *db, *now], 1),
        (
            [*START, "--start-date", "2026-09-01", *db, *now],
            0,
        ),
        (["fire", "t1", "hold_intake", "--as", "ben", "--input", "goal=x", *db, *now], 1),
        (["fire", "t1", "hold_intake", "--as", "ada", "--input", "goal=42", *db, *now], 0),
        (["record", "t1", "session", "--as", "ben", "--input", "report=r", *db, *now], 1),
        (["record", "t1", "session", "--as", "ada", "--input", "report=r", *db, *now], 0),
        (["grant", "t1", "share_reports", "--as", "ada", *db, *now], 1),
        (["grant", "t1", "share_reports", "--as", "ben", *db, *now], 0),
        (["withdraw", "t1", "share_reports", "--as", "ada", *db, *now], 1),
        (["withdraw", "t1", "share_reports", "--as", "ben", *db, *now], 0),
        (["assign", "t1", "manager", "mia", "--as", "ben", *db, *now], 1),
        (["assign", "t1", "manager", "mia", "--as", "ada", *db, *now], 0),
        (["unassign", "t1", "manager", "mia", "--as", "ben", *db, *now], 1),
        (["unassign", "t1", "manager", "mia", "--as", "ada", *db, *now], 0),
        (["show", "t1", *db, *now], 0),
        (["show", "nope", *db, *now], 1),
        (["history", "t1", "--as", "ben", *db, *now], 0),
        (["history", "nope", *db, *now], 1),
        (["access-log", "t1", "--as", "ada", *db, *now], 0),
        (["access-log", "t1", "--as", "zoe", *db, *now], 1),
        (["list", *db, *now], 0),
        (["agenda", "--person", "ben", *db, *now], 0),
        (["migrate", "short-coaching", *db, *now], 0),
        (["migrate", "no-such-route", *db, *now], 1),
        (["outbox", "list", *db], 0),
        (["worker", "--once", *db, *now], 0),
        (["export-person", "ben", *db, *now], 0),
        (["erase", "t1", "--reason", "r", "--as", "ada", *db, *now], 1),  # still running
        (["purge", "--dry-run", *db, *now], 0),
        (["calendar", "list"], 0),
        (["definitions", *db[2:]], 0),
        (["definitions", "--definitions", "no-such-dir"], 2),
        (["graph", "no-such-route"], 2),
    ]
    untabled = {("outbox", "ack"), ("calendar", "import")}  # below the table
    for path, _ in COMMANDS:  # every command has its rows
        assert path in untabled or any(tuple(a[: len(path)]) == path for a, _ in table), path
    got = []
    for argv, _ in table:
        status, err = _run(argv, capsys)
        got.append((" ".join(argv[:2]), status, err.splitlines()[:1]))
    assert [(g[0], g[1]) for g in got] == [(" ".join(a[:2]), s) for a, s in table], got
    # outbox ack of a message that does not exist, an import of a file that is none: usage
    assert _run(["outbox", "ack", "me", "999", *db], capsys)[0] == 2
    notes = tmp_path / "notes.ics"
    notes.write_text("not a calendar\n", encoding="utf-8")
    assert _run(["calendar", "import", str(notes)], capsys)[0] == 2


def test_input_for_a_text_field_is_the_text_and_a_field_given_twice_is_usage(
    db: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    now = ["--now", "2026-09-01T09:00"]
    start = ["start", "short-coaching", "--as", "ada", "--id", "t1", "--role", "coachee=ben"]
    assert _run([*start, "--role", "adviser=ada", *db, *now], capsys)[0] == 0
    twice = ["fire", "t1", "hold_intake", "--as", "ada", "--input", "goal=a", "--input", "goal=b"]
    status, err = _run([*twice, *db, *now], capsys)
    assert status == 2, err
    assert "--input 'goal' is given twice" in err
    fired = ["fire", "t1", "hold_intake", "--as", "ada", "--input", "goal=42"]
    status, err = _run([*fired, "--input", "visits=3", "--format", "json", *db, *now], capsys)
    assert status == 0, err
    records = json.loads(_stdout(["history", "t1", "--format", "json", *db, *now], capsys))
    fired_input = [r["input"] for r in records if r["event"] == "hold_intake"]
    assert fired_input == [{"goal": "42", "visits": 3}]  # the text field kept its text


def test_a_history_never_goes_back_in_time(
    db: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    start = ["start", "short-coaching", "--as", "ada", "--id", "t1", "--role", "coachee=ben"]
    later = ["--now", "2026-09-02T09:00"]
    assert _run([*start, "--role", "adviser=ada", *db, *later], capsys)[0] == 0
    earlier = ["--now", "2026-09-01T09:00"]
    fire = ["fire", "t1", "hold_intake", "--as", "ada", "--input", "goal=g", *db]
    status, err = _run([*fire, *earlier], capsys)
    assert status == 2, err
    assert "before the last record of 't1'" in err and "never goes back in time" in err
    for argv in (
        ["record", "t1", "session", "--as", "ada", "--input", "report=r"],
        ["grant", "t1", "share_reports", "--as", "ben"],
        ["assign", "t1", "manager", "mia", "--as", "ada"],
        ["erase", "t1", "--reason", "r", "--as", "ada", "--force"],
    ):
        assert _run([*argv, *db, *earlier], capsys)[0] == 2, argv
    assert _run(["show", "t1", *db, *earlier], capsys)[0] == 0  # reading the past is fine
    assert _run([*fire, *later], capsys)[0] == 0  # the same moment is not going back


def test_a_closed_pipe_ends_quietly(db: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    start = ["start", "short-coaching", "--as", "ada", "--id", "t1", "--role", "coachee=ben"]
    assert _run([*start, "--role", "adviser=ada", *db], capsys)[0] == 0
    real = sys.stdout
    sys.stdout = Closed()
    try:
        status = main(["show", "t1", *db])
    finally:
        sys.stdout = real
    assert status == 0
    assert capsys.readouterr().err == ""


def test_the_table_holds_for_the_real_process(tmp_path: Path) -> None:
    done = run_cli(
        "start", "teacher-coaching", "--as", "x", "--start-date", "7-9-2026", cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert "expected a date written YYYY-MM-DD, got '7-9-2026'" in done.stderr
    assert not (tmp_path / "coachflow.db").exists()


def test_history_as_a_non_participant_says_why_it_shows_nothing(
    db: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    now = ["--now", "2026-09-01T09:00"]
    assert _run([*START, *db, *now], capsys)[0] == 0
    status, err = _run(["history", "t1", "--as", "zoe", *db, *now], capsys)
    assert status == 0
    assert err == (
        "coachflow: notice: 'zoe' takes no part in 't1' (now): "
        "only the input values they wrote are shown\n"
    )
    assert _run(["history", "t1", "--as", "ben", *db, *now], capsys) == (0, "")
    assert _run(["history", "t1", *db, *now], capsys) == (0, "")


def test_times_are_local_to_amsterdam_unless_asked(
    db: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COACHFLOW_TZ", raising=False)
    assert _run([*START, *db, "--now", "2026-09-07T09:00"], capsys)[0] == 0  # 09:00 in summer
    fired = ["fire", "t1", "hold_intake", "--as", "ada", "--input", "goal=g", *db]
    assert _run([*fired, "--now", "2026-11-02T09:00"], capsys)[0] == 0  # 09:00 in winter
    lines = _stdout(["history", "t1", *db], capsys).splitlines()
    assert [line.split()[1] for line in lines] == [
        "2026-09-07T09:00+02:00",
        "2026-11-02T09:00+01:00",
    ]
    records = json.loads(_stdout(["history", "t1", "--format", "json", *db], capsys))
    assert [r["at"] for r in records] == ["2026-09-07T07:00:00+00:00", "2026-11-02T08:00:00+00:00"]
    in_utc = _stdout(["history", "t1", "--tz", "UTC", *db], capsys).splitlines()
    assert [line.split()[1] for line in in_utc] == [
        "2026-09-07T07:00+00:00",
        "2026-11-02T08:00+00:00",
    ]
    monkeypatch.setenv("COACHFLOW_TZ", "America/Curacao")  # the Caribbean Netherlands: -04:00
    assert _stdout(["history", "t1", *db], capsys).split()[1] == "2026-09-07T03:00-04:00"
    monkeypatch.delenv("COACHFLOW_TZ")
    status, err = _run(["history", "t1", "--tz", "Mars/Olympus", *db], capsys)
    assert status == 2 and "--tz: no time zone 'Mars/Olympus'" in err
    # an offset says itself, and a date alone is that day
    record = ["record", "t1", "session", "--as", "ada", "--input", "report=r", *db]
    assert _run([*record, "--now", "2026-11-03T10:00Z"], capsys)[0] == 0
    assert _stdout(["history", "t1", *db], capsys).splitlines()[-1].split()[1] == (
        "2026-11-03T11:00+01:00"
    )
    assert _run([*record, "--now", "2026-11-04", "--format", "json"], capsys)[0] == 0
    last = json.loads(_stdout(["history", "t1", "--format", "json", *db], capsys))[-1]
    assert last["at"] == "2026-11-04T00:00:00+00:00" and last["on"] == "2026-11-04"


def test_a_refusal_of_several_reasons_says_its_headline_once(
    db: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    now = ["--now", "2026-09-01T09:00"]
    assert _run([*START, *db, *now], capsys)[0] == 0
    fire = ["fire", "t1", "hold_intake", "--as", "ada", "--input", "visits=many", *db, *now]
    status, err = _run(fire, capsys)
    assert status == 1
    lines = err.splitlines()
    assert lines[0] == "coachflow: rejected, 2 reasons:", err
    assert len(lines) == 3 and all(line.startswith("  - invalid-input: ") for line in lines[1:])


def test_an_id_is_looked_up_when_a_directory_has_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "teacher-coaching").mkdir()  # cwd is tmp_path
    status, err = _run(["graph", "teacher-coaching"], capsys)
    assert status == 0, err


def test_show_says_what_each_person_can_do_and_the_agenda_by_date(
    db: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    now = ["--now", "2026-09-01T09:00"]
    assert _run([*START, *db, *now], capsys)[0] == 0
    intake = ["fire", "t1", "hold_intake", "--as", "ada", "--input", "goal=g", *db, *now]
    assert _run(intake, capsys)[0] == 0
    text = _stdout(["show", "t1", *db, *now], capsys)
    lines = text.splitlines()
    assert sum(1 for line in lines if line.startswith("t1  short-coaching")) == 1  # once
    can = lines[lines.index("can do now:") + 1 :][:2]
    assert can == ["  ben: fire -; record -", "  ada: fire -; record session, report_w4, visit_w2"]
    data = json.loads(_stdout(["show", "t1", "--format", "json", *db, *now], capsys))
    assert data["allowed_activities"] == {"ben": [], "ada": ["session", "report_w4", "visit_w2"]}
    # by due date (week 2 before week 4, though the file lists week 4 first), undated last
    assert [i["activity"] for i in data["agenda"]] == ["visit_w2", "report_w4", "session"]
    agenda = lines[lines.index("agenda:") + 1 :]
    assert [line.split()[-1] for line in agenda] == ["visit_w2", "report_w4", "session"]
