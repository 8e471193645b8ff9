"""Version 2 of two built-in definitions, next to the version 1 they replace.

``data/*-v1.yaml`` and ``data/*-v2.yaml`` are the files as shipped before (from git
history); later versions have tests of their own (``test_versions_*.py``). A
database that holds version-1 trajectories keeps running them after an upgrade: the store
remembers every definition version it has seen, so they stay on version 1, while new
trajectories take version 2. ``career-switcher`` 2 declares ``migrates_from: 1``;
``teacher-coaching`` 2 cannot (its learning goals became a list) and says so by not
declaring it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from version_helpers import clean_but_retention

from coachflow import Engine, FixedClock, MigrationError, load_definition
from coachflow.definition.checks import migration_problems
from coachflow.files.loading import validate_files
from coachflow.store import SqlStore

HERE = Path(__file__).parent
CS_V1 = HERE / "data" / "career-switcher-v1.yaml"
TC_V1 = HERE / "data" / "teacher-coaching-v1.yaml"
CS_V2 = HERE / "data" / "career-switcher-v2.yaml"
TC_V2 = HERE / "data" / "teacher-coaching-v2.yaml"
PEOPLE = {"switcher": "sam", "coach": "carla", "manager": "mira", "study_adviser": "sofie"}


def test_the_old_and_new_versions_validate_together_without_diagnostics() -> None:
    """Apart from ``no-retention``: these versions were shipped before ``retention``."""
    results = validate_files([CS_V1, CS_V2, TC_V1, TC_V2])
    assert sorted(results) == sorted(str(p) for p in (CS_V1, CS_V2, TC_V1, TC_V2))
    assert clean_but_retention(results)
    assert results[str(CS_V1)] == results[str(CS_V2)] == []  # no confidential field


def test_career_switcher_2_maps_every_state_of_1() -> None:
    v1, v2 = load_definition(CS_V1), load_definition(CS_V2)
    assert (v1.version, v2.version) == (1, 2)
    assert v2.migrates_from is not None and v2.migrates_from.version == 1
    assert migration_problems(v1, v2) == []


def test_teacher_coaching_2_declares_no_migration() -> None:
    assert load_definition(TC_V2).migrates_from is None
    assert load_definition(TC_V1).facts["learning_goals"].type == "str"
    assert load_definition(TC_V2).facts["learning_goals"].type == "list"


@pytest.fixture
def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'upgrade.db'}"


def test_version_1_trajectories_keep_running_after_the_upgrade(database: str) -> None:
    clock = FixedClock("2026-08-24T09:00:00+00:00")
    store = SqlStore(database)
    old = Engine([load_definition(CS_V1), load_definition(TC_V1)], store=store, clock=clock)
    old.start(
        "career-switcher",
        participants={**PEOPLE, "buddy": "bart"},
        actor="mira",
        facts={"variant": "in_training"},
        trajectory_id="cs",
    )
    old.start(
        "teacher-coaching",
        participants={"coachee": "cas", "adviser": "ada", "manager": "mira", "client": "cleo"},
        actor="cleo",
        trajectory_id="tc",
    )
    store.dispose()

    store = SqlStore(database)
    try:
        new = Engine([load_definition(CS_V2), load_definition(TC_V2)], store=store, clock=clock)
        assert new.get("cs").definition_version == 1
        assert new.get("tc").definition_version == 1
        fired = new.fire(
            "cs", "plan_tripartite_meeting", actor="carla", input={"planned_on": "2026-08-27"}
        )
        assert (fired.definition_version, fired.state) == (1, "start_meeting")
        started = new.start(
            "career-switcher",
            participants={**PEOPLE, "buddy": "bo"},
            actor="mira",
            facts={"variant": "in_training"},
        )
        assert started.definition_version == 2

        # version 1 has no on_assign: a new buddy stays "briefed" there ...
        assert "on_assign" not in CS_V1.read_text(encoding="utf-8")
        # ... and after migrating, version 2's rules hold
        moved = new.migrate("cs", 2, actor="admin")
        assert (moved.definition_version, moved.state) == (2, "start_meeting")
        assert dict(moved.facts) == dict(fired.facts)
        assert new.replay("cs") == moved

        with pytest.raises(MigrationError):
            new.migrate("tc", 2, actor="admin")
        assert new.get("tc").definition_version == 1
    finally:
        store.dispose()
