"""How many points a receipt earns. Pure: no database, no clock.

First version: points per currency unit of a consistent sale's total, rounded down. Later rule
types (per item, multipliers, vouchers, stamp cards) will be more classes with the same
``points_for`` method.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from parsers.receipt import Receipt, ReceiptKind

if TYPE_CHECKING:
    from bridge.loyalty.earning import CustomerFacts, Earning


def round_points(value: Decimal) -> int:
    """The one rounding rule for points: toward zero, so nobody earns a point not fully paid."""
    return int(value.to_integral_value(rounding=ROUND_DOWN))


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
        assert receipt.total is not None  # earns() checked it
        return round_points(receipt.total * self.points_per_unit)

    @property
    def version(self) -> str:
        return f"points_per_unit={self.points_per_unit}"

    def earn(self, receipt: Receipt, facts: CustomerFacts, at: datetime) -> Earning:
        """This rule as an ``EarningRules``: the rule set of a shop with no rules file."""
        from bridge.loyalty.earning import Earning, Part  # earning imports round_points

        points = self.points_for(receipt)
        parts = (Part("base", points, "Points", receipt.total),) if points else ()
        return Earning(points, self.version, receipt.total if points else None, parts)


DEFAULT_RULE = PointsRule()


def points_for(receipt: Receipt, rule: PointsRule = DEFAULT_RULE) -> int:
    return rule.points_for(receipt)
