"""The store (issue 7): ``SqlStore`` on SQLite and PostgreSQL, next to the ``MemoryStore``.

Store tests run on every backend they apply to: ``memory`` (``coachflow.MemoryStore``),
``sqlite`` (a fresh file, copied from conftest's migrated template) and ``postgresql``
(conftest's session-wide ``postgres_store``, emptied with ``empty_postgres``; skipped loudly
when no server is configured outside CI). No mocks: "two engines on the same database" are
two ``SqlStore`` objects on one URL, and an interleaving is made by a registered predicate
that, while one engine is in the middle of a change, lets the other engine change the same
trajectory.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any

import pytest
from conftest import run_cli as _cli
from sqlalchemy import create_engine, insert, inspect, select

import coachflow
from coachflow import (
    REDACTED,
    ConsentError,
    DefinitionError,
    Engine,
    FixedClock,
    HistoryRecord,
    MemoryStore,
    Trajectory,
    TrajectoryExists,
    TransitionRejected,
    UnknownTrajectory,
    VersionConflict,
    replay,
)
from coachflow.calendar import week_end
from coachflow.files.calendars import builtin_calendar
from coachflow.files.plugins import load_registered
from coachflow.store import SCHEMA_REVISION, SqlStore, StoreError
from coachflow.store import history as history_table
from coachflow.store import participants as participants_table
from coachflow.store import trajectories as trajectories_table
from coachflow.testing import participants_for

STORE_KINDS = ["memory", "sqlite", "postgresql"]
"""The stores the ``store`` fixture (tests/conftest.py) makes, one test run each."""
SQL_BACKENDS = ["sqlite", "postgresql"]
BUILTIN_IDS = sorted(d.id for d in load_registered())
T0 = "2026-09-01T09:00:00+00:00"
NO_SERVER = "NO POSTGRESQL SERVER: set COACHFLOW_TEST_POSTGRES_URL (see .ci/postgres.sh)"

DEMO_YAML = """\
coachflow: 1
id: store-demo
version: 1
roles:
  director: {required: true}
  coach: {required: true, assigned_by: [director], max: 2, excludes: [director]}
  starter: {required: true}
  buddy: {assigned_by: [director, coach]}
started_by: [director]
predicates: [ready]
consents:
  report: {granted_by: starter}
facts:
  sessions: {type: int, default: 0, min: 0}
  held_on: {type: date}
  deadline: {type: date, default: "2026-12-01"}
  note: {type: str}
  track: {type: enum, values: [fast, slow], default: slow}
  closed: {type: bool, default: false}
initial: coaching
states:
  coaching: {}
  closing: {}
  completed: {final: true}
activities:
  visit_w2:
    by: [coach]
    during: [coaching]
    due: {week: 2}
    input:
      agreements:
        type: str
        required: true
        visible_to: [coach, starter]
        disclose_to: {director: report}
      held: {type: date}
  visit_w4:
    by: [coach]
    during: [coaching]
    due: {week: 4}
  evaluation:
    by: [coach, starter]
    due: {fact: deadline}
  contact:
    by: [coach, starter]
    recurring: {every: month}
transitions:
  - event: session
    from: coaching
    to: coaching
    by: [coach]
    input:
      on: {type: date, required: true}
      track: {type: enum, values: [fast, slow]}
      remark: {type: str, visible_to: [coach]}
    set:
      sessions: sessions + 1
      held_on: input.on
      track: input.track
  - event: check
    from: coaching
    to: coaching
    by: [coach]
    when: ready()
    set:
      sessions: sessions + 1
  - event: note
    from: coaching
    to: coaching
    by: [coach, starter]
    input:
      text: {type: str, required: true}
    set:
      note: input.text
  - event: close
    from: coaching
    to: closing
    by: [director]
    when: done.visit_w2
  - event: reopen
    from: closing
    to: coaching
    by: [coach]
  - event: finish
    from: closing
    to: completed
    by: [director]
    set:
      closed: true
