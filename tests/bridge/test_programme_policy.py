"""The programme's Policy from the file, rewards, expiry days and the printed breakdown."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from bridge.loyalty.earning import Earning, NextReward, Part, Policy, Reward
from bridge.loyalty.programme import (
    ProgrammeError,
    breakdown_lines,
    expiry_day,
    next_reward,
    parse_programme,
    rewards_reached,
)

MADRID = ZoneInfo("Europe/Madrid")
TEXT = """
[policy]
points_expire_after_months = 12
claim_codes_expire_after_days = 30
negative_balance = true
refund_without_original = "none"
refund_of_redeemed = "restore"
reward_issue = "on_request"
voucher_valid_days = 60
[[reward]]
id = "ten"
points = 1000
label = "10 EUR voucher"
value = "10.00"
[[reward]]
id = "five"
points = 500
label = "5 EUR voucher"
value = 5
"""


def test_policy_from_file() -> None:
    policy = parse_programme(TEXT).policy
    assert policy == Policy(
        points_expire_after_months=12,
        claim_codes_expire_after_days=30,
        negative_balance=True,
        refund_without_original="none",
        refund_of_redeemed="restore",
        rewards=(
            Reward("ten", 1000, "10 EUR voucher", D("10.00")),
            Reward("five", 500, "5 EUR voucher", D(5)),
        ),
        reward_issue="on_request",
        voucher_valid_days=60,
    )
    assert parse_programme("").policy == Policy()


def test_rewards() -> None:
    policy = parse_programme(TEXT).policy
    assert rewards_reached(499, policy) == []
    assert [r.reward_id for r in rewards_reached(1000, policy)] == ["five", "ten"]
    assert next_reward(120, policy) == NextReward("5 EUR voucher", 380)
    assert next_reward(500, policy) == NextReward("10 EUR voucher", 500)
    assert next_reward(1000, policy) is None


def test_expiry_month_ends_and_time_zone() -> None:
    at = datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert expiry_day(at, 1, MADRID) == date(2026, 2, 28)
    assert expiry_day(datetime(2027, 12, 31, 12, tzinfo=UTC), 2, MADRID) == date(2028, 2, 29)
    assert expiry_day(datetime(2026, 3, 15, 12, tzinfo=UTC), 12, MADRID) == date(2027, 3, 15)
    # 23:30 UTC on 31 December is already 1 January in Madrid: the store's day counts.
    assert expiry_day(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), 1, MADRID) == date(2027, 2, 1)
    with pytest.raises(ValueError):
        expiry_day(datetime(2026, 1, 1), 1, MADRID)


def test_breakdown_lines() -> None:
    e = Earning(12, "v", None, (Part("base", 6, "Points"), Part("tue", 6, "Double points")))
    assert breakdown_lines(e) == ["Points: +6", "Double points: +6"]


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("[policy]\nnegative_balance = 1", "policy.negative_balance", "true or false"),
        ('[policy]\nreward_issue = "now"', "policy.reward_issue", "must be one of auto"),
        ("[policy]\nexpire = 1", "policy.expire", "unknown key"),
        ('[[reward]]\nid = "a"\npoints = 5', "reward[0]", "needs label"),
        ('[[reward]]\nid = "a"\npoints = 0\nlabel = "x"', "reward[0].points", "at least 1"),
    ],
)
def test_errors(text: str, key: str, message: str) -> None:
    with pytest.raises(ProgrammeError) as info:
        parse_programme(text)
    assert info.value.key == key and message in info.value.message
