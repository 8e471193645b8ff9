"""Persistence: :class:`SqlStore` on SQLAlchemy Core, for SQLite and PostgreSQL.

Event-sourced: an append-only table of history records plus one current-state row
per trajectory, both written in the same transaction. Loading reads the row; the
history is read only when someone looks at it. Writes are checked optimistically: the
row is updated only if it is still at the version the writer read, so two writers of
the same trajectory never both succeed (the loser gets :class:`VersionConflict` and
nothing of it is written).

``sqlite:///path`` is the embedded default (WAL journal, foreign keys on, writers take
the lock up front with ``BEGIN IMMEDIATE``); ``postgresql+psycopg://...`` is the
production one. The schema is created and upgraded by the Alembic migrations shipped
in ``coachflow/migrations`` (``coachflow db upgrade``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    bindparam,
    create_engine,
    delete,
    event,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError

from coachflow.errors import (
    CoachflowError,
    DefinitionError,
    TrajectoryExists,
    UnknownTrajectory,
    VersionConflict,
)
from coachflow.model import Definition
from coachflow.trajectory import HistoryRecord, Trajectory, stored_history

SCHEMA_REVISION = "0001"


class StoreError(CoachflowError):
    """The store cannot be used (no schema, an old schema, an unreachable server)."""


# --- values <-> JSON ---------------------------------------------------------------------


def encode(value: Any) -> Any:
    """Plain JSON data; dates become ``{"$date": "YYYY-MM-DD"}``."""
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "$date" in value:
            return date.fromisoformat(value["$date"])
        if len(value) == 1 and "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(decode(v) for v in value)  # list facts and inputs are tuples
    return value


class Instant(TypeDecorator[datetime]):
    """A timezone-aware moment, stored as UTC ISO text (exact on every backend)."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime cannot be stored")
        return value.astimezone(UTC).isoformat()

    def process_result_value(self, value: str | None, dialect: Any) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)


# --- the schema ----------------------------------------------------------------------------

metadata = MetaData()

