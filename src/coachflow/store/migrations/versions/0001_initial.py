"""The initial schema: trajectories, history, participants, definitions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coachflow.store.sql import Instant

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cf_trajectories",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("definition_id", sa.String(200), nullable=False),
        sa.Column("definition_version", sa.Integer, nullable=False),
        sa.Column("state", sa.String(200), nullable=False),
        sa.Column("facts", sa.JSON, nullable=False),
        sa.Column("consents", sa.JSON, nullable=False),
        sa.Column("participants", sa.JSON, nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("started_at", Instant, nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("calendar", sa.JSON, nullable=True),
        sa.Column("next_due", sa.Date, nullable=True),
    )
    op.create_index(
        "ix_cf_trajectories_definition", "cf_trajectories", ["definition_id", "definition_version"]
    )
    op.create_index("ix_cf_trajectories_state", "cf_trajectories", ["definition_id", "state"])
    op.create_index("ix_cf_trajectories_next_due", "cf_trajectories", ["next_due"])
    op.create_table(
        "cf_history",
        sa.Column(
            "trajectory_id",
            sa.String(200),
            sa.ForeignKey("cf_trajectories.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", Instant, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(100), nullable=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("event", sa.String(200), nullable=True),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("on_date", sa.Date, nullable=True),
        sa.Column("input", sa.JSON, nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
    )
    op.create_table(
        "cf_participants",
        sa.Column(
            "trajectory_id",
            sa.String(200),
            sa.ForeignKey("cf_trajectories.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("role", sa.String(100), primary_key=True),
        sa.Column("person", sa.String(200), primary_key=True),
    )
    op.create_index("ix_cf_participants_person", "cf_participants", ["person"])
    op.create_table(
        "cf_definitions",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("recorded_at", Instant, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cf_definitions")
    op.drop_index("ix_cf_participants_person", "cf_participants")
    op.drop_table("cf_participants")
    op.drop_table("cf_history")
    op.drop_index("ix_cf_trajectories_next_due", "cf_trajectories")
    op.drop_index("ix_cf_trajectories_state", "cf_trajectories")
    op.drop_index("ix_cf_trajectories_definition", "cf_trajectories")
    op.drop_table("cf_trajectories")
