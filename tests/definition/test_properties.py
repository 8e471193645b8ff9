"""Property tests of the loader and validator (issue 3).

Random valid definitions load without a single diagnostic and survive a round trip
through :func:`coachflow.dump_definition`; a random valid definition with one random
corruption gives the matching diagnostic code, at the line and column of the culprit.
The strategies live in ``tests/strategies.py``.

What the properties found is kept below as explicit examples: fixed bugs as regression
tests, open bugs as ``xfail(strict=True)`` (the strategies leave their inputs out, so
that the properties test everything else).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from strategies import (
    CORRUPTIONS,
    Corruption,
    corrupted_definitions,
    dump,
    valid_definitions,
    yaml_styles,
)

import coachflow
from coachflow.definition.model import Definition
from coachflow.errors import DefinitionError

Data = dict

# A deeper run: COACHFLOW_PROPERTY_SCALE=20 python -m pytest tests/definition/test_properties.py
SCALE = float(os.environ.get("COACHFLOW_PROPERTY_SCALE", "1"))


def examples(n: int) -> int:
    return max(1, round(n * SCALE))


@settings(max_examples=examples(80), deadline=None)
@given(data=valid_definitions(), style=yaml_styles())
def test_valid_definition_loads_without_diagnostics_and_round_trips(
    data: Data, style: Data
) -> None:
    text = dump(data, style)
    assert coachflow.validate_text(text) == []
    definition = coachflow.loads_definition(text)
    # the reader reads exactly what PyYAML wrote
    expected = Definition.model_validate(data)
    assert definition.model_dump() == expected.model_dump()
    assert definition == expected
    assert coachflow.check_definition(definition) == []

    again_text = coachflow.dump_definition(definition)
    assert coachflow.validate_text(again_text) == []
    again = coachflow.loads_definition(again_text)
    assert again.model_dump() == definition.model_dump()
    assert again == definition
    assert coachflow.dump_definition(again) == again_text


@pytest.mark.parametrize("kind", CORRUPTIONS)
@settings(max_examples=examples(15), deadline=None)
@given(data=st.data())
def test_one_corruption_gives_its_code_at_its_node(kind: str, data: st.DataObject) -> None:
    case: Corruption = data.draw(corrupted_definitions(kinds=(kind,)), label="case")
    diagnostics = coachflow.validate_text(case.text)
    codes = {d.code for d in diagnostics}
    event(f"codes: {sorted(codes)}")
    assert case.code in codes
    located = [(d.line, d.column) for d in diagnostics if d.code == case.code]
    assert (case.line, case.column) in located
    if case.exact:
        assert codes == {case.code}
    with pytest.raises(DefinitionError) as raised:
        coachflow.loads_definition(case.text)
    assert case.code in {d.code for d in raised.value.diagnostics}


# --- bugs found by the properties above, kept as explicit examples ------------------------

MINIMAL = """\
coachflow: 1
id: minimal
version: 1
title: {title}
roles: {{r: {{}}}}
facts:
  e: {{type: enum, values: [a, b]}}
consents: {{{consent}: {{granted_by: r}}}}
initial: start
states: {{start: {{}}, done: {{final: true}}}}
transitions:
  - {{event: go, from: start, to: done, by: [r], when: {when}}}
"""


def minimal(*, title: str = "t", consent: str = "ok", when: str = "") -> str:
    when = when or "consent.ok and e is None"
    return MINIMAL.format(title=title, consent=consent, when=when)


def test_minimal_definition_is_valid() -> None:
    assert coachflow.validate_text(minimal()) == []


# Found by the round-trip property (PyYAML's dumper writes these strings plain, or NEL raw,
# and coachflow's reader read them back as numbers or line breaks); fixed in io._Dumper.
@pytest.mark.parametrize("text", ["1e5", "09", "0o17", "-.5", "+.5", "1.0e5"])
def test_number_like_text_survives_dump_definition(text: str) -> None:
    definition = coachflow.loads_definition(minimal(title=repr(text)))
    assert definition.title == text
    again = coachflow.loads_definition(coachflow.dump_definition(definition))
    assert again == definition


@pytest.mark.parametrize("text", ["\\u2028x", "\\u2029x"])
def test_line_break_characters_survive_dump_definition(text: str) -> None:
    definition = coachflow.loads_definition(minimal(title=f'"{text}"'))
    assert definition.title == text.encode().decode("unicode_escape")
    again = coachflow.loads_definition(coachflow.dump_definition(definition))
    assert again == definition


def test_next_line_is_a_control_character() -> None:
    # NEL (U+0085) is a C1 control character: no text may hold it (issue 11)
    codes = [d.code for d in coachflow.validate_text(minimal(title='"\\x85x"'))]
    assert codes == ["control-character"]


GUARD_AT = (12, 55)  # where the guard of MINIMAL's transition starts


def test_enum_literal_on_the_right_outside_its_values() -> None:
    diagnostics = coachflow.validate_text(minimal(when="\"consent.ok and e == 'zz'\""))
    assert [(d.code, d.line, d.column) for d in diagnostics] == [("guard-type", *GUARD_AT)]


def test_bug_enum_literal_on_the_left_outside_its_values() -> None:
    diagnostics = coachflow.validate_text(minimal(when="\"consent.ok and 'zz' == e\""))
    assert [(d.code, d.line, d.column) for d in diagnostics] == [("guard-type", *GUARD_AT)]


def test_bug_consent_named_after_a_keyword() -> None:
    diagnostics = coachflow.validate_text(minimal(consent="if", when="e is None"))
    assert ("schema", 8, 12) in [(d.code, d.line, d.column) for d in diagnostics]
