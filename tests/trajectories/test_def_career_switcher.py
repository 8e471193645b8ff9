"""The built-in definition ``career-switcher``: the teacher coach of a career switcher.

Source: ``shared/sources/leerkrachtcoach-zij-instromer.txt``. One scenario test per rule
(rules 1-6 are those of issue 6; rules 7 and up are the further rules of the source
text), each quoting the source sentence it enforces and showing the right path and the
refusal of the wrong one (exception class and reason code); a full run of both variants;
the Hypothesis trajectory machine. Version 3 (the rule-by-rule review): the suitability
assessment is an optional record that blocks nothing, there is no "not suitable" end and no
end declared by the study adviser, and the school activities no longer hold up the guidance
(``test_versions_career_switcher.py`` moves version-2 trajectories).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

import coachflow
from coachflow import (
    ConsentError,
    Engine,
    FixedClock,
    GuardFailed,
    InvalidInput,
    NotAllowedInState,
    NotPermitted,
    TransitionRejected,
    UnknownEvent,
)
from coachflow.testing import trajectory_machine

ROOT = Path(__file__).resolve().parents[2]
PATH = ROOT / "definitions" / "career-switcher.yaml"
DEF = coachflow.load_definition(PATH)
ID = "career-switcher"
TID = "cs-1"

PEOPLE = {
    "switcher": "sam",
    "coach": "carla",
    "manager": "mira",
    "study_adviser": "sofie",
    "buddy": "bart",
}
ALL_PRESENT = {
    "switcher_present": True,
    "study_adviser_present": True,
    "manager_present": True,
    "coach_present": True,
    "group": "groep 5",
}
GUIDANCE = {
    "expectations": "Wekelijks contact, open over wat lastig is",
    "guidance_plan": "Begeleidingsplan volgens format Marnix, maandelijks bijgewerkt",
    "structure": "Lesbezoek gevolgd door nagesprek",
    "frequency": "weekly",
    "responsibilities": "Leidinggevende: randvoorwaarden; coach: begeleiding; zij-instromer: plan",
}
SESSION_INPUT = {"setting": "in_class", "focus": "teaching"}
SCHOOL_ACTIVITIES = {
    "joins": "Teamleren (lessen ontwerpen), bouwvergaderingen",
    "skips": "Werkgroep schoolfeest",
    "team_learning": True,
}
BUDDY = {
    "tasks_and_responsibilities": "Dagelijkse vragen bij het maatje, inhoud bij de coach",
    "adult_learning": "Volwassenen leren vanuit eigen ervaring; het zij-instroomtraject",
    "practical_matters": "Methoden, planning, leerresultaten, oudergesprekken via het maatje",
}
START_NEEDS = {
    "prior_competences": "Projectleiding uit vorige baan inzetten bij planning",
    "classroom_management": "Routines eerste weken",
    "group_formation": "Groepsvormingsfasen, kennismakingsactiviteiten",
    "approach": "prepare_together",
}
PLAN = {
    "competences": "Pedagogisch: groeiend",
    "qualities": "Structuur, rust",
    "learning_questions": "Hoe differentieer ik bij rekenen?",
}
SUITABILITY = {"outcome": "positive", "assessed_on": "2026-06-15"}


CLOCK_AT = "2026-08-24T09:00:00+00:00"
"""When this module's ``clock`` fixture (tests/conftest.py) stands."""
DEFINITIONS = [DEF]
"""What this module's ``engine`` fixture (tests/conftest.py) serves."""


def rejected(
    error: type[TransitionRejected], code: str, call: Callable[[], Any]
) -> TransitionRejected:
    """``call()`` is refused with ``error`` and a reason with ``code``."""
    with pytest.raises(error) as info:
        call()
    assert code in [r.code for r in info.value.reasons], info.value.reasons
    return info.value


def start(engine: Engine, variant: str | None = "in_training", **kwargs: Any) -> str:
    facts = {"variant": variant} if variant is not None else None
    engine.start(
        ID,
        participants=PEOPLE,
        actor="mira",
        facts=facts,
        trajectory_id=TID,
        start_date="2026-08-24",
        **kwargs,
    )
    return TID


def to_agreements(engine: Engine, clock: FixedClock, variant: str = "in_training") -> str:
    tid = start(engine, variant)
    engine.fire(tid, "plan_tripartite_meeting", actor="carla", input={"planned_on": "2026-08-27"})
    clock.set("2026-08-27T15:00:00+00:00")
    engine.fire(tid, "hold_tripartite_meeting", actor="sofie", input=ALL_PRESENT)
    return tid


def settle_agreements(
    engine: Engine, tid: str, *, skip: str | None = None, frequency: str = "weekly"
) -> None:
    """Everything that must be done before the guidance starts, except ``skip``."""
    guidance = {**GUIDANCE, "frequency": frequency}
    steps: list[tuple[str, Callable[[], Any]]] = [
        (
            "agree_guidance",
            lambda: engine.fire(tid, "agree_guidance", actor="carla", input=guidance),
        ),
        ("manager_confirms", lambda: engine.fire(tid, "confirm_agreements", actor="mira")),
        ("switcher_confirms", lambda: engine.fire(tid, "confirm_agreements", actor="sam")),
        (
            "agree_school_activities",
            lambda: engine.fire(
                tid, "agree_school_activities", actor="mira", input=SCHOOL_ACTIVITIES
            ),
        ),
        (
            "inform_team",
            lambda: (
                engine.grant_consent(tid, "team_information", actor="mira"),
                engine.fire(tid, "inform_team", actor="carla", input={"message": "Welkom Sam"}),
            ),
        ),
        ("brief_buddy", lambda: engine.fire(tid, "brief_buddy", actor="carla", input=BUDDY)),
        (
            "discuss_start_needs",
            lambda: engine.fire(tid, "discuss_start_needs", actor="carla", input=START_NEEDS),
        ),
        (
            "update_guidance_plan",
            lambda: engine.record_activity(tid, "update_guidance_plan", actor="sam", input=PLAN),
        ),
    ]
    for name, step in steps:
        if name != skip:
            step()


