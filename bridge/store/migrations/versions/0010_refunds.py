"""Refunds and negative balances: ``refers_to`` links a ``reverse`` row to the earn it takes
back, and the accounts' ``CHECK (balance >= 0)`` goes.

A shop may let a refund take a balance below zero (``Policy.negative_balance``: the points
were spent, the goods came back), so the database can no longer refuse it; every debit in
``bridge.loyalty.ledger`` bounds itself at zero unless the policy says otherwise. SQLite
drops a CHECK only by rebuilding the table: ``accounts`` is referred to by no other table and
has no triggers, so its batch rebuild loses nothing.

Revision ID: 0010_refunds
Revises: 0009_lots
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_refunds"
down_revision: str | None = "0009_lots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ledger_entries", sa.Column("refers_to", sa.Integer(), nullable=True))
    op.create_index("ix_ledger_entries_refers_to", "ledger_entries", ["refers_to"])
    # Where a refund finds the sale it names: the store, till and number printed on it.
    op.create_index(
        "ix_ledger_entries_receipt_store_receipt_till_receipt_number",
        "ledger_entries",
        ["receipt_store", "receipt_till", "receipt_number"],
    )
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint("ck_accounts_balance_not_negative", type_="check")


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.create_check_constraint("balance_not_negative", "balance >= 0")
    op.drop_index(
        "ix_ledger_entries_receipt_store_receipt_till_receipt_number", table_name="ledger_entries"
    )
    op.drop_index("ix_ledger_entries_refers_to", table_name="ledger_entries")
    op.drop_column("ledger_entries", "refers_to")