"""

PEOPLE = {"director": "dirk", "coach": "cas", "starter": "sam"}


def demo_definition() -> coachflow.Definition:
    return coachflow.loads_definition(DEMO_YAML)


# --- stores ----------------------------------------------------------------------------------


@pytest.fixture(params=SQL_BACKENDS)
def sql_store(request: pytest.FixtureRequest, make_store: Callable[[str], Any]) -> SqlStore:
    store: SqlStore = make_store(request.param)
    return store


@pytest.fixture
def second_store(store: Any) -> Iterator[Callable[[], Any]]:
    """``second_store()``: another store object on the same database (the same object
    for the in-memory store: that is all it can share)."""
    opened: list[SqlStore] = []

    def make() -> Any:
        if isinstance(store, MemoryStore):
            return store
        other = SqlStore(store.url, upgrade=False)
        opened.append(other)
        return other

    yield make
    for other in opened:
        other.dispose()


@contextlib.contextmanager
def counted_queries(store: SqlStore) -> Iterator[list[str]]:
    """The SELECT statements ``store`` reads with while the block runs: through SQLAlchemy
    and through the driver connections of its hot path."""
    seen: list[str] = []

    def note(statement: str) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    class Cursor:
        def __init__(self, cursor: Any) -> None:
            self._cursor = cursor

        def execute(self, statement: str, *args: Any) -> Any:
            note(statement)
            return self._cursor.execute(statement, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._cursor, name)

    class Connection:
        def __init__(self, conn: Any) -> None:
            self._conn = conn
            self.info: dict[str, Any] = {}  # no cursor kept from before the block: spy on all

        def cursor(self, *args: Any) -> Cursor:
            return Cursor(self._conn.cursor(*args))

        def __getattr__(self, name: str) -> Any:
            return getattr(self._conn, name)

    # every connection, SQLAlchemy's own and the hot path's of each thread included, is
    # taken through raw_connection(); the hot path's open before the block are replaced
    engines = (store._reader, store._writer)
    for sql_engine in engines:
        raw = sql_engine.raw_connection
        sql_engine.raw_connection = (  # type: ignore[method-assign]
            lambda raw=raw: Connection(raw())
        )
    store._forget_connections()
    try:
        yield seen
    finally:
        for sql_engine in engines:
            del sql_engine.raw_connection


def demo_engine(store: Any, clock: FixedClock | None = None) -> Engine:
    engine = Engine([demo_definition()], store=store, clock=clock or FixedClock(T0))
    engine.register_predicate("ready", lambda view: True)
    return engine


def start_demo(engine: Engine, tid: str = "t1", **kwargs: Any) -> Trajectory:
    options: dict[str, Any] = {"participants": PEOPLE, "actor": "dirk", "trajectory_id": tid}
    options.update(kwargs)
    return engine.start("store-demo", **options)


def row_of(store: SqlStore, tid: str) -> Any:
    with store._reader.connect() as conn:
        return conn.execute(
            select(trajectories_table).where(trajectories_table.c.id == tid)
        ).first()


def history_count(store: Any, tid: str) -> int:
    if isinstance(store, SqlStore):
        return len(store.history_of(tid))
    return len(store.load(tid).history)


def participant_rows(store: SqlStore, tid: str) -> set[tuple[str, str]]:
    with store._reader.connect() as conn:
        rows = conn.execute(
            select(participants_table.c.role, participants_table.c.person).where(
                participants_table.c.trajectory_id == tid
            )
        )
        return {(r.role, r.person) for r in rows}


def full_demo(engine: Engine, clock: FixedClock, tid: str = "t1") -> Trajectory:
    """A demo trajectory with every kind of record but 'migrated'."""
    start_demo(
        engine,
        tid,
        facts={"deadline": "2026-11-20", "note": "start", "track": "fast"},
        start_date="2026-08-31",
        calendar=builtin_calendar(),
    )
    clock.advance(days=2)
    engine.fire(
        tid,
        "session",
        actor="cas",
        input={"on": "2026-09-02", "track": "slow", "remark": "tired"},
    )
    clock.advance(days=3)
    engine.record_activity(
        tid,
        "visit_w2",
        actor="cas",
        on="2026-09-04",
        input={"agreements": "routines", "held": date(2026, 9, 4)},
    )
    engine.record_activity(tid, "contact", actor="sam", on=date(2026, 9, 5))
    engine.grant_consent(tid, "report", actor="sam")
    engine.assign(tid, "buddy", "bo", actor="cas")
    engine.assign(tid, "coach", "cor", actor="dirk")
    engine.unassign(tid, "coach", "cas", actor="dirk")
    engine.assign(tid, "buddy", "bea", actor="dirk", replacing="bo")
    engine.withdraw_consent(tid, "report", actor="sam")
    clock.advance(days=1)
    engine.fire(tid, "note", actor="sam", input={"text": "ünïcode ✓"})
    return engine.fire(tid, "close", actor="dirk")


# --- round trips -----------------------------------------------------------------------------


def test_round_trip_keeps_every_field(store: Any, second_store: Callable[[], Any]) -> None:
    clock = FixedClock(T0)
    engine = demo_engine(store, clock)
    written = full_demo(engine, clock)
    loaded = second_store().load("t1")

    assert loaded == written  # every field of as_dict() and the whole history
    assert loaded.as_dict() == written.as_dict()
    assert loaded.definition_id == "store-demo" and loaded.definition_version == 1
    assert loaded.state == "closing"
    assert loaded.version == 11
    assert dict(loaded.facts) == {
        "sessions": 1,
        "held_on": date(2026, 9, 2),
        "deadline": date(2026, 11, 20),
        "note": "ünïcode ✓",
        "track": "slow",
        "closed": False,
    }
    assert type(loaded.facts["held_on"]) is date
    assert dict(loaded.consents) == {"report": False}
    assert dict(loaded.participants) == {
        "director": ("dirk",),
        "coach": ("cor",),
        "starter": ("sam",),
        "buddy": ("bea",),
    }
    assert dict(loaded.counts) == {"visit_w2": 1, "contact": 1}
    assert loaded.start_date == date(2026, 8, 31)
    assert loaded.started_at == written.started_at
    assert loaded.started_at.utcoffset() == timedelta(0)
    assert loaded.calendar == builtin_calendar()
    assert loaded.roles_of("cor") == ("coach",)
    assert loaded.roles_of("cas") == ()

    history = loaded.history
    assert [r.seq for r in history] == list(range(12))
    assert [r.kind for r in history] == [
        "started",
        "event",
        "activity",
        "activity",
        "consent_granted",
        "assigned",
        "assigned",
        "unassigned",
        "assigned",
        "consent_withdrawn",
        "event",
        "event",
    ]
    assert history == written.history
    started = history[0]
    assert started.input["start_date"] == date(2026, 8, 31)
    assert started.input["calendar"] == builtin_calendar().as_data()
    assert dict(started.changes)["deadline"] == date(2026, 11, 20)
    session = history[1]
    assert session.input == {"on": date(2026, 9, 2), "track": "slow", "remark": "tired"}
    assert type(session.input["on"]) is date
    assert session.changes == {"sessions": 1, "held_on": date(2026, 9, 2), "track": "slow"}
    assert (session.source, session.target, session.role) == ("coaching", "coaching", "coach")
    visit = history[2]
    assert visit.on == date(2026, 9, 4) and visit.event == "visit_w2"
    assert visit.input == {"agreements": "routines", "held": date(2026, 9, 4)}
    assert history[3].on == date(2026, 9, 5) and history[3].input == {}
    assert history[8].input == {"role": "buddy", "person": "bea", "replacing": "bo"}
    assert [r.at for r in history] == [r.at for r in written.history]
    assert all(isinstance(r, HistoryRecord) for r in history)


def test_loaded_trajectories_redact_for_viewers(
    store: Any, second_store: Callable[[], Any]
) -> None:
    clock = FixedClock(T0)
    engine = demo_engine(store, clock)
    full_demo(engine, clock)
    reader = demo_engine(second_store(), clock)

    def inputs(viewer: str | None, kind_event: str) -> dict[str, Any]:
        records = reader.history("t1", viewer=viewer)
        [record] = [r for r in records if r.event == kind_event]
        return dict(record.input)

    # consent 'report' is withdrawn: the director does not read the agreements
    assert inputs("dirk", "visit_w2") == {"agreements": REDACTED, "held": date(2026, 9, 4)}
    assert inputs("sam", "visit_w2") == {"agreements": "routines", "held": date(2026, 9, 4)}
    assert inputs("cas", "visit_w2")["agreements"] == "routines"  # the author, no longer coach
    assert inputs("nobody", "visit_w2") == {"agreements": REDACTED, "held": REDACTED}
    assert inputs("dirk", "session")["remark"] is REDACTED
    assert inputs("cor", "session")["remark"] == "tired"
    assert inputs(None, "visit_w2")["agreements"] == "routines"
    viewed = reader.get("t1", viewer="dirk")
    assert viewed.as_dict() == reader.get("t1").as_dict()
    assert len(viewed.history) == viewed.version + 1

    engine.grant_consent("t1", "report", actor="sam")  # through the other engine
    assert inputs("dirk", "visit_w2")["agreements"] == "routines"


def test_load_reads_the_row_and_the_history_only_when_touched(
    sql_store: SqlStore,
) -> None:
    clock = FixedClock(T0)
    engine = demo_engine(sql_store, clock)
    full_demo(engine, clock)
    with counted_queries(sql_store) as queries:
        t = sql_store.load("t1")
        assert len(queries) == 1
        assert "cf_trajectories" in queries[0] and "cf_history" not in queries[0]
        assert t.state == "closing" and t.facts["sessions"] == 1 and t.version == 11
        assert dict(t.counts) == {"visit_w2": 1, "contact": 1}
        assert len(queries) == 1
        history = t.history
        # the history, and the keys of its sealed (confidential) values, once
        assert len(queries) == 3 and "cf_history" in queries[1] and "cf_keys" in queries[2]
        assert len(history) == 12
        assert t.history is history  # read once
        assert len(queries) == 3
        # firing on a loaded trajectory does not read its old history either
        clock.advance(days=1)
        engine.fire("t1", "reopen", actor="cor")
        assert all("cf_history" not in q for q in queries[3:])


def test_a_loaded_history_stops_at_the_version_that_was_loaded(
    sql_store: SqlStore,
) -> None:
    engine = demo_engine(sql_store)
    start_demo(engine)
    engine.fire("t1", "note", actor="sam", input={"text": "one"})
    t = sql_store.load("t1")
    engine.fire("t1", "note", actor="sam", input={"text": "two"})
    engine.fire("t1", "note", actor="sam", input={"text": "three"})
    assert t.version == 1
    assert [r.seq for r in t.history] == [0, 1]
    assert t.history == tuple(sql_store.history_of("t1", upto=1))
    assert replay("t1", t.history) == t


# --- every built-in definition: replay == row ------------------------------------------------


def _value_for(spec: Any, day: date) -> Any:
    kind = spec.type
    if kind == "bool":
        return True
    if kind == "int":
        low = spec.min if spec.min is not None else 1
        return low if spec.max is None else min(max(low, 1), spec.max)
    if kind == "str":
        return "tekst"
    if kind == "date":
        return day
    if kind == "list":
        item = SimpleNamespace(type=spec.items, values=spec.values, min=None, max=None)
        return [_value_for(item, day)] * max(spec.min_items or 0, 2)
    return spec.values[0]


def _input_for(fields: Any, day: date) -> dict[str, Any]:
    return {name: _value_for(spec, day) for name, spec in fields.items()}


def drive(engine: Engine, tid: str, steps: int, seed: int, clock: FixedClock) -> None:
    """Some accepted steps: allowed events, activities and consents, chosen at random."""
    rng = random.Random(seed)
    t = engine.get(tid)
    definition = engine.definition(t.definition_id, t.definition_version)
    inputs: dict[str, dict[str, Any]] = {}
    for transition in definition.transitions:
        inputs.setdefault(transition.event, {}).update(transition.input)
    finals = definition.final_states
    ending = {
        e for e in inputs if all(x.to in finals for x in definition.transitions if x.event == e)
    }
    for step in range(steps):
        clock.advance(days=2, hours=1)
        day = clock.now().date()
        t = engine.get(tid)
        people = sorted({p for ps in t.participants.values() for p in ps})
        options: list[tuple[str, str, str]] = []
        for person in people:
            options += [("event", person, e) for e in engine.allowed_events(tid, actor=person)]
        for name, activity in definition.activities.items():
            options += [("activity", p, name) for role in activity.by for p in t.participants[role]]
        for name, consent in definition.consents.items():
            options += [("consent", p, name) for p in t.participants[consent.granted_by]]
        for role, spec in definition.roles.items():
            if step % 3:
                break  # people change now and then
            assigners = [p for r in spec.assigned_by for p in t.participants[r]]
            kinds = ("assign", "unassign") if t.participants[role] else ("assign",)
            options += [(kind, p, role) for p in assigners for kind in kinds]
        rng.shuffle(options)
        options.sort(key=lambda o: o[0] == "event" and o[2] in ending)  # end late
        for kind, person, name in options:
            try:
                if kind == "event":
                    engine.fire(tid, name, actor=person, input=_input_for(inputs[name], day))
                elif kind == "assign":
                    engine.assign(tid, name, f"new-{name}-{day}", actor=person)
                elif kind == "unassign":
                    engine.unassign(tid, name, t.participants[name][-1], actor=person)
                elif kind == "activity":
                    fields = definition.activities[name].input
                    engine.record_activity(
                        tid, name, actor=person, on=day, input=_input_for(fields, day)
                    )
                elif t.consents[name]:
                    engine.withdraw_consent(tid, name, actor=person)
                else:
                    engine.grant_consent(tid, name, actor=person)
            except (TransitionRejected, ConsentError):
                continue
            break


def start_builtin(engine: Engine, definition_id: str, tid: str) -> Trajectory:
    definition = engine.definition(definition_id)
    people = participants_for(definition)
    starters = definition.started_by or tuple(definition.roles)
    return engine.start(
        definition_id,
        participants=people,
        actor=people[starters[0]][0],
        trajectory_id=tid,
        start_date="2026-08-31",
        calendar=builtin_calendar(),
    )


def builtin_engine(store: Any, clock: FixedClock) -> Engine:
    engine = Engine(store=store, clock=clock)
    for d in engine.definitions.values():
        for name in d.predicates:
            engine.register_predicate(name, lambda view: True)
    return engine


@pytest.mark.parametrize("definition_id", BUILTIN_IDS)
def test_replay_of_the_stored_records_equals_the_row_for_every_builtin_definition(
    sql_store: SqlStore, definition_id: str
) -> None:
    twin_clock, clock = FixedClock(T0), FixedClock(T0)
    twin = builtin_engine(MemoryStore(), twin_clock)
    engine = builtin_engine(sql_store, clock)
    for n in range(2):
        tid = f"{definition_id}-{n}"
        start_builtin(engine, definition_id, tid)
        start_builtin(twin, definition_id, tid)
        drive(engine, tid, 12, seed=n, clock=clock)
        drive(twin, tid, 12, seed=n, clock=twin_clock)

        row = sql_store.load(tid)
        records = sql_store.history_of(tid)
        assert row.version > 3, "the scenario should get somewhere"
        assert [r.seq for r in records] == list(range(row.version + 1))
        assert replay(tid, records) == row
        assert replay(tid, records).calendar == row.calendar
        # and the SQL store kept exactly what the in-memory store holds
        assert row == twin.get(tid)
        assert row.calendar == twin.get(tid).calendar


# --- optimistic concurrency ------------------------------------------------------------------


def test_two_engines_writing_one_trajectory_never_both_succeed(
    store: Any, second_store: Callable[[], Any]
) -> None:
    """Engine B reads the trajectory and, while it checks its guard, engine A (another
    connection) changes it: B's write loses with VersionConflict and writes nothing."""
    clock = FixedClock(T0)
    a = demo_engine(store, clock)
    b = Engine([demo_definition()], store=second_store(), clock=clock)
    start_demo(a)
    a.fire("t1", "note", actor="sam", input={"text": "one"})
    seen: list[int] = []

    def interfering(view: Trajectory) -> bool:
        seen.append(view.version)
        if len(seen) == 1:
            a.fire("t1", "note", actor="cas", input={"text": "A wins"})
        return True

    b.register_predicate("ready", interfering)
    with pytest.raises(VersionConflict) as raised:
        b.fire("t1", "check", actor="cas")
    assert raised.value.expected == 1 and raised.value.actual == 2
    assert raised.value.trajectory_id == "t1"
    assert seen == [1]

    for reader in (a, b):
        t = reader.get("t1")
        assert t.version == 2 and t.facts["sessions"] == 0 and t.facts["note"] == "A wins"
        assert [r.event for r in t.history] == [None, "note", "note"]
        assert history_count(reader.store, "t1") == 3
        assert replay("t1", t.history) == t
    # B reads again and retries: now it succeeds
    assert b.fire("t1", "check", actor="cas").version == 3


