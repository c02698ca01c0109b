"""The ESC/POS output side: our loyalty message as bytes for the printer at hand.

At the end of a sale the bridge prints a short ``Message`` on the till's receipt, before the
till's own (held) feed and cut, then puts the printer back exactly as the till left it
(DESIGN rule 5). ``render_message`` is pure: plain data in, bytes out.

What the bytes do, in order:

1. One LF. The bridge injects after the till's last line feed, so the paper is at the start of
   a line and this LF is a blank line between the receipt and our message; should the till
   have left a line unfinished, the LF prints it and our message still starts on a line of
   its own. It prints in the till's own settings, as the till's next LF would.
2. Our settings, as explicit commands for only what differs from the till's state: left
   alignment, plain Font A style, the default line spacing, ESC R 0 (so ``#$@[\\]`` are
   ASCII), Kanji mode off, and the code page we print in (ESC t). Never ESC @: it would also
   clear what we cannot see or put back (the till's line spacing, Kanji settings, tab stops).
3. The title (bold, centred), the lines (left), the claim code (double size, centred), each
   wrapped at word boundaries to the columns its character width allows, and the QR code
   (centred): native ``GS ( k`` or, for printers without it, a ``GS v 0`` raster picture.
   Then each ``Barcode`` (a voucher's code), centred, its caption above it: CODE128 as native
   ``GS k`` (function B, code set B) with our own text line below it instead of the
   printer's HRI, or a QR code drawn as above. ``GS h``/``GS w``/``GS H`` are settings
   ``PrinterState`` does not track: we set them before our symbol and put the power-on
   defaults back after it (height 162, module 3, no HRI), which is what a till that never sets
   them expects, and a till that prints barcodes sets them itself before each one.
   Text is encoded one byte per character; a character the code page lacks becomes "?", and
   so does any control character, so a message can never smuggle in a command.
4. The commands that put back every setting step 2 or 3 changed (``restore_state(state,
   since=...)``). Never a cut or a drawer kick: the till's own held cut follows.

python-escpos provides the capability data (``PrinterProfile.from_escpos``), the native QR
command and the raster conversion. It is imported lazily, once: its import calls
``logging.basicConfig()`` (whose handler we remove again) and, unless
``ESCPOS_CAPABILITIES_PICKLE_DIR`` names a folder, leaves a temporary folder behind each
process. Its ``text()`` is not used, as it may switch code pages on its own.
"""

from __future__ import annotations

import codecs
import logging
import textwrap
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Literal

from drivers.escpos_cache import use_capability_cache
from parsers.escpos import codepages
from parsers.escpos.events import Align, TextStyle
from parsers.escpos.state import PrinterState

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
LF = b"\n"

PC858 = 19  # Epson ESC t numbers
WPC1252 = 16
# The pages to try, in order, when the till's own cannot encode the message and the profile
# lists its pages: Western European first, then the rest of our table.
_PREFERRED_PAGES = (PC858, WPC1252, 40, 2, 18, 45, 39, 46, 17, 15, 47, 48, 13, 0)

QR_MODULE_DOTS = 5  # a module 5 dots wide (0.7 mm at 180 dpi) scans well from a phone
_QR_BORDER = 2  # quiet zone drawn into a raster QR, in modules; the paper margin adds more
_QR_EC_M = 1  # error correction M (15%): thermal print fades and creases

_ALIGN_ARG = {Align.LEFT: 0, Align.CENTER: 1, Align.RIGHT: 2}
_FONT_ARG = {"A": 0, "B": 1, "C": 2, "D": 3, "E": 4}
# FS C n: the Kanji code systems a command can select. Others (gb18030, big5) are facts of a
# printer model that the caller configured, never changed by a command.
_KANJI_CODE_ARG = {"jis": 0, "shift_jis": 1, "shift_jis_2004": 2}


@dataclass(frozen=True)
class Barcode:
    """A code to scan at the till (a voucher's): CODE128 or QR, with its words above it."""

    data: str  # what the symbol holds; printed as text under a CODE128 symbol too
    symbology: Literal["CODE128", "QR"] = "CODE128"
    caption: tuple[str, ...] = ()  # e.g. ("Voucher: 5 € off",), printed centred above it


@dataclass(frozen=True)
class Message:
    """What the loyalty side wants printed; plain data."""

    lines: tuple[str, ...]  # e.g. ("Points earned: 12", "Balance: 340")
    title: str | None = None  # printed bold, centred
    qr: str | None = None  # printed as a QR code (e.g. a claim URL or code)
    code: str | None = None  # a short claim code, printed large
    barcodes: tuple[Barcode, ...] = ()  # printed last, in order (vouchers issued)


