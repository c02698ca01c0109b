"""Refunds on real SQLite and PostgreSQL: the named sale's earn taken back in proportion,
cumulatively across partial refunds, once per refund receipt; matching a refund that names
no sale; stopping at zero or going below it as the policy says; voids and copies earn none."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from bridge.loyalty import Ledger, PointsRule
from bridge.loyalty.earning import Policy
from bridge.store import LedgerEntry
from bridge.store.verify import verify
from parsers.receipt import Receipt, ReceiptKind

from .conftest import ReceiptFactory

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
CARD = "4000123412341234"
RULE = PointsRule()


def refund(make_receipt: ReceiptFactory, number: str, total: str, original: str | None) -> Receipt:
    return replace(
        make_receipt(number=number, total=total, kind=ReceiptKind.REFUND), original=original
    )


def test_partial_refunds_take_back_in_proportion_once_each(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    ledger.award(make_receipt(number="1", total="99.00"), RULE, NOW)
    first = refund(make_receipt, "R1", "-33.00", original="1")
    assert (ledger.award(first, RULE, NOW).points, ledger.balance(CARD)) == (-33, 66)
    again = ledger.award(first, RULE, NOW)  # the same refund resent
    assert (again.points, again.balance, again.duplicate) == (-33, 66, True)
    # Two more thirds: together never more than was earned.
    ledger.award(refund(make_receipt, "R2", "-33.00", original="1"), RULE, NOW)
    last = ledger.award(refund(make_receipt, "R3", "-50.00", original="1"), RULE, NOW)
    assert (last.points, last.balance) == (-33, 0)
    with engine.connect() as conn:
        rows = conn.execute(
            select(LedgerEntry.kind, LedgerEntry.points).order_by(LedgerEntry.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("earn", 99),
        ("reverse", -33),
        ("reverse", -33),
        ("reverse", -33),
    ]
    assert verify(engine) == []


def test_a_refund_stops_at_zero_unless_the_policy_allows_a_negative_balance(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    ledger.award(make_receipt(number="1", total="20.00"), RULE, NOW)
    ledger.adjust(CARD, -15, NOW, actor="cli", reason="spent")
    stopped = ledger.award(refund(make_receipt, "R1", "-20.00", original="1"), RULE, NOW)
    assert (stopped.points, stopped.balance) == (-5, 0)
    ledger.award(make_receipt(number="2", total="20.00"), RULE, NOW)
    ledger.adjust(CARD, -15, NOW, actor="cli", reason="spent")
    below = ledger.award(
        refund(make_receipt, "R2", "-20.00", original="2"),
        RULE,
        NOW,
        Policy(negative_balance=True),
    )
    assert (below.points, below.balance) == (-20, -15)
    assert verify(engine) == []
    # Points earned while below zero pay the debt first; no lot holds them.
    after = ledger.award(make_receipt(number="3", total="25.00"), RULE, NOW)
    assert after.balance == 10 and verify(engine) == []


def test_a_refund_without_its_sale_matches_the_same_amount_or_takes_nothing(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    ledger.award(make_receipt(number="1", total="12.50"), RULE, NOW)
    ledger.award(make_receipt(number="2", total="8.00"), RULE, NOW)
    unnamed = refund(make_receipt, "R1", "-12.5", original=None)
    assert ledger.award(unnamed, RULE, NOW, Policy(refund_without_original="none")).points == 0
    matched = ledger.award(refund(make_receipt, "R2", "-12.5", original=None), RULE, NOW)
    assert (matched.points, matched.balance) == (-12, 8)
    too_late = refund(make_receipt, "R3", "-8.00", original=None)
    assert ledger.award(too_late, RULE, NOW + timedelta(days=91)).points == 0


def test_a_refund_of_a_voided_sale_or_an_unknown_one_takes_nothing(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    sale = make_receipt(number="1", total="10.00")
    ledger.award(sale, RULE, NOW)
    ledger.void(sale, "paper out", NOW)
    assert ledger.award(refund(make_receipt, "R1", "-10.00", "1"), RULE, NOW).points == 0
    assert ledger.award(refund(make_receipt, "R2", "-10.00", "404"), RULE, NOW).points == 0


def test_voids_and_copies_earn_nothing(engine: Engine, make_receipt: ReceiptFactory) -> None:
    ledger = Ledger(engine)
    for kind in (ReceiptKind.VOID, ReceiptKind.COPY):
        assert ledger.award(make_receipt(number="9", kind=kind), RULE, NOW).points == 0
    assert ledger.balance(CARD) == 0
