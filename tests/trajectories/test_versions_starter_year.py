"""``starter-year`` version 2 and ``nt2-consult`` version 2, next to the versions 1 they
replace, what an upgrade of coachflow does to a database that holds version-1 trajectories,
and ``starter-year`` version 3 (the built-in one) next to the version 2 it replaces.

Two contents of each version 1 were shipped: the first (``data/*-v1-first.yaml``, before
separation of duties and confidential flows were checked) and the one with ``excludes``
and ``declassifies`` added in place (``data/*-v1.yaml``). A database may hold either. The
first fails checks added since (``self-escalation``, ``confidential-flow``): read back from
a store it still runs its trajectories (a :class:`StoredDefinitionWarning` says so), no new
trajectory starts on it, and its trajectories migrate to version 2, which passes.
``data/*-v2.yaml`` are the versions 2 as shipped. ``starter-year`` version 3 declares what
the AVG asks (the subject role, personal fields and facts, retention) and nothing else, so
a version-2 year moves to it as it is (``nt2-consult`` version 3: in
``test_versions_nt2_consult.py``).
"""

from __future__ import annotations

import warnings
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

from coachflow import (
    DefinitionError,
    Engine,
    FixedClock,
    MigrationError,
    StoredDefinitionWarning,
    builtin_calendar,
    load_definition,
)
from coachflow.definition.checks import migration_problems
from coachflow.definition.compiled import ADDED_CHECKS, compile_definition
from coachflow.files.definitions import parse_definition
from coachflow.files.loading import validate_files
from coachflow.runtime.decide import Moment, decide_start
from coachflow.runtime.program import Program
from coachflow.runtime.trajectory import begin_decided
from coachflow.store import SqlStore

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
DATA = HERE / "data"
V2 = {"starter-year": DATA / "starter-year-v2.yaml", "nt2-consult": DATA / "nt2-consult-v2.yaml"}
V3 = ROOT / "definitions" / "starter-year.yaml"
STARTER = {"starter": "anna", "coach": "bram", "director": "carla", "buddy": "daan", "board": "eva"}
NT2 = {"teacher": "tess", "manager": "max"}
CALENDAR = builtin_calendar("nl-2026-2027-midden")
CLOCK = "2026-08-31T08:00:00+00:00"


def read(path: Path):  # type: ignore[no-untyped-def]
    """A definition as a store keeps it: parsed, not checked."""
    parsed = parse_definition(path.read_bytes(), str(path))
    assert parsed.definition is not None, parsed.diagnostics
    return parsed.definition


@pytest.mark.parametrize("name", sorted(V2))
def test_version_2_validates_with_version_1_and_maps_every_state(name: str) -> None:
    v1, v2 = DATA / f"{name}-v1.yaml", V2[name]
    results = validate_files([v1, v2])
    assert sorted(results) == sorted([str(v1), str(v2)]) and clean_but_retention(results)
    old, new = load_definition(v1), load_definition(v2)
    assert (old.version, new.version) == (1, 2)
    assert new.migrates_from is not None and new.migrates_from.version == 1
    assert dict(new.migrates_from.states) == {s: s for s in old.states}


@pytest.mark.parametrize("name", sorted(V2))
def test_the_first_version_1_fails_only_the_checks_added_since(name: str) -> None:
    first = DATA / f"{name}-v1-first.yaml"
    problems = validate_files([first])[str(first)]
    errors = {d.code for d in problems if d.is_error}
    assert errors <= ADDED_CHECKS
    assert bool(errors) == (name == "starter-year")  # nt2-consult's first content passes
    if errors:  # given as a file, it is refused
        with pytest.raises(DefinitionError):
            load_definition(first)
    assert compile_definition(read(first), stored=True).passes_later_checks == (not errors)


def stored_database(url: str, first: bool) -> None:
    """A database as coachflow wrote it before version 2: each definition's version 1
    recorded, one trajectory of each running (written through the same decision the
    engine takes, so the records are what the engine of that day wrote)."""
    store = SqlStore(url)
    try:
        moment = Moment(FixedClock(CLOCK).now(), {}, FixedClock(CLOCK))
        for name, people, actor, tid in (
            ("starter-year", STARTER, "carla", "sy"),
            ("nt2-consult", NT2, "tess", "nt"),
        ):
            definition = read(DATA / f"{name}-v1{'-first' if first else ''}.yaml")
            program = Program(compile_definition(definition, stored=True))
            calendar = CALENDAR if name == "starter-year" else None
            tid, record = decide_start(
                program,
                participants=people,
                actor=actor,
                facts=None,
                trajectory_id=tid,
                start_date=None,
                calendar=calendar,
                moment=moment,
            )
            store.remember_definition(definition)
            store.create(begin_decided(tid, record, calendar))
    finally:
        store.dispose()


