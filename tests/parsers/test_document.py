"""DocumentBuilder: tokenizer events to documents, one block type at a time."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage
from PIL import ImageDraw

from parsers.document import (
    Barcode,
    Document,
    DocumentBuilder,
    Image,
    Line,
    QRCode,
    Span,
    build_documents,
)
from parsers.escpos.events import (
    PAYLOAD_PIECE,
    Align,
    Command,
    Control,
    Cut,
    DrawerKick,
    Event,
    Payload,
    Reset,
    Text,
    TextStyle,
    Unknown,
)
from parsers.escpos.tokenizer import Tokenizer, tokenize

BOLD = TextStyle(bold=True)
LF = Control(b"\n", "LF")


PLAIN = TextStyle()


def text(s: str, style: TextStyle = PLAIN, align: Align = Align.LEFT) -> Text:
    return Text(s.encode("latin-1"), s, style, align)


def cmd(name: str, *args: int) -> Command:
    return Command(b"", name, args)


def cut() -> Cut:
    return Cut(b"\x1dV\x00", "GS V", (0,))


def with_payload(name: str, args: tuple[int, ...], data: bytes) -> list[Event]:
    """A payload command as the tokenizer sends it: header, then pieces of the payload."""
    events: list[Event] = [Command(b"", name, args, len(data))]
    for offset in range(0, len(data), PAYLOAD_PIECE):
        events.append(Payload(data[offset : offset + PAYLOAD_PIECE], name, offset))
    return events


def gs_k_short(m: int, data: bytes) -> list[Event]:
    return with_payload("GS k", (m,), data + b"\0")


def gs_k_long(m: int, data: bytes) -> list[Event]:
    return with_payload("GS k", (m, len(data)), data)


def gs_paren_k(payload: bytes) -> list[Event]:
    return with_payload("GS ( k", (len(payload) % 256, len(payload) // 256), payload)


def qr_events(data: bytes, module: int = 4, cn: int = 49) -> list[Event]:
    return [
        *gs_paren_k(bytes([cn, 67, module])),
        *gs_paren_k(bytes([cn, 80, 48]) + data),
        *gs_paren_k(bytes([cn, 81, 48])),
    ]


def raster(m: int, width_bytes: int, height: int, data: bytes) -> list[Event]:
    args = (m, width_bytes % 256, width_bytes // 256, height % 256, height // 256)
    return with_payload("GS v 0", args, data)


def only(documents: list[Document]) -> Document:
    assert len(documents) == 1, documents
    return documents[0]


# -- lines ---------------------------------------------------------------------------------


def test_text_runs_join_into_styled_lines() -> None:
    doc = only(build_documents([text("Total "), text("9,99", BOLD), LF, LF, text("bye"), LF]))
    assert doc.blocks == [
        Line([Span("Total "), Span("9,99", BOLD)]),
        Line([]),
        Line([Span("bye")]),
    ]
    assert doc.text() == "Total 9,99\n\nbye\n"
    assert doc.cut is False


def test_cr_is_ignored_and_crlf_is_one_line() -> None:
    doc = only(build_documents([text("a"), Control(b"\r", "CR"), LF, text("b"), LF]))
    assert doc.text() == "a\nb\n"


def test_line_alignment_is_the_first_texts() -> None:
    events = [
        text("left", align=Align.CENTER),
        text(" more", align=Align.RIGHT),  # ESC a mid-line: the printer ignores it
        LF,
        text("right", align=Align.RIGHT),
        LF,
    ]
    doc = only(build_documents(events))
    assert [line.align for line in doc.lines] == [Align.CENTER, Align.RIGHT]


def test_tab_moves_to_the_next_default_stop_every_eight_columns() -> None:
    ht = Control(b"\t", "HT")
    doc = only(build_documents([text("ab"), ht, text("c"), ht, ht, text("d"), LF]))
    assert doc.text() == "ab      c               d\n"


def test_tab_counts_double_width_characters_as_two_columns() -> None:
    wide = TextStyle(width=2)
    events = [text("abc", wide), Control(b"\t", "HT"), text("x"), LF]
    assert only(build_documents(events)).text() == "abc  x\n"


def test_esc_d_sets_tab_stops_and_past_the_last_one_ht_is_ignored() -> None:
    ht = Control(b"\t", "HT")
    events = [cmd("ESC D", 4, 10, 0), ht, text("a"), ht, text("b"), ht, text("c"), LF]
    assert only(build_documents(events)).text() == "    a     bc\n"


def test_feeds_add_blank_lines_as_printed() -> None:
    events = [
        text("a"),
        cmd("ESC d", 3),  # prints "a", then two more lines
        text("b"),
        Control(b"\x0c", "FF"),
        cmd("ESC J", 60),  # two lines of the default 30 units
        cmd("ESC 3", 20),
        text("c"),
        cmd("ESC J", 20),  # one line at the new spacing: just prints "c"
        text("d"),
        cmd("ESC J", 2),  # less than a line still prints "d"
        text("e"),
        cmd("ESC d", 0),
    ]
    assert only(build_documents(events)).text() == "a\n\n\nb\n\n\nc\nd\ne\n"


# -- documents -----------------------------------------------------------------------------


def test_cut_ends_a_document_and_a_trailing_drawer_kick_is_dropped() -> None:
    events = [text("one"), LF, cut(), text("two"), LF, cut(), DrawerKick(b"", "ESC p"), LF]
    docs = build_documents(events)
    assert [d.text() for d in docs] == ["one\n", "two\n"]
    assert all(d.cut for d in docs)


def test_trailing_document_without_a_cut_is_kept_with_its_unfinished_line() -> None:
    docs = build_documents([text("one"), LF, cut(), text("two"), LF, text("three")])
    assert [(d.text(), d.cut) for d in docs] == [("one\n", True), ("two\nthree\n", False)]


def test_feed_returns_documents_as_cuts_complete_them() -> None:
    builder = DocumentBuilder()
    assert builder.feed([text("a"), LF]) == []
    first = builder.feed([cut(), text("b")])
    assert [d.text() for d in first] == ["a\n"]
    assert [d.text() for d in builder.close()] == ["b\n"]
    assert builder.close() == []


def test_blank_documents_are_dropped_even_at_a_cut() -> None:
    docs = build_documents([cmd("ESC d", 6), cut(), cut(), text("x"), LF, cut()])
    assert [d.text() for d in docs] == ["x\n"]


def test_reset_mid_stream_resets_settings_but_does_not_end_the_receipt() -> None:
    events = [
        cmd("ESC a", 1),
        text("kept", align=Align.CENTER),
        LF,
        text("never printed"),  # ESC @ clears the print buffer
        Reset(b"\x1b@", "ESC @"),
        *gs_k_long(73, b"{B12"),  # alignment is back to left
        text("after"),
        LF,
        cut(),
    ]
    doc = only(build_documents(events))
    assert doc.text() == "kept\nafter\n"
    assert doc.codes == [Barcode("CODE128", "12", Align.LEFT)]


def test_reset_ends_the_document_when_the_till_is_configured_so() -> None:
    events = [Reset(b"", "ESC @"), text("a"), LF, Reset(b"", "ESC @"), text("b"), LF]
    docs = build_documents(events, reset_ends_document=True)
    assert [(d.text(), d.cut) for d in docs] == [("a\n", False), ("b\n", False)]
    assert len(build_documents(events)) == 1


def test_unknown_bytes_and_status_requests_print_nothing() -> None:
    events = [Unknown(b"\x1b\xff", "unknown"), cmd("DLE EOT", 1), text("a"), LF]
    assert only(build_documents(events)).text() == "a\n"


# -- barcodes ------------------------------------------------------------------------------


def test_barcode_both_forms_with_height_width_and_alignment() -> None:
    events = [
        text("before"),  # a barcode prints the unfinished line first
        cmd("ESC a", 1),
        cmd("GS h", 80),
        cmd("GS w", 2),
        *gs_k_short(2, b"4006381333931"),
        cmd("ESC a", 0),
        *gs_k_long(67, b"4006381333931"),
        *gs_k_short(4, b"ABC-1"),
        *gs_k_long(72, b"XYZ"),
    ]
    doc = only(build_documents(events))
    assert doc.blocks == [
        Line([Span("before")]),
        Barcode("EAN13", "4006381333931", Align.CENTER, 80, 2),
        Barcode("EAN13", "4006381333931", Align.LEFT, 80, 2),
        Barcode("CODE39", "ABC-1", Align.LEFT, 80, 2),
        Barcode("CODE93", "XYZ", Align.LEFT, 80, 2),
    ]


def test_every_symbology_number_has_its_name() -> None:
    names = ["UPC-A", "UPC-E", "EAN13", "EAN8", "CODE39", "ITF", "CODABAR"]
    events = [e for m in range(7) for e in gs_k_short(m, b"1")]
    events += [e for m in range(65, 74) for e in gs_k_long(m, b"1")]
    got = [c.symbology for c in only(build_documents(events)).codes]
    assert got == names + names + ["CODE93", "CODE128"]


def test_code128_human_data_drops_the_code_set_prefixes() -> None:
    events = [
        *gs_k_long(73, b"{BABC123"),
        *gs_k_long(73, b"{Bx{{y"),
        *gs_k_long(73, b"{A12{C" + bytes([34, 5, 99])),
    ]
    got = [c.data for c in only(build_documents(events)).codes]
    assert got == ["ABC123", "x{y", "12340599"]


# -- 2D codes ------------------------------------------------------------------------------


def test_qr_code_is_emitted_when_printed_with_its_module_size() -> None:
    doc = only(build_documents([cmd("ESC a", 2), *qr_events("pts: 120 €".encode(), 6)]))
    assert doc.blocks == [QRCode("pts: 120 €", "QR", 6, Align.RIGHT)]


def test_2d_data_falls_back_to_latin_1_and_other_kinds_are_named() -> None:
    doc = only(build_documents([*qr_events(b"caf\xe9", 2, cn=48), *qr_events(b"x", cn=54)]))
    assert doc.codes == [QRCode("café", "PDF417", 2), QRCode("x", "DataMatrix", 4)]


def test_2d_print_without_stored_data_prints_nothing() -> None:
    assert build_documents(gs_paren_k(bytes([49, 81, 48]))) == []


# -- images --------------------------------------------------------------------------------


def test_raster_image_keeps_its_bitmap_and_scales_with_m() -> None:
    data = bytes([0b1000_0001, 0xFF, 0x00, 0x0F])  # 16 × 2 dots
    plain = only(build_documents(raster(0, 2, 2, data))).blocks[0]
    assert plain == Image(16, 2, data)
    big = only(build_documents(raster(3, 2, 2, data))).blocks[0]
    assert isinstance(big, Image)
    assert (big.width, big.height) == (32, 4)
    assert big.bitmap == bytes([0xC0, 0x03, 0xFF, 0xFF] * 2 + [0, 0, 0, 0xFF] * 2)


def test_raster_strips_of_one_picture_join_into_one_image() -> None:
    events = [*raster(0, 1, 2, b"\x01\x02"), *raster(0, 1, 1, b"\x03"), *raster(0, 2, 1, b"ab")]
    doc = only(build_documents(events))
    assert doc.blocks == [Image(8, 3, b"\x01\x02\x03"), Image(16, 1, b"ab")]


def test_many_strips_join_into_one_picture_and_past_the_bound_keep_only_its_size() -> None:
    rows = [bytes((n % 256,)) for n in range(3000)]
    events = [e for row in rows for e in raster(0, 1, 1, row)]
    doc = only(build_documents([*events, text("after"), LF]))
    assert doc.blocks[0] == Image(8, 3000, b"".join(rows))
    builder = DocumentBuilder(max_bitmap_bytes=2000)
    (big,) = builder.feed([*events, cut()])
    assert big.blocks == [Image(8, 3000, None)]


def test_a_long_line_of_tabs_and_blanks_keeps_its_columns_and_alignment() -> None:
    ht = Control(b"\t", "HT")
    events = [e for _ in range(2000) for e in (text(" "), cmd("ESC E", 1))]
    events += [text("x", align=Align.RIGHT), *[e for _ in range(40) for e in (ht, text("y"))]]
    (line,) = only(build_documents([*events, LF])).lines
    assert line.align is Align.RIGHT  # the first text that is not blank decides
    assert line.text == " " * 2000 + "x" + "y" * 40  # past the last stop (248) HT is ignored
    wide = [text("ab"), *[e for _ in range(30) for e in (ht, text("c"))], LF]
    assert only(build_documents(wide)).text() == "ab" + " " * 6 + "c" + (" " * 7 + "c") * 29 + "\n"


def test_large_image_keeps_only_its_size() -> None:
    builder = DocumentBuilder(max_bitmap_bytes=100)
    events = raster(0, 20, 10, bytes(200))  # 200 bytes of bitmap
    doc = only(builder.feed([*events, cut()]))
    assert doc.blocks == [Image(160, 10, None)]


def test_large_stored_graphics_keep_their_size_from_the_header() -> None:
    header = bytes([48, 112, 48, 1, 1, 49, 0x40, 0x02, 0x00, 0x01])  # 576 × 256 dots
    store = header + bytes(72 * 256)
    builder = DocumentBuilder(max_bitmap_bytes=1000)
    events = [
        *with_payload("GS 8 L", (len(store) % 256, len(store) // 256, 0, 0), store),
        *with_payload("GS 8 L", (2, 0, 0, 0), b"02"),
    ]
    assert only(builder.feed(events) + builder.close()).blocks == [Image(576, 256, None)]


def test_payload_pieces_are_reassembled_across_a_multi_piece_image() -> None:
    data = bytes(range(256)) * 40  # 10240 bytes: three payload pieces
    doc = only(build_documents(raster(0, 64, 160, data)))
    assert doc.blocks == [Image(512, 160, data)]


def test_bit_image_columns_become_rows_and_bands_join() -> None:
    # ESC * m=33: 24-dot double density; 2 columns of 3 bytes each, MSB on top.
    band = bytes([0x80, 0x00, 0x01, 0xFF, 0x00, 0x00])
    events = [
        cmd("ESC 3", 24),
        *with_payload("ESC *", (33, 2, 0), band),
        LF,
        *with_payload("ESC *", (33, 2, 0), band),
        LF,
        cmd("ESC 2"),
        text("after"),
        LF,
    ]
    doc = only(build_documents(events))
    image, line = doc.blocks
    assert line == Line([Span("after")])
    assert isinstance(image, Image)
    assert (image.width, image.height) == (2, 48)
    rows = [image.bitmap[i] for i in range(48)] if image.bitmap else []
    one_band = [0xC0] + [0x40] * 7 + [0x00] * 15 + [0x80]
    assert rows == one_band * 2


def test_bit_image_single_density_8_dot_is_stretched() -> None:
    doc = only(build_documents([*with_payload("ESC *", (0, 1, 0), b"\x80"), LF]))
    assert doc.blocks == [Image(2, 24, bytes([0xC0] * 3 + [0] * 21))]


def test_stored_graphics_print_with_function_50() -> None:
    header = bytes([48, 112, 48, 1, 1, 49, 12, 0, 2, 0])  # 12 × 2 dots
    store = header + b"\xff\xf0\x0f\xf0"
    events = [
        *with_payload("GS ( L", (len(store), 0), store),
        *with_payload("GS ( L", (2, 0), b"02"),
        *with_payload("GS 8 L", (len(store), 0, 0, 0), store),
        *with_payload("GS 8 L", (2, 0, 0, 0), b"02"),
    ]
    doc = only(build_documents(events))
    assert doc.blocks == [Image(12, 2, b"\xff\xf0\x0f\xf0")] * 2


def test_nv_logo_is_a_placeholder_image() -> None:
    doc = only(build_documents([cmd("FS p", 1, 0), text("x"), LF]))
    assert doc.blocks[0] == Image(0, 0, None)


def test_an_unfinished_payload_is_abandoned() -> None:
    events = [*raster(0, 1, 2, b"\x01\x02")[:1], text("a"), LF]
    assert only(build_documents(events)).blocks == [Line([Span("a")])]


# -- chunk independence ----------------------------------------------------------------------


def _stream() -> list[Event]:
    return [
        cmd("ESC a", 1),
        text("SHOP", BOLD, Align.CENTER),
        LF,
        *raster(0, 2, 2, b"\x01\x02\x03\x04"),
        *raster(0, 2, 1, b"\x05\x06"),
        text("a"),
        Control(b"\t", "HT"),
        text("1,00"),
        LF,
        *gs_k_short(2, b"4006381333931"),
        *qr_events(b"https://example.test/r/1"),
        *with_payload("ESC *", (33, 1, 0), b"\x80\x00\x01"),
        LF,
        cmd("ESC d", 3),
        cut(),
        DrawerKick(b"", "ESC p"),
        text("second"),
        LF,
        Reset(b"", "ESC @"),
        text("third"),
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(_stream())), max_size=8))
def test_documents_do_not_depend_on_how_events_are_batched(cuts: list[int]) -> None:
    events = _stream()
    whole = build_documents(events)
    builder = DocumentBuilder()
    docs: list[Document] = []
    bounds = [0, *sorted(cuts), len(events)]
    for start, end in itertools.pairwise(bounds):
        docs += builder.feed(events[start:end])
    docs += builder.close()
    assert docs == whole
    assert [d.cut for d in whole] == [True, False]


# -- from real bytes: python-escpos plays the till, the tokenizer reads them -------------------


def _till_bytes() -> bytes:
    from escpos.printer import Dummy

    p = Dummy(profile="TM-T88V")
    p.set(align="center", bold=True, double_width=True, double_height=True)
    p.text("SHOP\n")
    p.set(align="left", normal_textsize=True, bold=False)
    p.text("Bread\t1,20\n")
    p.set(underline=1)
    p.text("TOTAL 2,19\n")
    p.set(underline=0)
    p.qr("https://x.test/r/1", native=True, size=5)
    p.barcode("4006381333931", "EAN13")
    p.barcode("{BABC123", "CODE128", function_type="B")
    logo = PILImage.new("1", (64, 40), 1)
    ImageDraw.Draw(logo).rectangle((8, 8, 40, 30), fill=0)
    p.image(logo)
    p.image(logo, impl="bitImageColumn")
    p.image(logo, impl="graphics")
    p.cut()
    p.cashdraw(2)
    p.text("next\n")
    p.cut()
    return bytes(p.output)


def _logo_rows(image: Image) -> set[int]:
    """The rows of the logo's bitmap that hold ink."""
    assert image.bitmap is not None
    row = (image.width + 7) // 8
    return {y for y in range(image.height) if any(image.bitmap[y * row : (y + 1) * row])}


