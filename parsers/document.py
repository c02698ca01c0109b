"""A printed receipt as a person sees it: styled lines, barcodes, 2D codes and images.

``Document`` is what the tokenizer's events add up to between two cuts. Grammars read its
``text()``; the renderer draws its blocks. Where text lands on a line (tabs, print positions,
margins) is ``parsers.lines``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from parsers.escpos.events import (
    Align,
    Command,
    Control,
    Cut,
    Event,
    Payload,
    Reset,
    Text,
    Truncated,
)
from parsers.lines import PLACEMENT_COMMANDS, Line, LinePlacer, Paper, Span

__all__ = [
    "Barcode",
    "Block",
    "Document",
    "DocumentBuilder",
    "Image",
    "Line",
    "Paper",
    "QRCode",
    "Span",
    "build_documents",
]


@dataclass(slots=True)
class Barcode:
    symbology: str  # "EAN13", "CODE128", "CODE39", "UPC-A", "ITF"...
    data: str
    align: Align = Align.LEFT
    height: int = 162  # dots
    module_width: int = 3
    # Where the printer prints its text (HRI), from GS H: "none" (the printer's power-on
    # setting), "above", "below", "both"; and in which font (GS f: "A" or "B").
    hri: str = "none"
    hri_font: str = "A"


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
    # Why the stream ended inside a command, when it did (the tokenizer's Truncated reason):
    # the printer was left waiting for the rest, so this may not have printed whole.
    truncated: str | None = None

    @property
    def lines(self) -> list[Line]:
        return [b for b in self.blocks if isinstance(b, Line)]

    @property
    def codes(self) -> list[Barcode | QRCode]:
        return [b for b in self.blocks if isinstance(b, Barcode | QRCode)]

    def text(self) -> str:
        """The printed text, one line per printed line, each ending in a newline.

        This is what receipt grammars parse, and the only text they are given (the daemon,
        ``tillbridge parse`` and ``--show-text`` all take it from here). Each character is
        there once, whatever its size: double width is not letter-spaced (the renderer draws
        it so), but counts as two columns where it decides a gap (``parsers.lines``). A
        centred or right-aligned line has no spaces before it: where the printer puts it
        depends on the paper, not on the layout. Barcodes, 2D codes and images are not in it.
        """
        return "".join(line.text + "\n" for line in self.lines)


# --- Building documents from tokenizer events -------------------------------------------------
#
# The builder plays the printer: it keeps the few settings that change what a block looks like
# (alignment for codes and images, tab stops, line spacing, barcode size, 2D code settings) and
# turns the events between two cuts into a ``Document``. What the printer does, the builder
# does, with these deliberate choices:
#
# - ESC @ resets those settings and, like the printer, clears an unfinished line; it ends the
#   document only when built with ``reset_ends_document=True`` (a per-till option: some tills
#   start every receipt with ESC @ and never cut).
# - A cut, or the end of the stream, keeps an unfinished line (text with no LF yet): a reader
#   would rather see it than not.
# - A document with nothing printed in it (only feeds, a drawer kick, status requests...) is
#   dropped, whether a cut, a reset or the end of the stream ended it; also when the stream
#   ended inside a command (``Document.truncated`` on a document that printed something).
# - Barcodes, 2D codes and images end the line in progress (the printer prints the buffer
#   first), then stand as blocks of their own. ``FS p`` and ``GS ( L`` fn=69 print a logo
#   stored in the printer: we cannot see it, so it becomes an ``Image`` of size 0×0 without a
#   bitmap, which renderers draw as a placeholder.
# - Feeds are blank lines: ESC d n is n line feeds, ESC J n is n motion units rounded to whole
#   lines of the spacing in force (ESC 3), FF one line feed. The feed of a feed-and-cut only
#   brings the paper to the cutter: it adds nothing.

MAX_BITMAP_BYTES = 4 * 1024 * 1024
DEFAULT_LINE_SPACING = 30  # motion units (1/180 inch): the printer's default 1/6 inch

_HRI_POSITIONS = {0: "none", 1: "above", 2: "below", 3: "both"}

BARCODE_SYMBOLOGIES: dict[int, str] = {
    0: "UPC-A",
    1: "UPC-E",
    2: "EAN13",
    3: "EAN8",
    4: "CODE39",
    5: "ITF",
    6: "CODABAR",
    65: "UPC-A",
    66: "UPC-E",
    67: "EAN13",
    68: "EAN8",
    69: "CODE39",
    70: "ITF",
    71: "CODABAR",
    72: "CODE93",
    73: "CODE128",
    74: "GS1-128",
    75: "GS1 DataBar Omnidirectional",
    76: "GS1 DataBar Truncated",
    77: "GS1 DataBar Limited",
    78: "GS1 DataBar Expanded",
    79: "CODE128",  # "auto" Code 128: the printer picks the code sets
}

TWO_D_KINDS: dict[int, str] = {
    48: "PDF417",
    49: "QR",
    50: "MaxiCode",
    51: "GS1 DataBar",
    52: "Composite",
    53: "Aztec",
    54: "DataMatrix",
}

_ALIGNS = {n: align for n, align in zip((0, 1, 2), Align, strict=True)}
_ALIGNS.update({48 + n: align for n, align in _ALIGNS.items()})

# Commands whose payload the builder reads; every other payload is skipped unread.
_READ_PAYLOADS = frozenset({"ESC *", "GS v 0", "GS k", "GS ( k", "GS ( L", "GS 8 L"})
# Bytes before the bitmap in a "store graphics" payload: m fn a bx by c xL xH yL yH.
_GRAPHICS_HEADER = 10


@dataclass(slots=True)
class _Payload:
    """A payload command being received: its header and the bytes kept so far."""

    command: Command
    keep: int  # bytes worth keeping (the rest is only counted)
    received: int = 0
    data: bytearray = field(default_factory=bytearray)


@dataclass(slots=True)
class _Graphics:
    """Graphics stored in the print buffer by ``GS ( L`` fn=112/113, printed by fn=50."""

    width: int
    height: int
    bitmap: bytes | None


class DocumentBuilder:
    """Turns tokenizer events into ``Document``\\ s, one per cut.

    Feed it events in any batches: the documents depend only on the events, not on how they
    were split. Memory stays bounded by the document in progress; an image's bitmap is kept
    only up to ``max_bitmap_bytes`` (above that, only its size).
    """

    def __init__(
        self,
        *,
        reset_ends_document: bool = False,
        max_bitmap_bytes: int = MAX_BITMAP_BYTES,
        paper: Paper | None = None,
    ) -> None:
        self.reset_ends_document = reset_ends_document
        self.max_bitmap_bytes = max_bitmap_bytes
        self._document = Document()
        self._line: Line | None = None  # the unfinished line, once anything went into it
        # Whether the unfinished line holds only blanks: kept as the line grows, so a long line
        # costs no more per span.
        self._blank = True
        self._placer = LinePlacer(paper)
        self._payload: _Payload | None = None
        self._open_image: Image | None = None
        self._open_bits: bytearray | None = None
        self._reset_settings()

    def _reset_settings(self) -> None:
        self._align = Align.LEFT
        self._placer.reset()
        self._line_spacing = DEFAULT_LINE_SPACING
        self._barcode_height = 162
        self._barcode_width = 3
        self._hri = "none"
        self._hri_font = "A"
        self._symbol_data: dict[int, str] = {}
        self._module_size: dict[int, int] = {}
        self._graphics: _Graphics | None = None
        # The image that an adjacent raster strip or bit-image band would continue, and the
        # command that printed it (strips join strips, bands join bands).
        self._close_image()
        self._open_command = ""
        self._after_band = False

    # -- public API -------------------------------------------------------------------------

    def feed(self, events: Iterable[Event]) -> list[Document]:
        """Read ``events``; return the documents they completed, in order."""
        done: list[Document] = []
        for event in events:
            self._event(event, done)
        return done

    def close(self) -> list[Document]:
        """End of stream: the document in progress, if it printed anything."""
        done: list[Document] = []
        self._end_line()
        self._end_document(cut=False, done=done)
        self._payload = None
        self._reset_settings()
        return done

    def end_job(self) -> list[Document]:
        """A job ended without a cut: the document in progress, if it printed anything.

        Unlike ``close``, the settings (alignment, line spacing, barcode and symbol settings)
        stay: the next job goes to the same printer, which forgets nothing between jobs.
        """
        done: list[Document] = []
        self._end_line()
        self._end_document(cut=False, done=done)
        self._payload = None
        return done

    # -- events -----------------------------------------------------------------------------

    def _event(self, event: Event, done: list[Document]) -> None:
        if isinstance(event, Payload):
            self._payload_piece(event)
            return
        if self._payload is not None:
            # The payload stopped short (the tokenizer resynchronised): what came is unusable.
            self._payload = None
        if isinstance(event, Text):
            self._text(event)
        elif isinstance(event, Control):
            self._control(event.name)
        elif isinstance(event, Cut):
            self._end_line()
            self._end_document(cut=True, done=done)
        elif isinstance(event, Reset):
            self._line = None  # ESC @ clears the print buffer: that text never printed
            self._after_band = False
            self._reset_settings()
            if self.reset_ends_document:
                self._end_document(cut=False, done=done)
        elif isinstance(event, Command):
            self._command(event)
        elif isinstance(event, Truncated):
            self._document.truncated = event.reason

    def _text(self, event: Text) -> None:
        if not event.text:
            return
        line = self._current_line(event.align)
        self._placer.place(line, event.text, event.style)
        if self._blank and event.text.strip():
            self._blank = False
        self._after_band = False
        self._close_image()

    def _control(self, name: str) -> None:
        if name in ("LF", "FF"):
            self._feed_lines(1)
        elif name == "HT":
            self._placer.tab()
        # CR: ignored, as Epson printers do with auto line feed off. CAN: page mode only.

    def _command(self, command: Command) -> None:
        name, args = command.name, command.args
        if command.payload_length > 0 and name in _READ_PAYLOADS:
            self._payload = _Payload(command, self._bytes_to_keep(command))
            return
        if command.payload_length == 0 and name in _READ_PAYLOADS:
            self._payload_done(command, b"")
            return
        if name == "ESC a" and args:
            self._align = _ALIGNS.get(args[0], self._align)
        elif name in PLACEMENT_COMMANDS:
            self._placer.command(name, args)
        elif name == "ESC 3" and args:
            self._line_spacing = args[0]
        elif name == "ESC 2":
            self._line_spacing = DEFAULT_LINE_SPACING
        elif name == "ESC d" and args:
            self._print_and_feed(args[0])
        elif name == "ESC J" and args:
            self._print_and_feed(round(args[0] / max(self._line_spacing, 1)))
        elif name == "GS h" and args:
            self._barcode_height = args[0]
        elif name == "GS w" and args:
            self._barcode_width = args[0]
        elif name == "GS H" and args:
            n = args[0] - 48 if args[0] >= 48 else args[0]  # 0-3, or "0"-"3"
            self._hri = _HRI_POSITIONS.get(n, self._hri)
        elif name == "GS f" and args:
            self._hri_font = "B" if args[0] in (1, 49) else "A"
        elif name == "FS p":
            self._block(Image(0, 0, None, self._align))

    # -- lines ------------------------------------------------------------------------------

    def _current_line(self, align: Align | None = None) -> Line:
        if self._line is None:
            # Epson applies ESC a only at the start of a line: the first text decides.
            self._line = Line(align=align if align is not None else self._align)
            self._blank = True
        elif self._blank and align is not None:
            # Only tab spaces so far: the first real text still sets the alignment.
            self._line.align = align
        return self._line

    def _end_line(self) -> None:
        if self._line is not None:
            self._placer.finish(self._line)
            self._document.blocks.append(self._line)
            self._line = None
        else:
            self._placer.new_line()  # moves with no text after them printed nothing

    def _feed_lines(self, count: int) -> None:
        """``count`` line feeds; the first prints the unfinished line, if there is one."""
        if self._line is None:
            self._placer.new_line()  # moves with no text after them printed nothing
        if self._after_band and self._line is None:
            # The LF that follows a bit-image band moves the paper past the band: no blank line.
            count -= 1
        self._after_band = False
        if count <= 0:
            return
        self._close_image()
        if self._line is not None:
            self._end_line()
            count -= 1
        for _ in range(count):
            self._document.blocks.append(Line(align=self._align))

    def _print_and_feed(self, lines: int) -> None:
        # Even a feed of less than a line prints the unfinished line.
        self._feed_lines(max(lines, 1 if self._line is not None else 0))

    # -- blocks -----------------------------------------------------------------------------

    def _block(self, block: Block) -> None:
        self._end_line()
        self._close_image()
        self._document.blocks.append(block)
        self._after_band = False

    def _end_document(self, cut: bool, done: list[Document]) -> None:
        self._close_image()
        document, self._document = self._document, Document()
        self._after_band = False
        document.cut = cut
        if _printed_anything(document):
            done.append(document)

    # -- payloads ---------------------------------------------------------------------------

    def _bytes_to_keep(self, command: Command) -> int:
        length, limit = command.payload_length, _GRAPHICS_HEADER + self.max_bitmap_bytes
        if command.name in ("GS ( L", "GS 8 L") and length > limit:
            return _GRAPHICS_HEADER  # enough to learn the size
        if command.name in ("GS v 0", "ESC *") and length > self.max_bitmap_bytes:
            return 0  # the size is in the header already
        return min(length, limit)

    def _payload_piece(self, piece: Payload) -> None:
        pending = self._payload
        if pending is None or piece.command != pending.command.name:
            return  # a payload we skip (downloaded fonts, NV graphics definitions...)
        room = pending.keep - len(pending.data)
        if room > 0:
            pending.data += piece.raw[:room]
        pending.received += len(piece.raw)
        if pending.received >= pending.command.payload_length:
            self._payload = None
            self._payload_done(pending.command, bytes(pending.data))

    def _payload_done(self, command: Command, data: bytes) -> None:
        name = command.name
        if name == "GS k":
            self._barcode(command.args, data)
        elif name == "GS ( k":
            self._two_d(data)
        elif name == "GS v 0":
            self._raster(command.args, data)
        elif name == "ESC *":
            self._bit_image(command.args, data)
        elif name in ("GS ( L", "GS 8 L"):
            self._graphics_function(data)

    def _barcode(self, args: tuple[int, ...], data: bytes) -> None:
        if not args:
            return
        m = args[0]
        if m <= 6:
            data = data.split(b"\0", 1)[0]  # the data ends at its NUL
        symbology = BARCODE_SYMBOLOGIES.get(m, f"GS k {m}")
        text = _code128_text(data) if symbology == "CODE128" else data.decode("latin-1")
        barcode = Barcode(
            symbology,
            text,
            self._align,
            self._barcode_height,
            self._barcode_width,
            self._hri,
            self._hri_font,
        )
        self._block(barcode)

    def _two_d(self, data: bytes) -> None:
        if len(data) < 2:
            return
        cn, fn = data[0], data[1]
        if fn == 67 and len(data) >= 3:
            self._module_size[cn] = data[2]
        elif fn == 80:
            self._symbol_data[cn] = _decode(data[3:])
        elif fn == 81 and cn in self._symbol_data:
            kind = TWO_D_KINDS.get(cn, f"2D {cn}")
            size = self._module_size.get(cn, 3)
            self._block(QRCode(self._symbol_data[cn], kind, size, self._align))

    def _raster(self, args: tuple[int, ...], data: bytes) -> None:
        if len(args) < 5:
            return
        m, x_l, x_h, y_l, y_h = args[:5]
        width, height = 8 * (x_l + 256 * x_h), y_l + 256 * y_h
        bitmap = data if len(data) == width // 8 * height and data else None
        # m: 1 or 49 double width, 2 or 50 double height, 3 or 51 both.
        self._image("GS v 0", width, height, bitmap, 2 if m & 1 else 1, 2 if m & 2 else 1)

    def _bit_image(self, args: tuple[int, ...], data: bytes) -> None:
        if len(args) < 3:
            return
        m, n_l, n_h = args[:3]
        columns = n_l + 256 * n_h
        column_bytes = 3 if m in (32, 33) else 1
        bitmap = None
        if len(data) == columns * column_bytes and data:
            bitmap = _columns_to_rows(data, columns, column_bytes)
        # Single density (m 0 and 32) prints every column two dots wide; the 8-dot modes print
        # each dot three dots tall.
        self._image(
            "ESC *",
            columns,
            8 * column_bytes,
            bitmap,
            2 if m in (0, 32) else 1,
            3 if m in (0, 1) else 1,
        )
        self._after_band = True

    def _graphics_function(self, data: bytes) -> None:
        if len(data) < 2:
            return
        fn = data[1]
        if fn in (112, 113) and len(data) >= _GRAPHICS_HEADER:
            # m fn a bx by c xL xH yL yH d1...dk
            sx, sy = data[3], data[4]
            width, height = data[6] + 256 * data[7], data[8] + 256 * data[9]
            body = data[_GRAPHICS_HEADER:]
            bitmap: bytes | None = None
            if fn == 112 and len(body) >= (width + 7) // 8 * height and body:
                bitmap = body[: (width + 7) // 8 * height]
            elif fn == 113 and len(body) >= width * ((height + 7) // 8) and body:
                bitmap = _columns_to_rows(body, width, (height + 7) // 8)[
                    : (width + 7) // 8 * height
                ]
            self._graphics = self._stored_graphics(width, height, bitmap, sx, sy)
        elif fn in (50, 2) and self._graphics is not None:
            graphics, self._graphics = self._graphics, None
            self._block(Image(graphics.width, graphics.height, graphics.bitmap, self._align))
        elif fn == 69:
            self._block(Image(0, 0, None, self._align))  # NV graphics: stored in the printer

    def _stored_graphics(
        self, width: int, height: int, bitmap: bytes | None, sx: int, sy: int
    ) -> _Graphics:
        sx, sy = (2 if sx == 2 else 1), (2 if sy == 2 else 1)
        bitmap = self._bounded(bitmap, width * sx, height * sy)
        if bitmap is not None:
            bitmap = _scale(bitmap, width, height, sx, sy)
        previous = self._graphics
        if (  # a second colour plane of the same picture prints over the first
            previous is not None
            and (previous.width, previous.height) == (width * sx, height * sy)
            and previous.bitmap is not None
            and bitmap is not None
        ):
            bitmap = bytes(a | b for a, b in zip(previous.bitmap, bitmap, strict=True))
        return _Graphics(width * sx, height * sy, bitmap)

    def _image(
        self, command: str, width: int, height: int, bitmap: bytes | None, sx: int, sy: int
    ) -> None:
        bitmap = self._bounded(bitmap, width * sx, height * sy)
        if bitmap is not None:
            bitmap = _scale(bitmap, width, height, sx, sy)
        width, height = width * sx, height * sy
        previous = self._open_image
        if (
            previous is not None
            and self._line is None
            and self._open_command == command
            and previous.width == width
            and previous.align == self._align
            and self._document.blocks
            and self._document.blocks[-1] is previous
        ):
            # Tills send tall pictures as strips or bands; on paper they are one picture. The
            # strips gather in a bytearray (joining bytes would copy the picture every strip).
            bits = self._open_bits
            if bits is None and previous.bitmap is not None:
                bits = bytearray(previous.bitmap)
            height += previous.height
            too_large = (width + 7) // 8 * height > self.max_bitmap_bytes
            if bits is None or bitmap is None or too_large:
                previous.bitmap = bits = None
            else:
                bits += bitmap
            self._open_bits = bits
            previous.height = height
            return
        image = Image(width, height, bitmap, self._align)
        self._block(image)
        self._open_image, self._open_command = image, command

    def _close_image(self) -> None:
        """No strip or band may continue the open image any more: its bitmap is final."""
        if self._open_image is not None and self._open_bits is not None:
            self._open_image.bitmap = bytes(self._open_bits)
        self._open_image = None
        self._open_bits = None

    def _bounded(self, bitmap: bytes | None, width: int, height: int) -> bytes | None:
        if bitmap is None or (width + 7) // 8 * height > self.max_bitmap_bytes:
            return None
        return bitmap


def build_documents(
    events: Iterable[Event], *, reset_ends_document: bool = False
) -> list[Document]:
    """All the documents in a complete stream of events."""
    builder = DocumentBuilder(reset_ends_document=reset_ends_document)
    return builder.feed(events) + builder.close()


def _printed_anything(document: Document) -> bool:
    for block in document.blocks:
        if not isinstance(block, Line):
            return True
        if any(span.text.strip() or span.style.reverse for span in block.spans):
            return True
    return False


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _code128_text(data: bytes) -> str:
    """The human-readable data of an Epson CODE128 barcode.

    Epson's data starts with a code set selector (``{A``, ``{B``, ``{C``) and may switch set
    or insert function codes with ``{`` escapes; ``{{`` is a literal brace. In code set C each
    byte is a pair of digits.
    """
    out: list[str] = []
    code_c = False
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == 0x7B and i + 1 < len(data):  # "{"
            code = data[i + 1]
            i += 2
            if code == 0x7B:
                out.append("{")
            elif code in (0x41, 0x42):  # A, B
                code_c = False
            elif code == 0x43:  # C
                code_c = True
            continue  # {S shift and {1..{4 function codes print nothing
        out.append(f"{byte:02d}" if code_c else chr(byte))
        i += 1
    return "".join(out)


def _columns_to_rows(data: bytes, columns: int, column_bytes: int) -> bytes:
    """Column-format dots (each column ``column_bytes`` bytes, MSB on top) as row-major rows."""
    height = 8 * column_bytes
    row_bytes = (columns + 7) // 8
    out = bytearray(row_bytes * height)
    for x in range(columns):
        mask = 0x80 >> (x & 7)
        base = x * column_bytes
        for k in range(column_bytes):
            byte = data[base + k]
            if not byte:
                continue
            for bit in range(8):
                if byte & (0x80 >> bit):
                    out[(8 * k + bit) * row_bytes + (x >> 3)] |= mask
    return bytes(out)


def _double_bits(byte: int) -> int:
    """Each bit of ``byte`` twice: 0b10 becomes 0b1100."""
    out = 0
    for bit in range(8):
        if byte & (1 << bit):
            out |= 3 << (2 * bit)
    return out


_DOUBLED = [_double_bits(b).to_bytes(2, "big") for b in range(256)]


def _scale(bitmap: bytes, width: int, height: int, sx: int, sy: int) -> bytes:
    """``bitmap`` (rows of ``(width + 7) // 8`` bytes) stretched ``sx`` (1 or 2) × ``sy``."""
    if sx == 1 and sy == 1:
        return bitmap
    row_bytes = (width + 7) // 8
    new_row_bytes = (width * sx + 7) // 8
    out = bytearray()
    for y in range(height):
        row = bitmap[y * row_bytes : (y + 1) * row_bytes]
        if sx == 2:
            row = b"".join(_DOUBLED[b] for b in row)[:new_row_bytes]
        out += row * sy
    return bytes(out)
