"""Programme.earn: one test per rule kind, hand-computed; caps; campaign boundaries."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.loyalty.earning import CustomerFacts, EarningRules, refund_points
from bridge.loyalty.programme import default_programme, parse_programme
from bridge.loyalty.rules import PointsRule
from parsers.receipt import Deposit, Discount, Item, Receipt, ReceiptKind, Tax

MADRID = ZoneInfo("Europe/Madrid")
AT = datetime(2026, 12, 2, 10, 0, tzinfo=MADRID)  # a Wednesday
FACTS = CustomerFacts()


def sale(*items: Item, **kw: object) -> Receipt:
    goods = sum((i.amount for i in items), D(0))
    discounts = kw.get("discounts", [])
    total = goods + sum((d.amount for d in discounts), D(0))  # type: ignore[union-attr]
    total += (kw.get("tip") or D(0)) + sum((d.amount for d in kw.get("deposits", [])), D(0))  # type: ignore[operator,union-attr]
    return Receipt(items=list(items), total=total, **kw)  # type: ignore[arg-type]


def test_default_matches_points_rule() -> None:
    r = sale(Item("Bread", D("12.70")), Item("Milk", D("3.10")))
    assert default_programme().earn(r, FACTS, AT).points == PointsRule().points_for(r) == 15


def test_base_excludes_tip_deposits_and_excluded_items() -> None:
    p = parse_programme('[base]\npoints_per_unit = 2\nexclude = [{name = "(?i)tobacco"}]')
    r = sale(
        Item("Cake", D("10.00")),
        Item("Tobacco", D("5.00")),
        tip=D("3.00"),
        deposits=[Deposit("Pfand", D("0.25"))],
    )
    e = p.earn(r, FACTS, AT)
    assert e.points == 20 and e.based_on == D("10.00")


def test_discounts_share_over_items() -> None:
    r = sale(Item("A", D("8.00")), Item("B", D("2.00")), discounts=[Discount("-10%", D("-1.00"))])
    assert default_programme().earn(r, FACTS, AT).points == 9


def test_tax_excluded_setting_takes_tax_out() -> None:
    p = parse_programme('tax = "excluded"')
    r = sale(Item("A", D("121.00")), taxes=[Tax(D(21), D("21.00"))])
    assert p.earn(r, FACTS, AT).points == 100


def test_tax_on_top_included_setting_adds_it() -> None:
    p = parse_programme('tax = "included"')
    r = Receipt(
        items=[Item("A", D("100.00"))],
        taxes=[Tax(D("8"), D("8.00"))],
        tax_included=False,
        total=D("108.00"),
    )
    assert p.earn(r, FACTS, AT).points == 108


def test_product_fixed_and_multiplier() -> None:
    p = parse_programme(
        '[[product]]\nid = "coffee"\nlabel = "Coffee bonus"\n'
        'name = "(?i)coffee"\npoints_per_qty = 5\n'
        '[[product]]\nid = "wine"\ncategory = "Wine"\nmultiplier = 3\n'
        '[[product]]\nid = "plu"\nplu = "^42"\npoints_per_qty = "0.5"\n'
    )
    r = sale(
        Item("Coffee", D("2.50"), qty=D(2)),
        Item("Rioja", D("10.00"), category="wine"),
        Item("Gum", D("1.00"), sku="4211"),
    )
    e = p.earn(r, FACTS, AT)
    # base 13.5, coffee 10, wine 20 (3x of 10 is 20 more), plu 0.5: 44.0; the two halves
    # tie and the earlier rule (base) gets the point, so plu's part is dropped.
    assert e.points == 44
    assert {x.rule_id: x.points for x in e.parts} == {
        "base": 14,
        "coffee": 10,
        "wine": 20,
    }


CAMPAIGN = """timezone = "Europe/Madrid"
[[campaign]]
id = "tuesday_double"
label = "Double points Tuesday"
weekdays = ["tue"]
hours = "16-18"
multiplier = 2
"""


def test_campaign_hour_boundaries() -> None:
    p = parse_programme(CAMPAIGN)
    r = sale(Item("A", D("10.00")))
    tue = datetime(2026, 12, 1, tzinfo=MADRID)
    assert p.earn(r, FACTS, tue.replace(hour=15, minute=59)).points == 10
    assert p.earn(r, FACTS, tue.replace(hour=16)).points == 20
    assert p.earn(r, FACTS, tue.replace(hour=17, minute=59)).points == 20
    assert p.earn(r, FACTS, tue.replace(hour=18)).points == 10
    # 15:30 UTC is 16:30 in Madrid: the store's clock decides.
    assert p.earn(r, FACTS, datetime(2026, 12, 1, 15, 30, tzinfo=UTC)).points == 20


def test_campaign_on_dst_day() -> None:
    p = parse_programme(CAMPAIGN.replace('weekdays = ["tue"]', 'weekdays = ["sun"]'))
    r = sale(Item("A", D("10.00")))
    # 2026-03-29: Madrid goes to summer time; 14:00 UTC is 16:00 local (UTC+2).
    assert p.earn(r, FACTS, datetime(2026, 3, 29, 14, 0, tzinfo=UTC)).points == 20
    assert p.earn(r, FACTS, datetime(2026, 3, 29, 15, 0, tzinfo=UTC)).points == 20
    assert p.earn(r, FACTS, datetime(2026, 3, 29, 16, 0, tzinfo=UTC)).points == 10


def test_campaign_date_range_and_bonus() -> None:
    p = parse_programme(
        '[[campaign]]\nid = "xmas"\nfrom = "2026-12-20"\nto = 2026-12-24\nbonus = 50\n'
    )
    r = sale(Item("A", D("10.00")))
    assert p.earn(r, FACTS, datetime(2026, 12, 19, 12, tzinfo=UTC)).points == 10
    assert p.earn(r, FACTS, datetime(2026, 12, 20, 12, tzinfo=UTC)).points == 60
    assert p.earn(r, FACTS, datetime(2026, 12, 24, 23, tzinfo=UTC)).points == 60
    assert p.earn(r, FACTS, datetime(2026, 12, 25, 0, tzinfo=UTC)).points == 10


def test_caps_cut_bonus_first_never_negative() -> None:
    p = parse_programme(
        '[[campaign]]\nid = "b"\nbonus = 50\n[caps]\nper_receipt = 30\nper_day = 100'
    )
    e = p.earn(sale(Item("A", D("20.00"))), FACTS, AT)
    assert e.points == 30
    assert [(x.rule_id, x.points, x.label) for x in e.parts] == [
        ("base", 20, "Points"),
        ("b", 10, "b (capped)"),
    ]
    e = p.earn(sale(Item("A", D("20.00"))), CustomerFacts(points_today=95), AT)
    assert e.points == 5 and [x.rule_id for x in e.parts] == ["base"]
    assert p.earn(sale(Item("A", D("20.00"))), CustomerFacts(points_today=500), AT).points == 0


def test_only_sales_earn() -> None:
    for kind in (ReceiptKind.REFUND, ReceiptKind.VOID, ReceiptKind.COPY, ReceiptKind.REPORT):
        r = sale(Item("A", D("10.00")), kind=kind)
        assert default_programme().earn(r, FACTS, AT).points == 0
    r = sale(Item("A", D("10.00")), problems=["total differs"])
    assert default_programme().earn(r, FACTS, AT).points == 0


def test_parts_floor_once() -> None:
    p = parse_programme('[[campaign]]\nid = "x"\nmultiplier = "1.5"')
    e = p.earn(sale(Item("A", D("3.40"))), FACTS, AT)
    # 3.4 + 1.7 = 5.1 -> 5 (flooring each would give 3 + 1 = 4)
    assert e.points == 5 and sum(x.points for x in e.parts) == 5


def test_deterministic() -> None:
    p = parse_programme(CAMPAIGN)
    r = sale(Item("A", D("10.33")))
    assert p.earn(r, FACTS, AT) == p.earn(r, FACTS, AT)


amounts = st.decimals(min_value=D("0.01"), max_value=D("999.99"), places=2)
PROP = parse_programme(
    '[[product]]\nid = "p"\nname = "A"\nmultiplier = "2.5"\n'
    '[[campaign]]\nid = "c"\nmultiplier = "1.3"\n[[campaign]]\nid = "b"\nbonus = "7.7"\n'
    "[caps]\nper_receipt = 2000"
)


@given(st.lists(st.tuples(st.sampled_from("AB"), amounts), min_size=1, max_size=6), amounts)
def test_properties(lines: list[tuple[str, D]], refunded: D) -> None:
    r = sale(*(Item(n, a) for n, a in lines))
    e = PROP.earn(r, FACTS, AT)
    assert e.points >= 0
    assert all(x.points > 0 for x in e.parts)
    assert sum(x.points for x in e.parts) == e.points <= 2000
    assert e.based_on is not None
    assert 0 <= refund_points(e.points, e.based_on, refunded) <= e.points


def test_negative_line_takes_off_the_net() -> None:
    r = sale(Item("Beer crate", D("12.00")), Item("Bottle returned", D("-2.00")))
    assert default_programme().earn(r, FACTS, AT).points == 10


def test_is_earning_rules() -> None:
    rules: EarningRules = default_programme()
    assert rules.version.startswith("default+")


signed = st.decimals(min_value=D("-50.00"), max_value=D("999.99"), places=2)


@given(
    st.lists(st.tuples(st.sampled_from("AB"), signed), min_size=1, max_size=6),
    st.lists(st.decimals(min_value=D("-20.00"), max_value=D("0.00"), places=2), max_size=2),
    st.integers(min_value=0, max_value=3000),
)
def test_properties_with_discounts_and_daily_cap(
    lines: list[tuple[str, D]], discounts: list[D], today: int
) -> None:
    p = parse_programme(
        '[[product]]\nid = "p"\nname = "A"\npoints_per_qty = 3\n'
        '[[campaign]]\nid = "c"\nmultiplier = "2.5"\n[caps]\nper_day = 2500'
    )
    r = sale(*(Item(n, a) for n, a in lines), discounts=[Discount("d", x) for x in discounts])
    e = p.earn(r, CustomerFacts(points_today=today), AT)
    assert e.points >= 0 and all(x.points > 0 for x in e.parts)
    assert sum(x.points for x in e.parts) == e.points <= max(2500 - today, 0)
    assert e == p.earn(r, CustomerFacts(points_today=today), AT)


def test_naive_time_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        default_programme().earn(sale(Item("A", D("1.00"))), FACTS, datetime(2026, 1, 1))
