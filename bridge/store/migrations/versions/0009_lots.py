"""Lots: points with the day they expire, and the draws that spend them.

Every credit to a customer (an earn, a claim, a positive adjust) is a lot; every debit (a
redeem, a reverse, a void, an expiry, a negative adjust) draws from the customer's lots,
soonest-expiring first, recorded in ``lot_draws``. A lot's remaining points are its points
less its draws, so both tables are insert-only like the ledger (guarded the same way).

Points held before this migration become one lot per customer that never expires: they
were earned under a programme that promised no expiry.

Revision ID: 0009_lots
Revises: 0008_customers_identifiers
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bridge.store.append_only import create_guards, drop_guards

revision: str = "0009_lots"
down_revision: str | None = "0008_customers_identifiers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "lots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.CheckConstraint("points > 0", name="ck_lots_points_positive"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_lots_customer_id_customers"
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name="fk_lots_entry_id_ledger_entries"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lots"),
    )
    op.create_index("ix_lots_customer_id", "lots", ["customer_id"])
    op.create_index("ix_lots_entry_id", "lots", ["entry_id"])
    op.create_index("ix_lots_expires_on", "lots", ["expires_on"])
    op.create_table(
        "lot_draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.CheckConstraint("points > 0", name="ck_lot_draws_points_positive"),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name="fk_lot_draws_lot_id_lots"),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name="fk_lot_draws_entry_id_ledger_entries"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lot_draws"),
    )
    op.create_index("ix_lot_draws_lot_id", "lot_draws", ["lot_id"])
    op.execute(
        "INSERT INTO lots (customer_id, points, created_at, expires_on) "
        "SELECT customer_id, balance, updated_at, NULL FROM accounts WHERE balance > 0"
    )
    create_guards(op.get_bind(), "lots")
    create_guards(op.get_bind(), "lot_draws")


def downgrade() -> None:
    drop_guards(op.get_bind(), "lot_draws")
    drop_guards(op.get_bind(), "lots")
    op.drop_table("lot_draws")
    op.drop_table("lots")
