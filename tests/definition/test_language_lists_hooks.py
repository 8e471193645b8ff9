"""The definition language's lists, fact-driven recurring frequencies and role hooks.

* ``type: list`` facts and inputs (``items``, ``values``, ``min_items``/``max_items``),
  ``len()``, ``in`` and list equality in expressions, list effects; values are tuples
  everywhere, also after a round trip through the SQL store.
* ``recurring: {every: {fact: ...}}``: each period follows the frequency the fact held
  on its first day; ``bad-recurring`` for a fact that is not an enum of periods.
* ``roles.<role>.on_assign`` / ``on_unassign``: effects that are part of the
  assignment itself (one history record, replayed, refused as a whole).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

import coachflow
from coachflow import (
    Engine,
    FixedClock,
    GuardFailed,
    InvalidInput,
    loads_definition,
)
from coachflow.store import SqlStore


def codes(text: str) -> list[tuple[str, int, int]]:
    return [(d.code, d.line, d.column) for d in coachflow.validate_text(text)]


def engine_for(text: str, clock: FixedClock | None = None, **kwargs: Any) -> Engine:
    return Engine(
        definitions=[loads_definition(text)],
        plugins=False,
        clock=clock or FixedClock("2026-09-01T09:00:00+00:00"),
        **kwargs,
    )


# --- lists ----------------------------------------------------------------------------------

GOALS = """\
coachflow: 1
id: goals
version: 1
roles:
  coachee: {}
facts:
  goals: {type: list, items: str}
  forms: {type: list, items: enum, values: [co_teaching, class_visit], default: []}
  days: {type: list, items: date, max_items: 2}
initial: intake
states:
  intake: {}
  coaching: {}
  done: {final: true}
transitions:
  - event: set_goals
    from: intake
    to: coaching
    by: [coachee]
    input:
      goals: {type: list, items: str, required: true, max_items: 5}
      days: {type: list, items: date}
    when: len(input.goals) >= 1
    set: {goals: input.goals, days: input.days}
  - event: add_visit
    from: coaching
    to: coaching
    by: [coachee]
    when: '"class_visit" not in forms'
    set: {forms: "['class_visit']"}
  - event: evaluate
    from: coaching
    to: done
    by: [coachee]
    input:
      assessed: {type: list, items: str, required: true}
    when: input.assessed == goals and "class_visit" in forms
