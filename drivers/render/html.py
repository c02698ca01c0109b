"""Documents as one standalone HTML page that looks like paper receipts.

Text is monospace on a strip of the printer's paper (``drivers.render.paper``: 80 mm and 48
columns of Font A by default, 58 mm and 32 for narrow printers); styles become CSS. The page's
``lang`` is the till's language, so a browser picks the right fonts (the Han characters of
Japanese, Chinese and Korean differ) and reads it aloud right. Barcodes are python-barcode SVGs
with their text (HRI) as the printer prints it (``GS H`` position, ``GS f`` font, the check
digit it adds), QR codes qrcode SVGs, images PNGs, all inlined as ``data:`` URLs so the page
needs no other file. What cannot be drawn is a labelled dashed box. Sizes on paper follow the
printer: 8 dots a millimetre (203 dpi).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from html import escape

from drivers.render.paper import PAPER_80MM, Paper
from drivers.render.symbologies import PYTHON_BARCODE_NAMES, full_data, hri_text
from parsers.document import Barcode, Block, Document, Image, Line, QRCode, Span
from parsers.escpos.events import Align

DOTS_PER_MM = 8
COLUMNS = PAPER_80MM.columns
DEFAULT_LANGUAGE = "en"
_PAPER_MARGIN_MM = 4  # each side of the print area: 72 mm of print on 80 mm paper
# Monospace first; then fonts with CJK glyphs, which the browser orders by the page's lang.
_FONTS = (
    '"DejaVu Sans Mono", "Noto Sans Mono CJK JP", "Noto Sans CJK JP", "Noto Sans CJK SC", '
    '"Noto Sans CJK KR", "WenQuanYi Zen Hei Mono", "Droid Sans Fallback", monospace'
)


def _css(paper: Paper) -> str:
    paper_mm = paper.dots / DOTS_PER_MM + 2 * _PAPER_MARGIN_MM
    return _CSS_TEMPLATE.format(paper_mm=f"{paper_mm:g}", columns=paper.columns, fonts=_FONTS)


_CSS_TEMPLATE = """
body {{ background: #ddd; margin: 0; padding: 2em 0; }}
.paper {{ background: #fff; width: {paper_mm}mm; margin: 0 auto 2em; padding: 6mm 0;
  box-shadow: 0 1px 4px rgba(0,0,0,.3); color: #000; }}
.print {{ width: {columns}ch; margin: 0 auto; font-family: {fonts};
  font-size: 2.5mm; line-height: 1.25; }}
.line {{ white-space: pre; min-height: 1.25em; }}
.left {{ text-align: left; }} .center {{ text-align: center; }} .right {{ text-align: right; }}
.b {{ font-weight: bold; }} .u1 {{ text-decoration: underline; }}
.u2 {{ text-decoration: underline; text-decoration-thickness: 2px; }}
.rev {{ background: #000; color: #fff; }} .fb {{ font-size: 75%; }}
.flip {{ display: inline-block; transform: rotate(180deg); }}
.wide {{ display: inline-block; transform-origin: 0 100%; }}
.block {{ margin: .3em 0; }} .block img {{ image-rendering: pixelated; }}
.hri {{ white-space: pre; }}
.box {{ display: inline-block; border: 1px dashed #888; color: #555; padding: .5em 1ch; }}
.cut {{ border-top: 1px dashed #000; margin: 1.5em 0 0; text-align: center;
  line-height: 0; }}
.cut span {{ background: #fff; padding: 0 1ch; }}
"""


def render_html(
    documents: Document | Iterable[Document],
    *,
    title: str = "tillbridge receipt",
    language: str | None = None,
    paper: Paper | None = None,
) -> str:
    """One page showing each of ``documents`` as a strip of ``paper``, in the till's
    ``language`` (a BCP 47 tag: ``ja``, ``pl``, ``zh-TW``; English if not given)."""
    if isinstance(documents, Document):
        documents = [documents]
    body = "\n".join(render_document(document) for document in documents)
    lang = escape(language or DEFAULT_LANGUAGE, quote=True)
    css = _css(paper if paper is not None else PAPER_80MM)
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )


def render_document(document: Document) -> str:
    """One document as a ``<section class="paper">`` element."""
    parts = [_block(block) for block in document.blocks]
    if document.cut:
        parts.append('<div class="cut"><span>✂</span></div>')
    inner = "\n".join(parts)
    return f'<section class="paper">\n<div class="print">\n{inner}\n</div>\n</section>'


def _block(block: Block) -> str:
    if isinstance(block, Line):
        spans = "".join(_span(span) for span in block.spans)
        return f'<div class="line {block.align.value}">{spans}</div>'
    if isinstance(block, Barcode):
        return _wrap(block.align, _with_hri(block, _barcode(block)))
    if isinstance(block, QRCode):
        return _wrap(block.align, _qr(block))
    return _wrap(block.align, _image(block))


def _span(span: Span) -> str:
    style = span.style
    classes = []
    if style.bold or style.double_strike:
        classes.append("b")
    if style.underline:
        classes.append(f"u{min(style.underline, 2)}")
    if style.reverse:
        classes.append("rev")
    if style.font != "A":
        classes.append("fb")
    if style.upside_down:
        classes.append("flip")
    css = []
    if style.height > 1:
        css.append(f"font-size: {style.height}em")
    if style.width != style.height:
        # Scale the glyphs sideways, and give the span the room the wider glyphs take.
        classes.append("wide")
        ratio = style.width / style.height
        css.append(f"transform: scaleX({ratio:g}); width: {len(span.text) * ratio:g}ch")
    attrs = f' class="{" ".join(classes)}"' if classes else ""
    if css:
        attrs += f' style="{"; ".join(css)}"'
    text = escape(span.text)
    return f"<span{attrs}>{text}</span>" if attrs else text


def _wrap(align: Align, inner: str) -> str:
    return f'<div class="block {align.value}">{inner}</div>'


def _box(label: str) -> str:
    return f'<span class="box">{escape(label)}</span>'


def _data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _barcode(barcode: Barcode) -> str:
    label = f"{barcode.symbology} {barcode.data}"
    name = PYTHON_BARCODE_NAMES.get(barcode.symbology)
    if name is None:
        return _box(label)
    import barcode as python_barcode  # here: only drawing barcodes needs it
    from barcode.writer import SVGWriter

    options = {"add_checksum": False} if name == "code39" else {}
    try:
        data = full_data(barcode.symbology, barcode.data)
        code = python_barcode.get_barcode_class(name)(data, writer=SVGWriter(), **options)
        svg = code.render(
            {
                "module_width": max(1, barcode.module_width) / DOTS_PER_MM,
                "module_height": max(1, barcode.height) / DOTS_PER_MM,
                "quiet_zone": 1,
                # The text is ours (_with_hri): where and as the printer prints it.
                "write_text": False,
            }
        )
    except Exception:  # python-barcode rejects data the till's printer may still take
        return _box(label)
    return f'<img class="barcode" alt="{escape(label)}" src="{_data_url("image/svg+xml", svg)}">'


def _with_hri(barcode: Barcode, bars: str) -> str:
    """The barcode's text (HRI) above and/or below it, as ``GS H`` and ``GS f`` asked."""
    if barcode.hri == "none" or 'class="box"' in bars:
        return bars
    font = " fb" if barcode.hri_font != "A" else ""
    text = f'<div class="hri{font}">{escape(hri_text(barcode.symbology, barcode.data))}</div>'
    above = text if barcode.hri in ("above", "both") else ""
    below = text if barcode.hri in ("below", "both") else ""
    return f"{above}{bars}{below}"


def _qr(code: QRCode) -> str:
    label = f"{code.kind}: {code.data}"
    if code.kind != "QR":
        return _box(label)
    import qrcode  # here: only drawing QR codes needs it
    from qrcode.image.svg import SvgPathImage

    qr = qrcode.QRCode(border=1, image_factory=SvgPathImage)
    qr.add_data(code.data)
    qr.make(fit=True)
    svg = qr.make_image().to_string()
    size_mm = (qr.modules_count + 2) * max(1, code.module_size) / DOTS_PER_MM
    url = _data_url("image/svg+xml", svg)
    return f'<img class="qr" alt="{escape(label)}" style="width: {size_mm:g}mm" src="{url}">'


def _image(image: Image) -> str:
    from drivers.render.png import bitmap_image  # the one place bitmaps become pictures

    picture = bitmap_image(image)
    if picture is None:
        if image.width == 0:
            return _box("logo stored in the printer")
        return _box(f"image {image.width}×{image.height}")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    width_mm = image.width / DOTS_PER_MM
    return (
        f'<img class="image" alt="image {image.width}×{image.height}" '
        f'style="width: {width_mm:g}mm" src="{_data_url("image/png", buffer.getvalue())}">'
    )
