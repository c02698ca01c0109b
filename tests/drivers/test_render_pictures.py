"""Pictures as the printer prints: its paper, its character grid, Kanji in a real font, the
barcode's text where and as the printer prints it, the page's language. The receipts are
made with python-escpos's Dummy printer, as a till's driver would send them."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from escpos.printer import Dummy
from PIL import Image as PILImage

from drivers.escpos_out import PrinterProfile
from drivers.render import fonts, render_html, render_png
from drivers.render.paper import PAPER_58MM, PAPER_80MM, Paper, cells_of
from drivers.render.png import LINE_GAP, MARGIN
from drivers.render.symbologies import check_digit, full_data, hri_text
from parsers.document import Barcode, Document, Line, Span, build_documents
from parsers.escpos.events import TextStyle
from parsers.escpos.tokenizer import tokenize

FONT_B = TextStyle(font="B")
KANJI_ON = b"\x1c&\x1cC\x01"  # FS & (Kanji mode), FS C 1 (Shift JIS)
KANJI_OFF = b"\x1c."
DISHES = "醤油拉麺餃子合計"


def _open(data: bytes) -> PILImage.Image:
    image = PILImage.open(io.BytesIO(data))
    image.load()
    return image.convert("L")


def _dark(image: PILImage.Image, box: tuple[int, int, int, int]) -> int:
    return sum(image.crop(box).histogram()[:128])


def _document(p: Dummy) -> Document:
    [document] = build_documents(tokenize(p.output))
    return document


def _ink_columns(image: PILImage.Image, top: int, bottom: int) -> list[int]:
    return [x for x in range(image.width) if _dark(image, (x, top, x + 1, bottom))]


# -- the paper ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "dots", "columns"),
    [("TM-T20II", 576, 48), ("TM-T88V", 512, 42), ("ZJ-5870", 384, 32)],
)
def test_the_paper_comes_from_the_printer_profile(profile: str, dots: int, columns: int) -> None:
    paper = Paper.from_profile(PrinterProfile.from_escpos(profile))
    assert (paper.dots, paper.columns) == (dots, columns)
    assert _open(render_png(Document([Line([Span("x")])]), paper=paper)).width == dots


def test_paper_sizes_by_name_and_by_dots() -> None:
    assert Paper.parse("58mm") == PAPER_58MM == Paper(384, 32)
    assert Paper.parse("80 mm") == PAPER_80MM == Paper(576, 48)
    assert Paper.parse("576x42") == Paper(576, 42)
    assert Paper.parse("384") == Paper(384, 32)
    with pytest.raises(ValueError, match="58mm, 80mm"):
        Paper.parse("A4")


@pytest.mark.parametrize(
    ("paper", "font", "fit"),
    [(PAPER_58MM, "A", 32), (PAPER_58MM, "B", 42), (PAPER_80MM, "A", 48), (PAPER_80MM, "B", 64)],
)
def test_a_line_wraps_where_the_printer_wraps_it(paper: Paper, font: str, fit: int) -> None:
    style = TextStyle(font=font)
    one = _open(render_png(Document([Line([Span("x" * fit, style)])]), paper=paper))
    two = _open(render_png(Document([Line([Span("x" * (fit + 1), style)])]), paper=paper))
    assert two.height > one.height  # the extra character starts a second row


def test_fewer_columns_than_the_paper_holds_print_in_a_centred_area() -> None:
    # 42 columns on 576 dots (a "42-column mode"): 504 dots of print, 36 blank each side.
    image = _open(render_png(Document([Line([Span("x" * 42)])]), paper=Paper(576, 42)))
    ink = _ink_columns(image, MARGIN, MARGIN + 24)
    assert 36 <= ink[0] < 48 and 528 <= ink[-1] < 540


def test_text_lands_in_the_printers_columns_wide_characters_taking_two() -> None:
    p = Dummy(profile="TM-T20II")
    p._raw(KANJI_ON + "合計".encode("shift_jis") + b"  x\n" + KANJI_OFF)
    p._raw(b"1234  x\n")
    image = _open(render_png(_document(p), paper=PAPER_80MM))
    first, second = MARGIN, MARGIN + 24 + LINE_GAP
    # "合計" is 4 cells (48 dots) as "1234" is, two spaces 24 more: the x is in cell 6.
    for top in (first, second):
        assert _dark(image, (72, top, 84, top + 24)) > 0
        assert _dark(image, (48, top, 72, top + 24)) == 0
        assert _dark(image, (84, top, 576, top + 24)) == 0
    assert [cells_of(c) for c in "合x\u0301ｱ"] == [2, 1, 0, 1]  # half-width kana: one cell


# -- Kanji -------------------------------------------------------------------------------------


@pytest.fixture
def no_cjk_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on a machine with no CJK-capable font."""
    monkeypatch.setenv(fonts.CJK_FONT_ENV, "")
    monkeypatch.setattr(fonts, "_PACKAGED", ())
    monkeypatch.setattr(fonts, "_SYSTEM", ())
    monkeypatch.setattr(fonts, "_warned", False)
    fonts.cjk_file.cache_clear()
    fonts.cjk_font.cache_clear()
    yield
    fonts.cjk_file.cache_clear()
    fonts.cjk_font.cache_clear()


def _kanji_receipt() -> Document:
    p = Dummy(profile="TM-T20II")
    p._raw(KANJI_ON + DISHES.encode("shift_jis") + b"\n" + KANJI_OFF)
    p.text("TOTAL 1,250\n")
    p.cut()
    return _document(p)


def _kanji_cells(document: Document) -> list[bytes]:
    """Each Kanji's 24 × 24 box on the first line, as pixels."""
    image = _open(render_png(document, language="ja"))
    return [
        image.crop((24 * i, MARGIN, 24 * i + 24, MARGIN + 24)).tobytes() for i in range(len(DISHES))
    ]


