"""The key table of the values encrypted at rest (AVG/GDPR erasure by deleting keys).

Adds ``cf_keys``: per trajectory and class of values (``confidential``, ``personal``), the
AES-GCM key its values are encrypted with; ``key`` NULL and ``erased_at`` set once the
class was erased. Values written before this revision stay as they were (plain); the
next change of a trajectory encrypts its new values, and ``coachflow db upgrade`` says
so.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coachflow.store.sql import Instant

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cf_keys",
        sa.Column("trajectory_id", sa.String(200), primary_key=True),
        sa.Column("class", sa.String(20), primary_key=True),
        sa.Column("key", sa.LargeBinary, nullable=True),
        sa.Column("created_at", Instant, nullable=False),
        sa.Column("erased_at", Instant, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("cf_keys")
