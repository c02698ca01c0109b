"""What goes on a receipt: which receipts get a message, and the message for an award.

Pure functions of a ``Receipt`` and an ``Outcome``; ``drivers.escpos_out`` turns the
``Message`` into bytes for the printer at hand. The words come from the store's template
(``bridge.message_template``, the default one unless the shop has its own) in the till's
language (``bridge.texts``); this module decides which message a receipt gets and hands the
template plain data: the card only as its last four digits, the bonus parts without the base
rate, no voucher twice (a resent sale's vouchers were printed on the first one).
"""

from __future__ import annotations

import logging
from typing import Any

from bridge.loyalty import Outcome, earns
from bridge.loyalty.claims import qr_payload
from bridge.message_template import Kind, MessageTemplate, Rendered, default_template
from bridge.texts import DEFAULT_LANGUAGE
from drivers.escpos_out import Barcode, Message
from parsers.receipt import Receipt, ReceiptKind

log = logging.getLogger(__name__)


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
    outcome: Outcome,
    claim_url: str | None = None,
    language: str = DEFAULT_LANGUAGE,
    *,
    width: int = 42,
    template: MessageTemplate | None = None,
    tier: str | None = None,
    points_month: int | None = None,
    points_year: int | None = None,
) -> Message | None:
    """The message for an award: points, balance and what else the programme gave, or a
    claim code when no customer; None when there is nothing to say.

    ``width`` is the printer's Font A columns: no line is longer. A resent sale
    (``outcome.duplicate``) says it was already counted and shows the balance, never the
    points again. ``tier`` and the month's and year's points are shown where given.
    """
    if outcome.points <= 0 and outcome.balance is None:
        return None
    customer = outcome.customer is not None and outcome.balance is not None
    if not customer and outcome.claim_code is None:
        return None
    kind: Kind = ("duplicate" if outcome.duplicate else "award") if customer else "claim"
    context = {
        "kind": kind,
        "duplicate": outcome.duplicate,
        "points": outcome.points,
        "balance": outcome.balance,
        "card_last4": _last_four(outcome.customer) if customer else None,
        "claim_code": outcome.claim_code,
        "bonuses": tuple(part for part in outcome.parts if part.rule_id != "base"),
        "vouchers": () if outcome.duplicate else outcome.vouchers,
        "voucher_uses": outcome.voucher_uses,
        "stamps": outcome.stamps,
        "expiring": outcome.expiring,
        "next_reward": outcome.next_reward,
        "tier": tier,
        "points_month": points_month,
        "points_year": points_year,
    }
    chosen = template or default_template()
    rendered = _render(chosen, context, language, width)
    barcodes = tuple(
        Barcode(voucher.code, chosen.symbology, caption)
        for voucher, caption in zip(context["vouchers"], rendered.captions, strict=True)
    )
    if kind != "claim":
        return Message(title=rendered.title, lines=rendered.lines, barcodes=barcodes)
    assert outcome.claim_code is not None
    return Message(
        title=rendered.title,
        lines=rendered.lines,
        code=outcome.claim_code,
        qr=qr_payload(outcome.claim_code, claim_url),
        barcodes=barcodes,
    )


def pending_message(
    language: str = DEFAULT_LANGUAGE, width: int = 42, template: MessageTemplate | None = None
) -> Message:
    """What a sale prints while the database is away: its points come later."""
    context = {
        "kind": "pending",
        "duplicate": False,
        "points": 0,
        "balance": None,
        "card_last4": None,
        "claim_code": None,
        "bonuses": (),
        "vouchers": (),
        "voucher_uses": (),
        "stamps": (),
        "expiring": None,
        "next_reward": None,
        "tier": None,
        "points_month": None,
        "points_year": None,
    }
    rendered = _render(template or default_template(), context, language, width)
    return Message(title=rendered.title, lines=rendered.lines)


def _render(
    template: MessageTemplate, context: dict[str, Any], language: str, width: int
) -> Rendered:
    """The shop's template, or the default one when it fails: a receipt always prints, and
    ``check_template`` tells the owner what went wrong before it gets here."""
    try:
        return template.render(context, language, width)
    except Exception:  # a template's expressions can raise anything
        if template is default_template():
            raise
        log.exception("template %s failed; printing the default message", template.name)
        return default_template().render(context, language, width)


def _last_four(customer: str | None) -> str | None:
    """The card's last four characters: enough for the customer to know it is theirs, too
    few for anyone reading the receipt to use it."""
    if not customer:
        return None
    return customer[-4:]
