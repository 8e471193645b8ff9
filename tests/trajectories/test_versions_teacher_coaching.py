"""Versions 3 and 4 of the built-in ``teacher-coaching``, next to the versions they replace.

``data/teacher-coaching-v2.yaml`` and ``data/teacher-coaching-v3.yaml`` are versions 2 and 3
as shipped before (``data/*-v1.yaml`` and ``test_builtin_versions.py`` cover the step from 1
to 2); ``definitions/teacher-coaching.yaml`` is version 4. Version 3 makes the estimated
number of sessions count (at least 3, more than 5 possible, changed by agreement), lets the
coachee start the trajectory, and drops two rules the source does not make. A database that
holds version-2 trajectories keeps running them on version 2 after the upgrade (the store
remembers every definition version it has seen), new trajectories take version 3, and
``engine.migrate`` moves a version-2 trajectory along version 3's ``migrates_from`` map (every
state onto itself; the facts carry over). Version 1 trajectories cannot move to version 3:
it migrates from version 2 only.

Version 4 declares what the AVG asks and nothing else: the coachee is the person the
trajectory is about (``subject``), the reasons, concerns, agreements, goals, notes,
evaluations and reports say something about a person (``personal``), and ``retention`` gives
coachflow's policy defaults (the source says nothing about keeping data). A version-3
trajectory in a database moves to version 4 as it is.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from version_helpers import (
    POLICY_DEFAULTS,
    clean_but_retention,
    fact_names,
    input_names,
    kept_by_omission_only,
    retention_of,
    subject_roles,
)

from coachflow import Engine, FixedClock, GuardFailed, MigrationError, load_definition
from coachflow.definition.checks import migration_problems
from coachflow.definition.checks.migrations import migration_warnings
from coachflow.files.loading import validate_files
from coachflow.store import SqlStore

HERE = Path(__file__).parent
V1 = HERE / "data" / "teacher-coaching-v1.yaml"
V2 = HERE / "data" / "teacher-coaching-v2.yaml"
V3 = HERE / "data" / "teacher-coaching-v3.yaml"
V4 = HERE.parents[1] / "definitions" / "teacher-coaching.yaml"
PEOPLE = {"coachee": "cas", "adviser": "ada", "manager": "mira", "client": "cleo"}
INTAKE = {
    "held_on": "2026-09-10",
    "concerns_and_wishes": "Onrust in de klas",
    "working_agreements": "Elke twee weken op dinsdag",
    "period_start": "2026-09-14",
    "period_end": "2026-12-18",
}
DAYS = ["2026-09-22", "2026-10-06", "2026-10-20", "2026-11-03", "2026-11-17"]


def test_versions_2_and_3_validate_together_without_diagnostics() -> None:
    """Apart from ``no-retention``: these versions were shipped before ``retention``."""
    for paths in ((V2, V3), (V1, V2, V3)):
        results = validate_files(paths)
        assert sorted(results) == sorted(map(str, paths)) and clean_but_retention(results)


def test_version_3_maps_every_state_of_version_2_onto_itself() -> None:
    v2, v3 = load_definition(V2), load_definition(V3)
    assert (v2.version, v3.version) == (2, 3)
    assert v3.migrates_from is not None and v3.migrates_from.version == 2
    assert dict(v3.migrates_from.states) == {state: state for state in v2.states}
    assert dict(v3.migrates_from.facts) == {}
    assert set(v2.facts) <= set(v3.facts)
    assert migration_problems(v2, v3) == []
    assert migration_warnings(v2, v3) == []  # nobody reads more than before


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'x.db'}"


def to_coaching(engine: Engine, tid: str, estimate: int) -> None:
    """Step 1, the intake and its goals, on either version."""
    engine.fire(
        tid, "record_client_contact", actor="ada", input={"held_on": "2026-09-02", "reason": "r"}
    )
    engine.fire(
        tid, "record_manager_call", actor="ada", input={"held_on": "2026-09-03", "concern": "c"}
    )
    engine.fire(tid, "plan_intake", actor="ada", input={"estimated_sessions": estimate})
    engine.fire(tid, "hold_intake", actor="ada", input=INTAKE)
    engine.fire(tid, "set_learning_goals", actor="cas", input={"goals": ["Rust in de klas"]})
    engine.fire(tid, "start_coaching", actor="cas")


def plan(engine: Engine, tid: str, day: str) -> None:
    engine.fire(tid, "propose_session", actor="ada", input={"planned_on": day})
    engine.fire(tid, "confirm_session", actor="cas")


def test_version_2_trajectories_keep_running_after_the_upgrade_and_can_migrate(
    database: str,
) -> None:
    clock = FixedClock("2026-09-01T09:00:00+00:00")
    store = SqlStore(database)
    try:
        v1 = Engine([load_definition(V1)], store=store, clock=clock)
        v1.start("teacher-coaching", participants=PEOPLE, actor="cleo", trajectory_id="tc1")
        old = Engine([load_definition(V2)], store=store, clock=clock)
        old.start("teacher-coaching", participants=PEOPLE, actor="cleo", trajectory_id="tc")
        old.start("teacher-coaching", participants=PEOPLE, actor="mira", trajectory_id="new")
        to_coaching(old, "tc", estimate=3)
        for day in DAYS[:2]:
            plan(old, "tc", day)
            old.fire("tc", "hold_session", actor="ada", input={"held_on": day})
    finally:
        store.dispose()

    store = SqlStore(database)
    try:
        new = Engine([load_definition(V3)], store=store, clock=clock)
        assert new.get("tc").definition_version == 2
        assert new.get("new").definition_version == 2
        assert new.get("tc1").definition_version == 1
        # on version 2 the estimate decides nothing: a third session that is not the last
        plan(new, "tc", DAYS[2])
        fired = new.fire("tc", "hold_session", actor="ada", input={"held_on": DAYS[2]})
        assert (fired.definition_version, fired.facts["sessions"]) == (2, 3)
        assert fired.facts["estimated_sessions"] == 3
        # new trajectories take version 3, where the coachee can start one
        started = new.start("teacher-coaching", participants=PEOPLE, actor="cas")
        assert started.definition_version == 3

        moves = {
            tid: (version, problem)
            for tid, version, problem in new.plan_migration("teacher-coaching", 3)
        }
        assert moves["tc"] == moves["new"] == (2, None)
        assert moves["tc1"][0] == 1 and "does not migrate from version 1" in str(moves["tc1"][1])

        # migrating moves the trajectory, its facts and its history stay
        moved = new.migrate("tc", 3, actor="admin")
        assert (moved.definition_version, moved.state) == (3, "coaching")
        assert {k: moved.facts[k] for k in fired.facts} == dict(fired.facts)
        assert moved.facts["proposed_sessions"] is None
        assert moved.history[-1].kind == "migrated"
        assert new.replay("tc") == moved
        # ... and from now on version 3's rules hold: 3 sessions planned, 3 held, so the next
        # one is the last, with the final evaluation
        plan(new, "tc", DAYS[3])
        with pytest.raises(GuardFailed) as exc:
            new.fire("tc", "hold_session", actor="ada", input={"held_on": DAYS[3]})
        assert exc.value.values["estimated_sessions"] == 3
        assert new.get("tc").facts["sessions"] == 3  # nothing changed
        final = {"held_on": DAYS[3], "future_actions": "Dagstart blijven voorbereiden"}
        done = new.fire("tc", "hold_final_session", actor="ada", input=final)
        assert (done.definition_version, done.state, done.facts["sessions"]) == (
            3,
            "final_evaluation",
            4,
        )
        # a trajectory still in the request moves too, and plans more than 5 sessions there
        assert new.migrate("new", actor="admin").definition_version == 3
        to_coaching(new, "new", estimate=7)
        assert new.get("new").facts["estimated_sessions"] == 7

        # version 3 migrates from version 2 only: a version-1 trajectory stays where it is
        with pytest.raises(MigrationError):
            new.migrate("tc1", 3, actor="admin")
        assert new.get("tc1").definition_version == 1
        assert len(new.get("tc1").history) == 1
    finally:
        store.dispose()


# --- version 4: what the AVG asks ----------------------------------------------------------


def test_version_4_validates_with_version_3_and_maps_every_state_onto_itself() -> None:
    results = validate_files([V3, V4])
    assert results[str(V4)] == []
    assert kept_by_omission_only(results[str(V3)])  # version 3 declared no retention
    v3, v4 = load_definition(V3), load_definition(V4)
    assert (v3.version, v4.version) == (3, 4)
    assert v4.migrates_from is not None and v4.migrates_from.version == 3
    assert dict(v4.migrates_from.states) == {state: state for state in v3.states}
    assert dict(v4.migrates_from.facts) == {}
    assert (set(v4.states), set(v4.facts)) == (set(v3.states), set(v3.facts))
    assert migration_problems(v3, v4) == []
    assert migration_warnings(v3, v4) == []


def test_version_4_declares_the_subject_personal_data_and_retention() -> None:
    v3, v4 = load_definition(V3), load_definition(V4)
    assert subject_roles(v3) == [] and retention_of(v3) is None  # version 3 declared none
    assert input_names(v3, personal=True) == set() == fact_names(v3, personal=True)
    assert subject_roles(v4) == ["coachee"]
    assert retention_of(v4) == POLICY_DEFAULTS
    assert fact_names(v4, personal=True) == {
        "request_reason",
        "manager_concern",
        "concerns_and_wishes",
        "working_agreements",
        "learning_goals",
        "future_actions",
        "stop_reason",
    }
    assert input_names(v4, personal=True) == {
        "reason",
        "concern",
        "concerns_and_wishes",
        "working_agreements",
        "goals",
        "notes",
        "future_actions",
        "report",
        "goal_results",  # a judgement of each learning goal
        "progress",
    }
    # dates, numbers of sessions, the approach and to whom was reported stay plain, so the
    # history stays useful for statistics after the personal values are erased
    assert input_names(v4, personal=False) == {
        "held_on",
        "estimated_sessions",
        "approach",
        "period_start",
        "period_end",
        "sessions",
        "planned_on",
        "reported_to",
    }
    assert fact_names(v4, personal=False) == set(v4.facts) - fact_names(v4, personal=True)


def test_version_3_trajectories_in_a_database_migrate_to_version_4_as_they_are(
    database: str,
) -> None:
    clock = FixedClock("2026-09-01T09:00:00+00:00")
    store = SqlStore(database)
    try:
        old = Engine([load_definition(V3)], store=store, clock=clock)
        old.start("teacher-coaching", participants=PEOPLE, actor="cas", trajectory_id="tc")
        to_coaching(old, "tc", estimate=4)
        for day in DAYS[:2]:
            plan(old, "tc", day)
            old.fire("tc", "hold_session", actor="ada", input={"held_on": day, "notes": "Rust"})
        old.start("teacher-coaching", participants=PEOPLE, actor="cleo", trajectory_id="gone")
        old.fire("gone", "stop", actor="cas", input={"reason": "Andere baan"})
    finally:
        store.dispose()

    store = SqlStore(database)
    try:
        new = Engine([load_definition(V4)], store=store, clock=clock)
        before = {tid: new.get(tid) for tid in ("tc", "gone")}
        assert {t.definition_version for t in before.values()} == {3}  # read back from store
        assert before["tc"].facts["learning_goals"] == ("Rust in de klas",)
        assert before["gone"].facts["stop_reason"] == "Andere baan"
        assert sorted(new.plan_migration("teacher-coaching", 4)) == [
            ("gone", 3, None),
            ("tc", 3, None),
        ]
        for tid, state in (("tc", "coaching"), ("gone", "stopped")):
            moved = new.migrate(tid, 4, actor="admin")
            assert (moved.definition_version, moved.state) == (4, state)
            assert dict(moved.facts) == dict(before[tid].facts)
            assert moved.history[-1].kind == "migrated"
            assert new.replay(tid) == moved
        # the session notes stay in the history, for the coachee and the adviser
        notes = [r.input.get("notes") for r in new.history("tc", viewer="cas")]
        assert notes.count("Rust") == 2
        # version 4's rules are version 3's: the third session, then the last one
        plan(new, "tc", DAYS[2])
        held = new.fire("tc", "hold_session", actor="ada", input={"held_on": DAYS[2]})
        assert (held.definition_version, held.facts["sessions"]) == (4, 3)
        plan(new, "tc", DAYS[3])
        final = {"held_on": DAYS[3], "future_actions": "Dagstart blijven voorbereiden"}
        done = new.fire("tc", "hold_final_session", actor="ada", input=final)
        assert (done.state, done.facts["sessions"]) == ("final_evaluation", 4)
    finally:
        store.dispose()
