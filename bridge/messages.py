"""What goes on a receipt: which receipts get a message, and the message for an award.

Pure functions of a ``Receipt`` and an ``Outcome``; ``drivers.escpos_out`` turns the
``Message`` into bytes for the printer at hand.
"""

from __future__ import annotations

from bridge.loyalty import Outcome, earns
from bridge.loyalty.claims import qr_payload
from bridge.texts import DEFAULT_LANGUAGE, LANGUAGES
from drivers.escpos_out import Message
from parsers.receipt import Receipt, ReceiptKind


def why_no_message(receipt: Receipt) -> str | None:
    """None if the receipt is a sale that may carry a message; else why it may not.

    Only sales that add up get a message (and points): a copy, a refund, a report or a sale
    whose lines do not add up to its total prints exactly as the till sent it.
    """
    if receipt.kind is not ReceiptKind.SALE:
        return f"a {receipt.kind.value}, not a sale"
    if receipt.problems:
        return "inconsistent: " + "; ".join(receipt.problems)
    if not earns(receipt):
        return "earns no points"
    return None


def award_message(
    outcome: Outcome, claim_url: str | None = None, language: str = DEFAULT_LANGUAGE
) -> Message | None:
    """The message for an award: points and balance, or a claim code when no customer."""
    texts = LANGUAGES[language]
    if outcome.points <= 0 and outcome.balance is None:
        return None
    if outcome.customer is not None and outcome.balance is not None:
        return Message(
            title=texts.title,
            lines=(
                texts.earned.format(points=outcome.points),
                texts.balance.format(balance=outcome.balance),
            ),
        )
    if outcome.claim_code is None:
        return None
    return Message(
        title=texts.title,
        lines=(texts.claim_earned.format(points=outcome.points), texts.claim_how),
        code=outcome.claim_code,
        qr=qr_payload(outcome.claim_code, claim_url),
    )
