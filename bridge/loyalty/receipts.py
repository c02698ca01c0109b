"""Keeping a receipt that earned, with its items, in the award's transaction.

Called by the ledger right after the earn row went in, on the same connection: a receipt is
stored exactly when its points are, and never twice (``ON CONFLICT (key) DO NOTHING``: a
reprint that earns again after a void finds its receipt stored already). Text is cut to the
columns' sizes rather than refused: a long item name must not cost the customer their points.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert

from bridge.store.models import ITEM_NAME_LENGTH, StoredItem, StoredReceipt
from parsers.receipt import Receipt


def store_receipt(
    conn: Connection,
    insert_for: Callable[..., Any],
    receipt: Receipt,
    key: str,
    customer_id: int | None,
    net: Decimal | None,
    now: datetime,
) -> bool:
    """Store ``receipt`` under ``key`` with its items; False when it was stored before."""
    receipt_id = conn.execute(
        insert_for(StoredReceipt)
        .values(
            key=key,
            store=_cut(receipt.store, 64),
            till=_cut(receipt.till, 64),
            number=_cut(receipt.number, 64),
            issued_at=receipt.issued_at,
            kind=receipt.kind.value,
            total=receipt.total,
            net=net,
            currency=receipt.currency,
            customer_id=customer_id,
            original=_cut(receipt.original, 64),
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(StoredReceipt.id)
    ).scalar_one_or_none()
    if receipt_id is None:
        return False
    if receipt.items:
        conn.execute(
            insert(StoredItem),
            [
                {
                    "receipt_id": receipt_id,
                    "line": line,
                    "name": _cut(item.name, ITEM_NAME_LENGTH) or "",
                    "qty": item.qty,
                    "amount": item.amount,
                    "sku": _cut(item.sku, 64),
                    "category": _cut(item.category, 64),
                }
                for line, item in enumerate(receipt.items, start=1)
            ],
        )
    return True


def _cut(text: str | None, length: int) -> str | None:
    return text if text is None or len(text) <= length else text[:length]
