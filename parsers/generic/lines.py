"""One printed line, classified on its own: what kind of line it is and what it holds.

Each line is read once, left to right, with a handful of compiled patterns (amounts, a rate,
the keyword tables): the generic layout's cost is linear in the lines. What a line means in
its place (an item before the total, a tender after it) is ``parsers.generic.reader``'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from parsers.generic import keywords as kw
from parsers.generic.customers import CustomerLine, read_customer_line
from parsers.generic.text import Scan, Span, fold
from parsers.money import Amount, find_amounts


class Role(Enum):
    BLANK = "blank"
    TEXT = "text"  # words and no amount: a header line, a name above its quantity line...
    ITEM = "item"
    QTY_LINE = "qty_line"  # "3 x 0,90   2,70" under the item's name
    UNIT_DETAIL = "unit_detail"  # "EAN 4006381333931   2 Stk x 1,19" under its item
    AMOUNT_ONLY = "amount_only"  # "      2,70": its label is on the line above
    DISCOUNT = "discount"
    SUBTOTAL = "subtotal"
    TOTAL = "total"
    TAX = "tax"
    TAX_SUM = "tax_sum"  # "Suma PTU 4,77", "Total tax 2,14": the sum of the tax lines
    NOT_TOTAL = "not_total"  # nets, bases, savings, balances: set aside
    CHANGE = "change"
    TIP = "tip"
    SERVICE = "service"  # a service charge the house adds: never earns
    DEPOSIT = "deposit"  # "Pfand 0,25", "Kaucja 0,50": money held, never earns
    ORIGINAL = "original"  # "Ticket original: T1-004521": the receipt this one refers to
    ROUNDING = "rounding"  # "Afronding -0,01": cash rounded to 5 cents, part of the total
    TENDER = "tender"
    MARKER = "marker"  # the receipt's kind: REFUND, COPY, Z REPORT...
    CUSTOMER = "customer"  # a customer line, read or not (see ``customer``)
    KEYWORD_ONLY = "keyword_only"  # "TOTAL" alone: its amount is on the next line


@dataclass(slots=True)
class Line:
    number: int  # 1-based, as printed
    text: str
    role: Role
    amounts: list[Amount] = field(default_factory=list)
    label: str = ""  # the text before the first amount, decoration stripped
    rate: Decimal | None = None
    qty: Decimal | None = None
    # MARKER: the kind; KEYWORD_ONLY: the role of the next line; ORIGINAL: the kind it also
    # announces ("Duplicata de 000482" is a copy), if any
    marker: str | None = None
    customer: CustomerLine | None = None
    category: str | None = None  # a department printed on an item's code line

    def code_line_category(self) -> str | None:
        """The department of a code line without an amount ("  EAN 4001550170217  Getränke")."""
        match = _CODE_RE.match(self.text.strip(_DECOR))
        return match.group("category") if match is not None else None

    @property
    def amount(self) -> Decimal:
        """The line's own amount: the last one printed."""
        return self.amounts[-1].value


_DECOR = " \t*=#-\u2013\u2014_.:;><|~+!"
_RATE_RE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,3})?)[ ]?%")
_TRAILING_QTY_RE = re.compile(
    rf"(?:^|(?<=\s))(?:(?P<qty>\d+(?:[.,]\d{{1,3}})?)[ \t]*(?:{kw.UNITS}\.?[ \t]*)?)?[x×*@][ \t]*$",
    re.IGNORECASE,
)
_LEADING_QTY_RE = re.compile(
    r"^[ \t]*(?P<qty>-?\d+(?:[.,]\d{1,3})?)(?:[ \t]*[x×*][ \t]*|[ \t]{2,})"
)
# "EAN 4006381333931", maybe with the department after it ("PLU 4011  Obst & Gemüse")
_CODE_RE = re.compile(
    r"^[A-Za-z.\-/]{0,10}:?[ \t]*[\d\-]{3,}(?:[ \t]{2,}(?P<category>[^\W\d_][^\d]*?))?[ \t]*$"
)
_RATE_ONLY_RE = re.compile(r"^(?:[a-z]{1,2}[ \t]*[=:]?[ \t]*)?\d{1,2}(?:[.,]\d{1,3})?[ ]?%$")
_TAX_CLASS_RE = re.compile(r"^[A-H](?:[ \t]|$)")
_LETTER_RE = re.compile(r"[^\W\d_]")
_WORD_RE = re.compile(r"[^\W_]+")


