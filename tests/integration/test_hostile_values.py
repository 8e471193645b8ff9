"""Hostile values (issue 11): integers out of range, control characters in texts, and
person and trajectory ids that hide or spoof.

Every integer a definition or a trajectory holds fits a signed 64-bit integer (versions a
32-bit one); a title, description or expression holds no control character; an id holds
nothing that shows as nothing or reorders what follows. Each is refused where it enters,
with a located diagnostic or a clear exception, and the CLI never writes a control
character it got from stored data to the terminal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import coachflow
from coachflow import (
    DefinitionError,
    Engine,
    FixedClock,
    GuardFailed,
    InvalidId,
    InvalidInput,
    id_problem,
)
from coachflow.cli import main

Diags = Callable[[str | bytes], list[tuple[str, int, int]]]

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
T0 = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)

BASE = """\
coachflow: 1
id: demo
version: 1
roles:
  coach: {title: Coach, assigned_by: [boss], on_assign: {set: {n: n + 1}}}
  boss: {}
facts:
  n: {type: int, default: 0}
  note: {type: str}
consents:
  share: {granted_by: coach}
initial: start
states:
  start: {title: Begin}
  done: {final: true}
transitions:
  - event: log
    from: start
    to: start
    by: [coach]
    input:
      k: {type: int}
      text: {type: str}
    set: {n: n + 1, note: input.text}
  - event: finish
    from: start
    to: done
    by: [coach]
    when: consent.share
activities:
  visit:
    by: [coach]
    input:
      k: {type: int}
