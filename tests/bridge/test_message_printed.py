"""The full message, printed: read back from its bytes at each paper width, voucher included."""

from __future__ import annotations

import pytest

from bridge.messages import award_message
from drivers.escpos_out import PrinterProfile, render_message
from parsers.document import Barcode, build_documents
from parsers.escpos.state import PrinterState
from parsers.escpos.tokenizer import Tokenizer
from tests.bridge.message_samples import EXTRAS, LANGUAGE_CODES, WIDTHS, full_outcome

DOTS = {32: 384, 42: 512, 48: 576}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGE_CODES)
def test_the_printed_message_fits_and_carries_the_voucher_barcode(
    language: str, width: int
) -> None:
    message = award_message(full_outcome(), None, language, width=width, **EXTRAS)
    assert message is not None
    profile = PrinterProfile(columns=width, dots=DOTS[width], code_pages=frozenset({19, 16, 18}))
    state = PrinterState()
    tokenizer = Tokenizer(state)
    events = tokenizer.feed(render_message(message, profile, state)) + tokenizer.close()
    assert tokenizer.state == state
    (document,) = build_documents(events)
    texts = [line.text for line in document.lines if line.text.strip()]
    assert all(len(text) <= width for text in texts), texts
    assert texts[0] == message.title
    barcodes = [block for block in document.blocks if isinstance(block, Barcode)]
    assert [(b.symbology, b.data) for b in barcodes] == [("CODE128", "V-5K2Q9")]
    assert texts[-1] == "V-5K2Q9"  # the code as text under its barcode
