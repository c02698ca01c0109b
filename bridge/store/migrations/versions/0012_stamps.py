"""Stamp cards ("10 coffees, the 11th free"): the stamps each receipt added to a customer's
card, and the stamps a filled card gave up for its voucher. A card holds the sum of its rows;
rows are only added.

Revision ID: 0012_stamps
Revises: 0011_vouchers
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_stamps"
down_revision: str | None = "0011_vouchers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stamps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.String(length=64), nullable=False),
        sa.Column("stamps", sa.Integer(), nullable=False),
        sa.Column("receipt_key", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_stamps_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_stamps"),
    )
    op.create_index("ix_stamps_customer_id", "stamps", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_stamps_customer_id", table_name="stamps")
    op.drop_table("stamps")
