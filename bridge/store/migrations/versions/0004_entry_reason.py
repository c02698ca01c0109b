"""A reason on ledger entries: why an award was voided (its receipt did not print).

Revision ID: 0004_entry_reason
Revises: 0003_claim_attempts
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_entry_reason"
down_revision: str | None = "0003_claim_attempts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column: existing rows need no value, and SQLite adds it without a rebuild.
    op.add_column("ledger_entries", sa.Column("reason", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("reason")
