"""The ESC/POS output side, read back with the real tokenizer and document builder."""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from dataclasses import replace

# python-escpos leaves a temp folder per process unless this names an existing folder.
import qrcode
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.escpos_out import (
    PC858,
    WPC1252,
    Message,
    PrinterProfile,
    render_message,
    restore_state,
)
from parsers.document import Document, Image, Line, QRCode, build_documents
from parsers.escpos.codepages import CODE_PAGES, INTERNATIONAL
from parsers.escpos.events import (
    Align,
    Command,
    Cut,
    DrawerKick,
    Event,
    Reset,
    Text,
    TextStyle,
    Unknown,
)
from parsers.escpos.state import PrinterState
from parsers.escpos.tokenizer import Tokenizer

# --- strategies -----------------------------------------------------------------------------

styles = st.builds(
    TextStyle,
    bold=st.booleans(),
    underline=st.sampled_from([0, 1, 2]),
    double_strike=st.booleans(),
    width=st.integers(1, 8),
    height=st.integers(1, 8),
    font=st.sampled_from("ABCDE"),
    reverse=st.booleans(),
    upside_down=st.booleans(),
    rotated=st.booleans(),
)
SETTABLE_KANJI = ["jis", "shift_jis", "shift_jis_2004"]


def printer_states(kanji_encodings: list[str] = SETTABLE_KANJI) -> st.SearchStrategy:
    return st.builds(
        PrinterState,
        code_page=st.sampled_from(sorted(CODE_PAGES)),
        international=st.sampled_from(sorted(INTERNATIONAL)),
        align=st.sampled_from(list(Align)),
        style=styles,
        line_spacing=st.none() | st.integers(0, 255),
        kanji=st.booleans(),
        kanji_encoding=st.sampled_from(kanji_encodings),
    )


# Any state a till can leave, plus Kanji encodings only a caller configures.
till_states = printer_states([*SETTABLE_KANJI, "gb18030", "big5"])


def run(data: bytes, state: PrinterState | None = None) -> tuple[list[Event], PrinterState]:
    tokenizer = Tokenizer(state)
    events = tokenizer.feed(data) + tokenizer.close()
    return events, tokenizer.state


def read_back(data: bytes, state: PrinterState) -> Document:
    events, _ = run(data, state)
    documents = build_documents(events)
    assert len(documents) == 1
    return documents[0]


def printed(document: Document) -> list[Line]:
    return [line for line in document.lines if line.text.strip()]


def assert_harmless(events: list[Event]) -> None:
    for event in events:
        assert not isinstance(event, Cut | DrawerKick | Reset | Unknown), event


MESSAGE = Message(
    lines=("Points earned: 12", "Balance: 340 € - merci, à bientôt"),
    title="Fidélité",
    code="AB12",
)


# --- restore_state ------------------------------------------------------------------------


@settings(max_examples=300)
@given(printer_states())
def test_restore_state_from_the_default_state(state: PrinterState) -> None:
    events, after = run(restore_state(state))
    assert after == state
    assert all(isinstance(e, Command) for e in events)
    assert_harmless(events)


@settings(max_examples=300)
@given(printer_states(), printer_states())
def test_restore_state_from_any_state(start: PrinterState, state: PrinterState) -> None:
    _, after = run(restore_state(state), start)
    assert after == state


@settings(max_examples=300)
@given(printer_states(), printer_states())
def test_restore_since_sends_only_what_differs(start: PrinterState, state: PrinterState) -> None:
    data = restore_state(state, since=start)
    _, after = run(data, start)
    assert after == state
    assert restore_state(state, since=state) == b""
    assert len(data) <= len(restore_state(state))


def test_restore_leaves_an_unsettable_kanji_encoding_alone() -> None:
    state = PrinterState(kanji=True, kanji_encoding="gb18030")
    data = restore_state(PrinterState(kanji_encoding="gb18030"), since=state)
    assert data == b"\x1c."  # FS . only; no FS C


# --- render_message: the printer ends where the till left it --------------------------------


