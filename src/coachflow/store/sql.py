"""Persistence: :class:`SqlStore` on SQLAlchemy Core, for SQLite and PostgreSQL.

Event-sourced: an append-only table of history records plus one current-state row
per trajectory, both written in the same transaction. Each record keeps the labels of its
confidential input values (``labels``, NULL when it has none), fixed when it was written;
the access log (``cf_access_log``) is a table of its own, only ever appended to. Loading
reads the row; the history is read only when someone looks at it. Writes are checked
optimistically: the row is updated only if it is still at the version the writer read, so
two writers of the same trajectory never both succeed (the loser gets :class:`VersionConflict` and
nothing of it is written). JSON columns are written and read with the one codec of
:mod:`coachflow.store.codec`; the row's ``next_due`` (the agenda index) is what the
caller passes to ``create`` and ``commit``: the store never calls back into the engine.

``sqlite:///path`` is the embedded default (WAL journal, foreign keys on, writers take
the lock up front with ``BEGIN IMMEDIATE``); ``postgresql+psycopg://...`` is the
production one. The schema is created and upgraded by the Alembic migrations shipped
in ``coachflow/store/migrations`` (``coachflow db upgrade``).

The hot path (``load`` and ``commit``) runs on one driver connection per thread, kept
from one call to the next (no pool checkout per call; on SQLite one page cache for the
thread's reads and writes): statements compiled once, parameters bound as tuples, the
JSON of consents, counts and participants decoded once per text and not encoded again
while unchanged.

Whatever fails in the database or its driver comes out as :class:`StoreError` (one line:
the operation, the URL with its password masked, the driver's reason; the driver's
exception as ``__cause__``). A PostgreSQL connection found dead is discarded, with every
connection older than it (pooled, or of a thread), and a read is done once more on a
fresh connection.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import typing
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeAlias, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Label,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    Update,
    bindparam,
    case,
    cast,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection, DBAPICursor, DBAPIModule
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection, QueuePool
from sqlalchemy.sql import Select, Subquery

from coachflow._frozen import FrozenDict
from coachflow.definition.model import Definition, Values
from coachflow.errors import (
    StoreError,
    TrajectoryExists,
    UnknownTrajectory,
    definition_changed,
    version_conflict,
)
from coachflow.runtime.access_log import AccessEntry
from coachflow.runtime.outbox import (
    CHANGED,
    Message,
    change_key,
    change_payload,
    check_after,
    check_consumer,
    check_ids,
    check_limit,
    timer_payload,
)
from coachflow.runtime.privacy import NO_PLAN, SealPlan, seal_plan
from coachflow.runtime.trajectory import (
    NO_TIMING,
    HistoryRecord,
    LabeledInput,
    Timing,
    Trajectory,
    new_record,
    stored_history,
)
from coachflow.store.codec import (
    content_hash,
    decode,
    decode_calendar,
    decode_frozen,
    decode_labels,
    encode,
    encode_calendar,
    encode_labels,
)
from coachflow.store.port import Change, check_batch
from coachflow.store.sealing import Keys, MissingKey, Sealer

if TYPE_CHECKING:
    import sqlite3

SCHEMA_REVISION = "0007"


def _claimed(consumer: str, condition: Any) -> Any:
    """Whether ``consumer`` has a claim on the outbox row of the query that meets
    ``condition`` (an EXISTS, correlated on ``cf_outbox.id``)."""
    claims = outbox_claims.c
    where = (claims.consumer == consumer) & (claims.message_id == outbox.c.id) & condition
    return select(claims.message_id).where(where).exists()


_PG_XMIN = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
"""The oldest transaction still running, on PostgreSQL: every one below it has ended."""
CLAIM_ROUNDS = 10
"""How often one claim looks again when every message it found was claimed by a concurrent
claim of the same consumer first (each round, those are no longer found)."""
_T = TypeVar("_T")

DriverRow: TypeAlias = Any
"""A row as a driver or SQLAlchemy gives it: its columns are what the driver decoded."""


class Columns(Protocol):
    """A row's columns by name, as the driver or SQLAlchemy gives them (JSON as text or
    decoded, dates and moments as objects or ISO text)."""

    def __getitem__(self, name: str, /) -> DriverRow: ...


SqlValue: TypeAlias = str | int | None
"""A bound parameter of the hot path's statements: JSON and dates go as text."""
Params: TypeAlias = Sequence[SqlValue]
"""One statement's parameters, in the order of its placeholders."""
SchemaDiff: TypeAlias = Any
"""A difference as Alembic's ``compare_metadata`` gives it (a tuple, or a list of them)."""