@pytest.mark.parametrize("first", [False, True], ids=["v1", "v1-first"])
def test_version_1_trajectories_keep_running_after_the_upgrade(tmp_path: Path, first: bool) -> None:
    url = f"sqlite:///{tmp_path / 'upgrade.db'}"
    stored_database(url, first)
    store = SqlStore(url)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            engine = Engine(store=store, clock=FixedClock("2026-09-02T08:00:00+00:00"))
        warned = [w for w in caught if issubclass(w.category, StoredDefinitionWarning)]
        assert len(warned) == (1 if first else 0)
        if first:
            assert "'starter-year' version 1" in str(warned[0].message)
        # the built-in definitions are version 3 now; the stored trajectories stay on 1
        assert engine.definitions["starter-year"].version == 3
        assert engine.definitions["nt2-consult"].version == 3
        assert engine.get("sy").definition_version == engine.get("nt").definition_version == 1
        t = engine.record_activity(
            "sy", "tripartite_w1", actor="carla", input={"work_points": "Rust in de klas"}
        )
        assert (t.definition_version, t.counts["tripartite_w1"]) == (1, 1)
        assert "refuse_permission" in engine.allowed_events("nt", actor="max")
        # new trajectories take version 3; none starts on a version that fails today's checks
        started = engine.start(
            "starter-year", participants=STARTER, actor="carla", calendar=CALENDAR
        )
        assert started.definition_version == 3
        if first:
            with pytest.raises(DefinitionError) as refused:
                engine.start(
                    "starter-year",
                    version=1,
                    participants=STARTER,
                    actor="carla",
                    calendar=CALENDAR,
                )
            assert refused.value.diagnostics[0].code == "stored-only"
        # and the running ones move to version 2 (as shipped), then to version 3, as they are
        for name in ("starter-year", "nt2-consult"):
            engine.add_definition(load_definition(V2[name]))
        for tid in ("sy", "nt"):
            before = engine.get(tid)
            for version in (2, 3):
                moved = engine.migrate(tid, version, actor="admin")
                assert moved.definition_version == version and moved.state == before.state
                assert dict(moved.facts) == dict(before.facts)
                assert engine.replay(tid) == moved
    finally:
        store.dispose()


def test_a_trajectory_without_a_christmas_holiday_does_not_move_to_version_2(
    tmp_path: Path,
) -> None:
    """Version 2 reads the calendar's Kerstvakantie: a version-1 year started without a
    calendar keeps running on version 1 and says why it cannot move."""
    store = SqlStore(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        engine = Engine(
            [load_definition(DATA / "starter-year-v1.yaml"), load_definition(V2["starter-year"])],
            store=store,
            clock=FixedClock(CLOCK),
        )
        t = engine.start("starter-year", version=1, participants=STARTER, actor="carla")
        plan = engine.plan_migration("starter-year", 2)
        assert plan == [(t.id, 1, plan[0][2])] and "'kerstvakantie'" in str(plan[0][2])
        with pytest.raises(MigrationError, match="has no school calendar"):
            engine.migrate(t.id, 2, actor="admin")
        assert engine.get(t.id).definition_version == 1
    finally:
        store.dispose()


def test_a_year_whose_coach_is_its_director_does_not_move_until_reassigned(
    tmp_path: Path,
) -> None:
    """The first content of version 1 let one person be coach and director; version 2 keeps
    them apart ("De coach brengt geen verslag uit aan de directeur als de leerkracht hier
    geen toestemming voor gegeven heeft"), so such a year does not move until one of the two
    roles is someone else's: a migration never binds one person to two excluding roles."""
    url = f"sqlite:///{tmp_path / 'twofold.db'}"
    store = SqlStore(url)
    try:
        moment = Moment(FixedClock(CLOCK).now(), {}, FixedClock(CLOCK))
        definition = read(DATA / "starter-year-v1-first.yaml")
        program = Program(compile_definition(definition, stored=True))
        twofold = {**STARTER, "coach": "carla"}  # carla is the director too
        tid, record = decide_start(
            program, participants=twofold, actor="carla", facts=None, trajectory_id="two",
            start_date=None, calendar=CALENDAR, moment=moment,
        )  # fmt: skip
        store.remember_definition(definition)
        store.create(begin_decided(tid, record, CALENDAR))
    finally:
        store.dispose()
    store = SqlStore(url)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StoredDefinitionWarning)
            engine = Engine(
                [load_definition(V2["starter-year"])],
                store=store,
                clock=FixedClock("2026-09-02T08:00:00+00:00"),
            )
        [(_, _, problem)] = engine.plan_migration("starter-year", 2)
        assert problem is not None and "'carla' may not be both" in problem
        with pytest.raises(MigrationError, match="keeps roles apart"):
            engine.migrate("two", 2, actor="admin")
        assert engine.get("two").definition_version == 1
        engine.assign("two", "coach", "bram", actor="carla", replacing="carla")
        moved = engine.migrate("two", 2, actor="admin")
        assert moved.definition_version == 2 and moved.participants["coach"] == ("bram",)
    finally:
        store.dispose()