"""
#  1 coachflow   8 n          14 start       20 by          26 from
#  2 id          9 note       15 done        21 input       27 to
#  3 version    10 consents   16 transitions 22 k           28 by
#  4 roles      11 share      17 - event     23 text        29 when
#  5 coach      12 initial    18 from        24 set         30 activities
#  6 boss       13 states     19 to          25 - event     31 visit
#  7 facts


def at(text: str, needle: str) -> tuple[int, int]:
    """The 1-based line and column where ``needle`` first occurs in ``text``."""
    offset = text.index(needle)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def test_base_is_valid() -> None:
    assert coachflow.validate_text(BASE) == []


def refused(text: str) -> list[tuple[str, int, int]]:
    """The located errors of ``text``; loading it raises DefinitionError (nothing else)."""
    diagnostics = coachflow.validate_text(text)
    with pytest.raises(DefinitionError):
        coachflow.loads_definition(text)
    return [(d.code, d.line, d.column) for d in diagnostics if d.is_error]


# --- integers in a definition file -------------------------------------------------------------

HEX_4000 = "0x" + "f" * 4000


@pytest.mark.parametrize(
    ("old", "new", "line", "column"),
    [
        ("version: 1\n", f"version: 1\ndescription: {HEX_4000}\n", 4, 14),
        ("version: 1\n", "version: 1\ndescription: 0o" + "7" * 5000 + "\n", 4, 14),
        ("version: 1\n", "version: 1\ndescription: " + "9" * 5000 + "\n", 4, 14),
        ("{title: Coach,", f"{{title: {HEX_4000},", 5, 18),
        ("start: {title: Begin}", f"start: {{title: {{en: {HEX_4000}}}}}", 14, 23),
        ("note: {type: str}", f"note: {{type: str, default: {HEX_4000}}}", 9, 30),
        ("version: 1", f"version: {HEX_4000}", 3, 10),
        ("coachflow: 1", f"coachflow: {HEX_4000}", 1, 12),
        ("n: {type: int, default: 0}", f"n: {{type: int, default: {HEX_4000}}}", 8, 27),
        ("n: {type: int, default: 0}", "n: {type: int, min: 0o" + "7" * 5000 + "}", 8, 23),
        ("set: {n: n + 1,", f"set: {{n: {HEX_4000},", 24, 14),
    ],
    ids=[
        "description-hex",
        "description-octal",
        "description-decimal",
        "title-hex",
        "title-language-hex",
        "str-default-hex",
        "version-hex",
        "format-hex",
        "int-default-hex",
        "int-min-octal",
        "effect-hex",
    ],
)
def test_a_huge_integer_anywhere_is_one_located_schema_error(
    old: str, new: str, line: int, column: int
) -> None:
    text = BASE.replace(old, new)
    assert (line, column) == at(text, "0x" if "0x" in new else "0o" if "0o" in new else "9999")
    assert refused(text) == [("schema", line, column)]
    [error] = [d for d in coachflow.validate_text(text) if d.is_error]
    assert "out of range" in error.message
    assert len(error.message) < 200, "the literal is cut, not repeated"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (str(INT64_MAX), True),
        (str(INT64_MIN), True),
        ("0x7fffffffffffffff", True),
        (str(INT64_MAX + 1), False),
        (str(INT64_MIN - 1), False),
        ("0x8000000000000000", False),
        ("0o1000000000000000000000", False),
    ],
)
def test_int_fact_bounds_fit_a_signed_64_bit_integer(value: str, valid: bool) -> None:
    for key in ("default", "min", "max"):
        text = BASE.replace("n: {type: int, default: 0}", f"n: {{type: int, {key}: {value}}}")
        if valid:
            assert [d for d in coachflow.validate_text(text) if d.is_error] == [], key
        else:
            assert refused(text) == [("schema", *at(text, value))], key
    text = BASE.replace(
        "n: {type: int, default: 0}", f"n: {{type: list, items: int, default: [{value}]}}"
    )
    text = text.replace("n: n + 1", "n: []").replace("{n: n + 1}", "{n: []}")
    if valid:
        assert [d for d in coachflow.validate_text(text) if d.is_error] == []
    else:
        assert refused(text) == [("schema", *at(text, value))]


@pytest.mark.parametrize(
    ("version", "valid"),
    [("1", True), ("2147483647", True), ("2147483648", False), ("9223372036854775807", False)],
)
def test_version_fits_the_sql_column(version: str, valid: bool, diags: Diags) -> None:
    text = BASE.replace("version: 1", f"version: {version}")
    assert diags(text) == ([] if valid else [("schema", 3, 10)])
    if not valid:
        [d] = coachflow.validate_text(text)
        assert "at most 2147483647" in d.message


def test_migrates_from_version_fits_the_sql_column(diags: Diags) -> None:
    text = BASE.replace("version: 1", "version: 2") + (
        "migrates_from:\n  version: 2147483648\n  states: {start: start, done: done}\n"
    )
    assert ("schema", 36, 12) in diags(text)


@pytest.mark.parametrize(
    ("spec", "valid"),
    [
        ("due: {week: 2000}", True),
        ("due: {week: 2001}", False),
        ("due: {days: 14000}", True),
        ("due: {days: 14001}", False),
        ("due: {days: 99999999999}", False),
        ("at_most: 9223372036854775807", True),
        ("hours: {coach: 9223372036854775808}", False),
    ],
)
def test_week_and_day_counts_stay_within_the_calendar(spec: str, valid: bool) -> None:
    text = BASE + f"  other: {{by: [coach], {spec}}}\n"
    if valid:
        assert [d for d in coachflow.validate_text(text) if d.is_error] == []
    else:
        assert [code for code, *_ in refused(text)] == ["schema"]


def test_weeks_of_a_state_stay_within_the_calendar(diags: Diags) -> None:
    good = BASE.replace("start: {title: Begin}", "start: {weeks: {from: 1, to: 2000}}")
    assert diags(good) == []
    bad = BASE.replace("start: {title: Begin}", "start: {weeks: {from: 1, to: 2001}}")
    assert diags(bad) == [("schema", *at(bad, "2001"))]


@pytest.mark.parametrize(
    ("expression", "valid"),
    [
        ("n < 9223372036854775807", True),
        ("n > -9223372036854775808", True),
        ("n < 1_000", True),  # Python's digit separators are harmless
        ("n < 0x7fffffffffffffff", True),
        ("n < 9223372036854775808", False),
        ("n > -9223372036854775809", False),
        ("n < 0x" + "f" * 1950, False),  # ~2,350 digits: within the expression length limit
        ("n in [1, 99999999999999999999]", False),
    ],
)
def test_integer_literals_in_expressions_fit_64_bits(
    expression: str, valid: bool, diags: Diags
) -> None:
    guard = f"consent.share and {expression}"
    text = BASE.replace("    when: consent.share\n", f"    when: {json.dumps(guard)}\n")
    assert diags(text) == ([] if valid else [("schema", 29, 11)])


@pytest.mark.parametrize(
    "value",
    ['"99999999999999999999"', '"' + "9" * 5000 + '"', '"\u00b2"', '"-\u00b2"', '"\u0661\u0662"'],
    ids=["20-digits", "5000-digits", "superscript-two", "minus-superscript", "arabic-digits"],
)
def test_an_effect_written_as_digits_never_raises(value: str) -> None:
    text = BASE.replace("set: {n: n + 1,", f"set: {{n: {value},")
    errors = refused(text)
    assert errors and all((line, column) == (24, 14) for _, line, column in errors)


def test_a_definition_built_in_python_is_bounded_too() -> None:
    from pydantic import ValidationError

    definition = coachflow.loads_definition(BASE)
    data = definition.model_dump(by_alias=True)
    with pytest.raises(ValidationError):
        coachflow.Definition.model_validate({**data, "version": 2**31})
    data["facts"]["n"]["default"] = 2**63
    with pytest.raises(ValidationError):
        coachflow.Definition.model_validate(data)


# --- integers at run time -----------------------------------------------------------------------


DEFINITIONS = [coachflow.loads_definition(BASE)]
"""What this module's ``engine`` fixture (tests/conftest.py) serves."""
CLOCK_AT = T0
"""When this module's ``clock`` fixture (tests/conftest.py) stands."""