def test_a_stale_commit_is_refused_and_writes_nothing(
    store: Any, second_store: Callable[[], Any]
) -> None:
    clock = FixedClock(T0)
    engine = demo_engine(store, clock)
    start_demo(engine)
    other = second_store()
    stale = other.load("t1")
    winner = engine.fire("t1", "note", actor="sam", input={"text": "first"})
    record = HistoryRecord(
        stale.version + 1,
        clock.now(),
        "cas",
        "coach",
        "event",
        "session",
        "coaching",
        "coaching",
        MappingProxyType({"on": date(2026, 9, 1)}),
        MappingProxyType({"sessions": 1, "held_on": date(2026, 9, 1)}),
    )
    loser = stale.evolve(record, facts={**stale.facts, "sessions": 1, "held_on": date(2026, 9, 1)})
    with pytest.raises(VersionConflict) as raised:
        other.commit(loser, expected_version=stale.version)
    assert (raised.value.expected, raised.value.actual) == (0, 1)
    assert history_count(other, "t1") == 2
    now = other.load("t1")
    assert now == winner
    assert now.facts["sessions"] == 0 and now.facts["note"] == "first"
    if isinstance(other, SqlStore):
        assert row_of(other, "t1").version == 1
        assert [r.event for r in other.history_of("t1")] == [None, "note"]


