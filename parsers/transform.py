"""The one generic reading: any layout's parse tree, by its well-known rule names, to Receipt.

Value rules (``total``, ``store``, ``name``...) hold one token whose stripped text is the value.
Group rules (``item``, ``discount``, ``tax``, ``tender``) gather the value rules inside them.
Marker rules (``kind_refund``, ``tax_excluded``...) count by their presence. Every other rule is
structure: its children bubble up, so admins may name their rules as they like. When a
receipt-level value appears twice, the first one printed wins.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, NoReturn
from zoneinfo import ZoneInfo

from lark import Token, Tree

from parsers.identifiers import normalise_identifier
from parsers.money import MoneyError, currency_of, parse_money, parse_quantity
from parsers.receipt import (
    CustomerKind,
    CustomerRef,
    Deposit,
    Discount,
    Item,
    Receipt,
    ReceiptKind,
    Tax,
    Tender,
    check_consistency,
)

if TYPE_CHECKING:
    from parsers.layouts import Layout

RECEIPT_VALUES = frozenset(
    {
        "store",
        "till",
        "number",
        "original",
        "date",
        "time",
        "currency",
        "subtotal",
        "total",
        "change",
        "tip",
        "service_charge",
    }
)
CUSTOMER_VALUES = {
    "customer_card": CustomerKind.CARD,
    "customer_phone": CustomerKind.PHONE,
    "customer_id": CustomerKind.LOYALTY_ID,
}
GROUP_FIELDS = {
    "item": frozenset({"name", "amount", "qty", "unit_price", "sku", "category"}),
    "discount": frozenset({"label", "amount", "voucher_code"}),
    "tax": frozenset({"rate", "amount", "base", "label"}),
    "tender": frozenset({"method", "amount"}),
    # a bottle or container deposit line: money held, not spent, so it is kept apart
    "deposit": frozenset({"label", "amount"}),
}
VALUE_RULES = RECEIPT_VALUES | set(CUSTOMER_VALUES) | frozenset().union(*GROUP_FIELDS.values())
MARKERS = {
    "kind_refund": ReceiptKind.REFUND,
    "kind_void": ReceiptKind.VOID,
    "kind_copy": ReceiptKind.COPY,
    "kind_report": ReceiptKind.REPORT,
    "kind_training": ReceiptKind.TRAINING,
}
MONEY_FIELDS = frozenset(
    {"subtotal", "total", "change", "tip", "service_charge", "amount", "unit_price", "base"}
)


class Fact:
    """A value or group found in the tree, on its way up to the receipt."""

    __slots__ = ("name", "token", "value")

    def __init__(self, name: str, value: Any, token: Token | None = None) -> None:
        self.name = name
        self.value = value
        self.token = token  # where it was printed, for error messages


Bubble = list[Token | Fact]


def _bubble(tree: Tree[Token]) -> Bubble:
    """A subtree as a flat list of facts and loose tokens, children first (a plain walk: Lark's
    Transformer dispatches each node by name, which cost more than the receipt's own reading)."""
    flat: Bubble = []
    for child in tree.children:
        if isinstance(child, Tree):
            flat.extend(_bubble(child))
        else:
            flat.append(child)
    data = str(tree.data)  # a rule's name may come as a lark Token, whose == is slower
    if data in VALUE_RULES:
        tokens = [c for c in flat if isinstance(c, Token)]
        text = " ".join(str(t).strip() for t in tokens).strip()
        return [Fact(data, text, tokens[0] if tokens else None)]
    if data in GROUP_FIELDS:
        wanted = GROUP_FIELDS[data]
        fields = {f.name: f for f in flat if isinstance(f, Fact) and f.name in wanted}
        others = [f for f in flat if isinstance(f, Fact) and f.name not in wanted]
        return [Fact(data, fields, _first_token(flat)), *others]
    if data in MARKERS or data == "tax_excluded":
        # the marker's own text is ignored, but well-known rules inside it still count
        # (tax_excluded may wrap the tax lines it speaks of)
        return [Fact(data, True, _first_token(flat)), *(f for f in flat if isinstance(f, Fact))]
    return flat


def _first_token(flat: Bubble) -> Token | None:
    for child in flat:
        if isinstance(child, Token):
            return child
        if child.token is not None:
            return child.token
    return None


class _Reader:
    """Reads fact texts into model values, turning bad values into the admin's error."""

    def __init__(self, layout: Layout, text: str) -> None:
        self.layout = layout
        self.text = text
        self.signs: list[str] = []  # currencies of the amounts, in printed order

    def fail(self, fact: Fact, what: str) -> NoReturn:
        from parsers.layouts import ReceiptParseError

        line = fact.token.line if fact.token is not None else None
        where = f"receipt line {line}: " if line else ""
        raise ReceiptParseError(
            f"layout {self.layout.name}: {where}rule {fact.name} read {fact.value!r}, which is "
            f"not {what}\nhint: the rule's terminal matched more or less than the value; use "
            f"MONEY for amounts, QTY for quantities, PERCENT for rates",
            self.layout.name,
            line,
        )

    def money(self, fact: Fact) -> Decimal:
        try:
            value = parse_money(fact.value)
        except MoneyError:
            self.fail(fact, "an amount")
        sign = currency_of(fact.value)
        if sign:
            self.signs.append(sign)
        return value

    def quantity(self, fact: Fact) -> Decimal:
        try:
            return parse_quantity(fact.value)
        except MoneyError:
            self.fail(fact, "a quantity")

    def rate(self, fact: Fact) -> Decimal:
        try:
            return Decimal(fact.value.replace("%", "").replace(",", ".").strip())
        except InvalidOperation:
            self.fail(fact, "a rate in percent")

    def optional(self, fields: dict[str, Fact], name: str) -> str | None:
        fact = fields.get(name)
        return fact.value if fact is not None and fact.value else None

    def require(self, group: Fact, name: str) -> Fact:
        fields: dict[str, Fact] = group.value
        if name not in fields:
            line = group.token.line if group.token is not None else None
            from parsers.layouts import ReceiptParseError

            raise ReceiptParseError(
                f"layout {self.layout.name}: receipt line {line}: rule {group.name} has no "
                f"{name}\nhint: every {group.name} needs a {name} rule inside it",
                self.layout.name,
                line,
            )
        return fields[name]


def to_receipt(tree: Tree[Token], layout: Layout, text: str) -> Receipt:
    """The Receipt a layout's parse tree describes, consistency-checked."""
    facts = [f for f in _bubble(tree) if isinstance(f, Fact)]
    reader = _Reader(layout, text)
    receipt = Receipt(layout=layout.name, raw_text=text)
    values: dict[str, Fact] = {}
    for fact in facts:
        name = fact.name
        if name in MARKERS:
            receipt.kind = MARKERS[name]
        elif name == "tax_excluded":
            receipt.tax_included = False
        elif name in RECEIPT_VALUES:
            values.setdefault(name, fact)
        elif name in CUSTOMER_VALUES and receipt.customer is None:
            value = normalise_identifier(fact.value, CUSTOMER_VALUES[name])
            if value:
                receipt.customer = CustomerRef(CUSTOMER_VALUES[name], value)
        elif name == "item":
            qty = fact.value.get("qty")
            unit_price = fact.value.get("unit_price")
            receipt.items.append(
                Item(
                    name=reader.require(fact, "name").value,
                    amount=reader.money(reader.require(fact, "amount")),
                    qty=reader.quantity(qty) if qty is not None else Decimal(1),
                    unit_price=reader.money(unit_price) if unit_price is not None else None,
                    sku=reader.optional(fact.value, "sku"),
                    category=reader.optional(fact.value, "category"),
                )
            )
        elif name == "discount":
            amount = reader.money(reader.require(fact, "amount"))
            receipt.discounts.append(
                Discount(
                    label=reader.optional(fact.value, "label") or "",
                    amount=-abs(amount),
                    voucher_code=reader.optional(fact.value, "voucher_code"),
                )
            )
        elif name == "tax":
            base = fact.value.get("base")
            rate = fact.value.get("rate")
            receipt.taxes.append(
                Tax(
                    # a tax line without a printed rate ("TAX  0.89") reads as rate 0
                    rate=reader.rate(rate) if rate is not None else Decimal(0),
                    amount=reader.money(reader.require(fact, "amount")),
                    base=reader.money(base) if base is not None else None,
                    label=reader.optional(fact.value, "label"),
                )
            )
        elif name == "tender":
            receipt.tenders.append(
                Tender(
                    method=reader.require(fact, "method").value.lower(),
                    amount=reader.money(reader.require(fact, "amount")),
                )
            )
        elif name == "deposit":
            # signed as printed: a returned bottle pays its deposit back
            receipt.deposits.append(
                Deposit(
                    label=reader.optional(fact.value, "label") or "",
                    amount=reader.money(reader.require(fact, "amount")),
                )
            )
    for name in ("store", "till", "number", "original"):
        if name in values:
            setattr(receipt, name, values[name].value or None)
    for name in ("subtotal", "total", "change", "tip", "service_charge"):
        if name in values:
            setattr(receipt, name, reader.money(values[name]))
    if "date" in values:
        receipt.issued_at = _issued_at(reader, values["date"], values.get("time"))
    receipt.currency = _currency(values.get("currency"), reader.signs, layout.meta.currency)
    receipt.problems = check_consistency(receipt)
    return receipt


def _currency(fact: Fact | None, signs: list[str], default: str | None) -> str | None:
    if fact is not None:
        code = currency_of(fact.value)
        if code:
            return code
        if re.fullmatch(r"[A-Za-z]{3}", fact.value):
            return fact.value.upper()
    return signs[0] if signs else default


_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?$")


def _issued_at(reader: _Reader, date_fact: Fact, time_fact: Fact | None) -> datetime:
    day = _read_date(reader, date_fact)
    clock = time(0, 0)
    if time_fact is not None:
        match = _TIME_RE.match(time_fact.value)
        if match is None:
            reader.fail(time_fact, "a time such as 14:05 or 2:05 PM")
        hour, minute = int(match.group(1)), int(match.group(2))
        second = int(match.group(3) or 0)
        meridiem = (match.group(4) or "").lower()
        if meridiem == "pm" and hour < 12:
            hour += 12
        elif meridiem == "am" and hour == 12:
            hour = 0
        try:
            clock = time(hour, minute, second)
        except ValueError:
            reader.fail(time_fact, "a valid time")
    return datetime.combine(day, clock, tzinfo=ZoneInfo(reader.layout.meta.timezone))


def _read_date(reader: _Reader, fact: Fact) -> date:
    parts = re.split(r"[./-]", fact.value.strip())
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        reader.fail(fact, "a date")
    order = reader.layout.meta.date_order
    if len(parts[0]) == 4:  # a four-digit year first can only be year-month-day
        order = "YMD"
    elif order == "AUTO":
        # Day first unless that cannot be (11/14/2026): a till that prints month first
        # shows it within two weeks of any month. 05/11 stays the 5th of November.
        order = "MDY" if int(parts[1]) > 12 >= int(parts[0]) else "DMY"
    by_letter = dict(zip(order, (int(p) for p in parts), strict=True))
    year = by_letter["Y"]
    if year < 100:
        year += 2000
    try:
        return date(year, by_letter["M"], by_letter["D"])
    except ValueError:
        reader.fail(fact, f"a valid date (read as {order})")
