"""Versions 3 and 4 of ``career-switcher`` next to the versions they replace.

``data/career-switcher-v2.yaml`` is version 2 as shipped before (``data/*-v1.yaml``
version 1); ``data/career-switcher-v3.yaml`` is version 3 as shipped, the rule-by-rule
review of the source (``shared/sources/leerkrachtcoach-zij-instromer.txt``): the suitability
assessment is an optional record that blocks nothing, the ends ``not_suitable`` and
``qualified`` are gone, and the guidance no longer waits for the school activities. A
database holding version-2 trajectories keeps running them on version 2 after the upgrade
(the store remembers every definition version it has seen), new trajectories take version
3, and ``engine.migrate`` moves version-2 trajectories along version 3's
``migrates_from: {version: 2}`` map, the trajectories in the two ends that are gone
included (to ``stopped``). A version-1 trajectory cannot skip version 2.

``definitions/career-switcher.yaml`` is version 4, which declares what the AVG asks and
nothing else: the switcher is the person the trajectory is about (``subject``), the notes,
expectations, plans, competences, needs, reasons and the outcome of the suitability
assessment say something about a person (``personal``), and ``retention`` gives coachflow's
policy defaults (the source says nothing about keeping data). A version-3 trajectory in a
database moves to version 4 as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from version_helpers import POLICY_DEFAULTS, fact_names, input_names, retention_of, subject_roles

from coachflow import Engine, FixedClock, GuardFailed, MigrationError, load_definition
from coachflow.definition.checks import migration_problems
from coachflow.files.loading import validate_files
from coachflow.store import SqlStore

HERE = Path(__file__).parent
V1 = HERE / "data" / "career-switcher-v1.yaml"
V2 = HERE / "data" / "career-switcher-v2.yaml"
V3 = HERE / "data" / "career-switcher-v3.yaml"
V4 = HERE.parents[1] / "definitions" / "career-switcher.yaml"
ID = "career-switcher"

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
    "expectations": "Wekelijks contact",
    "guidance_plan": "Format Marnix",
    "structure": "Lesbezoek en nagesprek",
    "frequency": "weekly",
    "responsibilities": "Leidinggevende, coach en zij-instromer elk hun deel",
}
BUDDY = {
    "tasks_and_responsibilities": "Dagelijkse vragen bij het maatje",
    "adult_learning": "Volwassenen leren vanuit ervaring",
    "practical_matters": "Methoden en oudergesprekken via het maatje",
}
START_NEEDS = {
    "prior_competences": "Projectleiding",
    "classroom_management": "Routines",
    "group_formation": "Kennismaking",
    "approach": "prepare_together",
}
PLAN = {"competences": "Groeiend", "qualities": "Rust", "learning_questions": "Differentiëren"}
SCHOOL_ACTIVITIES = {"joins": "Teamleren", "team_learning": True}


def test_versions_1_2_and_3_validate_together_without_diagnostics() -> None:
    results = validate_files([V1, V2, V3])
    assert results == {str(p): [] for p in (V1, V2, V3)}


def test_version_3_maps_every_state_of_version_2() -> None:
    v2, v3 = load_definition(V2), load_definition(V3)
    assert (v2.version, v3.version) == (2, 3)
    assert v3.migrates_from is not None and v3.migrates_from.version == 2
    assert migration_problems(v2, v3) == []
    assert dict(v3.migrates_from.states) == {
        "preparation": "preparation",
        "start_meeting": "start_meeting",
        "agreements": "agreements",
        "guidance": "guidance",
        "qualified": "stopped",  # an end the source does not name
        "not_suitable": "stopped",  # likewise
        "stopped": "stopped",
    }
    assert set(v2.states) - set(v3.states) == {"qualified", "not_suitable"}
    assert set(v2.facts) - set(v3.facts) == {"suitability", "qualified_on"}
    assert set(v3.facts) <= set(v2.facts)  # no new facts; the others carry over


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'x.db'}"


DROPPED = ("suitability", "qualified_on")


def kept(facts: object) -> dict[str, object]:
    """A version-2 trajectory's facts without the two that version 3 drops."""
    assert isinstance(facts, Mapping)
    return {k: v for k, v in facts.items() if k not in DROPPED}


