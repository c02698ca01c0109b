"""The ledger on a real SQLite file and a real PostgreSQL server: exactly-once under repeats,
under concurrency, claim codes credited once, and a clear error when the database is gone."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar
from unittest.mock import ANY

import pytest
from sqlalchemy import Engine, func, select

from bridge.loyalty import (
    AlreadyClaimed,
    InvalidClaimCode,
    Ledger,
    Outcome,
    PointsRule,
    UnknownClaimCode,
)
from bridge.loyalty.earning import Part
from bridge.store import Account, ClaimCode, Customer, LedgerEntry, StoreUnavailable, make_engine
from parsers.receipt import CustomerKind, CustomerRef, ReceiptKind

from .conftest import ReceiptFactory

RULE = PointsRule()
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
CARD = "4000123412341234"
T = TypeVar("T")


def entries(engine: Engine) -> list[tuple[str, int, int | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(LedgerEntry.kind, LedgerEntry.points, LedgerEntry.balance_after).order_by(
                LedgerEntry.id
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def account_sums_agree(engine: Engine) -> bool:
    """Each account's balance is the sum of its customer's ledger entries."""
    with engine.connect() as conn:
        balances = dict(conn.execute(select(Account.customer_id, Account.balance)).all())
        sums = dict(
            conn.execute(
                select(LedgerEntry.customer_id, func.sum(LedgerEntry.points))
                .where(LedgerEntry.customer_id.is_not(None))
                .group_by(LedgerEntry.customer_id)
            ).all()
        )
    return balances == sums


def in_threads(count: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` in ``count`` threads released together; re-raise the first error."""
    barrier = threading.Barrier(count)
    results: list[T | None] = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]


def test_a_sale_earns_and_the_balance_grows(engine: Engine, make_receipt: ReceiptFactory) -> None:
    ledger = Ledger(engine)
    first = ledger.award(make_receipt(number="1", total="12.99"), RULE, NOW)
    second = ledger.award(make_receipt(number="2", total="7.50"), RULE, NOW)
    assert first == Outcome(
        12, 12, CARD, None, False, parts=(Part("base", 12, "Points", Decimal("12.99")),)
    )
    assert second == Outcome(7, 19, CARD, None, False, parts=ANY)
    assert ledger.balance(CARD) == 19
    assert entries(engine) == [("earn", 12, 12), ("earn", 7, 19)]
    assert account_sums_agree(engine)


