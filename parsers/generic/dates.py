"""When the receipt was printed: the first date on it, and the time beside it."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

_DATE_RE = re.compile(
    r"(?<![\d.,/-])(?:(?P<y4>20\d\d)[./-](?P<m4>\d{1,2})[./-](?P<d4>\d{1,2})"
    r"|(?P<a>\d{1,2})[./-](?P<b>\d{1,2})[./-](?P<y>(?:20)?\d\d))(?![\d.,/-]*\d)"
)
_TIME_RE = re.compile(
    r"(?<![\d:.,])(?P<h>[01]?\d|2[0-3])[:h](?P<m>[0-5]\d)(?::(?P<s>[0-5]\d))?"
    r"(?:[ ]?(?P<ap>[AaPp])\.?[Mm]\.?)?(?![\d:])"
)


def read_when(lines: list[str], date_order: str, timezone: str) -> datetime | None:
    """The first date printed, with the first time on its line or the next; 00:00 if none.

    ``date_order`` AUTO reads day first unless the date cannot be read so (``11/14/2026``).
    """
    for index, line in enumerate(lines):
        match = _DATE_RE.search(line)
        if match is None:
            continue
        day = _date(match, date_order)
        if day is None:
            continue
        clock = _time(line[match.end() :]) or _time(line[: match.start()])
        if clock is None and index + 1 < len(lines):
            clock = _time(lines[index + 1])
        return datetime.combine(day, clock or time(0, 0), tzinfo=ZoneInfo(timezone))
    return None


def _date(match: re.Match[str], order: str) -> date | None:
    if match.group("y4"):
        year, month, day = int(match.group("y4")), int(match.group("m4")), int(match.group("d4"))
    else:
        a, b, year = int(match.group("a")), int(match.group("b")), int(match.group("y"))
        if year < 100:
            year += 2000
        if order == "MDY" or (order == "AUTO" and b > 12 >= a):
            month, day = a, b
        elif order == "YMD":
            return None  # a two-digit year first cannot be told from a day
        else:
            day, month = a, b
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _time(text: str) -> time | None:
    match = _TIME_RE.search(text)
    if match is None:
        return None
    hour, minute = int(match.group("h")), int(match.group("m"))
    second = int(match.group("s") or 0)
    meridiem = (match.group("ap") or "").lower()
    if meridiem == "p" and hour < 12:
        hour += 12
    elif meridiem == "a" and hour == 12:
        hour = 0
    return time(hour, minute, second)
