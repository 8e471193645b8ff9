"""A claim starts where its consumer has acknowledged everything before.

Adds ``cf_outbox.tx``, on PostgreSQL the id of the transaction that wrote the message
(``pg_current_xact_id()``, by default; the messages written before this revision get 0),
indexed with ``id`` over the rows that have one; and ``cf_outbox_consumers``: per consumer,
``settled``, below which it has acknowledged every message. A claim reads from ``settled``
on, so it no longer passes every message acknowledged before.

On PostgreSQL ``settled`` is a transaction id: messages are numbered when they are written
but may commit in another order, so an id cannot say that no earlier message is still to
come, while a transaction id below the oldest transaction still running can. On SQLite,
whose writers take turns, messages commit in the order of their ids: ``settled`` is an id
there and ``tx`` stays NULL (its partial index holds no row). PostgreSQL 13 or newer
(``pg_current_xact_id``).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TX_DEFAULT = "pg_current_xact_id()::text::bigint"
"""The writing transaction's id (64 bits, never wrapping), on PostgreSQL."""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # the messages of before get 0 without a rewrite of the table (a constant default
        # is stored once in the catalogue); from then on, the writing transaction's id
        op.add_column(
            "cf_outbox", sa.Column("tx", sa.BigInteger, nullable=True, server_default="0")
        )
        op.execute(f"ALTER TABLE cf_outbox ALTER COLUMN tx SET DEFAULT {TX_DEFAULT}")
    else:
        op.add_column("cf_outbox", sa.Column("tx", sa.BigInteger, nullable=True))
    with_tx = sa.text("tx IS NOT NULL")
    op.create_index(
        "ix_cf_outbox_tx",
        "cf_outbox",
        ["tx", "id"],
        sqlite_where=with_tx,
        postgresql_where=with_tx,
    )
    op.create_table(
        "cf_outbox_consumers",
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("settled", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cf_outbox_consumers")
    op.drop_index("ix_cf_outbox_tx", "cf_outbox")
    with op.batch_alter_table("cf_outbox") as batch:
        batch.drop_column("tx")
