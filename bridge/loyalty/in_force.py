"""The rules in force: the programme's rules file when the config names one, else the one
rate of ``points_per_unit``. One place, so the daemon, ``award``, ``report`` and ``rules``
read the programme the same way."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from bridge.loyalty.earning import EarningRules, Policy
from bridge.loyalty.rules import PointsRule


def rules_in_force(rules: Path | None, points_per_unit: Decimal = Decimal(1)) -> EarningRules:
    """Raises ``ProgrammeError`` for a rules file with a mistake (check-config reports it)."""
    if rules is None:
        return PointsRule(points_per_unit)
    from bridge.loyalty.programme import load_programme

    return load_programme(rules)


def policy_in_force(rules: Path | None) -> Policy:
    if rules is None:
        return Policy()
    from bridge.loyalty.programme import load_programme

    return load_programme(rules).policy