def test_a_kanji_receipt_draws_every_kanji_in_a_real_font_no_tofu() -> None:
    assert fonts.cjk_file() is not None, "no CJK font: pip install -e '.[cjk]'"
    drawn = _kanji_cells(_kanji_receipt())
    assert len(set(drawn)) == len(set(DISHES))  # a different glyph for each character
    assert all(cell.count(0) > 20 for cell in drawn)  # with ink


def test_without_a_cjk_font_kanji_are_boxes_and_the_warning_comes_once(
    no_cjk_font: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="drivers.render.fonts"):
        boxes = _kanji_cells(_kanji_receipt())
        _kanji_cells(_kanji_receipt())
    assert len(set(boxes)) == 1  # every one the same missing-glyph box: tofu
    [warning] = caplog.messages
    assert "no CJK-capable font" in warning and "tillbridge[cjk]" in warning


def test_the_tofu_box_is_what_the_real_font_replaces(no_cjk_font: None) -> None:
    tofu = _kanji_cells(_kanji_receipt())[0]
    fonts.cjk_file.cache_clear()
    fonts.cjk_font.cache_clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fonts, "_PACKAGED", (("manimgx_fonts_cjk", "NotoSansCJK-VF.otf.ttc"),))
        patch.delenv(fonts.CJK_FONT_ENV)
        real = _kanji_cells(_kanji_receipt())
        fonts.cjk_file.cache_clear()
        fonts.cjk_font.cache_clear()
    assert tofu not in real


# -- barcode text (HRI) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbology", "given", "printed"),
    [
        ("EAN13", "400638133393", "4006381333931"),
        ("EAN13", "4006381333931", "4006381333931"),
        ("UPC-A", "03600029145", "036000291452"),
        ("EAN8", "9638507", "96385074"),
        ("CODE39", "ABC-1", "ABC-1"),
    ],
)
def test_the_printer_adds_the_check_digit(symbology: str, given: str, printed: str) -> None:
    assert hri_text(symbology, given) == full_data(symbology, given) == printed
    assert check_digit("400638133393") == "1"


@pytest.mark.parametrize(
    ("position", "hri"), [("OFF", "none"), ("ABOVE", "above"), ("BELOW", "below"), ("BOTH", "both")]
)
def test_gs_h_and_gs_f_say_where_and_in_which_font(position: str, hri: str) -> None:
    p = Dummy(profile="TM-T20II")
    p.barcode("400638133393", "EAN13", pos=position, font="B")
    [barcode] = _document(p).blocks
    assert isinstance(barcode, Barcode)
    assert (barcode.hri, barcode.hri_font) == (hri, "B")


def test_a_barcode_with_no_gs_h_prints_no_text_as_the_printer_does() -> None:
    p = Dummy(profile="TM-T20II")
    p._raw(b"\x1dk\x02400638133393\x00")  # GS k alone: the power-on GS H 0
    [barcode] = _document(p).blocks
    assert isinstance(barcode, Barcode) and barcode.hri == "none"


def _barcode_png(hri: str, font: str = "A") -> PILImage.Image:
    barcode = Barcode("EAN13", "400638133393", height=80, module_width=2, hri=hri, hri_font=font)
    return _open(render_png(Document([barcode])))


def _rows_with_ink(image: PILImage.Image) -> list[int]:
    return [y for y in range(image.height) if _dark(image, (0, y, image.width, y + 1))]


def test_the_barcode_text_is_where_gs_h_puts_it() -> None:
    none, above, below, both = (_barcode_png(h) for h in ("none", "above", "below", "both"))
    label = 24 + LINE_GAP
    assert above.height == below.height == none.height + label
    assert both.height == none.height + 2 * label
    bars = _rows_with_ink(none)
    assert len(bars) == 80  # bars only
    # Text above: ink in the label's band, then the bars, nothing under them; below: the
    # bars first, then the text.
    assert _dark(above, (0, MARGIN, 576, MARGIN + 24)) > 0
    assert len(_rows_with_ink(above.crop((0, MARGIN + label, 576, above.height)))) == 80
    assert _dark(below, (0, MARGIN, 576, MARGIN + 80)) > 0
    assert _dark(below, (0, MARGIN + 80, 576, below.height)) > 0


def test_the_barcode_text_is_13_digits_and_font_b_is_narrower() -> None:
    wide, narrow = _barcode_png("below", "A"), _barcode_png("below", "B")
    top = MARGIN + 80
    wide_ink = _ink_columns(wide, top, wide.height)
    narrow_ink = _ink_columns(narrow, top, narrow.height)
    # 13 characters: Font A 13 × 12 dots wide, Font B 13 × 9, centred under the bars.
    assert 12 * 12 < wide_ink[-1] - wide_ink[0] < 13 * 12
    assert 12 * 9 - 9 < narrow_ink[-1] - narrow_ink[0] < 13 * 9
    page = render_html(Document([Barcode("EAN13", "400638133393", hri="both", hri_font="B")]))
    assert page.count('<div class="hri fb">4006381333931</div>') == 2


# -- the HTML page -----------------------------------------------------------------------------


def test_the_html_page_is_in_the_tills_language_on_its_paper() -> None:
    document = _kanji_receipt()
    page = render_html(document, language="ja", paper=PAPER_58MM)
    assert page.startswith('<!DOCTYPE html>\n<html lang="ja">')
    assert "width: 56mm" in page and "width: 32ch" in page
    assert DISHES in page
    assert '<html lang="en">' in render_html(document)  # no till: English, 80 mm
    assert "width: 80mm" in render_html(document)