class Instant(TypeDecorator[datetime]):
    """A timezone-aware moment, stored as UTC ISO text (exact on every backend)."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime cannot be stored")
        return value.astimezone(UTC).isoformat()

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
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
    Column("timing", JSON(none_as_null=True), nullable=True),
    # the timers the worker handled and the suspensions (Trajectory.timing); NULL: none
    Column("next_timer", Date, nullable=True),
    # the first day a timer is due: the worker's index (Store.due)
    Index("ix_cf_trajectories_definition", "definition_id", "definition_version"),
    Index("ix_cf_trajectories_state", "definition_id", "state"),
    Index("ix_cf_trajectories_next_due", "next_due"),
    # partial: a trajectory without a timer costs the hot path no index entry (0005)
    Index(
        "ix_cf_trajectories_next_timer",
        "next_timer",
        sqlite_where=sql_text("next_timer IS NOT NULL"),
        postgresql_where=sql_text("next_timer IS NOT NULL"),
    ),
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
    Column("labels", JSON(none_as_null=True), nullable=True),
    # the labels of the record's confidential input values (codec.encode_labels), fixed
    # when it was written; NULL: it has none
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

access_entries = Table(
    "cf_access_log",
    metadata,
    # append-only: coachflow inserts rows and never updates or deletes one
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column(
        "trajectory_id",
        String(200),
        ForeignKey("cf_trajectories.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("seq", Integer, nullable=False),
    Column("field", String(200), nullable=False),
    Column("viewer", String(200), nullable=False),
    Column("at", Instant, nullable=False),
    Column("basis", String(200), nullable=False),
    Index("ix_cf_access_log_trajectory", "trajectory_id"),
)
"""The access log (:class:`AccessEntry`), in the order of ``id``."""

definitions = Table(
    "cf_definitions",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("content_hash", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Column("recorded_at", Instant, nullable=False),
)

outbox = Table(
    "cf_outbox",
    metadata,
    # written with the history record it tells of, in the same transaction; never changed
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column(
        "trajectory_id",
        String(200),
        ForeignKey("cf_trajectories.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("seq", Integer, nullable=True),
    # NULL topic: a trajectory.changed message, whose key, payload and moment are read
    # from its history record (trajectory_id, seq), so that it costs a row of two values
    Column("topic", String(100), nullable=True),
    Column("payload", JSON(none_as_null=True), nullable=True),
    Column("created_at", Instant, nullable=True),
    Column("item", String(300), nullable=True),
    # a notice of a timer record: the timer's key, unique in its trajectory (NULL for a
    # trajectory.changed message, which the partial index leaves out: revision 0005)
    Index(
        "ux_cf_outbox_item",
        "trajectory_id",
        "item",
        unique=True,
        sqlite_where=sql_text("item IS NOT NULL"),
        postgresql_where=sql_text("item IS NOT NULL"),
    ),
    # on PostgreSQL the id of the transaction that wrote it (the column's default, revision
    # 0006), which a claim reads from its consumer's settled point on; NULL on SQLite
    Column("tx", BigInteger, nullable=True),
    Index(
        "ix_cf_outbox_tx",
        "tx",
        "id",
        sqlite_where=sql_text("tx IS NOT NULL"),
        postgresql_where=sql_text("tx IS NOT NULL"),
    ),
)
"""The outbox (:class:`~coachflow.runtime.outbox.Message`), in the order of ``id``: a
``trajectory.changed`` message is the row ``(id, trajectory_id, seq)`` of its record (its
key is unique because the record's ``(trajectory_id, seq)`` is)."""

outbox_claims = Table(
    "cf_outbox_claims",
    metadata,
    Column("consumer", String(200), primary_key=True),
    Column(
        "message_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("cf_outbox.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("claimed_until", Instant, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("acked_at", Instant, nullable=True),
)
"""Each consumer's claims and acknowledgements of outbox messages."""

outbox_consumers = Table(
    "cf_outbox_consumers",
    metadata,
    Column("consumer", String(200), primary_key=True),
    Column("settled", BigInteger, nullable=False),
)
"""Per consumer, the point below which it acknowledged every message: on PostgreSQL a
``cf_outbox.tx`` below which no transaction is still running, on SQLite (whose writers
take turns, so messages commit in the order of their ids) a message id."""

key_rows = Table(
    "cf_keys",
    metadata,
    Column("trajectory_id", String(200), primary_key=True),
    Column("class", String(20), primary_key=True),
    Column("key", LargeBinary, nullable=True),
    Column("created_at", Instant, nullable=False),
    Column("erased_at", Instant, nullable=True),
)
"""The AES-GCM key of each (trajectory, class of values): ``key`` NULL once the class was
erased (the row stays, so no new key is made for it). In the trajectories' database, or
in a database of its own (``SqlStore(url, keys_url=...)``): see :mod:`.sealing`."""

_ROW = tuple(
    cast(c, Text).label(c.name) if c.name in ("calendar", "timing") else c for c in trajectories.c
)
"""The columns of a trajectory's row as every read selects them: the calendar as its JSON
text (whatever the driver does with JSON), so that the codec decodes each text once."""
_ROW_COLUMNS = tuple(c.name for c in trajectories.c)  # the order "load" selects them in


def _keys_column() -> Label[str]:
    """The key rows of the row's trajectory as one text, ``class=hex class=`` (an erased
    key as nothing after ``=``; NULL: no key rows), for SQLite's load: the keys are read in
    the same statement as the row, and at every load (see :mod:`.sealing`). PostgreSQL's
    hand-written load has the same subquery as :data:`_PG_KEYS`."""
    k = key_rows.alias("k")
    pair = (
        k.c["class"]
        .concat(literal_column("'='"))
        .concat(func.coalesce(func.hex(k.c.key), literal_column("''")))
    )
    joined = func.group_concat(pair, literal_column("' '"))
    return (
        select(joined).where(k.c.trajectory_id == trajectories.c.id).scalar_subquery().label("keys")
    )


_NO_KEYS: Keys = {}
"""A trajectory without key rows (never changed: see :meth:`SqlStore._row_keys`)."""
_PARSED = 10_000
_PG_KEYS = (  # only the key table's own name is spliced in
    "SELECT string_agg(k.\"class\" || '=' || coalesce(encode(k.key, 'hex'), ''), ' ')"  # noqa: S608
    f" FROM {key_rows.name} AS k WHERE k.trajectory_id = t.id"
)
""":func:`_keys_column` in the hand-written load of PostgreSQL."""
_HISTORY = tuple(cast(c, Text).label(c.name) if c.name == "labels" else c for c in history.c)
"""The columns of a history record as every read selects them: the labels as their JSON
text, so that the codec decodes each text once (a transition's records share one)."""
_VERSION = _ROW_COLUMNS.index("version")


# --- rows <-> objects ------------------------------------------------------------------------
#
# Written: every statement of a trajectory's row or history binds the values of
# _mutable_values/_state_values, or _mutable_row/_record_row in the order of the
# placeholders (JSON as the codec's text, dates and moments as ISO text), whichever path
# runs it. Read: _trajectory/_from_columns and _record take the columns as the driver or
# SQLAlchemy gives them, and decode JSON with the codec.


def _record(row: Columns) -> HistoryRecord:
    """A history record from its row (``at`` a moment, ``on_date`` a date)."""
    inp = decode(row["input"])
    if row["kind"] in ("started", "migrated"):
        inp["participants"] = MappingProxyType(dict(inp.get("participants", {})))
        inp["consents"] = MappingProxyType(inp.get("consents", {}))
    labels = row["labels"]
    return new_record(
        row["seq"],
        row["at"],
        row["actor"],
        row["role"],
        row["kind"],
        row["event"],
        row["source"],
        row["target"],
        MappingProxyType(inp) if labels is None else LabeledInput(inp, decode_labels(labels)),
        MappingProxyType(decode(row["changes"])),
        row["on_date"],
    )


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _instant(value: datetime) -> str:
    """A moment as stored: UTC ISO text (what :class:`Instant` binds)."""
    if value.tzinfo is None:
        raise ValueError("a naive datetime cannot be stored")
    return value.astimezone(UTC).isoformat()


def _mutable_values(
    t: Trajectory, next_due: date | None, next_timer: date | None, facts: Values
) -> dict[str, SqlValue]:
    """The :data:`_MUTABLE` columns of a trajectory's row, as the statements bind them:
    all that a commit of :data:`_ORDINARY` records changes (``facts`` as stored)."""
    return {
        "state": t.state,
        "facts": encode(facts),
        "consents": encode(t.consents),
        "counts": encode(t.counts),
        "version": t.version,
        "next_due": _iso(next_due),
        "next_timer": _iso(next_timer),
    }


def _state_values(
    t: Trajectory, next_due: date | None, next_timer: date | None, facts: Values
) -> dict[str, SqlValue]:
    """Every column of a trajectory's row, as the statements bind them."""
    values = _mutable_values(t, next_due, next_timer, facts)
    values["id"] = t.id
    values["definition_id"] = t.definition_id
    values["definition_version"] = t.definition_version
    values["participants"] = encode(t.participants)
    values["started_at"] = _instant(t.started_at)
    values["start_date"] = t.start_date.isoformat()
    values["calendar"] = encode_calendar(t.calendar)
    values["timing"] = _encode_timing(t.timing)
    return values


def _encode_timing(timing: Timing) -> str | None:
    if timing == NO_TIMING:
        return None
    return encode(
        {
            "handled": sorted(timing.handled),
            "pauses": [[a.isoformat(), _iso(b)] for a, b in timing.pauses],
        }
    )


def _decode_timing(value: DriverRow) -> Timing:
    if value is None:
        return NO_TIMING
    data = decode(value) if isinstance(value, str) else value
    if data is None:
        return NO_TIMING
    return Timing(
        frozenset(str(k) for k in data["handled"]),
        tuple(
            (date.fromisoformat(a), None if b is None else date.fromisoformat(b))
            for a, b in data["pauses"]
        ),
    )


def _mutable_row(
    t: Trajectory,
    next_due: date | None,
    next_timer: date | None,
    expected_version: int,
    facts: Values,
) -> Params:
    """The parameters of the hot path's update (:data:`_MUTABLE_ROW`): what
    :func:`_mutable_values` binds, then the row's id and expected version, in the order of
    the placeholders (no dictionary in between)."""
    return (
        t.state,
        encode(facts),
        encode(t.consents),
        encode(t.counts),
        t.version,
        None if next_due is None else next_due.isoformat(),
        None if next_timer is None else next_timer.isoformat(),
        t.id,
        expected_version,
    )


def _record_row(trajectory_id: str, r: HistoryRecord) -> Params:
    """The row of a history record, as the statements bind it (:data:`_RECORD_ROW`)."""
    on = r.on
    given = r.input
    labels = given.labels if isinstance(given, LabeledInput) else None
    return (
        trajectory_id,
        r.seq,
        _instant(r.at),
        r.actor,
        r.role,
        r.kind,
        r.event,
        r.source,
        r.target,
        None if on is None else on.isoformat(),
        encode(given),
        encode(r.changes),
        encode_labels(labels) if labels else None,
    )


def _participant_rows(t: Trajectory) -> list[dict[str, str]]:
    return [
        {"trajectory_id": t.id, "role": role, "person": person}
        for role, people in t.participants.items()
        for person in people
    ]


class SqlStore:
    """Trajectories in a SQL database (SQLite or PostgreSQL), through SQLAlchemy Core.

    ``upgrade=True`` (the default) creates or upgrades the schema with the shipped
    Alembic migrations when the database is not at the newest revision; ``upgrade=False``
    refuses a database that is not (:class:`StoreError`, naming ``coachflow db upgrade``).
    A database whose revision this release does not know (written by a newer coachflow)
    and coachflow tables without a revision are refused either way.
    ``check=True`` (SQLite) also runs ``PRAGMA quick_check`` when the file is opened and
    refuses a damaged one before anything is written; the command line does so.
    ``require_schema=False`` opens the database whatever its schema, for inspecting it
    (:meth:`schema_status`, :meth:`check`).
    ``synchronous_commit=False`` (PostgreSQL) trades the durability of the last moment
    before a server crash for throughput; see :func:`_asynchronous_commits`.

    Every failure of the database or its driver is raised as :class:`StoreError` (the
    driver's exception is its ``__cause__``); its message shows the URL with the password
    masked (:attr:`shown`) and never a row's data. A connection found dead (the server
    restarted) is discarded with every connection older than it, and a read is done once
    more on a fresh one; a commit is not repeated, its :class:`StoreError` says the
    connection was lost.

    Each thread that loads or commits keeps a driver connection of its own for that (see
    :class:`_Own`), closed when the thread ends or by :meth:`dispose`: on PostgreSQL, one
    server connection per such thread besides the pools.

    The object remembers the definition versions it recorded or read, so that recording
    one again costs no query, and decodes each stored definition once.
    """

    def __init__(
        self,
        url: str,
        *,
        upgrade: bool = True,
        echo: bool = False,
        synchronous_commit: bool = True,
        check: bool = False,
        require_schema: bool = True,
        keys_url: str | None = None,
    ) -> None:
        self.url = url
        self.shown = masked_url(url)
        """The URL as messages show it: the password replaced by ``***``."""
        self._secret = _password(url)
        self.is_sqlite = url.startswith("sqlite")
        readable_url(url)
        if keys_url is not None:
            readable_url(keys_url)  # its reason would be scrubbed of the main URL's password only
        try:
            self._open(url, echo, synchronous_commit)
        except (ImportError, ArgumentError, ValueError) as exc:
            raise StoreError(
                f"cannot use the database URL {self.shown!r}: {self._reason(exc)}"
            ) from exc
        self._errors: tuple[type[Exception], ...] = (
            SQLAlchemyError,
            self._writer.dialect.loaded_dbapi.Error,
        )
        self._keys_url = keys_url
        self._keys_in_row = keys_url is None
        """Whether a load reads the trajectory's keys with its row (one statement): when
        they are in this database."""
        self._parsed: dict[str, Keys] = {}
        """The keys of each key text a load read lately (see :meth:`_row_keys`)."""
        self._sql = self._prepare()
        self._load_sql = self._sql["load"][0]
        self._update_mutable_sql = self._sql["update_mutable"][0]
        self._insert_history_sql = self._sql["insert_history"][0]
        self._insert_outbox_sql = self._sql["insert_outbox"][0]
        self._hot = self._writer if self.is_sqlite else self._reader
        """The engine whose connections the hot path takes, one per thread: on SQLite the
        writer's (a commit is a transaction), on PostgreSQL the reader's (autocommit)."""
        self._local = self._slot()
        self._owned: weakref.WeakSet[_Own] = weakref.WeakSet()
        self._owned_lock = threading.Lock()
        self._pg_commits: dict[int, str] = {}
        self._recorded: dict[tuple[str, int], str] = {}
        """The content hash of every definition version this object recorded or saw in
        the database: rows of cf_definitions are never changed, nor deleted by coachflow
        (a statement of this object's own engines that deletes them empties it)."""
        self._hashed: dict[tuple[str, int], tuple[Definition, str, str]] = {}
        """The last definition object of each version hashed here, its text and hash."""
        self._decoded: dict[str, Definition] = {}
        """Every stored definition decoded here, by content hash."""
        self._plans: dict[tuple[str, int], SealPlan] = {}
        """The seal plan of each definition version (which values are sealed)."""
        self.keys_shown = masked_url(keys_url) if keys_url else None
        """The key database's URL as messages show it, or None: the same database."""
        try:
            key_engine = self._writer if keys_url is None else self._key_engine(keys_url, echo)
        except (ImportError, ArgumentError, ValueError) as exc:
            self.dispose()
            raise StoreError(
                f"cannot use the key database URL {self.keys_shown!r}: {self._reason(exc)}"
            ) from exc
        self._sealer = Sealer(
            key_engine,
            key_rows,
            sqlite=key_engine.dialect.name == "sqlite",
            read=self._read_keys if keys_url is None else None,
        )
        for engine in {self._writer, self._reader}:
            event.listen(engine, "before_cursor_execute", self._on_statement)
        try:
            self._reachable()
            if check and self.is_sqlite:
                self._quick_check()
            if require_schema:
                self._require_schema(upgrade)
        except BaseException:
            self.dispose()
            raise

    def _create_engine(self, url: str, **options: Any) -> Engine:
        """A SQLAlchemy engine for ``url``: every engine of the store is made here, so that
        :class:`~coachflow.store.aio.AsyncSqlStore` can make the asyncio driver's instead."""
        return create_engine(url, **options)

    def _slot(self) -> Any:
        """Where the caller's own driver connection of the hot path is kept (attribute
        ``own``): per thread here; per task for the asyncio store."""
        return threading.local()

    def _open(self, url: str, echo: bool, synchronous_commit: bool) -> None:
        if self.is_sqlite:
            self._writer = _sqlite_engine(self._create_engine, url, immediate=True, echo=echo)
            self._reader = _sqlite_engine(self._create_engine, url, immediate=False, echo=echo)
        else:
            # the writer runs transactions of several statements (start, assignments,
            # migrations, definitions): one more round trip to test a pooled connection
            # before each is small there, and after a server restart they find a live one
            self._writer = self._create_engine(
                url, echo=echo, pool_size=10, pool_recycle=3600, pool_pre_ping=True
            )
            # reads are single statements or lazily loaded histories cut at the row's
            # version: they need no transaction, and skip its round trips. The hot path
            # of commit is one statement too (see _commit_pg), run here as well.
            self._reader = self._create_engine(
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

    def _prepare(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """The statements of the hot path and of create, compiled once: each with the
        names of its parameters in the order of its placeholders."""
        dialect = self._writer.dialect

        def updating(columns: Iterable[Column[_T]]) -> Update:
            return (
                update(trajectories)
                .where(trajectories.c.id == bindparam("b_id"))
                .where(trajectories.c.version == bindparam("expected_version"))
                .values({c.name: bindparam(c.name) for c in columns})
            )

        load = select(*_ROW).where(trajectories.c.id == bindparam("id"))
        if self._keys_in_row and self.is_sqlite:  # PostgreSQL's load: below
            load = load.add_columns(_keys_column())
        statements = {
            "load": load,
            "insert": insert(trajectories).values(
                {c.name: bindparam(c.name) for c in trajectories.c}
            ),
            "update": updating(c for c in trajectories.c if c.name != "id"),
            "update_mutable": updating(c for c in trajectories.c if c.name in _MUTABLE),
            "update_timed": updating(
                c for c in trajectories.c if c.name in _MUTABLE or c.name == "timing"
            ),
            "insert_history": insert(history).values(
                {c.name: bindparam(c.name) for c in history.c}
            ),
            "insert_outbox": insert(outbox).values({k: bindparam(k) for k in _OUTBOX_ROW}),
            "insert_notice": insert(outbox).values({k: bindparam(k) for k in _NOTICE_ROW}),
            "keys": select(key_rows.c["class"], key_rows.c.key).where(
                key_rows.c.trajectory_id == bindparam("trajectory_id")
            ),
        }
        prepared: dict[str, tuple[str, tuple[str, ...]]] = {}
        for name, stmt in statements.items():
            compiled = stmt.compile(dialect=dialect)
            if dialect.positional:
                prepared[name] = (str(compiled), tuple(compiled.positiontup or ()))
            else:  # psycopg: positional parameters spare it reordering a dict per statement
                prepared[name] = _positional(str(compiled))
        for name, keys in (
            ("update_mutable", _MUTABLE_ROW),
            ("insert_history", _RECORD_ROW),
            ("insert_outbox", _OUTBOX_ROW),
            ("insert_notice", _NOTICE_ROW),
            ("load", ("id",)),
        ):
            if prepared[name][1] != keys:  # _mutable_row and _record_row bind in this order
                raise RuntimeError(f"the statement {name!r} binds {prepared[name][1]}")
        if not self.is_sqlite:
            # one JSON value instead of 13 columns (5 of them JSON, each decoded on its
            # own): less work for the driver; dates come as ISO text, which _trajectory
            # reads, and the calendar, consents, counts and participants as their JSON
            # text, which the codec decodes once per text (they seldom change)
            columns = ", ".join(
                f"CAST(t.{c.name} AS TEXT) AS {c.name}" if c.name in _AS_TEXT else f"t.{c.name}"
                for c in trajectories.c
            )
            if self._keys_in_row:
                columns += f", ({_PG_KEYS}) AS keys"
            prepared["load"] = (
                # only the schema's own table and column names are spliced in
                f"SELECT row_to_json(r) FROM (SELECT {columns} FROM {trajectories.name} AS t"  # noqa: S608
                " WHERE t.id = %s) AS r",
                ("id",),
            )
        return prepared

    @staticmethod
    def _params(keys: tuple[str, ...], values: Mapping[str, SqlValue]) -> tuple[SqlValue, ...]:
        return tuple(values[k] for k in keys)

    # -- failures --

    def _reason(self, exc: BaseException) -> str:
        """The driver's reason for ``exc``, in one line, without the password or values."""
        return _reason(exc, self._secret)

    def _failed(self, doing: str, exc: BaseException, *, lost: bool = False) -> StoreError:
        """The :class:`StoreError` of ``exc``, raised while doing ``doing`` ('read', ...)."""
        reason = self._reason(exc)
        if self.is_sqlite:
            reason += _sqlite_hint(self.url, exc)
        if lost:
            reason += (
                " (the connection was lost during the commit: the change may or may not be"
                " stored; reload the trajectory before trying again)"
            )
        return StoreError(f"cannot {doing} the database {self.shown!r}: {reason}")

    def _lost(self, own: _Own, exc: Exception) -> bool:
        """Whether ``exc`` says the driver connection of ``own`` is dead. If so, every
        connection opened before now is replaced before it is used again, of both engines
        and of every thread: the server they talk to went away."""
        error = typing.cast("DBAPIModule.Error", exc)  # or SQLAlchemy's: the dialect reads both
        try:
            lost = bool(self._writer.dialect.is_disconnect(error, own.dbapi, own.cursor))
        except Exception:  # the dialect could not tell: as if it were not
            lost = False
        if lost:
            self._forget_connections()
        return lost

    def _was_lost(self, exc: BaseException) -> bool:
        """After an error of a SQLAlchemy connection: whether it found its connection dead
        (SQLAlchemy then discarded it and its pool's older ones; the other engine's go too)."""
        lost = bool(getattr(exc, "connection_invalidated", False))
        if lost:
            self._forget_connections()
        return lost

    def _forget_connections(self) -> None:
        """Every pooled connection opened before now is replaced at its next checkout: what
        SQLAlchemy does to an engine's pool when a statement finds its connection dead."""
        now = time.time()
        for engine in (self._reader, self._writer):
            engine.pool._invalidate_time = max(engine.pool._invalidate_time, now)

    def _read(self, read: Callable[[Connection], _T]) -> _T:
        """``read(connection)`` on a reader connection; done once more on a fresh connection
        when the first was found dead."""
        for attempt in (1, 2):
            try:
                with self._reader.connect() as conn:
                    return read(conn)
            except self._errors as exc:
                if attempt == 2 or not self._was_lost(exc):
                    raise self._failed("read", exc) from exc
        raise AssertionError("unreachable")

    def _own(self, doing: str) -> _Own:
        """This thread's driver connection of the hot path (load and commit), opened on first
        use: no pool checkout per call, its statements and cursor kept, and on SQLite one
        page cache for the reads and the writes (a reader connection's would be thrown away
        after each commit of the writer's). Replaced when its engine was disposed or its
        connections were forgotten since it was opened, and when it is older than the
        pool's ``pool_recycle`` (PostgreSQL: an hour), as a pooled one would be."""
        own: _Own | None = getattr(self._local, "own", None)
        pool = self._hot.pool
        if (
            own is None
            or own.pool is not pool
            or own.opened <= pool._invalidate_time
            or (pool._recycle >= 0 and time.time() - own.opened > pool._recycle)
        ):
            own = self._open_own(own, doing)
        return own

    def _open_own(self, old: _Own | None, doing: str) -> _Own:
        if old is not None:
            old.close()
        try:
            own = _Own(self._hot)
        except self._errors as exc:
            raise self._failed(doing, exc) from exc
        self._local.own = own
        with self._owned_lock:
            self._owned.add(own)
        return own

    def _drop_own(self, own: _Own) -> None:
        """Close ``own`` after an error on it: the thread opens a new one when it needs it."""
        own.close()
        if getattr(self._local, "own", None) is own:
            del self._local.own

    def _fetch_all(self, sql: str, params: Params) -> list[DriverRow]:
        """Every row of one statement on this thread's driver connection (the hot path);
        a connection found dead is replaced and the read done once more."""
        for attempt in (1, 2):
            own = self._own("read")
            try:
                cursor = own.cursor
                cursor.execute(sql, params)
                return list(cursor.fetchall())
            except self._errors as exc:
                lost = self._lost(own, exc)
                self._drop_own(own)
                if attempt == 2 or not lost:
                    raise self._failed("read", exc) from exc
            except BaseException:
                self._drop_own(own)
                raise
        raise AssertionError("unreachable")

    def _read_keys(self, trajectory_id: str) -> list[tuple[str, bytes | None]]:
        """The key rows of a trajectory, on the hot path (the keys in this database)."""
        rows = self._fetch_all(self._sql["keys"][0], (trajectory_id,))
        return [(str(c), None if k is None else bytes(k)) for c, k in rows]

    def _fetch(self, sql: str, params: Params) -> DriverRow:
        """The first row of one statement on this thread's driver connection (the hot
        path); a connection found dead is replaced and the read done once more."""
        for attempt in (1, 2):
            own = self._own("read")
            try:
                cursor = own.cursor
                cursor.execute(sql, params)
                return cursor.fetchone()  # the statement ends: SQLite's read snapshot too
            except self._errors as exc:
                lost = self._lost(own, exc)
                self._drop_own(own)
                if attempt == 2 or not lost:
                    raise self._failed("read", exc) from exc
            except BaseException:  # interrupted: the connection may be mid-statement
                self._drop_own(own)
                raise
        raise AssertionError("unreachable")

    # -- schema --

    def revision(self) -> str | None:
        """The schema revision the database records (``alembic_version``); None if none."""

        def read(conn: Connection) -> str | None:
            try:
                row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
            except self._errors as exc:
                if getattr(exc, "connection_invalidated", False):
                    raise
                if sa_inspect(conn).has_table("alembic_version"):
                    raise
                return None
            return None if row is None else str(row[0])

        return self._read(read)

    def schema_status(self) -> str:
        """``"newest"`` (the schema this release needs), ``"older"`` (run ``coachflow db
        upgrade``) or ``"none"`` (no schema yet). A revision this release does not know (a
        newer coachflow's) or coachflow tables without one raise :class:`StoreError`."""
        found = self.revision()
        if found == SCHEMA_REVISION:
            return "newest"
        self._refuse_unknown(found)
        return "none" if found is None else "older"

    def upgrade(self) -> None:
        """Bring the schema to the newest revision (Alembic ``upgrade head``)."""
        self._require_schema(upgrade=True)

    def _require_schema(self, upgrade: bool) -> None:
        found = self.revision()
        if found == SCHEMA_REVISION:
            return
        self._refuse_unknown(found)
        if upgrade:
            self._migrate()
            return
        raise StoreError(
            f"the database {self.shown!r} is at schema revision {found or 'none'}, not "
            f"{SCHEMA_REVISION}; run: coachflow db upgrade"
        )

    def _refuse_unknown(self, found: str | None) -> None:
        """A :class:`StoreError` for a revision this release does not know, and for
        coachflow tables without a revision: neither may be upgraded (nor written)."""
        if found is None:
            names = self._read(lambda conn: set(sa_inspect(conn).get_table_names()))
            if names & set(metadata.tables):
                raise StoreError(
                    f"the database {self.shown!r} has coachflow tables but no schema revision "
                    "(alembic_version); it was not made by coachflow db upgrade"
                )
            return
        from coachflow.store.migrations import revisions

        if found not in revisions():
            raise StoreError(
                f"the database {self.shown!r} was created by a newer coachflow: its schema "
                f"is at revision {found}, which this coachflow does not know (its newest is "
                f"{SCHEMA_REVISION}); use a newer coachflow"
            )

    def _migrate(self) -> None:
        from alembic.util import CommandError

        from coachflow.store.migrations import upgrade

        failures: tuple[type[BaseException], ...] = (*self._errors, CommandError)
        try:
            upgrade(self._writer)
        except failures as exc:
            if self.revision() == SCHEMA_REVISION:
                return  # another process upgraded it at the same time
            raise self._failed("upgrade", exc) from exc

    def _reachable(self) -> None:
        try:
            with self._reader.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except self._errors as exc:
            raise self._failed("open", exc) from exc

    def _quick_check(self) -> None:
        """Refuse a damaged SQLite file before anything is written to it."""
        try:
            found = self._pragma("quick_check")
        except StoreError as exc:
            if not _is_corrupt(exc.__cause__):
                raise
            found = [self._reason(exc.__cause__ or exc)]
        if found != ["ok"]:
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            raise StoreError(
                f"the database {self.shown!r} is damaged: {_one_line(found[0])}{more}; "
                "nothing was written (coachflow db check lists the problems)"
            )

    def _pragma(self, name: str) -> list[str]:
        """The rows of an SQLite ``PRAGMA name`` as text (the first column of each)."""
        return self._read(lambda conn: [str(r[0]) for r in conn.exec_driver_sql(f"PRAGMA {name}")])

    def check(self) -> StoreCheck:
        """An operator's check of the database: the schema revision, the tables, columns
        and indexes against this release's schema, ``PRAGMA integrity_check`` (SQLite), and
        every trajectory's history: numbered from 0 without gaps, its last record at the
        row's version, its replay equal to the row, the participants table equal to the
        row's participants. One line per problem (no row data: ids, names and versions
        only). A schema this release does not know raises :class:`StoreError`."""
        found = self.revision()
        if found != SCHEMA_REVISION:
            self._refuse_unknown(found)
            problem = (
                "the database has no schema"
                if found is None
                else f"the schema is at revision {found}, older than {SCHEMA_REVISION}"
            )
            return StoreCheck(found, 0, [f"{problem}; run: coachflow db upgrade"])
        problems: list[str] = []
        count = 0
        parts = ("integrity_check", "foreign_key_check") if self.is_sqlite else ()
        for part in (*parts, "schema", "histories"):
            try:
                if part == "integrity_check":
                    problems.extend(f"{part}: {line}" for line in self._integrity_problems())
                elif part == "foreign_key_check":
                    problems.extend(
                        f"{part}: {table} row {rowid} refers to a missing {parent} row"
                        for table, rowid, parent, _ in self._read(
                            lambda conn: list(conn.exec_driver_sql("PRAGMA foreign_key_check"))
                        )
                    )
                elif part == "schema":
                    problems.extend(f"{part}: {line}" for line in self._schema_problems())
                else:
                    count = self._history_problems(problems)
            except StoreError as exc:
                problems.append(f"{part}: {exc}")
        return StoreCheck(found, count, problems)

    def _integrity_problems(self) -> list[str]:
        """``PRAGMA integrity_check``; where it gives up on a damaged file, what
        ``PRAGMA quick_check`` finds, which often names the page."""
        try:
            found = self._pragma("integrity_check")
        except StoreError as exc:
            if not _is_corrupt(exc.__cause__):
                raise
            try:
                found = self._pragma("quick_check")
            except StoreError:
                raise exc from exc.__cause__
            if found == ["ok"]:
                raise
        return [_one_line(line) for line in found if line != "ok"]

    def _schema_problems(self) -> list[str]:
        from alembic.autogenerate import compare_metadata
        from alembic.runtime.migration import MigrationContext

        def ours(name: str | None, kind: str, parent: object) -> bool:
            return kind != "table" or name in metadata.tables

        def compare(conn: Connection) -> list[SchemaDiff]:
            options = {"compare_type": True, "include_name": ours}
            context = MigrationContext.configure(conn, opts=options)
            return list(compare_metadata(context, metadata))

        return [line for diff in self._read(compare) for line in _schema_difference(diff)]

    def _history_problems(self, problems: list[str]) -> int:
        ids = list(self.ids())
        for chunk in _chunks(ids, 500):

            def read(
                conn: Connection, chunk: list[str] = chunk
            ) -> tuple[list[DriverRow], list[DriverRow], list[DriverRow]]:
                rows = list(conn.execute(select(*_ROW).where(trajectories.c.id.in_(chunk))))
                records = list(
                    conn.execute(
                        select(*_HISTORY)
                        .where(history.c.trajectory_id.in_(chunk))
                        .order_by(history.c.trajectory_id, history.c.seq)
                    )
                )
                people = list(
                    conn.execute(
                        select(participants).where(participants.c.trajectory_id.in_(chunk))
                    )
                )
                return rows, records, people

            rows, records, people = self._snapshot(read)
            by_id: dict[str, list[DriverRow]] = {tid: [] for tid in chunk}
            for h in records:
                by_id[h.trajectory_id].append(h)
            bound: dict[str, set[tuple[str, str]]] = {tid: set() for tid in chunk}
            for p in people:
                bound[p.trajectory_id].add((p.role, p.person))
            for row in rows:
                problems.extend(self._problems_of(row, by_id[row.id], bound[row.id]))
        orphans = self._read(
            lambda conn: sorted(
                set(
                    conn.execute(
                        select(history.c.trajectory_id)
                        .where(history.c.trajectory_id.not_in(select(trajectories.c.id)))
                        .distinct()
                    ).scalars()
                )
            )
        )
        problems.extend(
            f"history records of trajectory {tid!r}, which has no row" for tid in orphans
        )
        return len(ids)

    def _snapshot(self, read: Callable[[Connection], _T]) -> _T:
        """``read(connection)`` in one snapshot of the database, so that the rows and the
        histories it reads agree while others write (SQLite: the reader's transaction;
        PostgreSQL: a repeatable-read transaction, as the reader has none)."""
        if self.is_sqlite:
            return self._read(read)
        try:
            with self._writer.connect() as conn:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    return read(conn)
        except self._errors as exc:
            raise self._failed("read", exc) from exc

    def _problems_of(
        self, row: DriverRow, stored: list[DriverRow], bound: set[tuple[str, str]]
    ) -> list[str]:
        """The problems of one trajectory's row, history records and participants rows."""
        from coachflow.runtime.trajectory import replay, timing_of

        name = f"trajectory {row.id!r}"
        try:
            keys: list[Keys] = []
            records = [_record(h._mapping) for h in stored]
            records = [self._sealer.opened_record(row.id, r, keys) for r in records]
            t = _trajectory(
                row._mapping, lambda: records, lambda i, f: self._sealer.opened(i, f, keys)
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return [f"{name}: its row or history is not one coachflow wrote ({type(exc).__name__})"]
        if not records:
            return [f"{name}: it has no history records"]
        seqs = [r.seq for r in records]
        gap = next((i for i, seq in enumerate(seqs) if seq != i), None)
        if gap is not None:
            return [
                f"{name}: its history is not numbered from 0 without gaps (record {gap} is "
                f"numbered {seqs[gap]})"
            ]
        problems = []
        if t.version != seqs[-1]:
            problems.append(
                f"{name}: its row is at version {t.version}, its last history record at {seqs[-1]}"
            )
        else:
            try:
                replayed = replay(row.id, records)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                problems.append(f"{name}: its history cannot be replayed ({type(exc).__name__})")
            else:
                mine, theirs = t.as_dict(), replayed.as_dict()
                differ = [k for k in mine if mine[k] != theirs[k]]
                if _calendar_data(t) != _calendar_data(replayed):
                    differ.append("calendar")
                if t.timing != timing_of(records):  # the worker's handled timers, pauses
                    differ.append("timing")
                if differ:
                    verb = "differs" if len(differ) == 1 else "differ"
                    problems.append(
                        f"{name}: replaying its history does not give its row "
                        f"({', '.join(differ)} {verb})"
                    )
        if bound != {(role, p) for role, people in t.participants.items() for p in people}:
            problems.append(f"{name}: the participants table does not match its row")
        return problems

    def dispose(self) -> None:
        """Close every connection: the pools' and each thread's (a thread that uses the
        store again opens new ones)."""
        with self._owned_lock:
            owned = list(self._owned)
            self._owned.clear()
        for own in owned:
            own.close()
        self._writer.dispose()
        if self._reader is not self._writer:
            self._reader.dispose()
        sealer = getattr(self, "_sealer", None)
        if sealer is not None and sealer.engine is not self._writer:
            sealer.engine.dispose()

    def _key_engine(self, url: str, echo: bool) -> Engine:
        """The engine of a key database of its own, its table made when missing."""
        engine = (
            _sqlite_engine(self._create_engine, url, immediate=True, echo=echo)
            if url.startswith("sqlite")
            else self._create_engine(url, echo=echo, pool_pre_ping=True)
        )
        try:
            key_rows.create(engine, checkfirst=True)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(
                f"cannot use the key database {masked_url(url)!r}: {self._reason(exc)}"
            ) from exc
        return engine

    def _plan(self, definition_id: str, version: int) -> SealPlan:
        """Which values of a definition version are sealed (by the version as this store
        recorded it; a version it does not know seals nothing)."""
        key = (definition_id, version)
        plan = self._plans.get(key)
        if plan is None:
            hashed = self._hashed.get(key)
            definition = hashed[0] if hashed is not None else None
            if definition is None:
                digest = self._recorded.get(key)
                definition = self._decoded.get(digest) if digest else None
            if definition is None:
                definition = next((d for d in self.stored_definitions() if d.key == key), None)
            plan = seal_plan(definition) if definition is not None else NO_PLAN
            self._plans[key] = plan
        return plan

    def _sealed(
        self, t: Trajectory, records: Sequence[HistoryRecord]
    ) -> tuple[Values, Sequence[HistoryRecord]]:
        """The facts and ``records`` of ``t`` as they are written: every value of a
        confidential or personal field or fact sealed (:mod:`.sealing`)."""
        plan = self._plan(t.definition_id, t.definition_version)
        if not plan and not any(r.labels for r in records):
            return t.facts, records
        sealer = self._sealer
        memo: dict[object, object] = {}  # a value written twice is encrypted once
        try:
            sealed = [sealer.sealed_record(t.id, r, plan, memo) for r in records]
            facts = sealer.sealed_facts(t.id, t.facts, plan, memo)
        except self._errors as exc:
            raise self._failed("write to", exc, lost=self._was_lost(exc)) from exc
        return facts, sealed

    def _opened_records(
        self, trajectory_id: str, records: list[HistoryRecord]
    ) -> list[HistoryRecord]:
        keys: list[Keys] = []
        opened = self._sealer.opened_record
        try:
            return [opened(trajectory_id, r, keys) for r in records]
        except self._errors as exc:
            raise self._failed("read", exc, lost=self._was_lost(exc)) from exc
        except ValueError as exc:
            raise self._unreadable(trajectory_id, exc) from exc

    def _row_keys(self, trajectory_id: str, text: str | None) -> Keys:
        """The keys read with a trajectory's row (see :func:`_keys_column`), kept for the
        commit that follows."""
        if not text:
            return _NO_KEYS
        keys = self._parsed.get(text)  # the text is the rows: one parse of each
        if keys is None:
            if len(self._parsed) >= _PARSED:
                self._parsed.clear()
            keys = {}
            for pair in text.split(" "):
                name, _, hexed = pair.partition("=")
                keys[name] = bytes.fromhex(hexed) if hexed else None
            self._parsed[text] = keys
        self._sealer.keep(trajectory_id, keys)
        return keys

    def _open_facts(self, trajectory_id: str, facts: Values, keys: Keys | None = None) -> Values:
        """``facts`` opened, with ``keys`` when they were read with the row (else the
        keys are read when a sealed value is met)."""
        try:
            opened: Values = self._sealer.opened(
                trajectory_id, facts, [] if keys is None else [keys], owned=True
            )
        except self._errors as exc:
            raise self._failed("read", exc, lost=self._was_lost(exc)) from exc
        return opened

    def erase_values(self, trajectory_id: str, classes: Sequence[str]) -> int:
        """Delete the keys of ``classes`` of a trajectory: from then on each of their
        values reads as ERASED, for every process (and a value of those classes written
        later is stored as erased). How many keys were deleted now (0 when they were
        already, or when the trajectory never held a value of them)."""
        try:
            return self._sealer.erase(trajectory_id, classes)
        except self._errors as exc:
            raise self._failed("write to", exc, lost=self._was_lost(exc)) from exc

    # -- the Store protocol --

    def create(
        self,
        trajectory: Trajectory,
        *,
        next_due: date | None = None,
        next_timer: date | None = None,
    ) -> None:
        """Keep a new trajectory: its row (``next_due`` in its agenda index, ``next_timer``
        in the worker's), its history and its participants, in one transaction;
        :class:`TrajectoryExists` when the id is taken, and then nothing is written."""
        insert_sql, insert_keys = self._sql["insert"]
        history_sql = self._insert_history_sql
        facts, sealed = self._sealed(trajectory, trajectory.history)
        row = self._params(insert_keys, _state_values(trajectory, next_due, next_timer, facts))
        records = [_record_row(trajectory.id, r) for r in sealed]
        try:
            with self._writer.begin() as conn:
                conn.exec_driver_sql(insert_sql, row)
                _insert_records(conn, history_sql, records)
                _insert_records(conn, self._insert_outbox_sql, _outbox_rows(records))
                people = _participant_rows(trajectory)
                if people:
                    conn.execute(insert(participants), people)
        except IntegrityError:
            raise TrajectoryExists(f"trajectory {trajectory.id!r} already exists") from None
        except self._errors as exc:
            raise self._failed("write to", exc, lost=self._was_lost(exc)) from exc

    def load(self, trajectory_id: str) -> Trajectory:
        """The newest snapshot, in one read of its row (the history is read when it is
        looked at); :class:`UnknownTrajectory` when there is none."""
        row = self._fetch(self._load_sql, (trajectory_id,))
        if row is None:
            raise UnknownTrajectory(f"no trajectory {trajectory_id!r}")
        try:
            if len(row) == 1:  # PostgreSQL: the row as one JSON object, decoded at once
                columns = row[0]
                if self._keys_in_row:
                    return self._stored(columns, self._row_keys(trajectory_id, columns["keys"]))
                return self._stored(columns)
            if self._keys_in_row:
                return self._stored_row(row[:-1], self._row_keys(trajectory_id, row[-1]))
            return self._stored_row(row)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise self._unreadable(trajectory_id, exc) from exc

    def _unreadable(self, trajectory_id: str, exc: BaseException) -> StoreError:
        if isinstance(exc, MissingKey):
            return StoreError(
                f"cannot read trajectory {trajectory_id!r} of the database {self.shown!r}: {exc}"
            )
        return StoreError(
            f"cannot read the database {self.shown!r}: the row of trajectory "
            f"{trajectory_id!r} is not one coachflow wrote ({type(exc).__name__})"
        )

    def commit(
        self,
        trajectory: Trajectory,
        *,
        expected_version: int,
        next_due: date | None = None,
        next_timer: date | None = None,
    ) -> None:
        """Replace the row at ``expected_version`` by ``trajectory`` (``next_due`` in its
        agenda index, ``next_timer`` in the worker's) and append its records since then
        (a ``timer`` record with its notice in the outbox), all or nothing;
        :class:`VersionConflict` when the row is at another version, and then nothing is
        written. Only the columns the new records' kinds can change are written."""
        new_records = trajectory.records_since(expected_version)
        if len(new_records) != trajectory.version - expected_version:
            raise ValueError("the new snapshot does not carry the records since the old one")
        ordinary = True
        reassigned = False
        for r in new_records:
            if r.kind not in _ORDINARY:
                ordinary = False
                reassigned = reassigned or r.kind in _REASSIGNING
        tid = trajectory.id
        facts, sealed = self._sealed(trajectory, new_records)
        new_records = list(sealed)
        if ordinary and new_records:  # the hot path: only the mutable columns, bound as
            # a tuple, in one transaction on this thread's connection
            row = _mutable_row(trajectory, next_due, next_timer, expected_version, facts)
            rows = [_record_row(tid, r) for r in new_records]
            if self.is_sqlite:
                done = self._commit_sqlite(self._update_mutable_sql, row, rows)
            else:
                done = self._commit_pg(tid, row, rows)
            if done:
                return
        if ordinary:
            update = "update_mutable"
            values = _mutable_values(trajectory, next_due, next_timer, facts)
        else:  # participants, definition version, start, calendar or timing may change
            update = "update"
            values = _state_values(trajectory, next_due, next_timer, facts)
        notices = self._notice_rows(trajectory, new_records)
        values["b_id"] = tid
        values["expected_version"] = expected_version
        if self.is_sqlite and not reassigned and not (ordinary and new_records):
            # a migration, or no record: on this thread's connection too
            update_sql, keys = self._sql[update]
            rows = [_record_row(tid, r) for r in new_records]
            if self._commit_sqlite(update_sql, self._params(keys, values), rows, notices):
                return
        try:  # a change of the participants table, or why the row was not written
            self._commit_transaction(
                trajectory, update, values, expected_version, new_records, reassigned, notices
            )
        except self._errors as exc:
            raise self._failed("write to", exc, lost=self._was_lost(exc)) from exc

    def _commit_transaction(
        self,
        trajectory: Trajectory,
        update: str,
        values: Mapping[str, SqlValue],
        expected_version: int,
        new_records: Sequence[HistoryRecord],
        reassigned: bool,
        notices: Sequence[Params] = (),
    ) -> None:
        """The commit in a transaction of the writer engine (the participants table
        rewritten when ``reassigned``), and why a row not at the expected version was not
        written."""
        update_sql, update_keys = self._sql[update]
        insert_sql = self._insert_history_sql
        with self._writer.begin() as conn:
            result = conn.exec_driver_sql(update_sql, self._params(update_keys, values))
            if result.rowcount != 1:
                current = conn.execute(
                    select(trajectories.c.version).where(trajectories.c.id == trajectory.id)
                ).scalar()
                if current is None:
                    raise UnknownTrajectory(f"no trajectory {trajectory.id!r}")
                raise version_conflict(
                    trajectory.id, expected=expected_version, actual=int(current)
                )
            rows = [_record_row(trajectory.id, r) for r in new_records]
            _insert_records(conn, insert_sql, rows)
            _insert_records(conn, self._insert_outbox_sql, _outbox_rows(rows))
            _insert_records(conn, self._sql["insert_notice"][0], notices)
            if reassigned:
                conn.execute(
                    delete(participants).where(participants.c.trajectory_id == trajectory.id)
                )
                people = _participant_rows(trajectory)
                if people:
                    conn.execute(insert(participants), people)

    def _notice_rows(
        self, trajectory: Trajectory, records: Sequence[HistoryRecord]
    ) -> list[Params]:
        """The outbox rows of the notices of the ``timer`` records among ``records``
        (:data:`_NOTICE_ROW` order): the payload and moment written with them."""
        rows: list[Params] = []
        for r in records:
            if r.kind == "timer":
                payload = timer_payload(trajectory.id, trajectory.definition_id, r)
                rows.append(
                    (
                        trajectory.id,
                        r.seq,
                        str(r.input["topic"]),
                        encode(payload),
                        _instant(r.at),
                        str(r.input["item"]),
                    )
                )
        return rows

    def _commit_sqlite(
        self, update_sql: str, row: Params, rows: Sequence[Params], notices: Sequence[Params] = ()
    ) -> bool:
        """SQLite: update the row and append the records in one ``BEGIN IMMEDIATE``
        transaction on this thread's connection. False (and nothing written) when the row
        was not at the expected version: the caller then finds out why on the ordinary
        path. Whatever fails rolls the transaction back (closing the connection if even
        that fails), so nothing of it is written."""
        own = self._own("write to")
        cursor = own.cursor
        try:
            cursor.execute("BEGIN IMMEDIATE")
            cursor.execute(update_sql, row)
            if cursor.rowcount != 1:
                cursor.execute("ROLLBACK")
                return False
            if len(rows) == 1:
                cursor.execute(self._insert_history_sql, rows[0])
                cursor.execute(self._insert_outbox_sql, _outbox_row(rows[0]))
            else:
                cursor.executemany(self._insert_history_sql, rows)
                cursor.executemany(self._insert_outbox_sql, _outbox_rows(rows))
            for notice in notices:
                cursor.execute(self._sql["insert_notice"][0], notice)
            cursor.execute("COMMIT")
            return True
        except BaseException as exc:
            lost = isinstance(exc, self._errors) and self._lost(own, exc)
            try:
                if own.dbapi.in_transaction:
                    own.dbapi.rollback()
            except BaseException:  # closing it rolls back what it did not commit
                self._drop_own(own)
            if lost:
                self._drop_own(own)
            if isinstance(exc, self._errors):
                raise self._failed("write to", exc, lost=lost) from exc
            raise

    def _commit_pg(self, trajectory_id: str, row: Params, rows: Sequence[Params]) -> bool:
        """PostgreSQL: update the row and append the records in ONE statement (a writable
        CTE) on this thread's autocommit connection: one round trip, and one transaction,
        since a statement outside a transaction block is its own transaction (all or
        nothing). The records are inserted only from the rows the version-checked UPDATE
        returned, so a row not at the expected version makes it write nothing; that is
        False, and the caller then finds out why on the ordinary path. A connection found
        dead is replaced; the commit is not repeated (it may have been done): StoreError."""
        sql = self._pg_commit_sql(len(rows))
        params = list(row)
        for record in rows:
            params.extend(record[1:])  # the trajectory's id comes from the UPDATE
        own = self._own("write to")
        try:
            cursor = own.cursor
            cursor.execute(sql, params)
            written = int(cursor.rowcount)
        except self._errors as exc:
            lost = self._lost(own, exc)
            self._drop_own(own)
            raise self._failed("write to", exc, lost=lost) from exc
        except BaseException:  # interrupted: the connection may be mid-statement
            self._drop_own(own)
            raise
        if written == len(rows):
            return True
        if written == 0:
            return False
        raise StoreError(f"trajectory {trajectory_id!r}: {written} of {len(rows)} records")

    def _pg_commit_sql(self, count: int) -> str:
        found = self._pg_commits.get(count)
        if found is None:
            sql, keys = _pg_commit_statement(count)
            if keys != _MUTABLE_ROW:
                raise RuntimeError(f"the commit statement binds {keys}, not {_MUTABLE_ROW}")
            found = self._pg_commits[count] = sql
        return found

    def commit_batch(self, changes: Sequence[Change]) -> list[bool]:
        """:meth:`commit` each change whose row is still at its expected version, in one
        transaction of the writer: on PostgreSQL the rows moved by one statement, and on
        both the records of all of them appended by one statement per table; per change
        whether it was written."""
        check_batch(changes)
        if not changes:
            return []
        rows: list[dict[str, SqlValue]] = []
        sealed: dict[str, Sequence[HistoryRecord]] = {}
        for t, expected, next_due, next_timer in changes:
            facts, sealed[t.id] = self._sealed(t, t.records_since(expected))
            values = _mutable_values(t, next_due, next_timer, facts)
            values["timing"] = _encode_timing(t.timing)
            values["b_id"] = t.id
            values["expected_version"] = expected
            rows.append(values)
        try:
            with self._writer.begin() as conn:
                if self.is_sqlite:
                    update_sql, keys = self._sql["update_timed"]
                    written = [
                        conn.exec_driver_sql(update_sql, self._params(keys, v)).rowcount == 1
                        for v in rows
                    ]
                else:
                    # rows locked in one order by every writer: two batches never deadlock
                    conn.exec_driver_sql(
                        _PG_LOCK_BATCH, (sorted(c.trajectory.id for c in changes),)
                    )
                    sql, keys = _pg_batch_statement(len(rows))
                    params = tuple(v[k] for v in rows for k in keys)
                    moved = {str(r[0]) for r in conn.exec_driver_sql(sql, params)}
                    written = [change.trajectory.id in moved for change in changes]
                records: list[Params] = []
                notices: list[Params] = []
                for (t, _, _, _), ok in zip(changes, written, strict=True):
                    if ok:
                        new = sealed[t.id]
                        records += [_record_row(t.id, r) for r in new]
                        notices += self._notice_rows(t, new)
                _insert_records(conn, self._insert_history_sql, records)
                _insert_records(conn, self._insert_outbox_sql, _outbox_rows(records))
                _insert_records(conn, self._sql["insert_notice"][0], notices)
        except self._errors as exc:
            raise self._failed("write to", exc, lost=self._was_lost(exc)) from exc
        return written

    def due(self, today: date, *, limit: int) -> list[str]:
        """Up to ``limit`` trajectories with a timer due on or before ``today``, the
        earliest first, through the index on ``next_timer``."""
        t = trajectories.c
        query = (
            select(t.id)
            .where(t.next_timer <= today)
            .order_by(t.next_timer, t.id)
            .limit(check_limit(limit, "trajectories"))
        )
        return self._read(lambda conn: [str(i) for i in conn.execute(query).scalars()])

    def ids(self) -> Iterator[str]:
        """The id of every stored trajectory, in order (read at once)."""
        found = self._read(
            lambda conn: list(
                conn.execute(select(trajectories.c.id).order_by(trajectories.c.id)).scalars()
            )
        )
        return iter(found)

    def with_participant(self, person: str) -> Iterator[Trajectory]:
        """Every trajectory in which ``person`` holds a role, with its history: rows and
        histories read in one go, each history cut at its row's version."""
        query = (
            select(*_ROW)
            .join(_person_ids(person), trajectories.c.id == literal_column("p_ids.trajectory_id"))
            .order_by(trajectories.c.id)
        )

        def read(conn: Connection) -> tuple[list[DriverRow], dict[str, list[HistoryRecord]]]:
            rows = list(conn.execute(query))
            ids = [r.id for r in rows]
            by_id: dict[str, list[HistoryRecord]] = {i: [] for i in ids}
            for chunk in _chunks(ids, 500):
                for h in conn.execute(
                    select(*_HISTORY)
                    .where(history.c.trajectory_id.in_(chunk))
                    .order_by(history.c.trajectory_id, history.c.seq)
                ):
                    by_id[h.trajectory_id].append(_record(h._mapping))
            return rows, by_id

        rows, by_id = self._read(read)
        versions = {r.id: r.version for r in rows}
        for tid, records in by_id.items():  # a write between the two reads: cut it off
            del records[versions[tid] + 1 :]
        for row in rows:
            records = self._opened_records(row.id, by_id[row.id])
            yield _trajectory(row._mapping, _given(records), self._open_facts)

    def find(
        self,
        *,
        definition_id: str | None = None,
        state: str | None = None,
        participant: str | None = None,
        limit: int | None = None,
    ) -> list[Trajectory]:
        """Trajectories by definition, state and/or participant (indexed queries)."""
        query = select(*_ROW).order_by(trajectories.c.id)
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
        rows = self._read(lambda conn: list(conn.execute(query)))
        return [self._stored(row._mapping) for row in rows]

    def history_of(self, trajectory_id: str, upto: int | None = None) -> list[HistoryRecord]:
        """The history records of a trajectory (up to version ``upto``)."""
        query = select(*_HISTORY).where(history.c.trajectory_id == trajectory_id)
        if upto is not None:
            query = query.where(history.c.seq <= upto)
        query = query.order_by(history.c.seq)
        found = self._read(lambda conn: [_record(r._mapping) for r in conn.execute(query)])
        return self._opened_records(trajectory_id, found)

    # -- the access log --

    def log_reads(self, entries: Sequence[AccessEntry]) -> None:
        """Append ``entries`` to the access log (cf_access_log), in their order, in one
        transaction; :class:`UnknownTrajectory` when one names no stored trajectory, and
        then nothing is written. Only inserts: the log is append-only."""
        if not entries:
            return
        rows = [
            {
                "trajectory_id": e.trajectory_id,
                "seq": e.seq,
                "field": e.field,
                "viewer": e.viewer,
                "at": e.at,
                "basis": e.basis,
            }
            for e in entries
        ]
        try:
            with self._writer.begin() as conn:
                conn.execute(insert(access_entries), rows)
        except IntegrityError:
            named = sorted({e.trajectory_id for e in entries})
            known = set(
                self._read(
                    lambda conn: list(
                        conn.execute(
                            select(trajectories.c.id).where(trajectories.c.id.in_(named))
                        ).scalars()
                    )
                )
            )
            missing = ", ".join(repr(tid) for tid in named if tid not in known)
            raise UnknownTrajectory(
                f"no trajectory {missing or ', '.join(map(repr, named))}"
            ) from None
        except self._errors as exc:
            raise self._failed("write to", exc, lost=self._was_lost(exc)) from exc

    def access_log(self, trajectory_id: str) -> tuple[AccessEntry, ...]:
        """The access log of one trajectory, in the order it was appended."""
        c = access_entries.c
        query = (
            select(c.viewer, c.at, c.trajectory_id, c.seq, c.field, c.basis)
            .where(c.trajectory_id == trajectory_id)
            .order_by(c.id)
        )
        return self._read(lambda conn: tuple(AccessEntry(*r) for r in conn.execute(query)))

    # -- the outbox --

    def _messages_query(self, consumer: str | None) -> Select[Any]:
        """The outbox's messages with what their payloads are read from (the record a
        ``trajectory.changed`` message tells of, its trajectory's definition) and, for
        ``consumer``, its claim (attempts, lease, acknowledgement)."""
        o, h, t = outbox.c, history.c, trajectories.c
        joined = outbox.join(trajectories, t.id == o.trajectory_id).outerjoin(
            history, (h.trajectory_id == o.trajectory_id) & (h.seq == o.seq)
        )
        columns: list[Any] = [
            o.id,
            o.topic,
            o.trajectory_id,
            o.seq,
            cast(o.payload, Text).label("payload"),
            o.created_at,
            o.item,
            t.definition_id,
            h.at,
            h.kind,
            h.event,
            h.actor,
            h.role,
        ]
        if consumer is None:
            return select(*columns).select_from(joined)
        claims = outbox_claims.c
        joined = joined.outerjoin(
            outbox_claims, (claims.message_id == o.id) & (claims.consumer == consumer)
        )
        columns += [claims.attempts, claims.claimed_until, claims.acked_at]
        return select(*columns).select_from(joined)

    @staticmethod
    def _message(row: DriverRow, attempts: int) -> Message:
        tid = row.trajectory_id
        if row.topic is None:  # trajectory.changed: all of it from its record
            payload = change_payload(
                tid, row.definition_id, row.seq, row.kind, row.event, row.actor, row.role
            )
            key, topic, created = change_key(tid, row.seq), CHANGED, row.at
        else:
            payload = FrozenDict(decode(row.payload) if row.payload else {})
            name = row.item if row.item is not None else row.id
            key, topic, created = f"{row.topic}:{tid}:{name}", row.topic, row.created_at
        return Message(int(row.id), key, topic, tid, payload, created, attempts)

    def claim(self, consumer: str, *, limit: int, lease: timedelta, now: datetime) -> list[Message]:
        """Up to ``limit`` messages ``consumer`` has not acknowledged and holds no running
        lease on, oldest first, each claimed until ``now + lease``, in one transaction. On
        PostgreSQL the messages are locked ``FOR UPDATE SKIP LOCKED``, so that consumers of
        one name claiming at once share them; on SQLite a claim takes the write lock, so
        one claims at a time."""
        check_consumer(consumer)
        check_limit(limit)
        claims, o = outbox_claims.c, outbox.c
        point: Any = outbox_consumers.c.settled
        if not self.is_sqlite:
            # a point above the oldest running transaction can only have been copied from
            # another cluster (a dump restored elsewhere, whose ids ran higher): from 0 then
            point = case((point > literal_column(_PG_XMIN), 0), else_=point)
        settled = select(point).where(outbox_consumers.c.consumer == consumer)
        # a message is claimable unless acknowledged or under a running lease; the ids
        # first, from the consumer's settled point on (revision 0006) and in the order of
        # the index, then the rest of each message claimed (a join over the candidates
        # would let the planner sort every message after the point)
        held = _claimed(consumer, claims.acked_at.is_not(None) | (claims.claimed_until > now))
        until = now + lease
        got: dict[int, int] = {}
        try:
            with self._writer.begin() as conn:
                for _ in range(CLAIM_ROUNDS):
                    start = conn.execute(settled).scalar() or 0
                    if self.is_sqlite:
                        query = select(o.id).where((o.id >= start) & ~held).order_by(o.id)
                    else:
                        query = select(o.id).where((o.tx >= start) & ~held).order_by(o.tx, o.id)
                        query = query.with_for_update(skip_locked=True)
                    ids = [int(i) for i in conn.execute(query.limit(limit)).scalars()]
                    if not ids:
                        return []
                    # The claim itself: a claim row per message, inserted, or updated only
                    # if its lease has run out and it is not acknowledged, judged on the
                    # newest committed row: RETURNING gives exactly the messages this claim
                    # got. A claim of the same messages that committed after this one
                    # looked gets them first; then the next ones are looked for.
                    rows = [  # in the order of ids, as an ack writes them: no deadlock
                        {
                            "consumer": consumer,
                            "message_id": i,
                            "claimed_until": until,
                            "attempts": 1,
                            "acked_at": None,
                            "now": now,
                        }
                        for i in sorted(ids)
                    ]
                    got = {int(i): int(n) for i, n in conn.execute(self._claim_statement, rows)}
                    if got:
                        break
                read = self._messages_query(None).where(o.id.in_(sorted(got)))
                by_id = {int(row.id): row for row in conn.execute(read)}
                # a message whose trajectory row is gone (never, with the foreign keys on)
                # is claimed but not handed out, rather than failing every claim after it
                found = [self._message(by_id[i], got[i]) for i in ids if i in got and i in by_id]
        except self._errors as exc:
            raise self._failed("claim outbox messages in", exc, lost=self._was_lost(exc)) from exc
        return found

    @cached_property
    def _claim_statement(self) -> Any:
        """The claim's upsert, made once: executed with a row per message (the driver's
        batches of VALUES), so that neither SQLAlchemy nor the driver compiles it anew for
        every claim."""
        claims = outbox_claims.c
        upsert = self._upsert(outbox_claims)
        return upsert.on_conflict_do_update(
            index_elements=["consumer", "message_id"],
            set_={"claimed_until": upsert.excluded.claimed_until, "attempts": claims.attempts + 1},
            where=claims.acked_at.is_(None) & (claims.claimed_until <= bindparam("now")),
        ).returning(claims.message_id, claims.attempts)

    @cached_property
    def _ack_statement(self) -> Any:
        """The acknowledgement's upsert, made once; its RETURNING makes SQLAlchemy send
        the rows in batches of VALUES, rather than a statement per row."""
        claims = outbox_claims.c
        upsert = self._upsert(outbox_claims)
        return upsert.on_conflict_do_update(
            index_elements=["consumer", "message_id"],
            set_={"acked_at": upsert.excluded.acked_at},
        ).returning(claims.message_id)

    def _upsert(self, table: Table) -> Any:
        """An INSERT of ``table`` that can say what to do ON CONFLICT, in this dialect."""
        if self.is_sqlite:
            from sqlalchemy.dialects import sqlite

            return sqlite.insert(table)
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)

    def ack(self, consumer: str, message_ids: Sequence[int], *, now: datetime) -> int:
        """Acknowledge ``message_ids`` for ``consumer``, in one transaction: how many were
        not acknowledged before; ValueError (nothing written) for an id of no message."""
        check_consumer(consumer)
        wanted = sorted(set(check_ids(message_ids)))
        if not wanted:
            return 0
        o, claims = outbox.c, outbox_claims.c
        try:
            with self._writer.begin() as conn:
                known: set[int] = set()
                acked: set[int] = set()
                for chunk in _chunks(wanted, 500):
                    known.update(
                        int(i) for i in conn.execute(select(o.id).where(o.id.in_(chunk))).scalars()
                    )
                    acked.update(
                        int(i)
                        for i in conn.execute(
                            select(claims.message_id).where(
                                (claims.consumer == consumer)
                                & claims.message_id.in_(chunk)
                                & claims.acked_at.is_not(None)
                            )
                        ).scalars()
                    )
                unknown = [i for i in wanted if i not in known]
                if unknown:
                    raise ValueError(f"no outbox message {', '.join(map(str, unknown[:10]))}")
                newly = [i for i in wanted if i not in acked]
                if newly:
                    rows = [
                        {
                            "consumer": consumer,
                            "message_id": i,
                            "claimed_until": now,
                            "attempts": 0,
                            "acked_at": now,
                        }
                        for i in newly
                    ]
                    conn.execute(self._ack_statement, rows).all()
                    self._settle(conn, consumer)
        except self._errors as exc:
            raise self._failed(
                "acknowledge outbox messages in", exc, lost=self._was_lost(exc)
            ) from exc
        return len(newly)

    def _settle(self, conn: Connection, consumer: str) -> None:
        """Move ``consumer``'s settled point on (in its ack's transaction), so that its
        claims start there: below it, every message is acknowledged by ``consumer``.

        On SQLite, whose writers take turns, messages commit in the order of their ids:
        the point is the first id not acknowledged (or the last message's: SQLite may give
        a deleted message's id to the next one). On
        PostgreSQL a message with a lower id may commit after one with a higher id, so the
        point is a transaction id (``cf_outbox.tx``): the lower of the first one with a
        message not acknowledged and the oldest transaction still running
        (``pg_snapshot_xmin``, read before the messages are, so that every transaction
        below it has committed or rolled back and its messages are seen). A transaction
        that stays open long holds the point back; it never skips a message. A point above
        the oldest running transaction can only come from another cluster (a dump restored
        elsewhere, whose transaction ids ran higher): it is started again. Only one
        acknowledgement moves the point at a time; one that finds it locked leaves it to
        that one, and a point that lags only makes claims read a little more."""
        c, o, claims = outbox_consumers.c, outbox.c, outbox_claims.c
        held = conn.execute(
            select(c.settled).where(c.consumer == consumer).with_for_update(skip_locked=True)
        ).first()
        if held is None:
            if conn.execute(select(c.settled).where(c.consumer == consumer)).first():
                return  # another acknowledgement of this consumer is moving it
            made = self._upsert(outbox_consumers).values(consumer=consumer, settled=0)
            if conn.execute(made.on_conflict_do_nothing().returning(c.settled)).first() is None:
                return
            settled = 0
        else:
            settled = int(held.settled)
        stored = settled
        xmin = None
        if not self.is_sqlite:
            xmin = int(conn.exec_driver_sql(f"SELECT {_PG_XMIN}").scalar_one())
            if settled > xmin:  # copied from another cluster (a restore): start again
                settled = 0
        point = o.id if self.is_sqlite else o.tx
        acked = _claimed(consumer, claims.acked_at.is_not(None))
        first = conn.execute(
            select(point).where((point >= settled) & ~acked).order_by(point).limit(1)
        ).scalar()
        if self.is_sqlite:
            if first is None:  # never past the last message: SQLite may reuse a deleted id
                last = conn.execute(select(func.max(o.id))).scalar()
                first = settled if last is None else int(last)
            new = int(first)
        else:
            assert xmin is not None
            new = xmin if first is None else min(int(first), xmin)
        if new > settled and new != stored:
            conn.execute(update(outbox_consumers).where(c.consumer == consumer).values(settled=new))

    def outbox(
        self, *, consumer: str | None = None, after: int = 0, limit: int = 100
    ) -> list[Message]:
        """Up to ``limit`` messages after the id ``after``, oldest first; with
        ``consumer``, only those it has not acknowledged."""
        check_limit(limit)
        check_after(after)
        if consumer is not None:
            check_consumer(consumer)
        query = self._messages_query(consumer).where(outbox.c.id > after)
        if consumer is not None:
            query = query.where(outbox_claims.c.acked_at.is_(None))
        query = query.order_by(outbox.c.id).limit(limit)

        def read(conn: Connection) -> list[Message]:
            return [
                self._message(row, (row.attempts or 0) if consumer is not None else 0)
                for row in conn.execute(query)
            ]

        return self._read(read)

    def _stored(self, row: Columns, keys: Keys | None = None) -> Trajectory:
        """The trajectory of a row; its history is read when it is looked at, up to the
        row's version (records a later commit appends are not part of this snapshot).
        ``keys``: the trajectory's keys when they were read with the row."""
        tid, upto = row["id"], row["version"]
        return _trajectory(row, lambda: self.history_of(tid, upto), self._opener(keys))

    def _stored_row(self, row: Sequence[DriverRow], keys: Keys | None = None) -> Trajectory:
        """:meth:`_stored` of a row of the driver: its columns in :data:`_ROW_COLUMNS`'s
        order."""
        tid, upto = row[0], row[_VERSION]
        return _from_columns(
            *row, load=lambda: self.history_of(tid, upto), open_facts=self._opener(keys)
        )

    def _opener(self, keys: Keys | None) -> Callable[[str, Values], Values]:
        if keys is None:
            return self._open_facts
        return lambda tid, facts: self._open_facts(tid, facts, keys)

    # -- definitions --

    def remember_definition(self, definition: Definition) -> None:
        """Record a definition version's content; refuse a changed content under an
        unchanged version (:class:`DefinitionError`, ``definition-changed``). A version
        already recorded is only read (a read-only database serves the definitions it
        knows), and one this object recorded or saw is not read again."""
        key = definition.key
        text, digest = self._content(definition)
        self._plans.pop(key, None)  # judged without it before: judge it again
        recorded = self._recorded.get(key)
        if recorded == digest:
            return
        if recorded is not None:
            raise definition_changed(*key)
        known_hash = (
            select(definitions.c.content_hash)
            .where(definitions.c.id == definition.id)
            .where(definitions.c.version == definition.version)
        )
        known = self._read(lambda conn: conn.execute(known_hash).scalar())
        if known is not None:
            self._recorded[key] = known
            if known != digest:
                raise definition_changed(*key)
            return
        for _ in range(2):  # another process may record the same version at the same time
            try:
                with self._writer.begin() as conn:
                    known = conn.execute(known_hash).scalar()
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
                        self._recorded[key] = known
                        raise definition_changed(*key)
                self._recorded[key] = digest
                return
            except IntegrityError:
                continue
            except self._errors as exc:
                raise self._failed("write to", exc, lost=self._was_lost(exc)) from exc
        raise StoreError(f"could not record {definition.id!r} version {definition.version}")

    def _content(self, definition: Definition) -> tuple[str, str]:
        """The canonical text and hash of a definition (computed once per object)."""
        hashed = self._hashed.get(definition.key)
        if hashed is not None and hashed[0] is definition:
            return hashed[1], hashed[2]
        text, digest = content_hash(definition)
        self._hashed[definition.key] = (definition, text, digest)
        return text, digest

    def stored_definitions(self) -> list[Definition]:
        """Every definition version recorded in the database (also those whose files are
        gone), by id and version; each content is read and decoded once per object."""
        listed = definitions.c.id, definitions.c.version, definitions.c.content_hash
        rows = self._read(
            lambda conn: [
                (str(r.id), int(r.version), str(r.content_hash))
                for r in conn.execute(select(*listed).order_by(*listed[:2]))
            ]
        )
        missing = {digest for _, _, digest in rows if digest not in self._decoded}
        if missing:
            contents = select(definitions.c.content_hash, definitions.c.content).where(
                definitions.c.content_hash.in_(sorted(missing))
            )
            for digest, content in self._read(lambda conn: list(conn.execute(contents))):
                self._decoded.setdefault(digest, Definition.model_validate(json.loads(content)))
        # what the database holds now: every version this object saw, and no other
        self._recorded = {(i, v): digest for i, v, digest in rows}
        return [self._decoded[digest] for _, _, digest in rows if digest in self._decoded]

    def _on_statement(
        self,
        conn: Connection,
        cursor: DBAPICursor,
        statement: str,
        parameters: object,
        context: object,
        executemany: bool,
    ) -> None:
        """Before every statement of this object's engines (not the driver's hot path):
        one that deletes recorded definitions (a test emptying the tables, an operator's
        tool) makes this object forget the versions it saw, and one that deletes keys the
        keys it kept."""
        if _DELETES.match(statement):
            if definitions.name in statement:
                self._recorded = {}
            if key_rows.name in statement and hasattr(self, "_sealer"):
                self._sealer.forget_all()


def _given(records: list[HistoryRecord]) -> Callable[[], list[HistoryRecord]]:
    """A history loader that returns records already read."""
    return lambda: records


def _outbox_row(record_row: Params) -> Params:
    """The outbox row of the ``trajectory.changed`` message of a history row (as
    :func:`_record_row` binds it: trajectory id, seq, ...), in :data:`_OUTBOX_ROW` order.
    Its key, payload and moment are read from the history row when it is read."""
    return (record_row[0], record_row[1])


def _outbox_rows(record_rows: Sequence[Params]) -> list[Params]:
    return [_outbox_row(r) for r in record_rows]


def _insert_records(conn: Connection, sql: str, rows: Sequence[Params]) -> None:
    """History rows appended in a transaction of SQLAlchemy's (one, or executemany)."""
    if len(rows) == 1:
        conn.exec_driver_sql(sql, rows[0])
    elif rows:
        conn.exec_driver_sql(sql, rows)


def _trajectory(
    row: Columns,
    load: Callable[[], Sequence[HistoryRecord]],
    open_facts: Callable[[str, Values], Values],
) -> Trajectory:
    """A trajectory from the columns of its row (``load`` reads its history,
    ``open_facts`` opens its sealed facts)."""
    return _from_columns(*(row[name] for name in _ROW_COLUMNS), load=load, open_facts=open_facts)


def _from_columns(
    id: str,
    definition_id: str,
    definition_version: int,
    state: str,
    facts: DriverRow,
    consents: DriverRow,
    participants: DriverRow,
    counts: DriverRow,
    version: int,
    started_at: DriverRow,
    start_date: DriverRow,
    calendar: DriverRow,
    next_due: DriverRow,
    timing: DriverRow,
    next_timer: DriverRow,
    *,
    load: Callable[[], Sequence[HistoryRecord]],
    open_facts: Callable[[str, Values], Values],
) -> Trajectory:
    """A trajectory from its row's columns in the order of :data:`_ROW_COLUMNS` (as the
    driver gives them: JSON as text or decoded, dates and moments as objects or ISO text).
    Consents, counts and participants are decoded once per text and shared."""
    return Trajectory(
        id=id,
        definition_id=definition_id,
        definition_version=definition_version,
        state=state,
        facts=MappingProxyType(open_facts(id, decode(facts))),
        consents=decode_frozen(consents),
        participants=decode_frozen(participants),
        version=version,
        started_at=(
            datetime.fromisoformat(started_at) if isinstance(started_at, str) else started_at
        ),
        node=stored_history(load, version + 1),
        start_date=date.fromisoformat(start_date) if isinstance(start_date, str) else start_date,
        counts=decode_frozen(counts),
        calendar=decode_calendar(calendar),
        timing=_decode_timing(timing),  # NULL: no timer handled, never suspended
    )


_DELETES = re.compile(r"\s*(DELETE|TRUNCATE|DROP)\b", re.IGNORECASE)


class _Own:
    """A driver connection of one thread for the hot path, with its cursor (kept: a new
    psycopg cursor sets up its adapters anew, which costs as much as a quarter of a round
    trip). Taken from ``engine``'s pool, so that the pool's ``connect`` listeners (the
    pragmas, ``synchronous_commit``) set it up, and detached from it (the pool neither
    counts nor hands it out again); closed by :meth:`close`, by :meth:`SqlStore.dispose`,
    or when its thread ends. A pool that is not a :class:`QueuePool` (SQLite's
    ``:memory:``: one connection per thread already) keeps it."""

    __slots__ = (
        "__weakref__",
        "closed",
        "cursor",
        "dbapi",
        "detached",
        "fairy",
        "opened",
        "pool",
    )

    def __init__(self, engine: Engine) -> None:
        self.pool = engine.pool
        self.opened = time.time()
        self.fairy: PoolProxiedConnection | None = None
        self.closed = False
        fairy = engine.raw_connection()
        try:
            self.detached = isinstance(self.pool, QueuePool)
            if self.detached:
                fairy.detach()
            self.cursor: DBAPICursor = fairy.cursor()
        except BaseException:
            fairy.invalidate()
            raise
        self.fairy = fairy
        self.dbapi: DriverRow = fairy.dbapi_connection

    def close(self) -> None:
        """Close the connection (what it had not committed is rolled back); errors of a
        connection already broken are of no interest any more."""
        fairy, self.fairy = self.fairy, None
        self.closed = True
        if fairy is None:
            return
        try:  # no module-level name used: this also runs at interpreter shutdown
            if self.detached:
                self.dbapi.close()
            else:
                fairy.close()  # back to its pool
        except Exception:  # a connection already broken: gone anyway
            return

    def __del__(self) -> None:  # its thread ended, or the store was dropped
        self.close()


class StoreCheck(NamedTuple):
    """What :meth:`SqlStore.check` found: the schema revision, how many trajectories were
    checked, and one line per problem (none: the database is sound)."""

    revision: str | None
    trajectories: int
    problems: list[str]


_USERINFO = re.compile(r"(//[^/:@]*:)([^/]*)@")  # the password runs to the last @ of the authority
"""The ``user:password@`` of a URL, read as text (also where SQLAlchemy cannot parse it)."""


def readable_url(url: str) -> None:
    """A :class:`StoreError` unless SQLAlchemy can read ``url``; the parser's own reason is
    left out (it may quote a piece of a password, as ``int('word@h')`` of a port would)."""
    try:
        make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise StoreError(
            f"cannot use the database URL {masked_url(url)!r}: it is not a database URL "
            "(dialect+driver://user:password@host:port/database, or sqlite:///path)"
        ) from exc


def masked_url(url: str) -> str:
    """``url`` as a message may show it: its password replaced by ``***``."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # not a URL SQLAlchemy reads: mask user:password@
        return _USERINFO.sub(r"\1***@", url)
    if parsed.password is None and not _USERINFO.search(url):
        return url  # nothing to hide: as it was given
    return parsed.render_as_string(hide_password=True)


def _sqlite_hint(url: str, exc: BaseException) -> str:
    """What the file system says of an SQLite file that cannot be opened or written."""
    if not _sqlite_error(exc).startswith(("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL")):
        return ""
    try:
        name = make_url(url).database or ""
    except (ArgumentError, ValueError):
        return ""
    if name.startswith("file:"):
        name = name.removeprefix("file:").split("?", 1)[0]
    if not name or name == ":memory:":
        return ""
    folder = os.path.dirname(os.path.abspath(name))
    if not os.path.isdir(folder):
        return f" (no such directory: {folder!r})"
    try:
        disk = os.statvfs(folder)
    except OSError:
        return ""
    if disk.f_flag & os.ST_RDONLY:
        return " (its directory is read-only: SQLite keeps its -wal and -shm files next to it)"
    if disk.f_bavail == 0:
        return " (no space is left on its disk)"
    return ""


def _password(url: str) -> tuple[str, ...]:
    """The password of ``url``, as written and as decoded (to scrub it from any reason)."""
    found = _USERINFO.search(url)
    secrets = {found.group(2)} if found else set()
    try:
        decoded = make_url(url).password
    except (ArgumentError, ValueError):
        decoded = None
    if decoded:
        secrets.add(str(decoded))
    return tuple(sorted((s for s in secrets if s), key=len, reverse=True))


def _reason(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """The driver's reason for ``exc`` in one line: the first line of its message (of
    PostgreSQL's primary message, whose details may quote a row), without a quoted value
    of a data error, and without the password."""
    orig = getattr(exc, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's
    cause = orig if isinstance(orig, BaseException) else exc
    diag = getattr(cause, "diag", None)
    text = getattr(diag, "message_primary", None) or str(cause)
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    if str(getattr(cause, "sqlstate", "") or "").startswith("22"):  # a data exception
        line = re.sub(r':\s*".*$', "", line)  # 'invalid input syntax for type integer: "x"'
    for secret in secrets:
        line = line.replace(secret, "***")
    return line or type(cause).__name__


def _is_corrupt(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or the driver's error it wraps) says an SQLite file is damaged."""
    return _sqlite_error(exc).startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))


def _sqlite_error(exc: BaseException | None) -> str:
    """The SQLite error name (``SQLITE_FULL``...) of ``exc`` or of the driver's error it
    wraps; empty when there is none."""
    cause = getattr(exc, "orig", exc)
    return str(getattr(cause, "sqlite_errorname", ""))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _calendar_data(t: Trajectory) -> Mapping[str, object] | None:
    return None if t.calendar is None else t.calendar.as_data()


def _schema_difference(diff: SchemaDiff) -> list[str]:
    """One line per difference Alembic's ``compare_metadata`` found."""
    if isinstance(diff, list):  # the changes of one column come as a list
        return [line for d in diff for line in _schema_difference(d)]
    kind = diff[0]
    ours = "this coachflow's schema"
    if kind == "add_table":
        return [f"table {diff[1].name} is missing"]
    if kind == "remove_table":
        return [f"table {diff[1].name} is not in {ours}"]
    if kind == "add_column":
        return [f"column {diff[2]}.{diff[3].name} is missing"]
    if kind == "remove_column":
        return [f"column {diff[2]}.{diff[3].name} is not in {ours}"]
    if kind == "add_index":
        return [f"index {diff[1].name} (on {diff[1].table.name}) is missing"]
    if kind == "remove_index":
        return [f"index {diff[1].name} (on {diff[1].table.name}) is not in {ours}"]
    if kind == "modify_type":
        return [f"column {diff[2]}.{diff[3]} is of type {diff[5]}, not {diff[6]}"]
    if kind == "modify_nullable":
        found = "nullable" if diff[5] else "NOT NULL"
        return [f"column {diff[2]}.{diff[3]} is {found}, unlike {ours}"]
    if kind == "modify_default":
        return [f"column {diff[2]}.{diff[3]} has another default than {ours}"]
    table = getattr(getattr(diff[1], "table", None), "name", None)
    return [f"the schema differs from {ours}: {kind}" + (f" on {table}" if table else "")]


def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """A ``%(name)s`` statement as a ``%s`` one, with the names in order."""
    keys = tuple(re.findall(r"%\((\w+)\)s", sql))
    return re.sub(r"%\((\w+)\)s", "%s", sql), keys


def _pg_type(column: Column[_T]) -> str:
    """The PostgreSQL type a bound value of ``column`` is cast to."""
    if isinstance(column.type, JSON):
        return "json"
    if isinstance(column.type, Date):
        return "date"
    if isinstance(column.type, Integer):
        return "integer"
    return "varchar"


def _pg_commit_statement(count: int) -> tuple[str, tuple[str, ...]]:
    """One statement that moves a trajectory's row from its expected version to its new
    values and appends ``count`` history records with their outbox messages, or does
    nothing at all:

        WITH moved AS (UPDATE cf_trajectories SET ... WHERE id = %s AND version = %s
                       RETURNING id),
             r (seq, ...) AS (VALUES (%s, ...), ...),
             told AS (INSERT INTO cf_outbox (trajectory_id, seq)
                      SELECT moved.id, r.seq FROM moved, r)
        INSERT INTO cf_history (trajectory_id, seq, ...) SELECT moved.id, r.* FROM moved, r

    Its parameters: the row's values named by the keys returned, then the
    :data:`_RECORD_VALUES` of each record."""
    state = [c for c in trajectories.c if c.name in _MUTABLE]
    sets = ", ".join(f"{c.name} = CAST(%s AS {_pg_type(c)})" for c in state)
    one = "(" + ", ".join(f"CAST(%s AS {_pg_type(history.c[k])})" for k in _RECORD_VALUES) + ")"
    names = ", ".join(_RECORD_VALUES)
    # only the schema's own table and column names are spliced in; every value is bound
    sql = (
        f"WITH moved AS (UPDATE {trajectories.name} SET {sets}"  # noqa: S608
        " WHERE id = CAST(%s AS varchar) AND version = CAST(%s AS integer) RETURNING id),"
        f" r ({names}) AS (VALUES {', '.join([one] * count)}),"
        f" told AS (INSERT INTO {outbox.name} ({', '.join(_OUTBOX_ROW)})"
        " SELECT moved.id, r.seq FROM moved, r)"
        f" INSERT INTO {history.name} (trajectory_id, {names})"
        f" SELECT moved.id, {', '.join('r.' + k for k in _RECORD_VALUES)} FROM moved, r"
    )
    return sql, (*(c.name for c in state), "b_id", "expected_version")


_NOTICE_ROW = ("trajectory_id", "seq", "topic", "payload", "created_at", "item")
"""The order of :meth:`SqlStore._notice_rows`: the columns a timer's notice fills."""


_TRAJECTORIES = trajectories.name
_PG_LOCK_BATCH = f"SELECT id FROM {_TRAJECTORIES} WHERE id = ANY(%s) ORDER BY id FOR UPDATE"  # noqa: S608
"""Locks a batch's rows, in the order of their ids, before :func:`_pg_batch_statement`."""


@lru_cache(maxsize=64)
def _pg_batch_statement(count: int) -> tuple[str, tuple[str, ...]]:
    """One statement that moves ``count`` trajectories' rows from their expected versions
    to their new values (the :data:`_MUTABLE` columns and ``timing``) and returns the ids
    of those it moved; its parameters are each row's values named by the keys returned."""
    columns = [c for c in trajectories.c if c.name in _MUTABLE or c.name == "timing"]
    keys = ("b_id", "expected_version", *(c.name for c in columns))
    one = (
        "(CAST(%s AS varchar), CAST(%s AS integer), "
        + ", ".join(f"CAST(%s AS {_pg_type(c)})" for c in columns)
        + ")"
    )
    sets = ", ".join(f"{c.name} = v.{c.name}" for c in columns)
    # only the schema's own table and column names are spliced in; every value is bound
    sql = (
        f"UPDATE {trajectories.name} AS t SET {sets}"  # noqa: S608
        f" FROM (VALUES {', '.join([one] * count)}) AS v (b_id, expected_version,"
        f" {', '.join(c.name for c in columns)})"
        " WHERE t.id = v.b_id AND t.version = v.expected_version RETURNING t.id"
    )
    return sql, keys


_OUTBOX_ROW = ("trajectory_id", "seq")
"""The order of :func:`_outbox_row`: the columns a ``trajectory.changed`` message fills."""
_RECORD_VALUES = tuple(c.name for c in history.c if c.name != "trajectory_id")
_RECORD_ROW = tuple(c.name for c in history.c)
"""The order of :func:`_record_row`: cf_history's columns."""
_MUTABLE_ROW = (
    "state",
    "facts",
    "consents",
    "counts",
    "version",
    "next_due",
    "next_timer",
    "b_id",
    "expected_version",
)
"""The order of :func:`_mutable_row`: the hot path's update binds these."""
_AS_TEXT = frozenset({"calendar", "consents", "counts", "participants", "timing"})
"""The JSON columns PostgreSQL's load gives as their text (see :func:`decode_frozen`)."""
_ORDINARY = frozenset({"event", "activity", "consent_granted", "consent_withdrawn", "erased"})
"""Kinds of change that touch only the :data:`_MUTABLE` columns of a trajectory's row
(not its participants, definition version, start or calendar)."""
_MUTABLE = frozenset({"state", "facts", "consents", "counts", "version", "next_due", "next_timer"})
_REASSIGNING = frozenset({"assigned", "unassigned"})
"""Kinds of change that rewrite a trajectory's participants rows (a migration only adds
empty roles, which have no rows)."""


def _person_ids(person: str) -> Subquery:
    """The ids of the trajectories ``person`` takes part in: the small side of the join,
    found through the participant index (a plan that stays good with stale statistics)."""
    return (
        select(participants.c.trajectory_id)
        .where(participants.c.person == person)
        .distinct()
        .subquery("p_ids")
    )


def _chunks(items: Sequence[_T], size: int) -> Iterable[list[_T]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def _asynchronous_commits(engine: Engine) -> None:
    """PostgreSQL ``synchronous_commit = off`` on every connection: a commit returns
    before its WAL reaches the disk. Each change still is all or nothing; a crash of the
    *server* may lose the last fraction of a second of accepted changes (never half of
    one). For deployments that prefer throughput over that window."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET synchronous_commit TO off")
        cursor.close()
        dbapi_connection.commit()


def _sqlite_engine(make: Callable[..., Engine], url: str, *, immediate: bool, echo: bool) -> Engine:
    engine = make(url, echo=echo, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA secure_delete=ON")  # a deleted key leaves no bytes behind
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
