"""Stamp cards and coupons decided on a sale."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from bridge.loyalty.earning import CouponIssue, CustomerFacts, StampAdd
from bridge.loyalty.programme import ProgrammeError, parse_programme
from parsers.receipt import Item, Receipt, ReceiptKind

AT = datetime(2026, 12, 2, 12, tzinfo=UTC)
TEXT = """
[base]
exclude = [{ name = "(?i)coffee" }]
[[stamp_card]]
id = "coffee"
label = "10 coffees, the 11th free"
goal = 10
name = "(?i)coffee"
[[coupon]]
id = "cake"
label = "-20% on your next cake"
category = "Cakes"
valid_days = 30
[[coupon]]
id = "xmas"
label = "Christmas draw"
keyword = "FELIZ NAVIDAD"
[[coupon]]
id = "big"
label = "5 EUR off next time"
total_at_least = 50
"""


def test_stamps_count_whole_units_even_of_excluded_items() -> None:
    p = parse_programme(TEXT)
    r = Receipt(items=[Item("Coffee", D("5.00"), qty=D(2))], total=D("5.00"))
    e = p.earn(r, CustomerFacts(), AT)
    assert e.points == 0
    assert e.stamps == (StampAdd("coffee", "10 coffees, the 11th free", 2, 10),)
    assert e.coupons == ()


def test_coupons_by_category_keyword_and_total() -> None:
    p = parse_programme(TEXT)
    r = Receipt(
        items=[Item("Tarta", D("49.99"), category="cakes")],
        total=D("49.99"),
        raw_text="... Feliz Navidad ...",
    )
    got = p.earn(r, CustomerFacts(), AT).coupons
    assert got == (
        CouponIssue("cake", "-20% on your next cake", 30),
        CouponIssue("xmas", "Christmas draw"),
    )
    r = Receipt(items=[Item("Ham", D("50.00"))], total=D("50.00"))
    assert [c.coupon_id for c in p.earn(r, CustomerFacts(), AT).coupons] == ["big"]


def test_refund_gives_no_stamps_or_coupons() -> None:
    p = parse_programme(TEXT)
    r = Receipt(kind=ReceiptKind.REFUND, items=[Item("Coffee", D("-2.50"))], total=D("-2.50"))
    e = p.earn(r, CustomerFacts(), AT)
    assert (e.points, e.stamps, e.coupons) == (0, (), ())


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('[[stamp_card]]\nid = "a"\nname = "x"', "stamp_card[0]", "needs a goal"),
        ('[[stamp_card]]\nid = "a"\nname = "x"\ngoal = 0', "stamp_card[0].goal", "at least 1"),
        ('[[coupon]]\nid = "a"', "coupon[0]", "needs a trigger"),
    ],
)
def test_errors(text: str, key: str, message: str) -> None:
    with pytest.raises(ProgrammeError) as info:
        parse_programme(text)
    assert info.value.key == key and message in info.value.message
