"""Labels fixed at write time, and the access log.

Adds ``cf_history.labels`` (the labels of a record's confidential input values, NULL when it
has none) and labels every existing record from **its own definition version**: the version
a trajectory started on, changed by each of its ``migrated`` records (``to_version``), taken
from ``cf_definitions``. An event record gets the labels of the transitions that make it
(its event, from its source to its target), an activity record those of its activity's
input, each restricted to the fields the record holds. A later version never labels an
older value, so a migration never widened access to what was written before it.

A record whose version is not recorded, cannot be read, or does not describe it (no such
transition or activity) is labeled so that only its author reads its input values: closed,
rather than open to every participant; a warning says how many there were.

Creates ``cf_access_log``, the append-only access log.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import op

from coachflow.store.sql import Instant

if TYPE_CHECKING:
    from coachflow.definition.model import Definition
    from coachflow.definition.plain import Label

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

log = logging.getLogger("coachflow.store.migrations")

_CHUNK = 500
"""Trajectories labeled per round of reads and writes."""


def upgrade() -> None:
    op.add_column("cf_history", sa.Column("labels", sa.JSON(none_as_null=True), nullable=True))
    op.create_table(
        "cf_access_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column(
            "trajectory_id",
            sa.String(200),
            sa.ForeignKey("cf_trajectories.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("field", sa.String(200), nullable=False),
        sa.Column("viewer", sa.String(200), nullable=False),
        sa.Column("at", Instant, nullable=False),
        sa.Column("basis", sa.String(200), nullable=False),
    )
    op.create_index("ix_cf_access_log_trajectory", "cf_access_log", ["trajectory_id"])
    _label_existing_records(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_cf_access_log_trajectory", "cf_access_log")
    op.drop_table("cf_access_log")
    with op.batch_alter_table("cf_history") as batch:
        batch.drop_column("labels")


# --- labeling the records written before labels were stored ----------------------------------

_history = sa.table(
    "cf_history",
    sa.column("trajectory_id", sa.String),
    sa.column("seq", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("event", sa.String),
    sa.column("source", sa.String),
    sa.column("target", sa.String),
    sa.column("input", sa.JSON),
)
_definitions = sa.table(
    "cf_definitions",
    sa.column("id", sa.String),
    sa.column("version", sa.Integer),
    sa.column("content", sa.Text),
)
_trajectories = sa.table("cf_trajectories", sa.column("id", sa.String))
_KINDS = ("started", "migrated", "event", "activity")
"""The records that set the version in effect, and those whose input may be labeled."""


class _Labeler:
    """The labels of a record, by the definition version in effect when it was written
    (each version read from cf_definitions once, each kind of record labeled once)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.definitions: dict[tuple[str, int], Definition | None] = {}
        self.labels: dict[tuple[object, ...], Mapping[str, Label] | None] = {}
        self.closed = 0
        """Records labeled closed: their version could not tell their labels."""

    def definition(self, definition_id: str, version: int) -> Definition | None:
        key = (definition_id, version)
        if key not in self.definitions:
            from coachflow.definition.model import Definition

            content = self.conn.execute(
                sa.select(_definitions.c.content)
                .where(_definitions.c.id == definition_id)
                .where(_definitions.c.version == version)
            ).scalar()
            found: Definition | None = None
            if content is not None:
                try:
                    found = Definition.model_validate(json.loads(content))
                except ValueError:  # pydantic's ValidationError, a bad JSON text
                    found = None
            self.definitions[key] = found
        return self.definitions[key]

    def of(
        self, key: tuple[str, int], kind: str, event: str, source: str, target: str
    ) -> Mapping[str, Label] | None:
        """The labels of an ``event``/``activity`` record of version ``key``; None when
        that version cannot tell them."""
        memo = (*key, kind, event, source, target)
        if memo in self.labels:
            return self.labels[memo]
        from coachflow.definition.plain import labels_of
        from coachflow.runtime.access import event_specs

        definition = self.definition(*key)
        found: Mapping[str, Label] | None = None
        if definition is not None:
            if kind == "activity":
                activity = definition.activities.get(event)
                if activity is not None:
                    found = labels_of((activity.input,))
            else:
                specs = list(event_specs(definition, event, source, target))
                if specs:
                    found = labels_of(specs)
        self.labels[memo] = found
        return found

    def row_labels(
        self, key: tuple[str, int] | None, row: Any, fields: Sequence[str]
    ) -> Mapping[str, Label]:
        """The labels of one record's fields (closed ones when its version cannot tell)."""
        from coachflow.definition.plain import Rule

        labels = None
        if key is not None:
            labels = self.of(key, row.kind, str(row.event), str(row.source), str(row.target))
        if labels is None:
            self.closed += 1
            closed: Label = (Rule((), ()),)  # no role passes: only the author reads it
            return dict.fromkeys(fields, closed)
        return {name: label for name, label in labels.items() if name in fields}


def _label_existing_records(conn: sa.Connection) -> None:
    from coachflow.store.codec import encode_labels

    ids = list(conn.execute(sa.select(_trajectories.c.id).order_by(_trajectories.c.id)).scalars())
    if not ids:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    value = f"CAST({mark} AS json)" if conn.dialect.name == "postgresql" else mark
    # only placeholders are spliced in; every value is bound
    sql = f"UPDATE cf_history SET labels = {value} WHERE trajectory_id = {mark} AND seq = {mark}"  # noqa: S608
    labeler = _Labeler(conn)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = conn.execute(
            sa.select(_history)
            .where(_history.c.trajectory_id.in_(chunk))
            .where(_history.c.kind.in_(_KINDS))
            .order_by(_history.c.trajectory_id, _history.c.seq)
        ).all()
        updates: list[tuple[str, str, int]] = []
        current: str | None = None
        key: tuple[str, int] | None = None
        for row in rows:
            if row.trajectory_id != current:
                current, key = row.trajectory_id, None
            given = row.input if isinstance(row.input, dict) else {}
            if row.kind == "started":
                key = _version_of(given.get("definition_id"), given.get("definition_version"))
            elif row.kind == "migrated":
                key = _version_of(key[0] if key else None, given.get("to_version"))
            elif given:
                labels = labeler.row_labels(key, row, list(given))
                if labels:
                    updates.append((encode_labels(labels), row.trajectory_id, int(row.seq)))
        if updates:
            conn.exec_driver_sql(sql, updates)
    if labeler.closed:
        log.warning(
            "%d history records were written by a definition version that cannot say who "
            "may read their input (not recorded, or not describing them): only their "
            "authors may read those values",
            labeler.closed,
        )


def _version_of(definition_id: object, version: object) -> tuple[str, int] | None:
    if not isinstance(definition_id, str) or isinstance(version, bool):
        return None
    if not isinstance(version, int):
        return None
    return definition_id, version