def test_a_stale_expected_version_is_refused(store: Any) -> None:
    engine = demo_engine(store)
    start_demo(engine)
    engine.fire("t1", "note", actor="sam", input={"text": "x"})
    before = engine.get("t1")
    with pytest.raises(VersionConflict):
        engine.fire("t1", "note", actor="sam", input={"text": "y"}, expected_version=0)
    with pytest.raises(VersionConflict):
        engine.record_activity("t1", "contact", actor="sam", expected_version=0)
    assert engine.get("t1") == before
    assert engine.fire("t1", "check", actor="cas", expected_version=1).version == 2


# --- ids -------------------------------------------------------------------------------------


def test_a_duplicate_trajectory_id_is_refused(store: Any) -> None:
    engine = demo_engine(store)
    first = start_demo(engine)
    engine.fire("t1", "note", actor="sam", input={"text": "kept"})
    kept = engine.get("t1")
    with pytest.raises(TrajectoryExists):
        start_demo(engine, participants={**PEOPLE, "starter": "someone-else"})
    with pytest.raises(TrajectoryExists):
        store.create(first)
    assert engine.get("t1") == kept
    assert history_count(store, "t1") == 2
    assert list(store.ids()) == ["t1"]
    if isinstance(store, SqlStore):
        assert participant_rows(store, "t1") == {(r, p) for r, p in PEOPLE.items()}


