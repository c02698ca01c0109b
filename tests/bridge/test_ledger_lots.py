"""Lots and expiry on real SQLite and PostgreSQL: the month-end rule, the soonest lot on the
receipt, debits drawing soonest-expiring first, expiry exactly once, and time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from bridge.loyalty import Ledger, PointsRule
from bridge.loyalty.earning import ExpiringPoints, Policy
from bridge.loyalty.lots import expiry_day
from bridge.store import LedgerEntry
from bridge.store.verify import verify

from .conftest import ReceiptFactory

CARD = "4000123412341234"
MONTHLY = Policy(points_expire_after_months=1)


@pytest.mark.parametrize(
    ("earned", "months", "last_day"),
    [
        (date(2026, 1, 15), 1, date(2026, 2, 15)),  # same day next month
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # or the month's last day
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # a leap year's
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),  # across a year
        (date(2026, 12, 1), 12, date(2027, 12, 1)),
        (date(2026, 5, 5), None, None),  # never
    ],
)
def test_the_month_end_rule(earned: date, months: int | None, last_day: date | None) -> None:
    assert expiry_day(earned, months) == last_day


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def test_points_expire_after_their_day_once_and_the_receipt_shows_the_soonest(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    first = ledger.award(
        make_receipt(number="1", total="10.00"), PointsRule(), at("2026-01-31"), MONTHLY
    )
    assert first.expiring == ExpiringPoints(10, date(2026, 2, 28))
    later = ledger.award(
        make_receipt(number="2", total="4.00"), PointsRule(), at("2026-02-10"), MONTHLY
    )
    assert later.expiring == ExpiringPoints(10, date(2026, 2, 28))
    assert ledger.expire(at("2026-02-28", 23)) == 0  # the last day is still good
    assert ledger.expire(at("2026-03-01", 0)) == 10
    assert ledger.expire(at("2026-03-02")) == 0  # exactly once
    assert ledger.balance(CARD) == 4
    assert ledger.expire(at("2026-03-11")) == 4
    assert ledger.balance(CARD) == 0
    with engine.connect() as conn:
        kinds = conn.execute(select(LedgerEntry.kind, LedgerEntry.points)).all()
    assert sorted(tuple(k) for k in kinds) == [
        ("earn", 4),
        ("earn", 10),
        ("expire", -10),
        ("expire", -4),
    ]
    assert verify(engine) == []


def test_a_debit_draws_the_soonest_expiring_points_first(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    ledger.award(make_receipt(number="1", total="10.00"), PointsRule(), at("2026-01-05"), MONTHLY)
    late = make_receipt(number="2", total="6.00")
    ledger.award(late, PointsRule(), at("2026-01-20"), MONTHLY)
    ledger.void(make_receipt(number="2", total="6.00"), "paper out", at("2026-01-20"))
    # The void took 6 from the lot of the 5th (soonest), leaving 4 there and 6 on the 20th's.
    assert ledger.expire(at("2026-02-06")) == 4
    assert ledger.balance(CARD) == 6
    assert verify(engine) == []


def test_a_claim_is_a_lot_too(engine: Engine, make_receipt: ReceiptFactory) -> None:
    ledger = Ledger(engine)
    code = ledger.award(
        make_receipt(number="1", total="8.00", customer=None), PointsRule(), at("2026-04-30")
    ).claim_code
    assert code is not None
    ledger.claim(code, CARD, at("2026-05-31"), policy=MONTHLY)
    assert ledger.expire(at("2026-06-30", 23)) == 0
    assert ledger.expire(at("2026-07-01")) == 8


def test_the_day_is_the_shops_when_a_zone_is_given(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine, day_zone=ZoneInfo("America/New_York"))
    # 02:00 UTC on 1 February is still 31 January in New York: good to 28 February there.
    earned = datetime(2026, 2, 1, 2, 0, tzinfo=UTC)
    outcome = ledger.award(make_receipt(number="1", total="5.00"), PointsRule(), earned, MONTHLY)
    assert outcome.expiring == ExpiringPoints(5, date(2026, 2, 28))
    # 03:00 UTC on 1 March is 22:00 on 28 February in New York: not yet.
    assert ledger.expire(datetime(2026, 3, 1, 3, 0, tzinfo=UTC)) == 0
    assert ledger.expire(datetime(2026, 3, 1, 3, 0, tzinfo=UTC) + timedelta(hours=3)) == 5


def test_points_never_expire_without_the_setting(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    outcome = ledger.award(make_receipt(total="9.00"), PointsRule(), at("2026-01-01"))
    assert outcome.expiring is None
    assert ledger.expire(at("2036-01-01")) == 0


def test_an_adjustment_is_a_lot_or_a_draw_with_actor_and_reason(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    ledger.award(make_receipt(total="5.00"), PointsRule(), at("2026-01-10"))
    added = ledger.adjust(
        CARD, 20, at("2026-01-11"), actor="cli@shop", reason="goodwill", policy=MONTHLY
    )
    assert (added.points, added.balance) == (20, 25)
    taken = ledger.adjust(CARD, -40, at("2026-01-12"), actor="cli@shop", reason="fraud")
    assert (taken.points, taken.balance) == (-25, 0)  # never below zero by default
    with engine.connect() as conn:
        rows = conn.execute(
            select(LedgerEntry.points, LedgerEntry.actor, LedgerEntry.reason)
            .where(LedgerEntry.kind == "adjust")
            .order_by(LedgerEntry.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        (20, "cli@shop", "goodwill"),
        (-25, "cli@shop", "fraud (40 points asked, 25 taken: the balance)"),
    ]
    assert verify(engine) == []
    with pytest.raises(LookupError):
        ledger.adjust("card:999999", 5, at("2026-01-12"), actor="cli", reason="typo")


def test_balances_held_before_lots_become_a_lot_that_never_expires(
    sqlite_url: str, make_receipt: ReceiptFactory
) -> None:
    from bridge.store import make_engine, migrate

    engine = make_engine(sqlite_url)
    try:
        migrate(engine, "0008_customers_identifiers")
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO customers (id, kind, value, created_at, marketing_consent) "
                f"VALUES (1, 'card', '{CARD}', '2026-01-01 00:00:00', 0)"
            )
            conn.exec_driver_sql("INSERT INTO accounts VALUES (1, 30, '2026-01-01 00:00:00')")
            conn.exec_driver_sql(
                "INSERT INTO ledger_entries (customer_id, kind, points, created_at) "
                "VALUES (1, 'earn', 30, '2026-01-01 00:00:00')"
            )
        migrate(engine)
        assert verify(engine) == []
        assert Ledger(engine).expire(at("2040-01-01")) == 0
    finally:
        engine.dispose()
