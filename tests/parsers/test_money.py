from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.money import MoneyError, currency_of, parse_money, parse_quantity, round_money


@pytest.mark.parametrize(
    ("printed", "value"),
    [
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("3,75", "3.75"),
        ("3.75", "3.75"),
        ("€ 3,75", "3.75"),
        ("3,75 €", "3.75"),
        ("12,00 zł", "12.00"),
        ("PLN 12,00", "12.00"),
        ("$1,234.56", "1234.56"),
        ("£3.50", "3.50"),
        ("-1,00", "-1.00"),
        ("1,00-", "-1.00"),
        ("(1.00)", "-1.00"),
        ("-€1.00", "-1.00"),
        ("1234.56", "1234.56"),
    ],
)
def test_every_printed_form_reads_as_decimal(printed: str, value: str) -> None:
    assert parse_money(printed) == Decimal(value)


@pytest.mark.parametrize(
    ("printed", "code"),
    [
        ("3,75 €", "EUR"),
        ("12 zł", "PLN"),
        ("$1", "USD"),
        ("£2", "GBP"),
        ("PLN 3", "PLN"),
        ("3,75", None),
    ],
)
def test_currency_sign(printed: str, code: str | None) -> None:
    assert currency_of(printed) == code


@pytest.mark.parametrize("printed", ["", "abc", "1,2,3,4", "€", "--1,00"])
def test_non_amounts_raise(printed: str) -> None:
    with pytest.raises(MoneyError):
        parse_money(printed)


def test_quantities() -> None:
    assert parse_quantity("2") == 2
    assert parse_quantity("0,350") == Decimal("0.350")
    assert parse_quantity("3x") == 3
    assert parse_quantity("x3") == 3


def test_rounding_is_half_up_to_the_smallest_coin() -> None:
    assert round_money(Decimal("0.125"), "EUR") == Decimal("0.13")
    assert round_money(Decimal("2.5"), "JPY") == Decimal("3")


@given(st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("99999.99"), places=2))
def test_european_and_english_grouping_read_the_same(value: Decimal) -> None:
    whole, frac = f"{abs(value):.2f}".split(".")
    groups = f"{int(whole):,}"
    english = f"{'-' if value < 0 else ''}{groups}.{frac}"
    european = f"{groups.replace(',', '.')},{frac}{'-' if value < 0 else ''}"
    assert parse_money(english) == value
    assert parse_money(european) == value


_PIECES = [*"0123456789.,-() ", "€", "$", "£", "zł", "kr", "kr.", "EUR", "eur", "Euro", "Ft"]
_PIECES += ["Gift", "R$", "US$", "Fr.", "SFr.", "元", "円", "x", "K", "\u00a0", "\u2212", "Rs."]
_PIECES += ["lei", "TL"]


@given(st.lists(st.sampled_from(_PIECES), max_size=8).map("".join))
def test_signs_are_found_where_the_one_pattern_finds_them(text: str) -> None:
    # The sign search looks only where a sign can start: the same signs as the whole pattern.
    from parsers import money

    assert money._without_signs(text) == money._SIGN_RE.sub("", text)
    first = money._SIGN_RE.search(text)
    found = next(money._sign_matches(text), None)
    assert (first.span() if first else None) == (found.span() if found else None)
