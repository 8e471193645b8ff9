"""The validator on time that acts (issue 16): a state's ``timeout`` fires an event that
leaves it, by ``[system]`` alone, with no input; reminders and escalations count from a due
date; ``system`` is never declared; every role named is declared."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import coachflow
from coachflow.definition.model import Definition

Diags = Callable[[str], list[tuple[str, int, int]]]

BASE = """\
coachflow: 1
id: timed
version: 1
roles:
  coach: {required: true}
  board: {}
suspendable_by: [coach]
initial: open
states:
  open:
    timeout: {after: P14D, event: expire}
  closed: {final: true}
transitions:
  - {event: expire, from: open, to: closed, by: [system]}
  - {event: close, from: open, to: closed, by: [coach]}
activities:
  visit:
    by: [coach]
    due: {week: 3}
    remind: [{before: {school_weeks: 1}, to: [coach]}]
    escalate: [{after: P1M, to: [board], message: {nl: Te laat, en: Late}}]
"""


def codes(diags: Diags, text: str) -> list[tuple[str, int, int]]:
    return [d for d in diags(text) if d[0] not in ("unused-role",)]


def test_the_base_definition_is_valid_and_system_is_not_declared(diags: Diags) -> None:
    assert diags(BASE) == []
    definition = coachflow.loads_definition(BASE)
    assert isinstance(definition, Definition)
    assert "system" not in definition.roles
    assert definition.states["open"].timeout is not None
    assert str(definition.states["open"].timeout.after) == "P2W"


def test_it_round_trips_through_the_json_schema_and_dump() -> None:
    from coachflow.files.definitions import definition_data

    data = definition_data(coachflow.loads_definition(BASE))
    assert data["states"]["open"]["timeout"] == {"after": "P2W", "event": "expire"}  # type: ignore[index]
    remind = data["activities"]["visit"]["remind"][0]  # type: ignore[index]
    assert remind["before"] == {"school_weeks": 1}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # the event leaves the state by [system] alone
        (("by: [system]}", "by: [coach]}"), [("bad-timeout", 14, 49)]),
        (("by: [system]}", "by: [system, coach]}"), [("bad-timeout", 14, 49)]),
        # the timeout's event is a person's, and expire is fired by nothing
        (("event: expire}", "event: close}"), [("bad-timeout", 14, 49), ("bad-timeout", 15, 48)]),
        # the event does not exist
        (("event: expire}", "event: nothing}"), [("bad-timeout", 11, 35), ("bad-timeout", 14, 49)]),
        # a final state never times out
        (
            (
                "closed: {final: true}",
                "closed: {final: true, timeout: {after: P1D, event: expire}}",
            ),
            [("bad-timeout", 12, 25)],
        ),
        # a duration that is not one (and nothing more about the state left out)
        (("after: P14D", "after: PT3H"), [("schema", 11, 22)]),
        (("after: P14D", "after: {weeks: 2}"), [("schema", 11, 22)]),
        # notices need a due date
        (("    due: {week: 3}\n", ""), [("bad-reminder", 19, 5)]),
        # undeclared roles
        (("to: [board]", "to: [boss]"), [("unknown-role", 21, 34)]),
        (("suspendable_by: [coach]", "suspendable_by: [head]"), [("unknown-role", 7, 18)]),
        # system is reserved
        (("  board: {}\n", "  board: {}\n  system: {}\n"), [("reserved-role", 7, 3)]),
    ],
)
def test_each_rule_is_reported_where_it_is_broken(
    diags: Diags, change: tuple[str, str], expected: list[tuple[str, int, int]]
) -> None:
    old, new = change
    assert old in BASE
    assert codes(diags, BASE.replace(old, new)) == expected


def test_a_timeout_event_takes_no_input_and_its_guard_reads_none(diags: Diags) -> None:
    text = BASE.replace(
        "  - {event: expire, from: open, to: closed, by: [system]}\n",
        "  - event: expire\n    from: open\n    to: closed\n    by: [system]\n"
        "    when: input.why != ''\n    input:\n      why: {type: str, required: true}\n",
    )
    found = [c for c, _, _ in codes(diags, text)]
    assert found.count("bad-timeout") == 2


def test_a_transition_only_the_worker_fires_needs_a_timeout(diags: Diags) -> None:
    text = BASE.replace("  open:\n    timeout: {after: P14D, event: expire}\n", "  open: {}\n")
    assert codes(diags, text) == [("bad-timeout", 13, 49)]


@pytest.mark.parametrize(
    ("second", "refused"),
    [
        ("{before: P1W, to: [coach, starter], message: {nl: Nog een week}}", True),  # another
        ("{before: P7D, to: [starter, coach]}", True),  # the same, written another way
        ("{before: {school_weeks: 1}, to: [starter, coach]}", False),  # another duration
        ("{before: P7D, to: [starter]}", False),  # other roles
    ],
)
def test_an_activitys_notices_differ_in_duration_or_roles(
    diags: Diags, second: str, refused: bool
) -> None:
    text = NOTICES.replace("SECOND", second)
    assert codes(diags, text) == ([("bad-reminder", 18, 9)] if refused else [])
    if refused:
        with pytest.raises(coachflow.DefinitionError) as raised:
            coachflow.loads_definition(text)
        assert "repeats remind 0" in str(raised.value) and "sent once" in str(raised.value)


NOTICES = """\
coachflow: 1
id: notices
version: 1
roles: {starter: {required: true}, coach: {required: true}}
started_by: [coach]
initial: open
states:
  open: {}
  done: {final: true}
transitions:
  - {event: finish, from: open, to: done, by: [coach]}
activities:
  visit:
    by: [coach]
    due: {week: 3}
    remind:
      - {before: P7D, to: [starter, coach]}
      - SECOND
"""


def test_every_new_code_is_registered() -> None:
    from coachflow.diagnostics import CODES

    assert {"bad-timeout", "bad-reminder", "reserved-role"} <= set(CODES)
