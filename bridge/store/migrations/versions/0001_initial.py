"""The first loyalty schema: customers, accounts, ledger entries, claim codes.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept here rather than imported from the models: a migration must not change when they do.
_TIME = sa.DateTime(timezone=True)
_MONEY = sa.Numeric(14, 4).with_variant(sa.String(40), "sqlite")


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        sa.UniqueConstraint("kind", "value", name="uq_customers_kind_value"),
    )
    op.create_table(
        "accounts",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.CheckConstraint("balance >= 0", name="ck_accounts_balance_not_negative"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_accounts_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("customer_id", name="pk_accounts"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(80), nullable=True),
        sa.Column("claim_code", sa.String(16), nullable=True),
        sa.Column("receipt_store", sa.String(64), nullable=True),
        sa.Column("receipt_till", sa.String(64), nullable=True),
        sa.Column("receipt_number", sa.String(64), nullable=True),
        sa.Column("receipt_issued_at", _TIME, nullable=True),
        sa.Column("receipt_total", _MONEY, nullable=True),
        sa.Column("receipt_currency", sa.String(3), nullable=True),
        sa.Column("receipt_fingerprint", sa.String(64), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_ledger_entries_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_entries"),
        sa.UniqueConstraint("idempotency_key", name="uq_ledger_entries_idempotency_key"),
    )
    op.create_index("ix_ledger_entries_customer_id", "ledger_entries", ["customer_id"])
    op.create_table(
        "claim_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(80), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("claimed_at", _TIME, nullable=True),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["claimed_by"], ["customers.id"], name="fk_claim_codes_claimed_by_customers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_claim_codes"),
        sa.UniqueConstraint("code", name="uq_claim_codes_code"),
        sa.UniqueConstraint("idempotency_key", name="uq_claim_codes_idempotency_key"),
    )


def downgrade() -> None:
    op.drop_table("claim_codes")
    op.drop_index("ix_ledger_entries_customer_id", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_table("accounts")
    op.drop_table("customers")
