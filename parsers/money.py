"""Reading printed amounts into ``Decimal``, and the one rounding rule for money.

Receipts print money as ``1.234,56``, ``1,234.56``, ``3,75``, ``€ 3.75``, ``12,00 zł``,
``-1,00``, ``1,00-`` or ``(1.00)``. ``parse_money`` reads them all; it never uses floats.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

# Digits after the decimal point in each currency's smallest coin.
MINOR_UNITS: dict[str, int] = {"EUR": 2, "USD": 2, "GBP": 2, "PLN": 2, "CHF": 2, "JPY": 0}

CURRENCY_SIGNS: dict[str, str] = {
    "€": "EUR",
    "EUR": "EUR",
    "$": "USD",
    "USD": "USD",
    "£": "GBP",
    "GBP": "GBP",
    "zł": "PLN",
    "ZŁ": "PLN",
    "PLN": "PLN",
    "CHF": "CHF",
    "¥": "JPY",
    "JPY": "JPY",
}

_SIGNS = sorted(CURRENCY_SIGNS, key=len, reverse=True)
_SIGN_RE = re.compile("|".join(re.escape(s) for s in _SIGNS), re.IGNORECASE)
_NUMBER_RE = re.compile(r"^\d{1,3}(?:[.,' ]\d{3})*(?:[.,]\d+)?$|^\d+(?:[.,]\d+)?$")


class MoneyError(ValueError):
    """A printed amount that cannot be read as money."""


def currency_of(text: str) -> str | None:
    """The ISO code of the first currency sign in ``text``, if any."""
    match = _SIGN_RE.search(text)
    if match is None:
        return None
    sign = match.group(0)
    return CURRENCY_SIGNS.get(sign) or CURRENCY_SIGNS.get(sign.upper())


def parse_money(text: str) -> Decimal:
    """Read a printed amount. Raises ``MoneyError`` when it is not one.

    The last ``.`` or ``,`` followed by one or two digits (or exactly the digits that are not a
    thousands group) is the decimal separator; the others group thousands.
    """
    s = _SIGN_RE.sub("", text).strip().replace("\u00a0", " ")
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
