"""Claim attempts: unknown claim codes tried, so the attempt limit survives restarts.

Revision ID: 0003_claim_attempts
Revises: store_identity
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_claim_attempts"
down_revision: str | None = "store_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "claim_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("attempted_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_claim_attempts"),
    )
    op.create_index(
        "ix_claim_attempts_source_attempted_at", "claim_attempts", ["source", "attempted_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_claim_attempts_source_attempted_at", table_name="claim_attempts")
    op.drop_table("claim_attempts")