def test_an_unknown_trajectory_is_reported(store: Any) -> None:
    engine = demo_engine(store)
    t = start_demo(engine)
    with pytest.raises(UnknownTrajectory):
        store.load("nope")
    with pytest.raises(UnknownTrajectory):
        engine.get("nope")
    with pytest.raises(UnknownTrajectory):
        engine.fire("nope", "note", actor="sam", input={"text": "x"})
    record = HistoryRecord(1, t.started_at, "sam", "starter", "event", "note", "coaching")
    ghost = Trajectory(
        id="ghost",
        definition_id="store-demo",
        definition_version=1,
        state="coaching",
        facts=t.facts,
        consents=t.consents,
        participants=t.participants,
        version=0,
        started_at=t.started_at,
    ).evolve(record)
    with pytest.raises(UnknownTrajectory):
        store.commit(ghost, expected_version=0)
    assert list(store.ids()) == ["t1"]
    if isinstance(store, SqlStore):
        assert store.history_of("nope") == []


# --- queries ---------------------------------------------------------------------------------


def _population(engine: Engine) -> None:
    start_demo(engine, "a1")
    start_demo(engine, "a2", participants={**PEOPLE, "starter": "sia"})
    start_demo(engine, "a3", participants={**PEOPLE, "coach": ["cas", "cor"]})
    engine.record_activity("a2", "visit_w2", actor="cas", input={"agreements": "x"})
    engine.fire("a2", "close", actor="dirk")
    engine.assign("a1", "buddy", "bo", actor="cas")


def test_find_by_definition_state_and_participant(sql_store: SqlStore) -> None:
    engine = demo_engine(sql_store)
    _population(engine)
    other = Engine(
        [coachflow.loads_definition(DEMO_YAML.replace("id: store-demo", "id: other-demo"))],
        store=sql_store,
        clock=FixedClock(T0),
    )
    other.start("other-demo", participants=PEOPLE, actor="dirk", trajectory_id="b1")

    def ids(**query: Any) -> list[str]:
        return [t.id for t in sql_store.find(**query)]

    assert ids() == ["a1", "a2", "a3", "b1"]
    assert ids(definition_id="store-demo") == ["a1", "a2", "a3"]
    assert ids(definition_id="other-demo") == ["b1"]
    assert ids(state="closing") == ["a2"]
    assert ids(state="coaching") == ["a1", "a3", "b1"]
    assert ids(definition_id="store-demo", state="coaching") == ["a1", "a3"]
    assert ids(participant="sam") == ["a1", "a3", "b1"]
    assert ids(participant="sia") == ["a2"]
    assert ids(participant="cor") == ["a3"]
    assert ids(participant="bo") == ["a1"]
    assert ids(participant="nobody") == []
    assert ids(participant="dirk", state="closing") == ["a2"]
    assert ids(definition_id="store-demo", participant="cas", limit=2) == ["a1", "a2"]
    assert ids(definition_id="nope") == []
    found = sql_store.find(state="closing")[0]
    assert found == engine.get("a2")
    assert replay("a2", found.history) == found


