"""No line of any message is wider than the paper, at 32, 42 and 48 columns."""

from __future__ import annotations

import pytest

from bridge.loyalty import Outcome
from bridge.messages import award_message, pending_message
from drivers.escpos_out import Message
from tests.bridge.message_samples import EXTRAS, LANGUAGE_CODES, WIDTHS, full_outcome


def _all_lines(message: Message) -> list[str]:
    lines = [message.title or "", *message.lines]
    for barcode in message.barcodes:
        lines += barcode.caption
    return lines


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_every_field_fits_the_width(language: str, width: int) -> None:
    outcomes = [
        full_outcome(),
        Outcome(99999, 9999999, "4000123412345678", None, True),
        Outcome(99999, None, None, "K7QM-3XPA", False),
    ]
    for outcome in outcomes:
        message = award_message(outcome, None, language, width=width, **EXTRAS)
        assert message is not None
        for line in _all_lines(message):
            assert len(line) <= width, (language, width, line)
        if message.code is not None:
            assert len(message.code) * 2 <= width  # printed double width
    for line in _all_lines(pending_message(language, width)):
        assert len(line) <= width, (language, width, line)


def test_a_long_line_wraps_at_a_word_boundary_rather_than_being_cut() -> None:
    narrow = award_message(full_outcome(), None, "en", width=32, **EXTRAS)
    wide = award_message(full_outcome(), None, "en", width=48, **EXTRAS)
    assert narrow is not None and wide is not None
    assert "120 points expire on 31/01/2027" in wide.lines
    assert " ".join(narrow.lines).count("31/01/2027") == 1
    assert len(narrow.lines) >= len(wide.lines)


def test_the_positional_signature_still_works() -> None:
    message = award_message(Outcome(12, 352, "4000123412341234", None, False), None, "de")
    assert message is not None and "Kontostand: 352 Punkte" in message.lines
