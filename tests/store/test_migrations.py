"""Definition versions and migrations (issue 7): ``migrates_from`` validation,
``engine.migrate``, ``plan_migration``, ``coachflow migrate`` and version pinning.

The engine tests run on the in-memory store, SQLite (a fresh file) and PostgreSQL
(conftest's ``postgres_store``, emptied; skipped loudly when no server is configured
outside CI). The command-line tests use an SQLite file, as the CLI's embedded default.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import empty_postgres
from conftest import run_cli as cli

import coachflow
from coachflow import (
    DefinitionError,
    Engine,
    FixedClock,
    MemoryStore,
    MigrationError,
    Trajectory,
    UnknownDefinition,
    VersionConflict,
    replay,
)
from coachflow.files.loading import validate_files
from coachflow.store import SqlStore

T0 = "2026-09-01T09:00:00+00:00"

V1 = """\
coachflow: 1
id: mig
version: 1
roles:
  coach: {required: true}
  teacher: {required: true}
  observer: {assigned_by: [coach]}
started_by: [coach]
facts:
  sessions: {type: int, default: 0}
  topic: {type: str}
  level: {type: enum, values: [low, high]}
  started_on: {type: date}
  remark: {type: str}
consents:
  share: {granted_by: teacher}
initial: request
states:
  request: {}
  coaching: {}
  review: {}
  done: {final: true}
transitions:
  - event: accept
    from: request
    to: coaching
    by: [coach]
    input:
      on: {type: date, required: true}
    set:
      started_on: input.on
  - event: session
    from: coaching
    to: coaching
    by: [coach]
    input:
      topic: {type: str}
      level: {type: enum, values: [low, high]}
    set:
      sessions: sessions + 1
      topic: input.topic
      level: input.level
  - event: review
    from: coaching
    to: review
    by: [coach]
    set:
      remark: '"reviewed"'
  - event: finish
    from: review
    to: done
    by: [teacher]
"""

V2 = """\
coachflow: 1
id: mig
version: 2
roles:
  coach: {required: true}
  teacher: {required: true}
started_by: [coach]
facts:
  session_count: {type: int, default: 0}
  topic: {type: str}
  level: {type: enum, values: [low, medium, high]}
  started_on: {type: date}
  priority: {type: int, default: 3}
consents:
  share: {granted_by: teacher}
  video: {granted_by: teacher}
migrates_from:
  version: 1
  states:
    request: intake
    coaching: sessions
    review: sessions
    done: completed
  facts:
    sessions: session_count
initial: intake
states:
  intake: {}
  sessions: {}
  completed: {final: true}
transitions:
  - event: begin
    from: intake
    to: sessions
    by: [coach]
    set:
      started_on: date("2026-09-01")
  - event: session
    from: sessions
    to: sessions
    by: [coach]
    input:
      topic: {type: str}
      level: {type: enum, values: [low, medium, high]}
    set:
      session_count: session_count + 1
      topic: input.topic
      level: input.level
      priority: priority - 1
  - event: finish
    from: sessions
    to: completed
    by: [teacher]
    when: consent.share or consent.video
"""

V3 = """\
coachflow: 1
id: mig
version: 3
roles:
  coach: {required: true}
  teacher: {required: true}
  manager: {required: true}
started_by: [manager]
facts:
  session_count: {type: int, default: 0}
migrates_from:
  version: 2
  states:
    intake: running
    sessions: running
    completed: closed
initial: running
states:
  running: {}
  closed: {final: true}
transitions:
  - event: close
    from: running
    to: closed
    by: [manager, coach]
    set:
      session_count: session_count + 1
