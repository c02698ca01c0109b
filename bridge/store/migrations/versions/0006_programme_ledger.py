"""The programme's ledger rows: who decided (rule version), on what amount, by whom and why;
and the ledger made insert-only by the database itself.

Ledger kinds are now earn, claim, adjust, void (as before) and redeem, reverse, expire (the
programme's spends, refunds taken back and expired points). ``kind`` stays a free string
column: a CHECK listing the kinds would need a table rebuild on SQLite for every new kind.

``rule_version`` and ``based_on`` say, for an earn, which rules file decided and the net
amount it counted (a later refund takes back in proportion to it). ``actor`` names who made a
manual row (an adjust: ``cli@host``); ``reason`` (0004) says why.

All nullable: old rows have none of it, and SQLite adds such columns without a rebuild, so
the triggers made here are the table's only ones and nothing copies the table afterwards.

Revision ID: 0006_programme_ledger
Revises: 0005_identifiers
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bridge.store.append_only import create_guards, drop_guards

revision: str = "0006_programme_ledger"
down_revision: str | None = "0005_identifiers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MONEY = sa.Numeric(14, 4).with_variant(sa.String(40), "sqlite")


def upgrade() -> None:
    op.add_column("ledger_entries", sa.Column("rule_version", sa.String(80), nullable=True))
    op.add_column("ledger_entries", sa.Column("based_on", _MONEY, nullable=True))
    op.add_column("ledger_entries", sa.Column("actor", sa.String(64), nullable=True))
    # An award reads the customer's earns of the day (a daily cap) and whether they have any
    # (a first-purchase bonus): one index range instead of all their rows.
    op.create_index(
        "ix_ledger_entries_customer_id_kind_created_at",
        "ledger_entries",
        ["customer_id", "kind", "created_at"],
    )
    create_guards(op.get_bind(), "ledger_entries")


def downgrade() -> None:
    drop_guards(op.get_bind(), "ledger_entries")
    op.drop_index("ix_ledger_entries_customer_id_kind_created_at", table_name="ledger_entries")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("actor")
        batch.drop_column("based_on")
        batch.drop_column("rule_version")
