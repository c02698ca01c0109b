"""The generic layout on receipts python-escpos prints for tills it has no layout for: every
total, card and currency in a dozen languages, and what it must call unsure."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from parsers.layouts import Layout
from parsers.pipeline import read_receipts
from parsers.receipt import Receipt
from tests.parsers.generic_tills import TILLS, Till, capture

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def generic() -> Layout:
    return Layout.load("generic")


def _read(generic: Layout, till: Till) -> Receipt:
    (result,) = read_receipts(capture(till), generic)
    assert result.receipt is not None, result.error
    return result.receipt


@pytest.mark.parametrize("till", TILLS, ids=lambda t: t.name)
def test_total_currency_customer_and_payment(generic: Layout, till: Till) -> None:
    receipt = _read(generic, till)
    assert receipt.total == (Decimal(till.total) if till.total is not None else None)
    assert receipt.currency == till.currency
    customer = receipt.customer
    assert ((customer.kind.value, customer.value) if customer else None) == till.customer
    assert receipt.change == (Decimal(till.change) if till.change is not None else None)
    assert [(t.method, t.amount) for t in receipt.tenders] == [
        (method, Decimal(amount)) for method, amount in till.tenders
    ]
    assert receipt.tax_included is till.tax_included


@pytest.mark.parametrize("till", TILLS, ids=lambda t: t.name)
def test_unsure_only_where_it_should_be(generic: Layout, till: Till) -> None:
    receipt = _read(generic, till)
    if not till.problems:
        assert receipt.problems == []
        return
    assert receipt.inconsistent  # so it earns nothing
    shown = " ".join(receipt.problems).lower()
    assert all(word.lower() in shown for word in till.problems), receipt.problems


def _till(name: str) -> Till:
    return next(t for t in TILLS if t.name == name)


def test_dutch_totaal_is_the_total_not_an_item(generic: Layout) -> None:
    receipt = _read(generic, _till("nl_supermarkt"))
    assert [i.name for i in receipt.items] == [
        "Volkoren brood",
        "Melk halfvol 1L",
        "Appels Elstar",
        "Kaas jong belegen",
    ]
    assert receipt.items[2].qty == 2
    assert [(d.label, d.amount) for d in receipt.discounts] == [("Korting kaas", Decimal("-0.50"))]
    (tax,) = receipt.taxes
    assert (tax.rate, tax.base, tax.amount) == (Decimal(9), Decimal("9.09"), Decimal("0.82"))


def test_us_taxes_with_and_without_a_rate_are_added_on_top(generic: Layout) -> None:
    receipt = _read(generic, _till("en_us_deli"))
    assert [(t.label, t.rate, t.amount) for t in receipt.taxes] == [
        ("Sales Tax", Decimal("6.25"), Decimal("1.01")),
        ("A local tax", Decimal(0), Decimal("1.30")),
    ]
    coffee = receipt.items[1]
    assert (coffee.name, coffee.qty, coffee.unit_price) == ("Coffee", 2, Decimal("2.25"))


def test_shop_phone_in_the_header_is_never_the_customer(generic: Layout) -> None:
    till = _till("en_us_phone")
    receipt = _read(generic, till)
    assert receipt.customer is not None and receipt.customer.value == "5185550199"
    alone = Till(
        "header_phone_only",
        [line for line in till.lines if not line.startswith("Phone:")],
        "12.69",
        None,
    )
    assert _read(generic, alone).customer is None


def test_a_phone_by_the_shop_address_in_the_footer_is_the_shop_s(generic: Layout) -> None:
    till = _till("en_us_phone")
    footer = [*till.lines[:-2], "Call us: Tel 518-555-0142", "www.sunrisecafe.example"]
    receipt = _read(generic, Till("footer_phone", footer, "12.69", None))
    assert receipt.customer is None


def test_polish_tax_sum_and_sales_lines_are_not_taxes_twice(generic: Layout) -> None:
    receipt = _read(generic, _till("pl_sklep"))
    assert [(t.label, t.rate, t.amount) for t in receipt.taxes] == [
        ("PTU A", Decimal(23), Decimal("1.23"))
    ]
    assert receipt.items[1].qty == 2 and receipt.items[1].unit_price == Decimal("7.99")


def test_amounts_in_every_notation(generic: Layout) -> None:
    bikes = _read(generic, _till("en_thousands"))
    assert [i.amount for i in bikes.items] == [
        Decimal("1234.56"),
        Decimal("-10.00"),  # "(10.00)"
        Decimal("45.00"),
    ]
    epicerie = _read(generic, _till("fr_epicerie"))
    assert epicerie.items[-1].amount == Decimal("1234.56")
    # "Pfand zurück 1,00-": a returned deposit, read with its trailing minus
    assert _read(generic, _till("de_baeckerei")).deposits[-1].amount == Decimal("-1.00")


def test_a_copy_of_the_layout_file_reads_in_its_own_time_zone(tmp_path: Path) -> None:
    source = (Path(__file__).resolve().parents[2] / "parsers/grammars/generic.lark").read_text()
    mine = tmp_path / "corner.lark"
    mine.write_text(source.replace("timezone: UTC", "timezone: Europe/Madrid"), encoding="utf-8")
    layout = Layout.load(mine)
    receipt = layout.parse_text("Pan  1,20\nTOTAL  1,20\n14/11/2026 10:00\n")
    assert receipt.layout == "corner" and receipt.total == Decimal("1.20")
    assert receipt.issued_at is not None and receipt.issued_at.isoformat().endswith("+01:00")


# -- the fixture corpus: what each shop's own layout reads, the generic layout reads too --


def _entries() -> list[tuple[str, int, dict[str, Any]]]:
    found = []
    for path in sorted(FIXTURES.glob("*/*.bin")):
        expected = json.loads(path.with_suffix(".json").read_text("utf-8"))
        for index, entry in enumerate(expected["receipts"]):
            if "error" not in entry:
                found.append((f"{path.parent.name}/{path.stem}", index, entry))
    return found


@pytest.mark.parametrize(("capture_name", "index", "entry"), _entries(), ids=lambda v: str(v))
def test_the_generic_layout_reads_every_fixture_as_its_own_layout_does(
    generic: Layout, capture_name: str, index: int, entry: dict[str, Any]
) -> None:
    results = read_receipts((FIXTURES / f"{capture_name}.bin").read_bytes(), generic)
    got = results[index].receipt
    assert got is not None
    read = got.to_dict()
    keys = ("kind", "total", "currency", "customer", "change", "tax_included")
    for key in (*keys, "original", "service_charge", "deposits"):
        assert read[key] == entry[key], key
    assert [d["voucher_code"] for d in read["discounts"]] == [
        d["voucher_code"] for d in entry["discounts"]
    ]
    if entry["kind"] in ("sale", "refund", "void"):
        assert read["problems"] == []
        assert [(i["name"], i["amount"], i["category"]) for i in read["items"]] == [
            (i["name"], i["amount"], i["category"]) for i in entry["items"]
        ]
        assert [t["amount"] for t in read["tenders"]] == [t["amount"] for t in entry["tenders"]]


def test_a_card_slip_copy_line_is_no_reprint_but_a_copy_banner_is(generic: Layout) -> None:
    assert _read(generic, _till("es_card_slip_copy")).kind.value == "sale"
    till = _till("es_card_slip_copy")
    banner = Till("es_copia", [till.lines[0], "** COPIA **", *till.lines[1:5]], "3.50", "EUR")
    assert _read(generic, banner).kind.value == "copy"
