"""Applying the programme to one receipt: pure, deterministic, Decimal until the one floor.

How the points are reached:
1. Only a consistent sale earns (``bridge.loyalty.rules.earns``); anything else earns nothing.
2. The net amount: items that are not excluded, plus their share of the discounts, adjusted
   for tax when the receipt's tax treatment and the ``tax`` setting differ (the tax lines are
   spread over the goods in proportion). Tips, service charges and deposits are never in it:
   they are not items.
3. Each rule gives a ``Decimal`` value: base (net x points_per_unit), product rules, the visit
   and per-item bonuses, campaigns, the welcome and birthday bonuses, in that order.
4. The sum is floored ONCE (``round_points``). Each part's integer points are the floor of its
   value plus one point each for the largest remainders, until the parts sum to the total
   exactly (ties go to the earlier rule, so the split is deterministic).
5. Caps (per receipt; per day less ``facts.points_today``) cut the bonus parts first, the
   latest rule first, and base last; a cut part says "(capped)" in its label. Parts are never
   negative and a part cut to zero is dropped.
6. Stamp cards (one stamp per whole unit of a matching item) and coupons (an item, a keyword
   of the printed text, a net amount reached) are decided on the same sale; caps never touch
   them. The ledger adds the stamps to the card and issues the vouchers.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bridge.loyalty.earning import CouponIssue, CustomerFacts, Earning, Part, Policy, StampAdd
from bridge.loyalty.programme.model import (
    Bonuses,
    Campaign,
    Caps,
    CouponRule,
    Match,
    ProductRule,
    StampCard,
    TaxMode,
)
from bridge.loyalty.rules import earns, net_amount, round_points
from parsers.receipt import Item, Receipt

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Programme:
    version: str
    timezone: ZoneInfo
    tax: TaxMode = "included"
    points_per_unit: Decimal = Decimal(1)
    excludes: tuple[Match, ...] = ()
    products: tuple[ProductRule, ...] = ()
    campaigns: tuple[Campaign, ...] = ()
    caps: Caps = field(default_factory=Caps)
    bonuses: Bonuses = field(default_factory=Bonuses)
    stamp_cards: tuple[StampCard, ...] = ()
    coupons: tuple[CouponRule, ...] = ()
    policy: Policy = field(default_factory=Policy)
    # The file's text: a journaled award keeps it, so a late replay earns by the rules in
    # force at the sale even if the file was edited meanwhile.
    source_text: str = field(default="", repr=False, compare=False)

    def earn(self, receipt: Receipt, facts: CustomerFacts, at: datetime) -> Earning:
        if at.tzinfo is None:
            # A naive time would be read in the machine's zone, not the store's.
            raise ValueError("at must be timezone-aware")
        if not earns(receipt):
            return Earning(0, self.version)
        item_nets = self._item_nets(receipt)
        net = max(sum(item_nets.values(), ZERO), ZERO)
        if not receipt.items:
            # A layout that reads only the total: the total less tip, service and deposits,
            # as with no rules file (no item rule can match anything).
            net = max(net_amount(receipt) or ZERO, ZERO)
        base = net * self.points_per_unit
        wanted: list[tuple[str, str, Decimal, Decimal | None]] = [("base", "Points", base, net)]
        for rule in self.products:
            value, counted = ZERO, ZERO
            for index, item in enumerate(receipt.items):
                if index not in item_nets or not rule.match.matches(item):
                    continue
                counted += item_nets[index]
                if rule.points_per_qty is not None:
                    value += rule.points_per_qty * max(item.qty, ZERO)
                elif rule.multiplier is not None:
                    # "x3" means the item earns three times its base: two more on top.
                    value += item_nets[index] * self.points_per_unit * (rule.multiplier - 1)
            wanted.append((rule.rule_id, rule.label, max(value, ZERO), counted))
        local = at.astimezone(self.timezone)
        b = self.bonuses
        if b.visit_points is not None and net >= b.visit_min_spend:
            wanted.append(("visit", b.visit_label, b.visit_points, net))
        if b.per_item_points is not None:
            qty = sum((max(receipt.items[i].qty, ZERO) for i in item_nets), ZERO)
            wanted.append(("per_item", b.per_item_label, b.per_item_points * qty, None))
        for campaign in self.campaigns:
            if not _in_force(campaign, local):
                continue
            if campaign.multiplier is not None:
                value = base * (campaign.multiplier - 1)
                wanted.append((campaign.rule_id, campaign.label, max(value, ZERO), net))
            elif campaign.bonus is not None:
                wanted.append((campaign.rule_id, campaign.label, campaign.bonus, None))
        if b.welcome_points is not None and facts.first_purchase:
            wanted.append(("welcome", b.welcome_label, b.welcome_points, None))
        if b.birthday_points is not None and _birthday(facts, local, b.birthday_match):
            wanted.append(("birthday", b.birthday_label, b.birthday_points, None))
        earning = self._finish(wanted, facts, net)
        return replace(earning, stamps=self._stamps(receipt), coupons=self._coupons(receipt, net))

    def _stamps(self, receipt: Receipt) -> tuple[StampAdd, ...]:
        # Every matching item stamps, excluded from points or not: a card counts purchases.
        found = []
        for card in self.stamp_cards:
            count = sum(
                round_points(max(item.qty, ZERO))
                for item in receipt.items
                if card.match.matches(item)
            )
            if count:
                found.append(StampAdd(card.card_id, card.label, count, card.goal))
        return tuple(found)

    def _coupons(self, receipt: Receipt, net: Decimal) -> tuple[CouponIssue, ...]:
        text = receipt.raw_text.casefold()
        found = []
        for rule in self.coupons:
            if (
                (rule.match is not None and any(rule.match.matches(i) for i in receipt.items))
                or (rule.keyword is not None and rule.keyword.casefold() in text)
                or (rule.total_at_least is not None and net >= rule.total_at_least)
            ):
                found.append(CouponIssue(rule.coupon_id, rule.label, rule.valid_days))
        return tuple(found)

    def _item_nets(self, receipt: Receipt) -> dict[int, Decimal]:
        """Each earning item's share of the net amount, by its index in ``receipt.items``."""
        goods = sum((i.amount for i in receipt.items), ZERO)
        discounts = sum((d.amount for d in receipt.discounts), ZERO)
        if goods <= 0:
            return {}
        # Discounts and tax are spread over the items in proportion to their amounts: the
        # receipt rarely says which item a discount or a tax line belongs to.
        factor = (goods + discounts) / goods
        tax = sum((t.amount for t in receipt.taxes), ZERO)
        if receipt.tax_included and self.tax == "excluded":
            factor *= (goods - tax) / goods
        elif not receipt.tax_included and self.tax == "included":
            factor *= (goods + tax) / goods
        factor = max(factor, ZERO)
        # Not clamped per item: a negative line (a returned bottle sold as an item) must
        # take its amount off the net; the net itself is clamped in ``earn``.
        return {
            index: item.amount * factor
            for index, item in enumerate(receipt.items)
            if not self._excluded(item)
        }

    def _excluded(self, item: Item) -> bool:
        return any(match.matches(item) for match in self.excludes)

    def _finish(
        self,
        wanted: list[tuple[str, str, Decimal, Decimal | None]],
        facts: CustomerFacts,
        net: Decimal,
    ) -> Earning:
        total = round_points(sum((w[2] for w in wanted), ZERO))
        shares = _largest_remainder([w[2] for w in wanted], total)
        limit = total
        if self.caps.per_receipt is not None:
            limit = min(limit, self.caps.per_receipt)
        if self.caps.per_day is not None:
            limit = min(limit, max(self.caps.per_day - facts.points_today, 0))
        capped = [False] * len(shares)
        excess = total - limit
        # Bonus parts go first, latest rule first; base (index 0) is cut last.
        for index in [*range(len(shares) - 1, 0, -1), 0]:
            if excess <= 0:
                break
            cut = min(shares[index], excess)
            if cut:
                shares[index] -= cut
                excess -= cut
                capped[index] = True
        parts = tuple(
            Part(rid, points, f"{label} (capped)" if cut else label, based_on)
            for (rid, label, _, based_on), points, cut in zip(wanted, shares, capped, strict=True)
            if points > 0
        )
        return Earning(sum(p.points for p in parts), self.version, net, parts)


