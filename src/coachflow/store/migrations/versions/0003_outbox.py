"""The outbox.

Creates ``cf_outbox`` (one message per accepted change, written in the same transaction as
its history record: the row ``(id, trajectory_id, seq)``, its key, payload and moment read
from that record) and ``cf_outbox_claims``
(each consumer's claims and acknowledgements). The records written before this revision
get no message: the outbox starts at the upgrade, so that a consumer set up now is not
handed the whole past.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coachflow.store.sql import Instant

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "cf_outbox",
        sa.Column("id", _ID, primary_key=True),
        sa.Column(
            "trajectory_id",
            sa.String(200),
            sa.ForeignKey("cf_trajectories.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=True),
        sa.Column("topic", sa.String(100), nullable=True),
        sa.Column("payload", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("created_at", Instant, nullable=True),
    )
    op.create_table(
        "cf_outbox_claims",
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column(
            "message_id",
            _ID,
            sa.ForeignKey("cf_outbox.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("claimed_until", Instant, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("acked_at", Instant, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("cf_outbox_claims")
    op.drop_table("cf_outbox")
