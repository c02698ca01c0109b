"""Every well-known rule name, through a layout written for the test, onto Receipt."""

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from parsers.layouts import Layout, ReceiptParseError
from parsers.receipt import CustomerKind, ReceiptKind

D = Decimal

# One line per well-known rule: "KEY: value" (the key picks the rule), and group lines.
GRAMMAR = r"""
//@ timezone: Europe/Warsaw
//@ currency: PLN
//@ date_order: {order}
%import .common (MONEY, PERCENT, DATE, TIME, DIGITS, CODE, WORDS, TEXT, _GAP, _NL)
_S: " "
start: _line+
_line: (_value | _group | marker) _NL
_value: "store" _S store | "till" _S till | "number" _S number
      | "when" _S date (_S time)? | "currency" _S currency
      | "subtotal" _S subtotal | "total" _S total | "change" _S change | "tip" _S tip
      | "card" _S customer_card | "phone" _S customer_phone | "id" _S customer_id
      | "original" _S original | "service" _S service_charge
_group: "item" _S item | "discount" _S discount | "tax" _S tax | "tender" _S tender
      | "deposit" _S deposit
item: (qty _S)? name _GAP (unit_price _GAP)? amount (_S sku)? (_S "in" _S category)?
deposit: label _GAP amount
original: CODE
service_charge: MONEY
category: WORDS
discount: label _GAP amount (_S voucher_code)?
tax: label _GAP rate _GAP (base _GAP)? amount
tender: method _GAP amount
marker: "refund" -> kind_refund | "void" -> kind_void | "copy" -> kind_copy
       | "report" -> kind_report | "training" -> kind_training | "on top" -> tax_excluded
store: WORDS
till: CODE
number: CODE
date: DATE
time: TIME
currency: WORDS
subtotal: MONEY
total: MONEY
change: MONEY
tip: MONEY
customer_card: DIGITS
customer_phone: DIGITS
customer_id: CODE
qty: COUNT
COUNT.2: /\d+(?= )/
name: WORDS
unit_price: MONEY
amount: MONEY
sku: CODE
label: WORDS
voucher_code: CODE
rate: PERCENT
base: MONEY
method: WORDS
"""


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    path = tmp_path / "fields.lark"
    path.write_text(GRAMMAR.format(order="DMY"), encoding="utf-8")
    return Layout.load(path)


def test_every_value_and_group_rule(layout: Layout) -> None:
    text = (
        "store Sklep Pod Lipa\ntill K-02\nnumber 0042\nwhen 21.03.25 18:02\n"
        "item 2 Chleb  4,50  9,00 SKU-1\nitem Maslo  7,99\n"
        "discount Rabat  1,00 VOUCH-7\n"
        "subtotal 15,99\ntax PTU A  23%  13,00  2,99\ntip 1,00\ntotal 16,99 zł\n"
        "tender Gotówka  20,00\nchange 3,01\ncard 4000 1234-5678\n"
    )
    receipt = layout.parse_text(text)
    assert receipt.store == "Sklep Pod Lipa"
    assert receipt.till == "K-02"
    assert receipt.number == "0042"
    assert receipt.issued_at == datetime(2025, 3, 21, 18, 2, tzinfo=ZoneInfo("Europe/Warsaw"))
    assert receipt.currency == "PLN"
    first, second = receipt.items
    assert (first.name, first.qty, first.unit_price, first.amount, first.sku) == (
        "Chleb",
        D(2),
        D("4.50"),
        D("9.00"),
        "SKU-1",
    )
    assert (second.qty, second.unit_price, second.sku) == (D(1), None, None)
    (discount,) = receipt.discounts
    assert (discount.label, discount.amount, discount.voucher_code) == (
        "Rabat",
        D("-1.00"),
        "VOUCH-7",
    )
    (tax,) = receipt.taxes
    assert (tax.label, tax.rate, tax.base, tax.amount) == ("PTU A", D(23), D("13.00"), D("2.99"))
    assert (receipt.subtotal, receipt.tip, receipt.total, receipt.change) == (
        D("15.99"),
        D("1.00"),
        D("16.99"),
        D("3.01"),
    )
    assert [(t.method, t.amount) for t in receipt.tenders] == [("gotówka", D("20.00"))]
    assert receipt.customer is not None
    assert (receipt.customer.kind, receipt.customer.value) == (CustomerKind.CARD, "400012345678")
    assert receipt.kind is ReceiptKind.SALE and receipt.tax_included
    assert receipt.layout == "fields" and receipt.raw_text == text
    assert receipt.problems == []


