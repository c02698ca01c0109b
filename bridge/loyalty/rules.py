"""How many points a receipt earns with no rules file: points per currency unit of a
consistent sale's net amount, rounded down once. Pure: no database, no clock.

The net amount is what the customer paid for goods: the total less the tip, the service
charge and the deposits (money passed on to staff, or held and paid back, never spent in the
shop). The programme's rules file (``bridge.loyalty.programme``) does more, and uses the same
``net_amount`` and ``round_points``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from parsers.receipt import Receipt, ReceiptKind

if TYPE_CHECKING:
    from bridge.loyalty.earning import CustomerFacts, Earning, Policy


def round_points(value: Decimal) -> int:
    """The one rounding rule for points: toward zero, so nobody earns a point not fully paid."""
    return int(value.to_integral_value(rounding=ROUND_DOWN))


def net_amount(receipt: Receipt) -> Decimal | None:
    """The total less tip, service charge and deposits; None without a total."""
    if receipt.total is None:
        return None
    held = sum((d.amount for d in receipt.deposits), Decimal(0))
    return receipt.total - (receipt.tip or 0) - (receipt.service_charge or 0) - held


def earns(receipt: Receipt) -> bool:
    """Only a consistent sale with a positive total earns in this first version.

    Copies (reprints), reports, refunds, voids and training receipts earn nothing, nor does a
    receipt whose sums disagree: a misread total must not turn into points.
    """
    return (
        receipt.kind is ReceiptKind.SALE
        and not receipt.inconsistent
        and receipt.total is not None
        and receipt.total > 0
    )


@dataclass(frozen=True, slots=True)
class PointsRule:
    points_per_unit: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        if not isinstance(self.points_per_unit, Decimal):
            # A float here would smuggle binary rounding into every award.
            raise TypeError("points_per_unit must be a Decimal")
        if not self.points_per_unit.is_finite() or self.points_per_unit < 0:
            raise ValueError(f"points_per_unit must be >= 0, not {self.points_per_unit}")

    def points_for(self, receipt: Receipt) -> int:
        if not earns(receipt):
            return 0
        net = net_amount(receipt)
        assert net is not None  # earns() checked the total
        return max(round_points(net * self.points_per_unit), 0)

    @property
    def version(self) -> str:
        return f"points_per_unit={self.points_per_unit}"

    @property
    def policy(self) -> Policy:
        """A shop with no rules file: today's behaviour (no expiry, no rewards)."""
        from bridge.loyalty.earning import Policy

        return Policy()

    def earn(self, receipt: Receipt, facts: CustomerFacts, at: datetime) -> Earning:
        """This rule as an ``EarningRules``: the rule set of a shop with no rules file."""
        from bridge.loyalty.earning import Earning, Part  # earning imports round_points

        points = self.points_for(receipt)
        net = net_amount(receipt) if points else None
        parts = (Part("base", points, "Points", net),) if points else ()
        return Earning(points, self.version, net, parts)


DEFAULT_RULE = PointsRule()


def points_for(receipt: Receipt, rule: PointsRule = DEFAULT_RULE) -> int:
    return rule.points_for(receipt)