def started(engine: Engine, **facts: Any) -> coachflow.Trajectory:
    return engine.start(
        "demo", participants={"coach": "c1", "boss": "b1"}, actor="c1", facts=facts or None
    )


@pytest.mark.parametrize(
    "value",
    [INT64_MAX + 1, INT64_MIN - 1, 2**64, 10**5000, -(10**5000)],
    ids=["2**63", "-2**63-1", "2**64", "10**5000", "-10**5000"],
)
def test_an_int_fact_at_start_fits_64_bits(engine: Engine, value: int) -> None:
    with pytest.raises(InvalidInput) as raised:
        started(engine, n=value)
    assert raised.value.fields == ["n"]
    assert "signed 64-bit integer" in str(raised.value)
    assert list(engine.trajectories()) == []
    assert started(engine, n=INT64_MAX).facts["n"] == INT64_MAX


@pytest.mark.parametrize(
    "value", [INT64_MAX + 1, 2**64, 10**5000], ids=["2**63", "2**64", "10**5000"]
)
def test_an_int_input_fits_64_bits(engine: Engine, value: int) -> None:
    t = started(engine)
    for call in (
        lambda: engine.fire(t.id, "log", actor="c1", input={"k": value}),
        lambda: engine.record_activity(t.id, "visit", actor="c1", input={"k": value}),
    ):
        with pytest.raises(InvalidInput) as raised:
            call()
        assert raised.value.fields == ["k"]
        assert len(str(raised.value)) < 300
    assert engine.get(t.id) == t


def test_a_huge_int_where_a_string_is_expected_is_refused_not_a_crash(engine: Engine) -> None:
    t = started(engine)
    with pytest.raises(InvalidInput) as raised:
        engine.fire(t.id, "log", actor="c1", input={"text": 10**5000})
    assert "digits" in str(raised.value)
    with pytest.raises(InvalidInput):
        engine.fire(t.id, "log", actor="c1", input={10**5000: 1})  # type: ignore[dict-item]
    assert engine.get(t.id) == t


def test_an_effect_that_would_overflow_is_refused(engine: Engine) -> None:
    t = started(engine, n=INT64_MAX)
    with pytest.raises(GuardFailed) as raised:
        engine.fire(t.id, "log", actor="c1")
    assert "largest integer a fact can hold" in str(raised.value)
    assert raised.value.values == {"n": INT64_MAX}
    assert engine.get(t.id) == t
    assert not engine.explain(t.id, "log", actor="c1", input={})
    assert "log" not in engine.allowed_events(t.id, actor="c1")


def test_a_role_hook_that_would_overflow_is_refused(engine: Engine) -> None:
    t = started(engine, n=INT64_MAX)
    with pytest.raises(GuardFailed) as raised:
        engine.assign(t.id, "coach", "c2", actor="b1", replacing="c1")
    assert "on_assign" in str(raised.value)
    assert engine.get(t.id) == t


def test_a_start_date_at_the_end_of_the_calendar_is_refused(engine: Engine) -> None:
    with pytest.raises(InvalidInput) as raised:
        engine.start("demo", participants={"coach": "c1"}, actor="c1", start_date="9999-12-01")
    assert raised.value.fields == ["start_date"]
    assert list(engine.trajectories()) == []


