"""The receipt as the loyalty side needs it, whatever layout it was printed in.

Money is ``Decimal`` and signed as printed; the ``kind`` says which way it flows. The one
exception: discounts are always negative (a grammar may read a discount printed as ``1,00``
under a "DISCOUNT" label; the model stores ``-1.00``), so that items plus discounts is the
sum the customer owes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from parsers.money import round_money, tolerance


class ReceiptKind(Enum):
    SALE = "sale"
    REFUND = "refund"
    VOID = "void"
    COPY = "copy"  # a reprint or duplicate: never earns points again
    REPORT = "report"  # X or Z report
    TRAINING = "training"
    OTHER = "other"


class CustomerKind(Enum):
    CARD = "card"
    PHONE = "phone"
    LOYALTY_ID = "loyalty_id"


@dataclass(slots=True)
class CustomerRef:
    """Who the receipt belongs to, as printed: a card number, a phone or a loyalty id."""

    kind: CustomerKind
    value: str  # normalised: spaces and dashes removed


@dataclass(slots=True)
class Item:
    name: str
    amount: Decimal  # the line's amount as printed
    qty: Decimal = Decimal(1)
    unit_price: Decimal | None = None
    sku: str | None = None  # PLU, SKU or EAN when the layout prints one
    category: str | None = None  # a department or group, where the receipt prints one


@dataclass(slots=True)
class Discount:
    label: str
    amount: Decimal  # always <= 0
    voucher_code: str | None = None


@dataclass(slots=True)
class Deposit:
    """A bottle or container deposit (Pfand, kaucja, consigne): paid back on return, so it
    is money held, not spent, and never earns. Negative when a deposit is returned."""

    label: str
    amount: Decimal


@dataclass(slots=True)
class Tax:
    rate: Decimal  # percent: Decimal("21") for 21 %
    amount: Decimal
    base: Decimal | None = None
    label: str | None = None  # "A", "TVA 20%", "PTU A"...


@dataclass(slots=True)
class Tender:
    method: str  # lower-case as the layout names it: "cash", "card", "voucher", "efectivo"...
    amount: Decimal


@dataclass(slots=True)
class Receipt:
    kind: ReceiptKind = ReceiptKind.SALE
    store: str | None = None
    till: str | None = None
    number: str | None = None
    issued_at: datetime | None = None  # always timezone-aware
    currency: str | None = None  # ISO 4217
    items: list[Item] = field(default_factory=list)
    discounts: list[Discount] = field(default_factory=list)
    subtotal: Decimal | None = None
    taxes: list[Tax] = field(default_factory=list)
    tax_included: bool = True  # False where tax is added on top of the subtotal (US)
    tip: Decimal | None = None
    service_charge: Decimal | None = None  # a service charge printed apart from the items
    deposits: list[Deposit] = field(default_factory=list)
    total: Decimal | None = None
    tenders: list[Tender] = field(default_factory=list)
    change: Decimal | None = None
    customer: CustomerRef | None = None
    # The number of the receipt a refund, void or copy refers to, as printed
    # ("Ticket original: T1-004521", "Duplicata de 000482").
    original: str | None = None
    layout: str | None = None
    raw_text: str = ""
    problems: list[str] = field(default_factory=list)  # filled by ``check_consistency``

    @property
    def inconsistent(self) -> bool:
        """An inconsistent receipt must never earn points."""
        return bool(self.problems)

    @property
    def voucher_codes(self) -> list[str]:
        """The voucher or coupon codes printed on the discount lines, in order."""
        return [d.voucher_code for d in self.discounts if d.voucher_code]

    @property
    def fingerprint(self) -> str:
        """A content hash of the printed text, blind to whitespace differences."""
        # str.split() and the regex \s agree on what whitespace is (str.isspace): the same
        # text as re.sub(r"\s+", " ", text).strip(), so keys made before stay the same.
        normalised = " ".join(self.raw_text.split())
        return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:32]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (Decimal and datetime as strings). ``from_dict`` reads it back."""
        return {
            "kind": self.kind.value,
            "store": self.store,
            "till": self.till,
            "number": self.number,
            "issued_at": self.issued_at.isoformat() if self.issued_at else None,
            "currency": self.currency,
            "items": [
                {
                    "name": i.name,
                    "qty": str(i.qty),
                    "unit_price": _s(i.unit_price),
                    "amount": str(i.amount),
                    "sku": i.sku,
                    "category": i.category,
                }
                for i in self.items
            ],
            "discounts": [
                {"label": d.label, "amount": str(d.amount), "voucher_code": d.voucher_code}
                for d in self.discounts
            ],
            "subtotal": _s(self.subtotal),
            "taxes": [
                {"rate": str(t.rate), "base": _s(t.base), "amount": str(t.amount), "label": t.label}
                for t in self.taxes
            ],
            "tax_included": self.tax_included,
            "tip": _s(self.tip),
            "service_charge": _s(self.service_charge),
            "deposits": [{"label": d.label, "amount": str(d.amount)} for d in self.deposits],
            "total": _s(self.total),
            "tenders": [{"method": t.method, "amount": str(t.amount)} for t in self.tenders],
            "change": _s(self.change),
            "customer": (
                {"kind": self.customer.kind.value, "value": self.customer.value}
                if self.customer
                else None
            ),
            "original": self.original,
            "layout": self.layout,
            "problems": list(self.problems),
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Receipt:
        customer = data.get("customer")
        return cls(
            kind=ReceiptKind(data.get("kind", "sale")),
            store=data.get("store"),
            till=data.get("till"),
            number=data.get("number"),
            issued_at=datetime.fromisoformat(data["issued_at"]) if data.get("issued_at") else None,
            currency=data.get("currency"),
            items=[
                Item(
                    name=i["name"],
                    qty=Decimal(i.get("qty", "1")),
                    unit_price=_d(i.get("unit_price")),
                    amount=Decimal(i["amount"]),
                    sku=i.get("sku"),
                    category=i.get("category"),
                )
                for i in data.get("items", [])
            ],
            discounts=[
                Discount(d["label"], Decimal(d["amount"]), d.get("voucher_code"))
                for d in data.get("discounts", [])
            ],
            subtotal=_d(data.get("subtotal")),
            taxes=[
                Tax(Decimal(t["rate"]), Decimal(t["amount"]), _d(t.get("base")), t.get("label"))
                for t in data.get("taxes", [])
            ],
            tax_included=data.get("tax_included", True),
            tip=_d(data.get("tip")),
            service_charge=_d(data.get("service_charge")),
            deposits=[Deposit(d["label"], Decimal(d["amount"])) for d in data.get("deposits", [])],
            total=_d(data.get("total")),
            tenders=[Tender(t["method"], Decimal(t["amount"])) for t in data.get("tenders", [])],
            change=_d(data.get("change")),
            customer=(
                CustomerRef(CustomerKind(customer["kind"]), customer["value"]) if customer else None
            ),
            original=data.get("original"),
            layout=data.get("layout"),
            raw_text=data.get("raw_text", ""),
            problems=list(data.get("problems", [])),
        )


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def check_consistency(receipt: Receipt) -> list[str]:
    """The sums that must agree on a sale or refund, within one smallest coin.

    - each item: qty × unit price = amount (when the unit price is printed);
    - items + discounts = subtotal (when printed);
    - subtotal (or items + discounts), plus tax when it is added on top, plus deposits,
      service charge and tip = total;
    - tenders − change = total (when tenders are printed).
    Reports, copies and training receipts are not checked: they earn nothing anyway.
    """
    if receipt.kind not in (ReceiptKind.SALE, ReceiptKind.REFUND, ReceiptKind.VOID):
        return []
    problems: list[str] = []
    currency = receipt.currency or "EUR"
    eps = tolerance(currency)

    def differs(a: Decimal, b: Decimal) -> bool:
        return abs(round_money(a, currency) - round_money(b, currency)) > eps / 2

    if receipt.total is None:
        return ["no total"]
    for item in receipt.items:
        if item.unit_price is not None and differs(item.qty * item.unit_price, item.amount):
            problems.append(f"item {item.name!r}: {item.qty} x {item.unit_price} != {item.amount}")
    goods = sum((i.amount for i in receipt.items), Decimal(0)) + sum(
        (d.amount for d in receipt.discounts), Decimal(0)
    )
    if receipt.subtotal is not None and receipt.items and differs(goods, receipt.subtotal):
        problems.append(f"items and discounts {goods} != subtotal {receipt.subtotal}")
    base = receipt.subtotal if receipt.subtotal is not None else goods
    if receipt.items or receipt.subtotal is not None:
        expected = (
            base
            + (receipt.tip or Decimal(0))
            + (receipt.service_charge or Decimal(0))
            + sum((d.amount for d in receipt.deposits), Decimal(0))
        )
        if not receipt.tax_included:
            expected += sum((t.amount for t in receipt.taxes), Decimal(0))
        if differs(expected, receipt.total):
            problems.append(f"total {receipt.total} != {expected} from the lines above it")
    if receipt.tenders:
        paid = sum((t.amount for t in receipt.tenders), Decimal(0)) - (receipt.change or 0)
        if differs(paid, receipt.total):
            problems.append(f"tenders less change {paid} != total {receipt.total}")
    return problems
