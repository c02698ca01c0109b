"""A document as fixed-width text: the paper as a terminal shows it.

Each printed line becomes one row, aligned within ``columns`` (48 is Font A on 80 mm paper).
Rows are never wrapped: a line longer than the paper is shown whole, so what the till sent
stays readable (the PNG renderer wraps as the printer does). Double width spaces the letters
out; double height cannot be shown. Bold, underline and reverse appear only as ANSI escapes,
and only when asked for.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from parsers.document import Barcode, Block, Document, Image, Line, QRCode, Span
from parsers.escpos.events import Align

DEFAULT_COLUMNS = 48
DOTS_PER_COLUMN = 12  # Font A: 576 dots / 48 columns
CUT_MARK = " ✂ "

_ANSI_RESET = "\x1b[0m"


def render_text(
    documents: Document | Iterable[Document],
    *,
    columns: int = DEFAULT_COLUMNS,
    ansi: bool = False,
    compact: bool = False,
) -> str:
    """``documents`` as text, each followed by a dashed cut line if it ended in a cut.

    ``ansi`` shows bold, underline and reverse with terminal escapes; ``compact`` shows QR
    codes as ``[QR: data]`` instead of drawing them.
    """
    if isinstance(documents, Document):
        documents = [documents]
    rows: list[str] = []
    for document in documents:
        for block in document.blocks:
            rows.extend(_block(block, columns, ansi, compact))
        if document.cut:
            rows.append(cut_line(columns))
    return "".join(row + "\n" for row in rows)


def cut_line(columns: int = DEFAULT_COLUMNS) -> str:
    left = max(3, (columns - len(CUT_MARK)) // 2)
    right = max(3, columns - len(CUT_MARK) - left)
    return "-" * left + CUT_MARK + "-" * right


def _block(block: Block, columns: int, ansi: bool, compact: bool) -> list[str]:
    if isinstance(block, Line):
        return [_line(block, columns, ansi)]
    if isinstance(block, Barcode):
        return [_aligned(f"||| {block.symbology} {block.data} |||", block.align, columns)]
    if isinstance(block, QRCode):
        if compact or block.kind != "QR":
            return [_aligned(f"[{block.kind}: {block.data}]", block.align, columns)]
        return [_aligned(row, block.align, columns) for row in qr_rows(block.data)]
    return _image_box(block, columns)


def _line(line: Line, columns: int, ansi: bool) -> str:
    width = sum(len(span.text) * span.style.width for span in line.spans)
    body = "".join(_span(span, ansi) for span in line.spans)
    row = " " * _indent(width, line.align, columns) + body
    return row if ansi else row.rstrip()


def _span(span: Span, ansi: bool) -> str:
    spacing = " " * (span.style.width - 1)
    text = "".join(ch + spacing for ch in span.text) if spacing else span.text
    if not ansi:
        return text
    style = span.style
    codes = [
        code
        for code, on in (
            ("1", style.bold or style.double_strike),
            ("4", style.underline > 0),
            ("7", style.reverse),
        )
        if on
    ]
    return f"\x1b[{';'.join(codes)}m{text}{_ANSI_RESET}" if codes and text else text


def _indent(width: int, align: Align, columns: int) -> int:
    if align is Align.CENTER:
        return max(0, (columns - width) // 2)
    if align is Align.RIGHT:
        return max(0, columns - width)
    return 0


def _aligned(row: str, align: Align, columns: int) -> str:
    return " " * _indent(len(row), align, columns) + row


def qr_rows(data: str) -> list[str]:
    """A QR code drawn with half blocks: two rows of modules per text row, dark as ink."""
    import qrcode  # here: only drawing a QR code needs it

    qr = qrcode.QRCode(border=1)
    qr.add_data(data)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))
    glyphs = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
    return [
        "".join(glyphs[top, bottom] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(matrix[::2], matrix[1::2], strict=True)
    ]


def _image_box(image: Image, columns: int) -> list[str]:
    if image.width == 0 and image.height == 0:
        label = "logo stored in the printer"
    else:
        label = f"image {image.width}×{image.height}"
    inner = max(math.ceil(image.width / DOTS_PER_COLUMN) - 2, len(label) + 2)
    inner = min(inner, max(columns - 2, len(label)))
    rows = min(6, max(1, round(image.height / 24)))
    edge = "+" + "-" * inner + "+"
    body = ["|" + label.center(inner) + "|"] + ["|" + " " * inner + "|"] * (rows - 1)
    return [_aligned(row, image.align, columns) for row in [edge, *body, edge]]