def test_due_weeks_at_their_bound_start_on_a_sql_store(tmp_path: Path) -> None:
    from coachflow.store import SqlStore

    text = BASE + "  report: {by: [coach], due: {week: 2000}}\n"
    text += "  later: {by: [coach], due: {days: 14000}}\n"
    store = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        engine = Engine([coachflow.loads_definition(text)], store=store, clock=FixedClock(T0))
        t = engine.start("demo", participants={"coach": "c1"}, actor="c1", start_date="9899-12-31")
        assert engine.next_due(t) is not None
        assert engine.agenda(t.id)
    finally:
        store.dispose()


# --- control characters in texts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("{title: Coach,", '{title: "Co\\e[2Jach",', '"Co'),
        ("{title: Coach,", '{title: "Coach\\n",', '"Coach'),
        ("{title: Coach,", '{title: "Co\\tach",', '"Co'),
        ("{title: Coach,", '{title: {nl: Coach, en: "Co\\x9bach"},', '"Co'),
        ("{title: Coach,", '{title: "Coach\\x7f",', '"Coach'),
        ("start: {title: Begin}", 'start: {title: "Begin\\u0007"}', '"Begin'),
        ("version: 1\n", 'version: 1\ntitle: "demo\\e]0;pwned\\a"\n', '"demo'),
        ("version: 1\n", 'version: 1\ndescription: "line\\rfeed"\n', '"line'),
        ("version: 1\n", 'version: 1\ndescription: {en: "\\e[31mred"}\n', '"\\e[31m'),
        ("note: {type: str}", 'note: {type: str, default: "\\e[2J"}', '"\\e[2J'),
        ("k: {type: int}\n      text", 'k: {type: int, title: "\\x1b"}\n      text', '"\\x1b'),
        (
            "    when: consent.share\n",
            "    when: \"consent.share and '\\e' == note\"\n",
            '"consent',
        ),
        ("note: input.text}", "note: \"'\\e[2J'\"}", "\"'\\e"),
        ("  visit:\n", '  visit:\n    title: "\\e[5mvisit"\n', '"\\e[5m'),
        ("  visit:\n", "  visit:\n    expected: \"'\\x85' != 'x'\"\n", "\"'\\x85"),
        ("  visit:\n", "  visit:\n    when: \"'\\a' != 'x'\"\n", "\"'\\a"),
        ("on_assign: {set: {n: n + 1}}", 'on_assign: {set: {n: "n\\x0c+ 1"}}', '"n\\x0c'),
    ],
    ids=[
        "role-title-esc",
        "title-line-feed",
        "title-tab",
        "title-language-csi",
        "title-del",
        "state-title-bel",
        "definition-title-osc",
        "description-cr",
        "description-language-esc",
        "str-default",
        "input-title",
        "guard",
        "effect",
        "activity-title",
        "activity-expected-nel",
        "activity-when-nul",
        "role-hook-effect",
    ],
)
def test_control_character_in_a_text(old: str, new: str, needle: str) -> None:
    text = BASE.replace(old, new)
    assert new in text
    assert refused(text) == [("control-character", *at(text, needle))]
    [d] = [d for d in coachflow.validate_text(text) if d.is_error]
    assert "U+" in d.message and "control character" in d.message
    assert "\x1b" not in d.message and "\x9b" not in d.message


@pytest.mark.parametrize(
    "description",
    ['"two\\nlines"', '"a\\ttab"', "|\n  two\n  lines\n", '{en: "x\\ny", nl: "\\u00e9\\u202e"}'],
)
def test_descriptions_keep_line_feeds_and_tabs(description: str, diags: Diags) -> None:
    assert diags(BASE.replace("version: 1\n", f"version: 1\ndescription: {description}\n")) == []


def test_a_definition_built_in_python_is_checked_for_control_characters() -> None:
    definition = coachflow.loads_definition(BASE)
    data = definition.model_dump(by_alias=True, exclude_unset=True)
    data["states"]["start"]["title"] = "Begin\x1b[2J"
    bad = coachflow.Definition.model_validate(data)
    assert [d.code for d in coachflow.check_definition(bad)] == ["control-character"]
    with pytest.raises(DefinitionError):
        Engine([bad])


# --- person and trajectory ids ---------------------------------------------------------------