"""

PEOPLE = {"coach": "cas", "teacher": "tess"}


def line_of(text: str, line: str, *, after: str | None = None) -> int:
    """The 1-based number of the first line equal to ``line`` (after the line ``after``)."""
    lines = text.splitlines()
    start = lines.index(after) + 1 if after is not None else 0
    return lines.index(line, start) + 1


def write(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


def definitions(*texts: str) -> list[coachflow.Definition]:
    return [coachflow.loads_definition(t) for t in texts]


# --- validating migrates_from ----------------------------------------------------------------


def errors_of(path: Path) -> list[tuple[str, int, str]]:
    """(code, line, message) of every error of one file, validated with its directory."""
    results = validate_files(sorted(path.parent.glob("*.yaml")))
    return [(d.code, d.line, d.message) for d in results[str(path)] if d.is_error]


def test_a_good_map_validates_clean(tmp_path: Path) -> None:
    folder = write(tmp_path / "defs", v1=V1, v2=V2, v3=V3)
    results = validate_files(sorted(folder.glob("*.yaml")))
    assert all(not d.is_error for ds in results.values() for d in ds), results
    done = cli("validate", str(folder))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 errors" in done.stdout
    engine = Engine(folder)
    assert engine.definition("mig").version == 3
    assert engine.definition("mig", 1).version == 1


def test_an_unmapped_old_state_is_a_migration_map_error_with_its_line(tmp_path: Path) -> None:
    bad = V2.replace("    review: sessions\n", "")
    folder = write(tmp_path / "defs", v1=V1, v2=bad)
    v2 = folder / "v2.yaml"
    first = line_of(bad, "  states:", after="migrates_from:")
    last = line_of(bad, "    done: completed")
    [(code, line, message)] = errors_of(v2)
    assert code == "migration-map"
    assert first <= line <= last  # within the migrates_from.states map
    assert "review" in message and "not mapped" in message
    assert errors_of(folder / "v1.yaml") == []

    done = cli("validate", str(folder))
    assert done.returncode == 1
    assert f"{v2}:{line}:" in done.stdout and "error migration-map" in done.stdout
    as_json = cli("validate", str(folder), "--format", "json")
    assert as_json.returncode == 1
    report = {f["path"]: f for f in json.loads(as_json.stdout)["files"]}
    [diagnostic] = report[str(v2)]["diagnostics"]
    assert (diagnostic["code"], diagnostic["line"]) == ("migration-map", line)
    assert report[str(v2)]["valid"] is False and report[str(folder / "v1.yaml")]["valid"]

    # a single file cannot know the older version: no migration-map then
    codes = [d.code for d in coachflow.validate_file(v2) if d.is_error]
    assert codes == []
    # an Engine loading the directory refuses it, naming the file and line
    with pytest.raises(DefinitionError) as raised:
        Engine(folder)
    found = [(d.code, d.path, d.line) for d in raised.value.diagnostics]
    assert found == [("migration-map", str(v2), line)]
    # and so does one given both versions as objects
    with pytest.raises(DefinitionError) as raised:
        Engine(definitions(V1, bad))
    assert [d.code for d in raised.value.diagnostics] == ["migration-map"]


def test_a_state_the_old_version_does_not_have_is_reported_at_its_line(tmp_path: Path) -> None:
    bad = V2.replace("    done: completed\n", "    done: completed\n    planning: intake\n")
    folder = write(tmp_path / "defs", v1=V1, v2=bad)
    [(code, line, message)] = errors_of(folder / "v2.yaml")
    assert (code, line) == ("migration-map", line_of(bad, "    planning: intake"))
    assert "planning" in message


def test_a_renamed_fact_of_another_type_is_reported_at_its_line(tmp_path: Path) -> None:
    bad = V2.replace(
        "  session_count: {type: int, default: 0}", "  session_count: {type: str}"
    ).replace("      session_count: session_count + 1\n", "")
    folder = write(tmp_path / "defs", v1=V1, v2=bad)
    [(code, line, message)] = errors_of(folder / "v2.yaml")
    assert code == "migration-map"
    assert line == line_of(bad, "    sessions: session_count")
    assert "'sessions' (int)" in message and "'session_count' (str)" in message
    done = cli("validate", str(folder))
    assert done.returncode == 1
    assert f"{folder / 'v2.yaml'}:{line}:" in done.stdout


def test_a_fact_kept_under_its_name_must_keep_its_type(tmp_path: Path) -> None:
    bad = V2.replace("  topic: {type: str}", "  topic: {type: int}").replace(
        "      topic: input.topic\n", ""
    )
    folder = write(tmp_path / "defs", v1=V1, v2=bad)
    [(code, line, message)] = errors_of(folder / "v2.yaml")
    assert (code, line) == ("migration-map", line_of(bad, "  topic: {type: int}"))
    assert "topic" in message
    # an enum may gain values (low, high -> low, medium, high) but not lose them
    narrowed = V2.replace("values: [low, medium, high]", "values: [low, medium]")
    folder = write(tmp_path / "narrowed", v1=V1, v2=narrowed)
    assert [c for c, _, _ in errors_of(folder / "v2.yaml")] == ["migration-map"]


def test_a_single_file_checks_the_targets_and_the_version(tmp_path: Path) -> None:
    bad = V2.replace("    done: completed", "    done: finished").replace(
        "    sessions: session_count", "    sessions: count_of_sessions"
    )
    path = write(tmp_path / "one", v2=bad) / "v2.yaml"
    found = {(d.code, d.line) for d in coachflow.validate_file(path) if d.is_error}
    assert found == {
        ("unknown-state", line_of(bad, "    done: finished")),
        ("unknown-fact", line_of(bad, "    sessions: count_of_sessions")),
    }
    not_older = V2.replace("  version: 1", "  version: 2")
    path = write(tmp_path / "two", v2=not_older) / "v2.yaml"
    found = {(d.code, d.line) for d in coachflow.validate_file(path) if d.is_error}
    assert found == {("migration-map", line_of(not_older, "  version: 2"))}


# --- stores ----------------------------------------------------------------------------------


STORE_KINDS = ["memory", "sqlite", "postgresql"]
"""The stores the ``store`` fixture (tests/conftest.py) makes, one test run each."""


def engine_for(store: Any, *texts: str, clock: FixedClock | None = None) -> Engine:
    return Engine(definitions(*texts), store=store, clock=clock or FixedClock(T0))


def start(engine: Engine, tid: str, version: int | None = 1, **people: Any) -> Trajectory:
    participants = {**PEOPLE, **people}
    return engine.start(
        "mig", participants=participants, actor="cas", trajectory_id=tid, version=version
    )


def coaching(engine: Engine, tid: str, **people: Any) -> Trajectory:
    """A v1 trajectory in 'coaching' with two sessions and the consent granted."""
    start(engine, tid, **people)
    engine.fire(tid, "accept", actor="cas", input={"on": "2026-09-02"})
    engine.fire(tid, "session", actor="cas", input={"topic": "x", "level": "low"})
    engine.fire(tid, "session", actor="cas", input={"topic": "y", "level": "high"})
    return engine.grant_consent(tid, "share", actor="tess")


def history_count(store: Any, tid: str) -> int:
    if isinstance(store, SqlStore):
        return len(store.history_of(tid))
    return len(store.load(tid).history)


def unchanged(engine: Engine, tid: str, before: Trajectory) -> None:
    now = engine.get(tid)
    assert now == before
    assert now.definition_version == before.definition_version
    assert history_count(engine.store, tid) == before.version + 1


# --- engine.migrate --------------------------------------------------------------------------


def test_migrate_moves_a_trajectory_along_the_map(store: Any) -> None:
    clock = FixedClock(T0)
    engine = engine_for(store, V1, V2, clock=clock)
    before = coaching(engine, "a")
    clock.advance(days=1)
    moved = engine.migrate("a", 2, actor="admin")

    assert moved.definition_version == 2
    assert moved.state == "sessions"  # coaching -> sessions
    assert dict(moved.facts) == {
        "session_count": 2,  # renamed from 'sessions'
        "topic": "y",
        "level": "high",
        "started_on": date(2026, 9, 2),
        "priority": 3,  # new: its default
    }  # 'remark' is gone
    assert dict(moved.consents) == {"share": True, "video": False}
    assert dict(moved.participants) == {"coach": ("cas",), "teacher": ("tess",)}
    assert moved.version == before.version + 1
    record = moved.history[-1]
    assert (record.seq, record.kind, record.actor, record.role) == (
        moved.version,
        "migrated",
        "admin",
        None,
    )
    assert (record.source, record.target) == ("coaching", "sessions")
    assert record.input["from_version"] == 1 and record.input["to_version"] == 2
    assert dict(record.changes) == dict(moved.facts)
    assert record.at == clock.now()

    got = engine.get("a")
    assert got.as_dict() == moved.as_dict()
    assert got.history[:-1] == before.history  # the old records stay as they were
    assert engine.replay("a") == got
    assert replay("a", got.history) == got
    assert [r.seq for r in got.history] == list(range(got.version + 1))
    if isinstance(store, SqlStore):
        assert replay("a", store.history_of("a")) == store.load("a")
        assert store.find(definition_id="mig", state="sessions")[0].definition_version == 2
        assert [t.id for t in store.find(participant="tess")] == ["a"]

    # it runs on version 2 now
    t = engine.fire("a", "session", actor="cas", input={"topic": "z", "level": "medium"})
    assert t.facts["session_count"] == 3 and t.facts["priority"] == 2
    assert engine.allowed_events("a", actor="tess") == ["finish"]
    assert engine.fire("a", "finish", actor="tess").state == "completed"
    assert engine.replay("a") == engine.get("a")


@pytest.mark.parametrize(
    "kind",
    [
        "memory",
        pytest.param(
            "sqlite",
            marks=(),
        ),
        pytest.param(
            "postgresql",
            marks=(),
        ),
    ],
)
def test_the_migrated_record_reads_back_as_it_was_written(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> None:
    if kind == "memory":
        store: Any = MemoryStore()
    elif kind == "sqlite":
        shutil.copyfile(sqlite_template, tmp_path / "rb.db")
        store = SqlStore(f"sqlite:///{tmp_path / 'rb.db'}", upgrade=False)
        request.addfinalizer(store.dispose)
    else:
        store = empty_postgres(request.getfixturevalue("postgres_store"))
    engine = engine_for(store, V1, V2)
    coaching(engine, "a")
    moved = engine.migrate("a", 2, actor="admin")
    assert engine.get("a").history[-1] == moved.history[-1]
    assert engine.get("a") == moved


def test_migrating_a_final_trajectory_and_one_just_started(store: Any) -> None:
    engine = engine_for(store, V1, V2)
    start(engine, "fresh")
    assert engine.migrate("fresh", actor="admin").state == "intake"  # default: the newest
    coaching(engine, "ended")
    engine.fire("ended", "review", actor="cas")
    engine.fire("ended", "finish", actor="tess")
    moved = engine.migrate("ended", 2, actor="admin")
    assert moved.state == "completed" and moved.facts["session_count"] == 2
    for tid in ("fresh", "ended"):
        assert engine.replay(tid).as_dict() == engine.get(tid).as_dict()


def test_migration_errors_change_nothing(store: Any) -> None:
    engine = engine_for(store, V1, V2, V3)
    held = coaching(engine, "held", observer="olga")  # 'observer' is gone in version 2
    plain = coaching(engine, "plain")

    with pytest.raises(MigrationError, match="observer"):
        engine.migrate("held", 2, actor="admin")
    unchanged(engine, "held", held)

    with pytest.raises(MigrationError, match="not newer"):
        engine.migrate("plain", 1, actor="admin")
    with pytest.raises(MigrationError, match="does not migrate from version 1"):
        engine.migrate("plain", 3, actor="admin")  # version 3 migrates from 2
    with pytest.raises(MigrationError):
        engine.migrate("plain", actor="admin")  # the newest is 3
    with pytest.raises(UnknownDefinition):
        engine.migrate("plain", 9, actor="admin")
    with pytest.raises(VersionConflict):
        engine.migrate("plain", 2, actor="admin", expected_version=plain.version - 1)
    unchanged(engine, "plain", plain)

    on_two = engine.migrate("plain", 2, actor="admin")
    with pytest.raises(MigrationError, match="manager"):  # required in version 3, unbound
        engine.migrate("plain", 3, actor="admin")
    with pytest.raises(MigrationError, match="not newer"):
        engine.migrate("plain", 2, actor="admin")
    assert engine.get("plain").as_dict() == on_two.as_dict()
    assert history_count(store, "plain") == on_two.version + 1

    # the observer leaves, and then it moves
    engine.unassign("held", "observer", "olga", actor="cas")
    assert engine.migrate("held", 2, actor="admin").definition_version == 2


def test_plan_migration_tells_which_trajectories_can_move(store: Any) -> None:
    engine = engine_for(store, V1, V2, V3)
    coaching(engine, "a")
    coaching(engine, "b", observer="olga")
    start(engine, "c", version=2)
    start(engine, "d")
    engine.fire("d", "accept", actor="cas", input={"on": "2026-09-02"})
    engine.fire("d", "review", actor="cas")
    engine.fire("d", "finish", actor="tess")
    before = {tid: engine.get(tid) for tid in "abcd"}

    plan = sorted(engine.plan_migration("mig", 2))
    assert [(tid, version) for tid, version, _ in plan] == [("a", 1), ("b", 1), ("d", 1)]
    problems = {tid: problem for tid, _, problem in plan}
    assert problems["a"] is None and problems["d"] is None
    assert problems["b"] is not None and "observer" in problems["b"]

    to_three = {tid: (v, p) for tid, v, p in engine.plan_migration("mig")}
    assert sorted(to_three) == ["a", "b", "c", "d"]
    assert all(p is not None for _, p in to_three.values())
    assert "manager" in (to_three["c"][1] or "")
    assert "does not migrate from version 1" in (to_three["a"][1] or "")
    assert engine.plan_migration("mig", 1) == []
    for tid, t in before.items():
        unchanged(engine, tid, t)


# --- pinned versions -------------------------------------------------------------------------


def test_a_trajectory_keeps_its_version_when_a_new_one_is_added(store: Any, tmp_path: Path) -> None:
    folder = write(tmp_path / "defs", v1=V1)
    first = Engine(folder, store=store, clock=FixedClock(T0))
    start(first, "old", version=None)
    first.fire("old", "accept", actor="cas", input={"on": "2026-09-02"})
    assert first.get("old").definition_version == 1

    write(folder, v2=V2)
    later = Engine(folder, store=store, clock=FixedClock(T0))
    assert later.definition("mig").version == 2
    old = later.get("old")
    assert (old.definition_version, old.state) == (1, "coaching")
    assert later.allowed_events("old", actor="cas") == ["session", "review"]  # version 1's
    t = later.fire("old", "session", actor="cas", input={"topic": "t"})
    assert t.definition_version == 1 and t.facts["sessions"] == 1
    assert later.fire("old", "review", actor="cas").facts["remark"] == "reviewed"

    new = start(later, "new", version=None)
    assert (new.definition_version, new.state) == (2, "intake")
    assert later.fire("new", "begin", actor="cas").state == "sessions"
    assert start(later, "explicit", version=1).definition_version == 1
    assert later.replay("old") == later.get("old")

    moved = later.migrate("old", actor="admin")
    assert (moved.definition_version, moved.state) == (2, "sessions")
    assert moved.facts["session_count"] == 1


# --- coachflow migrate -----------------------------------------------------------------------


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, Path]:
    """An SQLite file with trajectories of version 1 ('a' can move, 'b' cannot, 'c' is
    on version 2 already) and a directory holding versions 1 and 2."""
    folder = write(tmp_path / "defs", v1=V1)
    db = tmp_path / "coachflow.db"
    store = SqlStore(f"sqlite:///{db}")
    try:
        engine = Engine(folder, store=store, clock=FixedClock(T0))
        coaching(engine, "a")
        coaching(engine, "b", observer="olga")
        write(folder, v2=V2)
        engine = Engine(folder, store=store, clock=FixedClock(T0))
        start(engine, "c", version=None)
    finally:
        store.dispose()
    return folder, db


def snapshot(db: Path) -> dict[str, Trajectory]:
    store = SqlStore(f"sqlite:///{db}", upgrade=False)
    try:
        return {tid: store.load(tid) for tid in store.ids()}
    finally:
        store.dispose()


def histories(db: Path) -> dict[str, Any]:
    store = SqlStore(f"sqlite:///{db}", upgrade=False)
    try:
        return {tid: store.history_of(tid) for tid in store.ids()}
    finally:
        store.dispose()


def test_cli_migrate_dry_run_reports_and_changes_nothing(stored: tuple[Path, Path]) -> None:
    folder, db = stored
    before = histories(db)
    done = cli("migrate", "mig", "--dry-run", "--definitions", str(folder), "--db", str(db))
    assert done.returncode == 1, done.stderr  # 'b' cannot move
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["a", "b"]
    assert "would move" in lines[0] and "v1 -> v2" in lines[0]
    assert "cannot move" in lines[1] and "observer" in lines[1]
    assert lines[-1] == "1 of 2 trajectories would move to version 2"
    assert histories(db) == before

    options = ("--definitions", str(folder), "--db", str(db), "--format", "json")
    as_json = cli("migrate", "mig", "--dry-run", *options)
    assert as_json.returncode == 1
    data = json.loads(as_json.stdout)
    assert data["dry_run"] is True and data["to_version"] == 2 and data["moved"] == []
    rows = {r["id"]: r for r in data["trajectories"]}
    assert sorted(rows) == ["a", "b"]
    assert rows["a"]["can_move"] is True and rows["a"]["problem"] is None
    assert rows["b"]["can_move"] is False and "observer" in rows["b"]["problem"]
    assert rows["a"]["from_version"] == 1
    assert histories(db) == before


def test_cli_migrate_moves_what_can_move(stored: tuple[Path, Path]) -> None:
    folder, db = stored
    before = snapshot(db)
    done = cli("migrate", "mig", "--definitions", str(folder), "--db", str(db), "--as", "ops")
    assert done.returncode == 1  # 'b' could not move
    assert "a  v1 -> v2  moved" in done.stdout
    assert "1 of 2 trajectories moved to version 2" in done.stdout
    after = snapshot(db)
    assert (after["a"].definition_version, after["a"].state) == (2, "sessions")
    assert after["a"].facts["session_count"] == 2
    last = after["a"].history[-1]
    assert (last.kind, last.actor) == ("migrated", "ops")
    assert replay("a", after["a"].history) == after["a"]
    assert after["b"] == before["b"]
    assert after["c"] == before["c"]

    # once 'olga' is unassigned, 'b' moves too, and nothing is left to do
    store = SqlStore(f"sqlite:///{db}", upgrade=False)
    try:
        Engine(folder, store=store).unassign("b", "observer", "olga", actor="cas")
    finally:
        store.dispose()
    done = cli("migrate", "mig", "--definitions", str(folder), "--db", str(db))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 of 1 trajectories moved to version 2" in done.stdout
    done = cli("migrate", "mig", "--definitions", str(folder), "--db", str(db))
    assert done.returncode == 0
    assert "0 of 0" in done.stdout
    assert {t.definition_version for t in snapshot(db).values()} == {2}


def test_cli_start_takes_the_newest_version_and_older_ones_keep_running(
    stored: tuple[Path, Path],
) -> None:
    folder, db = stored
    common = ("--definitions", str(folder), "--db", str(db), "--format", "json")
    roles = ("--role", "coach=cas", "--role", "teacher=tess")
    done = cli("start", "mig", "--as", "cas", *roles, "--id", "n", *common)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["definition_version"] == 2
    done = cli("fire", "a", "review", "--as", "cas", *common)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["definition_version"], data["state"]) == (1, "review")
    # with version 1's file gone, its stored content keeps 'a' running
    (folder / "v1.yaml").unlink()
    done = cli("fire", "a", "finish", "--as", "tess", *common)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "done"
    done = cli("migrate", "mig", "--dry-run", *common[:4])
    assert "a  v1 -> v2  would move" in done.stdout


def test_cli_migrate_of_an_unknown_definition_is_one_line(stored: tuple[Path, Path]) -> None:
    folder, db = stored
    done = cli("migrate", "nope", "--definitions", str(folder), "--db", str(db))
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1 and "nope" in done.stderr
