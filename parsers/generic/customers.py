"""Who the receipt is for: loyalty cards, member numbers and phones, as the till prints them.

A customer line is a label (``Kundenkarte:``, ``Rewards #``, ``Klantnummer:``, ``Tel.``) then an
identifier, and nothing else on the line but another column. The identifier is kept whole,
letters included (``IT99887766``, ``RL-000451``), and normalised by
``parsers.identifiers.normalise_identifier``, the function the CLI uses for what an admin
types. A masked number (``****4242``) is a payment card, never a customer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parsers.generic import keywords as kw
from parsers.generic.text import fold
from parsers.identifiers import normalise_identifier
from parsers.receipt import CustomerKind

_TOKEN = r"[\w()./\-*•#+]*\d[\w()./\-*•#+]*"
_IDENTIFIER_RE = re.compile(rf"(?:[A-Z]{{1,3}} )?[+(]?{_TOKEN}(?: {_TOKEN})*")
_MASK_RE = re.compile(r"[*•]|[xX]{3,}|#{2,}")
_ANNOUNCES_RE = re.compile(r"(?:[:#]|\b(?:no|nr|n[o°º]|number|nummer|numero|num)\.?)\s*$")
_NUMBER_WORDS = frozenset(w for w in kw.NUMBER_WORDS if w != "#")
# words a label may hold besides its keywords: "Tarjeta DE cliente", "YOUR rewards number"
_MAX_OTHER_WORDS = 2


@dataclass(frozen=True, slots=True)
class CustomerLine:
    kind: CustomerKind
    value: str | None  # normalised; None when the label has no readable number
    strong: bool  # a loyalty or customer word, not only "Tel." or "Karte"
    label_only: bool = False  # nothing after the label: the number may be on the next line
    announces: bool = False  # the label ends in ":", "#" or "No": a number should follow


def read_customer_line(stripped: str) -> CustomerLine | None:
    """The customer a line without amounts names, or None when it is no customer line."""
    start = next((i for i, ch in enumerate(stripped) if ch.isdigit()), len(stripped))
    while start < len(stripped) and start > 0 and stripped[start - 1] not in " :#":
        start -= 1  # back to the start of the identifier's first word: "IT99887766"
    start = _with_letter_prefix(stripped, start)
    folded = fold(stripped[:start])
    label = _label(folded)
    if label is None:
        return None
    kind, strong = label
    rest = stripped[start:]
    if not rest:
        if not strong:
            return None
        announces = bool(_ANNOUNCES_RE.search(folded))
        return CustomerLine(kind, None, strong, label_only=True, announces=announces)
    match = _IDENTIFIER_RE.match(rest)
    if match is None:
        return CustomerLine(kind, None, strong) if strong else None
    after = rest[match.end() :]
    if after.strip() and not after.startswith("  "):
        return None  # more words: a sentence about a card, not a card
    text = match.group(0)
    if _MASK_RE.search(text):
        # a payment card's masked number; a loyalty label with a masked number is unreadable
        return CustomerLine(kind, None, strong) if strong else None
    value = normalise_identifier(text, kind)
    if not _plausible(value, kind, strong):
        return CustomerLine(kind, None, strong) if strong else None
    return CustomerLine(kind, value, strong)


_PREFIX_RE = re.compile(r"(?<![^\s:#])([A-Z]{1,3})[ ]$")


def _with_letter_prefix(stripped: str, start: int) -> int:
    """``PT 1234 5678``: a country or scheme prefix printed apart is part of the card."""
    match = _PREFIX_RE.search(stripped, 0, start)
    if match is None or match.group(1).lower() in _NUMBER_WORDS:
        return start
    return match.start(1)


_LABEL_TABLES = ("loyalty", "card", "customer", "phone", "number")


def _label(folded: str) -> tuple[CustomerKind, bool] | None:
    """The kind of identifier a label announces, and whether it names a customer for sure."""
    scan = kw.INDEX.scan(folded)
    if not scan.words and "#" not in folded:
        return None
    loyalty = scan.first("loyalty")
    card = scan.first("card")
    customer = scan.first("customer")
    phone = scan.first("phone")
    numbered = scan.first("number") is not None or "#" in folded
    payment = scan.first("payment_card") is not None
    strong = loyalty is not None or (
        customer is not None and (numbered or card is not None or phone is not None)
    )
    if not strong:
        if phone is None and (card is None or payment):
            return None
        if customer is None and payment:
            return None
    if scan.first("not_an_id"):
        return None
    covered = scan.covered(_LABEL_TABLES)
    others = [w for i, w in enumerate(scan.words) if i not in covered]
    if len(others) > _MAX_OTHER_WORDS:
        return None
    kind = CustomerKind.PHONE if phone is not None else CustomerKind.CARD
    return kind, strong


def _plausible(value: str, kind: CustomerKind, strong: bool) -> bool:
    digits = sum(ch.isdigit() for ch in value)
    if kind is CustomerKind.PHONE:
        return 6 <= digits <= 15 and len(value) - digits <= 1  # the "+"
    if strong:
        return len(value) >= 4 and digits >= 3
    return digits >= 6  # "Karta: 5900 1111 2222"; a bank card's last four never


def bare_identifier(stripped: str, kind: CustomerKind) -> str | None:
    """A line that is only an identifier (under a label printed alone), normalised."""
    match = _IDENTIFIER_RE.fullmatch(stripped)
    if match is None or _MASK_RE.search(stripped):
        return None
    value = normalise_identifier(stripped, kind)
    return value if _plausible(value, kind, True) else None
