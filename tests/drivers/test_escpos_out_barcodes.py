"""A voucher's code printed as a barcode: the exact bytes, and that the till's state survives."""

from __future__ import annotations

from drivers.escpos_out import Barcode, Message, PrinterProfile, render_message
from parsers.document import QRCode, build_documents
from parsers.escpos.events import Cut, DrawerKick, Reset, Unknown
from parsers.escpos.state import PrinterState
from parsers.escpos.tokenizer import Tokenizer

GS = b"\x1d"
DEFAULTS = GS + b"h\xa2" + GS + b"w\x03" + GS + b"H\x00"


def _render(barcode: Barcode, profile: PrinterProfile | None = None) -> bytes:
    message = Message(lines=("Voucher",), barcodes=(barcode,))
    return render_message(message, profile or PrinterProfile(), PrinterState())


def test_code128_is_native_gs_k_function_b_with_code_set_b() -> None:
    data = _render(Barcode("V-5K2Q9", caption=("5 € voucher",)))
    symbol = GS + b"h\x50" + GS + b"w\x03" + GS + b"H\x00" + GS + b"k\x49\x09{BV-5K2Q9"
    assert symbol + DEFAULTS + b"V-5K2Q9\n" in data
    # The caption is above the symbol, centred (ESC a 1 comes before both).
    assert data.index(b"5 \xd5 voucher\n") < data.index(symbol)
    assert data.index(b"\x1ba\x01") < data.index(b"5 \xd5 voucher")


def test_a_brace_in_the_data_is_escaped() -> None:
    data = _render(Barcode("A{B"))
    assert GS + b"k\x49\x06{BA{{B" in data


def test_narrow_paper_takes_thinner_modules() -> None:
    data = _render(Barcode("VOUCHER-0001"), PrinterProfile(columns=32, dots=384))
    assert GS + b"w\x02" + GS + b"H\x00" + GS + b"k\x49" in data


def test_a_code_too_long_for_the_paper_prints_as_a_qr_code() -> None:
    code = "X" * 40
    data = _render(Barcode(code), PrinterProfile(columns=32, dots=384))
    assert GS + b"k" not in data
    tokenizer = Tokenizer(PrinterState())
    events = tokenizer.feed(data) + tokenizer.close()
    (document,) = build_documents(events)
    assert [b.data for b in document.blocks if isinstance(b, QRCode)] == [code]


def test_qr_symbology_prints_a_native_qr_code() -> None:
    data = _render(Barcode("V-5K2Q9", symbology="QR"))
    assert GS + b"(k" in data and GS + b"k\x49" not in data


def test_non_ascii_data_cannot_be_code128() -> None:
    data = _render(Barcode("BON-É1"))
    assert GS + b"k\x49" not in data and GS + b"(k" in data


def test_the_till_state_is_restored_and_nothing_harmful_is_sent() -> None:
    state = PrinterState(code_page=16)
    message = Message(lines=("x",), barcodes=(Barcode("V-1", caption=("A free coffee",)),))
    tokenizer = Tokenizer(state)
    events = tokenizer.feed(render_message(message, PrinterProfile(), state))
    events += tokenizer.close()
    assert tokenizer.state == state
    for event in events:
        assert not isinstance(event, Cut | DrawerKick | Reset | Unknown), event
