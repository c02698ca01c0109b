"""Log lines that receipts cannot forge or fill with customers' numbers: control characters
escaped, card and phone numbers masked to their last four digits, claim codes cut short."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from bridge.logs import setup_logging
from bridge.safe_text import escape_controls, json_safe, redact


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


# A receipt line after ESC t 40: C1 controls, then a forged log line.
FORGED = "BAKERY\x9b2J\x1b]0;pwned\x07\n2026-12-02T00:00:00.000Z level=info msg=fake\x7f"


@pytest.mark.parametrize("json_lines", [False, True])
def test_a_log_line_stays_one_line_with_every_control_character_escaped(
    restore_logging: None, json_lines: bool
) -> None:
    out = io.StringIO()
    setup_logging("info", json_lines=json_lines, stream=out)
    logging.getLogger("bridge.handler").warning(
        "front: receipt %s: %s", FORGED, "x", extra={"text": FORGED}
    )
    text = out.getvalue()
    assert text.count("\n") == 1
    assert not any((ord(ch) < 0x20 and ch != "\n") or 0x7F <= ord(ch) <= 0x9F for ch in text)
    if json_lines:
        record = json.loads(text)
        assert record["msg"].startswith("front: receipt BAKERY\\x9b2J\\x1b]0;pwned\\x07\\x0a")
        assert record["text"].endswith("msg=fake\\x7f")
    else:
        assert "BAKERY\\\\x9b2J\\\\x1b]0;pwned\\\\x07\\\\x0a2026" in text


def test_customers_and_claim_codes_are_masked(restore_logging: None) -> None:
    out = io.StringIO()
    setup_logging("info", stream=out)
    log = logging.getLogger("bridge.handler")
    log.info("front: receipt 0001-000123: 12 points to 4000123412341234, balance 52")
    log.info("front: receipt 7: 3 points to +48601234567, balance 3")
    log.info("front: receipt 8: 4 points, claim code K7Q-M3X-PAW")
    log.info("front: receipt 9: 4 points, claim code K7QM-3XPA", extra={"card": "4000 1234 5678"})
    lines = out.getvalue().splitlines()
    assert "to ************1234, balance 52" in lines[0]
    assert "receipt 0001-000123" in lines[0]  # receipt numbers and dates are kept
    assert "to *******4567, balance 3" in lines[1]
    assert "claim code K7Q-***-***" in lines[2] and "PAW" not in lines[2]
    assert "claim code K7QM-****" in lines[3] and lines[3].endswith("card=********5678")


def test_a_traceback_keeps_its_lines_but_none_starts_a_line(restore_logging: None) -> None:
    out = io.StringIO()
    setup_logging("info", stream=out)
    try:
        raise ValueError("bad receipt\n2026-12-02T00:00:00.000Z level=info msg=forged")
    except ValueError:
        logging.getLogger("bridge.handler").exception("front: failed")
    first, *rest = out.getvalue().splitlines()
    assert first.endswith('msg="front: failed"')
    assert rest and all(line.startswith("    ") for line in rest)
    assert not any(re.match(r"\d{4}-", line) for line in rest)


def test_the_helpers() -> None:
    assert escape_controls("a\x00b\x1bc\x9bd\u2028e\nf") == "a\\x00b\\x1bc\\x9bd\\u2028e\\x0af"
    assert escape_controls("a\nb", keep="\n") == "a\nb"
    assert escape_controls("\x1b[1mbold\x1b[0m\x1b[2J", allow_sgr=True) == (
        "\x1b[1mbold\x1b[0m\\x1b[2J"
    )
    assert json.loads(json_safe(json.dumps("a\x9bb", ensure_ascii=False))) == "a\x9bb"
    assert redact("2026-12-02 18:02:11, 1048576 bytes") == "2026-12-02 18:02:11, 1048576 bytes"
    assert redact("card 4000 1234 5678 9010") == "card ************9010"
