"""Reading printed amounts into ``Decimal``, and the one rounding rule for money.

Receipts print money as ``1.234,56``, ``1,234.56``, ``3,75``, ``€ 3.75``, ``12,00 zł``,
``-1,00``, ``1,00-`` or ``(1.00)``. ``parse_money`` reads them all; it never uses floats.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# Digits after the decimal point in each currency's smallest coin (2 when not listed).
MINOR_UNITS: dict[str, int] = {
    "EUR": 2, "USD": 2, "GBP": 2, "PLN": 2, "CHF": 2, "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0,
    "HUF": 2, "VND": 0,
}  # fmt: skip

# Signs and codes as receipts print them, to ISO 4217. Letter signs are matched whole and in
# any case ("eur", "Euro"); "kr" is read as SEK unless the receipt says otherwise (the generic
# layout tells NOK and DKK apart by their words). Codes that are also words an item may be
# called in capitals (PEN, MAD, SAR, COP, ALL) are left out.
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
    "MXN": "MXN", "MX$": "MXN", "ARS": "ARS", "CLP": "CLP",
    "HKD": "HKD", "HK$": "HKD", "SGD": "SGD", "S$": "SGD", "CNY": "CNY", "RMB": "CNY",
    "元": "CNY", "KRW": "KRW", "₩": "KRW", "INR": "INR", "₹": "INR", "Rs.": "INR",
    "ILS": "ILS", "₪": "ILS", "ZAR": "ZAR", "AED": "AED",
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
# Where a sign may start: searched first, so the alternation of every sign is tried only there
# (tried at every character, it cost about 3 µs a character).
_SIGN_START = re.compile(
    "["
    + "".join(
        sorted(
            {re.escape(c) for sign in _SIGNS for c in (sign[0], sign[0].lower(), sign[0].upper())}
        )
    )
    + "]"
)
_NUMBER_RE = re.compile(r"^\d{1,3}(?:[.,' ]\d{3})*(?:[.,]\d+)?$|^\d+(?:[.,]\d+)?$")
# Digits, separators, brackets and minus signs only: no currency sign can be in it. Most amounts
# a layout reads are this, and the sign search (one alternation of every sign, each letter sign
# a whole word) costs ten times the rest of reading the amount.
_PLAIN = re.compile(r"[\d.,'()\s\-\u2212]*")


class MoneyError(ValueError):
    """A printed amount that cannot be read as money."""


def _sign_matches(text: str) -> Iterator[re.Match[str]]:
    """The currency signs printed in ``text``, in order (as ``_SIGN_RE.finditer``)."""
    at = 0
    while (start := _SIGN_START.search(text, at)) is not None:
        hit = _SIGN_RE.match(text, start.start())  # its look-behind still sees the text before
        if hit is None:
            at = start.start() + 1
            continue
        yield hit
        at = max(hit.end(), hit.start() + 1)


def _without_signs(text: str) -> str:
    parts, at = [], 0
    for hit in _sign_matches(text):
        parts.append(text[at : hit.start()])
        at = hit.end()
    parts.append(text[at:])
    return "".join(parts)


def currency_of(text: str) -> str | None:
    """The ISO code of the first currency sign in ``text``, if any."""
    if _PLAIN.fullmatch(text):
        return None
    match = next(_sign_matches(text), None)
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
    plain = _PLAIN.fullmatch(text) is not None
    s = (text if plain else _without_signs(text)).strip()
    s = s.replace("\u00a0", " ").replace("\u2212", "-")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    if s.endswith("-"):
        negative, s = True, s[:-1].strip()
    if s.startswith("-"):
        negative, s = not negative, s[1:].strip()
    if not plain:
        s = _without_signs(s).strip()
    if not s or not _NUMBER_RE.match(s):
        raise MoneyError(f"not an amount: {text!r}")
    value = _number(s)
    return -value if negative else value


def _number(s: str) -> Decimal:
    """The value of digits with separators, already checked against ``_NUMBER_RE``."""
    last_sep = max(s.rfind("."), s.rfind(","))
    if last_sep >= 0 and _is_decimal_separator(s, last_sep):
        whole, frac = s[:last_sep], s[last_sep + 1 :]
    else:
        whole, frac = s, ""
    if not whole.isdigit():
        whole = whole.replace(".", "").replace(",", "").replace("'", "").replace(" ", "")
    return Decimal(f"{whole}.{frac}" if frac else whole)


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


# An amount is found from its digits (a cheap search), then its signs are looked for on each
# side: a pattern full of currency signs tried at every position of every line cost 0.2 ms a
# line.
_NUMBER_IN_LINE_RE = re.compile(
    r"""
    (?<![\d.,])                       # not the tail of a number (a word's: see find_amounts)
    (?:\d{1,3}(?P<sep>[.,'\u2019 \u00a0])\d{3}(?:(?P=sep)\d{3})*(?:[.,]\d{2})?
      |\d+[.,]\d{2}
      |\d+)
    (?![\d]|[.,]\d|[ ]?%)              # not a longer number, a date or a rate
    """,
    re.VERBOSE,
)
_DIGITS_RE = re.compile(r"\d+")


def _numbers(line: str) -> Iterator[re.Match[str]]:
    """The numbers of a line, tried only where digits start (most of a line is letters)."""
    pos = 0
    while True:
        digits = _DIGITS_RE.search(line, pos)
        if digits is None:
            return
        number = _NUMBER_IN_LINE_RE.match(line, digits.start())
        if number is None:
            pos = digits.end()
        else:
            yield number
            pos = number.end()


_LONGEST_SIGN = max(len(sign) for sign in CURRENCY_SIGNS)
# Most digits have no sign beside them: one look at the neighbouring character tells.
_SIGN_FIRST = frozenset(sign[0].casefold() for sign in _BY_FOLDED)
_SIGN_LAST = frozenset(sign[-1].casefold() for sign in _BY_FOLDED)
_CLASS_END_RE = re.compile(r"[A-Z*]{1,2}[ \t]*$")  # "4,50A", "2,38 B": a tax-class letter


def _is_letter(ch: str) -> bool:
    return ch.isalpha()


def _sign_ending_at(line: str, end: int) -> int | None:
    """Where a currency sign that ends at ``end`` starts (a letter sign a whole word)."""
    if end == 0 or line[end - 1].casefold() not in _SIGN_LAST:
        return None
    for length in range(min(_LONGEST_SIGN, end), 0, -1):
        begin = end - length
        sign = line[begin:end]
        if sign.casefold() in _BY_FOLDED and not (
            _is_letter(sign[0]) and begin > 0 and _is_letter(line[begin - 1])
        ):
            return begin
    return None


def _sign_starting_at(line: str, begin: int) -> int | None:
    """Where a currency sign that starts at ``begin`` ends."""
    if begin >= len(line) or line[begin].casefold() not in _SIGN_FIRST:
        return None
    for length in range(min(_LONGEST_SIGN, len(line) - begin), 0, -1):
        end = begin + length
        sign = line[begin:end]
        if sign.casefold() in _BY_FOLDED and not (
            _is_letter(sign[-1]) and end < len(line) and _is_letter(line[end])
        ):
            return end
    return None


def _sign_beside(line: str, start: int, end: int) -> bool:
    """Whether a sign may touch the digits (a space apart at most): the cheap test first."""
    after = line[end : end + 2].lstrip(" ")[:1]
    before = line[max(0, start - 2) : start].rstrip(" ")[-1:]
    return (
        (after.casefold() in _SIGN_FIRST and after != "")
        or (before.casefold() in _SIGN_LAST and before != "")
        or _spaced_sign_before(line, start)
    )


def _spaced_sign_before(line: str, start: int) -> bool:
    """ "EUR     1.200": a sign a column before the digits."""
    j = start
    while j > 0 and line[j - 1] in " \t":
        j -= 1
    return j < start - 1 and j > 0 and line[j - 1].casefold() in _SIGN_LAST


def _before(line: str, start: int, floor: int) -> tuple[int, str | None, bool]:
    """Signs before the digits: (where the amount starts, the currency sign, negative)."""
    i = start
    sign: str | None = None
    negative = False
    j = i - 1 if i - 1 >= floor and line[i - 1] == " " else i
    begin = _sign_ending_at(line, j) if j > floor else None  # "-€12.50"
    if begin is not None and begin >= floor:
        sign, i = line[begin:j], begin
    j = i - 1 if i - 1 >= floor and line[i - 1] == " " else i
    if j > floor and line[j - 1] in "-\u2212(":
        negative, i = True, j - 1
        if line[j - 1] == "(":
            negative = False  # "(" counts only with its ")": the caller checks
            i = j - 1
    if sign is None:
        j = i
        while j > floor and line[j - 1] in " \t":
            j -= 1
        begin = _sign_ending_at(line, j) if j > floor else None  # "EUR   12,50"
        if begin is not None and begin >= floor:
            sign, i = line[begin:j], begin
    return i, sign, negative


def _after(line: str, end: int) -> tuple[int, str | None, bool, bool] | None:
    """Signs after the digits: (where the amount ends, the sign, ")" closes, "-" after), or
    None when the digits run on into something that is not an amount's end."""
    j = end
    close = j < len(line) and line[j] == ")"
    if close:
        j += 1
    trailing_minus = j < len(line) and line[j] == "-" and not line[j + 1 : j + 2].isdigit()
    if trailing_minus:
        j += 1
    sign: str | None = None
    k = j + 1 if j < len(line) and line[j] == " " else j
    stop = _sign_starting_at(line, k) if k < len(line) else None
    if stop is not None:
        sign, j = line[k:stop], stop
    if j < len(line) and not (line[j] in " \t\r\n)/:;" or _CLASS_END_RE.match(line, j)):
        return None
    return j, sign, close, trailing_minus


_LOOK_BACK = 40  # "SUMA PLN        68,24": a sign may stand a column away


def find_amounts(line: str) -> list[Amount]:
    """Every amount printed in ``line``, left to right.

    An amount has two decimals (``12,50``, ``1.234,56``, ``1 234,56``, ``-1,00``, ``1,00-``,
    ``(1.00)``), or a currency sign beside it (``¥1,200``, ``1 200 Ft``). Quantities
    (``0,850``), rates (``21%``), dates and long numbers (EANs, phones) are not amounts.
    """
    found: list[Amount] = []
    floor = 0  # what the amount before took is not this one's
    for number in _numbers(line):
        start, end = number.span()
        glued = start > 0 and line[start - 1].isalpha() and line[start - 1] not in "xX×"
        if glued and _sign_ending_at(line, start) is None:
            continue  # "B12345", "A7": a code; but "EUR12,50" and "x4,50" are amounts
        num = number.group(0)
        decimals = len(num) > 3 and num[-3] in ".,"
        if not decimals and not _sign_beside(line, start, end):
            continue  # a count, a code, a year: no amount without decimals or a sign
        after = _after(line, end)
        if after is None:
            continue
        stop, post, close, trailing_minus = after
        begin, pre, negative = _before(line, start, floor)
        opened = begin < start and "(" in line[begin:start]
        if not decimals and not (pre or post):
            continue
        value = _number(num.replace("\u2019", "'").replace("\u00a0", " "))
        if negative or trailing_minus or (opened and close):
            value = -value
        sign = pre or post
        found.append(Amount(value, code_of(sign) if sign else None, begin, stop))
        floor = stop
    return found
