"""Reading printed amounts into ``Decimal``, and the one rounding rule for money.

Receipts print money as ``1.234,56``, ``1,234.56``, ``3,75``, ``€ 3.75``, ``12,00 zł``,
``-1,00``, ``1,00-`` or ``(1.00)``. ``parse_money`` reads them all; it never uses floats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# Digits after the decimal point in each currency's smallest coin (2 when not listed).
MINOR_UNITS: dict[str, int] = {
    "EUR": 2, "USD": 2, "GBP": 2, "PLN": 2, "CHF": 2, "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0,
    "HUF": 2, "VND": 0,
}  # fmt: skip

# Signs and codes as receipts print them, to ISO 4217. Letter signs are matched whole and in
# any case ("eur", "Euro"); "kr" is read as SEK unless the receipt says otherwise (the generic
# layout tells NOK and DKK apart by their words).
CURRENCY_SIGNS: dict[str, str] = {
    "€": "EUR", "EUR": "EUR", "EURO": "EUR", "EUROS": "EUR",
    "$": "USD", "US$": "USD", "USD": "USD",
    "£": "GBP", "GBP": "GBP",
    "zł": "PLN", "ZŁ": "PLN", "PLN": "PLN",
    "CHF": "CHF", "SFr.": "CHF", "Fr.": "CHF",
    "¥": "JPY", "円": "JPY", "JPY": "JPY",
    "SEK": "SEK", "NOK": "NOK", "DKK": "DKK", "ISK": "ISK", "kr": "SEK", "kr.": "SEK",
    "CZK": "CZK", "Kč": "CZK", "HUF": "HUF", "Ft": "HUF", "RON": "RON", "lei": "RON",
    "BGN": "BGN", "лв": "BGN", "TRY": "TRY", "TL": "TRY", "₺": "TRY",
    "UAH": "UAH", "₴": "UAH", "грн": "UAH", "RUB": "RUB", "₽": "RUB", "руб": "RUB",
    "RSD": "RSD", "HRK": "HRK",
    "BRL": "BRL", "R$": "BRL", "CAD": "CAD", "C$": "CAD", "CA$": "CAD",
    "AUD": "AUD", "A$": "AUD", "AU$": "AUD", "NZD": "NZD", "NZ$": "NZD",
    "MXN": "MXN", "MX$": "MXN", "ARS": "ARS", "CLP": "CLP", "COP": "COP", "PEN": "PEN",
    "HKD": "HKD", "HK$": "HKD", "SGD": "SGD", "S$": "SGD", "CNY": "CNY", "RMB": "CNY",
    "元": "CNY", "KRW": "KRW", "₩": "KRW", "INR": "INR", "₹": "INR", "Rs.": "INR",
    "ILS": "ILS", "₪": "ILS", "ZAR": "ZAR", "AED": "AED", "SAR": "SAR", "MAD": "MAD",
    "THB": "THB", "฿": "THB", "VND": "VND", "₫": "VND",
}  # fmt: skip

_SIGNS = sorted(CURRENCY_SIGNS, key=len, reverse=True)
_BY_FOLDED = {sign.casefold(): code for sign, code in CURRENCY_SIGNS.items()}


def _sign_pattern(sign: str) -> str:
    # a letter sign is a whole word: "Ft" in "Ft 1 200" but not in "Gift"
    before = r"(?<![^\W\d_])" if sign[0].isalpha() else ""
    after = r"(?![^\W\d_])" if sign[-1].isalpha() else ""
    return before + re.escape(sign) + after


SIGN_PATTERN = "(?:" + "|".join(_sign_pattern(s) for s in _SIGNS) + ")"
_SIGN_RE = re.compile(SIGN_PATTERN, re.IGNORECASE)
_NUMBER_RE = re.compile(r"^\d{1,3}(?:[.,' ]\d{3})*(?:[.,]\d+)?$|^\d+(?:[.,]\d+)?$")


class MoneyError(ValueError):
    """A printed amount that cannot be read as money."""


def currency_of(text: str) -> str | None:
    """The ISO code of the first currency sign in ``text``, if any."""
    match = _SIGN_RE.search(text)
    if match is None:
        return None
    return code_of(match.group(0))


def code_of(sign: str) -> str | None:
    """The ISO code of one sign or code as printed (any case), or None."""
    return _BY_FOLDED.get(sign.strip().casefold())


def parse_money(text: str) -> Decimal:
    """Read a printed amount. Raises ``MoneyError`` when it is not one.

    The last ``.`` or ``,`` followed by one or two digits (or exactly the digits that are not a
    thousands group) is the decimal separator; the others group thousands.
    """
    s = _SIGN_RE.sub("", text).strip().replace("\u00a0", " ").replace("\u2212", "-")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    if s.endswith("-"):
        negative, s = True, s[:-1].strip()
    if s.startswith("-"):
        negative, s = not negative, s[1:].strip()
    s = _SIGN_RE.sub("", s).strip()
    if not s or not _NUMBER_RE.match(s):
        raise MoneyError(f"not an amount: {text!r}")
    last_sep = max(s.rfind("."), s.rfind(","))
    if last_sep >= 0 and _is_decimal_separator(s, last_sep):
        whole, frac = s[:last_sep], s[last_sep + 1 :]
    else:
        whole, frac = s, ""
    whole = re.sub(r"[.,' ]", "", whole)
    value = Decimal(f"{whole}.{frac}" if frac else whole)
    return -value if negative else value


def _is_decimal_separator(s: str, pos: int) -> bool:
    digits_after = len(s) - pos - 1
    if digits_after != 3:
        return True
    # "1.234" or "1,234": a thousands group unless the other separator is used before it
    # ("1.234,567" never happens on receipts; "1,234.500" can, for quantities).
    # A leading zero ("0,350") can only be a decimal.
    other = "," if s[pos] == "." else "."
    return other in s[:pos] or s[:pos] == "0"


def parse_quantity(text: str) -> Decimal:
    """A quantity as printed: ``2``, ``0,350`` (kg), ``1.5``, ``3x``, ``x3``."""
    s = text.strip().lower().strip("x×* ").replace(",", ".")
    try:
        return Decimal(s)
    except ArithmeticError as exc:
        raise MoneyError(f"not a quantity: {text!r}") from exc


def round_money(amount: Decimal, currency: str) -> Decimal:
    """The one rounding rule for money: half up, to the currency's smallest coin."""
    exponent = Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def tolerance(currency: str) -> Decimal:
    """How far two sums may differ and still agree: one smallest coin."""
    return Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))