def test_with_participant(store: Any) -> None:
    engine = demo_engine(store)
    _population(engine)
    found = {t.id: t for t in store.with_participant("sam")}
    assert sorted(found) == ["a1", "a3"]
    for tid, t in found.items():
        assert t == engine.get(tid)
        assert len(t.history) == t.version + 1
    assert sorted(t.id for t in store.with_participant("cas")) == ["a1", "a2", "a3"]
    assert [t.id for t in store.with_participant("bo")] == ["a1"]
    assert list(store.with_participant("nobody")) == []
    engine.unassign("a1", "buddy", "bo", actor="dirk")
    assert list(store.with_participant("bo")) == []


def test_the_participants_table_follows_assignments(sql_store: SqlStore) -> None:
    engine = demo_engine(sql_store)
    start_demo(engine, participants={**PEOPLE, "coach": ["cas"]})
    base = {("director", "dirk"), ("starter", "sam")}
    assert participant_rows(sql_store, "t1") == base | {("coach", "cas")}
    engine.assign("t1", "coach", "cor", actor="dirk")
    assert participant_rows(sql_store, "t1") == base | {("coach", "cas"), ("coach", "cor")}
    engine.assign("t1", "buddy", "bo", actor="cas")
    engine.unassign("t1", "coach", "cas", actor="dirk")
    assert participant_rows(sql_store, "t1") == base | {("coach", "cor"), ("buddy", "bo")}
    engine.assign("t1", "buddy", "bea", actor="cor", replacing="bo")
    assert participant_rows(sql_store, "t1") == base | {("coach", "cor"), ("buddy", "bea")}
    engine.fire("t1", "note", actor="sam", input={"text": "no change"})
    expected = {
        (role, person)
        for role, people in engine.get("t1").participants.items()
        for person in people
    }
    assert participant_rows(sql_store, "t1") == expected
    assert [t.id for t in sql_store.find(participant="bo")] == []
    assert [t.id for t in sql_store.find(participant="bea")] == ["t1"]


def _agenda_actions(engine: Engine, clock: FixedClock) -> None:
    start_demo(engine, "g1", start_date="2026-08-31")
    start_demo(engine, "g2", participants={**PEOPLE, "coach": ["cas", "cor"]})
    start_demo(engine, "g3", participants={**PEOPLE, "starter": "sia"}, calendar=builtin_calendar())
    start_builtin(engine, "starter-year", "sy1")
    clock.advance(days=10)
    engine.record_activity("g1", "visit_w2", actor="cas", input={"agreements": "a"})
    engine.record_activity("g2", "contact", actor="sam", on="2026-09-03")
    engine.fire("g1", "close", actor="dirk")
    engine.assign("g3", "buddy", "cas", actor="dirk")


@pytest.mark.parametrize("person", ["cas", "sam", "sia", "dirk", "cor", "starter_0", "nobody"])
def test_agenda_for_on_a_sql_store_equals_the_memory_store(
    sql_store: SqlStore, person: str
) -> None:
    results = []
    for store in (MemoryStore(), sql_store):
        clock = FixedClock(T0)
        engine = Engine(
            [demo_definition(), *load_registered()], store=store, clock=clock, plugins=False
        )
        engine.register_predicate("ready", lambda view: True)
        _agenda_actions(engine, clock)
        results.append(
            [engine.agenda_for(person, as_of=day) for day in ("2026-09-01", "2026-10-20")]
        )
    memory, sql = results
    assert sql == memory
    if person in ("cas", "sam"):
        assert sql[1], "the person should have something to do"


def test_next_due_is_kept_in_the_row(sql_store: SqlStore) -> None:
    clock = FixedClock(T0)
    engine = demo_engine(sql_store, clock)
    start_demo(engine, start_date="2026-09-01")  # a Tuesday: week 1 ends on 6 September
    assert row_of(sql_store, "t1").next_due == date(2026, 9, 13)  # visit_w2, week 2
    clock.advance(days=3)
    engine.record_activity("t1", "visit_w2", actor="cas", input={"agreements": "x"})
    assert row_of(sql_store, "t1").next_due == date(2026, 9, 27)  # visit_w4
    engine.record_activity("t1", "visit_w4", actor="cas")
    assert row_of(sql_store, "t1").next_due == date(2026, 12, 1)  # evaluation, on 'deadline'
    engine.record_activity("t1", "evaluation", actor="sam")
    assert row_of(sql_store, "t1").next_due is None

    # with a school calendar, weeks are school weeks
    start_demo(engine, "t2", start_date="2026-10-12", calendar=builtin_calendar())
    t2 = engine.get("t2")
    expected = week_end(date(2026, 10, 12), 2, builtin_calendar())
    assert row_of(sql_store, "t2").next_due == expected == engine.next_due(t2)