def classify(number: int, text: str) -> Line:
    """What one printed line is, on its own."""
    stripped = text.strip()
    if not stripped or not (_LETTER_RE.search(stripped) or any(c.isdigit() for c in stripped)):
        return Line(number, text, Role.BLANK)
    amounts = find_amounts(text)
    if not amounts:
        return _without_amounts(number, text, stripped)
    label = text[: amounts[0].start].strip(_DECOR)
    line = Line(number, text, Role.ITEM, amounts, label)
    rate = _RATE_RE.search(text)
    if rate is not None:
        line.rate = Decimal(rate.group(1).replace(",", "."))
    folded = fold(label)
    line.role = _role_of_amount_line(line, folded)
    return line


def _without_amounts(number: int, text: str, stripped: str) -> Line:
    folded = fold(stripped)
    original = _original(stripped, folded)
    if original is not None:
        # "Duplicata de 000482" says both which receipt and what kind this one is
        marker = _marker(_DIGITS_RE.sub(" ", folded))
        return Line(number, text, Role.ORIGINAL, label=original, marker=marker)
    customer = read_customer_line(stripped)
    if customer is not None:
        return Line(number, text, Role.CUSTOMER, label=stripped, customer=customer)
    marker = _marker(folded)
    if marker is not None:
        return Line(number, text, Role.MARKER, label=stripped, marker=marker)
    label = stripped.strip(_DECOR)
    only = _keyword_only(fold(label))
    if only is not None:
        return Line(number, text, Role.KEYWORD_ONLY, label=label, marker=only.value)
    return Line(number, text, Role.TEXT, label=label)


_DIGITS_RE = re.compile(r"\S*\d\S*")
_NUMBER_WORDS = frozenset(kw.NUMBER_WORDS)
# The number after the phrase: the first word with a digit in it ("T1-004521", "#4822").
_REFERENCE_RE = re.compile(r"[#№]?([A-Za-z0-9][A-Za-z0-9/.-]*\d[A-Za-z0-9/-]*|\d+)")


def _original(stripped: str, folded: str) -> str | None:
    """The number of the receipt this line refers to, when the line starts with an original
    receipt phrase and prints a number after it: ``Ticket original: T1-004521``."""
    scan = kw.INDEX.scan(folded)
    span = scan.first("original")
    if span is None or span.start > 1:
        return None
    # only a number word may stand between the phrase and the number ("n°", "nr", "#"):
    # "Original Pizza Co. 1985" is a shop's name
    after = scan.words[span.end :]
    at = next((i for i, word in enumerate(after) if any(ch.isdigit() for ch in word)), None)
    if at is None or at > 2 or any(word not in _NUMBER_WORDS for word in after[:at]):
        return None
    match = _REFERENCE_RE.search(stripped.strip(_DECOR))
    if match is None:
        return None
    return match.group(1).rstrip(".-/")


def _marker(folded: str) -> str | None:
    """The kind a short line announces (``*** DEVOLUCION ***``), not a sentence about it."""
    scan = kw.INDEX.scan(folded)
    if not scan.words or len(scan.words) > 4:
        return None
    kind = next((kind for kind in kw.KINDS if scan.first(f"kind_{kind}")), None)
    if kind == "copy" and scan.first("slip_copy"):
        return None  # "COPIA CLIENTE", "MERCHANT COPY": a card slip's copy on a sale
    return kind


def _keyword_only(folded: str) -> Role | None:
    """A label printed alone ("TOTAL", "Cambio:"), its amount on the line below."""
    scan = kw.INDEX.scan(folded)
    if not scan.words or len(scan.words) > 4:
        return None
    for role in (Role.SUBTOTAL, Role.TOTAL, Role.CHANGE):
        span = scan.first(role.value)
        if span is not None and span.start == 0 and span.end == len(scan.words):
            return role
    return None


def _near_start(span: Span | None, words: int = 2) -> bool:
    """The keyword starts within the label's first ``words`` + 1 words."""
    return span is not None and span.start <= words


