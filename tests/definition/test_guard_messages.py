"""A refusal that reads like a sentence (issue 18): a transition or activity with ``when:``
may carry ``message:`` (a text or a language map), checked by the validator and shown
instead of the raw expression in the language of the engine (``Engine(language=...)``,
``coachflow --lang``), falling back to Dutch; the expression stays on the exception."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import coachflow
from coachflow import Engine, FixedClock, GuardFailed
from tests.conftest import run_cli

ROUTE = """\
coachflow: 1
id: talks
version: 1
title: {nl: Gesprekken, en: Talks}
roles:
  coach: {required: true}
  teacher: {required: true}
initial: open
states:
  open: {title: {nl: Open, en: Open}}
  done: {title: {nl: Klaar, en: Done}, final: true}
transitions:
  - event: close
    from: open
    to: done
    by: [coach]
    when: count.talk >= 2
    message:
      nl: Eerst twee gesprekken, dan afsluiten.
      en: Two talks first, then close.
  - event: cancel
    from: open
    to: done
    by: [teacher]
    when: count.talk == 0
    message: Alleen zolang er geen gesprek was.
activities:
  talk:
    title: {nl: Gesprek, en: Talk}
    by: [coach]
    during: [open]
    when: count.talk < 1
    message: {nl: Eén gesprek is genoeg., en: One talk is enough.}
"""


def _engine(language: str = "nl") -> Engine:
    engine = Engine([coachflow.loads_definition(ROUTE)], clock=FixedClock(), language=language)
    engine.start(
        "talks", participants={"coach": "cas", "teacher": "tim"}, actor="cas", trajectory_id="t"
    )
    return engine


def test_a_refusal_says_the_message_in_the_engines_language() -> None:
    for language, said in (
        ("nl", "Eerst twee gesprekken, dan afsluiten."),
        ("en", "Two talks first, then close."),
    ):
        engine = _engine(language)
        with pytest.raises(GuardFailed) as refused:
            engine.fire("t", "close", actor="cas")
        assert str(refused.value) == said
        assert [(r.code, r.message) for r in refused.value.reasons] == [("guard-failed", said)]
        assert refused.value.guard == "count.talk >= 2"  # the expression is still there
        assert refused.value.values == {"count.talk": 0}
        explained = engine.explain("t", "close", actor="cas")
        assert not explained.allowed and explained.reasons[0].message == said


def test_a_plain_text_message_is_dutch_in_every_language() -> None:
    engine = _engine("en")
    engine.record_activity("t", "talk", actor="cas")
    with pytest.raises(GuardFailed, match=r"^Alleen zolang er geen gesprek was\.$"):
        engine.fire("t", "cancel", actor="tim")


def test_an_activity_refusal_says_its_message() -> None:
    for language, said in (("nl", "Eén gesprek is genoeg."), ("en", "One talk is enough.")):
        engine = _engine(language)
        engine.record_activity("t", "talk", actor="cas")
        with pytest.raises(GuardFailed) as refused:
            engine.record_activity("t", "talk", actor="cas")
        assert str(refused.value) == said
        assert refused.value.guard == "count.talk < 1"


def test_without_a_message_the_expression_is_shown() -> None:
    engine = Engine(
        [
            coachflow.loads_definition(
                ROUTE.replace("    message: Alleen zolang er geen gesprek was.\n", "")
            )
        ],
        clock=FixedClock(),
    )
    engine.start(
        "talks", participants={"coach": "cas", "teacher": "tim"}, actor="cas", trajectory_id="t"
    )
    engine.record_activity("t", "talk", actor="cas")
    with pytest.raises(GuardFailed, match=r"^guard 'count.talk == 0' is false \(count.talk=1\)$"):
        engine.fire("t", "cancel", actor="tim")


def _codes(text: str) -> list[tuple[str, int, int]]:
    return [(d.code, d.line, d.column) for d in coachflow.validate_text(text) if d.is_error]


def test_the_validator_checks_messages() -> None:
    assert _codes(ROUTE) == []
    lone = ROUTE.replace("    when: count.talk == 0\n", "")
    found = _codes(lone)
    assert len(found) == 1 and found[0][0] == "schema", found
    assert found[0][1] == ROUTE.splitlines().index("  - event: cancel") + 1
    blank = ROUTE.replace("Alleen zolang er geen gesprek was.", '" "')
    assert [c for c, *_ in _codes(blank)] == ["schema"]
    empty_map = ROUTE.replace(
        "message: {nl: Eén gesprek is genoeg., en: One talk is enough.}", "message: {}"
    )
    assert [c for c, *_ in _codes(empty_map)] == ["schema"]
    steering = ROUTE.replace("Alleen zolang", '"Alleen\\u001b[31m zolang').replace(
        "gesprek was.\n", 'gesprek was."\n', 1
    )
    assert "control-character" in [c for c, *_ in _codes(steering)]


def _cli(*args: str, cwd: Path, lang: str = "C.UTF-8") -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd, lang=lang)


def test_the_cli_says_it_in_the_language_of_lang(tmp_path: Path) -> None:
    routes = tmp_path / "routes"
    routes.mkdir()
    (routes / "talks.yaml").write_text(ROUTE, encoding="utf-8")
    common = ["--definitions", str(routes), "--now", "2026-09-01T09:00"]
    started = _cli(
        "start",
        "talks",
        "--id",
        "t",
        "--as",
        "cas",
        "--role",
        "coach=cas",
        "--role",
        "teacher=tim",
        *common,
        cwd=tmp_path,
    )
    assert started.returncode == 0, started.stderr
    dutch = _cli("fire", "t", "close", "--as", "cas", *common, cwd=tmp_path)
    assert dutch.returncode == 1
    assert (
        dutch.stderr
        == "coachflow: rejected (guard-failed): Eerst twee gesprekken, dan afsluiten.\n"
    )
    english = _cli("--lang", "en", "fire", "t", "close", "--as", "cas", *common, cwd=tmp_path)
    assert english.stderr == "coachflow: rejected (guard-failed): Two talks first, then close.\n"
    by_lang = _cli("fire", "t", "close", "--as", "cas", *common, cwd=tmp_path, lang="en_GB.UTF-8")
    assert by_lang.stderr == english.stderr
    overridden = _cli(
        "--lang",
        "nl",
        "fire",
        "t",
        "close",
        "--as",
        "cas",
        *common,
        cwd=tmp_path,
        lang="en_GB.UTF-8",
    )
    assert overridden.stderr == dutch.stderr
    titles = _cli("--lang", "en", "graph", str(routes / "talks.yaml"), cwd=tmp_path)
    assert 'state "Done" as done' in titles.stdout
    assert 'state "Klaar" as done' in _cli("graph", str(routes / "talks.yaml"), cwd=tmp_path).stdout
    assert _cli("--lang", "de", "definitions", cwd=tmp_path).returncode == 2
