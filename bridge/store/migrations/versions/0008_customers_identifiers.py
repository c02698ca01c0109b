"""Customers as people, and the numbers they are known by as identifiers.

A customer now has a name, phone, email, birthday, marketing consent and, once forgotten,
``forgotten_at`` (their personal data erased, the ledger kept anonymised). The numbers a
receipt or a command names them by (cards, phones, loyalty ids) move to ``identifiers``: one
customer may hold several ("family card"), each number belongs to one customer
(UNIQUE (kind, value)), and a lost card is blocked there (``blocked_at``) rather than deleted.

Every customer's number is copied into ``identifiers``. ``customers.kind`` and ``value`` stay:
they are the number the customer was enrolled with, which reports, the export, the demo and
the benchmark show; lookups go through ``identifiers``. Only columns are added to
``customers``, so SQLite needs no rebuild of a table others refer to.

Revision ID: 0008_customers_identifiers
Revises: 0007_receipts
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_customers_identifiers"
down_revision: str | None = "0007_receipts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("customers", sa.Column("name", sa.String(120), nullable=True))
    op.add_column("customers", sa.Column("phone", sa.String(32), nullable=True))
    op.add_column("customers", sa.Column("email", sa.String(254), nullable=True))
    op.add_column("customers", sa.Column("birthday", sa.Date(), nullable=True))
    op.add_column(
        "customers",
        sa.Column("marketing_consent", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("customers", sa.Column("forgotten_at", _TIME, nullable=True))
    op.create_table(
        "identifiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("label", sa.String(64), nullable=True),
        sa.Column("blocked_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_identifiers_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_identifiers"),
        sa.UniqueConstraint("kind", "value", name="uq_identifiers_kind_value"),
    )
    op.create_index("ix_identifiers_customer_id", "identifiers", ["customer_id"])
    op.execute(
        "INSERT INTO identifiers (customer_id, kind, value, created_at) "
        "SELECT id, kind, value, created_at FROM customers"
    )


def downgrade() -> None:
    op.drop_index("ix_identifiers_customer_id", table_name="identifiers")
    op.drop_table("identifiers")
    with op.batch_alter_table("customers") as batch:
        for column in ("forgotten_at", "marketing_consent", "birthday", "email", "phone", "name"):
            batch.drop_column(column)