def to_guidance(engine: Engine, clock: FixedClock, variant: str = "in_training") -> str:
    tid = to_agreements(engine, clock, variant)
    settle_agreements(engine, tid)
    engine.fire(tid, "start_guidance", actor="carla")
    return tid


def status(engine: Engine, tid: str, activity: str, as_of: str) -> list[tuple[str, str]]:
    """(period start, status) of an activity's agenda items on ``as_of``."""
    return [
        (str(item.period_start), item.status)
        for item in engine.agenda(tid, as_of=as_of)
        if item.activity == activity
    ]


# --- the definition ----------------------------------------------------------------------


def test_definition_validates_without_diagnostics() -> None:
    assert coachflow.validate_file(PATH) == []
    assert DEF.id == ID
    assert set(DEF.roles) == {"switcher", "coach", "manager", "study_adviser", "buddy"}


def test_every_title_is_in_dutch_and_english() -> None:
    described = [DEF, *DEF.roles.values(), *DEF.states.values(), *DEF.transitions]
    described += [*DEF.facts.values(), *DEF.consents.values(), *DEF.activities.values()]
    for item in described:
        assert isinstance(item.title, dict) and {"nl", "en"} <= set(item.title), item


# --- the rules of issue 6 ------------------------------------------------------------------


def test_rule_1_the_variant_is_an_enum_fact_chosen_at_start(engine: Engine) -> None:
    """Bron: "de zij-instromer in beroep die het zij-instroom traject volgt en/of de
    zij-instromer in opleiding die het Gulden Middenweg traject volgt": two variants, no
    third."""
    tid = start(engine, "in_training")
    assert engine.get(tid).facts["variant"] == "in_training"
    # only the two variants exist
    rejected(
        InvalidInput,
        "invalid-input",
        lambda: engine.start(
            ID, participants=PEOPLE, actor="mira", facts={"variant": "career_change"}
        ),
    )
    # the variant cannot be changed once chosen
    rejected(
        GuardFailed,
        "guard-failed",
        lambda: engine.fire(tid, "choose_variant", actor="mira", input={"variant": "in_service"}),
    )


def test_rule_1_an_unknown_variant_holds_nothing_up(engine: Engine) -> None:
    """The source makes no step depend on the variant: without one, the tripartite meeting
    is still planned (version 2 refused it); the manager may record it in the preparation."""
    tid = start(engine, None)
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.fire(tid, "choose_variant", actor="carla", input={"variant": "in_training"}),
    )
    engine.fire(tid, "choose_variant", actor="mira", input={"variant": "in_training"})
    assert engine.get(tid).facts["variant"] == "in_training"
    other = engine.start(ID, participants=PEOPLE, actor="mira", trajectory_id="cs-2").id
    t = engine.fire(
        other, "plan_tripartite_meeting", actor="carla", input={"planned_on": "2026-08-27"}
    )
    assert t.state == "start_meeting" and t.facts["variant"] is None


def test_rule_1_the_suitability_assessment_is_the_coachs_knowledge_not_a_gate(
    engine: Engine, clock: FixedClock
) -> None:
    """Bron: "heeft kennis van het geschiktheidsonderzoek, wanneer het een zij-instromer in
    beroep betreft.": a skill of the coach (in the coach's description). The in-service
    switcher's tripartite meeting is planned without any outcome recorded (version 2 required a
    positive one)."""
    description = DEF.roles["coach"].description
    assert isinstance(description, dict)
    assert "geschiktheidsonderzoek" in description["nl"]
    assert "suitability assessment" in description["en"]
    tid = start(engine, "in_service")
    t = engine.fire(
        tid, "plan_tripartite_meeting", actor="carla", input={"planned_on": "2026-08-27"}
    )
    assert t.state == "start_meeting"
    assert "suitability" not in t.facts
    # nothing in the definition reads it
    assert "suitability" not in " ".join(tr.when or "" for tr in DEF.transitions)


def test_rule_1_the_outcome_is_an_optional_record_that_blocks_nothing(
    engine: Engine, clock: FixedClock
) -> None:
    """Bron: "heeft kennis van het geschiktheidsonderzoek, wanneer het een zij-instromer in
    beroep betreft.": for an in-service switcher the outcome may be recorded, in any phase; even
    a negative one ends nothing (version 2 had a "not suitable" end), and the agenda does not
    ask for it."""
    tid = to_agreements(engine, clock, "in_service")
    assert "suitability_assessment" not in [i.activity for i in engine.agenda(tid)]
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.record_activity(
            tid, "suitability_assessment", actor="bart", input=SUITABILITY
        ),
    )
    rejected(
        InvalidInput,
        "invalid-input",
        lambda: engine.record_activity(
            tid, "suitability_assessment", actor="sofie", input={"outcome": "negative"}
        ),
    )
    t = engine.record_activity(
        tid,
        "suitability_assessment",
        actor="sofie",
        input={"outcome": "negative", "assessed_on": "2026-06-15"},
    )
    assert t.state == "agreements" and t.counts["suitability_assessment"] == 1
    [item] = [i for i in engine.agenda(tid) if i.activity == "suitability_assessment"]
    assert (item.status, item.records) == ("done", 1)
    # no "not suitable" end: the trajectory goes on to the guidance
    rejected(
        UnknownEvent, "unknown-event", lambda: engine.fire(tid, "close_not_suitable", actor="mira")
    )
    assert set(DEF.states) == {"preparation", "start_meeting", "agreements", "guidance", "stopped"}
    settle_agreements(engine, tid)
    assert engine.fire(tid, "start_guidance", actor="carla").state == "guidance"
    engine.record_activity(tid, "suitability_assessment", actor="carla", input=SUITABILITY)
    assert engine.get(tid).state == "guidance"