def _role_of_amount_line(line: Line, folded: str) -> Role:
    qty_role = _quantity_line(line)
    if qty_role is not None:
        return qty_role
    scan = kw.INDEX.scan(folded)
    if _near_start(scan.first("subtotal")):
        return Role.SUBTOTAL
    deposit = scan.first("deposit")
    if deposit is not None and deposit.start == 0:
        # checked before change and discount: "Pfand zurück 1,00-" is a returned deposit;
        # "Kaucja butelka  4 x 0,50  2,00" keeps its label, not its count
        trailing = _TRAILING_QTY_RE.search(line.label)
        if trailing is not None and trailing.start() > 0:
            line.label = line.label[: trailing.start()].strip(_DECOR)
        return Role.DEPOSIT
    total = scan.first("total")
    not_total = scan.first("not_total")
    if (
        not_total is not None
        and total is not None
        and (_covers(total, not_total) or total.start > not_total.start)
    ):
        # "net à payer" is a total, though it says "net"; and in "Items: 3  Total: 12,50" the
        # word nearest the amount says what it is ("Total savings" is no total)
        not_total = None
    tax = scan.first("tax")
    rate_only = bool(_RATE_ONLY_RE.match(folded)) or (
        line.rate is not None and bool(_TAX_CLASS_RE.match(line.label)) and len(line.amounts) > 1
    )
    if tax is not None or rate_only:
        if not_total is not None and line.rate is None:
            return Role.NOT_TOTAL  # "Sprzed. opod. PTU A", "Base imponible IVA"
        if _near_start(total) and scan.first("included"):
            return Role.TOTAL  # "Total incl. VAT", "Totaal incl. BTW"
        summed = scan.first("sum")
        if summed is not None and tax is not None and summed.start < tax.start:
            return Role.TAX_SUM
        return Role.TAX
    if not_total is not None:
        return Role.NOT_TOTAL
    discount = scan.first("discount")
    if discount is not None and line.amount < 0:
        return Role.DISCOUNT  # "Gutschein FM7X-22K9  -5,00": a voucher, though also a tender
    change = scan.first("change")
    tender = scan.first("tender")
    if total is not None and _near_start(total):
        if tender is not None and scan.first("given"):
            return Role.TENDER  # "Betrag gegeben", "Total paid"
        if change is not None and change.start < total.start:
            return Role.CHANGE
        return Role.TOTAL
    if _near_start(change):
        return Role.CHANGE
    if _is_service(line, scan):
        return Role.SERVICE
    if _near_start(scan.first("tip")):
        return Role.TIP
    if _near_start(scan.first("rounding")):
        return Role.ROUNDING
    if _near_start(tender):
        return Role.TENDER
    if discount is not None and (discount.start == 0 or not _item_like(scan, discount)):
        return Role.DISCOUNT
    return _item(line)


def _item_like(scan: Scan, span: Span) -> bool:
    return "".join(scan.words[span.start : span.end]) in kw.ITEM_LIKE_DISCOUNT


def _is_service(line: Line, scan: Scan) -> bool:
    """A service charge line: a phrase that says so near the start, or "Service" as the
    line's first word with a rate printed ("Service 10%  4,50")."""
    if _near_start(scan.first("service"), 1):
        return True
    word = scan.first("service_word")
    return word is not None and word.start == 0 and line.rate is not None


def _covers(outer: Span, inner: Span) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end and outer != inner


def _quantity_line(line: Line) -> Role | None:
    """``3 x 0,90   2,70`` or ``EAN 400638   2 Stk x 1,19`` or ``@ $28.00``: a line that
    only says how many, at what price."""
    match = _TRAILING_QTY_RE.search(line.label)
    if match is None:
        return None
    rest = line.label[: match.start()].strip(_DECOR)
    code = _CODE_RE.match(rest) if rest else None
    if rest and code is None:
        return None
    line.category = code.group("category") if code is not None else None
    qty = match.group("qty")
    line.qty = Decimal(qty.replace(",", ".")) if qty else None
    if len(line.amounts) >= 2:
        return Role.QTY_LINE
    return Role.UNIT_DETAIL


def _item(line: Line) -> Role:
    """An item: ``name  amount``, ``2 x name  amount``, ``name  2 x 1,50  3,00``."""
    label = line.text[: line.amounts[0].start].strip()  # "-1  TARTA": keep the sign
    trailing = _TRAILING_QTY_RE.search(label)
    if trailing is not None and trailing.group("qty"):
        line.qty = Decimal(trailing.group("qty").replace(",", "."))
        label = label[: trailing.start()]
    else:
        leading = _LEADING_QTY_RE.match(label)
        if leading is not None and _LETTER_RE.search(label[leading.end() :]):
            line.qty = Decimal(leading.group("qty").replace(",", "."))
            label = label[leading.end() :]
    line.label = label.strip(_DECOR)
    if not line.label:
        return Role.AMOUNT_ONLY
    return Role.ITEM