"""


@pytest.fixture
def goals_engine() -> Engine:
    engine = engine_for(GOALS)
    engine.start("goals", participants={"coachee": "cas"}, actor="cas", trajectory_id="g")
    return engine


def test_the_list_definition_is_valid() -> None:
    assert coachflow.validate_text(GOALS) == []


def test_a_list_input_becomes_a_tuple_fact(goals_engine: Engine) -> None:
    t = goals_engine.fire(
        "g",
        "set_goals",
        actor="cas",
        input={"goals": ["Rust", "Differentiëren"], "days": ["2026-09-07", date(2026, 9, 14)]},
    )
    assert t.facts["goals"] == ("Rust", "Differentiëren")
    assert t.facts["days"] == (date(2026, 9, 7), date(2026, 9, 14))
    assert t.facts["forms"] == ()
    assert t.history[-1].changes["goals"] == ("Rust", "Differentiëren")


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("Rust", "expected a list of str"),
        ({"a": 1}, "expected a list of str"),
        (["Rust", 3], "item 2: expected str items, got 3"),
        ([f"goal {i}" for i in range(6)], "expected at most 5 items, got 6"),
    ],
)
def test_a_wrong_list_input_is_refused(goals_engine: Engine, given: Any, why: str) -> None:
    with pytest.raises(InvalidInput, match=why) as caught:
        goals_engine.fire("g", "set_goals", actor="cas", input={"goals": given})
    assert caught.value.fields == ["goals"]
    assert goals_engine.get("g").state == "intake"


def test_a_list_of_dates_refuses_a_bad_date(goals_engine: Engine) -> None:
    with pytest.raises(InvalidInput, match=r"item 1: .*2026-02-30"):
        goals_engine.fire(
            "g", "set_goals", actor="cas", input={"goals": ["a"], "days": ["2026-02-30"]}
        )


def test_len_guards_an_empty_list(goals_engine: Engine) -> None:
    with pytest.raises(GuardFailed, match="len") as caught:
        goals_engine.fire("g", "set_goals", actor="cas", input={"goals": []})
    assert caught.value.values == {"input.goals": ()}


def test_in_and_list_equality(goals_engine: Engine) -> None:
    goals_engine.fire("g", "set_goals", actor="cas", input={"goals": ["a", "b"]})
    with pytest.raises(GuardFailed):  # no class visit yet
        goals_engine.fire("g", "evaluate", actor="cas", input={"assessed": ["a", "b"]})
    assert goals_engine.fire("g", "add_visit", actor="cas").facts["forms"] == ("class_visit",)
    with pytest.raises(GuardFailed):  # the visit is there: at most once
        goals_engine.fire("g", "add_visit", actor="cas")
    with pytest.raises(GuardFailed):  # one goal not assessed
        goals_engine.fire("g", "evaluate", actor="cas", input={"assessed": ["a"]})
    with pytest.raises(GuardFailed):  # the order of the items counts
        goals_engine.fire("g", "evaluate", actor="cas", input={"assessed": ["b", "a"]})
    t = goals_engine.fire("g", "evaluate", actor="cas", input={"assessed": ["a", "b"]})
    assert t.state == "done"
    assert goals_engine.replay("g") == t


def test_list_facts_survive_the_sql_store(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'lists.db'}")
    try:
        engine = engine_for(GOALS, store=store)
        engine.start("goals", participants={"coachee": "cas"}, actor="cas", trajectory_id="g")
        engine.fire("g", "set_goals", actor="cas", input={"goals": ["a"], "days": ["2026-09-07"]})
        engine.fire("g", "add_visit", actor="cas")
        again = engine_for(GOALS, store=store)  # a fresh engine reads the stored row
        t = again.get("g")
        assert t.facts["goals"] == ("a",) and t.facts["days"] == (date(2026, 9, 7),)
        assert again.replay("g") == t
        assert again.fire("g", "evaluate", actor="cas", input={"assessed": ["a"]}).state == "done"
    finally:
        store.dispose()


def test_starting_facts_may_be_lists(goals_engine: Engine) -> None:
    t = goals_engine.start(
        "goals", participants={"coachee": "cas"}, actor="cas", facts={"goals": ["x"]}
    )
    assert t.facts["goals"] == ("x",)
    with pytest.raises(InvalidInput, match="expected a list of str"):
        goals_engine.start(
            "goals", participants={"coachee": "cas"}, actor="cas", facts={"goals": "x"}
        )


LIST_FACT_LINE = 7  # the line of `goals:` in GOALS


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{type: list}", "items"),
        ("{type: list, items: enum}", "takes its values"),
        ("{type: list, items: str, values: [a]}", "values only go with items: enum"),
        ("{type: list, items: float}", "'str', 'int', 'date' or 'enum'"),
        ("{type: list, items: str, min_items: 3, max_items: 2}", "greater than max_items"),
        ("{type: list, items: int, default: [1, x]}", "expected int items"),
        ("{type: list, items: enum, values: [a], default: [b]}", "expected one of"),
    ],
)
def test_bad_list_specs_are_schema_errors(spec: str, message: str) -> None:
    text = GOALS.replace("goals: {type: list, items: str}", f"goals: {spec}", 1)
    diagnostics = coachflow.validate_text(text)
    assert [d.code for d in diagnostics] == ["schema"], diagnostics
    assert diagnostics[0].line == LIST_FACT_LINE
    assert message in diagnostics[0].message


def test_a_list_of_dates_takes_iso_defaults() -> None:
    text = GOALS.replace(
        "days: {type: list, items: date, max_items: 2}",
        "days: {type: list, items: date, default: [2026-09-07]}",
    )
    assert loads_definition(text).facts["days"].default == (date(2026, 9, 7),)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("guard", "message"),
    [
        ("len(forms) > len(goals) and len(goals[0]) > 0", "subscripts"),
        ('len("abc") == 3', "len() takes a list, not str"),
        ('"lesson_study" in forms', "'lesson_study' is not one of the values"),
        ("forms == ['co_teaching', 'nope']", "'nope' is not one of the values"),
        ("goals == [1]", "cannot compare str with int"),
        ("len(goals, forms) == 1", "len() other than len(<list>)"),
    ],
)
def test_list_expressions_are_type_checked(guard: str, message: str) -> None:
    text = GOALS.replace("when: '\"class_visit\" not in forms'", f"when: |-\n      {guard}")
    line = text.splitlines().index(f"      {guard}")  # the line of `when: |-`
    diagnostics = coachflow.validate_text(text)
    assert diagnostics and all(d.line == line for d in diagnostics), diagnostics
    assert any(message in d.message for d in diagnostics), diagnostics


@pytest.mark.parametrize(
    ("effect", "ok"),
    [
        ("\"['co_teaching']\"", True),
        ("[]", True),
        ("[co_teaching, class_visit]", True),
        ("[lesson_study]", False),
        ("input.goals", False),  # a list of str is not a list of the enum
        ("goals", False),
        ("\"'co_teaching'\"", False),
    ],
)
def test_list_effects_must_fit_the_fact(effect: str, ok: bool) -> None:
    text = GOALS.replace(
        "set: {goals: input.goals, days: input.days}",
        f"set: {{goals: input.goals, days: input.days, forms: {effect}}}",
    )
    found = [d for d in coachflow.validate_text(text) if d.is_error]
    assert (not found) == ok, found


def test_lists_migrate_only_to_fitting_lists() -> None:
    old = GOALS
    new = GOALS.replace("version: 1", "version: 2").replace(
        "goals: {type: list, items: str}", "goals: {type: list, items: int}", 1
    )
    new = new.replace(
        "initial: intake",
        "migrates_from:\n  version: 1\n  states: {intake: intake, coaching: coaching, done: done}"
        "\ninitial: intake",
    )
    new = new.replace("set: {goals: input.goals, days: input.days}", "set: {days: input.days}")
    new = new.replace(
        'when: input.assessed == goals and "class_visit" in forms',
        "when: '\"class_visit\" in forms'",
    )
    from coachflow.definition.checks import migration_problems

    problems = migration_problems(loads_definition(old), loads_definition(new))
    assert [msg for _, msg in problems] == [
        "fact 'goals' (list of str) cannot become 'goals' (list of int)"
    ]


# --- recurring frequency read from a fact ------------------------------------------------------

FREQUENCY = """\
coachflow: 1
id: freq
version: 1
roles:
  coach: {}
