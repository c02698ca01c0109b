"""A printed receipt as a person sees it: styled lines, barcodes, 2D codes and images.

``Document`` is what the tokenizer's events add up to between two cuts. Grammars read its
``text()``; the renderer draws its blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from parsers.escpos.events import Align, TextStyle


@dataclass(slots=True)
class Span:
    text: str
    style: TextStyle = field(default_factory=TextStyle)


@dataclass(slots=True)
class Line:
    spans: list[Span] = field(default_factory=list)
    align: Align = Align.LEFT

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)


@dataclass(slots=True)
class Barcode:
    symbology: str  # "EAN13", "CODE128", "CODE39", "UPC-A", "ITF"...
    data: str
    align: Align = Align.LEFT
    height: int = 162  # dots
    module_width: int = 3


@dataclass(slots=True)
class QRCode:
    data: str
    kind: str = "QR"  # "QR", "PDF417", "DataMatrix", "Aztec", "MaxiCode"
    module_size: int = 3
    align: Align = Align.LEFT


@dataclass(slots=True)
class Image:
    """A raster or bit image. ``bitmap`` is 1 bit a dot, rows of ``(width + 7) // 8`` bytes,
    most significant bit leftmost, 1 = black; ``None`` when it was too large to keep."""

    width: int
    height: int
    bitmap: bytes | None = None
    align: Align = Align.LEFT


Block = Line | Barcode | QRCode | Image


@dataclass(slots=True)
class Document:
    blocks: list[Block] = field(default_factory=list)
    cut: bool = False  # ended by a cut (rather than by the end of the stream or ESC @)

    @property
    def lines(self) -> list[Line]:
        return [b for b in self.blocks if isinstance(b, Line)]

    @property
    def codes(self) -> list[Barcode | QRCode]:
        return [b for b in self.blocks if isinstance(b, Barcode | QRCode)]

    def text(self) -> str:
        """The printed text, one line per printed line, each ending in a newline.

        This is what receipt grammars parse. Barcodes, 2D codes and images are not in it.
        """
        return "".join(line.text + "\n" for line in self.lines)