def v2_to_agreements(engine: Engine, clock: FixedClock, tid: str, variant: str) -> None:
    """A version-2 trajectory up to the agreements (a positive assessment when in service)."""
    engine.start(
        ID,
        participants=PEOPLE,
        actor="mira",
        facts={"variant": variant},
        trajectory_id=tid,
        start_date="2026-08-24",
    )
    if variant == "in_service":
        engine.fire(
            tid,
            "record_suitability_assessment",
            actor="sofie",
            input={"outcome": "positive", "assessed_on": "2026-06-15"},
        )
    engine.fire(tid, "plan_tripartite_meeting", actor="carla", input={"planned_on": "2026-08-27"})
    engine.fire(tid, "hold_tripartite_meeting", actor="sofie", input=ALL_PRESENT)
    engine.fire(tid, "agree_guidance", actor="carla", input=GUIDANCE)
    engine.fire(tid, "confirm_agreements", actor="mira")
    engine.fire(tid, "confirm_agreements", actor="sam")
    engine.grant_consent(tid, "team_information", actor="mira")
    engine.fire(tid, "inform_team", actor="carla", input={"message": "Welkom"})
    engine.fire(tid, "brief_buddy", actor="carla", input=BUDDY)
    engine.fire(tid, "discuss_start_needs", actor="carla", input=START_NEEDS)
    engine.record_activity(tid, "update_guidance_plan", actor="sam", input=PLAN)