def test_next_due_is_filled_for_builtin_definitions_with_week_due_activities(
    sql_store: SqlStore,
) -> None:
    clock = FixedClock(T0)
    engine = builtin_engine(sql_store, clock)
    with_weeks = [
        d.id
        for d in engine.definitions.values()
        if any(a.due is not None and a.due.week is not None for a in d.activities.values())
    ]
    assert "starter-year" in with_weeks
    for definition_id in with_weeks:
        tid = f"{definition_id}-due"
        start_builtin(engine, definition_id, tid)
        drive(engine, tid, 6, seed=3, clock=clock)
        t = engine.get(tid)
        due = row_of(sql_store, tid).next_due
        assert due is not None
        assert due == engine.next_due(t)
        assert due >= t.start_date


def test_the_agenda_query_does_not_read_other_peoples_trajectories(
    sql_store: SqlStore,
) -> None:
    engine = demo_engine(sql_store)
    for n in range(30):
        start_demo(engine, f"x{n:02}", participants={**PEOPLE, "starter": f"s{n}"})
    with counted_queries(sql_store) as queries:
        items = engine.agenda_for("s7", as_of="2026-09-20")
    assert {i.trajectory_id for i in items} == {"x07"}
    assert len(queries) <= 3, queries


# --- definitions kept in the store -----------------------------------------------------------


def test_remember_definition_refuses_a_changed_content_under_the_same_version(
    sql_store: SqlStore, tmp_path: Path
) -> None:
    original = demo_definition()
    sql_store.remember_definition(original)
    sql_store.remember_definition(original)  # the same content again: fine
    changed = coachflow.loads_definition(
        DEMO_YAML.replace("  closing: {}", "  closing: {title: Afronding}")
    )
    with pytest.raises(DefinitionError) as raised:
        sql_store.remember_definition(changed)
    assert [d.code for d in raised.value.diagnostics] == ["definition-changed"]
    assert "store-demo" in str(raised.value)

    # an Engine reading a changed file with an unchanged version refuses to start
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "demo.yaml").write_text(
        DEMO_YAML.replace("  closing: {}", "  closing: {title: Afronding}"), encoding="utf-8"
    )
    with pytest.raises(DefinitionError) as raised:
        Engine(folder, store=sql_store)
    assert [d.code for d in raised.value.diagnostics] == ["definition-changed"]
    # a new version is fine, and formatting or comments are no change of content
    (folder / "demo.yaml").write_text(
        "# a comment\n" + DEMO_YAML.replace("initial: coaching", "initial:   coaching  # here"),
        encoding="utf-8",
    )
    Engine(folder, store=sql_store)
    (folder / "demo.yaml").write_text(
        DEMO_YAML.replace("version: 1", "version: 2").replace(
            "  closing: {}", "  closing: {title: Afronding}"
        ),
        encoding="utf-8",
    )
    engine = Engine(folder, store=sql_store)
    assert engine.definition("store-demo").version == 2
    # constructing an engine writes nothing: version 2 is recorded on first use
    assert {(d.id, d.version) for d in sql_store.stored_definitions()} == {("store-demo", 1)}
    engine.plan_migration("store-demo")
    assert {(d.id, d.version) for d in sql_store.stored_definitions()} == {
        ("store-demo", 1),
        ("store-demo", 2),
    }


def test_stored_definitions_keep_trajectories_running_when_the_file_is_gone(
    sql_store: SqlStore, tmp_path: Path
) -> None:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "demo.yaml").write_text(DEMO_YAML, encoding="utf-8")
    first = Engine(folder, store=sql_store, clock=FixedClock(T0))
    start_demo(first)
    first.fire("t1", "note", actor="sam", input={"text": "before"})
    (folder / "demo.yaml").unlink()

    later = Engine(folder, store=sql_store, clock=FixedClock(T0))
    assert later.definition("store-demo", 1) == demo_definition()
    t = later.fire("t1", "note", actor="sam", input={"text": "after"})
    assert t.version == 2 and t.facts["note"] == "after"
    assert later.allowed_events("t1", actor="dirk") == []
    assert later.replay("t1") == later.get("t1")
    assert stored_ids(sql_store) == {("store-demo", 1)}

    # a store on the same database, in a new process-like setting: nothing loaded but it
    fresh = SqlStore(sql_store.url, upgrade=False)
    try:
        engine = Engine([], store=fresh, clock=FixedClock(T0))
        assert engine.get("t1") == t
        assert engine.fire("t1", "note", actor="cas", input={"text": "x"}).version == 3
    finally:
        fresh.dispose()


def stored_ids(store: SqlStore) -> set[tuple[str, int]]:
    return {(d.id, d.version) for d in store.stored_definitions()}


# --- the schema: Alembic migrations ----------------------------------------------------------


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


CF_TABLES = {
    "cf_trajectories",
    "cf_history",
    "cf_participants",
    "cf_definitions",
    "cf_access_log",
}


def test_a_store_without_upgrade_refuses_an_empty_database(empty_url: str) -> None:
    with pytest.raises(StoreError) as raised:
        SqlStore(empty_url, upgrade=False)
    assert "coachflow db upgrade" in str(raised.value)
    assert not _tables(empty_url) & CF_TABLES