def test_rule_1_the_in_training_switcher_has_no_suitability_assessment(engine: Engine) -> None:
    """Bron: "wanneer het een zij-instromer in beroep betreft": only the in-service switcher."""
    tid = start(engine, "in_training")
    rejected(
        GuardFailed,
        "guard-failed",
        lambda: engine.record_activity(
            tid, "suitability_assessment", actor="sofie", input=SUITABILITY
        ),
    )
    t = engine.fire(
        tid, "plan_tripartite_meeting", actor="mira", input={"planned_on": "2026-08-27"}
    )
    assert t.state == "start_meeting" and t.counts.get("suitability_assessment", 0) == 0


def test_rule_2_the_tripartite_start_meeting_has_switcher_study_adviser_manager_and_coach(
    engine: Engine, clock: FixedClock
) -> None:
    """Bron: "is aanwezig bij het tripartite gesprek met de zij-instromer, vertegenwoordiger van
    de opleiding (studieloopbaanbegeleider- slb'er) en leidinggevende." and "daarmee de
    verantwoordelijkheid voor een groep heeft"."""
    tid = start(engine, "in_training")
    rejected(
        NotAllowedInState,
        "not-allowed-in-state",
        lambda: engine.fire(tid, "hold_tripartite_meeting", actor="sofie", input=ALL_PRESENT),
    )
    engine.fire(tid, "plan_tripartite_meeting", actor="sofie", input={"planned_on": "2026-08-27"})
    assert engine.get(tid).facts["start_meeting_planned_on"].isoformat() == "2026-08-27"
    for absent in ("switcher_present", "study_adviser_present", "manager_present", "coach_present"):
        rejected(
            GuardFailed,
            "guard-failed",
            lambda absent=absent: engine.fire(
                tid,
                "hold_tripartite_meeting",
                actor="sofie",
                input={**ALL_PRESENT, absent: False},
            ),
        )
    # the class the switcher is responsible for is recorded
    rejected(
        InvalidInput,
        "invalid-input",
        lambda: engine.fire(
            tid,
            "hold_tripartite_meeting",
            actor="sofie",
            input={k: v for k, v in ALL_PRESENT.items() if k != "group"},
        ),
    )
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.fire(tid, "hold_tripartite_meeting", actor="bart", input=ALL_PRESENT),
    )
    t = engine.fire(tid, "hold_tripartite_meeting", actor="carla", input=ALL_PRESENT)
    assert t.state == "agreements" and t.facts["group"] == "groep 5"


def test_rule_3_the_guidance_plan_is_kept_from_the_agreements_on(engine: Engine) -> None:
    """Bron: "De zij-instromer is verantwoordelijk voor een actuele invulling van het
    begeleidingsplan (format aanwezig op de Marnix)."."""
    tid = start(engine)
    rejected(
        NotAllowedInState,
        "not-allowed-in-state",
        lambda: engine.record_activity(tid, "update_guidance_plan", actor="sam", input=PLAN),
    )
    assert DEF.activity_states("update_guidance_plan") == ("agreements", "guidance")
    assert DEF.activities["update_guidance_plan"].recurring.every == "month"


def test_rule_3_only_the_switcher_updates_the_plan_every_month(
    engine: Engine, clock: FixedClock
) -> None:
    """Bron: "De zij-instromer is verantwoordelijk voor een actuele invulling van het
    begeleidingsplan" (its contents: "zijn bekwaamheden, kwaliteiten en leervragen"); the
    guidance goes "aan de hand van het begeleidingsplan", so it does not start without one."""
    tid = to_agreements(engine, clock)
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.record_activity(tid, "update_guidance_plan", actor="carla", input=PLAN),
    )
    rejected(
        InvalidInput,
        "invalid-input",
        lambda: engine.record_activity(
            tid,
            "update_guidance_plan",
            actor="sam",
            input={k: v for k, v in PLAN.items() if k != "learning_questions"},
        ),
    )
    # without a guidance plan the guidance does not start
    settle_agreements(engine, tid, skip="update_guidance_plan")
    error = rejected(
        GuardFailed, "guard-failed", lambda: engine.fire(tid, "start_guidance", actor="carla")
    )
    assert "done.update_guidance_plan" in str(error)
    engine.record_activity(tid, "update_guidance_plan", actor="sam", input=PLAN)
    engine.fire(tid, "start_guidance", actor="carla")
    # kept up to date: a month without an update is missed
    clock.set("2026-10-05T09:00:00+00:00")
    assert status(engine, tid, "update_guidance_plan", "2026-10-05") == [
        ("2026-08-01", "done"),
        ("2026-09-01", "missed"),
        ("2026-10-01", "upcoming"),
    ]
    engine.record_activity(tid, "update_guidance_plan", actor="sam", on="2026-10-02", input=PLAN)
    assert status(engine, tid, "update_guidance_plan", "2026-10-05")[-1] == ("2026-10-01", "done")


def test_rule_4_at_least_three_talks_a_year_with_the_switcher_and_the_study_adviser(
    engine: Engine, clock: FixedClock
) -> None:
    """Bron: "heeft minimaal 3 x per jaar een ontwikkelingsgericht en/of formatief gesprek met
    de zij-instromer en de studieloopbaanbegeleider."."""
    tid = to_agreements(engine, clock)
    talk = {"kind": "formative"}
    rejected(
        NotAllowedInState,
        "not-allowed-in-state",
        lambda: engine.record_activity(
            tid, "formative_talk_with_study_adviser", actor="carla", input=talk
        ),
    )
    settle_agreements(engine, tid)
    engine.fire(tid, "start_guidance", actor="carla")
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.record_activity(
            tid, "formative_talk_with_study_adviser", actor="mira", input=talk
        ),
    )
    rejected(
        InvalidInput,
        "invalid-input",
        lambda: engine.record_activity(
            tid, "formative_talk_with_study_adviser", actor="carla", input={"kind": "chat"}
        ),
    )
    clock.set("2027-09-01T09:00:00+00:00")
    for day, who in (("2026-10-01", "carla"), ("2027-02-01", "sofie")):
        engine.record_activity(
            tid, "formative_talk_with_study_adviser", actor=who, on=day, input=talk
        )
    # two talks in the first year (from the start date) is too few
    assert status(engine, tid, "formative_talk_with_study_adviser", "2027-09-01") == [
        ("2026-08-24", "missed"),
        ("2027-08-24", "upcoming"),
    ]
    engine.record_activity(
        tid, "formative_talk_with_study_adviser", actor="sofie", on="2027-06-01", input=talk
    )
    assert status(engine, tid, "formative_talk_with_study_adviser", "2027-09-01")[0] == (
        "2026-08-24",
        "done",
    )
    assert DEF.activities["formative_talk_with_study_adviser"].recurring.at_least == 3


