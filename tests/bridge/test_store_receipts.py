"""Receipts kept with their items, once, in the award's transaction (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine, func, select

from bridge.loyalty import Ledger, PointsRule
from bridge.store.models import StoredItem, StoredReceipt
from parsers.receipt import Item

from .conftest import ReceiptFactory

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def test_an_earning_receipt_is_stored_once_with_its_items(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    receipt = replace(
        make_receipt(number="77", total="12.50"),
        items=[
            Item("Coffee", Decimal("2.50"), Decimal(2), sku="100", category="drinks"),
            Item("Cake " * 40, Decimal("7.50")),  # a name longer than the column: cut, kept
        ],
    )
    ledger = Ledger(engine)
    ledger.award(receipt, PointsRule(), NOW)
    ledger.award(receipt, PointsRule(), NOW)  # a resend
    ledger.void(receipt, "paper out", NOW)
    ledger.award(receipt, PointsRule(), NOW)  # the reprint earns again: stored already
    with engine.connect() as conn:
        stored = conn.execute(select(StoredReceipt)).one()
        items = conn.execute(select(StoredItem).order_by(StoredItem.line)).all()
        assert conn.execute(select(func.count()).select_from(StoredReceipt)).scalar_one() == 1
    assert (stored.store, stored.till, stored.number, stored.kind) == ("S01", "2", "77", "sale")
    assert (stored.total, stored.net, stored.currency) == (Decimal("12.50"),) * 2 + ("EUR",)
    assert stored.issued_at == receipt.issued_at and stored.customer_id is not None
    assert [(i.line, i.qty, i.amount, i.sku, i.category) for i in items] == [
        (1, Decimal(2), Decimal("2.50"), "100", "drinks"),
        (2, Decimal(1), Decimal("7.50"), None, None),
    ]
    assert len(items[1].name) == 120


def test_a_claim_code_receipt_is_stored_without_a_customer_and_no_earn_stores_nothing(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    ledger.award(make_receipt(number="1", customer=None), PointsRule(), NOW)
    ledger.award(make_receipt(number="2", total="0.40"), PointsRule(), NOW)  # earns 0
    with engine.connect() as conn:
        rows = conn.execute(select(StoredReceipt.number, StoredReceipt.customer_id)).all()
    assert [tuple(r) for r in rows] == [("1", None)]
