"""The idempotency key of a receipt: the same printed receipt always gives the same key.

Key = ``"r1-"`` + SHA-256 (hex) of five fields joined by the unit separator (0x1F):

    store, till, number, issue date, fingerprint

- a missing field is the empty string;
- the issue date is ``issued_at.date()`` in the receipt's own zone (the date as printed),
  ISO format, so the key does not depend on the bridge's zone or on the time of day printed;
- the fingerprint is ``Receipt.fingerprint``: the printed text, blind to whitespace.

A resend or a replay of the same bytes gives the same key; so does a reprint, which is also a
COPY and earns nothing. Two different receipts that share store, till, number and date (a
till whose counter was reset) still differ in their text. The ``r1`` prefix names this
scheme: a future scheme gets a new prefix and never collides with stored keys.
"""

from __future__ import annotations

import hashlib

from parsers.receipt import Receipt

KEY_SCHEME = "r1"
_SEPARATOR = "\x1f"


def idempotency_key(receipt: Receipt) -> str:
    fields = (
        receipt.store or "",
        receipt.till or "",
        receipt.number or "",
        receipt.issued_at.date().isoformat() if receipt.issued_at else "",
        receipt.fingerprint,
    )
    digest = hashlib.sha256(_SEPARATOR.join(fields).encode("utf-8")).hexdigest()
    return f"{KEY_SCHEME}-{digest}"


def claim_key(code: str) -> str:
    """The key of the ledger entry that credits a claim code: a code credits once."""
    return f"claim-{code}"