def test_rule_5_the_coach_or_the_manager_records_which_school_activities_the_switcher_joins(
    engine: Engine, clock: FixedClock
) -> None:
    """Bron: "bespreekt met de zij-instromer en leidinggevende waar op schoolniveau wel/ niet
    aan deelgenomen wordt. Sessies van teamleren bv het ontwerpen van lessen zijn wel van belang
    om bij te wonen" and "focus moet liggen op het lesgeven." The coach discusses it, so the
    coach may record it (version 2 allowed only the manager)."""
    tid = to_agreements(engine, clock)
    for who in ("bart", "sam", "sofie"):
        rejected(
            NotPermitted,
            "not-permitted",
            lambda who=who: engine.fire(
                tid, "agree_school_activities", actor=who, input=SCHOOL_ACTIVITIES
            ),
        )
    # team-learning sessions (designing lessons) are part of it: the focus is on teaching
    rejected(
        GuardFailed,
        "guard-failed",
        lambda: engine.fire(
            tid,
            "agree_school_activities",
            actor="carla",
            input={**SCHOOL_ACTIVITIES, "team_learning": False},
        ),
    )
    t = engine.fire(tid, "agree_school_activities", actor="carla", input=SCHOOL_ACTIVITIES)
    assert t.state == "agreements" and t.facts["school_activities_agreed"] is True
    settle_agreements(engine, tid, skip="agree_school_activities")
    engine.fire(tid, "start_guidance", actor="carla")
    # the agreements can be revised during the guidance, by the manager too
    t = engine.fire(
        tid,
        "agree_school_activities",
        actor="mira",
        input={**SCHOOL_ACTIVITIES, "joins": "Teamleren"},
    )
    assert t.state == "guidance"


def test_rule_5_the_guidance_does_not_wait_for_the_school_activities(
    engine: Engine, clock: FixedClock
) -> None:
    """Bron: "bespreekt met de zij-instromer en leidinggevende waar op schoolniveau wel/ niet
    aan deelgenomen wordt.": the source does not say when, so it is no condition for the start
    of the guidance (version 2 made it one); it can be agreed for the first time during the
    guidance."""
    tid = to_agreements(engine, clock)
    settle_agreements(engine, tid, skip="agree_school_activities")
    t = engine.fire(tid, "start_guidance", actor="carla")
    assert t.state == "guidance" and t.facts["school_activities_agreed"] is False
    rejected(
        GuardFailed,
        "guard-failed",
        lambda: engine.fire(
            tid,
            "agree_school_activities",
            actor="carla",
            input={**SCHOOL_ACTIVITIES, "team_learning": False},
        ),
    )
    t = engine.fire(tid, "agree_school_activities", actor="carla", input=SCHOOL_ACTIVITIES)
    assert t.state == "guidance" and t.facts["school_activities_agreed"] is True


def test_rule_6_the_source_names_no_end_so_no_one_declares_the_switcher_qualified(
    engine: Engine, clock: FixedClock
) -> None:
    """The source names no end of the route: the coach guides the switcher "die ... nog
    niet basisbekwaam is", and nowhere says who establishes that, nor when the guidance
    ends. There is no end declared by the study adviser (version 2 had one) and no
    "basically qualified" state: the one end is ``stopped``, by ``stop``."""
    tid = to_guidance(engine, clock)
    rejected(
        UnknownEvent,
        "unknown-event",
        lambda: engine.fire(
            tid, "declare_qualified", actor="sofie", input={"qualified_on": "2028-06-30"}
        ),
    )
    assert [name for name, state in DEF.states.items() if state.final] == ["stopped"]
    assert {tr.to for tr in DEF.transitions if DEF.states[tr.to].final} == {"stopped"}
    assert "qualified_on" not in DEF.facts


def test_rule_6_the_switcher_or_the_manager_ends_the_trajectory_with_a_reason(
    engine: Engine, clock: FixedClock
) -> None:
    """Added by this definition, not from the source (every trajectory must be able to
    end): the switcher or the manager ends it, giving a reason."""
    tid = to_guidance(engine, clock)
    for who in ("carla", "sofie", "bart"):
        rejected(
            NotPermitted,
            "not-permitted",
            lambda who=who: engine.fire(tid, "stop", actor=who, input={"reason": "x"}),
        )
    rejected(InvalidInput, "invalid-input", lambda: engine.fire(tid, "stop", actor="sam", input={}))
    t = engine.fire(tid, "stop", actor="mira", input={"reason": "Basisbekwaam"})
    assert t.state == "stopped"
    # a final state: nothing more happens
    rejected(
        NotAllowedInState,
        "not-allowed-in-state",
        lambda: engine.fire(tid, "stop", actor="sam", input={"reason": "x"}),
    )
    rejected(
        NotAllowedInState,
        "not-allowed-in-state",
        lambda: engine.record_activity(tid, "coaching_session", actor="carla", input=SESSION_INPUT),
    )


# --- further rules of the source text -------------------------------------------------------


def test_rule_7_the_team_is_informed_in_consultation_with_the_manager(
    engine: Engine, clock: FixedClock
) -> None:
    """Bron: "zorgt in overleg met de leidinggevende voor informatie richting het team en
    daarmee 'een zachte landing' voor de zij-instromer.": with the manager's consent."""
    tid = to_agreements(engine, clock)
    rejected(
        GuardFailed,
        "guard-failed",
        lambda: engine.fire(tid, "inform_team", actor="carla", input={"message": "Welkom"}),
    )
    rejected(
        ConsentError,
        "consent",
        lambda: engine.grant_consent(tid, "team_information", actor="carla"),
    )
    engine.grant_consent(tid, "team_information", actor="mira")
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.fire(tid, "inform_team", actor="mira", input={"message": "Welkom"}),
    )
    engine.fire(tid, "inform_team", actor="carla", input={"message": "Welkom"})
    assert engine.get(tid).facts["team_informed"] is True
    rejected(
        GuardFailed,
        "guard-failed",
        lambda: engine.fire(tid, "inform_team", actor="carla", input={"message": "Nogmaals"}),
    )


