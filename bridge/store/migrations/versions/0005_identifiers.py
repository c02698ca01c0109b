"""Customers' numbers in the one stored form (``parsers.identifiers.normalise_identifier``).

Before, a card or phone was stored with its spaces and dashes removed and nothing else:
``rl-000451`` typed at a claim, ``518.555.0199`` printed. Now cards also lose dots, slashes
and brackets and are upper-cased, and phones keep only their digits (and a leading ``+``).
Without this step a customer stored the old way would be a stranger to the next receipt
printing the same number, and their balance out of reach.

Two customers whose numbers become the same (``RL-1`` and ``rl1`` stored apart before) are
left as they were, with a warning: joining them moves points, a decision for the shop.

Revision ID: 0005_identifiers
Revises: 0004_entry_reason
Create Date: 2026-12-02
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from parsers.identifiers import normalise_identifier
from parsers.receipt import CustomerKind

revision: str = "0005_identifiers"
down_revision: str | None = "0004_entry_reason"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

_customers = sa.table(
    "customers",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("value", sa.String),
)


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_customers.c.id, _customers.c.kind, _customers.c.value)).all()
    taken = {(row.kind, row.value) for row in rows}
    kinds = {kind.value: kind for kind in CustomerKind}
    for row in rows:
        kind = kinds.get(row.kind)
        if kind is None:
            continue
        value = normalise_identifier(row.value, kind)
        if not value or value == row.value:
            continue
        if (row.kind, value) in taken:
            log.warning(
                "customer %d (%s %s) left as stored: another customer is %s; merge them by hand",
                row.id,
                row.kind,
                row.value[-4:].rjust(len(row.value), "*"),
                value[-4:].rjust(len(value), "*"),
            )
            continue
        conn.execute(sa.update(_customers).where(_customers.c.id == row.id).values(value=value))
        taken.discard((row.kind, row.value))
        taken.add((row.kind, value))


def downgrade() -> None:
    # The old forms are not kept: each number stays in its one stored form.
    pass