facts:
  frequency: {type: enum, values: [weekly, fortnightly, monthly]}
initial: agreements
states:
  agreements: {}
  guidance: {}
  done: {final: true}
transitions:
  - event: agree
    from: [agreements, guidance]
    to: guidance
    by: [coach]
    input:
      frequency: {type: enum, values: [weekly, fortnightly, monthly]}
    set: {frequency: input.frequency}
  - event: finish
    from: guidance
    to: done
    by: [coach]
activities:
  session:
    by: [coach]
    during: [guidance]
    recurring: {every: {fact: frequency}}
"""


def periods(engine: Engine, as_of: str) -> list[tuple[str, str, str]]:
    return [
        (str(i.period_start), str(i.due_date), i.status)
        for i in engine.agenda("f", as_of=as_of)
        if i.activity == "session"
    ]


@pytest.fixture
def freq() -> tuple[Engine, FixedClock]:
    clock = FixedClock("2026-09-01T09:00:00+00:00")  # a Tuesday
    engine = engine_for(FREQUENCY, clock)
    engine.start(
        "freq", participants={"coach": "co"}, actor="co", trajectory_id="f", start_date="2026-09-01"
    )
    return engine, clock


def test_the_frequency_definition_is_valid() -> None:
    assert coachflow.validate_text(FREQUENCY) == []


def test_weekly_periods_follow_the_agreed_frequency(freq: tuple[Engine, FixedClock]) -> None:
    engine, clock = freq
    engine.fire("f", "agree", actor="co", input={"frequency": "weekly"})
    clock.set("2026-09-16T09:00:00+00:00")
    engine.record_activity("f", "session", actor="co", on="2026-09-02")
    assert periods(engine, "2026-09-16") == [
        ("2026-08-31", "2026-09-06", "done"),
        ("2026-09-07", "2026-09-13", "missed"),
        ("2026-09-14", "2026-09-20", "due"),
    ]


def test_fortnightly_periods_count_from_the_first_monday(freq: tuple[Engine, FixedClock]) -> None:
    engine, clock = freq
    engine.fire("f", "agree", actor="co", input={"frequency": "fortnightly"})
    clock.set("2026-09-30T09:00:00+00:00")
    engine.record_activity("f", "session", actor="co", on="2026-09-10")
    assert periods(engine, "2026-09-30") == [
        ("2026-08-31", "2026-09-13", "done"),
        ("2026-09-14", "2026-09-27", "missed"),
        ("2026-09-28", "2026-10-11", "upcoming"),
    ]


def test_a_new_agreement_changes_the_periods_from_then_on(freq: tuple[Engine, FixedClock]) -> None:
    engine, clock = freq
    engine.fire("f", "agree", actor="co", input={"frequency": "weekly"})
    clock.set("2026-09-09T09:00:00+00:00")  # Wednesday of the second week
    engine.fire("f", "agree", actor="co", input={"frequency": "monthly"})
    clock.set("2026-11-02T09:00:00+00:00")
    assert periods(engine, "2026-11-02") == [
        ("2026-08-31", "2026-09-06", "missed"),  # weekly
        ("2026-09-07", "2026-09-13", "missed"),  # began while weekly held
        ("2026-09-14", "2026-09-30", "missed"),  # monthly from then on: the rest of September
        ("2026-10-01", "2026-10-31", "missed"),
        ("2026-11-01", "2026-11-30", "upcoming"),
    ]


def test_nothing_is_asked_while_the_frequency_is_unset() -> None:
    clock = FixedClock("2026-09-01T09:00:00+00:00")
    engine = engine_for(FREQUENCY, clock)
    engine.start(
        "freq", participants={"coach": "co"}, actor="co", trajectory_id="f", start_date="2026-09-01"
    )
    engine.fire("f", "agree", actor="co", input={})  # entered guidance, no frequency agreed
    clock.set("2026-09-21T09:00:00+00:00")
    assert periods(engine, "2026-09-21") == []
    engine.fire("f", "agree", actor="co", input={"frequency": "weekly"})
    assert periods(engine, "2026-09-21") == [("2026-09-21", "2026-09-27", "due")]


def test_workload_plans_with_the_default_or_the_least_frequent_value() -> None:
    weeks = FREQUENCY.replace("  guidance: {}", "  guidance: {weeks: {from: 1, to: 8}}")
    plain = loads_definition(weeks)
    assert plain.planned_period("session") == "month"
    with_default = loads_definition(
        weeks.replace(
            "frequency: {type: enum, values: [weekly, fortnightly, monthly]}\ninitial",
            "frequency: {type: enum, values: [weekly, fortnightly, monthly], default: weekly}"
            "\ninitial",
        )
    )
    assert with_default.planned_period("session") == "week"
    assert with_default.occurrences("session") == 8.0
    assert plain.occurrences("session") == 2.0


@pytest.mark.parametrize(
    ("fact", "message"),
    [
        ("{type: enum, values: [weekly, daily]}", "holds the values ['daily']"),
        ("{type: int}", "holds values of type int"),
        ("{type: str}", "holds values of type str"),
    ],
)
def test_a_frequency_fact_must_be_an_enum_of_periods(fact: str, message: str) -> None:
    text = FREQUENCY.replace(
        "  frequency: {type: enum, values: [weekly, fortnightly, monthly]}\ninitial",
        f"  frequency: {fact}\ninitial",
    ).replace("set: {frequency: input.frequency}", "set: {}")
    line = text.splitlines().index("    recurring: {every: {fact: frequency}}") + 1
    found = [(d.code, d.line, d.column) for d in coachflow.validate_text(text)]
    assert found == [("bad-recurring", line, 31)]
    assert message in coachflow.validate_text(text)[0].message


def test_an_unknown_frequency_fact() -> None:
    text = FREQUENCY.replace("{every: {fact: frequency}}", "{every: {fact: rhythm}}")
    line = text.splitlines().index("    recurring: {every: {fact: rhythm}}") + 1
    assert codes(text) == [("unknown-fact", line, 31)]


def test_every_takes_a_period_or_a_fact() -> None:
    text = FREQUENCY.replace("{every: {fact: frequency}}", "{every: daily}")
    assert [c for c, *_ in codes(text)] == ["schema"]
    text = FREQUENCY.replace("{every: {fact: frequency}}", "{every: fortnight}")
    assert [c for c, *_ in codes(text) if c != "unused-fact"] == []


# --- role hooks: effects of assigning and unassigning ---------------------------------------

HOOKS = """\
coachflow: 1
id: hooks
version: 1
roles:
  manager: {required: true}
  coach: {required: true}
  buddy:
    assigned_by: [manager]
    max: 2
    on_assign: {set: {buddy_briefed: false, changes: changes + 1}}
    on_unassign: {set: {buddy_left: true, changes: changes + 1}}