trajectories = Table(
    "cf_trajectories",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("definition_id", String(200), nullable=False),
    Column("definition_version", Integer, nullable=False),
    Column("state", String(200), nullable=False),
    Column("facts", JSON, nullable=False),
    Column("consents", JSON, nullable=False),
    Column("participants", JSON, nullable=False),
    Column("counts", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("started_at", Instant, nullable=False),
    Column("start_date", Date, nullable=False),
    Column("calendar", JSON, nullable=True),
    Column("next_due", Date, nullable=True),
    Index("ix_cf_trajectories_definition", "definition_id", "definition_version"),
    Index("ix_cf_trajectories_state", "definition_id", "state"),
    Index("ix_cf_trajectories_next_due", "next_due"),
)

history = Table(
    "cf_history",
    metadata,
    Column(
        "trajectory_id",
        String(200),
        ForeignKey("cf_trajectories.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", Instant, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("role", String(100), nullable=True),
    Column("kind", String(40), nullable=False),
    Column("event", String(200), nullable=True),
    Column("source", String(200), nullable=True),
    Column("target", String(200), nullable=True),
    Column("on_date", Date, nullable=True),
    Column("input", JSON, nullable=False),
    Column("changes", JSON, nullable=False),
)

participants = Table(
    "cf_participants",
    metadata,
    Column(
        "trajectory_id",
        String(200),
        ForeignKey("cf_trajectories.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("role", String(100), primary_key=True),
    Column("person", String(200), primary_key=True),
    Index("ix_cf_participants_person", "person"),
)

definitions = Table(
    "cf_definitions",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("content_hash", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Column("recorded_at", Instant, nullable=False),
)


def content_hash(definition: Definition) -> tuple[str, str]:
    """The canonical JSON of a definition and its SHA-256."""
    from coachflow.io import definition_data

    text = json.dumps(definition_data(definition), sort_keys=True, ensure_ascii=False)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- rows <-> objects ------------------------------------------------------------------------


def _record_row(trajectory_id: str, r: HistoryRecord) -> dict[str, Any]:
    return {
        "trajectory_id": trajectory_id,
        "seq": r.seq,
        "at": r.at,
        "actor": r.actor,
        "role": r.role,
        "kind": r.kind,
        "event": r.event,
        "source": r.source,
        "target": r.target,
        "on_date": r.on,
        "input": encode(r.input),
        "changes": encode(r.changes),
    }


def _record(row: Any) -> HistoryRecord:
    inp = decode(row.input)
    if row.kind in ("started", "migrated"):
        inp["participants"] = MappingProxyType(
            {k: tuple(v) for k, v in inp.get("participants", {}).items()}
        )
        inp["consents"] = MappingProxyType(inp.get("consents", {}))
    return HistoryRecord(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        role=row.role,
        kind=row.kind,
        event=row.event,
        source=row.source,
        target=row.target,
        input=MappingProxyType(inp),
        changes=MappingProxyType(decode(row.changes)),
        on=row.on_date,
    )


def _state_row(t: Trajectory, next_due: date | None) -> dict[str, Any]:
    return {
        "id": t.id,
        "definition_id": t.definition_id,
        "definition_version": t.definition_version,
        "state": t.state,
        "facts": encode(t.facts),
        "consents": encode(t.consents),
        "participants": encode(t.participants),
        "counts": dict(t.counts),
        "version": t.version,
        "started_at": t.started_at,
        "start_date": t.start_date,
        "calendar": t.calendar.as_data() if t.calendar is not None else None,
        "next_due": next_due,
    }


def _participant_rows(t: Trajectory) -> list[dict[str, Any]]:
    return [
        {"trajectory_id": t.id, "role": role, "person": person}
        for role, people in t.participants.items()
        for person in people
    ]


class SqlStore:
    """Trajectories in a SQL database (SQLite or PostgreSQL), through SQLAlchemy Core.

    ``upgrade=True`` (the default) creates or upgrades the schema with the shipped
    Alembic migrations when the database is not at the newest revision.
    ``synchronous_commit=False`` (PostgreSQL) trades the durability of the last moment
    before a server crash for throughput; see :func:`_asynchronous_commits`.
    """

    def __init__(
        self,
        url: str,
        *,
        upgrade: bool = True,
        echo: bool = False,
        synchronous_commit: bool = True,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        try:
            self._open(url, echo, synchronous_commit)
        except (ImportError, ArgumentError, ValueError) as exc:
            raise StoreError(f"cannot use the database URL {url!r}: {exc}") from exc
        self.next_due: Any = None  # set by the engine: Trajectory -> date | None
        self._sql = self._prepare()
        self._pg_commits: dict[int, tuple[str, tuple[str, ...]]] = {}
        self._lock = threading.Lock()
        self._reachable()
        if upgrade:
            self.upgrade()
        else:
            self._check_revision()

    def _open(self, url: str, echo: bool, synchronous_commit: bool) -> None:
        if self.is_sqlite:
            self._writer = _sqlite_engine(url, immediate=True, echo=echo)
            self._reader = _sqlite_engine(url, immediate=False, echo=echo)
        else:
            self._writer = create_engine(url, echo=echo, pool_size=10, pool_recycle=3600)
            # reads are single statements or lazily loaded histories cut at the row's
            # version: they need no transaction, and skip its round trips. The hot path
            # of commit is one statement too (see _commit_pg), run here as well.
            self._reader = create_engine(
                url,
                echo=echo,
                pool_size=10,
                pool_recycle=3600,
                isolation_level="AUTOCOMMIT",
                pool_reset_on_return=None,  # autocommit: no transaction to roll back
            )
            if not synchronous_commit:
                _asynchronous_commits(self._writer)
                _asynchronous_commits(self._reader)

    # -- the hot path: statements compiled once, run on the driver directly --

    def _prepare(self) -> dict[str, tuple[str, tuple[str, ...] | None]]:
        dialect = self._writer.dialect
        statements = {
            "load": select(trajectories).where(trajectories.c.id == bindparam("id")),
            "update": update(trajectories)
            .where(trajectories.c.id == bindparam("b_id"))
            .where(trajectories.c.version == bindparam("expected_version"))
            .values({c.name: bindparam(c.name) for c in trajectories.c if c.name != "id"}),
            "insert_history": insert(history).values(
                {c.name: bindparam(c.name) for c in history.c}
            ),
        }
        prepared: dict[str, tuple[str, tuple[str, ...] | None]] = {}
        for name, stmt in statements.items():
            compiled = stmt.compile(dialect=dialect)
            if dialect.positional:
                prepared[name] = (str(compiled), tuple(compiled.positiontup or ()))
            else:  # psycopg: positional parameters spare it reordering a dict per statement
                prepared[name] = _positional(str(compiled))
        if not self.is_sqlite:
            # one JSON value instead of 13 columns (5 of them JSON, each decoded on its
            # own): less work for the driver; dates come as ISO text, which _RawRow reads
            prepared["load"] = (
                "SELECT row_to_json(t) FROM cf_trajectories AS t WHERE t.id = %s",
                ("id",),
            )
        return prepared

    @staticmethod
    def _params(keys: tuple[str, ...] | None, values: dict[str, Any]) -> Any:
        if keys is None:
            return values
        return tuple(values[k] for k in keys)

    # -- schema --

    def upgrade(self) -> None:
        """Bring the schema to the newest revision (Alembic ``upgrade head``)."""
        from coachflow.migrations import upgrade

        if self.revision() != SCHEMA_REVISION:
            upgrade(self._writer)

    def _reachable(self) -> None:
        try:
            with self._reader.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:
            self.dispose()
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            raise StoreError(f"cannot open the database {self.url!r}: {reason}") from exc

    def revision(self) -> str | None:
        try:
            with self._reader.connect() as conn:
                row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
        except OperationalError:
            return None
        except Exception as exc:  # ProgrammingError on PostgreSQL: no such table
            if "alembic_version" in str(exc):
                return None
            raise
        return None if row is None else str(row[0])

    def _check_revision(self) -> None:
        found = self.revision()
        if found != SCHEMA_REVISION:
            raise StoreError(
                f"the database {self.url!r} is at schema revision {found or 'none'}, not "
                f"{SCHEMA_REVISION}; run: coachflow db upgrade"
            )

    def dispose(self) -> None:
        self._writer.dispose()
        if self._reader is not self._writer:
            self._reader.dispose()

    # -- the Store protocol --

    def create(self, trajectory: Trajectory) -> None:
        try:
            with self._writer.begin() as conn:
                conn.execute(insert(trajectories), _state_row(trajectory, self._due(trajectory)))
                conn.execute(
                    insert(history),
                    [_record_row(trajectory.id, r) for r in trajectory.history],
                )
                rows = _participant_rows(trajectory)
                if rows:
                    conn.execute(insert(participants), rows)
        except IntegrityError:
            raise TrajectoryExists(f"trajectory {trajectory.id!r} already exists") from None

    def load(self, trajectory_id: str) -> Trajectory:
        sql, keys = self._sql["load"]
        with _driver(self._reader) as cursor:  # the hot path: the pooled driver connection
            cursor.execute(sql, self._params(keys, {"id": trajectory_id}))
            row = cursor.fetchone()
        if row is None:
            raise UnknownTrajectory(f"no trajectory {trajectory_id!r}")
        if len(row) == 1:  # PostgreSQL: the row as one JSON object, decoded at once
            return self._trajectory(_RawRow(row[0]))
        return self._trajectory(_RawRow(dict(zip(_ROW_COLUMNS, row, strict=True))))

    def commit(self, trajectory: Trajectory, *, expected_version: int) -> None:
        new_records = trajectory.records_since(expected_version)
        if len(new_records) != trajectory.version - expected_version:
            raise ValueError("the new snapshot does not carry the records since the old one")
        values = _driver_state(trajectory, self._due(trajectory))
        values["expected_version"] = expected_version
        update_sql, update_keys = self._sql["update"]
        insert_sql, insert_keys = self._sql["insert_history"]
        if not any(r.kind in ("assigned", "unassigned") for r in new_records):
            if not self.is_sqlite:
                if all(r.kind in _ORDINARY for r in new_records) and self._commit_pg(
                    trajectory.id, values, new_records
                ):
                    return
            else:
                rows = [
                    self._params(insert_keys, _driver_record(trajectory.id, r)) for r in new_records
                ]
                update = self._params(update_keys, values)
                if self._commit_raw(update_sql, update, insert_sql, rows):
                    return
        with self._writer.begin() as conn:
            result = conn.exec_driver_sql(update_sql, self._params(update_keys, values))
            if result.rowcount != 1:
                current = conn.execute(
                    select(trajectories.c.version).where(trajectories.c.id == trajectory.id)
                ).scalar()
                if current is None:
                    raise UnknownTrajectory(f"no trajectory {trajectory.id!r}")
                raise VersionConflict(
                    f"trajectory {trajectory.id!r} is at version {current}, not {expected_version}",
                    trajectory_id=trajectory.id,
                    expected=expected_version,
                    actual=int(current),
                )
            rows = [
                self._params(insert_keys, _driver_record(trajectory.id, r)) for r in new_records
            ]
            if len(rows) == 1:
                conn.exec_driver_sql(insert_sql, rows[0])
            else:
                conn.exec_driver_sql(insert_sql, rows)
            if any(r.kind in ("assigned", "unassigned") for r in new_records):
                conn.execute(
                    delete(participants).where(participants.c.trajectory_id == trajectory.id)
                )
                rows = _participant_rows(trajectory)
                if rows:
                    conn.execute(insert(participants), rows)

    def _commit_raw(self, update_sql: str, update: Any, insert_sql: str, rows: list[Any]) -> bool:
        """Update the row and append the records in one transaction on the driver
        connection. False (and nothing written) when the row was not at the expected
        version: the caller then finds out why on the ordinary path."""
        conn = self._writer.raw_connection()
        try:
            cursor = conn.cursor()
            if self.is_sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(update_sql, update)
            if cursor.rowcount != 1:
                conn.rollback()
                return False
            cursor.executemany(insert_sql, rows)
            cursor.close()
            conn.commit()
            return True
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def _commit_pg(
        self, trajectory_id: str, values: dict[str, Any], records: Sequence[HistoryRecord]
    ) -> bool:
        """PostgreSQL: update the row and append the records in ONE statement (a writable
        CTE) on an autocommit connection: one round trip, and one transaction, since a
        statement outside a transaction block is its own transaction (all or nothing).
        The records are inserted only from the rows the version-checked UPDATE returned,
        so a row not at the expected version makes it write nothing; that is False, and
        the caller then finds out why on the ordinary path."""
        sql, keys = self._pg_commit_sql(len(records))
        params = [values[k] for k in keys]
        for r in records:
            record = _driver_record(trajectory_id, r)
            params.extend(record[k] for k in _RECORD_VALUES)
        with _driver(self._reader) as cursor:
            cursor.execute(sql, params)
            written = cursor.rowcount
        if written == len(records):
            return True
        if written == 0:
            return False
        raise StoreError(f"trajectory {trajectory_id!r}: {written} of {len(records)} records")

    def _pg_commit_sql(self, count: int) -> tuple[str, tuple[str, ...]]:
        found = self._pg_commits.get(count)
        if found is None:
            found = self._pg_commits[count] = _pg_commit_statement(count)
        return found

    def ids(self) -> Iterator[str]:
        with self._reader.connect() as conn:
            found = list(
                conn.execute(select(trajectories.c.id).order_by(trajectories.c.id)).scalars()
            )
        return iter(found)

    def with_participant(self, person: str) -> Iterator[Trajectory]:
        query = (
            select(trajectories)
            .join(_person_ids(person), trajectories.c.id == literal_column("p_ids.trajectory_id"))
            .order_by(trajectories.c.id)
        )
        with self._reader.connect() as conn:
            rows = list(conn.execute(query))
            ids = [r.id for r in rows]
            by_id: dict[str, list[HistoryRecord]] = {i: [] for i in ids}
            for chunk in _chunks(ids, 500):
                for h in conn.execute(
                    select(history)
                    .where(history.c.trajectory_id.in_(chunk))
                    .order_by(history.c.trajectory_id, history.c.seq)
                ):
                    by_id[h.trajectory_id].append(_record(h))
        versions = {r.id: r.version for r in rows}
        for tid, records in by_id.items():  # a write between the two reads: cut it off
            del records[versions[tid] + 1 :]
        for row in rows:
            records = by_id[row.id]
            yield self._trajectory(row, lambda records=records: records)

    def find(
        self,
        *,
        definition_id: str | None = None,
        state: str | None = None,
        participant: str | None = None,
        limit: int | None = None,
    ) -> list[Trajectory]:
        """Trajectories by definition, state and/or participant (indexed queries)."""
        query = select(trajectories).order_by(trajectories.c.id)
        if definition_id is not None:
            query = query.where(trajectories.c.definition_id == definition_id)
        if state is not None:
            query = query.where(trajectories.c.state == state)
        if participant is not None:
            query = query.join(
                _person_ids(participant),
                trajectories.c.id == literal_column("p_ids.trajectory_id"),
            )
        if limit is not None:
            query = query.limit(limit)
        with self._reader.connect() as conn:
            rows = list(conn.execute(query))
        return [self._trajectory(row) for row in rows]

    def history_of(self, trajectory_id: str, upto: int | None = None) -> list[HistoryRecord]:
        """The history records of a trajectory (up to version ``upto``)."""
        query = select(history).where(history.c.trajectory_id == trajectory_id)
        if upto is not None:
            query = query.where(history.c.seq <= upto)
        with self._reader.connect() as conn:
            return [_record(r) for r in conn.execute(query.order_by(history.c.seq))]

    # -- definitions --

    def remember_definition(self, definition: Definition) -> None:
        """Record a definition version's content; refuse a changed content under an
        unchanged version (:class:`DefinitionError`)."""
        text, digest = content_hash(definition)
        for _ in range(2):  # another process may record the same version at the same time
            try:
                with self._writer.begin() as conn:
                    known = conn.execute(
                        select(definitions.c.content_hash)
                        .where(definitions.c.id == definition.id)
                        .where(definitions.c.version == definition.version)
                    ).scalar()
                    if known is None:
                        conn.execute(
                            insert(definitions).values(
                                id=definition.id,
                                version=definition.version,
                                content_hash=digest,
                                content=text,
                                recorded_at=datetime.now(UTC),
                            )
                        )
                    elif known != digest:
                        raise _changed(definition)
                return
            except IntegrityError:
                continue
        raise StoreError(f"could not record {definition.id!r} version {definition.version}")

    def stored_definitions(self) -> list[Definition]:
        """Every definition version this store has seen (also those whose files are gone)."""
        with self._reader.connect() as conn:
            rows = list(conn.execute(select(definitions.c.content)))
        return [Definition.model_validate(json.loads(r.content)) for r in rows]

    # -- helpers --

    def _due(self, trajectory: Trajectory) -> date | None:
        return self.next_due(trajectory) if self.next_due is not None else None

    def _trajectory(self, row: Any, loader: Any = None) -> Trajectory:
        from coachflow.schedule import SchoolCalendar

        tid, upto = row.id, row.version
        load = loader if loader is not None else (lambda: self.history_of(tid, upto))
        return Trajectory(
            id=tid,
            definition_id=row.definition_id,
            definition_version=row.definition_version,
            state=row.state,
            facts=decode(row.facts),
            consents=row.consents,
            participants={k: tuple(v) for k, v in row.participants.items()},
            version=row.version,
            started_at=row.started_at,
            node=stored_history(load, row.version + 1),
            start_date=row.start_date,
            counts=row.counts,
            calendar=SchoolCalendar.from_data(row.calendar) if row.calendar else None,
        )


def _changed(definition: Definition) -> DefinitionError:
    from coachflow.diagnostics import ERROR, Diagnostic

    return DefinitionError(
        [
            Diagnostic(
                "definition-changed",
                ERROR,
                f"{definition.id!r} version {definition.version} was stored earlier with a "
                "different content; a changed definition needs a new version",
                f"<{definition.id}@{definition.version}>",
                1,
                1,
            )
        ]
    )


@contextlib.contextmanager
def _driver(engine: Engine) -> Iterator[Any]:
    """A cursor of a pooled driver connection, for one statement of the hot path. The
    cursor is kept with the connection and used again: a new psycopg cursor sets up its
    adapters anew, which costs as much as a quarter of a round trip."""
    conn = engine.raw_connection()
    try:
        cursor = conn.info.get("coachflow_cursor")
        if cursor is None or cursor.connection is not conn.dbapi_connection:
            cursor = conn.info["coachflow_cursor"] = conn.cursor()
        yield cursor
    finally:
        conn.close()


class _RawRow:
    """A row read on the driver directly: JSON may be text and dates ISO strings."""

    __slots__ = ("_m",)

    def __init__(self, mapping: Mapping[str, Any]) -> None:
        self._m = mapping

    def __getattr__(self, name: str) -> Any:
        value = self._m[name]
        if isinstance(value, str):
            if name in _JSON_COLUMNS:
                return json.loads(value)
            if name in _DATE_COLUMNS:
                return date.fromisoformat(value)
            if name in _INSTANT_COLUMNS:
                return datetime.fromisoformat(value)
        return value


_ROW_COLUMNS = tuple(c.name for c in trajectories.c)  # the order "load" selects them in
_JSON_COLUMNS = frozenset(
    {"facts", "consents", "participants", "counts", "calendar", "input", "changes"}
)
_DATE_COLUMNS = frozenset({"start_date", "next_due", "on_date"})
_INSTANT_COLUMNS = frozenset({"started_at", "at"})


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} cannot be stored")


_ENCODER = json.JSONEncoder(default=_json_default, check_circular=False)


def _json(value: Any) -> str:
    """``json.dumps(encode(value))`` in one pass of the C encoder (made once: stored
    values are trees, never cycles)."""
    return _ENCODER.encode(value)


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _driver_state(t: Trajectory, next_due: date | None) -> dict[str, Any]:
    """The row of :func:`_state_row` as the driver takes it (JSON text, ISO dates and
    moments), plus ``b_id``: the hot path's parameters."""
    return {
        "id": t.id,
        "b_id": t.id,
        "definition_id": t.definition_id,
        "definition_version": t.definition_version,
        "state": t.state,
        "facts": _json(t.facts),
        "consents": _json(t.consents),
        "participants": _json(t.participants),
        "counts": _json(t.counts),
        "version": t.version,
        "started_at": t.started_at.astimezone(UTC).isoformat(),
        "start_date": t.start_date.isoformat(),
        "calendar": None if t.calendar is None else _json(t.calendar.as_data()),
        "next_due": _iso(next_due),
    }


def _driver_record(trajectory_id: str, r: HistoryRecord) -> dict[str, Any]:
    """The row of :func:`_record_row` as the driver takes it."""
    return {
        "trajectory_id": trajectory_id,
        "seq": r.seq,
        "at": r.at.astimezone(UTC).isoformat(),
        "actor": r.actor,
        "role": r.role,
        "kind": r.kind,
        "event": r.event,
        "source": r.source,
        "target": r.target,
        "on_date": _iso(r.on),
        "input": _json(r.input),
        "changes": _json(r.changes),
    }


def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """A ``%(name)s`` statement as a ``%s`` one, with the names in order."""
    keys = tuple(re.findall(r"%\((\w+)\)s", sql))
    return re.sub(r"%\((\w+)\)s", "%s", sql), keys


def _pg_type(column: Column[Any]) -> str:
    """The PostgreSQL type a bound value of ``column`` is cast to."""
    if column.name in _JSON_COLUMNS:
        return "json"
    if column.name in _DATE_COLUMNS:
        return "date"
    if isinstance(column.type, Integer):
        return "integer"
    return "varchar"


def _pg_commit_statement(count: int) -> tuple[str, tuple[str, ...]]:
    """One statement that moves a trajectory's row from its expected version to its new
    values and appends ``count`` history records, or does nothing at all:

        WITH moved AS (UPDATE cf_trajectories SET ... WHERE id = %s AND version = %s
                       RETURNING id)
        INSERT INTO cf_history (trajectory_id, seq, ...)
        SELECT moved.id, r.* FROM moved, (VALUES (%s, ...), ...) AS r (seq, ...)

    Its parameters: the row's values named by the keys returned, then the
    :data:`_RECORD_VALUES` of each record."""
    state = [c for c in trajectories.c if c.name in _MUTABLE]
    sets = ", ".join(f"{c.name} = CAST(%s AS {_pg_type(c)})" for c in state)
    one = "(" + ", ".join(f"CAST(%s AS {_pg_type(history.c[k])})" for k in _RECORD_VALUES) + ")"
    names = ", ".join(_RECORD_VALUES)
    # only the schema's own table and column names are spliced in; every value is bound
    sql = (
        f"WITH moved AS (UPDATE {trajectories.name} SET {sets}"  # noqa: S608
        " WHERE id = CAST(%s AS varchar) AND version = CAST(%s AS integer) RETURNING id)"
        f" INSERT INTO {history.name} (trajectory_id, {names})"
        f" SELECT moved.id, {', '.join('r.' + k for k in _RECORD_VALUES)}"
        f" FROM moved, (VALUES {', '.join([one] * count)}) AS r ({names})"
    )
    return sql, (*(c.name for c in state), "b_id", "expected_version")


_RECORD_VALUES = tuple(c.name for c in history.c if c.name != "trajectory_id")
_ORDINARY = frozenset({"event", "activity", "consent_granted", "consent_withdrawn"})
"""Kinds of change that touch only the :data:`_MUTABLE` columns of a trajectory's row
(not its participants, definition version, start or calendar)."""
_MUTABLE = frozenset({"state", "facts", "consents", "counts", "version", "next_due"})


def _person_ids(person: str) -> Any:
    """The ids of the trajectories ``person`` takes part in: the small side of the join,
    found through the participant index (a plan that stays good with stale statistics)."""
    return (
        select(participants.c.trajectory_id)
        .where(participants.c.person == person)
        .distinct()
        .subquery("p_ids")
    )


def _chunks(items: Sequence[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def _asynchronous_commits(engine: Engine) -> None:
    """PostgreSQL ``synchronous_commit = off`` on every connection: a commit returns
    before its WAL reaches the disk. Each change still is all or nothing; a crash of the
    *server* may lose the last fraction of a second of accepted changes (never half of
    one). For deployments that prefer throughput over that window."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
        dbapi_connection.commit()


def _sqlite_engine(url: str, *, immediate: bool, echo: bool) -> Engine:
    engine = create_engine(url, echo=echo, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
