"""A document drawn as the printer would print it: a Pillow image, one dot a pixel.

The paper is ``width`` dots wide (576: 80 mm at 203 dpi). Font A is a 12×24-dot cell, Font B
9×17, drawn with DejaVu Sans Mono when it is installed, else Pillow's own font. Lines wrap at
the paper's edge, as on the printer. Barcodes are drawn bar by bar (python-barcode encodes
them), QR codes module by module (the qrcode package), images from their bitmaps; what cannot
be drawn (a symbology python-barcode lacks, an image too large to have been kept, a logo
stored in the printer) is a labelled box of its size. Rotated text is drawn upright.

The same document always gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from drivers.render.symbologies import PYTHON_BARCODE_NAMES
from parsers.document import Barcode, Block, Document, Image, Line, QRCode, Span
from parsers.escpos.events import Align, TextStyle

DEFAULT_WIDTH = 576
MARGIN = 12  # dots of blank paper above and below
LINE_GAP = 6  # dots between lines: 30-dot line spacing for 24-dot characters
BLACK, WHITE, GREY = 0, 255, 128

_CELLS = {"A": (12, 24), "B": (9, 17), "C": (9, 17)}
_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))


Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Painter = Callable[[PILImage.Image, int], None]  # draws a block with its top at y


def render_png(document: Document, *, width: int = DEFAULT_WIDTH) -> bytes:
    """``document`` as PNG bytes."""
    buffer = io.BytesIO()
    render_image(document, width=width).save(buffer, format="PNG")
    return buffer.getvalue()


def render_image(document: Document, *, width: int = DEFAULT_WIDTH) -> PILImage.Image:
    """``document`` as a greyscale Pillow image ``width`` dots wide."""
    pieces: list[tuple[int, Painter]] = []
    for block in document.blocks:
        pieces.extend(_layout(block, width))
    if document.cut:
        pieces.append((LINE_GAP * 2 + 1, _cut_painter(width)))
    height = MARGIN * 2 + sum(h for h, _ in pieces)
    page = PILImage.new("L", (width, height), WHITE)
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


# -- layout: each block becomes rows of (height, painter) -------------------------------------


def _layout(block: Block, width: int) -> list[tuple[int, Painter]]:
    if isinstance(block, Line):
        return [_text_row(row, block.align, width) for row in _wrap(block, width)]
    if isinstance(block, Barcode):
        return [_barcode(block, width)]
    if isinstance(block, QRCode):
        return [_qr(block, width)]
    return [_image(block, width)]


def _cell(style: TextStyle) -> tuple[int, int]:
    w, h = _CELLS.get(style.font, _CELLS["A"])
    return w * style.width, h * style.height


def _wrap(line: Line, width: int) -> list[list[Span]]:
    """The line cut into rows that fit the paper, as the printer wraps them."""
    rows: list[list[Span]] = [[]]
    used = 0
    for span in line.spans:
        cell_w = _cell(span.style)[0]
        start = 0
        for i in range(len(span.text)):
            if used + cell_w > width and used > 0:
                if i > start:
                    rows[-1].append(Span(span.text[start:i], span.style))
                rows.append([])
                used, start = 0, i
            used += cell_w
        if start < len(span.text):
            rows[-1].append(Span(span.text[start:], span.style))
    return rows


def _text_row(spans: list[Span], align: Align, width: int) -> tuple[int, Painter]:
    height = max([_cell(s.style)[1] for s in spans] + [_CELLS["A"][1]])
    row_width = sum(_cell(s.style)[0] * len(s.text) for s in spans)

    def paint(page: PILImage.Image, top: int) -> None:
        x = _x(row_width, align, width)
        for span in spans:
            w, h = _cell(span.style)
            # Characters of different heights share a baseline at the bottom of the row.
            _draw_span(page, span, x, top + height - h)
            x += w * len(span.text)

    return height + LINE_GAP, paint


def _draw_span(page: PILImage.Image, span: Span, x: int, y: int) -> None:
    style = span.style
    base_w, base_h = _CELLS.get(style.font, _CELLS["A"])
    mask = PILImage.new("L", (base_w * len(span.text), base_h), 0)
    draw = ImageDraw.Draw(mask)
    font = _font(base_h, bold=style.bold or style.double_strike)
    for i, ch in enumerate(span.text):
        draw.text((i * base_w + base_w / 2, base_h / 2), ch, fill=255, font=font, anchor="mm")
        if (style.bold or style.double_strike) and not _has_bold_face():
            draw.text(
                (i * base_w + base_w / 2 + 1, base_h / 2), ch, fill=255, font=font, anchor="mm"
            )
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


def _x(content_width: int, align: Align, width: int) -> int:
    if align is Align.CENTER:
        return max(0, (width - content_width) // 2)
    if align is Align.RIGHT:
        return max(0, width - content_width)
    return 0


def _barcode(barcode: Barcode, width: int) -> tuple[int, Painter]:
    bars = _bars(barcode)
    label_h = _CELLS["A"][1]
    if bars is None:
        return _box(f"{barcode.symbology} {barcode.data}", 0, barcode.height, barcode.align, width)
    module = max(1, barcode.module_width)
    bar_w = len(bars) * module
    total_h = barcode.height + label_h + LINE_GAP

    def paint(page: PILImage.Image, top: int) -> None:
        left = _x(bar_w, barcode.align, width)
        draw = ImageDraw.Draw(page)
        for i, bit in enumerate(bars):
            if bit == "1":
                x = left + i * module
                draw.rectangle((x, top, x + module - 1, top + barcode.height - 1), fill=BLACK)
        label = Span(barcode.data)
        label_w = _CELLS["A"][0] * len(barcode.data)
        _draw_span(page, label, left + max(0, (bar_w - label_w) // 2), top + barcode.height)

    return total_h + LINE_GAP, paint


def _bars(barcode: Barcode) -> str | None:
    """The barcode's modules, "1" a bar, or ``None`` if python-barcode cannot encode it."""
    name = PYTHON_BARCODE_NAMES.get(barcode.symbology)
    if name is None:
        return None
    import barcode as python_barcode  # here: only drawing barcodes needs it

    options = {"add_checksum": False} if name == "code39" else {}
    try:
        code = python_barcode.get_barcode_class(name)(barcode.data, **options)
        return "".join(code.build())
    except Exception:  # python-barcode rejects data the till's printer may still take
        return None


