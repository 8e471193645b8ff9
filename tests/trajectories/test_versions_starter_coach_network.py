"""``starter-coach-network`` versions 2 and 3 next to the versions they replace.

``data/starter-coach-network-v1.yaml`` and ``data/starter-coach-network-v2.yaml`` are
versions 1 and 2 as shipped before. Version 2 keeps both
meetings in one school year, makes the facilitator's tips advice instead of conditions, and
lets the facilitator be a starter coach too (``docs/trajectories/starter-coach-network.md``,
"Version 2"). A database that holds version-1 trajectories keeps running them on version 1
after the upgrade, new trajectories take version 2, and ``migrates_from: {version: 1}`` moves
running ones, in every state, after which version 2's rules hold for them.

``definitions/starter-coach-network.yaml`` is version 3, which declares what the AVG asks and
nothing else: no role is the subject (the trajectory is one school year of a network, about no
one person), the topics, contributions, the hosting participant and a student's choice of
workshop say something about a person (``personal``), and ``retention`` gives coachflow's
policy defaults (the source says nothing about keeping data). A version-2 year in a database
moves to version 3 as it is.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from version_helpers import POLICY_DEFAULTS, fact_names, input_names, retention_of, subject_roles

from coachflow import Engine, FixedClock, GuardFailed, MigrationError, NotPermitted, load_definition
from coachflow.definition.checks import migration_problems
from coachflow.files.loading import validate_files
from coachflow.store import SqlStore

HERE = Path(__file__).parent
V1 = HERE / "data" / "starter-coach-network-v1.yaml"
V2 = HERE / "data" / "starter-coach-network-v2.yaml"
V3 = HERE.parents[1] / "definitions" / "starter-coach-network.yaml"
ID = "starter-coach-network"
FAC, COACH = "p-fac", "p-coach-anna"
PEOPLE = {"facilitator": FAC, "coach": [COACH]}
ROOM = {"location": "POS, 's-Hertogenbosch"}


def test_the_old_and_new_versions_validate_together_without_diagnostics() -> None:
    assert validate_files([V1, V2]) == {str(V1): [], str(V2): []}
    v1, v2 = load_definition(V1), load_definition(V2)
    assert (v1.version, v2.version) == (1, 2)
    assert v2.migrates_from is not None and v2.migrates_from.version == 1
    assert dict(v2.migrates_from.states) == {s: s for s in v1.states}
    assert migration_problems(v1, v2) == []
    assert set(v1.facts) <= set(v2.facts)  # every fact carries over


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/x.db"


def at(clock: FixedClock, day: str) -> None:
    clock.set(datetime.fromisoformat(f"{day}T12:00:00+00:00"))


def prepare(engine: Engine, tid: str, meeting: int) -> None:
    """Version 1's conditions for holding ``meeting``: all three tips."""
    engine.record_activity(tid, f"invite_{meeting}", actor=FAC)
    engine.record_activity(tid, f"inventory_{meeting}", actor=FAC)
    engine.record_activity(tid, f"room_{meeting}", actor=FAC, input=ROOM)


def plan(engine: Engine, tid: str, meeting: int, day: str) -> Any:
    return engine.fire(tid, f"plan_meeting_{meeting}", actor=FAC, input={"date": day})


def test_version_1_trajectories_keep_running_then_migrate_to_version_2(database: str) -> None:
    clock = FixedClock("2026-08-24T12:00:00+00:00")
    store = SqlStore(database)
    try:
        old = Engine([load_definition(V1)], clock=clock, store=store)
        for tid in ("first", "second", "rest"):
            old.start(
                ID, participants=PEOPLE, actor=FAC, trajectory_id=tid, start_date="2026-08-24"
            )
        plan(old, "first", 1, "2026-10-08")
        plan(old, "first", 2, "2027-09-09")  # version 1: the next school year is fine
        plan(old, "second", 1, "2026-10-01")
        plan(old, "second", 2, "2027-03-18")
        plan(old, "rest", 1, "2026-09-10")
        plan(old, "rest", 2, "2026-09-24")
        prepare(old, "second", 1)
        prepare(old, "rest", 1)
        at(clock, "2026-09-10")
        old.fire("rest", "hold_meeting_1", actor=FAC)
        prepare(old, "rest", 2)
        at(clock, "2026-09-24")
        old.fire("rest", "hold_meeting_2", actor=FAC)
        at(clock, "2026-10-01")
        old.fire("second", "hold_meeting_1", actor=FAC)
    finally:
        store.dispose()

    store = SqlStore(database)
    try:
        new = Engine([load_definition(V2)], clock=clock, store=store)
        assert {new.get(t).definition_version for t in ("first", "second", "rest")} == {1}
        assert [new.get(t).state for t in ("first", "second", "rest")] == [
            "first_meeting",
            "second_meeting",
            "rest_of_year",
        ]
        # version 1's rules still hold for them: no meeting without the three tips ...
        at(clock, "2026-10-08")
        with pytest.raises(GuardFailed):
            new.fire("first", "hold_meeting_1", actor=FAC)
        # ... and a second meeting in another school year
        moved_on = plan(new, "first", 2, "2027-09-16")
        assert (moved_on.definition_version, moved_on.facts["meeting_2_date"]) == (
            1,
            date(2027, 9, 16),
        )
        # the facilitator cannot be a coach on version 1
        with pytest.raises(NotPermitted) as refused:
            new.assign("first", "coach", FAC, actor=COACH)
        assert [r.code for r in refused.value.reasons] == ["excluded-roles"]

        # a new trajectory takes version 2, and its rules
        started = new.start(ID, participants={"facilitator": FAC, "coach": [FAC]}, actor=FAC)
        assert started.definition_version == 2
        plan(new, started.id, 1, "2026-10-20")
        with pytest.raises(GuardFailed):
            plan(new, started.id, 2, "2027-09-16")

        # migrating: every state has its place; the facts carry over, the new ones unset
        before = new.get("first")
        first = new.migrate("first", 2, actor="admin")
        assert (first.definition_version, first.state) == (2, "first_meeting")
        assert {k: first.facts[k] for k in before.facts} == dict(before.facts)
        assert first.facts["network_year"] is None
        assert new.replay("first") == first
        second = new.migrate("second", 2, actor="admin")
        rest = new.migrate("rest", 2, actor="admin")
        assert (second.state, rest.state) == ("second_meeting", "rest_of_year")

        # now version 2's rules hold: the meeting needs no tip, and both meetings stay in
        # the school year of the first (its migrated second date is in the next one)
        with pytest.raises(GuardFailed):
            plan(new, "first", 2, "2027-09-23")
        first = new.fire("first", "hold_meeting_1", actor=FAC)
        assert (first.state, first.facts["network_year"]) == ("second_meeting", 2026)
        with pytest.raises(GuardFailed):
            plan(new, "second", 2, "2027-09-09")
        assert new.assign("second", "coach", FAC, actor=COACH).definition_version == 2
        at(clock, "2027-03-18")
        second = new.fire("second", "hold_meeting_2", actor=FAC)  # no tip followed
        assert (second.state, second.facts["meeting_2_held_on"]) == (
            "rest_of_year",
            date(2027, 3, 18),
        )
        at(clock, "2027-09-16")
        with pytest.raises(GuardFailed):  # its second date, kept from version 1, is too late
            new.fire("first", "hold_meeting_2", actor=FAC)
        assert new.fire("first", "close_year", actor=FAC).state == "closed"  # the year is over
        assert new.fire("rest", "close_year", actor=FAC).state == "closed"
        for tid in ("first", "second", "rest"):
            assert new.replay(tid) == new.get(tid)

        # nothing moves twice, and a version-2 trajectory has nowhere to go
        for tid in ("first", started.id):
            with pytest.raises(MigrationError):
                new.migrate(tid, 2, actor="admin")
        assert new.get(started.id).definition_version == 2
    finally:
        store.dispose()