@settings(max_examples=150, deadline=None)
@given(till_states, st.booleans())
def test_render_message_restores_the_till_state(state: PrinterState, native: bool) -> None:
    message = Message(lines=MESSAGE.lines, title="Fidélité", qr="https://x.example/AB12")
    events, after = run(render_message(message, PrinterProfile(native_qr=native), state), state)
    assert after == state
    assert_harmless(events)


@settings(max_examples=150, deadline=None)
@given(till_states)
def test_message_reads_back_whatever_the_till_state(state: PrinterState) -> None:
    document = read_back(render_message(MESSAGE, PrinterProfile(), state), state)
    lines = printed(document)
    assert [line.text for line in lines] == [
        "Fidélité",
        "Points earned: 12",
        "Balance: 340 € - merci, à bientôt",
        "AB12",
    ]
    assert [line.align for line in lines] == [Align.CENTER, Align.LEFT, Align.LEFT, Align.CENTER]
    assert lines[0].spans[0].style == TextStyle(bold=True)
    assert lines[1].spans[0].style == TextStyle()
    assert lines[3].spans[0].style == TextStyle(width=2, height=2)


def test_message_starts_on_a_new_line_after_a_blank_one() -> None:
    data = render_message(MESSAGE, PrinterProfile(), PrinterState())
    assert data.startswith(b"\n")
    # A line the till left unfinished is printed on its own, not joined to our title.
    document = read_back(b"TOTAL 9.99" + data, PrinterState())
    assert [line.text for line in printed(document)][:2] == ["TOTAL 9.99", "Fidélité"]


def test_no_reset_cut_or_drawer_kick_even_from_hostile_text() -> None:
    message = Message(lines=("A\x1dV\x00B\x1b@C\x1bp\x00\x19\x19D",), title="\x10\x14\x01")
    state = PrinterState()
    events, after = run(render_message(message, PrinterProfile(), state), state)
    assert_harmless(events)
    assert after == state
    texts = [line.text for line in printed(build_documents(events)[0])]
    assert texts == ["???", "A?V?B?@C?p???D"]


# --- code pages ---------------------------------------------------------------------------


def test_euro_and_accents_in_pc858() -> None:
    data = render_message(
        Message(lines=("5 € à café",)), PrinterProfile(code_page=PC858), PrinterState()
    )
    assert b"\x1bt\x13" in data and b"5 \xd5 \x85 caf\x82" in data
    assert printed(read_back(data, PrinterState()))[0].text == "5 € à café"


def test_euro_and_accents_in_wpc1252() -> None:
    data = render_message(
        Message(lines=("5 € à café",)), PrinterProfile(code_page=WPC1252), PrinterState()
    )
    assert b"\x1bt\x10" in data and b"5 \x80 \xe0 caf\xe9" in data
    assert printed(read_back(data, PrinterState()))[0].text == "5 € à café"


def test_a_character_the_code_page_lacks_becomes_a_question_mark() -> None:
    message = Message(lines=("zł → 5 €",))
    for profile in (PrinterProfile(code_page=PC858), PrinterProfile()):
        document = read_back(render_message(message, profile, PrinterState()), PrinterState())
        assert printed(document)[0].text == "z? ? 5 €"


def test_the_tills_own_code_page_is_kept_when_it_can_encode_the_message() -> None:
    state = PrinterState(code_page=WPC1252)
    data = render_message(Message(lines=("5 €",)), PrinterProfile(), state)
    events, _ = run(data, state)
    assert not [e for e in events if isinstance(e, Command) and e.name == "ESC t"]
    assert b"5 \x80\n" in data


def test_pc858_when_the_tills_page_cannot_encode_the_message() -> None:
    state = PrinterState(code_page=0)  # PC437 has no euro sign
    data = render_message(Message(lines=("5 €",)), PrinterProfile(), state)
    assert data.index(b"\x1bt\x13") < data.index(b"5 \xd5\n")
    assert data.endswith(b"\x1bt\x00")  # the till's page is put back