def test_rule_7_without_the_soft_landing_the_guidance_does_not_start(
    engine: Engine, clock: FixedClock
) -> None:
    """Bron: "daarmee 'een zachte landing' voor de zij-instromer": a landing is at the start."""
    tid = to_agreements(engine, clock)
    settle_agreements(engine, tid, skip="inform_team")
    rejected(GuardFailed, "guard-failed", lambda: engine.fire(tid, "start_guidance", actor="carla"))


def test_rule_8_expectations_structure_frequency_and_responsibilities_agreed_by_all_three(
    engine: Engine, clock: FixedClock
) -> None:
    """Bron: "stemt verwachtingen af en maakt afspraken over het begeleidingsplan, de structuur
    en frequentie van de begeleiding en de verdeling van de verantwoordelijkheden tussen de
    leidinggevende, zij-instromer en de leerkrachtcoach."."""
    tid = to_agreements(engine, clock)
    rejected(
        GuardFailed, "guard-failed", lambda: engine.fire(tid, "confirm_agreements", actor="mira")
    )
    for missing in ("expectations", "guidance_plan", "structure", "frequency", "responsibilities"):
        rejected(
            InvalidInput,
            "invalid-input",
            lambda missing=missing: engine.fire(
                tid,
                "agree_guidance",
                actor="carla",
                input={k: v for k, v in GUIDANCE.items() if k != missing},
            ),
        )
    rejected(
        InvalidInput,
        "invalid-input",
        lambda: engine.fire(
            tid, "agree_guidance", actor="carla", input={**GUIDANCE, "frequency": "daily"}
        ),
    )
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.fire(tid, "agree_guidance", actor="mira", input=GUIDANCE),
    )
    t = engine.fire(tid, "agree_guidance", actor="carla", input=GUIDANCE)
    assert t.facts["guidance_frequency"] == "weekly"
    engine.fire(tid, "confirm_agreements", actor="mira")
    rejected(
        GuardFailed, "guard-failed", lambda: engine.fire(tid, "confirm_agreements", actor="mira")
    )
    rejected(
        NotPermitted, "not-permitted", lambda: engine.fire(tid, "confirm_agreements", actor="bart")
    )
    # changed agreements need both confirmations again
    t = engine.fire(
        tid, "agree_guidance", actor="carla", input={**GUIDANCE, "frequency": "monthly"}
    )
    assert not t.facts["manager_confirmed"] and not t.facts["switcher_confirmed"]
    settle_agreements(engine, tid, skip="agree_guidance")
    assert engine.fire(tid, "start_guidance", actor="carla").state == "guidance"


def test_rule_8_without_the_switchers_confirmation_the_guidance_does_not_start(
    engine: Engine, clock: FixedClock
) -> None:
    """Afspraken "tussen de leidinggevende, zij-instromer en de leerkrachtcoach": each of
    the other two parties confirms them before the guidance they describe starts."""
    tid = to_agreements(engine, clock)
    settle_agreements(engine, tid, skip="switcher_confirms")
    error = rejected(
        GuardFailed, "guard-failed", lambda: engine.fire(tid, "start_guidance", actor="carla")
    )
    assert isinstance(error, GuardFailed) and error.values["switcher_confirmed"] is False


def test_rule_9_the_coach_briefs_the_buddy(engine: Engine, clock: FixedClock) -> None:
    """Bron: "geeft de duo / het maatje de nodige kennis en tools in handen om de samenwerking
    goed te laten verlopen." and "stemt af met de duo/ het maatje op welke wijze de
    zij-instromer wordt geïnformeerd over de praktische zaken"."""
    tid = to_agreements(engine, clock)
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.fire(tid, "brief_buddy", actor="bart", input=BUDDY),
    )
    rejected(
        InvalidInput,
        "invalid-input",
        lambda: engine.fire(
            tid,
            "brief_buddy",
            actor="carla",
            input={k: v for k, v in BUDDY.items() if k != "practical_matters"},
        ),
    )
    settle_agreements(engine, tid, skip="brief_buddy")
    rejected(GuardFailed, "guard-failed", lambda: engine.fire(tid, "start_guidance", actor="carla"))
    engine.fire(tid, "brief_buddy", actor="carla", input=BUDDY)
    engine.fire(tid, "start_guidance", actor="carla")
    # the manager appoints the buddy (a new one is briefed during the guidance)
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.assign(tid, "buddy", "bea", actor="carla", replacing="bart"),
    )
    engine.assign(tid, "buddy", "bea", actor="mira", replacing="bart")
    assert engine.fire(tid, "brief_buddy", actor="carla", input=BUDDY).state == "guidance"


def test_rule_9_a_new_buddy_must_be_briefed_before_the_guidance_starts(
    engine: Engine, clock: FixedClock
) -> None:
    """The buddy role's ``on_assign`` resets ``buddy_briefed`` (the former language gap):
    replacing the briefed buddy blocks the start until the new one is briefed too."""
    tid = to_agreements(engine, clock)
    settle_agreements(engine, tid)
    t = engine.assign(tid, "buddy", "bea", actor="mira", replacing="bart")
    assert t.facts["buddy_briefed"] is False
    assert dict(t.history[-1].changes) == {"buddy_briefed": False}
    rejected(GuardFailed, "guard-failed", lambda: engine.fire(tid, "start_guidance", actor="carla"))
    engine.fire(tid, "brief_buddy", actor="carla", input=BUDDY)
    assert engine.fire(tid, "start_guidance", actor="carla").state == "guidance"
    # during the guidance too, a new buddy shows up as not briefed until the coach does it
    assert (
        engine.assign(tid, "buddy", "bo", actor="mira", replacing="bea").facts["buddy_briefed"]
        is False
    )
    assert engine.fire(tid, "brief_buddy", actor="carla", input=BUDDY).facts["buddy_briefed"]
    assert engine.replay(tid) == engine.get(tid)


