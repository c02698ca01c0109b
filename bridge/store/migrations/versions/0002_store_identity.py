"""The store's identity: one row with an id made when the database is, so the daemon can tell
its own ledger from an empty or a different one (see ``bridge.store.identity``).

Revision ID: store_identity
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "store_identity"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    table = op.create_table(
        "store_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.String(36), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_store_identity"),
        sa.UniqueConstraint("store_id", name="uq_store_identity_store_id"),
    )
    now = datetime.now(UTC)
    if op.get_context().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # as bridge.store.models.UTCDateTime stores it
    op.bulk_insert(table, [{"id": 1, "store_id": str(uuid.uuid4()), "created_at": now}])


def downgrade() -> None:
    op.drop_table("store_identity")
