"""Claim codes: what a receipt without a customer prints, so its points can be claimed later.

Eight characters from 32 that cannot be mistaken for one another on thermal paper (no 0/O,
no 1/I), shown in two groups: ``K7QM-3XPA``. 32^8 is about 10^12, so guessing a live code is
hopeless and random codes almost never collide (the ledger retries on the rare collision).
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8
_GROUP = 4
_TYPED_RE = re.compile(r"[\s\-_.]")


class ClaimError(Exception):
    """A claim that cannot be credited; the message says why, for the person at the counter."""


class InvalidClaimCode(ClaimError):
    pass


class UnknownClaimCode(ClaimError):
    pass


class AlreadyClaimed(ClaimError):
    pass


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return format_code(raw)


def format_code(raw: str) -> str:
    return f"{raw[:_GROUP]}-{raw[_GROUP:]}"


def normalise_code(typed: str) -> str:
    """The stored form of a code as someone typed it: any case, with or without the dash."""
    raw = _TYPED_RE.sub("", typed).upper()
    if len(raw) != CODE_LENGTH or any(ch not in ALPHABET for ch in raw):
        raise InvalidClaimCode(
            f"{typed!r} is not a claim code: {CODE_LENGTH} characters like K7QM-3XPA"
        )
    return format_code(raw)


def qr_payload(code: str, claim_url: str | None = None) -> str:
    """What the receipt's QR code holds: the claim page with the code, or the code alone."""
    if claim_url is None:
        return code
    return f"{claim_url}{'&' if '?' in claim_url else '?'}code={code}"
