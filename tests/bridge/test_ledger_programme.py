"""The programme's ledger on real SQLite and PostgreSQL: the rules' facts read in the award,
the rule version and amount recorded, duplicates showing today's balance, insert-only rows
enforced by the database, and ``verify`` finding a cache that disagrees with its ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.exc import DBAPIError

from bridge.loyalty import Ledger
from bridge.loyalty.earning import CustomerFacts, Earning, Part
from bridge.store import Account, LedgerEntry
from bridge.store.verify import Mismatch, verify
from parsers.receipt import Receipt

from .conftest import ReceiptFactory

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
CARD = "4000123412341234"


@dataclass
class Recording:
    """A rule set that gives 10 points (+5 on a first purchase) and notes what it was told."""

    version: str = "test-1"
    seen: list[CustomerFacts] = field(default_factory=list)

    def earn(self, receipt: Receipt, facts: CustomerFacts, at: datetime) -> Earning:
        self.seen.append(facts)
        parts = [Part("base", 10, "Points", Decimal("8.00"))]
        if facts.first_purchase:
            parts.append(Part("welcome", 5, "Welcome"))
        return Earning(sum(p.points for p in parts), self.version, Decimal("8.00"), tuple(parts))


def test_the_rules_see_first_purchase_and_points_today(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    rules, ledger = Recording(), Ledger(engine)
    first = ledger.award(make_receipt(number="1"), rules, NOW)
    ledger.award(make_receipt(number="2"), rules, NOW + timedelta(hours=1))
    ledger.award(make_receipt(number="3"), rules, NOW + timedelta(days=1))
    assert [(f.first_purchase, f.points_today) for f in rules.seen] == [
        (True, 0),
        (False, 15),
        (False, 0),  # a new UTC day
    ]
    assert [p.rule_id for p in first.parts] == ["base", "welcome"]
    assert (first.points, first.balance) == (15, 15)


def test_today_is_the_shops_day_when_a_zone_is_given(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    rules = Recording()
    ledger = Ledger(engine, day_zone=ZoneInfo("Pacific/Auckland"))  # UTC+13 in November
    ledger.award(make_receipt(number="1"), rules, datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    # 11:30 UTC is 00:30 next day in Auckland: a new day there, the same day in UTC.
    ledger.award(make_receipt(number="2"), rules, datetime(2026, 11, 23, 11, 30, tzinfo=UTC))
    assert rules.seen[1].points_today == 0


def test_a_voided_first_purchase_is_still_a_first_purchase(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    rules, ledger = Recording(), Ledger(engine)
    receipt = make_receipt(number="1")
    ledger.award(receipt, rules, NOW)
    ledger.void(receipt, "paper out", NOW)
    again = ledger.award(receipt, rules, NOW)  # the reprint, next generation
    assert (again.points, again.balance) == (15, 15)
    assert rules.seen[1].first_purchase and rules.seen[1].points_today == 0


def test_the_earn_row_records_the_rule_version_and_amount(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    Ledger(engine).award(make_receipt(), Recording(version="rules-2026-12"), NOW)
    with engine.connect() as conn:
        row = conn.execute(select(LedgerEntry.rule_version, LedgerEntry.based_on)).one()
    assert tuple(row) == ("rules-2026-12", Decimal("8.00"))


def test_a_resend_shows_its_first_points_and_the_balance_now(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger, rules = Ledger(engine), Recording()
    first = ledger.award(make_receipt(number="1"), rules, NOW)
    for number in "234567":
        ledger.award(make_receipt(number=number), rules, NOW)
    again = ledger.award(make_receipt(number="1"), rules, NOW)
    assert (first.points, first.balance) == (15, 15)
    assert (again.points, again.balance, again.duplicate) == (15, 75, True)


def test_a_receipt_that_earns_nothing_enrols_nobody(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    class Nothing(Recording):
        def earn(self, receipt: Receipt, facts: CustomerFacts, at: datetime) -> Earning:
            return Earning(0, self.version)

    outcome = Ledger(engine).award(make_receipt(), Nothing(), NOW)
    assert (outcome.points, outcome.balance, outcome.customer) == (0, 0, CARD)
    with engine.connect() as conn:
        assert conn.execute(select(Account)).first() is None


@pytest.mark.parametrize(
    "change",
    [
        update(LedgerEntry).values(points=1000),
        delete(LedgerEntry),
    ],
    ids=["update", "delete"],
)
def test_ledger_rows_cannot_be_changed_or_removed(
    engine: Engine, make_receipt: ReceiptFactory, change: object
) -> None:
    Ledger(engine).award(make_receipt(), Recording(), NOW)
    with pytest.raises(DBAPIError, match="insert-only"), engine.begin() as conn:
        conn.execute(change)  # type: ignore[call-overload]
    with engine.connect() as conn:
        assert conn.execute(select(LedgerEntry.points)).scalars().all() == [15]


def test_ledger_rows_cannot_be_truncated_on_postgresql(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE: its DELETE is guarded row by row")
    Ledger(engine).award(make_receipt(), Recording(), NOW)
    with pytest.raises(DBAPIError, match="insert-only"), engine.begin() as conn:
        conn.execute(text("TRUNCATE ledger_entries CASCADE"))


def test_verify_finds_a_cached_balance_that_disagrees(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    ledger.award(make_receipt(number="1"), Recording(), NOW)
    ledger.award(make_receipt(number="2", customer="999"), Recording(), NOW)
    assert verify(engine) == []
    with engine.begin() as conn:  # a hand edit of the cache (the ledger itself refuses one)
        customer_id = conn.execute(select(Account.customer_id).limit(1)).scalar_one()
        conn.execute(update(Account).where(Account.customer_id == customer_id).values(balance=40))
    assert verify(engine) == [Mismatch(customer_id, "balance", 40, 15)]
