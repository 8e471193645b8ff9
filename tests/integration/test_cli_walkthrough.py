"""The walkthrough of a starter year in ``docs/cli.md`` runs, command by command.

The walkthrough is the part of ``docs/cli.md`` under the heading
``## Walkthrough: a starter year``. Its sessions are fenced as ```` ```shell-session ````
(not ```` ```console ````): they are *one* session over one database, in order, while
``tests/docs/test_docs.py`` runs every ```` ```console ```` block on its own in a fresh
directory. Conventions:

* ``$ COMMAND`` runs ``COMMAND`` with bash, in a scratch directory that holds a copy of
  ``definitions/`` and every ``<!-- file: NAME -->`` block of ``docs/cli.md`` (as the
  console checker of ``tests/docs/test_docs.py`` prepares it), with ``coachflow`` on ``PATH``
  and neither ``COACHFLOW_DB`` nor ``COACHFLOW_NOW`` set; a line ending in ``\\``
  continues on the next line;
* the lines after a command are its output (standard output and standard error), which
  must be exactly the real one (trailing spaces aside); a line ``...`` stands for any
  number of lines, and ``...`` inside a line for any text;
* every command must exit with status 0, unless the next command is ``echo $?``: then
  its output is the status the command before must exit with.

Run ``python tests/integration/test_cli_walkthrough.py`` to print the session with the real output.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI_DOC = ROOT / "docs" / "cli.md"
HEADING = "## Walkthrough: a starter year"
LANGUAGE = "shell-session"
TRAJECTORY = "sanne-2026"

FENCE_RE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
FILE_RE = re.compile(r"<!--\s*file:\s*(?P<name>[\w./-]+)\s*-->")


@dataclass
class Step:
    """One command of the walkthrough, what the doc shows, and what really happened."""

    line: int  # of the command in docs/cli.md
    command: str
    shown: list[str]
    status: int = 0  # the exit status the doc expects
    shows_status: bool = False  # an ``echo $?`` follows
    got_status: int | None = None
    got: list[str] | None = None

    @property
    def where(self) -> str:
        return f"docs/cli.md:{self.line}: $ {self.command}"


# --- reading the document ----------------------------------------------------------------------


def fenced_blocks(lines: list[str]) -> Iterator[tuple[int, str, list[str], list[str]]]:
    """(line of the opening fence, language, body, the three lines above) of every block."""
    i = 0
    while i < len(lines):
        opening = FENCE_RE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence = opening["fence"]
        words = opening["info"].split()
        j = i + 1
        while j < len(lines) and not (
            lines[j].startswith(fence[0] * len(fence)) and not lines[j].strip(fence[0]).strip()
        ):
            j += 1
        if j == len(lines):
            raise AssertionError(f"docs/cli.md:{i + 1}: code block is never closed")
        yield i + 1, (words[0].lower() if words else ""), lines[i + 1 : j], lines[max(0, i - 3) : i]
        i = j + 1


def walkthrough_steps(text: str) -> list[Step]:
    """The commands of the walkthrough, in order, with the output the doc shows."""
    lines = text.splitlines()
    assert HEADING in lines, f"docs/cli.md has no heading {HEADING!r}"
    start = lines.index(HEADING)
    end = next(
        (n for n in range(start + 1, len(lines)) if re.match(r"^#{1,2} ", lines[n])), len(lines)
    )
    section = lines[:end]  # fence parsing must start at the top of the file
    steps: list[Step] = []
    for line, language, body, _ in fenced_blocks(section):
        if line <= start or language != LANGUAGE:
            continue
        k = 0
        while k < len(body):
            if not body[k].startswith("$ "):
                raise AssertionError(f"docs/cli.md:{line + k + 1}: output before any command")
            first = line + k + 1
            command = body[k][2:]
            while command.endswith("\\") and k + 1 < len(body):
                k += 1
                command += "\n" + body[k]
            k += 1
            shown: list[str] = []
            while k < len(body) and not body[k].startswith("$ "):
                shown.append(body[k].rstrip())
                k += 1
            if command.strip() == "echo $?":
                assert steps and not steps[-1].shows_status, (
                    f"docs/cli.md:{first}: echo $? of what?"
                )
                assert len(shown) == 1 and shown[0].isdigit(), f"docs/cli.md:{first}: a status"
                steps[-1].status, steps[-1].shows_status = int(shown[0]), True
                continue
            steps.append(Step(first, command, shown))
    return steps


def file_blocks(text: str) -> dict[str, str]:
    """The ``<!-- file: NAME -->`` blocks of the document, as the console checker writes them."""
    files: dict[str, str] = {}
    for _, _, body, above in fenced_blocks(text.splitlines()):
        named = next((m for m in map(FILE_RE.search, reversed(above)) if m), None)
        if named:
            files[named["name"]] = "\n".join(body) + "\n"
    return files


# --- comparing output --------------------------------------------------------------------------


def matches(shown: list[str], got: list[str]) -> bool:
    """Whether ``got`` is what ``shown`` shows (``...`` lines and ``...`` in lines)."""
    patterns = [
        None if line == "..." else re.compile(".*".join(map(re.escape, line.split("..."))))
        for line in shown
    ]

    def fits(p: int, g: int) -> bool:
        if p == len(patterns):
            return g == len(got)
        pattern = patterns[p]
        if pattern is None:
            return any(fits(p + 1, h) for h in range(g, len(got) + 1))
        return g < len(got) and pattern.fullmatch(got[g]) is not None and fits(p + 1, g + 1)

    return fits(0, 0)


def normalized(lines: list[str]) -> list[str]:
    out = [line.rstrip() for line in lines]
    while out and not out[0]:
        out.pop(0)
    while out and not out[-1]:
        out.pop()
    return out


# --- running it --------------------------------------------------------------------------------


def prepare(workdir: Path, text: str) -> dict[str, str]:
    """The scratch directory and the environment the commands run in."""
    shutil.copytree(ROOT / "definitions", workdir / "definitions")
    for name, content in file_blocks(text).items():
        target = workdir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    bin_dir = workdir / ".bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "coachflow"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m coachflow "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COACHFLOW_")}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        COLUMNS="100",
        LC_ALL="C.UTF-8",
        TZ="UTC",
    )
    return env


def run_steps(steps: list[Step], workdir: Path, env: dict[str, str]) -> None:
    for step in steps:
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", step.command],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
            check=False,
        )
        step.got_status = result.returncode
        step.got = normalized(result.stdout.splitlines())


@dataclass
class Walkthrough:
    steps: list[Step]
    workdir: Path


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory: pytest.TempPathFactory) -> Walkthrough:
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    text = CLI_DOC.read_text(encoding="utf-8")
    steps = walkthrough_steps(text)
    workdir = tmp_path_factory.mktemp("walkthrough")
    run_steps(steps, workdir, prepare(workdir, text))
    return Walkthrough(steps, workdir)


def report(step: Step) -> str:
    got = "\n".join(step.got or [])
    shown = "\n".join(step.shown)
    return f"{step.where}\n--- shown:\n{shown}\n--- got (status {step.got_status}):\n{got}"


# --- the document's shape ---------------------------------------------------------------------


def test_the_walkthrough_covers_the_commands() -> None:
    steps = walkthrough_steps(CLI_DOC.read_text(encoding="utf-8"))
    commands = [" ".join(s.command.replace("\\\n", " ").split()) for s in steps]
    used = {c.split()[1] for c in commands if c.startswith("coachflow ")}
    assert {
        "db",
        "start",
        "record",
        "fire",
        "grant",
        "assign",
        "unassign",
        "show",
        "history",
        "list",
        "agenda",
    } <= used
    assert any(f"start starter-year --id {TRAJECTORY}" in c for c in commands)
    assert any(
        "--calendar nl-2026-2027-midden" in c and "--start-date 2026-08-31" in c for c in commands
    )
    assert any(c.startswith("coachflow history") and "--as dirk" in c for c in commands)
    assert any(c.startswith("coachflow agenda") and "--ics" in c for c in commands)
    assert any("advise_positive" in c for c in commands)
    rejected = [s for s in steps if s.status == 1]
    assert any(" fire " in f" {s.command} " for s in rejected), "no rejected event is shown"
    assert all(s.shown and s.shown[0].startswith("coachflow: rejected") for s in rejected)
    assert any(s.status == 2 for s in steps), "no usage error is shown"
    changes = [c for c in commands if c.split()[1:2] in (["record"], ["fire"], ["grant"])]
    assert changes and all("--now " in c for c in changes), "every change says when it happens"


def test_the_matcher() -> None:
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert matches(["a", "...", "b"], ["a", "b"])
    assert matches(["x ... z"], ["x yy z"])
    assert not matches(["a", "b"], ["a", "b", "c"])
    assert not matches(["x ... z"], ["x yy"])


# --- it runs as shown --------------------------------------------------------------------------


def test_every_command_exits_as_shown(walkthrough: Walkthrough) -> None:
    wrong = [s for s in walkthrough.steps if s.got_status != s.status]
    assert not wrong, "\n\n".join(f"expected status {s.status}\n{report(s)}" for s in wrong)


def test_every_output_is_the_one_shown(walkthrough: Walkthrough) -> None:
    wrong = [s for s in walkthrough.steps if not matches(s.shown, s.got or [])]
    assert not wrong, "\n\n".join(report(s) for s in wrong)


def test_the_year_ends_with_the_advice_in_the_database(walkthrough: Walkthrough) -> None:
    from coachflow import Engine
    from coachflow.store import SqlStore

    store = SqlStore(f"sqlite:///{walkthrough.workdir / 'coachflow.db'}", upgrade=False)
    try:
        engine = Engine(store=store)
        t = engine.get(TRAJECTORY)
        assert t.state == "positive_advice"
        assert t.facts["advice"] == "positive"
        assert t.consents["share_reports"] is True
        assert engine.replay(TRAJECTORY) == t
        history = t.history
        assert history[0].kind == "started" and history[-1].event == "advise_positive"
        assert all(r.at.year in (2026, 2027) for r in history), "--now sets every record's time"
        assert [r.at for r in history] == sorted(r.at for r in history)
        assert t.calendar is not None and t.start_date.isoformat() == "2026-08-31"
    finally:
        store.dispose()


def test_the_calendar_file_was_written(walkthrough: Walkthrough) -> None:
    icals = sorted(walkthrough.workdir.glob("*.ics"))
    assert icals, "the walkthrough writes an iCalendar file with agenda --ics"
    for path in icals:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("BEGIN:VCALENDAR") and "BEGIN:VEVENT" in text
        assert f"UID:{TRAJECTORY}." in text


# --- bugs found while writing the walkthrough (the source is not changed here) ------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COACHFLOW_")}
    return subprocess.run(
        [sys.executable, "-m", "coachflow", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


START = (
    "start",
    "starter-year",
    "--id",
    TRAJECTORY,
    "--as",
    "dirk",
    "--role",
    "starter=sanne",
    "--role",
    "coach=carla",
    "--role",
    "director=dirk",
    "--role",
    "buddy=bram",
    "--start-date",
    "2026-08-31",
    "--calendar",
    "nl-2026-2027-midden",
    "--now",
    "2026-08-31T08:30",
)


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("bugs")
    result = cli(*START, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return cwd


def test_list_counts_one_trajectory_in_the_singular(started: Path) -> None:
    result = cli("list", cwd=started)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "1 trajectory"


def one_clear_line(
    result: subprocess.CompletedProcess[str], statuses: tuple[int, ...] = (1, 2)
) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("coachflow: error: "), result.stderr
    assert result.returncode in statuses


def test_a_database_in_a_missing_directory_is_one_clear_line(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing" / "x.db")
    one_clear_line(cli("list", "--db", missing, cwd=tmp_path), (3,))  # the store-error status


def test_an_unreachable_database_server_is_one_clear_line(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    url = "postgresql+psycopg://nobody@127.0.0.1:1/x"
    one_clear_line(cli("list", "--db", url, cwd=tmp_path), (3,))  # the store-error status


def test_an_unwritable_ics_file_is_one_clear_line(started: Path) -> None:
    one_clear_line(
        cli("agenda", "--person", "carla", "--ics", str(started / "missing" / "c.ics"), cwd=started)
    )


if __name__ == "__main__":  # print the session with the real output
    import tempfile

    doc = CLI_DOC.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as scratch:
        all_steps = walkthrough_steps(doc)
        run_steps(all_steps, Path(scratch), prepare(Path(scratch), doc))
        for s in all_steps:
            print(f"$ {s.command}")
            print("\n".join(s.got or []))
            if s.got_status != 0 or s.shows_status:
                print(f"$ echo $?\n{s.got_status}")