facts:
  buddy_briefed: {type: bool, default: false}
  buddy_left: {type: bool, default: false}
  changes: {type: int, default: 0, max: 3}
initial: agreements
states:
  agreements: {}
  guidance: {}
  done: {final: true}
transitions:
  - event: brief_buddy
    from: agreements
    to: agreements
    by: [coach]
    set: {buddy_briefed: true}
  - event: start_guidance
    from: agreements
    to: guidance
    by: [coach]
    when: buddy_briefed and not buddy_left
  - event: finish
    from: guidance
    to: done
    by: [coach, buddy]
"""


@pytest.fixture
def hooks() -> Engine:
    engine = engine_for(HOOKS)
    engine.start(
        "hooks",
        participants={"manager": "mira", "coach": "carla", "buddy": "bart"},
        actor="mira",
        trajectory_id="h",
    )
    return engine


def test_the_hooks_definition_is_valid() -> None:
    assert coachflow.validate_text(HOOKS) == []


def test_hooks_do_not_run_at_the_start(hooks: Engine) -> None:
    assert hooks.get("h").facts == {"buddy_briefed": False, "buddy_left": False, "changes": 0}


def test_a_new_buddy_must_be_briefed_again(hooks: Engine) -> None:
    hooks.fire("h", "brief_buddy", actor="carla")
    t = hooks.assign("h", "buddy", "bea", actor="mira")
    assert t.facts["buddy_briefed"] is False and t.facts["changes"] == 1
    assert t.history[-1].kind == "assigned"
    assert dict(t.history[-1].changes) == {"buddy_briefed": False, "changes": 1}
    with pytest.raises(GuardFailed, match="buddy_briefed"):
        hooks.fire("h", "start_guidance", actor="carla")
    hooks.fire("h", "brief_buddy", actor="carla")
    assert hooks.fire("h", "start_guidance", actor="carla").state == "guidance"
    assert hooks.replay("h") == hooks.get("h")


def test_replacing_runs_on_unassign_then_on_assign(hooks: Engine) -> None:
    hooks.fire("h", "brief_buddy", actor="carla")
    t = hooks.assign("h", "buddy", "bea", actor="mira", replacing="bart")
    assert t.participants["buddy"] == ("bea",)
    assert dict(t.history[-1].changes) == {"buddy_left": True, "buddy_briefed": False, "changes": 2}
    assert hooks.replay("h") == t


def test_unassigning_runs_on_unassign(hooks: Engine) -> None:
    t = hooks.unassign("h", "buddy", "bart", actor="mira")
    assert t.facts["buddy_left"] is True and t.facts["changes"] == 1
    assert hooks.replay("h") == t


def test_a_hook_that_passes_a_bound_refuses_the_whole_assignment(hooks: Engine) -> None:
    hooks.assign("h", "buddy", "bea", actor="mira")  # changes = 1
    hooks.unassign("h", "buddy", "bea", actor="mira")  # 2
    hooks.assign("h", "buddy", "bo", actor="mira")  # 3
    before = hooks.get("h")
    with pytest.raises(GuardFailed, match=r"on_unassign of role 'buddy'.*maximum 3") as caught:
        hooks.unassign("h", "buddy", "bo", actor="mira")
    assert caught.value.guard == "changes: changes + 1"
    assert caught.value.values == {"changes": 3}
    assert hooks.get("h") == before


def test_an_assignment_without_changes_records_none(hooks: Engine) -> None:
    text = HOOKS.replace(
        "    on_assign: {set: {buddy_briefed: false, changes: changes + 1}}\n", ""
    ).replace("    on_unassign: {set: {buddy_left: true, changes: changes + 1}}\n", "")
    text = (
        text.replace("  changes: {type: int, default: 0, max: 3}\n", "")
        .replace("  buddy_left: {type: bool, default: false}\n", "")
        .replace(" and not buddy_left", "")
    )
    engine = engine_for(text)
    engine.start("hooks", participants={"manager": "m", "coach": "c"}, actor="m", trajectory_id="h")
    t = engine.assign("h", "buddy", "b", actor="m")
    assert dict(t.history[-1].changes) == {}


@pytest.mark.parametrize(
    ("hook", "code"),
    [
        ("{set: {nope: true}}", "unknown-fact"),
        ("{set: {buddy_briefed: 3}}", "guard-type"),
        ("{set: {buddy_briefed: input.x}}", "unknown-input"),
        ("{set: {changes: 4}}", "guard-type"),
        ("{set: {}}", "schema"),
        ("{sett: {changes: 1}}", "schema"),
    ],
)
def test_hook_effects_are_checked(hook: str, code: str) -> None:
    text = HOOKS.replace(
        "on_assign: {set: {buddy_briefed: false, changes: changes + 1}}", f"on_assign: {hook}"
    )
    line = text.splitlines().index(f"    on_assign: {hook}") + 1
    found = codes(text)
    assert (code, line) in [(c, n) for c, n, _ in found if c != "unused-role"], found
    assert all(n == line for c, n, _ in found if c == code), found


def test_facts_only_hooks_set_are_not_unused() -> None:
    text = HOOKS.replace(" and not buddy_left", "")
    assert coachflow.validate_text(text) == []  # buddy_left is set by a hook only


# --- review findings: list lengths, backdated starts, migrations, hooks on SQL and CLI ---------


def test_an_effect_that_passes_max_items_refuses_the_transition(goals_engine: Engine) -> None:
    days = ["2026-09-07", "2026-09-14", "2026-09-21"]  # the input is unbounded, the fact not
    with pytest.raises(GuardFailed, match=r"'days'.*expected at most 2 items, got 3") as caught:
        goals_engine.fire("g", "set_goals", actor="cas", input={"goals": ["a"], "days": days})
    assert caught.value.guard == "days: input.days"
    assert goals_engine.get("g").state == "intake"
    assert goals_engine.get("g").version == 0


@pytest.mark.parametrize(
    ("effect", "wrong"),
    [
        ("\"[date('2026-09-07'), date('2026-09-08'), date('2026-09-09')]\"", True),
        ("\"[date('2026-09-07')]\"", False),
    ],
)
def test_a_literal_list_effect_is_checked_against_max_items(effect: str, wrong: bool) -> None:
    text = GOALS.replace("set: {goals: input.goals, days: input.days}", f"set: {{days: {effect}}}")
    found = [(d.code, d.message) for d in coachflow.validate_text(text) if d.is_error]
    if wrong:
        assert found == [
            ("guard-type", "this literal list never fits: expected at most 2 items, got 3")
        ]
    else:
        assert found == []


def test_a_list_default_must_fit_its_length() -> None:
    text = GOALS.replace(
        "goals: {type: list, items: str}",
        "goals: {type: list, items: str, min_items: 1, default: []}",
        1,
    )
    diagnostics = coachflow.validate_text(text)
    assert [d.code for d in diagnostics] == ["schema"]
    assert "expected at least 1 item, got 0" in diagnostics[0].message


def test_a_backdated_start_counts_fact_driven_periods_from_its_start_date() -> None:
    clock = FixedClock("2026-09-21T09:00:00+00:00")
    text = FREQUENCY.replace("during: [guidance]", "during: [agreements, guidance]")
    engine = engine_for(text, clock)
    engine.start(
        "freq",
        participants={"coach": "co"},
        actor="co",
        trajectory_id="f",
        start_date="2026-09-01",
        facts={"frequency": "weekly"},
    )
    assert periods(engine, "2026-09-21") == [
        ("2026-08-31", "2026-09-06", "missed"),
        ("2026-09-07", "2026-09-13", "missed"),
        ("2026-09-14", "2026-09-20", "missed"),
        ("2026-09-21", "2026-09-27", "due"),
    ]


def test_after_a_migration_a_fact_driven_frequency_counts_from_the_migration() -> None:
    v1 = FREQUENCY.replace("recurring: {every: {fact: frequency}}", "recurring: {every: month}")
    v2 = FREQUENCY.replace("version: 1", "version: 2").replace(
        "initial: agreements",
        "migrates_from:\n  version: 1\n  states: {agreements: agreements, guidance: guidance,"
        " done: done}\ninitial: agreements",
    )
    clock = FixedClock("2026-09-01T09:00:00+00:00")
    engine = Engine(
        definitions=[loads_definition(v1), loads_definition(v2)], plugins=False, clock=clock
    )
    engine.start(
        "freq",
        participants={"coach": "co"},
        actor="co",
        trajectory_id="f",
        start_date="2026-09-01",
        version=1,
    )
    engine.fire("f", "agree", actor="co", input={"frequency": "weekly"})
    clock.set("2026-10-20T09:00:00+00:00")
    engine.record_activity("f", "session", actor="co", on="2026-09-10")
    assert periods(engine, "2026-10-20") == [  # version 1: monthly
        ("2026-09-01", "2026-09-30", "done"),
        ("2026-10-01", "2026-10-31", "upcoming"),
    ]
    engine.migrate("f", 2, actor="admin")
    assert periods(engine, "2026-10-20") == [  # weekly from the migration on, not before
        ("2026-10-19", "2026-10-25", "due"),
    ]


def test_hook_changes_survive_the_sql_store(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'hooks.db'}")
    try:
        engine = engine_for(HOOKS, store=store)
        engine.start(
            "hooks",
            participants={"manager": "mira", "coach": "carla", "buddy": "bart"},
            actor="mira",
            trajectory_id="h",
        )
        engine.fire("h", "brief_buddy", actor="carla")
        engine.assign("h", "buddy", "bea", actor="mira", replacing="bart")
        again = engine_for(HOOKS, store=store)
        t = again.get("h")
        assert dict(t.facts) == {"buddy_briefed": False, "buddy_left": True, "changes": 2}
        assert dict(t.history[-1].changes) == {
            "buddy_left": True,
            "buddy_briefed": False,
            "changes": 2,
        }
        assert again.replay("h") == t
        assert t.participants["buddy"] == ("bea",)
    finally:
        store.dispose()


def test_hooks_on_a_role_nobody_assigns_never_run() -> None:
    text = HOOKS.replace("    assigned_by: [manager]\n", "")
    line = text.splitlines().index(
        "    on_assign: {set: {buddy_briefed: false, changes: changes + 1}}"
    )
    found = [(d.code, d.severity, d.line, d.column) for d in coachflow.validate_text(text)]
    assert ("hook-never-runs", "warning", line + 1, 5) in found
    assert ("hook-never-runs", "warning", line + 2, 5) in found


def test_cli_history_shows_what_an_assignment_changed(tmp_path: Path) -> None:
    import subprocess
    import sys

    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "hooks.yaml").write_text(HOOKS, encoding="utf-8")
    common = ["--db", str(tmp_path / "cli.db"), "--definitions", str(folder)]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "coachflow", *args, *common],
            capture_output=True,
            text=True,
            check=False,
        )

    started = run(
        "start", "hooks", "--id", "h", "--as", "mira",
        "--role", "manager=mira", "--role", "coach=carla", "--role", "buddy=bart",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    assigned = run("assign", "h", "buddy", "bea", "--as", "mira")
    assert assigned.returncode == 0, assigned.stderr
    history = run("history", "h")
    assert history.returncode == 0, history.stderr
    last = history.stdout.strip().splitlines()[-1]
    assert "assigned" in last and last.endswith("=> changes=1"), last  # briefed was false