def test_original_service_charge_deposits_and_category(layout: Layout) -> None:
    text = (
        "refund\noriginal T1-004521\nitem Piwo  3,49 in Napoje\ndeposit Kaucja  0,50\n"
        "deposit Zwrot butelek  -1,00\nservice 0,35\ntotal 3,34\n"
    )
    receipt = layout.parse_text(text)
    assert (receipt.kind, receipt.original) == (ReceiptKind.REFUND, "T1-004521")
    assert [(i.name, i.category) for i in receipt.items] == [("Piwo", "Napoje")]
    # deposits keep their printed sign: returned bottles pay the deposit back
    assert [(d.label, d.amount) for d in receipt.deposits] == [
        ("Kaucja", D("0.50")),
        ("Zwrot butelek", D("-1.00")),
    ]
    assert receipt.service_charge == D("0.35")
    assert receipt.problems == []
    assert layout.parse_text(text.replace("service 0,35", "service 0,36")).problems != []


@pytest.mark.parametrize(
    ("marker", "kind"),
    [
        ("refund", ReceiptKind.REFUND),
        ("void", ReceiptKind.VOID),
        ("copy", ReceiptKind.COPY),
        ("report", ReceiptKind.REPORT),
        ("training", ReceiptKind.TRAINING),
    ],
)
def test_kind_markers(layout: Layout, marker: str, kind: ReceiptKind) -> None:
    assert layout.parse_text(f"{marker}\ntotal 1,00\n").kind is kind


def test_tax_excluded_and_problems(layout: Layout) -> None:
    text = "item Burger  10.00\nsubtotal 10.00\non top\ntax Sales tax  8,9%  0.89\ntotal 10.89\n"
    receipt = layout.parse_text(text)
    assert receipt.tax_included is False
    assert receipt.problems == []
    assert layout.parse_text(text.replace("on top\n", "")).problems != []


def test_customer_phone_and_id(layout: Layout) -> None:
    phone = layout.parse_text("phone 601 234-567\ntotal 1,00\n").customer
    assert phone is not None and (phone.kind, phone.value) == (CustomerKind.PHONE, "601234567")
    loyalty = layout.parse_text("id AB-123\ntotal 1,00\n").customer
    assert loyalty is not None and (loyalty.kind, loyalty.value) == (
        CustomerKind.LOYALTY_ID,
        "AB123",
    )


def test_currency_rule_then_sign_then_metadata(layout: Layout) -> None:
    assert layout.parse_text("currency EUR\ntotal 1,00 zł\n").currency == "EUR"
    assert layout.parse_text("total $1.00\n").currency == "USD"
    assert layout.parse_text("total 1,00\n").currency == "PLN"


def test_first_receipt_level_value_wins_and_no_time_is_midnight(layout: Layout) -> None:
    receipt = layout.parse_text("when 2025-03-21\ntotal 1,00\ntotal 2,00\n")
    assert receipt.total == D("1.00")
    assert receipt.issued_at == datetime(2025, 3, 21, 0, 0, tzinfo=ZoneInfo("Europe/Warsaw"))


def test_date_order_and_am_pm(tmp_path: Path) -> None:
    path = tmp_path / "us.lark"
    path.write_text(GRAMMAR.format(order="MDY"), encoding="utf-8")
    receipt = Layout.load(path).parse_text("when 03/14/2025 7:42 PM\ntotal 1.00\n")
    assert receipt.issued_at is not None
    assert (receipt.issued_at.month, receipt.issued_at.day, receipt.issued_at.hour) == (3, 14, 19)


@pytest.mark.parametrize(
    ("printed", "month", "day"),
    [
        ("14/03/2025", 3, 14),  # day first
        ("03/14/2025", 3, 14),  # cannot be day first: month first
        ("05/11/2025", 11, 5),  # either: day first
        ("2025-03-14", 3, 14),  # year first is always year-month-day
    ],
)
def test_auto_date_order_reads_day_first_unless_it_cannot(
    tmp_path: Path, printed: str, month: int, day: int
) -> None:
    path = tmp_path / "any.lark"
    path.write_text(GRAMMAR.format(order="auto"), encoding="utf-8")
    receipt = Layout.load(path).parse_text(f"when {printed}\ntotal 1.00\n")
    assert receipt.issued_at is not None
    assert (receipt.issued_at.month, receipt.issued_at.day) == (month, day)


def test_impossible_date_is_a_parse_error_naming_the_rule(layout: Layout) -> None:
    with pytest.raises(ReceiptParseError, match="rule date read '14/31/2025'") as caught:
        layout.parse_text("total 1,00\nwhen 14/31/2025\n")
    assert caught.value.line == 2
