"""Visit, per-item, welcome and birthday bonuses, hand-computed."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from bridge.loyalty.earning import CustomerFacts
from bridge.loyalty.programme import ProgrammeError, parse_programme
from parsers.receipt import Item, Receipt

AT = datetime(2026, 12, 2, 23, 30, tzinfo=ZoneInfo("UTC"))  # 3 December in Madrid


def sale(*items: Item) -> Receipt:
    return Receipt(items=list(items), total=sum((i.amount for i in items), D(0)))


def parts(text: str, receipt: Receipt, facts: CustomerFacts) -> dict[str, int]:
    earning = parse_programme(text).earn(receipt, facts, AT)
    return {p.rule_id: p.points for p in earning.parts}


def test_visit_with_minimum_spend() -> None:
    text = '[visit]\npoints = 10\nmin_spend = "5.00"'
    assert parts(text, sale(Item("A", D("5.00"))), CustomerFacts()) == {"base": 5, "visit": 10}
    assert parts(text, sale(Item("A", D("4.99"))), CustomerFacts()) == {"base": 4}


def test_per_item_counts_quantity_of_earning_items() -> None:
    text = '[per_item]\npoints = 2\n[base]\nexclude = [{name = "Bag"}]'
    r = sale(Item("A", D("3.00"), qty=D(3)), Item("Bag", D("0.10")))
    assert parts(text, r, CustomerFacts()) == {"base": 3, "per_item": 6}


def test_welcome_only_on_first_purchase() -> None:
    text = '[welcome]\npoints = 100\nlabel = "Welcome!"'
    r = sale(Item("A", D("1.00")))
    assert parts(text, r, CustomerFacts(first_purchase=True)) == {"base": 1, "welcome": 100}
    assert parts(text, r, CustomerFacts()) == {"base": 1}


def test_birthday_day_in_store_time_zone() -> None:
    text = 'timezone = "Europe/Madrid"\n[birthday]\npoints = 200'
    r = sale(Item("A", D("1.00")))
    assert parts(text, r, CustomerFacts(birthday=date(1990, 12, 3))) == {"base": 1, "birthday": 200}
    assert parts(text, r, CustomerFacts(birthday=date(1990, 12, 2))) == {"base": 1}


def test_birthday_month_and_leap_day() -> None:
    month = '[birthday]\npoints = 50\nmatch = "month"'
    r = sale(Item("A", D("1.00")))
    assert parts(month, r, CustomerFacts(birthday=date(1990, 12, 31)))["birthday"] == 50
    leap = "[birthday]\npoints = 50"
    at = datetime(2027, 2, 28, 12, tzinfo=ZoneInfo("UTC"))
    got = parse_programme(leap).earn(r, CustomerFacts(birthday=date(2000, 2, 29)), at)
    assert got.points == 51


def test_bad_birthday_match() -> None:
    with pytest.raises(ProgrammeError) as info:
        parse_programme('[birthday]\nmatch = "year"', source="p.toml")
    assert info.value.key == "birthday.match"