def test_no_trajectory_moves_to_a_stored_version_that_fails_todays_checks(
    tmp_path: Path,
) -> None:
    """A stored version that fails a check added since is for the trajectories already on
    it: no trajectory starts on it, and none is migrated onto it either."""
    v1 = read(DATA / "starter-year-v1.yaml")
    first = read(DATA / "starter-year-v1-first.yaml")
    as_2 = first.model_copy(update={"version": 2, "migrates_from": None})
    # the lenient compile of a stored version never answers a strict one
    assert not compile_definition(as_2, stored=True).passes_later_checks
    with pytest.raises(DefinitionError):
        compile_definition(as_2)
    url = f"sqlite:///{tmp_path / 'onto.db'}"
    store = SqlStore(url)
    try:
        store.remember_definition(as_2)
    finally:
        store.dispose()
    store = SqlStore(url)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StoredDefinitionWarning)
            engine = Engine([v1], store=store, clock=FixedClock(CLOCK))
        t = engine.start(
            "starter-year", version=1, participants=STARTER, actor="carla", calendar=CALENDAR
        )
        for attempt in (
            lambda: engine.migrate(t.id, 2, actor="admin"),
            lambda: engine.plan_migration("starter-year", 2),
        ):
            with pytest.raises(DefinitionError) as refused:
                attempt()
            assert refused.value.diagnostics[0].code == "stored-only"
        assert engine.get(t.id).definition_version == 1
    finally:
        store.dispose()


# --- starter-year version 3: what the AVG asks ---------------------------------------------


def test_starter_year_3_validates_with_version_2_and_maps_every_state() -> None:
    v2 = V2["starter-year"]
    results = validate_files([v2, V3])
    assert results[str(V3)] == []
    assert kept_by_omission_only(results[str(v2)])  # version 2 declared no retention
    old, new = load_definition(v2), load_definition(V3)
    assert (old.version, new.version) == (2, 3)
    assert new.migrates_from is not None and new.migrates_from.version == 2
    assert dict(new.migrates_from.states) == {s: s for s in old.states}
    assert dict(new.migrates_from.facts) == {}
    assert (set(new.states), set(new.facts)) == (set(old.states), set(old.facts))
    assert migration_problems(old, new) == []


def test_starter_year_3_declares_the_subject_personal_data_and_retention() -> None:
    old, new = load_definition(V2["starter-year"]), load_definition(V3)
    assert subject_roles(old) == [] and retention_of(old) is None  # version 2 declared none
    assert input_names(old, personal=True) == set()
    assert subject_roles(new) == ["starter"]
    assert retention_of(new) == POLICY_DEFAULTS
    assert fact_names(new, personal=True) == {"advice"}  # a judgement of the starter
    assert input_names(new, personal=True) == {
        "motivation",
        "work_points",
        "pop",
        "plan",
        "notes",
        "observations",
        "agreements",
        "report",
        "evaluation",
        "adjusted_pop",
        "starter_report",
        "coach_report",
        "director_observations",
        "class_management",
        "interaction",
        "leadership",
        "contact_moments",
        "question",
    }
    # a date and the kind of contact stay plain, for statistics after erasure
    assert input_names(new, personal=False) == {"planned_on", "form"}


def test_a_version_2_year_in_a_database_migrates_to_version_3_as_it_is(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    clock = FixedClock(CLOCK)
    store = SqlStore(url)
    try:
        old = Engine([load_definition(V2["starter-year"])], store=store, clock=clock)
        old.start(
            "starter-year",
            participants=STARTER,
            actor="carla",
            calendar=CALENDAR,
            trajectory_id="sy",
        )
        old.record_activity("sy", "tripartite_w1", actor="carla", input={"work_points": "Rust"})
        old.record_activity("sy", "pop_w1", actor="anna", input={"pop": "Klassenmanagement"})
        old.grant_consent("sy", "share_reports", actor="anna")
        old.record_activity(
            "sy", "announce_class_visit", actor="bram", input={"planned_on": "2026-09-08"}
        )
        old.record_activity(
            "sy", "class_visit_w2", actor="bram", input={"observations": "Duidelijke instructie"}
        )
        before = old.get("sy")
    finally:
        store.dispose()

    store = SqlStore(url)
    try:
        new = Engine([load_definition(V3)], store=store, clock=clock)
        assert new.get("sy").definition_version == 2  # version 2 is read back from the store
        assert new.plan_migration("starter-year", 3) == [("sy", 2, None)]
        moved = new.migrate("sy", 3, actor="admin")
        assert (moved.definition_version, moved.state) == (3, before.state)
        assert dict(moved.facts) == dict(before.facts)
        assert dict(moved.counts) == dict(before.counts)
        assert moved.history[-1].kind == "migrated"
        assert new.replay("sy") == moved
        # what was recorded stays, for the readers it was written for
        [visit] = [r for r in new.history("sy", viewer="anna") if r.event == "class_visit_w2"]
        assert visit.input["observations"] == "Duidelijke instructie"
        # version 3's rules are version 2's: the year goes on
        t = new.record_activity(
            "sy", "follow_up_w2", actor="bram", input={"agreements": "Dagstart voorbereiden"}
        )
        assert (t.definition_version, t.counts["follow_up_w2"]) == (3, 1)
    finally:
        store.dispose()
