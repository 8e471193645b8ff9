"""Timers and suspensions.

Adds to ``cf_trajectories`` the column ``timing`` (the timers the worker handled and the
suspensions, JSON; NULL: none) and ``next_timer`` (the first day a timer is due: the
worker's index, with ``ix_cf_trajectories_next_timer``), and to ``cf_outbox`` the column
``item`` (the timer a notice tells of) with the unique index ``ux_cf_outbox_item`` on
``(trajectory_id, item)``: one notice per timer occurrence. Trajectories stored before this
revision have no timers handled and were never suspended; their definitions declared no
timers (the format had none), so their ``next_timer`` stays NULL.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cf_trajectories", sa.Column("timing", sa.JSON(none_as_null=True), nullable=True))
    op.add_column("cf_trajectories", sa.Column("next_timer", sa.Date, nullable=True))
    op.create_index("ix_cf_trajectories_next_timer", "cf_trajectories", ["next_timer"])
    op.add_column("cf_outbox", sa.Column("item", sa.String(300), nullable=True))
    op.create_index("ux_cf_outbox_item", "cf_outbox", ["trajectory_id", "item"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_cf_outbox_item", "cf_outbox")
    with op.batch_alter_table("cf_outbox") as batch:
        batch.drop_column("item")
    op.drop_index("ix_cf_trajectories_next_timer", "cf_trajectories")
    with op.batch_alter_table("cf_trajectories") as batch:
        batch.drop_column("next_timer")
        batch.drop_column("timing")