def _qr(code: QRCode, width: int) -> tuple[int, Painter]:
    if code.kind != "QR":
        return _box(f"{code.kind}: {code.data}", 0, 0, code.align, width)
    import qrcode  # here: only drawing QR codes needs it

    qr = qrcode.QRCode(border=0)
    qr.add_data(code.data)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    module = max(1, code.module_size)
    side = len(matrix) * module

    def paint(page: PILImage.Image, top: int) -> None:
        left = _x(side, code.align, width)
        draw = ImageDraw.Draw(page)
        for r, row in enumerate(matrix):
            for c, dark in enumerate(row):
                if dark:
                    x, y = left + c * module, top + r * module
                    draw.rectangle((x, y, x + module - 1, y + module - 1), fill=BLACK)

    return side + LINE_GAP, paint


def _image(image: Image, width: int) -> tuple[int, Painter]:
    bitmap = bitmap_image(image)
    if bitmap is None:
        label = (
            "logo stored in the printer"
            if image.width == 0
            else f"image {image.width}×{image.height}"
        )
        return _box(label, image.width, image.height, image.align, width)

    def paint(page: PILImage.Image, top: int) -> None:
        page.paste(bitmap.convert("L"), (_x(bitmap.width, image.align, width), top))

    return image.height, paint


def _box(label: str, box_w: int, box_h: int, align: Align, width: int) -> tuple[int, Painter]:
    """A grey-edged box with ``label`` in it, standing for something we cannot draw."""
    cell_w, cell_h = _CELLS["A"]
    text = label[: max(1, (width - 2 * cell_w) // cell_w)]
    w = min(width, max(box_w, (len(text) + 2) * cell_w))
    h = max(box_h, cell_h * 2)

    def paint(page: PILImage.Image, top: int) -> None:
        left = _x(w, align, width)
        ImageDraw.Draw(page).rectangle(
            (left, top, left + w - 1, top + h - 1), outline=GREY, width=2
        )
        _draw_span(page, Span(text), left + (w - cell_w * len(text)) // 2, top + (h - cell_h) // 2)

    return h + LINE_GAP, paint


def _cut_painter(width: int) -> Painter:
    def paint(page: PILImage.Image, top: int) -> None:
        draw = ImageDraw.Draw(page)
        y = top + LINE_GAP
        for x in range(0, width, 16):
            draw.line((x, y, min(x + 8, width - 1), y), fill=BLACK)

    return paint


# -- fonts ----------------------------------------------------------------------------------


@cache
def _font_file(bold: bool) -> Path | None:
    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    return next((d / name for d in _FONT_DIRS if (d / name).is_file()), None)


def _has_bold_face() -> bool:
    return _font_file(True) is not None


@cache
def _font(cell_height: int, bold: bool) -> Font:
    # DejaVu Sans Mono's advance is 0.6 of its size: size 20 fills a 12-dot-wide cell.
    size = round(cell_height * 5 / 6)
    path = _font_file(bold) or _font_file(False)
    if path is not None:
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)
