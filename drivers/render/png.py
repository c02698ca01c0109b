"""A document drawn as the printer would print it: a Pillow image, one dot a pixel.

The paper (``drivers.render.paper.Paper``) comes from the printer's profile or the till's
config: 576 dots and 48 Font A columns for 80 mm, 384 and 32 for 58 mm, 512 and 42 for a
TM-T88. Each character is drawn in its cell of the printer's grid (Font A 12×24 dots, Font B
9×17; East Asian wide characters two cells), so text lands in the columns the printer puts it
in; lines wrap at the print area's edge, as on the printer. Glyphs come from
``drivers.render.fonts``: DejaVu Sans Mono, and a CJK-capable fallback for Kanji, kana and
Hangul. Barcodes are drawn bar by bar (python-barcode encodes them) with their text (HRI) as the
printer prints it: where ``GS H`` puts it, in the ``GS f`` font, with the check digit the
printer adds (EAN-13 given 12 digits prints 13). QR codes are drawn module by module (the
qrcode package), images from their bitmaps; what cannot be drawn (a symbology python-barcode
lacks, an image too large to have been kept, a logo stored in the printer) is a labelled box of
its size. Rotated text is drawn upright.

The same document always gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import lru_cache

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from drivers.render.fonts import Font, font_for
from drivers.render.paper import PAPER_80MM, Paper, cells_of
from drivers.render.symbologies import PYTHON_BARCODE_NAMES, full_data, hri_text
from parsers.document import Barcode, Block, Document, Image, Line, QRCode, Span
from parsers.escpos.events import Align, TextStyle

DEFAULT_WIDTH = PAPER_80MM.dots
MARGIN = 12  # dots of blank paper above and below
LINE_GAP = 6  # dots between lines: 30-dot line spacing for 24-dot characters
BLACK, WHITE, GREY = 0, 255, 128

Painter = Callable[[PILImage.Image, int], None]  # draws a block with its top at y


def render_png(
    document: Document,
    *,
    width: int | None = None,
    paper: Paper | None = None,
    language: str | None = None,
) -> bytes:
    """``document`` as PNG bytes; see ``render_image``."""
    buffer = io.BytesIO()
    render_image(document, width=width, paper=paper, language=language).save(buffer, format="PNG")
    return buffer.getvalue()


def render_image(
    document: Document,
    *,
    width: int | None = None,
    paper: Paper | None = None,
    language: str | None = None,
) -> PILImage.Image:
    """``document`` as a greyscale Pillow image on ``paper`` (80 mm by default; ``width``
    alone: paper that many dots wide, 12-dot columns). ``language`` (the till's) picks the
    Han glyphs' regional forms."""
    if paper is None:
        paper = Paper.of_dots(width) if width is not None else PAPER_80MM
    pen = _Pen(paper, language)
    pieces: list[tuple[int, Painter]] = []
    for block in document.blocks:
        pieces.extend(_layout(block, pen))
    if document.cut:
        pieces.append((LINE_GAP * 2 + 1, _cut_painter(paper.dots)))
    height = MARGIN * 2 + sum(h for h, _ in pieces)
    page = PILImage.new("L", (paper.dots, height), WHITE)
    y = MARGIN
    for h, paint in pieces:
        paint(page, y)
        y += h
    return page


def bitmap_image(image: Image) -> PILImage.Image | None:
    """The ``Image`` block's bitmap as a Pillow 1-bit image (black ink), or ``None``."""
    if image.bitmap is None or image.width == 0 or image.height == 0:
        return None
    # In Pillow's "1" mode a set bit is white; ours is a dot of ink, hence the inverted mode.
    return PILImage.frombytes("1", (image.width, image.height), image.bitmap, "raw", "1;I")


class _Pen:
    """The paper's grid and the fonts: where each character goes, and in what it is drawn."""

    def __init__(self, paper: Paper, language: str | None) -> None:
        self.paper = paper
        self.language = language

    def cell(self, style: TextStyle) -> tuple[int, int]:
        """One (narrow) character cell of ``style``, in dots, its size multipliers applied."""
        w, h = self.paper.cell(style.font)
        return w * style.width, h * style.height

    def text_width(self, span: Span) -> int:
        return self.cell(span.style)[0] * sum(cells_of(ch) for ch in span.text)

    def x(self, content_width: int, align: Align) -> int:
        """Left edge of content ``content_width`` dots wide, aligned in the print area."""
        return self.paper.left + _x(content_width, align, self.paper.area)

    def draw(self, page: PILImage.Image, span: Span, x: int, y: int) -> None:
        _draw_span(page, span, x, y, self)


# -- layout: each block becomes rows of (height, painter) -------------------------------------


def _layout(block: Block, pen: _Pen) -> list[tuple[int, Painter]]:
    if isinstance(block, Line):
        return [_text_row(row, block.align, pen) for row in _wrap(block, pen)]
    if isinstance(block, Barcode):
        return [_barcode(block, pen)]
    if isinstance(block, QRCode):
        return [_qr(block, pen)]
    return [_image(block, pen)]


def _wrap(line: Line, pen: _Pen) -> list[list[Span]]:
    """The line cut into rows that fit the print area, as the printer wraps them: a
    character that does not fit whole (a wide one in the last cell) starts the next row."""
    area = pen.paper.area
    rows: list[list[Span]] = [[]]
    used = 0
    for span in line.spans:
        cell_w = pen.cell(span.style)[0]
        start = 0
        for i, ch in enumerate(span.text):
            w = cell_w * cells_of(ch)
            if used + w > area and used > 0 and w > 0:
                if i > start:
                    rows[-1].append(Span(span.text[start:i], span.style))
                rows.append([])
                used, start = 0, i
            used += w
        if start < len(span.text):
            rows[-1].append(Span(span.text[start:], span.style))
    return rows


def _text_row(spans: list[Span], align: Align, pen: _Pen) -> tuple[int, Painter]:
    height = max([pen.cell(s.style)[1] for s in spans] + [pen.paper.cell("A")[1]])
    row_width = sum(pen.text_width(s) for s in spans)

    def paint(page: PILImage.Image, top: int) -> None:
        x = pen.x(row_width, align)
        for span in spans:
            h = pen.cell(span.style)[1]
            # Characters of different heights share a baseline at the bottom of the row.
            pen.draw(page, span, x, top + height - h)
            x += pen.text_width(span)

    return height + LINE_GAP, paint


def _draw_span(page: PILImage.Image, span: Span, x: int, y: int, pen: _Pen) -> None:
    style = span.style
    base_w, base_h = pen.paper.cell(style.font)
    cells = [cells_of(ch) for ch in span.text]
    mask = PILImage.new("L", (max(1, base_w * sum(cells)), base_h), 0)
    draw = ImageDraw.Draw(mask)
    bold = style.bold or style.double_strike
    at = 0  # cells drawn so far
    box_w = base_w  # width of the last character's box, for a combining mark after it
    for ch, n in zip(span.text, cells, strict=True):
        if n:
            box_w = base_w * n
            at += n
        left = (at * base_w) - box_w
        font = _glyph_font(ch, base_h, n, bold, pen.language)
        centre = (left + box_w / 2, base_h / 2)
        draw.text(centre, ch, fill=255, font=font, anchor="mm")
        if bold and not _has_bold_face(font):
            draw.text((centre[0] + 1, centre[1]), ch, fill=255, font=font, anchor="mm")
    w, h = mask.width * style.width, base_h * style.height
    if (w, h) != mask.size:
        mask = mask.resize((w, h), PILImage.Resampling.NEAREST)
    if style.upside_down:
        mask = mask.rotate(180)
    ink, paper = (WHITE, BLACK) if style.reverse else (BLACK, WHITE)
    if style.reverse:
        page.paste(paper, (x, y, x + w, y + h))
    page.paste(ink, (x, y, x + w, y + h), mask)
    if style.underline:
        thickness = style.underline * style.height
        page.paste(ink, (x, y + h - thickness, x + w, y + h))


def _glyph_font(ch: str, cell_height: int, cells: int, bold: bool, language: str | None) -> Font:
    # DejaVu Sans Mono's advance is 0.6 of its size: size 20 fills a 12-dot-wide cell. A wide
    # character's box is square (24×24 in Font A), so its font fills the height.
    mono = round(cell_height * 5 / 6)
    if cells < 2:
        return font_for(ch, mono, bold, language)
    return font_for(ch, round(cell_height * 11 / 12), bold, language)


@lru_cache(maxsize=64)  # asked for every bold character: fonts are few, and cached
def _has_bold_face(font: Font) -> bool:
    """A real bold face (or a variable font, set bold): else bold is drawn twice, 1 dot apart,
    as a printer's double strike looks."""
    if not isinstance(font, ImageFont.FreeTypeFont):
        return False
    if "bold" in (font.getname()[1] or "").lower():
        return True
    try:
        return bool(font.get_variation_axes())
    except OSError:
        return False


def _x(content_width: int, align: Align, width: int) -> int:
    if align is Align.CENTER:
        return max(0, (width - content_width) // 2)
    if align is Align.RIGHT:
        return max(0, width - content_width)
    return 0


def _barcode(barcode: Barcode, pen: _Pen) -> tuple[int, Painter]:
    bars = _bars(barcode)
    if bars is None:
        return _box(f"{barcode.symbology} {barcode.data}", 0, barcode.height, barcode.align, pen)
    module = max(1, barcode.module_width)
    bar_w = len(bars) * module
    label = Span(hri_text(barcode.symbology, barcode.data), TextStyle(font=barcode.hri_font))
    label_h = pen.cell(label.style)[1]
    above = barcode.hri in ("above", "both")
    below = barcode.hri in ("below", "both")
    total_h = barcode.height + (label_h + LINE_GAP) * (above + below)

    def paint(page: PILImage.Image, top: int) -> None:
        left = pen.x(bar_w, barcode.align)
        label_x = left + max(0, (bar_w - pen.text_width(label)) // 2)
        if above:
            pen.draw(page, label, label_x, top)
            top += label_h + LINE_GAP
        draw = ImageDraw.Draw(page)
        for i, bit in enumerate(bars):
            if bit == "1":
                x = left + i * module
                draw.rectangle((x, top, x + module - 1, top + barcode.height - 1), fill=BLACK)
        if below:
            pen.draw(page, label, label_x, top + barcode.height + LINE_GAP // 2)

    return total_h + LINE_GAP, paint


def _bars(barcode: Barcode) -> str | None:
    """The barcode's modules, "1" a bar, or ``None`` if python-barcode cannot encode it."""
    name = PYTHON_BARCODE_NAMES.get(barcode.symbology)
    if name is None:
        return None
    import barcode as python_barcode  # here: only drawing barcodes needs it

    options = {"add_checksum": False} if name == "code39" else {}
    try:
        data = full_data(barcode.symbology, barcode.data)
        code = python_barcode.get_barcode_class(name)(data, **options)
        return "".join(code.build())
    except Exception:  # python-barcode rejects data the till's printer may still take
        return None


def _qr(code: QRCode, pen: _Pen) -> tuple[int, Painter]:
    if code.kind != "QR":
        return _box(f"{code.kind}: {code.data}", 0, 0, code.align, pen)
    import qrcode  # here: only drawing QR codes needs it

    qr = qrcode.QRCode(border=0)
    qr.add_data(code.data)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    module = max(1, code.module_size)
    side = len(matrix) * module

    def paint(page: PILImage.Image, top: int) -> None:
        left = pen.x(side, code.align)
        draw = ImageDraw.Draw(page)
        for r, row in enumerate(matrix):
            for c, dark in enumerate(row):
                if dark:
                    x, y = left + c * module, top + r * module
                    draw.rectangle((x, y, x + module - 1, y + module - 1), fill=BLACK)

    return side + LINE_GAP, paint


def _image(image: Image, pen: _Pen) -> tuple[int, Painter]:
    bitmap = bitmap_image(image)
    if bitmap is None:
        label = (
            "logo stored in the printer"
            if image.width == 0
            else f"image {image.width}×{image.height}"
        )
        return _box(label, image.width, image.height, image.align, pen)

    def paint(page: PILImage.Image, top: int) -> None:
        page.paste(bitmap.convert("L"), (pen.x(bitmap.width, image.align), top))

    return image.height, paint


def _box(label: str, box_w: int, box_h: int, align: Align, pen: _Pen) -> tuple[int, Painter]:
    """A grey-edged box with ``label`` in it, standing for something we cannot draw."""
    cell_w, cell_h = pen.paper.cell("A")
    width = pen.paper.area
    text = label[: max(1, (width - 2 * cell_w) // cell_w)]
    w = min(width, max(box_w, (len(text) + 2) * cell_w))
    h = max(box_h, cell_h * 2)

    def paint(page: PILImage.Image, top: int) -> None:
        left = pen.x(w, align)
        ImageDraw.Draw(page).rectangle(
            (left, top, left + w - 1, top + h - 1), outline=GREY, width=2
        )
        span = Span(text)
        pen.draw(page, span, left + (w - pen.text_width(span)) // 2, top + (h - cell_h) // 2)

    return h + LINE_GAP, paint


def _cut_painter(width: int) -> Painter:
    def paint(page: PILImage.Image, top: int) -> None:
        draw = ImageDraw.Draw(page)
        y = top + LINE_GAP
        for x in range(0, width, 16):
            draw.line((x, y, min(x + 8, width - 1), y), fill=BLACK)

    return paint
