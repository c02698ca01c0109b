from datetime import UTC, datetime
from decimal import Decimal

from parsers.receipt import (
    CustomerKind,
    CustomerRef,
    Discount,
    Item,
    Receipt,
    ReceiptKind,
    Tax,
    Tender,
    check_consistency,
)

D = Decimal


def full_receipt() -> Receipt:
    return Receipt(
        kind=ReceiptKind.SALE,
        store="Panadería",
        till="01",
        number="T1-1",
        issued_at=datetime(2026, 11, 23, 8, 42, tzinfo=UTC),
        currency="EUR",
        items=[Item("Pan", D("2.20"), D(2), D("1.10"), "123"), Item("Café", D("1.50"))],
        discounts=[Discount("Socio", D("-0.20"), "V-1")],
        subtotal=D("3.50"),
        taxes=[Tax(D(10), D("0.32"), D("3.18"), "IVA")],
        total=D("3.50"),
        tenders=[Tender("efectivo", D("5.00"))],
        change=D("1.50"),
        customer=CustomerRef(CustomerKind.CARD, "4000123"),
        layout="bakery_es",
        raw_text="Pan\n",
    )


def test_to_dict_from_dict_round_trip() -> None:
    receipt = full_receipt()
    data = receipt.to_dict()
    again = Receipt.from_dict({**data, "raw_text": receipt.raw_text})
    assert again == receipt
    assert again.to_dict() == data


def test_consistent_sale_has_no_problems() -> None:
    assert check_consistency(full_receipt()) == []


def test_bad_total_is_reported() -> None:
    receipt = full_receipt()
    receipt.total = D("3.60")
    problems = check_consistency(receipt)
    assert any("total 3.60" in p for p in problems)


def test_bad_tenders_are_reported() -> None:
    receipt = full_receipt()
    receipt.change = D("1.00")
    assert check_consistency(receipt) == ["tenders less change 4.00 != total 3.50"]


def test_us_tax_on_top_counts_only_when_excluded() -> None:
    receipt = Receipt(
        items=[Item("Burger", D("10.00"))],
        subtotal=D("10.00"),
        taxes=[Tax(D("8.875"), D("0.89"))],
        total=D("10.89"),
        currency="USD",
    )
    assert check_consistency(receipt) != []
    receipt.tax_included = False
    assert check_consistency(receipt) == []


def test_discount_lowers_the_sum() -> None:
    receipt = Receipt(
        items=[Item("A", D("5.00"))], discounts=[Discount("promo", D("-1.00"))], total=D("4.00")
    )
    assert check_consistency(receipt) == []
    receipt.discounts = []
    assert check_consistency(receipt) != []


def test_unit_price_times_quantity_is_checked() -> None:
    receipt = Receipt(items=[Item("A", D("5.00"), D(2), D("2.00"))], total=D("5.00"))
    assert check_consistency(receipt) == ["item 'A': 2 x 2.00 != 5.00"]


def test_copies_and_reports_are_not_checked() -> None:
    for kind in (ReceiptKind.COPY, ReceiptKind.REPORT, ReceiptKind.TRAINING):
        assert check_consistency(Receipt(kind=kind)) == []
    assert check_consistency(Receipt()) == ["no total"]


def test_the_fingerprint_is_the_text_with_whitespace_runs_made_one_space() -> None:
    # Ledger keys are made from it: it must never change for a text printed before.
    import hashlib
    import re

    text = "  TOTAL\t 12,50 \x1c€\u3000\n\n  Tarjeta 1234\r\n\x85fin  "
    expected = hashlib.sha256(re.sub(r"\s+", " ", text).strip().encode("utf-8")).hexdigest()
    assert Receipt(raw_text=text).fingerprint == expected[:32]
