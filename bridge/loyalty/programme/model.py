"""The programme's rules as frozen data: what the loader builds and the engine reads.

No behaviour beyond matching an item: the loader validates, the engine computes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from typing import Literal

from parsers.receipt import Item


@dataclass(frozen=True, slots=True)
class Match:
    """Which items a rule counts: any of a name regex, a PLU regex or a category (exact,
    case-insensitive). An empty match counts nothing."""

    name: re.Pattern[str] | None = None
    plu: re.Pattern[str] | None = None
    category: str | None = None

    def matches(self, item: Item) -> bool:
        if self.name is not None and self.name.search(item.name):
            return True
        if self.plu is not None and item.sku is not None and self.plu.search(item.sku):
            return True
        return (
            self.category is not None
            and item.category is not None
            and item.category.casefold() == self.category.casefold()
        )


@dataclass(frozen=True, slots=True)
class ProductRule:
    rule_id: str
    label: str
    match: Match
    points_per_qty: Decimal | None = None  # fixed points per unit of quantity
    multiplier: Decimal | None = None  # the item earns this many times its base points


@dataclass(frozen=True, slots=True)
class Campaign:
    rule_id: str
    label: str
    starts: date | None = None  # inclusive
    ends: date | None = None  # inclusive
    weekdays: frozenset[int] = frozenset()  # 0 = Monday; empty: every day
    hour_from: time | None = None  # inclusive
    hour_to: time | None = None  # exclusive: 16-18 is 16:00 to 17:59:59
    multiplier: Decimal | None = None  # base earns this many times: 2 = double points
    bonus: Decimal | None = None  # fixed points


@dataclass(frozen=True, slots=True)
class Caps:
    per_receipt: int | None = None
    per_day: int | None = None


TaxMode = Literal["included", "excluded"]


@dataclass(frozen=True, slots=True)
class Bonuses:
    """The fixed bonuses of one receipt's circumstances; ``None``: the rule is not set."""

    visit_points: Decimal | None = None  # per receipt that spends at least visit_min_spend
    visit_min_spend: Decimal = Decimal(0)
    visit_label: str = "Visit bonus"
    per_item_points: Decimal | None = None  # per unit of quantity of earning items
    per_item_label: str = "Points per item"
    welcome_points: Decimal | None = None  # on the customer's first purchase
    welcome_label: str = "Welcome bonus"
    birthday_points: Decimal | None = None
    birthday_match: Literal["day", "month"] = "day"
    birthday_label: str = "Birthday bonus"


@dataclass(frozen=True, slots=True)
class StampCard:
    card_id: str
    label: str
    goal: int
    match: Match  # one stamp per whole unit of quantity of a matching item


@dataclass(frozen=True, slots=True)
class CouponRule:
    """A coupon issued when any of its triggers holds: an item matches, the receipt's text
    has the keyword (case-insensitive), or the net amount reaches ``total_at_least``."""

    coupon_id: str
    label: str
    match: Match | None = None
    keyword: str | None = None
    total_at_least: Decimal | None = None
    valid_days: int | None = None
