"""Vouchers: issued when the points reach a reward, redeemed once by a later receipt that
prints the code on a discount line; flagged when used again or unknown."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, select

from bridge.loyalty import Ledger, PointsRule
from bridge.loyalty.claims import new_code
from bridge.loyalty.earning import NextReward, Policy, Reward
from bridge.store import make_engine, migrate
from bridge.store.models import LedgerEntry
from bridge.store.verify import verify
from parsers.receipt import CustomerKind, CustomerRef, Discount, Receipt, ReceiptKind

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
CARD = "4000123412341234"
POLICY = Policy(rewards=(Reward("two_euros", 20, "2 EUR voucher", Decimal(2)),))


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'v.db'}")
    migrate(engine)
    return engine


def _sale(number: int, total: str, *codes: str, card: str | None = CARD) -> Receipt:
    return Receipt(
        kind=ReceiptKind.SALE,
        store="main",
        till="front",
        number=str(number),
        issued_at=NOW,
        currency="EUR",
        total=Decimal(total),
        discounts=[Discount("Voucher", Decimal("-2.00"), code) for code in codes],
        customer=CustomerRef(CustomerKind.CARD, card) if card else None,
        raw_text=f"sale {number} {' '.join(codes)}",
    )


def test_a_voucher_is_issued_at_the_threshold_and_redeemed_once(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    try:
        ledger = Ledger(engine)
        first = ledger.award(_sale(1, "13.00"), PointsRule(), NOW, POLICY)
        assert first.vouchers == () and first.next_reward == NextReward("2 EUR voucher", 7)
        second = ledger.award(_sale(2, "13.50"), PointsRule(), NOW, POLICY)
        [voucher] = second.vouchers
        assert (voucher.label, voucher.value, second.balance) == ("2 EUR voucher", 2, 26)
        assert voucher.expires_on == (NOW + timedelta(days=90)).date()
        # Its points are reserved: no second voucher for the same points.
        third = ledger.award(_sale(3, "5.00"), PointsRule(), NOW, POLICY)
        assert third.vouchers == () and third.next_reward == NextReward("2 EUR voucher", 9)
        assert ledger.award(_sale(2, "13.50"), PointsRule(), NOW, POLICY).duplicate

        # A later receipt shows the code: redeemed, its 20 points drawn, in the same award.
        used = ledger.award(_sale(4, "8.00", voucher.code), PointsRule(), NOW, POLICY)
        assert [(u.code, u.status, u.points) for u in used.voucher_uses] == [
            (voucher.code, "redeemed", 20)
        ]
        assert used.balance == 26 + 5 + 8 - 20
        again = ledger.award(_sale(5, "4.00", voucher.code), PointsRule(), NOW, POLICY)
        assert [u.status for u in again.voucher_uses] == ["already_used"]
        assert again.balance == used.balance + 4
        unknown = new_code()
        stranger = ledger.award(
            _sale(6, "3.00", unknown, "JOE5OFF"), PointsRule(), NOW, POLICY
        )  # the till's own coupon is not ours to judge
        assert [(u.code, u.status) for u in stranger.voucher_uses] == [(unknown, "unknown")]
        with engine.connect() as conn:
            redeems = conn.execute(
                select(LedgerEntry.points).where(LedgerEntry.kind == "redeem")
            ).scalars()
            assert list(redeems) == [-20]
        assert verify(engine) == []
    finally:
        engine.dispose()


def test_two_tills_redeeming_one_voucher_at_once_redeem_it_once(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    try:
        ledger = Ledger(engine)
        [voucher] = ledger.award(_sale(1, "25.00"), PointsRule(), NOW, POLICY).vouchers
        ledger.award(_sale(2, "1.00"), PointsRule(), NOW, POLICY)
        statuses: list[str] = []
        start = threading.Barrier(2)

        def till(number: int) -> None:
            own = Ledger(engine)
            start.wait()
            outcome = own.award(_sale(number, "3.00", voucher.code), PointsRule(), NOW, POLICY)
            statuses.extend(u.status for u in outcome.voucher_uses)

        threads = [threading.Thread(target=till, args=(n,)) for n in (10, 11)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(statuses) == ["already_used", "redeemed"]
        assert ledger.balance(CustomerRef(CustomerKind.CARD, CARD)) == 25 + 1 + 3 + 3 - 20
        assert verify(engine) == []
    finally:
        engine.dispose()


def test_keep_collecting_issues_nothing_by_itself(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    try:
        keep = Policy(rewards=POLICY.rewards, reward_issue="on_request")
        outcome = Ledger(engine).award(_sale(1, "50.00"), PointsRule(), NOW, keep)
        assert outcome.vouchers == () and outcome.next_reward is None
    finally:
        engine.dispose()


def test_a_stamp_card_fills_into_a_free_item_voucher(tmp_path: Path) -> None:
    from bridge.loyalty.earning import StampProgress
    from bridge.loyalty.programme import parse_programme
    from parsers.receipt import Item

    rules = parse_programme(
        'version = "s"\n[[stamp_card]]\nid = "coffee"\nlabel = "3 coffees, a free one"\n'
        'goal = 3\nname = "(?i)coffee"\n',
        source="s.toml",
    )
    engine = _engine(tmp_path)
    try:
        ledger = Ledger(engine)

        def coffees(number: int, qty: int, *codes: str) -> Receipt:
            sale = _sale(number, f"{2 * qty}.00", *codes)
            sale.items = [Item("Coffee", Decimal(2 * qty), Decimal(qty), Decimal(2))]
            sale.discounts = [Discount("Voucher", Decimal(0), c) for c in codes]
            return sale

        first = ledger.award(coffees(1, 2), rules, NOW, rules.policy)
        assert first.stamps == (StampProgress("coffee", "3 coffees, a free one", 2, 3),)
        assert first.vouchers == ()
        second = ledger.award(coffees(2, 2), rules, NOW, rules.policy)
        assert [s.stamps for s in second.stamps] == [1]  # 4 stamps: a card filled, 1 over
        [free] = second.vouchers
        assert free.label == "3 coffees, a free one"
        used = ledger.award(coffees(3, 1, free.code), rules, NOW, rules.policy)
        assert [(u.status, u.points) for u in used.voucher_uses] == [("redeemed", 0)]
        assert used.balance == 2 * 2 + 2 * 2 + 2  # a free coffee costs no points
        assert verify(engine) == []
    finally:
        engine.dispose()