def test_a_page_the_printer_has_when_pc858_cannot_encode_the_message() -> None:
    state = PrinterState()
    polish = Message(lines=("Zażółć gęślą jaźń",))
    profile = PrinterProfile(code_pages=frozenset({0, 16, 18, 19, 45}))
    document = read_back(render_message(polish, profile, state), state)
    assert printed(document)[0].text == "Zażółć gęślą jaźń"
    # Without the printer's page list we keep to PC858, which every Epson has.
    document = read_back(render_message(polish, PrinterProfile(), state), state)
    assert "?" in printed(document)[0].text


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=4), till_states)
def test_any_text_prints_without_raising(lines: list[str], state: PrinterState) -> None:
    profile = PrinterProfile(columns=32)
    events, after = run(render_message(Message(lines=tuple(lines)), profile, state), state)
    assert after == state
    assert_harmless(events)
    allowed = set(unicodedata.normalize("NFC", "".join(lines))) | {"?", " "}
    for document in build_documents(events):
        for line in document.lines:
            assert len(line.text) <= profile.columns
            assert set(line.text) <= allowed


# --- wrapping -----------------------------------------------------------------------------


def test_long_lines_wrap_at_word_boundaries() -> None:
    text = "Thank you for shopping with us today you earned twelve points"
    message = Message(lines=(text,), code="CLAIM CODE AB12 CD34 EF56")
    document = read_back(
        render_message(message, PrinterProfile(columns=20), PrinterState()), PrinterState()
    )
    rows = [line for line in printed(document)]
    body = [r.text for r in rows if r.spans[0].style.width == 1]
    code = [r.text for r in rows if r.spans[0].style.width == 2]
    assert body == ["Thank you for", "shopping with us", "today you earned", "twelve points"]
    assert code == ["CLAIM CODE", "AB12 CD34", "EF56"]  # double width: 10 columns


def test_a_word_longer_than_the_line_is_cut() -> None:
    message = Message(lines=("x" * 25,))
    document = read_back(
        render_message(message, PrinterProfile(columns=10), PrinterState()), PrinterState()
    )
    assert [line.text for line in printed(document)] == ["x" * 10, "x" * 10, "x" * 5]


def test_an_empty_line_stays_a_blank_line() -> None:
    message = Message(lines=("one", "", "two"))
    document = read_back(render_message(message, PrinterProfile(), PrinterState()), PrinterState())
    texts = [line.text for line in document.lines]
    assert texts[texts.index("one") : texts.index("two") + 1] == ["one", "", "two"]


# --- QR codes -----------------------------------------------------------------------------

CLAIM = "https://loyalty.example/claim/AB12-CD34"


def test_native_qr_reads_back_as_a_qr_block() -> None:
    state = PrinterState()
    data = render_message(Message(lines=("Scan me",), qr=CLAIM), PrinterProfile(), state)
    document = read_back(data, state)
    codes = [b for b in document.blocks if isinstance(b, QRCode)]
    assert len(codes) == 1
    assert codes[0].data == CLAIM and codes[0].align is Align.CENTER
    assert not [b for b in document.blocks if isinstance(b, Image)]


def test_raster_qr_draws_the_right_symbol() -> None:
    state = PrinterState()
    profile = PrinterProfile(native_qr=False)
    data = render_message(Message(lines=("Scan me",), qr=CLAIM), profile, state)
    events, _ = run(data, state)
    assert not [e for e in events if isinstance(e, Command) and e.name == "GS ( k"]
    document = build_documents(events)[0]
    assert not document.codes
    [image] = [b for b in document.blocks if isinstance(b, Image)]
    assert image.bitmap is not None and image.width <= profile.dots
    assert sample_modules(image) == expected_modules(CLAIM)


def expected_modules(data: str) -> list[list[bool]]:
    symbol = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    symbol.add_data(data.encode("utf-8"))
    symbol.make(fit=True)
    return symbol.get_matrix()


