"""Properties of the ledger on a real SQLite file (and the repeat test on PostgreSQL too):
after any sequence of earns, refunds, voids, adjustments and expiries, each cached balance is
its ledger's sum and the lots hold it; a receipt sent 100 times earns once."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from bridge.loyalty import Ledger, PointsRule
from bridge.loyalty.earning import Policy
from bridge.store import make_engine, migrate
from bridge.store.verify import verify
from parsers.receipt import Receipt, ReceiptKind

from .conftest import ReceiptFactory


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    """One SQLite file for the whole search (each example has a customer of its own): the
    search runs on one database; the SQL is the same on PostgreSQL, tested elsewhere."""
    engine = make_engine(sqlite_url)
    migrate(engine)
    yield engine
    engine.dispose()


START = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)
RULE = PointsRule()
_cards = itertools.count(1)

amounts = st.decimals(min_value=Decimal("0.50"), max_value=Decimal("80"), places=2)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), amounts),
        st.tuples(st.just("refund"), amounts),
        st.tuples(st.just("void"), st.integers(0, 10)),
        st.tuples(st.just("adjust"), st.integers(-60, 60)),
        st.tuples(st.just("expire"), st.integers(1, 3)),
    ),
    max_size=14,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=steps, negative=st.booleans())
def test_balances_and_lots_agree_with_the_ledger_after_anything(
    sqlite_engine: Engine,
    make_receipt: ReceiptFactory,
    steps: list[tuple[str, object]],
    negative: bool,
) -> None:
    engine = sqlite_engine
    card = f"9{next(_cards):015d}"  # a customer of this example's own
    ledger = Ledger(engine)
    policy = Policy(points_expire_after_months=1, negative_balance=negative)
    now = START
    enrol = make_receipt(number=f"{card}-0", total="10.00", customer=card)
    ledger.award(enrol, RULE, now, policy)  # adjustments need a known customer
    sales = [enrol]
    for i, (what, value) in enumerate(steps):
        now += timedelta(days=9)
        if what == "earn":
            sale = make_receipt(number=f"{card}-{i}", total=str(value), customer=card)
            ledger.award(sale, RULE, now, policy)
            sales.append(sale)
        elif what == "refund" and sales:
            back = make_receipt(
                number=f"{card}-r{i}", total=f"-{value}", customer=card, kind=ReceiptKind.REFUND
            )
            ledger.award(replace(back, original=sales[-1].number), RULE, now, policy)
        elif what == "void" and sales:
            ledger.void(sales[int(value) % len(sales)], "property test", now)  # type: ignore[call-overload]
        elif what == "adjust" and value:
            ledger.adjust(card, int(value), now, actor="test", reason="any", policy=policy)  # type: ignore[call-overload]
        elif what == "expire":
            ledger.expire(now + timedelta(days=31 * int(value)))  # type: ignore[call-overload]
            now += timedelta(days=31 * int(value))  # type: ignore[call-overload]
    assert verify(engine) == []
    if not negative:
        assert ledger.balance(card) >= 0


def test_the_same_receipt_sent_100_times_earns_once(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    receipt = make_receipt(number="1", total="7.00")
    outcomes = [ledger.award(receipt, RULE, START) for _ in range(100)]
    assert [o.duplicate for o in outcomes] == [False] + [True] * 99
    assert {o.points for o in outcomes} == {7}
    assert ledger.balance("4000123412341234") == 7 and verify(engine) == []


def _award_many(url: str, first: int, count: int) -> None:
    """A child process: its own engine, ``count`` receipts to one account."""
    from decimal import Decimal as D

    from parsers.receipt import CustomerKind, CustomerRef, Receipt

    engine = make_engine(url)
    ledger = Ledger(engine)
    for n in range(first, first + count):
        receipt = Receipt(
            store="S01",
            till="P",
            number=str(n),
            issued_at=START,
            currency="EUR",
            total=D("3.00"),
            customer=CustomerRef(CustomerKind.CARD, "4000123412341234"),
            raw_text=f"process receipt {n}",
        )
        ledger.award(receipt, RULE, START)
    engine.dispose()


def test_two_processes_awarding_to_one_account_on_postgresql_lose_no_update(
    pg_url: str,
) -> None:
    import multiprocessing

    engine = make_engine(pg_url)
    migrate(engine)
    Ledger(engine).award(  # the customer exists before the race: the race is on the balance
        _receipt_for_race(), RULE, START
    )
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_award_many, args=(pg_url, 1000 * (i + 1), 25)) for i in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    assert Ledger(engine).balance("4000123412341234") == 3 + 2 * 25 * 3
    assert verify(engine) == []
    engine.dispose()


def _receipt_for_race() -> Receipt:
    from parsers.receipt import CustomerKind, CustomerRef

    return Receipt(
        store="S01",
        till="P",
        number="0",
        issued_at=START,
        currency="EUR",
        total=Decimal("3.00"),
        customer=CustomerRef(CustomerKind.CARD, "4000123412341234"),
        raw_text="process receipt 0",
    )