# --- version 3: what the AVG asks ----------------------------------------------------------


def test_version_3_validates_with_version_2_and_maps_every_state_onto_itself() -> None:
    # neither has a confidential field, so version 2 is clean without retention too
    assert validate_files([V2, V3]) == {str(V2): [], str(V3): []}
    v2, v3 = load_definition(V2), load_definition(V3)
    assert (v2.version, v3.version) == (2, 3)
    assert v3.migrates_from is not None and v3.migrates_from.version == 2
    assert dict(v3.migrates_from.states) == {s: s for s in v2.states}
    assert dict(v3.migrates_from.facts) == {}
    assert (set(v3.states), set(v3.facts)) == (set(v2.states), set(v2.facts))
    assert migration_problems(v2, v3) == []


def test_version_3_declares_no_subject_its_personal_data_and_retention() -> None:
    """No role is the subject: "Twee keer per schooljaar komen de starterscoaches in het POS
    bijeen in een leernetwerk." One trajectory is a school year of that network, about no
    one person; the comment above the roles of the definition says why."""
    v2, v3 = load_definition(V2), load_definition(V3)
    assert retention_of(v2) is None and input_names(v2, personal=True) == set()
    assert subject_roles(v3) == []
    assert "# No role is the subject" in V3.read_text(encoding="utf-8")
    assert retention_of(v3) == POLICY_DEFAULTS
    assert fact_names(v3, personal=True) == set()  # dates and the school year
    assert input_names(v3, personal=True) == {"topics", "host", "summary", "workshop"}
    assert input_names(v3, personal=False) == {
        "date",
        "round_1",
        "round_2",
        "round_3",
        "location",
        "at_participant_school",
        "kind",
        "round",
        "name",
        "school",
        "tour",
    }


def test_a_version_2_year_in_a_database_migrates_to_version_3_as_it_is(database: str) -> None:
    clock = FixedClock("2026-08-24T12:00:00+00:00")
    store = SqlStore(database)
    try:
        old = Engine([load_definition(V2)], clock=clock, store=store)
        old.start(ID, participants=PEOPLE, actor=FAC, trajectory_id="year")
        plan(old, "year", 1, "2026-10-08")
        plan(old, "year", 2, "2027-03-18")
        old.record_activity("year", "inventory_1", actor=FAC, input={"topics": "Casus Anna"})
        old.record_activity(
            "year", "contribution", actor=COACH, input={"kind": "case", "summary": "Een starter"}
        )
        at(clock, "2026-10-08")
        old.fire("year", "hold_meeting_1", actor=FAC)
    finally:
        store.dispose()

    store = SqlStore(database)
    try:
        new = Engine([load_definition(V3)], clock=clock, store=store)
        before = new.get("year")
        assert (before.definition_version, before.state) == (2, "second_meeting")
        assert new.plan_migration(ID, 3) == [("year", 2, None)]
        moved = new.migrate("year", 3, actor="admin")
        assert (moved.definition_version, moved.state) == (3, "second_meeting")
        assert dict(moved.facts) == dict(before.facts)
        assert moved.facts["network_year"] == 2026
        assert dict(moved.counts) == dict(before.counts)
        assert moved.history[-1].kind == "migrated"
        assert new.replay("year") == moved
        # version 3's rules are version 2's: the second meeting, then the rest of the year
        at(clock, "2027-03-18")
        held = new.fire("year", "hold_meeting_2", actor=FAC)
        assert (held.definition_version, held.state) == (3, "rest_of_year")
    finally:
        store.dispose()
