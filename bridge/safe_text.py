"""Text from receipts made safe to show: control characters escaped, customers masked.

A receipt is untrusted input. Its text can carry any control character (C0, DEL, and C1 once
the till selects a code page such as ``ESC t 40`` that maps bytes to U+0080..U+009F): written
raw to a terminal or a log, ``ESC [ 2 J`` clears the screen, ``ESC ] 0 ;`` retitles the window,
``CSI`` moves the cursor, and a line break forges a log line. ``escape_controls`` writes each as
``\\x1b``; the line breaks a caller means to keep stay.

``redact`` is for logs: card and phone numbers keep their last four digits, claim codes their
first group.
"""

from __future__ import annotations

import re

# C0, DEL and C1 (Unicode category Cc), the line and paragraph separators that some viewers
# break lines on, and the lone surrogates that stand for undecodable bytes (a file name with
# byte 0x9B, read with surrogateescape, would write that raw byte back out).
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\udc80-\udcff]")
# Select Graphic Rendition only (bold, underline, reset): styling, never cursor or title.
_SGR = r"\x1b\[[0-9;]*m"
# What json.dumps leaves raw in a string (it escapes C0 itself; its own indent is line breaks).
_JSON_RAW_RE = re.compile("[\x7f-\x9f\u2028\u2029]")


def _escaped(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # the undecodable byte it stands for
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str, keep: str = "", allow_sgr: bool = False) -> str:
    """``text`` with every control character written as an escape (``\\x1b``), except those
    in ``keep`` (e.g. ``"\\n"`` for multi-line output) and, with ``allow_sgr``, well-formed
    ``ESC [ ... m`` styling (what the demo shows a terminal)."""
    if allow_sgr:
        parts = re.split(f"({_SGR})", text)
        return "".join(
            part if index % 2 else escape_controls(part, keep) for index, part in enumerate(parts)
        )

    def replace(match: re.Match[str]) -> str:
        char = match.group()
        return char if char in keep else _escaped(char)

    return _CONTROL_RE.sub(replace, text)


def json_safe(text: str) -> str:
    """JSON text (from ``json.dumps(ensure_ascii=False)``) with the control characters JSON
    leaves raw (DEL, C1, U+2028/9) written as ``\\u`` escapes: still valid JSON, same data."""
    return _JSON_RAW_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# Runs of 9 or more digits, optionally grouped by single spaces, with an optional leading +:
# card numbers (12-19 digits) and phone numbers (9-15). Receipt numbers like 0001-000123,
# dates and times have shorter runs and are left alone.
_NUMBER_RE = re.compile(r"(?<![\w+])\+?\d(?:[ ]?\d){8,}(?!\w)")
# Claim codes as printed: K7Q-M3X-PAW (with a check character) or K7QM-3XPA (older).
_CODE_CHARS = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_CLAIM_RE = re.compile(
    rf"(?<![\w-])([{_CODE_CHARS}]{{3}})-[{_CODE_CHARS}]{{3}}-[{_CODE_CHARS}]{{3}}(?![\w-])"
    rf"|(?<![\w-])([{_CODE_CHARS}]{{4}})-[{_CODE_CHARS}]{{4}}(?![\w-])"
)


def mask_number(number: str) -> str:
    digits = [ch for ch in number if ch.isdigit()]
    return "*" * (len(digits) - 4) + "".join(digits[-4:])


def redact(text: str) -> str:
    """``text`` with card and phone numbers masked to their last four digits and claim codes
    to their first group: ``************1234``, ``K7Q-***-***``."""

    def code(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return f"{match.group(1)}-***-***"
        return f"{match.group(2)}-****"

    text = _NUMBER_RE.sub(lambda m: mask_number(m.group()), text)
    return _CLAIM_RE.sub(code, text)


def for_log(text: str) -> str:
    """A log field: masked, and on one line whatever it holds."""
    return escape_controls(redact(text))