def test_rule_10_coaching_on_teaching_and_professional_identity_in_and_outside_the_class(
    engine: Engine, clock: FixedClock
) -> None:
    """Bron: "begeleidt en coacht de zij-instromer in beroep of opleiding zowel op het gebied
    van het lesgeven en alles wat daarbij komt kijken op het gebied van de beroepsidentiteit. De
    begeleiding en coaching kan gebeuren in de klassensituatie maar ook daarbuiten."."""
    tid = to_agreements(engine, clock)
    session = {"setting": "in_class", "focus": "teaching"}
    rejected(
        NotAllowedInState,
        "not-allowed-in-state",
        lambda: engine.record_activity(tid, "coaching_session", actor="carla", input=session),
    )
    settle_agreements(engine, tid)
    engine.fire(tid, "start_guidance", actor="carla")
    for setting, focus in (
        ("in_class", "teaching"),
        ("outside_class", "professional_identity"),
        ("outside_class", "learning_questions"),
        ("in_class", "theory_to_practice"),
    ):
        engine.record_activity(
            tid, "coaching_session", actor="carla", input={"setting": setting, "focus": focus}
        )
    assert engine.get(tid).counts["coaching_session"] == 4
    rejected(
        InvalidInput,
        "invalid-input",
        lambda: engine.record_activity(
            tid, "coaching_session", actor="carla", input={**session, "setting": "online"}
        ),
    )
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.record_activity(tid, "coaching_session", actor="mira", input=session),
    )
    rejected(
        UnknownEvent,
        "unknown-event",
        lambda: engine.record_activity(tid, "coaching", actor="carla", input=session),
    )


def test_rule_10_guidance_sessions_follow_the_agreed_frequency(
    engine: Engine, clock: FixedClock
) -> None:
    """``recurring: {every: {fact: guidance_frequency}}`` (the former language gap): the
    agenda asks for a session in every period of the agreed frequency."""
    tid = to_guidance(engine, clock)  # frequency agreed: weekly, guidance from 2026-08-27
    clock.set("2026-09-21T09:00:00+00:00")
    engine.record_activity(
        tid, "coaching_session", actor="carla", on="2026-09-03", input=SESSION_INPUT
    )
    assert status(engine, tid, "coaching_session", "2026-09-21") == [
        ("2026-08-24", "missed"),
        ("2026-08-31", "done"),
        ("2026-09-07", "missed"),
        ("2026-09-14", "missed"),
        ("2026-09-21", "due"),
    ]


def test_rule_10_a_new_frequency_counts_from_when_it_was_agreed(
    engine: Engine, clock: FixedClock
) -> None:
    tid = to_guidance(engine, clock)
    clock.set("2026-09-14T09:00:00+00:00")
    rejected(
        GuardFailed,
        "guard-failed",
        lambda: engine.fire(
            tid, "change_guidance_frequency", actor="carla", input={"frequency": "weekly"}
        ),
    )
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.fire(
            tid, "change_guidance_frequency", actor="sam", input={"frequency": "monthly"}
        ),
    )
    engine.fire(tid, "change_guidance_frequency", actor="carla", input={"frequency": "monthly"})
    clock.set("2026-11-02T09:00:00+00:00")
    engine.record_activity(
        tid, "coaching_session", actor="carla", on="2026-10-20", input=SESSION_INPUT
    )
    assert status(engine, tid, "coaching_session", "2026-11-02") == [
        ("2026-08-24", "missed"),  # weekly while that was the agreement
        ("2026-08-31", "missed"),
        ("2026-09-07", "missed"),
        ("2026-09-14", "missed"),  # monthly from the new agreement on
        ("2026-10-01", "done"),
        ("2026-11-01", "upcoming"),
    ]


def test_rule_11_lessons_are_prepared_with_the_coach_the_buddy_or_a_colleague(
    engine: Engine, clock: FixedClock
) -> None:
    """Bron: "bereidt samen lessen voor of besteedt dit uit aan de duo/ het maatje of een andere
    collega."."""
    tid = to_guidance(engine, clock)
    engine.record_activity(tid, "prepare_lessons", actor="carla", input={"prepared_with": "coach"})
    engine.record_activity(tid, "prepare_lessons", actor="bart", input={"prepared_with": "buddy"})
    engine.record_activity(
        tid, "prepare_lessons", actor="carla", input={"prepared_with": "colleague"}
    )
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.record_activity(
            tid, "prepare_lessons", actor="mira", input={"prepared_with": "coach"}
        ),
    )
    rejected(
        InvalidInput,
        "invalid-input",
        lambda: engine.record_activity(
            tid, "prepare_lessons", actor="carla", input={"prepared_with": "parent"}
        ),
    )


def test_rule_12_development_talks_with_the_switcher_based_on_the_guidance_plan(
    engine: Engine, clock: FixedClock
) -> None:
    """Bron: "voert ontwikkelingsgerichte en/of formatieve gesprekken met de zij-instromer aan
    de hand van het begeleidingsplan."."""
    tid = to_agreements(engine, clock)
    # no talks before the guidance starts, which needs a guidance plan
    rejected(
        NotAllowedInState,
        "not-allowed-in-state",
        lambda: engine.record_activity(
            tid, "development_talk", actor="carla", input={"kind": "formative"}
        ),
    )
    settle_agreements(engine, tid)
    engine.fire(tid, "start_guidance", actor="carla")
    for kind in ("development_oriented", "formative"):
        engine.record_activity(tid, "development_talk", actor="carla", input={"kind": kind})
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.record_activity(
            tid, "development_talk", actor="sam", input={"kind": "formative"}
        ),
    )
    rejected(
        InvalidInput,
        "invalid-input",
        lambda: engine.record_activity(tid, "development_talk", actor="carla", input={}),
    )


