"""The generic layout on the receipt fields the loyalty side needs apart from the goods:
deposits, service charges, the original receipt a refund or copy names, voucher codes; from
tills in languages the shipped layouts do not print, and the lines that only look like them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from parsers.layouts import Layout
from parsers.pipeline import read_receipts
from parsers.receipt import Receipt, ReceiptKind
from tests.parsers.generic_tills import Till, capture

D = Decimal


@pytest.fixture(scope="module")
def generic() -> Layout:
    return Layout.load("generic")


def _read(generic: Layout, name: str, lines: list[str]) -> Receipt:
    (result,) = read_receipts(capture(Till(name, lines, None, None)), generic)
    assert result.receipt is not None, result.error
    return result.receipt


def test_german_bedienung_with_its_rate_is_a_service_charge(generic: Layout) -> None:
    receipt = _read(
        generic,
        "de_gasthaus",
        [
            "^Gasthaus zur Linde",
            "^Marktplatz 3, 93047 Regensburg",
            "Schnitzel Wiener Art|18,50",
            "2 x Helles 0,5l|8,40",
            "Bedienung 10%|2,69",
            "!Summe EUR|29,59",
            "Bar|30,00",
            "Rückgeld|0,41",
        ],
    )
    assert receipt.service_charge == D("2.69")
    assert [i.name for i in receipt.items] == ["Schnitzel Wiener Art", "Helles 0,5l"]
    assert (receipt.total, receipt.tip, receipt.problems) == (D("29.59"), None, [])


def test_polish_serwis_and_english_service_charge(generic: Layout) -> None:
    obiad = _read(
        generic,
        "pl_restauracja",
        ["^Restauracja Pod Lipą", "Obiad dnia|32,00", "Serwis 10%|3,20", "!Razem|35,20"],
    )
    assert (obiad.service_charge, obiad.total, obiad.problems) == (D("3.20"), D("35.20"), [])
    party = _read(
        generic,
        "en_pub",
        [
            "^The Crown",
            "Sunday roast|15.00",
            "Service charge 12.5%|1.88",
            "Tip|2.00",
            "!Total|18.88",
            "Card|18.88",
        ],
    )
    assert (party.service_charge, party.tip, party.problems) == (D("1.88"), D("2.00"), [])


def test_a_service_item_and_a_pale_ale_are_goods(generic: Layout) -> None:
    # a garage's "Service" (no rate printed) and Finnish "ale" inside a beer's name
    receipt = _read(
        generic,
        "en_garage",
        ["^Main St Garage", "Service|45.00", "Pale ale|5.50", "!Total|50.50", "Cash|50.50"],
    )
    assert [(i.name, i.amount) for i in receipt.items] == [
        ("Service", D("45.00")),
        ("Pale ale", D("5.50")),
    ]
    assert (receipt.service_charge, receipt.discounts, receipt.problems) == (None, [], [])


def test_dutch_statiegeld_is_a_deposit(generic: Layout) -> None:
    receipt = _read(
        generic,
        "nl_super",
        [
            "^Buurtsuper De Hoek",
            "Cola 1,5l|1,89",
            "Statiegeld|0,25",
            "Chips paprika|1,29",
            "!Totaal|3,43",
            "Pin|3,43",
        ],
    )
    assert [(d.label, d.amount) for d in receipt.deposits] == [("Statiegeld", D("0.25"))]
    assert [i.name for i in receipt.items] == ["Cola 1,5l", "Chips paprika"]
    assert receipt.problems == []


def test_swedish_pant_and_a_returned_bottles_slip(generic: Layout) -> None:
    receipt = _read(
        generic,
        "sv_butik",
        [
            "^Ica Nära Söder",
            "Mjölk 1l|14,90",
            "Läsk 33cl|12,00",
            "Pant|2,00",
            "Pantretur|-5,00",
            "!Att betala|23,90",
            "Kort|23,90",
        ],
    )
    assert [(d.label, d.amount) for d in receipt.deposits] == [
        ("Pant", D("2.00")),
        ("Pantretur", D("-5.00")),
    ]
    assert (len(receipt.items), receipt.problems) == (2, [])


def test_french_consigne_with_a_count(generic: Layout) -> None:
    receipt = _read(
        generic,
        "fr_cave",
        ["^Cave du Marché", "Bière blonde 33cl|7,20", "Consigne  6 x 0,10|0,60", "!Total|7,80"],
    )
    assert [(d.label, d.amount) for d in receipt.deposits] == [("Consigne", D("0.60"))]
    assert receipt.problems == []


def test_italian_refund_names_its_original_receipt(generic: Layout) -> None:
    receipt = _read(
        generic,
        "it_reso",
        [
            "^Boutique Sole",
            "^RESO MERCE",
            "Scontrino di riferimento: 0123-0045",
            "Maglione lana|-39,90",
            "!Totale|-39,90",
            "Contanti|-39,90",
        ],
    )
    assert (receipt.kind, receipt.original, receipt.problems) == (
        ReceiptKind.REFUND,
        "0123-0045",
        [],
    )


def test_portuguese_and_german_refunds_name_theirs(generic: Layout) -> None:
    pastelaria = _read(
        generic,
        "pt_devolucao",
        [
            "^Pastelaria Belém",
            "^DEVOLUÇÃO",
            "Talão original: 000871",
            "Pastel de nata|-1,20",
            "!Total|-1,20",
            "Dinheiro|-1,20",
        ],
    )
    assert (pastelaria.kind, pastelaria.original) == (ReceiptKind.REFUND, "000871")
    baumarkt = _read(
        generic,
        "de_storno",
        [
            "^Baumarkt Huber",
            "^*** STORNO ***",
            "Storno zu Bon 4711",
            "Akkuschrauber|-89,00",
            "!Summe|-89,00",
        ],
    )
    assert (baumarkt.kind, baumarkt.original) == (ReceiptKind.REFUND, "4711")


def test_a_duplicata_line_is_the_original_and_the_kind(generic: Layout) -> None:
    receipt = _read(
        generic,
        "fr_duplicata",
        ["^Le Petit Zinc", "Duplicata de 000482", "Café|2,20", "!Total|2,20"],
    )
    assert (receipt.kind, receipt.original) == (ReceiptKind.COPY, "000482")


def test_a_sentence_about_the_original_is_no_reference(generic: Layout) -> None:
    receipt = _read(
        generic,
        "es_pie",
        ["^Zapatería Ana", "Botas|59,00", "!Total|59,00", "Cambios con el ticket original"],
    )
    assert receipt.original is None
    pizza = _read(
        generic,
        "en_pizza",
        ["^Original Pizza Co. 1985", "Margherita|9.50", "!Total|9.50", "Cash|9.50"],
    )
    assert (pizza.original, pizza.store) == (None, "Original Pizza Co. 1985")


def test_voucher_codes_on_discount_lines(generic: Layout) -> None:
    receipt = _read(
        generic,
        "multi_vouchers",
        [
            "^Drogerie Stern",
            "Duschgel|3,95",
            "Sonnencreme|12,95",
            "Voucher ABC123|-2,00",
            "Cupón VERANO26|-1,00",
            "Kupon KP-7781|-0,50",
            "Bon de réduction BR2026|-1,00",
            "!Total|12,40",
        ],
    )
    assert receipt.voucher_codes == ["ABC123", "VERANO26", "KP-7781", "BR2026"]
    assert receipt.problems == []
