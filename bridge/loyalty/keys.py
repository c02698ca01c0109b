"""The idempotency key of a receipt: the same printed receipt always gives the same key.

Key = ``"r1-"`` + SHA-256 (hex) of five fields joined by the unit separator (0x1F):

    store, till, number, issue date, fingerprint

- store and till are the bridge's own names for them (``attribute``: the config's
  ``chain/store`` and the till's name), never the header the till prints: two shops of a
  chain may print the same name, and their receipts must not share keys;
- a missing field is the empty string;
- the issue date is ``issued_at.date()`` in the receipt's own zone (the date as printed),
  ISO format, so the key does not depend on the bridge's zone or on the time of day printed;
- the fingerprint is ``Receipt.fingerprint``: the printed text, blind to whitespace.

A resend or a replay of the same bytes gives the same key; so does a reprint, which is also a
COPY and earns nothing. Two different receipts that share store, till, number and date (a
till whose counter was reset) still differ in their text. The ``r1`` prefix names this
scheme: a future scheme gets a new prefix and never collides with stored keys.

**Voided awards.** An award whose receipt never reached the printer whole is voided
(``Ledger.void``), and the receipt printed again must earn again. So a receipt's earn entries
come in generations: the first is keyed by the receipt's key itself, the next ones by
``key + "#2"``, ``"#3"``...; a new generation is started only when the one before was voided.
A void's own key is ``"void:"`` + the key of the earn entry it takes back, so each earn entry
is voided at most once. The longest of them still fits the 80 characters of the column.
"""

from __future__ import annotations

import hashlib

from parsers.receipt import Receipt

KEY_SCHEME = "r1"
_SEPARATOR = "\x1f"


def attribute(receipt: Receipt, store: str, till: str) -> Receipt:
    """Mark a receipt as read at this store and till (see the module docstring): done once,
    right after it is read and before anything keys it."""
    receipt.store = store
    receipt.till = till
    return receipt


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


def earn_key(key: str, generation: int) -> str:
    """The key of a receipt's earn entry of this generation (1: the first award)."""
    if generation < 1:
        raise ValueError(f"an award's generation starts at 1, not {generation}")
    return key if generation == 1 else f"{key}#{generation}"


def void_key(earned: str) -> str:
    """The key of the entry that voids the earn entry keyed ``earned``."""
    return f"void:{earned}"


def claim_key(code: str) -> str:
    """The key of the ledger entry that credits a claim code: a code credits once."""
    return f"claim-{code}"