def test_rule_13_prior_competences_classroom_management_and_group_formation_at_the_start(
    engine: Engine, clock: FixedClock
) -> None:
    """Bron: "onderzoekt samen met de zij-instromer hoe eerder verworven competenties/
    kwaliteiten ingezet kunnen worden." and "bespreekt samen met de zij-instromer wat bij de
    start nodig is aan extra kennis, vaardigheden als het gaat om klassenmanagement en
    groepsvorming en bereidt dit samen voor of zorgt dat de zij-instromer hierin begeleid kan
    leren."."""
    tid = to_agreements(engine, clock)
    for missing in ("prior_competences", "classroom_management", "group_formation", "approach"):
        rejected(
            InvalidInput,
            "invalid-input",
            lambda missing=missing: engine.fire(
                tid,
                "discuss_start_needs",
                actor="carla",
                input={k: v for k, v in START_NEEDS.items() if k != missing},
            ),
        )
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.fire(tid, "discuss_start_needs", actor="bart", input=START_NEEDS),
    )
    settle_agreements(engine, tid, skip="discuss_start_needs")
    rejected(GuardFailed, "guard-failed", lambda: engine.fire(tid, "start_guidance", actor="carla"))
    engine.fire(
        tid,
        "discuss_start_needs",
        actor="carla",
        input={**START_NEEDS, "approach": "guided_learning"},
    )
    assert engine.fire(tid, "start_guidance", actor="carla").state == "guidance"


def test_rule_14_the_coach_checks_how_the_modules_connect_to_the_school(
    engine: Engine, clock: FixedClock
) -> None:
    """Bron: "heeft zicht op de inhoud van de modules en kijkt waar dit aansluit op schoolniveau
    of waar extra info/ kennis nodig is voor de zij-instromer."."""
    tid = to_guidance(engine, clock)
    engine.record_activity(
        tid,
        "review_modules",
        actor="carla",
        input={"module": "Rekendidactiek", "extra_needed": True},
    )
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.record_activity(
            tid, "review_modules", actor="sofie", input={"module": "X", "extra_needed": False}
        ),
    )
    rejected(
        InvalidInput,
        "invalid-input",
        lambda: engine.record_activity(tid, "review_modules", actor="carla", input={"module": "X"}),
    )


def test_rule_15_the_coach_profile_is_documented_and_the_manager_appoints_the_coach(
    engine: Engine, clock: FixedClock
) -> None:
    """Bron: "heeft de training voor leerkrachtcoaches gevolgd en ontwikkelt aantoonbaar zijn
    bekwaamheden en vaardigheden" (and the other skills): the person, not the route."""
    # the skills and professional development of the coach describe the person, not the
    # trajectory: they are the coach role's description
    description = DEF.roles["coach"].description
    assert isinstance(description, dict)
    assert "training voor leerkrachtcoaches" in description["nl"]
    assert "teacher-coach training" in description["en"]
    tid = to_agreements(engine, clock)
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.assign(tid, "coach", "cor", actor="sam", replacing="carla"),
    )
    t = engine.assign(tid, "coach", "cor", actor="mira", replacing="carla")
    assert t.participants["coach"] == ("cor",)
    # the study adviser is handed over by the institute, not by the school
    rejected(
        NotPermitted,
        "not-permitted",
        lambda: engine.assign(tid, "study_adviser", "stan", actor="mira", replacing="sofie"),
    )
    engine.assign(tid, "study_adviser", "stan", actor="sofie", replacing="sofie")


EXCLUSIONS = [
    # (role, excluded role, the source sentence the reading rests on)
    ("switcher", "manager", "is aanwezig bij het tripartite gesprek met de zij-instromer"),
    ("switcher", "study_adviser", "vertegenwoordiger van de opleiding"),
    ("switcher", "buddy", "op welke wijze de zij-instromer wordt geïnformeerd"),
    ("coach", "switcher", "De leerkrachtcoach begeleidt en coacht de zij-instromer"),
    ("coach", "manager", "tussen de leidinggevende, zij-instromer en de leerkrachtcoach"),
    ("coach", "study_adviser", "met de zij-instromer en de studieloopbaanbegeleider"),
    ("coach", "buddy", "besteedt dit uit aan de duo/ het maatje"),
    ("manager", "study_adviser", "vertegenwoordiger van de opleiding (studieloopbaanbegeleider"),
]


@pytest.mark.parametrize(("role", "other", "sentence"), EXCLUSIONS)
def test_rule_16_one_person_never_holds_two_parties_roles(
    engine: Engine, clock: FixedClock, role: str, other: str, sentence: str
) -> None:
    """Bron: the tripartite meeting "met de zij-instromer, vertegenwoordiger van de opleiding
    (studieloopbaanbegeleider- slb'er) en leidinggevende", the responsibilities "tussen de
    leidinggevende, zij-instromer en de leerkrachtcoach", the work handed "aan de duo/ het
    maatje": each party is another person."""
    source = ROOT.parent / "shared" / "sources" / "leerkrachtcoach-zij-instromer.txt"
    if source.is_file():
        assert sentence in source.read_text(encoding="utf-8")
    assert other in DEF.roles[role].excludes
    both = {**PEOPLE, role: "twofold", other: "twofold"}
    starter = "twofold" if "manager" in (role, other) else "mira"
    rejected(
        NotPermitted,
        "excluded-roles",
        lambda: engine.start(ID, participants=both, actor=starter, trajectory_id="cs-twofold"),
    )
    # the manager, who assigns the coach and the buddy, cannot assign either to themselves
    tid = start(engine)
    if role == "coach" and other == "manager":
        rejected(
            NotPermitted,
            "excluded-roles",
            lambda: engine.assign(tid, "coach", "mira", actor="mira", replacing="carla"),
        )
        engine.assign(tid, "coach", "cor", actor="mira", replacing="carla")
    if (role, other) == ("coach", "buddy"):
        rejected(
            NotPermitted,
            "excluded-roles",
            lambda: engine.assign(tid, "buddy", "carla", actor="mira", replacing="bart"),
        )


