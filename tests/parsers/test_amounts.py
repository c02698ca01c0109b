"""Amounts inside a printed line, in every notation receipts use (parsers.money.find_amounts)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from parsers.money import currency_of, find_amounts


@pytest.mark.parametrize(
    ("line", "value", "currency"),
    [
        ("Total  1.234,56", "1234.56", None),
        ("Total  1,234.56", "1234.56", None),
        ("Razem  1 234,56", "1234.56", None),
        ("Summe  12,50 €", "12.50", "EUR"),
        ("Total  €12.50", "12.50", "EUR"),
        ("Summe  EUR 12,50", "12.50", "EUR"),
        ("Totale  12,50 EURO", "12.50", "EUR"),
        ("Rabatt  -1,00", "-1.00", None),
        ("Rabatt  1,00-", "-1.00", None),
        ("Refund  (1.00)", "-1.00", None),
        ("Refund  -$5.00", "-5.00", "USD"),
        ("Total  £3.40", "3.40", "GBP"),
        ("Suma  12,00 zł", "12.00", "PLN"),
        ("Celkem  109,70 Kč", "109.70", "CZK"),
        ("Totalt  141,80 kr", "141.80", "SEK"),
        ("Total  CHF 12.50", "12.50", "CHF"),
        ("Összesen  1 200 Ft", "1200", "HUF"),
        ("合計  ¥1,200", "1200", "JPY"),
        ("Chleb  4,50A", "4.50", None),
        ("Summe  EUR12,50", "12.50", "EUR"),
        ("Total  12.50EUR", "12.50", "EUR"),
        ("Rabatt  -€0.50", "-0.50", "EUR"),
        ("Rabatt  € -0.50", "-0.50", "EUR"),
        ("Brot  2,38 B", "2.38", None),
    ],
)
def test_an_amount_and_its_currency(line: str, value: str, currency: str | None) -> None:
    (amount,) = find_amounts(line)
    assert (amount.value, amount.currency) == (Decimal(value), currency)


@pytest.mark.parametrize(
    "line",
    [
        "Tel. 91.555.12.34",
        "Fecha 12.03.2025 17:45",
        "EAN 4006381333931",
        "NIF: B12345678",
        "Artikel A7",
        "IVA 21%",
        "Kwota PTU A 23,00 %",
        "Bananen 0,852 kg",
        "Mineralwasser 6x1,5l",
        "Cola 0,50L extra",
        "Gift card balance",
    ],
)
def test_what_is_not_an_amount(line: str) -> None:
    assert find_amounts(line) == []


def test_quantity_and_unit_price_columns() -> None:
    amounts = find_amounts("Masło extra        2 x7,99    15,98 C")
    assert [a.value for a in amounts] == [Decimal("7.99"), Decimal("15.98")]


def test_letter_signs_are_whole_words() -> None:
    assert currency_of("Gift voucher") is None  # "Ft" inside a word
    assert currency_of("12,00 kr.") == "SEK"
    assert currency_of("lei 5,00") == "RON"
