"""An Outcome with every field the message can show, for the message tests."""

from __future__ import annotations

from datetime import date

from bridge.loyalty import Outcome
from bridge.loyalty.earning import (
    ExpiringPoints,
    IssuedVoucher,
    NextReward,
    Part,
    StampProgress,
    VoucherUse,
)

LANGUAGE_CODES = ("en", "es", "fr", "de", "pl")
WIDTHS = (32, 42, 48)
EXTRAS = {"tier": "Gold", "points_month": 2210, "points_year": 18004}


def full_outcome(points: int = 1404, balance: int = 123456) -> Outcome:
    return Outcome(
        points,
        balance,
        "4000123412345678",
        None,
        False,
        parts=(Part("base", 1354, "Base"), Part("tuesday", 50, "Double points Tuesday")),
        vouchers=(IssuedVoucher("V-5K2Q9", "5 € voucher", None, date(2027, 3, 31)),),
        voucher_uses=(
            VoucherUse("V-7XK2P", "redeemed", 500),
            VoucherUse("V-1AAAA", "already_used"),
            VoucherUse("V-2BBBB", "unknown"),
            VoucherUse("V-3CCCC", "expired"),
            VoucherUse("V-4DDDD", "void"),
        ),
        stamps=(StampProgress("coffee", "Coffee card", 7, 10),),
        expiring=ExpiringPoints(120, date(2027, 1, 31)),
        next_reward=NextReward("5 € voucher", 96),
    )