def test_version_2_trajectories_keep_running_and_migrate_to_version_3(database: str) -> None:
    clock = FixedClock("2026-08-27T09:00:00+00:00")
    store = SqlStore(database)
    old = Engine([load_definition(V2)], store=store, clock=clock)
    # waiting for the suitability assessment, which version 2 requires
    old.start(
        ID,
        participants=PEOPLE,
        actor="mira",
        facts={"variant": "in_service"},
        trajectory_id="waiting",
    )
    # in the agreements, without the school activities, which version 2 requires
    v2_to_agreements(old, clock, "agreeing", "in_training")
    # ended in version 2's "not suitable"
    old.start(
        ID,
        participants=PEOPLE,
        actor="mira",
        facts={"variant": "in_service"},
        trajectory_id="unsuitable",
    )
    old.fire(
        "unsuitable",
        "record_suitability_assessment",
        actor="sofie",
        input={"outcome": "negative", "assessed_on": "2026-06-15"},
    )
    old.fire("unsuitable", "close_not_suitable", actor="mira")
    # ended in version 2's "basically qualified", declared by the study adviser
    v2_to_agreements(old, clock, "qualified", "in_service")
    old.fire("qualified", "agree_school_activities", actor="mira", input=SCHOOL_ACTIVITIES)
    old.fire("qualified", "start_guidance", actor="carla")
    old.fire("qualified", "declare_qualified", actor="sofie", input={"qualified_on": "2027-06-30"})
    store.dispose()

    store = SqlStore(database)
    try:
        new = Engine([load_definition(V3)], store=store, clock=clock)
        before = {tid: new.get(tid) for tid in ("waiting", "agreeing", "unsuitable", "qualified")}
        assert {t.definition_version for t in before.values()} == {2}
        assert [before[tid].state for tid in before] == [
            "preparation",
            "agreements",
            "not_suitable",
            "qualified",
        ]
        # version 2's rules still hold for them ...
        with pytest.raises(GuardFailed) as refused:
            new.fire(
                "waiting",
                "plan_tripartite_meeting",
                actor="carla",
                input={"planned_on": "2026-09-01"},
            )
        assert refused.value.code == "guard-failed"
        with pytest.raises(GuardFailed):
            new.fire("agreeing", "start_guidance", actor="carla")
        assert new.get("agreeing").definition_version == 2
        # ... while a new trajectory takes version 3, whose in-service switcher need not wait
        started = new.start(
            ID,
            participants=PEOPLE,
            actor="mira",
            facts={"variant": "in_service"},
            trajectory_id="new",
        )
        assert started.definition_version == 3
        fired = new.fire(
            "new", "plan_tripartite_meeting", actor="carla", input={"planned_on": "2026-09-01"}
        )
        assert (fired.definition_version, fired.state) == (3, "start_meeting")

        # every version-2 trajectory can move
        assert sorted(new.plan_migration(ID, 3)) == [(tid, 2, None) for tid in sorted(before)]

        moved = new.migrate("waiting", 3, actor="admin")
        assert (moved.definition_version, moved.state) == (3, "preparation")
        planned = new.fire(
            "waiting", "plan_tripartite_meeting", actor="carla", input={"planned_on": "2026-09-01"}
        )
        assert planned.state == "start_meeting"

        moved = new.migrate("agreeing", 3, actor="admin")
        assert (moved.definition_version, moved.state) == (3, "agreements")
        assert dict(moved.facts) == kept(before["agreeing"].facts)  # the others carry over
        assert new.fire("agreeing", "start_guidance", actor="carla").state == "guidance"

        # the two ends version 3 does not have: ended, the dropped facts kept in history
        for tid, dropped, event, field in (
            ("unsuitable", "suitability", "record_suitability_assessment", "outcome"),
            ("qualified", "qualified_on", "declare_qualified", "qualified_on"),
        ):
            value = before[tid].facts[dropped]
            assert value is not None
            moved = new.migrate(tid, 3, actor="admin")
            assert (moved.definition_version, moved.state) == (3, "stopped")
            assert not set(DROPPED) & set(moved.facts)
            assert dict(moved.facts) == kept(before[tid].facts)
            # the dropped value stays in the history, in the record of the event that set it
            history = new.history(tid)
            [record] = [r for r in history if r.event == event]
            assert str(record.input[field]) == str(value)
            assert history[-1].kind == "migrated"
            assert new.allowed_events(tid, actor="mira") == []

        for tid in before:
            assert new.replay(tid) == new.get(tid)
        # nothing is left on version 2, and a migrated trajectory cannot move again
        assert new.plan_migration(ID, 3) == []
        with pytest.raises(MigrationError):
            new.migrate("waiting", 3, actor="admin")
    finally:
        store.dispose()


def test_a_version_1_trajectory_moves_to_3_only_through_2(database: str) -> None:
    clock = FixedClock("2026-08-24T09:00:00+00:00")
    store = SqlStore(database)
    old = Engine([load_definition(V1)], store=store, clock=clock)
    old.start(
        ID, participants=PEOPLE, actor="mira", facts={"variant": "in_training"}, trajectory_id="cs"
    )
    store.dispose()

    store = SqlStore(database)
    try:
        new = Engine([load_definition(V3)], store=store, clock=clock)
        assert new.get("cs").definition_version == 1
        with pytest.raises(MigrationError) as refused:
            new.migrate("cs", 3, actor="admin")
        assert "does not migrate from version 1" in str(refused.value)
        assert new.get("cs").definition_version == 1  # nothing changed
        both = Engine([load_definition(V2), load_definition(V3)], store=store, clock=clock)
        assert both.migrate("cs", 2, actor="admin").definition_version == 2
        moved = both.migrate("cs", 3, actor="admin")
        assert (moved.definition_version, moved.state) == (3, "preparation")
        assert both.replay("cs") == moved
    finally:
        store.dispose()


# --- version 4: what the AVG asks ----------------------------------------------------------


