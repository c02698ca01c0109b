"""What a receipt earns and what it gives back: the data the programme rules hand the ledger.

Pure data and one pure function. The rules (``bridge.loyalty.programme``) decide an
``Earning`` from a ``Receipt`` and the customer's ``CustomerFacts``; the ledger records it,
one row per ``Part`` is not needed: the earn row keeps the total, the rule version and the
amount it was based on, and the parts say which rule gave how many points (the receipt can
print that breakdown). ``Policy`` holds the programme's settings the ledger applies itself
(expiry, refunds, rewards).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol

from bridge.loyalty.rules import round_points
from parsers.receipt import Receipt


@dataclass(frozen=True, slots=True)
class Part:
    """The points one rule gave a receipt."""

    rule_id: str  # the rule's id in the rules file: "base", "tuesday_double", "welcome"
    points: int  # never negative
    label: str  # the rule's own words, for the printed breakdown: "Double points Tuesday"
    based_on: Decimal | None = None  # the amount the rule counted, where it counts money


@dataclass(frozen=True, slots=True)
class StampAdd:
    """Stamps a receipt adds to one stamp card ("10 coffees, the 11th free")."""

    card_id: str
    label: str
    stamps: int  # added by this receipt
    goal: int  # stamps that fill the card


@dataclass(frozen=True, slots=True)
class CouponIssue:
    """A coupon a receipt triggers (an item, a category, a keyword, a total above an amount)."""

    coupon_id: str
    label: str  # what it gives: "-20% on your next cake"
    valid_days: int | None = None


@dataclass(frozen=True, slots=True)
class Earning:
    points: int  # the sum of the parts after caps: what the earn row records
    rule_version: str  # the rules file's version: who decided, for the ledger row
    based_on: Decimal | None = None  # the net amount that earns (no tips, service, deposits)
    parts: tuple[Part, ...] = ()
    stamps: tuple[StampAdd, ...] = ()
    coupons: tuple[CouponIssue, ...] = ()


NOTHING = Earning(points=0, rule_version="")


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """What the rules may know of the customer, read by the ledger in the award's transaction.
    ``None`` customer (a claim code receipt): ``CustomerFacts()``."""

    first_purchase: bool = False  # no earn recorded for this customer yet
    birthday: date | None = None
    points_today: int = 0  # earned today (the store's day), for a daily cap
    stamps: Mapping[str, int] = field(default_factory=dict)  # stamps held per stamp card


class EarningRules(Protocol):
    """What the ledger needs of a rule set. ``earn`` is pure and deterministic."""

    @property
    def version(self) -> str: ...

    @property
    def policy(self) -> Policy: ...

    def earn(self, receipt: Receipt, facts: CustomerFacts, at: datetime) -> Earning: ...


@dataclass(frozen=True, slots=True)
class Reward:
    """A threshold: ``points`` buy a voucher worth ``value`` (or described by ``label``)."""

    reward_id: str
    points: int
    label: str  # "5 € voucher"
    value: Decimal | None = None  # money off, where the reward is money


@dataclass(frozen=True, slots=True)
class Policy:
    """The programme's settings the ledger applies (defaults: today's behaviour)."""

    points_expire_after_months: int | None = None  # None: points never expire
    claim_codes_expire_after_days: int | None = None  # None: claim codes never expire
    negative_balance: bool = False  # False: a refund takes the balance down to zero at most
    # A refund that names no original receipt: "match" finds the customer's earn of the same
    # amount within 90 days; "none" takes nothing back.
    refund_without_original: Literal["match", "none"] = "match"
    # A refund of a sale that redeemed a voucher: "restore" gives the voucher's points back in
    # proportion; "keep" keeps the voucher spent.
    refund_of_redeemed: Literal["restore", "keep"] = "keep"
    rewards: tuple[Reward, ...] = ()
    # "auto": a voucher is issued (and printed) as soon as the balance reaches a threshold;
    # "on_request": the customer keeps collecting; ``tillbridge voucher issue`` issues it.
    reward_issue: Literal["auto", "on_request"] = "auto"
    voucher_valid_days: int | None = 90


def refund_points(earned: int, based_on: Decimal, refunded: Decimal) -> int:
    """Points a refund of ``refunded`` takes back from an earn of ``earned`` points that was
    based on ``based_on``: in proportion, rounded by the one rule (toward zero), never more
    than was earned, never negative."""
    if earned <= 0 or based_on <= 0 or refunded <= 0:
        return 0
    return min(earned, round_points(Decimal(earned) * min(refunded, based_on) / based_on))


# -- what an award hands the receipt's message (filled by the ledger, in ``Outcome``) --------


@dataclass(frozen=True, slots=True)
class IssuedVoucher:
    """A voucher issued by this award (a threshold reached, a stamp card filled, a coupon):
    printed with its code as a barcode or QR code."""

    code: str
    label: str  # "5 € voucher", "A free coffee"
    value: Decimal | None = None
    expires_on: date | None = None


@dataclass(frozen=True, slots=True)
class VoucherUse:
    """A voucher code read on this receipt's discount lines, and what became of it."""

    code: str
    status: Literal["redeemed", "already_used", "unknown", "expired", "void"]
    points: int = 0  # drawn from the ledger when redeemed


@dataclass(frozen=True, slots=True)
class StampProgress:
    card_id: str
    label: str
    stamps: int  # held after this receipt
    goal: int


@dataclass(frozen=True, slots=True)
class ExpiringPoints:
    points: int
    on: date


@dataclass(frozen=True, slots=True)
class NextReward:
    label: str
    points_to_go: int