def test_documents_from_python_escpos_bytes() -> None:
    first, second = build_documents(tokenize(_till_bytes()))
    assert (first.cut, second.cut) == (True, True)
    assert first.text().startswith("SHOP\nBread   1,20\nTOTAL 2,19\n")
    assert second.text().strip() == "next"
    shop, _bread, total = first.lines[:3]
    assert (shop.align, shop.spans[0].style.width, shop.spans[0].style.bold) == (
        Align.CENTER,
        2,
        True,
    )
    assert total.spans[0].style.underline == 1
    assert first.codes == [
        QRCode("https://x.test/r/1", "QR", 5, Align.LEFT),
        Barcode("EAN13", "4006381333931", Align.CENTER, 64, 3, hri="below"),  # GS H 2
        Barcode("CODE128", "ABC123", Align.CENTER, 64, 3, hri="below"),
    ]
    raster, columns, graphics = (b for b in first.blocks if isinstance(b, Image))
    assert (raster.width, raster.height) == (64, 40)
    assert (columns.width, columns.height) == (64, 48)  # two 24-dot bands
    assert (graphics.width, graphics.height) == (64, 40)
    # The same picture, whichever command printed it: ink on rows 8 to 30.
    assert _logo_rows(raster) == _logo_rows(columns) == _logo_rows(graphics) == set(range(8, 31))
    assert raster.bitmap == graphics.bitmap


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=4000), max_size=12))
def test_documents_do_not_depend_on_how_bytes_are_chunked(cuts: list[int]) -> None:
    data = _till_bytes()
    whole = build_documents(tokenize(data))
    tokenizer, builder = Tokenizer(), DocumentBuilder()
    docs: list[Document] = []
    bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    for start, end in itertools.pairwise(bounds):
        docs += builder.feed(tokenizer.feed(data[start:end]))
    docs += builder.feed(tokenizer.close())
    docs += builder.close()
    assert docs == whole