def test_the_migrations_create_the_schema_of_the_code(empty_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from coachflow.store import metadata
    from coachflow.store.migrations import current

    store = SqlStore(empty_url)
    try:
        assert store.revision() == SCHEMA_REVISION
        assert current(store._writer) == SCHEMA_REVISION
        with store._writer.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            indexes = {
                i["name"] for t in CF_TABLES for i in inspect(conn).get_indexes(t) if i["name"]
            }
        assert {
            "ix_cf_trajectories_definition",
            "ix_cf_trajectories_state",
            "ix_cf_trajectories_next_due",
            "ix_cf_participants_person",
            "ix_cf_access_log_trajectory",
        } <= indexes
        demo_engine(store)  # usable
    finally:
        store.dispose()
    assert _tables(empty_url) >= CF_TABLES | {"alembic_version"}


def test_db_upgrade_creates_the_schema_and_running_it_again_is_harmless(
    empty_url: str, tmp_path: Path
) -> None:
    target = empty_url
    if empty_url.startswith("sqlite"):
        target = str(tmp_path / "empty.db")  # --db takes a plain path for SQLite
    done = _cli("db", "upgrade", "--db", target)
    assert done.returncode == 0, done.stderr
    assert SCHEMA_REVISION in done.stdout
    store = SqlStore(empty_url, upgrade=False)
    try:
        assert store.revision() == SCHEMA_REVISION
        engine = demo_engine(store)
        start_demo(engine)
        engine.fire("t1", "note", actor="sam", input={"text": "kept"})
        kept = engine.get("t1")
    finally:
        store.dispose()

    again = _cli("db", "upgrade", "--db", target, "--format", "json")
    assert again.returncode == 0, again.stderr
    assert f'"revision": "{SCHEMA_REVISION}"' in again.stdout
    store = SqlStore(empty_url, upgrade=False)
    try:
        assert store.load("t1") == kept
        assert stored_ids(store) == {("store-demo", 1)}
    finally:
        store.dispose()


def test_db_upgrade_uses_the_default_database_in_the_current_directory(tmp_path: Path) -> None:
    done = _cli("db", "upgrade", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _tables(f"sqlite:///{tmp_path / 'coachflow.db'}") >= CF_TABLES


def test_sqlite_pragmas_and_foreign_keys(sql_store: SqlStore) -> None:
    if not sql_store.is_sqlite:
        with pytest.raises(Exception, match="foreign key"), sql_store._writer.begin() as conn:
            conn.execute(insert(history_table).values(**_orphan_record()))
        return
    for engine in (sql_store._writer, sql_store._reader):
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    # foreign keys are enforced: no history without its trajectory
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), sql_store._writer.begin() as conn:
        conn.execute(insert(history_table).values(**_orphan_record()))


def _orphan_record() -> dict[str, Any]:
    return {
        "trajectory_id": "no-such-trajectory",
        "seq": 0,
        "at": FixedClock(T0).now(),
        "actor": "x",
        "role": None,
        "kind": "started",
        "input": {},
        "changes": {},
    }


def test_an_unreachable_database_is_a_store_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "x.db"
    with pytest.raises(StoreError):
        SqlStore(f"sqlite:///{missing}")
    with pytest.raises(StoreError):
        SqlStore("postgresql+psycopg://postgres@127.0.0.1:1/none")
    with pytest.raises(StoreError, match=r"(?i)connect|reach|open"):
        SqlStore("postgresql+psycopg://postgres@127.0.0.1:1/none", upgrade=False)
    done = _cli("list", "--db", str(missing))
    assert done.returncode == 3  # the store-error status
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "kind",
    [
        "memory",
        "sqlite",
        pytest.param("postgresql"),
    ],
)
def test_long_ids_behave_the_same_on_every_backend(
    kind: str, make_store: Callable[[str], Any]
) -> None:
    engine = demo_engine(make_store(kind))
    long_id, long_person = "t" * 250, "p" * 250
    try:
        start_demo(engine, long_id, participants={**PEOPLE, "starter": long_person})
    except coachflow.CoachflowError:
        return  # refused with a clear error: fine, if every backend does so
    t = engine.fire(long_id, "note", actor=long_person, input={"text": "x"})
    assert engine.get(long_id) == t
    assert [x.id for x in engine.store.with_participant(long_person)] == [long_id]


def test_constructing_an_engine_writes_nothing(tmp_path: Path) -> None:
    """Architecture rule: an engine reads the store when it is made and records a
    definition version only on first use (starting, changing, planning a migration)."""
    path = tmp_path / "team.db"
    SqlStore(f"sqlite:///{path}").dispose()
    read_only = SqlStore(f"sqlite:///file:{path}?mode=ro&uri=true", upgrade=False)
    engine = Engine([demo_definition()], store=read_only)  # a write would fail here
    assert engine.definition("store-demo").version == 1
    assert read_only.stored_definitions() == []
    read_only.dispose()
    store = SqlStore(f"sqlite:///{path}")
    start_demo(Engine([demo_definition()], store=store))
    assert [(d.id, d.version) for d in store.stored_definitions()] == [("store-demo", 1)]
    store.dispose()
