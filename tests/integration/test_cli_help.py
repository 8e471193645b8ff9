"""The command line explains itself (issue 18): every option and argument of every
command has a help text, ``coachflow --version`` prints the release, and the ``db``
commands offer only the options they use."""

from __future__ import annotations

import argparse
import subprocess
import sys

import coachflow
from coachflow.cli import _build_parser


def _undocumented(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                missing += _undocumented(child, (*path, name))
            continue
        if not action.help or action.help == argparse.SUPPRESS:
            missing.append(" ".join((*path, *(action.option_strings or [action.dest]))))
    return missing


def test_every_option_of_every_command_has_help() -> None:
    assert _undocumented(_build_parser(), ("coachflow",)) == []


def test_version_is_printed_as_a_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "coachflow", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"coachflow {coachflow.__version__}"


def test_the_db_commands_offer_only_what_they_use() -> None:
    for command in ("upgrade", "current", "check"):
        done = subprocess.run(
            [sys.executable, "-m", "coachflow", "db", command, "--now", "2026-09-01"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2, command  # a usage error, not an ignored option
        assert "unrecognized arguments: --now" in done.stderr


def test_unassign_says_from_a_role() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "coachflow", "--help"], capture_output=True, text=True, check=False
    )
    assert "unassign a person from a role" in done.stdout
    assert "assign a person to a role" in done.stdout
