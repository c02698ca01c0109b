"""Loyalty: the points rules (pure), idempotency keys, claim codes, the ledger and the journal."""

from bridge.loyalty.claims import (
    AlreadyClaimed,
    ClaimError,
    ExpiredClaimCode,
    InvalidClaimCode,
    InvalidCustomer,
    MistypedClaimCode,
    TooManyClaimAttempts,
    UnknownClaimCode,
    VoidedClaimCode,
)
from bridge.loyalty.journal import Journal, JournalEntry, Voided
from bridge.loyalty.keys import earn_key, idempotency_key, void_key
from bridge.loyalty.ledger import Ledger, Outcome
from bridge.loyalty.rules import PointsRule, earns, points_for, round_points

__all__ = [
    "AlreadyClaimed",
    "ClaimError",
    "ExpiredClaimCode",
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
    "Voided",
    "VoidedClaimCode",
    "earn_key",
    "earns",
    "idempotency_key",
    "points_for",
    "round_points",
    "void_key",
]