# -- amounts inside a printed line -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount found in a line: its value, the currency printed with it, where it is."""

    value: Decimal
    currency: str | None
    start: int
    end: int


_AMOUNT_RE = re.compile(
    rf"""
    (?<![\d.,])(?<![^\W\d_xX])        # not the tail of a number or word ("x4,50" is fine)
    (?:(?P<pre>{SIGN_PATTERN})[ \t]*)?
    (?P<neg>[-\u2212][ ]?|\()?
    (?:(?P<pre2>{SIGN_PATTERN})[ ]?)?
    (?P<num>\d{{1,3}}(?P<sep>[.,'\u2019 \u00a0])\d{{3}}(?:(?P=sep)\d{{3}})*(?:[.,]\d{{2}})?
           |\d+[.,]\d{{2}}
           |\d+)
    (?![\d]|[.,]\d|[ ]?%)              # not a longer number, a date or a rate
    (?P<close>\))?
    (?P<tneg>-(?!\d))?
    (?:[ ]?(?P<post>{SIGN_PATTERN}))?
    (?=[\s)/:;]|$|[A-Z*]{{1,2}}[ \t]*$)  # a tax-class letter may stick to the last amount
    """,
    re.VERBOSE | re.IGNORECASE,
)
_DECIMALS_RE = re.compile(r"[.,]\d{2}$")


def find_amounts(line: str) -> list[Amount]:
    """Every amount printed in ``line``, left to right.

    An amount has two decimals (``12,50``, ``1.234,56``, ``1 234,56``, ``-1,00``, ``1,00-``,
    ``(1.00)``), or a currency sign beside it (``¥1,200``, ``1 200 Ft``). Quantities
    (``0,850``), rates (``21%``), dates and long numbers (EANs, phones) are not amounts.
    """
    found: list[Amount] = []
    for match in _AMOUNT_RE.finditer(line):
        pre = match.group("pre") or match.group("pre2")
        post = match.group("post")
        num = match.group("num")
        if not _DECIMALS_RE.search(num) and not (pre or post):
            continue
        neg = (match.group("neg") or "").strip()
        if neg == "(" and not match.group("close"):
            continue
        try:
            value = parse_money(num.replace("\u2019", "'"))
        except MoneyError:
            continue
        if neg or match.group("tneg"):
            value = -value
        currency = code_of(pre or post or "") if (pre or post) else None
        found.append(Amount(value, currency, match.start(), match.end()))
    return found