def _largest_remainder(values: list[Decimal], total: int) -> list[int]:
    """Integer shares of ``total`` that follow ``values``: floors, then one point each to
    the largest remainders (the earlier value on a tie)."""
    shares = [round_points(v) for v in values]
    left = total - sum(shares)
    order = sorted(range(len(values)), key=lambda i: (-(values[i] - shares[i]), i))
    for i in order[:left]:
        shares[i] += 1
    return shares


def _in_force(campaign: Campaign, local: datetime) -> bool:
    day = local.date()
    if campaign.starts is not None and day < campaign.starts:
        return False
    if campaign.ends is not None and day > campaign.ends:
        return False
    if campaign.weekdays and day.weekday() not in campaign.weekdays:
        return False
    if campaign.hour_from is not None and campaign.hour_to is not None:
        now = local.time().replace(tzinfo=None)
        return campaign.hour_from <= now < campaign.hour_to
    return True


def _birthday(facts: CustomerFacts, local: datetime, match: str) -> bool:
    """A birthday in the store's local day (or month). A 29 February birthday is kept on
    28 February in other years, so it is never skipped."""
    born = facts.birthday
    if born is None:
        return False
    if match == "month":
        return born.month == local.month
    day = born.day
    if (born.month, day) == (2, 29) and not calendar.isleap(local.year):
        day = 28
    return (born.month, day) == (local.month, local.day)


def default_programme() -> Programme:
    """The rule set of a shop with no programme file: 1 point per unit of the net amount,
    like ``PointsRule()``."""
    from bridge.loyalty.programme.loader import parse_programme

    return parse_programme('version = "default"', source="<default>")
