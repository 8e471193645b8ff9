"""The worker's indexes hold only what they find.

``ix_cf_trajectories_next_timer`` and ``ux_cf_outbox_item`` become partial indexes: the
first over the trajectories that have a timer (``next_timer IS NOT NULL``), the second over
the notices (``item IS NOT NULL``). A trajectory of a definition without timers, and a
``trajectory.changed`` message, then cost no index entry, so the hot path (one UPDATE and
two INSERTs per accepted change) maintains neither index. The queries that use them
(``next_timer <= :today``, a notice's ``(trajectory_id, item)``) only ever look for non-NULL
values, so both indexes serve them as before.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    timer, item = sa.text("next_timer IS NOT NULL"), sa.text("item IS NOT NULL")
    op.drop_index("ix_cf_trajectories_next_timer", "cf_trajectories")
    op.create_index(
        "ix_cf_trajectories_next_timer",
        "cf_trajectories",
        ["next_timer"],
        sqlite_where=timer,
        postgresql_where=timer,
    )
    op.drop_index("ux_cf_outbox_item", "cf_outbox")
    op.create_index(
        "ux_cf_outbox_item",
        "cf_outbox",
        ["trajectory_id", "item"],
        unique=True,
        sqlite_where=item,
        postgresql_where=item,
    )


def downgrade() -> None:
    op.drop_index("ux_cf_outbox_item", "cf_outbox")
    op.create_index("ux_cf_outbox_item", "cf_outbox", ["trajectory_id", "item"], unique=True)
    op.drop_index("ix_cf_trajectories_next_timer", "cf_trajectories")
    op.create_index("ix_cf_trajectories_next_timer", "cf_trajectories", ["next_timer"])