@dataclass(frozen=True)
class PrinterProfile:
    """Facts about the printer, as data."""

    name: str = "TM-T88V"  # python-escpos capability profile
    columns: int = 42  # Font A characters per line
    # Epson ESC t number to print our text in; None: the till's own if it can encode the
    # message, else PC858 (or, when ``code_pages`` is known and PC858 cannot encode it either,
    # the first of the printer's pages that can).
    code_page: int | None = None
    native_qr: bool = True  # False: draw the QR as a raster image (GS v 0)
    raster: bool = True  # the printer prints GS v 0 raster images
    dots: int = 512  # printable width in dots, to size the QR code
    code_pages: frozenset[int] | None = None  # Epson ESC t numbers it has; None: unknown

    @classmethod
    def from_escpos(cls, name: str, **overrides: Any) -> PrinterProfile:
        """Columns, code pages and QR support from python-escpos's capability data.

        Raises ``KeyError`` for a profile name python-escpos does not know.
        """
        data = _escpos_profile(name)
        features = data.get("features", {})
        fonts = data.get("fonts", {})
        pixels = data.get("media", {}).get("width", {}).get("pixels")
        facts: dict[str, Any] = {
            "name": name,
            "columns": int(fonts.get("0", {}).get("columns", cls.columns)),
            "native_qr": bool(features.get("qrCode", False)),
            "raster": bool(features.get("bitImageRaster", False)),
            "dots": pixels if isinstance(pixels, int) and pixels > 0 else cls.dots,
            "code_pages": _epson_pages(data.get("codePages", {})),
        }
        return cls(**(facts | overrides))