BAD_IDS = {
    "empty": "",
    "spaces-only": "   ",
    "tab-only": "\t",
    "ideographic-space-only": "\u3000",
    "leading-space": " ann",
    "trailing-space": "ann ",
    "zero-width-space": "an\u200bn",
    "zero-width-non-joiner": "an\u200cn",
    "zero-width-joiner": "an\u200dn",
    "word-joiner": "ann\u2060",
    "bom": "\ufeffann",
    "lre": "\u202aann",
    "rle": "\u202bann",
    "pdf": "ann\u202c",
    "lro": "\u202dann",
    "rlo": "ann\u202e",
    "lri": "\u2066ann",
    "rli": "\u2067ann",
    "fsi": "\u2068ann",
    "pdi": "ann\u2069",
    "rlm": "ann\u200f",
    "lone-surrogate": "ann\udcff",
    "esc": "ann\x1b[31m",
    "line-feed": "ann\nbob",
    "c1": "ann\x85",
    "del": "ann\x7f",
    "line-separator": "ann\u2028",
    "nbsp": "ann\u00a0bob",
    "private-use": "ann\ue000",
    "unassigned": "ann\u0378",
    "hangul-filler": "\u3164",
    "tag-character": "ann\U000e0041",
    "not-nfc": "Zoe\u0308",
    "too-long": "x" * 201,
    "variation-selector": "ann\ufe0f",
    "supplementary-variation-selector": "ann\U000e0100",
    "mongolian-variation-selector": "ann\u180b",
    "combining-grapheme-joiner": "an\u034fn",
    "khmer-invisible-vowel": "ann\u17b4",
    "only-a-combining-mark": "\u0301",
    "leading-combining-mark": "\u0301bob",
}
GOOD_IDS = ["ann", "Jan de Vries", "zoë@school.nl", "李雷", "o'brien-2", "x" * 200, "١٢٣"]