def test_a_resent_receipt_gives_its_first_points_the_current_balance_and_no_points(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    receipt = make_receipt(number="1", total="20.00")
    first = ledger.award(receipt, RULE, NOW)
    ledger.award(make_receipt(number="2", total="5.00"), RULE, NOW)
    again = ledger.award(make_receipt(number="1", total="20.00"), RULE, NOW)
    # The first print's points, but the balance as it is now: the first award's balance (20)
    # would tell the customer a figure that is no longer true (issue 8).
    assert again == Outcome(20, 25, CARD, None, True)
    assert first == Outcome(20, 20, CARD, None, False, parts=ANY)
    assert ledger.balance(CARD) == 25
    assert len(entries(engine)) == 2


def test_receipts_that_do_not_earn_write_nothing_but_show_the_balance(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    ledger.award(make_receipt(number="1", total="10.00"), RULE, NOW)
    for receipt in (
        make_receipt(number="2", kind=ReceiptKind.REFUND),
        make_receipt(number="1", total="10.00", kind=ReceiptKind.COPY),
        make_receipt(number="3", problems=["tenders less change 5 != total 12.99"]),
    ):
        assert ledger.award(receipt, RULE, NOW) == Outcome(0, 10, CARD, None, False)
    assert ledger.award(make_receipt(number="4", total="0.50"), RULE, NOW).points == 0
    assert ledger.award(
        make_receipt(number="5", customer=None, kind=ReceiptKind.VOID), RULE, NOW
    ) == (Outcome(0, None, None, None, False))
    assert len(entries(engine)) == 1


def test_customers_are_told_apart_by_kind_and_value(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    ledger.award(make_receipt(number="1", total="3.00", customer="111"), RULE, NOW)
    ledger.award(make_receipt(number="2", total="4.00", customer="222"), RULE, NOW)
    assert (ledger.balance("111"), ledger.balance("222"), ledger.balance("333")) == (3, 4, 0)


def test_the_ledger_stores_the_receipt_and_aware_utc_times(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    receipt = make_receipt(number="9", total="12.99")
    Ledger(engine).award(receipt, RULE, NOW)
    with engine.connect() as conn:
        row = conn.execute(select(LedgerEntry)).one()
    assert (row.receipt_store, row.receipt_till, row.receipt_number) == ("S01", "2", "9")
    assert row.receipt_total == receipt.total
    assert row.receipt_issued_at == receipt.issued_at
    assert row.receipt_fingerprint == receipt.fingerprint
    assert row.created_at == NOW
    assert row.created_at.tzinfo is not None


def test_naive_now_is_refused(engine: Engine, make_receipt: ReceiptFactory) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Ledger(engine).award(make_receipt(), RULE, datetime(2026, 11, 23, 9, 30))


def test_concurrent_awards_are_exact(engine: Engine, make_receipt: ReceiptFactory) -> None:
    """Eight threads at once: each sends the same shared receipt three times and three
    receipts of its own. Exactly one award of the shared receipt, and every other once."""
    ledger = Ledger(engine)
    shared = make_receipt(number="SHARED", total="100.00")

    def work(i: int) -> list[Outcome]:
        outcomes = []
        for j in range(3):
            outcomes.append(ledger.award(shared, RULE, NOW))
            outcomes.append(ledger.award(make_receipt(number=f"{i}-{j}", total="1.99"), RULE, NOW))
        return outcomes

    outcomes = [o for batch in in_threads(8, work) for o in batch]
    shared_outcomes = [o for o in outcomes if o.points == 100]
    assert len(shared_outcomes) == 24
    assert sum(not o.duplicate for o in shared_outcomes) == 1
    # Every resend shows the balance as it was when it was answered: never below the first
    # award's, never above the final one.
    first = next(o for o in shared_outcomes if not o.duplicate)
    assert all(
        first.balance <= o.balance <= 100 + 8 * 3  # type: ignore[operator]
        for o in shared_outcomes
    )
    assert ledger.balance(CARD) == 100 + 8 * 3 * 1
    assert len(entries(engine)) == 1 + 24
    # Every balance printed was a real, distinct step of the account.
    firsts = sorted(o.balance for o in outcomes if not o.duplicate and o.balance is not None)
    assert len(set(firsts)) == len(firsts) == 25
    assert account_sums_agree(engine)


def test_concurrent_new_customers_are_created_once(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    in_threads(6, lambda i: ledger.award(make_receipt(number=str(i), total="2.00"), RULE, NOW))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Customer)).scalar_one() == 1
    assert ledger.balance(CARD) == 12


def test_a_sale_without_a_customer_gets_a_claim_code_credited_once(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    sale = make_receipt(number="7", total="15.40", customer=None)
    printed = ledger.award(sale, RULE, NOW)
    assert (printed.points, printed.balance, printed.customer, printed.duplicate) == (
        15,
        None,
        None,
        False,
    )
    assert printed.claim_code is not None
    # A resend prints the same code, and makes no second one.
    assert ledger.award(sale, RULE, NOW) == Outcome(15, None, None, printed.claim_code, True)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ClaimCode)).scalar_one() == 1

    ledger.award(make_receipt(number="8", total="5.00"), RULE, NOW)
    typed = printed.claim_code.lower().replace("-", " ")
    claimed = ledger.claim(typed, "4000 1234 1234 1234", NOW)
    assert claimed == Outcome(15, 20, CARD, printed.claim_code, False)
    with pytest.raises(AlreadyClaimed, match="already claimed"):
        ledger.claim(printed.claim_code, CARD, NOW)
    with pytest.raises(AlreadyClaimed):
        ledger.claim(printed.claim_code, "5555", NOW)
    assert ledger.balance(CARD) == 20
    assert ledger.balance("5555") == 0
    assert account_sums_agree(engine)
    with engine.connect() as conn:
        claim = conn.execute(select(ClaimCode)).one()
        assert claim.claimed_at == NOW
        claim_entry = conn.execute(select(LedgerEntry).where(LedgerEntry.kind == "claim")).one()
    assert claim_entry.receipt_number == "7"
    assert claim_entry.claim_code == printed.claim_code


def test_a_claim_typed_as_a_number_goes_to_the_customer_known_by_it(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    """A shop that knows its customers by phone: the number typed at the claim is that phone,
    not a new card; ``card:``/``phone:`` say which when a number is both."""
    ledger = Ledger(engine)
    phone = CustomerRef(CustomerKind.PHONE, "601234567")
    ledger.award(replace(make_receipt(number="1", total="10.00"), customer=phone), RULE, NOW)
    first = ledger.award(make_receipt(number="2", total="4.00", customer=None), RULE, NOW)
    second = ledger.award(make_receipt(number="3", total="6.00", customer=None), RULE, NOW)
    assert first.claim_code and second.claim_code
    claimed = ledger.claim(first.claim_code, "601 234 567", NOW)
    assert (claimed.points, claimed.balance) == (4, 14)
    assert ledger.balance(phone) == 14
    # Explicitly a card: a card account of its own, even with the same digits.
    as_card = ledger.claim(second.claim_code, "card:601234567", NOW)
    assert (as_card.points, as_card.balance) == (6, 6)
    assert ledger.balance(phone) == 14
    assert ledger.balance(CustomerRef(CustomerKind.CARD, "601234567")) == 6
    # Now the digits name two customers: typed bare, they mean a card; the prefix chooses.
    assert ledger.balance("601234567") == 6
    assert ledger.balance("phone:601234567") == 14


def test_unknown_and_malformed_codes_are_refused(engine: Engine) -> None:
    ledger = Ledger(engine)
    with pytest.raises(UnknownClaimCode):
        ledger.claim("K7QM-3XPA", CARD, NOW)
    with pytest.raises(InvalidClaimCode):
        ledger.claim("K7QM-3XP0", CARD, NOW)
    assert entries(engine) == []


def test_concurrent_claims_of_one_code_credit_once(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    code = ledger.award(
        make_receipt(number="1", total="30.00", customer=None), RULE, NOW
    ).claim_code
    assert code is not None

    def claim(i: int) -> str:
        try:
            ledger.claim(code, f"card{i % 2}", NOW)
            return "credited"
        except AlreadyClaimed:
            return "refused"

    assert sorted(in_threads(6, claim)) == ["credited"] + ["refused"] * 5
    assert ledger.balance("card0") + ledger.balance("card1") == 30
    assert account_sums_agree(engine)


def test_a_missing_sqlite_folder_is_unavailable(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'not-there' / 'tillbridge.sqlite'}")
    ledger = Ledger(engine)
    with pytest.raises(StoreUnavailable, match="unavailable"):
        ledger.award(make_receipt(), RULE, NOW)
    with pytest.raises(StoreUnavailable):
        ledger.claim("K7QM-3XPA", CARD, NOW)
    engine.dispose()


def test_an_unmigrated_database_is_not_taken_for_an_unavailable_one(
    sqlite_url: str, make_receipt: ReceiptFactory
) -> None:
    # A missing table is a deployment bug, not an outage: it must not be journaled forever.
    engine = make_engine(sqlite_url)
    with pytest.raises(Exception) as caught:
        Ledger(engine).award(make_receipt(), RULE, NOW)
    assert not isinstance(caught.value, StoreUnavailable)
    engine.dispose()


def test_a_postgresql_server_that_is_not_there_is_unavailable(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    engine = make_engine(f"postgresql://postgres@/postgres?host={tmp_path}&connect_timeout=2")
    with pytest.raises(StoreUnavailable):
        Ledger(engine).award(make_receipt(), RULE, NOW)
    engine.dispose()