def test_version_4_validates_with_version_3_and_maps_every_state_onto_itself() -> None:
    # neither has a confidential field, so version 3 is clean without retention too
    assert validate_files([V3, V4]) == {str(V3): [], str(V4): []}
    v3, v4 = load_definition(V3), load_definition(V4)
    assert (v3.version, v4.version) == (3, 4)
    assert v4.migrates_from is not None and v4.migrates_from.version == 3
    assert dict(v4.migrates_from.states) == {state: state for state in v3.states}
    assert dict(v4.migrates_from.facts) == {}
    assert (set(v4.states), set(v4.facts)) == (set(v3.states), set(v3.facts))
    assert migration_problems(v3, v4) == []


def test_version_4_declares_the_subject_personal_data_and_retention() -> None:
    v3, v4 = load_definition(V3), load_definition(V4)
    assert subject_roles(v3) == [] and retention_of(v3) is None  # version 3 declared none
    assert input_names(v3, personal=True) == set()
    assert subject_roles(v4) == ["switcher"]
    assert retention_of(v4) == POLICY_DEFAULTS
    # the facts are the variant, the class, dates, the frequency and progress flags: plain,
    # so the history stays useful for statistics after the personal values are erased
    assert fact_names(v4, personal=True) == set()
    assert input_names(v4, personal=True) == {
        "notes",
        "expectations",
        "guidance_plan",
        "reason",
        "message",
        "prior_competences",
        "classroom_management",
        "group_formation",
        "competences",
        "qualities",
        "learning_questions",
        "outcome",  # of the suitability assessment: a judgement of the switcher
    }
    assert input_names(v4, personal=False) == {
        "variant",
        "planned_on",
        "switcher_present",
        "study_adviser_present",
        "manager_present",
        "coach_present",
        "group",
        "structure",
        "frequency",
        "responsibilities",
        "joins",
        "skips",
        "team_learning",
        "tasks_and_responsibilities",
        "adult_learning",
        "practical_matters",
        "approach",
        "setting",
        "focus",
        "prepared_with",
        "kind",
        "module",
        "extra_needed",
        "assessed_on",
    }


def test_version_3_trajectories_in_a_database_migrate_to_version_4_as_they_are(
    database: str,
) -> None:
    clock = FixedClock("2026-08-27T09:00:00+00:00")
    store = SqlStore(database)
    try:
        old = Engine([load_definition(V3)], store=store, clock=clock)
        # in the guidance, with a guidance plan and a coaching session recorded
        v2_to_agreements(old, clock, "guided", "in_training")  # version 3 has these steps too
        old.fire("guided", "start_guidance", actor="carla")
        old.record_activity(
            "guided",
            "coaching_session",
            actor="carla",
            input={"setting": "in_class", "focus": "teaching", "notes": "Instructie"},
        )
        # ended by the switcher, with a reason
        old.start(ID, participants=PEOPLE, actor="mira", trajectory_id="ended")
        old.fire("ended", "stop", actor="sam", input={"reason": "Basisbekwaam"})
    finally:
        store.dispose()

    store = SqlStore(database)
    try:
        new = Engine([load_definition(V4)], store=store, clock=clock)
        before = {tid: new.get(tid) for tid in ("guided", "ended")}
        assert {t.definition_version for t in before.values()} == {3}  # read back from store
        assert sorted(new.plan_migration(ID, 4)) == [("ended", 3, None), ("guided", 3, None)]
        for tid, state in (("guided", "guidance"), ("ended", "stopped")):
            moved = new.migrate(tid, 4, actor="admin")
            assert (moved.definition_version, moved.state) == (4, state)
            assert dict(moved.facts) == dict(before[tid].facts)
            assert dict(moved.counts) == dict(before[tid].counts)
            assert moved.history[-1].kind == "migrated"
            assert new.replay(tid) == moved
        # what was recorded stays in the history
        [stop] = [r for r in new.history("ended", viewer="sam") if r.event == "stop"]
        assert stop.input["reason"] == "Basisbekwaam"
        # version 4's rules are version 3's: the guidance goes on
        t = new.record_activity("guided", "update_guidance_plan", actor="sam", input=PLAN)
        assert (t.definition_version, t.counts["update_guidance_plan"]) == (4, 2)
    finally:
        store.dispose()
