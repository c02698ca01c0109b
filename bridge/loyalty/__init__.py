"""Loyalty: the points rules (pure), idempotency keys, claim codes, the ledger and the journal."""

from bridge.loyalty.claims import (
    AlreadyClaimed,
    ClaimError,
    InvalidClaimCode,
    InvalidCustomer,
    MistypedClaimCode,
    TooManyClaimAttempts,
    UnknownClaimCode,
)
from bridge.loyalty.journal import Journal, JournalEntry
from bridge.loyalty.keys import idempotency_key
from bridge.loyalty.ledger import Ledger, Outcome
from bridge.loyalty.rules import PointsRule, earns, points_for, round_points

__all__ = [
    "AlreadyClaimed",
    "ClaimError",
    "InvalidClaimCode",
    "InvalidCustomer",
    "Journal",
    "JournalEntry",
    "Ledger",
    "MistypedClaimCode",
    "Outcome",
    "PointsRule",
    "TooManyClaimAttempts",
    "UnknownClaimCode",
    "earns",
    "idempotency_key",
    "points_for",
    "round_points",
]