@pytest.mark.parametrize("person", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_id_rule_refuses(person: str) -> None:
    problem = id_problem(person)
    assert problem is not None
    assert not any(c in problem for c in "\x1b\u202e\n")


@pytest.mark.parametrize("person", GOOD_IDS)
def test_id_rule_accepts(person: str) -> None:
    assert id_problem(person) is None


def test_id_rule_refuses_what_is_not_a_string() -> None:
    assert id_problem(7) == "must be a string, not int"
    assert id_problem(None) == "must be a string, not NoneType"


def test_the_message_names_the_id_escaped_and_why(engine: Engine) -> None:
    with pytest.raises(InvalidId) as raised:
        engine.start("demo", participants={"coach": "ann\u202e"}, actor="b1")
    error = raised.value
    expected = "person id 'ann\\u202e' contains a bidirectional control character (U+202E)"
    assert expected in str(error)
    assert "\u202e" not in str(error)
    assert [r.code for r in error.reasons] == ["bad-id"]
    assert error.fields == ["participants"]
    assert isinstance(error, InvalidInput) and error.code == "bad-id"


@pytest.mark.parametrize("bad", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_start_refuses_a_bad_id_anywhere(engine: Engine, bad: str) -> None:
    attempts: list[tuple[dict[str, Any], str]] = [
        ({"participants": {"coach": bad}, "actor": "c1"}, "participants"),
        ({"participants": {"coach": ["c1", bad]}, "actor": "c1"}, "participants"),
        ({"participants": {"coach": "c1"}, "actor": bad}, "actor"),
        ({"participants": {"coach": "c1"}, "actor": "c1", "trajectory_id": bad}, "trajectory_id"),
    ]
    for kwargs, field in attempts:
        with pytest.raises(InvalidId) as raised:
            engine.start("demo", **kwargs)
        assert field in raised.value.fields
        assert [r.code for r in raised.value.reasons] == ["bad-id"]
    assert list(engine.trajectories()) == []


@pytest.mark.parametrize(
    "bad",
    ["ann\u202e", "\u200b", "  ", "ann\udcff", "ann\x1b"],
    ids=["rlo", "zw", "ws", "ls", "esc"],
)
def test_every_change_refuses_a_bad_actor_or_person(engine: Engine, bad: str) -> None:
    t = started(engine)
    calls: dict[str, Callable[[], Any]] = {
        "fire": lambda: engine.fire(t.id, "log", actor=bad),
        "record": lambda: engine.record_activity(t.id, "visit", actor=bad),
        "grant": lambda: engine.grant_consent(t.id, "share", actor=bad),
        "withdraw": lambda: engine.withdraw_consent(t.id, "share", actor=bad),
        "assign-actor": lambda: engine.assign(t.id, "coach", "c2", actor=bad),
        "assign-person": lambda: engine.assign(t.id, "coach", bad, actor="b1"),
        "unassign-actor": lambda: engine.unassign(t.id, "coach", "c1", actor=bad),
        "migrate": lambda: engine.migrate(t.id, actor=bad),
        "get-viewer": lambda: engine.get(t.id, viewer=bad),
        "history-viewer": lambda: engine.history(t.id, viewer=bad),
        "agenda-for": lambda: engine.agenda_for(bad),
    }
    for name, call in calls.items():
        with pytest.raises(InvalidId) as raised:
            call()
        message = str(raised.value)
        assert "person id" in message, name
        assert not any(c in message for c in "\u202e\u200b\x1b\udcff"), name
        assert [r.code for r in raised.value.reasons] == ["bad-id"], name
    assert engine.get(t.id) == t


@pytest.mark.parametrize("person", GOOD_IDS)
def test_good_ids_work_everywhere(engine: Engine, person: str) -> None:
    t = engine.start(
        "demo", participants={"coach": person, "boss": "b1"}, actor=person, trajectory_id=person
    )
    t = engine.fire(t.id, "log", actor=person)
    assert engine.history(t.id, viewer=person)[-1].actor == person
    assert engine.agenda_for(person) is not None


def test_an_id_stored_before_the_rule_can_still_be_unassigned(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import coachflow.runtime.decide as decide_module

    with monkeypatch.context() as patch:  # as an older coachflow would have stored it
        patch.setattr(decide_module, "id_problem", lambda value: None)
        one = engine.start("demo", participants={"coach": "ann\u202e", "boss": "b1"}, actor="b1")
        two = engine.start("demo", participants={"coach": "ann\u202e", "boss": "b1"}, actor="b1")
    assert engine.unassign(one.id, "coach", "ann\u202e", actor="b1").participants["coach"] == ()
    t = engine.assign(two.id, "coach", "c1", actor="b1", replacing="ann\u202e")
    assert t.participants["coach"] == ("c1",)
    with pytest.raises(InvalidId):  # but the person may not act any more
        engine.fire(one.id, "log", actor="ann\u202e")


# --- the CLI never writes a control character it read ---------------------------------------------

UNSAFE = ("\x1b", "\x9b", "\u202e", "\u200b", "\x00", "\x07", "\r")


def assert_terminal_safe(text: str) -> None:
    found = [c for c in UNSAFE if c in text]
    assert not found, f"raw control or format characters reach the terminal: {found!r}"


@pytest.fixture
def hostile_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A database written before the id rule: trajectory and person ids, a fact and an
    input value holding ESC sequences and a bidirectional override."""
    import coachflow.runtime.decide as decide_module
    from coachflow.store import SqlStore

    definitions = tmp_path / "defs"
    definitions.mkdir()
    (definitions / "demo.yaml").write_text(BASE, encoding="utf-8")
    db = tmp_path / "db.sqlite"
    store = SqlStore(f"sqlite:///{db}")
    with monkeypatch.context() as patch:
        patch.setattr(decide_module, "id_problem", lambda value: None)
        engine = Engine(definitions, store=store, clock=FixedClock(T0))
        t = engine.start(
            "demo",
            participants={"coach": "ann\u202egnp.exe", "boss": "b\x1b[2Jb"},
            actor="b\x1b[2Jb",
            trajectory_id="t\x1b]0;pwned\x07",
        )
        engine.fire(
            t.id, "log", actor="ann\u202egnp.exe", input={"text": "\x1b[31mred\x9b2J\r\u200b"}
        )
    store.dispose()
    monkeypatch.setenv("COACHFLOW_NOW", T0.isoformat())
    yield ["--db", str(db), "--definitions", str(definitions)]


@pytest.mark.parametrize(
    "command",
    [
        ["show", "t\x1b]0;pwned\x07"],
        ["history", "t\x1b]0;pwned\x07"],
        ["list"],
        ["agenda", "--person", "ann\u202egnp.exe"],
        ["list", "--person", "ann\u202egnp.exe"],
    ],
    ids=["show", "history", "list", "agenda", "list-person"],
)
@pytest.mark.parametrize("form", ["text", "json"])
def test_cli_output_escapes_stored_control_characters(
    hostile_db: list[str], command: list[str], form: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main([*command, *hostile_db, "--format", form])
    out, err = capsys.readouterr()
    assert_terminal_safe(out)
    assert_terminal_safe(err)
    if command[0] == "agenda":
        assert status == 1 and "bad-id" in err  # the rule holds for a new viewer
        assert "ann\\u202egnp.exe" in err
        return
    assert status == 0, err
    if form == "json":
        json.loads(out)  # still JSON, and the values read back as stored
    if command[0] == "list" and form == "text":
        assert "t\\x1b]0;pwned\\x07" in out
    if command[0] in ("show", "history") and form == "text":
        assert "\\x1b[31mred\\x9b2J\\r\\u200b" in out
        assert "\n" in out and all(line.count("\\n") == 0 for line in out.splitlines())


def test_cli_json_reads_back_the_stored_values(
    hostile_db: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "t\x1b]0;pwned\x07", *hostile_db, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["id"] == "t\x1b]0;pwned\x07"
    assert data["facts"]["note"] == "\x1b[31mred\x9b2J\r\u200b"
    assert data["participants"]["coach"] == ["ann\u202egnp.exe"]


@pytest.fixture
def demo_args(tmp_path: Path) -> list[str]:
    """``--db`` and ``--definitions`` of a fresh database and a directory holding BASE."""
    definitions = tmp_path / "defs"
    definitions.mkdir()
    (definitions / "demo.yaml").write_text(BASE, encoding="utf-8")
    return ["--db", str(tmp_path / "db.sqlite"), "--definitions", str(definitions)]


def test_cli_refuses_a_bad_id_in_one_escaped_line(
    demo_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = demo_args
    status = main(["start", "demo", "--as", "ann\u202e", "--role", "coach=ann\u202e", *args])
    _, err = capsys.readouterr()
    assert status == 1
    assert_terminal_safe(err)
    assert "person id 'ann\\u202e' contains a bidirectional control character (U+202E)" in err
    assert "Traceback" not in err


def test_cli_validate_escapes_paths_and_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "x\x1b[31m.yaml"
    bad.write_text(BASE.replace("{title: Coach,", '{title: "Co\\e[2Jach",'), encoding="utf-8")
    assert main(["validate", str(bad)]) == 1
    out, _ = capsys.readouterr()
    assert_terminal_safe(out)
    assert "x\\x1b[31m.yaml:5:18: error control-character:" in out
    assert main(["graph", str(bad)]) == 1
    _, err = capsys.readouterr()
    assert_terminal_safe(err)
    assert main(["validate", "--format", "json", str(bad)]) == 1
    out, _ = capsys.readouterr()
    assert_terminal_safe(out)
    assert json.loads(out)["files"][0]["path"] == str(bad)


def test_cli_a_huge_number_on_the_command_line_is_refused_in_one_line(
    demo_args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = demo_args
    assert main(["start", "demo", "--as", "c1", "--role", "coach=c1", "--id", "t1", *args]) == 0
    capsys.readouterr()
    for value in ("9" * 5000, str(2**63), "0x" + "f" * 4000):
        assert main(["fire", "t1", "log", "--as", "c1", "--input", f"k={value}", *args]) == 1
        _, err = capsys.readouterr()
        assert "rejected (invalid-input)" in err
        assert "Exceeds the limit" not in err and len(err) < 1000


def test_cli_validate_of_a_4000_digit_hex_string_field_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "hex.yaml"
    path.write_text(BASE.replace("version: 1\n", f"version: 1\ndescription: {HEX_4000}\n"))
    result = subprocess.run(
        [sys.executable, "-m", "coachflow", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    first, summary = result.stdout.splitlines()
    assert first.startswith(f"{path}:4:14: error schema: the integer 0xffff")
    assert summary == "1 file checked, 1 error, 0 warnings"


def test_cli_errors_on_standard_error_are_escaped_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "defs\x1b[2J\u202e"
    status = main(["list", "--definitions", str(missing), "--db", str(tmp_path / "db.sqlite")])
    _, err = capsys.readouterr()
    assert status == 2
    assert_terminal_safe(err)
    assert "defs\\x1b[2J\\u202e" in err
    assert err.endswith("\n") and err.count("\n") == 1
