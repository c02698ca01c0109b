"""Receipts kept with their items: what was bought, by whom, for how much.

One ``receipts`` row per receipt that earned (keyed by its idempotency key, so a resend or a
reprint after a void adds nothing), and its ``receipt_items``, written in the award's
transaction. ``net`` is the amount the rules counted (no tips, service charges or deposits);
``original`` the number a refund, void or copy refers to, as printed. The ledger rows keep
their own copy of the receipt's key figures, as before: they are the evidence, these tables
the shop's view of its sales.

Revision ID: 0007_receipts
Revises: 0006_programme_ledger
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_receipts"
down_revision: str | None = "0006_programme_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)
_MONEY = sa.Numeric(14, 4).with_variant(sa.String(40), "sqlite")
_QTY = sa.Numeric(14, 4).with_variant(sa.String(40), "sqlite")


def upgrade() -> None:
    op.create_table(
        "receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("store", sa.String(64), nullable=True),
        sa.Column("till", sa.String(64), nullable=True),
        sa.Column("number", sa.String(64), nullable=True),
        sa.Column("issued_at", _TIME, nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("total", _MONEY, nullable=True),
        sa.Column("net", _MONEY, nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("original", sa.String(64), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_receipts_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_receipts"),
        sa.UniqueConstraint("key", name="uq_receipts_key"),
    )
    op.create_index("ix_receipts_customer_id", "receipts", ["customer_id"])
    # A refund finds the sale it refers to by where it was printed and its number.
    op.create_index("ix_receipts_store_till_number", "receipts", ["store", "till", "number"])
    op.create_table(
        "receipt_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("qty", _QTY, nullable=False),
        sa.Column("amount", _MONEY, nullable=False),
        sa.Column("sku", sa.String(64), nullable=True),
        sa.Column("category", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["receipt_id"], ["receipts.id"], name="fk_receipt_items_receipt_id_receipts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_receipt_items"),
        sa.UniqueConstraint("receipt_id", "line", name="uq_receipt_items_receipt_id"),
    )


def downgrade() -> None:
    op.drop_table("receipt_items")
    op.drop_index("ix_receipts_store_till_number", table_name="receipts")
    op.drop_index("ix_receipts_customer_id", table_name="receipts")
    op.drop_table("receipts")
