"""The renderers on documents holding every block type."""

from __future__ import annotations

import base64
import io
import re

import qrcode
from PIL import Image as PILImage

from drivers.render import render_html, render_png, render_text
from drivers.render.png import MARGIN
from drivers.render.text import qr_rows
from parsers.document import Barcode, Document, Image, Line, QRCode, Span
from parsers.escpos.events import Align, TextStyle

BOLD = TextStyle(bold=True)
# A 16 × 2 picture: the top row all ink, the bottom row ink at both ends only.
PICTURE = bytes([0xFF, 0xFF, 0x80, 0x01])


def every_block() -> Document:
    return Document(
        [
            Line([Span("SHOP", TextStyle(bold=True, width=2))], Align.CENTER),
            Line([Span("Bread"), Span("   "), Span("1,20")]),
            Line(),
            Line([Span("TOTAL", BOLD), Span(" 2,19")], Align.RIGHT),
            Barcode("EAN13", "4006381333931", Align.CENTER, hri="below"),
            Barcode("UPC-E", "0123456"),
            QRCode("https://x.test/r/1", "QR", 4, Align.CENTER),
            QRCode("data", "PDF417"),
            Image(96, 48, bytes(12 * 48), Align.CENTER),
            Image(16, 2, PICTURE),
            Image(0, 0),
        ],
        cut=True,
    )


# -- text ----------------------------------------------------------------------------------

GOLDEN_TEXT = """\
                S H O P
Bread   1,20

                              TOTAL 2,19
      ||| EAN13 4006381333931 |||
||| UPC-E 0123456 |||
        [QR: https://x.test/r/1]
[PDF417: data]
            +-------------+
            | image 96×48 |
            |             |
            +-------------+
+------------+
| image 16×2 |
+------------+
+----------------------------+
| logo stored in the printer |
+----------------------------+
------------------ ✂ -------------------
"""


def test_text_golden_with_every_block_type() -> None:
    assert render_text(every_block(), columns=40, compact=True) == GOLDEN_TEXT


def test_text_default_is_48_columns_and_separates_documents_with_the_cut() -> None:
    first = Document([Line([Span("a")], Align.RIGHT)], cut=True)
    second = Document([Line([Span("b")])], cut=False)
    out = render_text([first, second])
    assert out == " " * 47 + "a\n" + "-" * 22 + " ✂ " + "-" * 23 + "\nb\n"


def test_text_ansi_only_when_asked() -> None:
    doc = Document([Line([Span("TOTAL", BOLD), Span(" 2,19"), Span("!", TextStyle(reverse=True))])])
    assert render_text(doc) == "TOTAL 2,19!\n"
    assert render_text(doc, ansi=True) == "\x1b[1mTOTAL\x1b[0m 2,19\x1b[7m!\x1b[0m\n"


def test_text_draws_the_qr_matrix_with_half_blocks() -> None:
    rows = qr_rows("https://x.test/r/1")
    qr = qrcode.QRCode(border=1)
    qr.add_data("https://x.test/r/1")
    qr.make(fit=True)
    matrix = qr.get_matrix()
    top = {"█": True, "▀": True, "▄": False, " ": False}
    bottom = {"█": True, "▄": True, "▀": False, " ": False}
    redrawn = []
    for row in rows:
        redrawn += [[top[c] for c in row], [bottom[c] for c in row]]
    assert redrawn[: len(matrix)] == matrix
    drawn = render_text(Document([QRCode("https://x.test/r/1")]))
    assert drawn.splitlines() == rows


# -- html ----------------------------------------------------------------------------------


def _data_urls(page: str, mime: str) -> list[bytes]:
    pattern = rf'src="data:{re.escape(mime)};base64,([A-Za-z0-9+/=]+)"'
    return [base64.b64decode(m) for m in re.findall(pattern, page)]


