"""Claim codes: what a receipt without a customer prints, so its points can be claimed later.

Nine characters from 32 that cannot be mistaken for one another on thermal paper (no 0/O,
no 1/I), shown in three groups: ``K7Q-M3X-PAW``. The first eight are random (32^8, about
10^12: guessing a live code is hopeless, and codes almost never collide; the ledger retries on
the rare collision); the ninth is a check character (Luhn mod 32), so a mistyped code (one
character wrong, or two neighbours swapped) is told apart from an unknown one before the
database is asked, and a guess costs an attempt only when it is well formed.

Codes printed before the check character (``K7QM-3XPA``: eight characters, two groups) are
still taken: eight characters are looked up as they are, with no check.

``read_customer`` reads the customer someone typed for a claim (``card:…``, ``phone:…``,
``loyalty_id:…`` or a bare number) and refuses what cannot be one.
"""

from __future__ import annotations

import re
import secrets

from parsers.identifiers import normalise_identifier
from parsers.receipt import CustomerKind

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
RANDOM_LENGTH = 8
CODE_LENGTH = RANDOM_LENGTH + 1  # with the check character
LEGACY_LENGTH = 8  # codes printed before the check character
_TYPED_RE = re.compile(r"[\s\-_.]")


class ClaimError(Exception):
    """A claim that cannot be credited; the message says why, for the person at the counter."""


class InvalidClaimCode(ClaimError):
    pass


class MistypedClaimCode(InvalidClaimCode):
    """Well formed, but its check character does not match: a typing mistake."""


class UnknownClaimCode(ClaimError):
    pass


class AlreadyClaimed(ClaimError):
    pass


class VoidedClaimCode(ClaimError):
    """The code's award was voided: its receipt never reached the printer whole."""


class ExpiredClaimCode(ClaimError):
    """The code was printed longer ago than the programme lets codes be claimed."""


class TooManyClaimAttempts(ClaimError):
    """Too many unknown codes lately from this place: claims wait, to slow down guessing."""


class InvalidCustomer(ClaimError):
    pass


def check_character(payload: str) -> str:
    """Luhn mod 32 over ``payload`` (characters of ``ALPHABET``): catches every single wrong
    character and nearly every swap of two neighbours."""
    total = 0
    factor = 2
    for char in reversed(payload):
        addend = factor * ALPHABET.index(char)
        total += addend // 32 + addend % 32
        factor = 3 - factor
    return ALPHABET[-total % 32]


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return format_code(raw + check_character(raw))


def format_code(raw: str) -> str:
    """The printed form: three groups of three, or two of four for an older code."""
    if len(raw) == LEGACY_LENGTH:
        return f"{raw[:4]}-{raw[4:]}"
    return f"{raw[:3]}-{raw[3:6]}-{raw[6:]}"


def normalise_code(typed: str) -> str:
    """The stored form of a code as someone typed it: any case, with or without the dashes.
    Raises ``MistypedClaimCode`` when its check character is wrong, ``InvalidClaimCode``
    when it cannot be a code at all."""
    raw = _TYPED_RE.sub("", typed).upper()
    wrong = sorted({ch for ch in raw if ch not in ALPHABET})
    if len(raw) not in (CODE_LENGTH, LEGACY_LENGTH) or wrong:
        hint = ""
        if set(wrong) & set("01OI"):
            hint = " (codes have no 0, 1, O or I: is it an O for a Q, a 1 for an L?)"
        raise InvalidClaimCode(
            f"{typed!r} is not a claim code: {CODE_LENGTH} characters like K7Q-M3X-PAW{hint}"
        )
    if len(raw) == CODE_LENGTH and check_character(raw[:-1]) != raw[-1]:
        raise MistypedClaimCode(
            f"{format_code(raw)} is mistyped: check the code (one character is wrong or two "
            "are swapped)"
        )
    return format_code(raw)


def qr_payload(code: str, claim_url: str | None = None) -> str:
    """What the receipt's QR code holds: the claim page with the code, or the code alone."""
    if claim_url is None:
        return code
    return f"{claim_url}{'&' if '?' in claim_url else '?'}code={code}"


# --- the customer a claim is for -------------------------------------------------------------

_PHONE_RE = re.compile(r"\+?\d{6,15}")
_CARD_RE = re.compile(r"[A-Za-z0-9]{1,64}")
_LOYALTY_ID_RE = re.compile(r"[\w.]{1,64}")
_BARE_RE = re.compile(r"\+?[A-Za-z0-9]{1,64}")
_NAMES = {
    CustomerKind.CARD: "card number",
    CustomerKind.PHONE: "phone",
    CustomerKind.LOYALTY_ID: "loyalty id",
    None: "card number, phone or loyalty id",
}


def read_customer(typed: str) -> tuple[CustomerKind | None, str]:
    """The kind (None when not said) and the normalised value (``normalise_identifier``, as
    receipts store them) of the customer typed for a claim. Raises ``InvalidCustomer``."""
    prefix, colon, rest = typed.partition(":")
    kinds = {kind.value: kind for kind in CustomerKind}
    kind: CustomerKind | None = None
    if colon:
        kind = kinds.get(prefix.strip().lower())
        if kind is None:
            raise InvalidCustomer(
                f"{typed!r}: unknown kind {prefix.strip()!r}; write card:..., phone:... or "
                "loyalty_id:..., or just the number"
            )
        typed = rest
    # the phone rule drops what is not a digit: check what was typed, keep a phone's "+"
    value = normalise_identifier(typed, kind if kind is CustomerKind.LOYALTY_ID else None)
    what = _NAMES[kind]
    if not value:
        raise InvalidCustomer(f"no {what} given: write the customer's {what} after the code")
    pattern, rule = {
        CustomerKind.PHONE: (_PHONE_RE, "6 to 15 digits, with an optional leading +"),
        CustomerKind.CARD: (_CARD_RE, "letters and digits, at most 64"),
        CustomerKind.LOYALTY_ID: (_LOYALTY_ID_RE, "letters, digits, _ and ., at most 64"),
        None: (_BARE_RE, "letters and digits (a leading + for a phone), at most 64"),
    }[kind]
    if not pattern.fullmatch(value):
        raise InvalidCustomer(f"{typed.strip()!r} is not a {what}: a {what} is {rule}")
    return kind, value
