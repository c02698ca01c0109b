"""Pure helpers the ledger calls with the programme's ``Policy``: rewards and expiry dates,
and the printed breakdown of an earning.

Expiry counts calendar months from the store's local day of the earn; a day that the target
month lacks becomes that month's last day (earned 31 January, 1 month: 28 or 29 February),
so points never expire before a full month has passed, nor later than the month's end.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bridge.loyalty.earning import Earning, NextReward, Policy, Reward


def rewards_reached(balance: int, policy: Policy) -> list[Reward]:
    """The rewards the balance pays for, cheapest first."""
    return sorted((r for r in policy.rewards if r.points <= balance), key=lambda r: r.points)


def next_reward(balance: int, policy: Policy) -> NextReward | None:
    """The cheapest reward the balance does not reach yet, and the points to go."""
    ahead = [r for r in policy.rewards if r.points > balance]
    if not ahead:
        return None
    target = min(ahead, key=lambda r: r.points)
    return NextReward(target.label, target.points - balance)


def expiry_day(earned_at: datetime, months: int, tz: ZoneInfo) -> date:
    """The last day (the store's local date) points earned at ``earned_at`` are valid."""
    if earned_at.tzinfo is None:
        raise ValueError("earned_at must be timezone-aware")
    local = earned_at.astimezone(tz).date()
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    return date(year, month, min(local.day, calendar.monthrange(year, month)[1]))


def breakdown_lines(earning: Earning) -> list[str]:
    """One line per part, for the printed receipt: "Double points Tuesday: +12"."""
    return [f"{part.label}: +{part.points}" for part in earning.parts]
