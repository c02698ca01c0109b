"""The shop's loyalty programme: one TOML file, read once, applied as a pure rule set.

``load_programme``/``parse_programme`` turn the file into a frozen ``Programme`` (every mistake
a ``ProgrammeError`` naming the file and the key path); ``Programme.earn`` implements the
``EarningRules`` Protocol of ``bridge.loyalty.earning``. See docs/programme.md.
"""

from bridge.loyalty.programme.engine import Programme, default_programme
from bridge.loyalty.programme.loader import ProgrammeError, load_programme, parse_programme
from bridge.loyalty.programme.policy import (
    breakdown_lines,
    expiry_day,
    next_reward,
    rewards_reached,
)

__all__ = [
    "Programme",
    "ProgrammeError",
    "breakdown_lines",
    "default_programme",
    "expiry_day",
    "load_programme",
    "next_reward",
    "parse_programme",
    "rewards_reached",
]