def render_message(message: Message, profile: PrinterProfile, state: PrinterState) -> bytes:
    """The bytes that print ``message`` on a printer the till left in ``state``, then put it
    back in ``state``. See the module docstring for what they do and assume."""
    blocks: list[tuple[list[str], Align, TextStyle]] = []
    if message.title is not None:
        blocks.append(([message.title], Align.CENTER, _TITLE))
    blocks.append((list(message.lines), Align.LEFT, _BODY))
    if message.code is not None:
        blocks.append(([message.code], Align.CENTER, _CODE))
    blocks = [([_clean(text) for text in lines], align, style) for lines, align, style in blocks]
    texts = [text for lines, _align, _style in blocks for text in lines]
    texts += [_clean(text) for b in message.barcodes for text in (*b.caption, b.data)]

    page = _choose_code_page(texts, profile, state)
    encode = _encoder(page)
    ours = replace(
        state.copy(),
        code_page=page,
        international=0,
        align=Align.LEFT,
        style=_BODY,
        line_spacing=None,
        kanji=False,
    )
    out = bytearray(LF)
    out += restore_state(ours, since=state)
    current = ours
    for lines, align, style in blocks:
        wanted = replace(current, align=align, style=style)
        out += restore_state(wanted, since=current)
        current = wanted
        width = max(profile.columns // style.width, 1)
        for text in lines:
            for row in _wrap(text, width):
                out += encode(row) + LF
    if message.qr:
        wanted = replace(current, align=Align.CENTER, style=_BODY)
        out += restore_state(wanted, since=current)
        current = wanted
        out += _qr(message.qr, profile, encode)
    for barcode in message.barcodes:
        wanted = replace(current, align=Align.CENTER, style=_BODY)
        out += restore_state(wanted, since=current)
        current = wanted
        for text in barcode.caption:
            for row in _wrap(_clean(text), profile.columns):
                out += encode(row) + LF
        out += _barcode(barcode, profile, encode)
    out += restore_state(state, since=current)
    return bytes(out)


def restore_state(state: PrinterState, since: PrinterState | None = None) -> bytes:
    """The commands that put a printer in ``state``.

    With ``since`` None they set every setting, whatever the printer's state was, Kanji
    commands (FS & / FS . / FS C) included; given the state the printer is in, only the
    settings that differ. ``render_message`` uses the latter, so a printer without Kanji
    support never receives an FS command unless its till sent one first. A Kanji encoding no
    command selects (gb18030, big5) is not set.
    """
    out = bytearray()

    def differs(attribute: str) -> bool:
        return since is None or getattr(since, attribute) != getattr(state, attribute)

    if differs("kanji_encoding") and state.kanji_encoding in _KANJI_CODE_ARG:
        out += FS + b"C" + bytes((_KANJI_CODE_ARG[state.kanji_encoding],))
    if differs("kanji"):
        out += FS + (b"&" if state.kanji else b".")
    if differs("code_page"):
        out += ESC + b"t" + bytes((state.code_page,))
    if differs("international"):
        out += ESC + b"R" + bytes((state.international,))
    if differs("align"):
        out += ESC + b"a" + bytes((_ALIGN_ARG[state.align],))
    if differs("line_spacing"):
        spacing = state.line_spacing
        out += ESC + b"2" if spacing is None else ESC + b"3" + bytes((spacing,))
    out += _style_commands(state.style, None if since is None else since.style)
    return bytes(out)


# --- styles -------------------------------------------------------------------------------

_BODY = TextStyle()
_TITLE = TextStyle(bold=True)
_CODE = TextStyle(width=2, height=2)


def _style_commands(style: TextStyle, since: TextStyle | None) -> bytes:
    """One command per TextStyle field that differs (ESC ! is avoided: it sets five at once)."""
    out = bytearray()

    def differs(*attributes: str) -> bool:
        return since is None or any(getattr(since, a) != getattr(style, a) for a in attributes)

    if differs("font"):
        out += ESC + b"M" + bytes((_FONT_ARG.get(style.font, 0),))
    if differs("bold"):
        out += ESC + b"E" + bytes((style.bold,))
    if differs("underline"):
        out += ESC + b"-" + bytes((style.underline,))
    if differs("double_strike"):
        out += ESC + b"G" + bytes((style.double_strike,))
    if differs("width", "height"):
        out += GS + b"!" + bytes((((style.width - 1) << 4) | (style.height - 1),))
    if differs("reverse"):
        out += GS + b"B" + bytes((style.reverse,))
    if differs("upside_down"):
        out += ESC + b"{" + bytes((style.upside_down,))
    if differs("rotated"):
        out += ESC + b"V" + bytes((style.rotated,))
    return bytes(out)


# --- text ---------------------------------------------------------------------------------


def _clean(text: str) -> str:
    """NFC (so a decomposed "é" can be encoded); tabs and line breaks become spaces."""
    text = unicodedata.normalize("NFC", text)
    return text.translate(_SPACES)


_SPACES = {ord(c): " " for c in "\t\n\r\v\f\x85\u2028\u2029"}


def _wrap(text: str, width: int) -> list[str]:
    """Word-boundary wrapping; a word longer than the line is cut. An empty line stays one."""
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


@cache
def _encoding_map(code_page: int) -> dict[str, int]:
    """Character -> byte for what prints on ``code_page`` with ESC R 0, from the same table
    the tokenizer decodes with. Control bytes and undefined positions are left out."""
    table = codepages.decoding_table(code_page, 0)
    mapping: dict[str, int] = {}
    for byte in range(0x20, 0x100):
        char = table[byte]
        if char != codepages.REPLACEMENT and not unicodedata.category(char).startswith("C"):
            mapping.setdefault(char, byte)
    return mapping


Encoder = Callable[[str], bytes]


def _encoder(code_page: int) -> Encoder:
    mapping = _encoding_map(code_page)
    unknown = mapping["?"]

    def encode(text: str) -> bytes:
        return bytes(mapping.get(char, unknown) for char in text)

    return encode


def _choose_code_page(texts: list[str], profile: PrinterProfile, state: PrinterState) -> int:
    if profile.code_page is not None:
        return profile.code_page
    needed = set("".join(texts))

    def missing(page: int) -> int:
        return len(needed - _encoding_map(page).keys())

    if missing(state.code_page) == 0:
        return state.code_page
    if profile.code_pages is None or missing(PC858) == 0:
        return PC858
    candidates = [p for p in _PREFERRED_PAGES if p in profile.code_pages]
    candidates += sorted(
        p for p in profile.code_pages if p not in candidates and codepages.codec_for(p)
    )
    if not candidates:
        return PC858
    return min(candidates, key=missing)  # the first of the fewest "?"


# --- QR codes -----------------------------------------------------------------------------


def _qr(data: str, profile: PrinterProfile, encode: Encoder) -> bytes:
    """The QR code, centred, then a line feed; its data as text when the printer can draw
    neither a native QR code nor a raster picture, or the data is too long for a symbol that
    fits the paper."""
    import qrcode
    from qrcode.exceptions import DataOverflowError

    symbol = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    symbol.add_data(data.encode("utf-8"))
    try:
        if profile.native_qr:
            modules = 4 * symbol.best_fit() + 17
            size = min(QR_MODULE_DOTS, profile.dots // modules)
            if size >= 1:
                return _native_qr(data, size) + LF
        elif profile.raster:
            symbol.make(fit=True)
            modules = symbol.modules_count + 2 * _QR_BORDER
            size = min(QR_MODULE_DOTS, profile.dots // modules)
            if size >= 1:
                return _raster_qr(symbol, size) + LF
    except (DataOverflowError, ValueError):  # qrcode raises either for too much data
        pass
    return b"".join(encode(row) + LF for row in _wrap(_clean(data), profile.columns))


def _native_qr(data: str, size: int) -> bytes:
    escpos = _escpos()
    printer = escpos.printer.Dummy()
    printer.qr(data, ec=_QR_EC_M, size=size, native=True)
    return bytes(printer.output)


def _raster_qr(symbol: Any, size: int) -> bytes:
    escpos = _escpos()
    symbol.box_size, symbol.border = size, _QR_BORDER
    image = escpos.image.EscposImage(symbol.make_image().get_image())
    height = image.height
    header = GS + b"v0\x00" + image.width_bytes.to_bytes(2, "little") + height.to_bytes(2, "little")
    return header + image.to_raster_format()


# --- barcodes -----------------------------------------------------------------------------

BARCODE_HEIGHT_DOTS = 80  # 10 mm at 203 dpi: scans well, costs little paper
_CODE128_QUIET_MODULES = 20  # 10 modules each side, the symbology's minimum quiet zone
# Epson's power-on values, put back after our symbol (see the module docstring).
_BARCODE_DEFAULTS = GS + b"h\xa2" + GS + b"w\x03" + GS + b"H\x00"


def _barcode(barcode: Barcode, profile: PrinterProfile, encode: Encoder) -> bytes:
    """The symbol, centred, then its data as a text line; as a QR code when CODE128 cannot
    hold the data (code set B prints ASCII 32-126) or would not fit the paper."""
    data = barcode.data
    if (
        barcode.symbology == "CODE128"
        and 0 < len(data) < 120
        and data.isascii()
        and data.isprintable()
    ):
        symbols = len(data) + 3  # start, data, check; the stop symbol is 13 modules
        modules = 11 * symbols + 2 + _CODE128_QUIET_MODULES
        module = min(3, profile.dots // modules)
        if module >= 2:  # 1-dot modules fade into each other on thermal paper
            return _code128(data, module) + encode(_clean(data)) + LF
    return _qr(data, profile, encode)


def _code128(data: str, module: int) -> bytes:
    """Native GS k, function B (m = 73): "{B" selects code set B; a "{" in the data is
    written "{{" so it is not read as a code set switch."""
    payload = b"{B" + data.replace("{", "{{").encode("ascii")
    return (
        GS
        + b"h"
        + bytes((BARCODE_HEIGHT_DOTS,))
        + GS
        + b"w"
        + bytes((module,))
        + GS
        + b"H\x00"
        + GS
        + b"k\x49"
        + bytes((len(payload),))
        + payload
        + _BARCODE_DEFAULTS
    )


# --- python-escpos, loaded once -------------------------------------------------------------


@cache
def _escpos() -> Any:
    """The python-escpos modules we use, imported without keeping the root logging handler
    their import installs (the daemon configures logging itself)."""
    use_capability_cache()
    root = logging.getLogger()
    before = list(root.handlers)
    import escpos.capabilities
    import escpos.image
    import escpos.printer

    for handler in root.handlers[:]:
        if handler not in before:
            root.removeHandler(handler)
    return escpos


@cache
def _escpos_profile(name: str) -> dict[str, Any]:
    return dict(_escpos().capabilities.CAPABILITIES["profiles"][name])


def _epson_pages(pages: dict[str, str]) -> frozenset[int]:
    """The page numbers whose python-escpos encoding is the page our table reads under that
    number. Other vendors number pages differently (Star's 19 is not PC858): those drop out."""
    known: set[int] = set()
    for number, name in pages.items():
        codec = codepages.codec_for(int(number))
        if codec is not None and _same_codec(codec, name):
            known.add(int(number))
    return frozenset(known)


def _same_codec(ours: str, theirs: str) -> bool:
    try:
        return codecs.lookup(ours).name == codecs.lookup(theirs).name
    except LookupError:
        return False


__all__ = [
    "PC858",
    "WPC1252",
    "Barcode",
    "Message",
    "PrinterProfile",
    "render_message",
    "restore_state",
]
