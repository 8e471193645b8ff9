"""Version 3 of the built-in ``nt2-consult`` next to the version 2 it replaces.

``data/nt2-consult-v2.yaml`` is version 2 as shipped before (``data/*-v1*.yaml`` version 1;
the step from 1 to 2 is tested in ``test_versions_starter_year.py``). Version 3 declares what
the AVG asks and nothing else: the teacher is the person the trajectory is about
(``subject``), the help question, goals, remarks, reasons, adjustments, feedback and notes
say something about a person (``personal``), and ``retention`` gives coachflow's policy
defaults (the source says nothing about keeping data). A database holding version-2
trajectories keeps running them on version 2 after the upgrade, and ``engine.migrate`` moves
them to version 3 as they are: every state onto itself, every fact carried over.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from version_helpers import (
    POLICY_DEFAULTS,
    fact_names,
    input_names,
    kept_by_omission_only,
    retention_of,
    subject_roles,
)

from coachflow import Engine, FixedClock, MigrationError, load_definition
from coachflow.definition.checks import migration_problems
from coachflow.definition.checks.migrations import migration_warnings
from coachflow.files.loading import validate_files
from coachflow.store import SqlStore

HERE = Path(__file__).parent
V1 = HERE / "data" / "nt2-consult-v1.yaml"
V2 = HERE / "data" / "nt2-consult-v2.yaml"
V3 = HERE.parents[1] / "definitions" / "nt2-consult.yaml"
ID = "nt2-consult"
TEACHER, MANAGER, CENTRE, CLIENT = "tess", "max", "cees", "clara"
QUESTION = {"topic": "nt2_adaptation", "question": "Hoe pas ik mijn leesles aan voor Amir?"}
INTAKE = {
    "history_discussed": True,
    "help_question": "Hoe laat ik Amir meedoen met de leesles in groep 5?",
    "support": "coaching",
    "goals": "Differentiëren in de leesles",
    "duration_weeks": 16,
}


def test_version_3_validates_with_version_2_and_maps_every_state() -> None:
    results = validate_files([V2, V3])
    assert results[str(V3)] == []
    assert kept_by_omission_only(results[str(V2)])
    old, new = load_definition(V2), load_definition(V3)
    assert (old.version, new.version) == (2, 3)
    assert new.migrates_from is not None and new.migrates_from.version == 2
    assert dict(new.migrates_from.states) == {s: s for s in old.states}
    assert dict(new.migrates_from.facts) == {}
    assert (set(new.states), set(new.facts)) == (set(old.states), set(old.facts))
    assert migration_problems(old, new) == []
    assert migration_warnings(old, new) == []  # nobody reads more than before


def test_version_3_declares_the_subject_personal_data_and_retention() -> None:
    old, new = load_definition(V2), load_definition(V3)
    assert subject_roles(old) == [] and retention_of(old) is None  # version 2 declared none
    assert input_names(old, personal=True) == set() == fact_names(old, personal=True)
    assert subject_roles(new) == ["teacher"]
    assert retention_of(new) == POLICY_DEFAULTS
    assert fact_names(new, personal=True) == {
        "help_question",
        "refusal_reason",
        "goals",
        "client_remarks",
        "adjustment",
    }
    # the topic, the form of support, dates, durations, counts and flags stay plain, so the
    # history stays useful for statistics after the personal values are erased
    assert fact_names(new, personal=False) == {
        "help_topic",
        "intake_date",
        "intake_held",
        "support",
        "duration_weeks",
        "part_1_week",
        "interim_date",
        "sessions_in_part_1",
        "goals_adjusted",
        "final_evaluation_date",
    }
    assert input_names(new, personal=True) == {
        "question",
        "reason",
        "help_question",
        "goals",
        "remarks",
        "adjustment",
        "feedback",
        "notes",
    }
    assert input_names(new, personal=False) == {
        "topic",
        "date",
        "history_discussed",
        "support",
        "duration_weeks",
        "adjusted",
        "form",
    }


def at(clock: FixedClock, day: str) -> None:
    clock.set(datetime.fromisoformat(f"{day}T09:00:00+00:00"))


def test_version_2_trajectories_keep_running_then_migrate_to_version_3(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    clock = FixedClock("2026-09-01T09:00:00+00:00")
    people = {"teacher": TEACHER, "manager": MANAGER}
    store = SqlStore(url)
    try:
        old = Engine([load_definition(V1), load_definition(V2)], store=store, clock=clock)
        old.start(ID, version=1, participants=people, actor=TEACHER, trajectory_id="v1")
        # in the intake, with the help question, goals and the client's remarks recorded
        old.start(ID, participants=people, actor=TEACHER, trajectory_id="intake")
        old.fire("intake", "report_help_question", actor=TEACHER, input=QUESTION)
        old.fire("intake", "grant_permission", actor=MANAGER)
        old.assign("intake", "centre", CENTRE, actor=MANAGER)
        old.assign("intake", "client", CLIENT, actor=MANAGER)
        old.fire("intake", "submit_contact_form", actor=TEACHER, input=QUESTION)
        old.fire("intake", "plan_intake", actor=CENTRE, input={"date": "2026-09-24"})
        at(clock, "2026-09-21")
        old.record_activity("intake", "return_intake_forms", actor=TEACHER)
        at(clock, "2026-09-24")
        old.fire("intake", "hold_intake", actor=CENTRE, input=INTAKE)
        old.fire("intake", "request_changes", actor=CLIENT, input={"remarks": "Doel scherper"})
        # declined by the manager, with a reason
        old.start(ID, participants=people, actor=TEACHER, trajectory_id="declined")
        old.fire("declined", "report_help_question", actor=TEACHER, input=QUESTION)
        old.fire("declined", "refuse_permission", actor=MANAGER, input={"reason": "Geen budget"})
    finally:
        store.dispose()

    store = SqlStore(url)
    try:
        new = Engine([load_definition(V3)], store=store, clock=clock)
        before = {tid: new.get(tid) for tid in ("intake", "declined")}
        assert {t.definition_version for t in before.values()} == {2}  # read back from store
        assert before["intake"].facts["client_remarks"] == "Doel scherper"
        assert before["declined"].facts["refusal_reason"] == "Geen budget"
        # a new trajectory takes version 3
        assert new.start(ID, participants=people, actor=TEACHER).definition_version == 3

        plan = {tid: (version, problem) for tid, version, problem in new.plan_migration(ID, 3)}
        assert plan["intake"] == plan["declined"] == (2, None)
        assert plan["v1"][0] == 1 and "does not migrate from version 1" in str(plan["v1"][1])
        for tid, state in (("intake", "intake"), ("declined", "declined")):
            moved = new.migrate(tid, 3, actor="admin")
            assert (moved.definition_version, moved.state) == (3, state)
            assert dict(moved.facts) == dict(before[tid].facts)
            assert dict(moved.counts) == dict(before[tid].counts)
            assert moved.history[-1].kind == "migrated"
            assert new.replay(tid) == moved

        # version 3's rules are version 2's: the intake goes on
        redone = new.fire("intake", "hold_intake", actor=CENTRE, input=INTAKE)
        assert (redone.definition_version, redone.facts["intake_held"]) == (3, True)
        approved = new.fire("intake", "approve_agreements", actor=CLIENT)
        assert (approved.state, approved.facts["goals"]) == ("part_1", INTAKE["goals"])

        # version 3 migrates from version 2 only: a version-1 trajectory stays where it is
        with pytest.raises(MigrationError):
            new.migrate("v1", 3, actor="admin")
        assert new.get("v1").definition_version == 1
    finally:
        store.dispose()