# --- whole runs -----------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["in_service", "in_training"])
def test_happy_path_to_the_end(engine: Engine, clock: FixedClock, variant: str) -> None:
    tid = to_guidance(engine, clock, variant)
    assert engine.get(tid).state == "guidance"
    clock.set("2027-07-01T09:00:00+00:00")
    for day in ("2026-10-01", "2027-02-01", "2027-06-01"):
        engine.record_activity(
            tid,
            "formative_talk_with_study_adviser",
            actor="carla",
            on=day,
            input={"kind": "formative"},
        )
    engine.record_activity(
        tid, "coaching_session", actor="carla", input={"setting": "in_class", "focus": "teaching"}
    )
    t = engine.fire(tid, "stop", actor="mira", input={"reason": "Basisbekwaam"})
    assert t.state == "stopped"
    assert engine.allowed_events(tid, actor="mira") == []
    assert engine.replay(tid) == engine.get(tid)
    kinds = [r.event for r in engine.history(tid) if r.kind == "event"]
    assert kinds[-2:] == ["start_guidance", "stop"]


def test_the_buddy_does_not_read_more_than_a_participant_may(
    engine: Engine, clock: FixedClock
) -> None:
    # nothing in the source is confidential: every participant reads the whole history
    tid = to_guidance(engine, clock)
    assert engine.history(tid, viewer="bart") == engine.history(tid)


# --- the diagram ------------------------------------------------------------------------------


def test_the_mermaid_diagram_is_the_same_in_every_run() -> None:
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-m", "coachflow", "graph", str(PATH), "--format", "mermaid"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_an_agenda_read_as_of_a_past_day_ignores_later_records(
    engine: Engine, clock: FixedClock
) -> None:
    tid = to_guidance(engine, clock)  # in guidance since 27 August 2026
    clock.set("2026-09-15T09:00:00+00:00")
    engine.record_activity(
        tid, "review_modules", actor="carla", input={"module": "Rekenen", "extra_needed": False}
    )
    [item] = [i for i in engine.agenda(tid, as_of="2026-09-01") if i.activity == "review_modules"]
    assert (item.status, item.records) == ("upcoming", 0)


# --- the Hypothesis machine --------------------------------------------------------------------

CareerSwitcherMachine = trajectory_machine(DEF)
TestCareerSwitcherMachine = CareerSwitcherMachine.TestCase
TestCareerSwitcherMachine.settings = settings(
    max_examples=20, stateful_step_count=30, deadline=None
)

InServiceMachine = trajectory_machine(DEF, facts={"variant": "in_service"})
TestInServiceMachine = InServiceMachine.TestCase
TestInServiceMachine.settings = settings(max_examples=10, stateful_step_count=30, deadline=None)


# --- the documentation ----------------------------------------------------------------------

DOC = ROOT / "docs" / "trajectories" / "career-switcher.md"
SAMPLE_DATES = ("2026-09-14", "2026-11-02", "2027-09-06")


def sample_run_agenda() -> list[str]:
    """The agenda table of the sample run in the documentation: an in-service switcher
    whose trajectory starts on 31 August 2026; the agenda is read on each date of
    ``SAMPLE_DATES`` as that day comes (so later records do not exist yet)."""
    clock = FixedClock("2026-08-31T09:00:00+00:00")
    engine = Engine([DEF], clock=clock)

    def on(day: str) -> None:
        clock.set(f"{day}T15:00:00+00:00")

    tid = engine.start(
        ID,
        participants=PEOPLE,
        actor="mira",
        facts={"variant": "in_service"},
        trajectory_id="sample",
        start_date="2026-08-31",
    ).id
    engine.record_activity(tid, "suitability_assessment", actor="sofie", input=SUITABILITY)
    engine.fire(tid, "plan_tripartite_meeting", actor="carla", input={"planned_on": "2026-09-03"})
    on("2026-09-03")
    engine.fire(tid, "hold_tripartite_meeting", actor="sofie", input=ALL_PRESENT)
    settle_agreements(engine, tid, frequency="monthly")
    on("2026-09-07")
    engine.fire(tid, "start_guidance", actor="carla")

    rows = [
        "| on | activity | period (due at its end) | records | status |",
        "| --- | --- | --- | --- | --- |",
    ]

    def read(day: str) -> None:
        on(day)
        for i in engine.agenda(tid):
            period = f"{i.period_start} to {i.due_date}" if i.period_start else ""
            rows.append(f"| {day} | `{i.activity}` | {period} | {i.records} | {i.status} |")

    session = {"setting": "in_class", "focus": "teaching"}
    talk = {"kind": "formative"}
    on("2026-09-10")
    engine.record_activity(tid, "coaching_session", actor="carla", input=session)
    read(SAMPLE_DATES[0])
    on("2026-10-08")
    engine.record_activity(tid, "formative_talk_with_study_adviser", actor="sofie", input=talk)
    engine.record_activity(tid, "coaching_session", actor="carla", input=session)
    engine.record_activity(tid, "update_guidance_plan", actor="sam", input=PLAN)
    read(SAMPLE_DATES[1])
    for day in ("2026-11-16", "2027-01-18", "2027-03-15", "2027-05-10", "2027-06-14"):
        on(day)
        engine.record_activity(tid, "coaching_session", actor="carla", input=session)
        engine.record_activity(tid, "update_guidance_plan", actor="sam", input=PLAN)
    on("2027-02-10")
    engine.record_activity(tid, "formative_talk_with_study_adviser", actor="carla", input=talk)
    engine.record_activity(tid, "development_talk", actor="carla", input=talk)
    read(SAMPLE_DATES[2])
    return rows


def test_the_documentation_shows_the_real_diagram_and_agenda() -> None:
    from coachflow.files.diagram import to_mermaid

    text = DOC.read_text(encoding="utf-8")
    mermaid = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    # compared as sets of lines: the order of the final states is not stable (see the BUG)
    assert sorted(mermaid.splitlines()) == sorted(to_mermaid(DEF).splitlines())
    assert "\n".join(sample_run_agenda()) in text