def test_html_is_one_page_with_styled_lines_and_a_cut() -> None:
    page = render_html([every_block(), Document([Line([Span("<b>&")])])])
    assert page.startswith("<!DOCTYPE html>")
    assert page.count('<section class="paper">') == 2
    assert '<div class="line center"><span class="b wide" style=' in page
    assert "&lt;b&gt;&amp;" in page
    assert page.count('class="cut"') == 1  # the second document was not cut
    assert '<span class="box">UPC-E 0123456</span>' in page
    assert '<span class="box">PDF417: data</span>' in page
    assert '<span class="box">logo stored in the printer</span>' in page


def test_html_draws_codes_as_svg_and_images_as_png() -> None:
    page = render_html(every_block())
    svgs = _data_urls(page, "image/svg+xml")
    assert len(svgs) == 2  # the EAN13 barcode and the QR code
    assert all(b"<svg" in svg for svg in svgs)
    # The human-readable digits, under the bars as the printer prints them (one string).
    assert '"><div class="hri">4006381333931</div></div>' in page
    pngs = [PILImage.open(io.BytesIO(png)) for png in _data_urls(page, "image/png")]
    assert [p.size for p in pngs] == [(96, 48), (16, 2)]
    picture = pngs[1].convert("L")
    assert [picture.getpixel((x, 1)) for x in (0, 1, 15)] == [0, 255, 0]


# -- png -----------------------------------------------------------------------------------


def _open(data: bytes) -> PILImage.Image:
    image = PILImage.open(io.BytesIO(data))
    image.load()
    return image.convert("L")


def _dark(image: PILImage.Image, box: tuple[int, int, int, int]) -> int:
    return sum(image.crop(box).histogram()[:128])


def test_png_is_printer_width_with_ink_where_the_text_is() -> None:
    doc = Document([Line([Span("WWWW")]), Line([Span("MMMM")], Align.RIGHT)])
    image = _open(render_png(doc))
    assert image.width == 576
    first, second = MARGIN, MARGIN + 30
    assert _dark(image, (0, first, 48, first + 24)) > 40  # four Font A cells of 12 dots
    assert _dark(image, (48, first, 576, first + 24)) == 0
    assert _dark(image, (528, second, 576, second + 24)) > 40
    assert _dark(image, (0, second, 528, second + 24)) == 0
    assert _open(render_png(doc, width=384)).width == 384


def test_png_long_lines_wrap_at_the_paper_edge() -> None:
    short = _open(render_png(Document([Line([Span("x" * 48)])])))
    long = _open(render_png(Document([Line([Span("x" * 49)])])))
    assert long.height == short.height + 30
    assert _dark(long, (0, MARGIN + 30, 12, MARGIN + 54)) > 0


def test_png_reverse_text_is_a_black_band() -> None:
    image = _open(render_png(Document([Line([Span("  ", TextStyle(reverse=True))])])))
    assert _dark(image, (0, MARGIN, 24, MARGIN + 24)) == 24 * 24


def test_png_draws_every_block_type_and_is_deterministic() -> None:
    doc = every_block()
    data = render_png(doc)
    assert data == render_png(every_block())
    image = _open(data)
    assert image.width == 576
    assert image.height > 162 + 4 * 25 + 48  # barcode, QR and image all take room
    # The 16 × 2 picture, left-aligned, is pasted dot for dot somewhere on the page.
    rows = [
        y
        for y in range(image.height - 1)
        if all(image.getpixel((x, y)) == 0 for x in range(16))
        and [image.getpixel((x, y + 1)) for x in (0, 1, 14, 15)] == [0, 255, 255, 0]
    ]
    assert rows


def test_png_qr_modules_are_module_size_dots() -> None:
    doc = Document([QRCode("hi", "QR", 6)])
    image = _open(render_png(doc))
    # The finder pattern's top-left corner: a 7-module dark square edge from the origin.
    assert _dark(image, (0, MARGIN, 6 * 7, MARGIN + 6)) == 6 * 7 * 6
    assert image.getpixel((6 * 7, MARGIN)) == 255
