"""The generic layout: a receipt it has never seen, read line by line into a ``Receipt``.

1. every line is classified on its own (``parsers.generic.lines``);
2. neighbours are joined: a name above its quantity line, a label above its amount, a card
   label above its number, a unit price under its item;
3. the total is the first total line whose amount the lines above it add up to (else the first
   total line): "Total Care toothpaste" above the real total is an item, not the total;
4. before the total: items, discounts, subtotal, deposits, service charge, tip, taxes; after
   it: tenders, change, taxes; anywhere: the original receipt a refund or copy refers to;
5. tax is on top of the subtotal when that is what makes the sums agree;
6. what the reader is unsure of is a problem on the receipt, so it earns nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from parsers.generic import keywords as kw
from parsers.generic.customers import bare_identifier
from parsers.generic.dates import read_when
from parsers.generic.lines import Line, Role, classify
from parsers.generic.text import fold
from parsers.identifiers import normalise_identifier
from parsers.money import code_of, tolerance
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

ZERO = Decimal(0)
# Roles that are goods when printed before the total.
# Roles that are goods when printed before the total ("Pfand zurück -1,00" is an item there).
_BOUGHT = frozenset({Role.ITEM, Role.QTY_LINE, Role.TENDER, Role.TOTAL, Role.CHANGE, Role.ROUNDING})
_GOODS = _BOUGHT | {Role.DISCOUNT}
_KIND_PRIORITY = ("copy", "report", "training", "void", "refund")  # copies never earn
_KIND = {kind.value: kind for kind in ReceiptKind}
_CODES_RE = re.compile(
    r"(?<![^\W\d_])(?:EUR|EURO|EUROS|GBP|USD|CHF|PLN|SEK|NOK|DKK|ISK|CZK|HUF|RON|BGN|TRY|"
    r"UAH|RUB|RSD|BRL|CAD|AUD|NZD|MXN|ARS|CLP|HKD|SGD|CNY|JPY|KRW|INR|ILS|ZAR|AED|"
    r"THB|VND)(?![^\W\d_])|[€£¥₺₽₴₪₹₩฿₫]|(?<![^\W\d_])(?:zł|Kč|Ft|lei|kr)(?![^\W\d_])"
)


@dataclass
class Meta:
    """What a layout file may say about the till (``//@`` lines)."""

    name: str = "generic"
    timezone: str = "UTC"
    currency: str | None = None
    date_order: str = "AUTO"


@dataclass
class _Sums:
    goods: Decimal = ZERO  # items and discounts (discounts negative)
    goods_printed: Decimal = ZERO  # the same with discounts as printed
    subtotal: Decimal | None = None
    tip: Decimal = ZERO  # tip, service charge and deposits: on top of the goods
    deposits: Decimal = ZERO  # a subtotal may already hold these
    taxes: Decimal = ZERO
    tax_sums: Decimal = ZERO
    discounts_after_subtotal: Decimal = ZERO
    problems: list[str] = field(default_factory=list)


def read(text: str, meta: Meta) -> Receipt:
    """The receipt printed as ``text`` (lines ending in newlines). Never raises on a receipt:
    what it cannot read is in ``problems``."""
    raw = text.split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    lines = [classify(number, line) for number, line in enumerate(raw, 1)]
    _join_neighbours(lines)
    receipt = Receipt(layout=meta.name, raw_text=text)
    receipt.kind = _kind(lines)
    receipt.original = next((ln.label for ln in lines if ln.role is Role.ORIGINAL), None)
    total_at = _choose_total(lines)
    first_goods = next(
        (i for i, line in enumerate(lines) if line.role in _GOODS or line.role is Role.SUBTOTAL),
        len(lines) if total_at is None else total_at,
    )
    receipt.store = _store(lines, first_goods)
    receipt.issued_at = read_when(raw, meta.date_order, meta.timezone)
    problems: list[str] = []
    if total_at is not None:
        _read_money(receipt, lines, total_at)
    receipt.customer = _customer(lines, first_goods, problems)
    receipt.currency = _currency(lines, total_at, text, meta.currency)
    receipt.problems = check_consistency(receipt) + problems
    return receipt


# -- 2. neighbours --------------------------------------------------------------------------


def _join_neighbours(lines: list[Line]) -> None:
    previous: Line | None = None  # the last line that was not blank
    for line in lines:
        if line.role is Role.BLANK:
            continue
        if previous is not None:
            _join(previous, line)
        previous = line


def _join(above: Line, line: Line) -> None:
    if line.role is Role.AMOUNT_ONLY and above.role is Role.KEYWORD_ONLY:
        line.role = Role(above.marker)  # "TOTAL" / "      12,50"
        line.label = above.label
    elif line.role in (Role.QTY_LINE, Role.AMOUNT_ONLY) and above.role is Role.TEXT:
        line.role = Role.ITEM  # "Napolitana chocolate" / "   3 x 0,90    2,70"
        line.label = above.label
    elif line.role is Role.UNIT_DETAIL and above.role is Role.ITEM and line.qty is not None:
        unit = line.amounts[-1].value
        if _same(line.qty * unit, above.amount):  # "2 Stk x 1,19" under "2,38": that item's
            above.qty = line.qty
            above.amounts = [line.amounts[-1], above.amounts[-1]]
            above.category = line.category
    elif line.role is Role.UNIT_DETAIL and above.role is Role.ITEM and line.qty is None:
        unit = line.amounts[-1].value  # "     @ $28.00" under "2  Ribeye Steak  $56.00"
        if above.qty is not None and _same(above.qty * unit, above.amount):
            above.amounts = [line.amounts[-1], above.amounts[-1]]
    elif line.role is Role.TEXT and above.role is Role.ITEM and above.category is None:
        above.category = line.code_line_category()  # "  PLU 4011  Obst & Gemüse"
    elif (
        above.role is Role.CUSTOMER
        and above.customer is not None
        and above.customer.label_only
        and line.role is Role.TEXT
    ):
        value = bare_identifier(line.label, above.customer.kind)
        if value is not None:  # "*** CLUB CARD ***" / "2760 0123 45671"
            line.role = Role.CUSTOMER
            line.customer = type(above.customer)(above.customer.kind, value, True)
            above.role = Role.TEXT


def _same(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= Decimal("0.005") + tolerance("EUR") / 2


# -- 3. the total ---------------------------------------------------------------------------


def _choose_total(lines: list[Line]) -> int | None:
    """The index of the total line: the first whose amount the lines above it add up to."""
    sums = _Sums()
    first: int | None = None
    for index, line in enumerate(lines):
        if line.role is Role.TOTAL and len(line.amounts) <= 2:
            if first is None:
                first = index
            if _adds_up(line.amount, sums):
                return _later_total(lines, index)
        _add(sums, line)
    return None if first is None else _later_total(lines, first)


def _adds_up(total: Decimal, sums: _Sums) -> bool:
    if sums.subtotal is not None:
        bases = [sums.subtotal + sums.discounts_after_subtotal]
        # a subtotal printed under the deposit lines may already hold them
        extras = {sums.tip, sums.tip - sums.deposits}
    else:
        bases = [sums.goods, sums.goods_printed]
        extras = {sums.tip}
    for base in bases:
        for tax in (ZERO, sums.taxes, sums.tax_sums):
            for extra in extras:
                if base != ZERO and _same(base + tax + extra, total):
                    return True
    return False


def _add(sums: _Sums, line: Line) -> None:
    """Count a line printed above the total into the running sums."""
    role = line.role
    if role in _BOUGHT:
        sums.goods += line.amount
        sums.goods_printed += line.amount
    elif role is Role.DISCOUNT:
        sums.goods -= abs(line.amount)
        sums.goods_printed += line.amount
        if sums.subtotal is not None:
            sums.discounts_after_subtotal -= abs(line.amount)
    elif role is Role.SUBTOTAL and sums.subtotal is None:
        sums.subtotal = line.amount
    elif role in (Role.TIP, Role.SERVICE):
        sums.tip += line.amount
    elif role is Role.DEPOSIT:
        sums.tip += line.amount
        sums.deposits += line.amount
    elif role is Role.TAX:
        sums.taxes += _tax_amounts(line)[1]
    elif role is Role.TAX_SUM:
        sums.tax_sums += line.amount


def _later_total(lines: list[Line], chosen: int) -> int:
    """A total corrected below it: "Summe 12,50 / Rabatt -2,50 / Zu zahlen 10,00", or
    "Total 14.04 / Tip 2.00 / Total with tip 16.04": the later line is the total, and the
    first is set aside."""
    between = ZERO
    for index in range(chosen + 1, len(lines)):
        line = lines[index]
        if line.role is Role.DISCOUNT:
            between -= abs(line.amount)
        elif line.role in (Role.TIP, Role.SERVICE, Role.ROUNDING):
            between += line.amount
        elif line.role is Role.TOTAL and between != ZERO:
            if _same(lines[chosen].amount + between, line.amount):
                lines[chosen].role = Role.NOT_TOTAL
                return index
        elif line.role not in (Role.BLANK, Role.TEXT, Role.NOT_TOTAL, Role.MARKER):
            break
    return chosen


# -- 4. the money lines ---------------------------------------------------------------------


def _read_money(receipt: Receipt, lines: list[Line], total_at: int) -> None:
    total_line = lines[total_at]
    receipt.total = total_line.amount
    sums = _Sums()
    taxes_before: list[Tax] = []
    sums_before: list[Tax] = []
    discount_after_subtotal = False
    printed_positive: list[Discount] = []
    for line in lines[:total_at]:
        role = line.role
        if role in _BOUGHT:
            receipt.items.append(_item(line))
        elif role is Role.DISCOUNT:
            discount = _discount(line)
            receipt.discounts.append(discount)
            if line.amount > 0:
                printed_positive.append(discount)
            discount_after_subtotal |= receipt.subtotal is not None
        elif role is Role.SUBTOTAL and receipt.subtotal is None:
            receipt.subtotal = line.amount
        elif role is Role.TIP:
            receipt.tip = (receipt.tip or ZERO) + line.amount
        elif role is Role.SERVICE:
            receipt.service_charge = (receipt.service_charge or ZERO) + line.amount
        elif role is Role.DEPOSIT:
            # signed as printed: "Pfand zurück 1,00-" pays a deposit back
            receipt.deposits.append(Deposit(line.label, line.amount))
        elif role is Role.TAX:
            taxes_before.append(_tax(line))
        elif role is Role.TAX_SUM:
            sums_before.append(_tax(line))
        _add(sums, line)
    if discount_after_subtotal:
        receipt.subtotal = None  # the model's subtotal already holds the discounts
    if receipt.subtotal is not None and receipt.deposits:
        held = sum((d.amount for d in receipt.deposits), ZERO)
        goods = _goods(receipt)
        if not _same(goods, receipt.subtotal) and _same(goods + held, receipt.subtotal):
            receipt.subtotal = None  # the model's subtotal holds no deposits
    taxes_after: list[Tax] = []
    sums_after: list[Tax] = []
    for line in lines[total_at + 1 :]:
        role = line.role
        if role is Role.TENDER:
            receipt.tenders.append(Tender(_method(line), line.amount))
        elif role is Role.ROUNDING and not receipt.tenders:
            # "TOTAAL 9,91 / Afronding -0,01 / Contant 9,90": the rounded sum is what is paid
            receipt.items.append(_item(line))
            receipt.total = (receipt.total or ZERO) + line.amount
        elif role is Role.CHANGE and receipt.change is None:
            receipt.change = line.amount
        elif role is Role.TAX:
            taxes_after.append(_tax(line))
        elif role is Role.TAX_SUM:
            sums_after.append(_tax(line))
    _positive_discounts(receipt, sums, printed_positive)
    _place_taxes(receipt, sums, taxes_before or sums_before, taxes_after or sums_after)
    _trim_tenders(receipt)


def _item(line: Line) -> Item:
    unit: Decimal | None = None
    qty = line.qty if line.qty is not None else Decimal(1)
    if len(line.amounts) >= 2:
        candidate = line.amounts[-2].value
        if _same(qty * candidate, line.amount):
            unit = candidate
    return Item(
        name=line.label, amount=line.amount, qty=qty, unit_price=unit, category=line.category
    )


_CODE_IN_LABEL_RE = re.compile(r"(?<!\S)(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9][A-Z0-9-]{3,}")


def _discount(line: Line) -> Discount:
    code = _CODE_IN_LABEL_RE.search(line.label)
    label = line.label
    if code is not None:
        label = (label[: code.start()] + label[code.end() :]).strip() or label
    return Discount(
        label=label,
        amount=-abs(line.amount),
        voucher_code=code.group(0) if code is not None else None,
    )


def _positive_discounts(receipt: Receipt, sums: _Sums, printed_positive: list[Discount]) -> None:
    """A "discount" line printed positive that the total counts as bought ("Promo pack")."""
    if not printed_positive or receipt.subtotal is not None or receipt.total is None:
        return
    taxes = (ZERO, sums.taxes, sums.tax_sums)
    as_discounts = any(_same(sums.goods + t + sums.tip, receipt.total) for t in taxes)
    as_items = any(_same(sums.goods_printed + t + sums.tip, receipt.total) for t in taxes)
    if as_items and not as_discounts:
        for discount in printed_positive:
            receipt.discounts.remove(discount)
            receipt.items.append(Item(discount.label, -discount.amount))


def _tax_amounts(line: Line) -> tuple[Decimal | None, Decimal]:
    """(base, tax) of a tax line: ``IVA 10% Base 8,00 Cuota 0,80``, ``A 7% 1,31 0,09 1,40``."""
    values = [a.value for a in line.amounts]
    if len(values) == 1:
        return None, values[0]
    if len(values) == 2:
        low, high = sorted(values, key=abs)
        return high, low
    a, b, c = values[-3:]
    if _same(a + b, c):
        low, high = sorted((a, b), key=abs)
        return high, low
    if _same(b + c, a):
        low, high = sorted((b, c), key=abs)
        return high, low
    return None, values[-2]


def _tax(line: Line) -> Tax:
    base, amount = _tax_amounts(line)
    label = _RATE_TEXT_RE.sub("", line.label).strip(" :-") or None
    return Tax(rate=line.rate or ZERO, amount=amount, base=base, label=label)


_RATE_TEXT_RE = re.compile(r"\d{1,2}(?:[.,]\d{1,3})?[ ]?%.*$")


def _place_taxes(receipt: Receipt, sums: _Sums, before: list[Tax], after: list[Tax]) -> None:
    """Tax on top (US) when the sums need it; otherwise included, as in Europe."""
    assert receipt.total is not None
    base = receipt.subtotal if receipt.subtotal is not None else _goods(receipt)
    # what is added on top of the goods besides tax
    tip = (
        (receipt.tip or ZERO)
        + (receipt.service_charge or ZERO)
        + sum((d.amount for d in receipt.deposits), ZERO)
    )
    on_top = sum((t.amount for t in before), ZERO)
    included = _same(base + tip, receipt.total)
    if before and not included and _same(base + on_top + tip, receipt.total):
        receipt.tax_included = False
        receipt.taxes = before
        return
    receipt.taxes = before + after


def _goods(receipt: Receipt) -> Decimal:
    return sum((i.amount for i in receipt.items), ZERO) + sum(
        (d.amount for d in receipt.discounts), ZERO
    )


def _trim_tenders(receipt: Receipt) -> None:
    """A card slip repeats the payment ("VISA 12,06" ... "VISA DEBIT 12,06"): keep the first
    tenders that pay the total."""
    if receipt.total is None or not receipt.tenders:
        return
    change = receipt.change or ZERO
    paid = ZERO
    for count, tender in enumerate(receipt.tenders, 1):
        paid += tender.amount
        if _same(paid - change, receipt.total):
            del receipt.tenders[count:]
            return


_METHOD_WORD_RE = re.compile(r"[^\W\d_][^\s*]*")


def _method(line: Line) -> str:
    """The tender's name as printed, lower-case, without its masked number: ``visa``."""
    words: list[str] = []
    for word in line.label.split():
        if any(ch.isdigit() or ch in "*•#" for ch in word):
            break
        words.append(word)
    return " ".join(words).lower().strip(" :.-") or line.label.lower()


# -- the kind, the shop, the customer, the currency ----------------------------------------


def _kind(lines: list[Line]) -> ReceiptKind:
    found = {line.marker for line in lines if line.role in (Role.MARKER, Role.ORIGINAL)}
    for kind in _KIND_PRIORITY:
        if kind in found:
            return _KIND[kind]
    return ReceiptKind.SALE


def _store(lines: list[Line], first_goods: int) -> str | None:
    for line in lines[:first_goods]:
        if line.role in (Role.TEXT, Role.KEYWORD_ONLY) and line.label:
            return line.text.strip()
        if line.role is not Role.BLANK:
            return None
    return None


def _customer(lines: list[Line], first_goods: int, problems: list[str]) -> CustomerRef | None:
    """The first customer printed with a loyalty label; else a plain card number; else a
    phone labelled only "Tel." that is not the shop's own (in the header, or by its address)."""
    header_phones = _numbers_in(lines[:first_goods])  # the shop's, labelled or not
    strong: list[CustomerRef] = []
    weak_cards: list[CustomerRef] = []
    weak_phones: list[CustomerRef] = []
    unreadable: list[str] = []
    for index, line in enumerate(lines):
        customer = line.customer
        if line.role is not Role.CUSTOMER or customer is None:
            continue
        if customer.value is None:
            if customer.strong and (customer.announces or not customer.label_only):
                unreadable.append(line.text.strip())
            continue
        ref = CustomerRef(customer.kind, customer.value)
        if customer.strong:
            strong.append(ref)
        elif customer.kind is CustomerKind.CARD:
            weak_cards.append(ref)
        elif index < first_goods or _near_address(lines, index):
            header_phones.add(customer.value)
        else:
            weak_phones.append(ref)
    chosen = next(iter(strong + weak_cards), None)
    if chosen is None:
        chosen = next((p for p in weak_phones if p.value not in header_phones), None)
    if chosen is not None and chosen.value in header_phones:
        chosen = None  # the shop's own number, printed again with a customer label
    if chosen is None and unreadable:
        problems.append(f"a customer label with no readable number: {unreadable[0]!r}")
    return chosen


_PHONE_LIKE_RE = re.compile(r"\+?\(?\d[\d ()./-]{4,}\d")


def _numbers_in(lines: list[Line]) -> set[str]:
    """Every phone-like number printed in ``lines``, as a phone is stored."""
    found = set()
    for line in lines:
        for match in _PHONE_LIKE_RE.finditer(line.text):
            value = normalise_identifier(match.group(0), CustomerKind.PHONE)
            if len(value.lstrip("+")) >= 6:
                found.add(value)
    return found


def _near_address(lines: list[Line], index: int) -> bool:
    for near in (index - 1, index + 1):
        if 0 <= near < len(lines) and kw.INDEX.scan(fold(lines[near].text)).first("address"):
            return True
    return kw.INDEX.scan(fold(lines[index].text)).first("address") is not None


def _currency(
    lines: list[Line], total_at: int | None, text: str, default: str | None
) -> str | None:
    """The currency printed with the total; else the one most amounts show; else a code or
    sign printed anywhere; else the layout's own."""
    code: str | None = None
    if total_at is not None:
        total_line = lines[total_at]
        code = next((a.currency for a in reversed(total_line.amounts) if a.currency), None)
        if code is None:
            code = _printed_code(total_line.text)
    if code is None:
        counted = Counter(a.currency for line in lines for a in line.amounts if a.currency)
        if counted:
            code = counted.most_common(1)[0][0]
    if code is None:
        code = _printed_code(text)
    if code is None:
        return default
    return _regional(code, text)


def _printed_code(text: str) -> str | None:
    match = _CODES_RE.search(text)
    return code_of(match.group(0)) if match is not None else None


# "$" outside the US, told by the tax id or taxes the receipt prints
_DOLLAR_COUNTRIES = (
    ("abn", "AUD"),
    ("rfc", "MXN"),
    ("m\\.n", "MXN"),
    ("cuit", "ARS"),
    ("rut", "CLP"),
    ("nit", "COP"),
    ("ird", "NZD"),
)


def _regional(code: str, text: str) -> str:
    """Signs several currencies share: "kr" (SEK, NOK, DKK), "$" (USD, CAD)."""
    folded = fold(text)
    if code == "SEK" and not re.search(r"(?<![^\W\d_])SEK(?![^\W\d_])", text):
        if re.search(r"(?<![^\W\d_])mva(?![^\W\d_])", folded):
            return "NOK"
        if re.search(r"(?<![^\W\d_])(?:i alt|dankort|byttepenge|at betale)(?![^\W\d_])", folded):
            return "DKK"
    if code == "USD" and not re.search(r"(?<![^\W\d_])USD(?![^\W\d_])", text):
        for word, country in _DOLLAR_COUNTRIES:
            if re.search(rf"(?<![^\W\d_]){word}(?![^\W\d_])", folded):
                return country
    if (
        code == "USD"
        and not re.search(r"(?<![^\W\d_])USD(?![^\W\d_])", text)
        and re.search(r"(?<![^\W\d_])(?:hst|pst|qst|tvq|tps)(?![^\W\d_])", folded)
    ):
        return "CAD"
    return code
