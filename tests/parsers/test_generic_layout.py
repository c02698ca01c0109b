"""The generic layout on receipts it has never seen, in six languages."""

import time
from decimal import Decimal
from pathlib import Path

import pytest

from parsers.layouts import Layout
from parsers.pipeline import guess_layout, read_receipts
from parsers.receipt import ReceiptKind
from tests.parsers import generic_samples as samples

D = Decimal


@pytest.fixture(scope="module")
def generic() -> Layout:
    return Layout.load("generic")


# name, total, [(item name, amount)...], card number or None
SALES = [
    (
        "ES_SALE",
        "8.80",
        [
            ("Barra de pan", "1.20"),
            ("Croissant", "2.40"),
            ("Cafe con leche", "3.00"),
            ("Napolitana chocolate", "2.70"),
        ],
        "400012345678",
    ),
    (
        "EN_US_SALE",
        "11.97",
        [("Turkey sandwich", "7.95"), ("Soda", "1.75"), ("Chips", "1.29")],
        "88776655",
    ),
    (
        "FR_SALE",
        "3.70",
        [("Baguette tradition", "1.30"), ("Pain au chocolat x2", "2.40")],
        "123456789",
    ),
    (
        "DE_SALE",
        "4.20",
        [("Broetchen", "0.45"), ("Laugenbrezel", "0.95"), ("Kaffee", "2.80")],
        "9876543210",
    ),
    (
        "PL_SALE",
        "18.89",
        [("Chleb zytni", "4.50"), ("Mleko 2%", "6.40"), ("Maslo", "7.99")],
        "590011112222",
    ),
    (
        "IT_SALE",
        "5.70",
        [("Caffe'", "1.20"), ("Cornetto", "1.50"), ("Spremuta", "3.00")],
        "77001234",
    ),
]


@pytest.mark.parametrize(("name", "total", "items", "card"), SALES)
def test_sales_give_total_items_card_and_add_up(
    generic: Layout, name: str, total: str, items: list[tuple[str, str]], card: str
) -> None:
    receipt = generic.parse_text(getattr(samples, name))
    assert receipt.kind is ReceiptKind.SALE
    assert receipt.total == D(total)
    assert [(i.name, i.amount) for i in receipt.items] == [(n, D(a)) for n, a in items]
    assert receipt.customer is not None and receipt.customer.value == card
    assert receipt.problems == []
    assert receipt.layout == "generic"


def test_spanish_details(generic: Layout) -> None:
    receipt = generic.parse_text(samples.ES_SALE)
    assert receipt.store == "PANADERIA LA ESPIGA"
    assert (
        receipt.issued_at is not None
        and receipt.issued_at.isoformat() == "2025-03-12T09:15:00+00:00"
    )
    assert receipt.currency == "EUR"
    croissant, cafe, napolitana = receipt.items[1:]
    assert croissant.qty == 2
    assert (cafe.qty, cafe.unit_price) == (2, D("1.50"))
    assert (napolitana.qty, napolitana.unit_price) == (3, D("0.90"))  # name on the line above
    assert [(d.label, d.amount) for d in receipt.discounts] == [("Descuento socio", D("-0.50"))]
    assert [(t.method, t.amount) for t in receipt.tenders] == [("efectivo", D("10.00"))]
    assert receipt.change == D("1.20")
    (tax,) = receipt.taxes
    assert (tax.rate, tax.base, tax.amount) == (D(10), D("8.00"), D("0.80"))


def test_us_tax_after_subtotal_is_added_on_top(generic: Layout) -> None:
    receipt = generic.parse_text(samples.EN_US_SALE)
    assert receipt.subtotal == D("10.99")
    assert receipt.tax_included is False
    assert [t.amount for t in receipt.taxes] == [D("0.98")]
    assert [t.method for t in receipt.tenders] == ["visa"]


def test_german_tax_table_and_change(generic: Layout) -> None:
    receipt = generic.parse_text(samples.DE_SALE)
    assert [(t.label, t.rate, t.base, t.amount) for t in receipt.taxes] == [
        ("A", D(7), D("1.31"), D("0.09")),
        ("B", D(19), D("2.35"), D("0.45")),
    ]
    assert receipt.change == D("5.80")
    assert receipt.tax_included


def test_polish_tax_sums_are_not_the_total(generic: Layout) -> None:
    receipt = generic.parse_text(samples.PL_SALE)
    assert receipt.total == D("18.89")  # not "Suma PTU 1,02"
    assert receipt.items[1].qty == 2


