"""Vouchers: a reward the programme issued to a customer, printed with its code, redeemed once
when a later receipt shows that code on a discount line.

A voucher is issued with the points it costs; the points are drawn from the ledger (a
``redeem`` row) in the transaction that redeems it, and ``used_at`` marks it used, once. This
table is updated (used, voided), unlike the ledger: the ledger row is the record of the
spend, this row is the voucher's state.

Revision ID: 0011_vouchers
Revises: 0010_refunds
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_vouchers"
down_revision: str | None = "0010_refunds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    money = sa.Numeric(14, 4).with_variant(sa.String(40), "sqlite")
    op.create_table(
        "vouchers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("reward_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("value", money, nullable=True),
        sa.Column("issued_at", _TIME, nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("used_at", _TIME, nullable=True),
        sa.Column("used_receipt_key", sa.String(length=80), nullable=True),
        sa.Column("voided_at", _TIME, nullable=True),
        sa.CheckConstraint("points >= 0", name="ck_vouchers_points_not_negative"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_vouchers_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_vouchers"),
        sa.UniqueConstraint("code", name="uq_vouchers_code"),
    )
    op.create_index("ix_vouchers_customer_id", "vouchers", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_vouchers_customer_id", table_name="vouchers")
    op.drop_table("vouchers")