def sample_modules(image: Image) -> list[list[bool]]:
    """The QR modules a scanner would see: the centre dot of each module cell, the cell size
    found from the black area's extent (the finder patterns make its corners black)."""
    assert image.bitmap is not None
    row_bytes = (image.width + 7) // 8

    def black(x: int, y: int) -> bool:
        return bool(image.bitmap[y * row_bytes + x // 8] & (0x80 >> (x % 8)))  # type: ignore[index]

    dots = [(x, y) for y in range(image.height) for x in range(image.width) if black(x, y)]
    left, top = min(x for x, _ in dots), min(y for _, y in dots)
    right = max(x for x, _ in dots)
    modules = len(expected_modules(CLAIM))
    cell = (right - left + 1) / modules
    return [
        [black(int(left + (c + 0.5) * cell), int(top + (r + 0.5) * cell)) for c in range(modules)]
        for r in range(modules)
    ]


def test_qr_as_text_when_the_printer_draws_no_pictures() -> None:
    profile = PrinterProfile(native_qr=False, raster=False)
    document = read_back(
        render_message(Message(lines=(), qr=CLAIM), profile, PrinterState()), PrinterState()
    )
    assert not document.codes
    assert [line.text for line in printed(document)] == [CLAIM]


def test_qr_as_text_when_the_data_is_too_long_for_the_paper() -> None:
    too_long = "x" * 1200  # version 40 at level M holds 2331 bytes, but 177 modules > 100 dots
    profile = PrinterProfile(columns=40, dots=100)
    for native in (True, False):
        data = render_message(
            Message(lines=(), qr=too_long), replace(profile, native_qr=native), PrinterState()
        )
        document = read_back(data, PrinterState())
        assert not [b for b in document.blocks if not isinstance(b, Line)]
        assert "".join(line.text for line in printed(document)) == too_long
    overflow = "x" * 3000  # more than any QR symbol holds
    document = read_back(
        render_message(Message(lines=(), qr=overflow), PrinterProfile(), PrinterState()),
        PrinterState(),
    )
    assert "".join(line.text for line in printed(document)) == overflow


def test_qr_modules_shrink_to_fit_narrow_paper() -> None:
    long_claim = CLAIM + "?" + "x" * 900
    data = render_message(
        Message(lines=(), qr=long_claim), PrinterProfile(dots=384), PrinterState()
    )
    [code] = read_back(data, PrinterState()).codes
    assert isinstance(code, QRCode) and code.data == long_claim
    modules = len(expected_modules(long_claim))
    assert code.module_size * modules <= 384 < 5 * modules  # smaller than usual, yet printed


# --- profiles from python-escpos ------------------------------------------------------------


def test_profile_from_escpos() -> None:
    profile = PrinterProfile.from_escpos("TM-T88V")
    assert (profile.columns, profile.native_qr, profile.raster, profile.dots) == (
        42,
        True,
        True,
        512,
    )
    assert profile.code_pages is not None and {PC858, WPC1252} <= profile.code_pages
    assert PrinterProfile.from_escpos("TM-T20II").columns == 48


def test_profile_without_native_qr() -> None:
    assert PrinterProfile.from_escpos("simple").native_qr is False
    narrow = PrinterProfile.from_escpos("POS-5890")
    assert (narrow.native_qr, narrow.raster, narrow.columns, narrow.dots) == (False, True, 32, 384)


def test_profile_overrides_and_vendor_numbering() -> None:
    assert PrinterProfile.from_escpos("TM-T88V", columns=48, code_page=PC858).columns == 48
    star = PrinterProfile.from_escpos("TSP600")  # Star numbers its pages: 19 is not PC858 there
    assert star.code_pages is not None and PC858 not in star.code_pages


def test_importing_python_escpos_leaves_logging_alone() -> None:
    script = (
        "import logging\n"
        "from drivers.escpos_out import Message, PrinterProfile, render_message\n"
        "from parsers.escpos.state import PrinterState\n"
        "PrinterProfile.from_escpos('TM-T88V')\n"
        "render_message(Message(lines=(), qr='x'), PrinterProfile(), PrinterState())\n"
        "print(len(logging.getLogger().handlers))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    assert result.stdout.strip() == "0"


def test_text_events_only_hold_our_text() -> None:
    data = render_message(MESSAGE, PrinterProfile(), PrinterState(kanji=True))
    events, _ = run(data, PrinterState(kanji=True))
    texts = [e.text for e in events if isinstance(e, Text)]
    assert texts == ["Fidélité", "Points earned: 12", "Balance: 340 € - merci, à bientôt", "AB12"]