KINDS = [
    ("ES_REFUND", ReceiptKind.REFUND),
    ("DE_STORNO", ReceiptKind.REFUND),
    ("FR_REFUND", ReceiptKind.REFUND),
    ("PL_REFUND", ReceiptKind.REFUND),
    ("EN_REFUND", ReceiptKind.REFUND),
    ("EN_COPY", ReceiptKind.COPY),
    ("IT_COPY", ReceiptKind.COPY),
    ("FR_COPY", ReceiptKind.COPY),
    ("PL_COPY", ReceiptKind.COPY),
    ("Z_REPORT", ReceiptKind.REPORT),
    ("X_REPORT_ES", ReceiptKind.REPORT),
]


@pytest.mark.parametrize(("name", "kind"), KINDS)
def test_kinds(generic: Layout, name: str, kind: ReceiptKind) -> None:
    assert generic.parse_text(getattr(samples, name)).kind is kind


@pytest.mark.parametrize(
    "line",
    [
        "Refunds accepted within 30 days with receipt",
        "Copy of your card slip follows below",
        "Ask for your loyalty card today!",
    ],
)
def test_footer_sentences_do_not_change_the_kind_or_customer(generic: Layout, line: str) -> None:
    receipt = generic.parse_text(samples.EN_COPY.replace("** COPY **", line))
    assert receipt.kind is ReceiptKind.SALE
    assert receipt.customer is None


def test_any_text_parses(generic: Layout) -> None:
    odd = "\n\n   ~~~ 12,00 ~~~\n%%%\n@ $2.50\nTOTAL\n1 2 3 4\n\t\n  x  \n"
    receipt = generic.parse_text(odd)
    assert receipt.total is None and receipt.problems == ["no total"]


def test_parse_time_is_a_few_milliseconds(generic: Layout) -> None:
    text = samples.ES_SALE
    generic.parse_text(text)
    runs = []
    for _ in range(20):
        start = time.perf_counter()
        generic.parse_text(text)
        runs.append(time.perf_counter() - start)
    runs.sort()
    assert runs[len(runs) // 2] < 0.05  # measured p50 ~3 ms; this bound only catches blow-ups


# -- the pipeline: bytes in, receipts out, layout guessed ---------------------------------

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_read_receipts_guesses_generic_for_an_unknown_till() -> None:
    data = (
        b"".join(
            b"\x1b@" + text.encode("ascii") + b"\n\n\x1dV\x00"
            for text in (samples.EN_US_SALE, samples.EN_REFUND)
        )
        + b"\x1b@\n\n\n\x1dV\x00"
    )  # a blank feed-and-cut job is no receipt
    results = read_receipts(data)
    assert [r.layout for r in results] == ["generic", "generic"]
    assert [r.receipt.kind for r in results if r.receipt] == [ReceiptKind.SALE, ReceiptKind.REFUND]
    assert all(r.error is None for r in results)


def test_read_receipts_reports_errors_instead_of_raising(tmp_path: Path) -> None:
    grammar = tmp_path / "strict.lark"
    grammar.write_text('start: "never" _NL\n%import .common (_NL)\n', encoding="utf-8")
    (result,) = read_receipts(b"\x1b@Bread  1.20\n\x1dV\x00", Layout.load(grammar))
    assert result.receipt is None
    assert result.error is not None and "layout strict: receipt line 1" in result.error


@pytest.mark.skipif(not (FIXTURES / "bakery_es").is_dir(), reason="fixture corpus not generated")
def test_guess_finds_the_shipped_layout_of_a_fixture() -> None:
    (result,) = read_receipts((FIXTURES / "bakery_es" / "sale_customer_card.bin").read_bytes())
    assert result.layout == "bakery_es"
    assert result.receipt is not None and result.receipt.problems == []
    layout, receipt = guess_layout(result.document)
    assert layout.name == "bakery_es" and receipt.total == result.receipt.total


def test_a_us_date_is_read_month_first(generic: Layout) -> None:
    receipt = generic.parse_text(
        "JOE'S DINER\n11/14/2026                7:42 PM\nCoffee          5.00\nTOTAL   5.00\n"
    )
    assert receipt.issued_at is not None
    assert (receipt.issued_at.month, receipt.issued_at.day, receipt.issued_at.hour) == (11, 14, 19)
