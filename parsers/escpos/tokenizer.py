"""The incremental ESC/POS tokenizer: bytes in, events out, printer state tracked.

Feed it bytes as they arrive; it returns the events they complete and keeps the rest
(``pending``) until more bytes or ``close()`` decide them. Any chunking of the same bytes gives
the same events, because every boundary is fixed by the bytes themselves:

- a text run (bytes 0x20–0xFF) ends at the next byte below 0x20, at ``close()``, or after
  ``MAX_TEXT_RUN`` bytes counted from its start (in Kanji mode, at the last whole character
  within that length);
- a command ends where its length rule (``commands.TABLE``) says; payload pieces are
  ``PAYLOAD_PIECE`` bytes counted from the payload's start.

Events, byte by byte:

- C0 bytes that are not command prefixes become ``Control`` events named by their ASCII
  mnemonic (``LF``, ``CR``, ``HT``, ``FF``, ``CAN``; also ``NUL``, ``BEL``, ``RS``... which the
  printer ignores: the name lets a reader ignore them too).
- Commands become ``Command`` (or ``Cut``, ``Reset``, ``DrawerKick``, ``StatusRequest``).
  Payload commands emit the header, then ``Payload`` pieces, never read as text or commands.
  ``GS k`` m = 0..6 (NUL-terminated data): the data up to and including its NUL is the
  payload; no NUL within ``NUL_SCAN`` bytes makes the header ``Unknown`` and reading resumes
  right after it.
- ``FS q n`` (NV images) and ``ESC & y c1 c2`` (user-defined characters) carry sub-items: the
  header is a ``Command`` with ``payload_length`` 0, then each item is a ``Command`` named
  ``"FS q image"`` (args xL xH yL yH) or ``"ESC & char"`` (args (x,)) whose
  ``payload_length`` bytes follow as ``Payload`` pieces named the same way.
- ``ESC i`` and ``ESC m`` are partial cuts, as Epson's current reference documents them.
  ``DrawerKick.pin`` is the connector pin, 2 or 5. ``DLE DC4 7`` (status in real time) is a
  ``StatusRequest``; ``DLE DC4 1`` a ``DrawerKick``; other ``DLE DC4`` functions ``Command``.
- Anything else starting with a prefix is ``Unknown``: the prefix and the unknown name byte (or
  the prefix alone when that byte is a control, or for a lone DLE), so a following command is
  never swallowed. A command with an impossible selector (``GS V 7``) is ``Unknown`` over its
  name bytes.
- At ``close()``, a stream that ends inside a command ends in a ``Truncated`` event (an
  ``Unknown`` whose reason starts "truncated"): the command's name, what it declared (bytes,
  or characters and images for ``ESC &`` and ``FS q``) and what came. It holds the unfinished
  header or payload piece, or no byte at all when the stream ended right after a complete
  header (``ESC & y c1 c2`` and no character; a ``GS v 0`` header and no data).

``GS D 0`` (BMP graphics) is sized by the BMP's own header, which the command table reads as
its last arguments. In Kanji mode a text run comes as runs of one-byte and of two-byte
characters: the two-byte ones carry the Kanji sizes and underline (``FS !``, ``FS W``,
``FS -``, kept in ``PrinterState.kanji_style``).

Events are values; equal commands share one event object (treat events as immutable).
"""

from __future__ import annotations

import re
from codecs import charmap_decode
from collections.abc import Callable
from dataclasses import fields, replace

from parsers.escpos import codepages
from parsers.escpos.commands import (
    DLE,
    NUL_SCAN,
    PREFIXES,
    TABLE,
    UNTIL_NUL,
    Family,
    Items,
    Kind,
    Spec,
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
    StatusRequest,
    Text,
    TextStyle,
    Truncated,
    Unknown,
)
from parsers.escpos.state import KanjiStyle, PrinterState

MAX_TEXT_RUN = 4096

_TEXT_RUN = re.compile(rb"[\x20-\xff]{1,%d}" % MAX_TEXT_RUN)

# fmt: off
_C0_NAMES = (
    "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
    "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB",
    "ESC", "FS", "GS", "RS", "US",
)
# fmt: on
_CONTROLS: tuple[Control, ...] = tuple(
    Control(bytes((b,)), name) for b, name in enumerate(_C0_NAMES)
)


def _flatten() -> tuple[dict[bytes, Spec], frozenset[bytes]]:
    """Specs by their name bytes (two, or three for family members), and the two-byte keys
    that need a third byte."""
    specs: dict[bytes, Spec] = {}
    families: set[bytes] = set()
    letters = [*range(ord("A"), ord("Z") + 1), *range(ord("a"), ord("z") + 1)]
    for key, entry in TABLE.items():
        if isinstance(entry, Spec):
            specs[key] = entry
            continue
        families.add(key)
        if entry.other is not None:
            for third in letters:
                specs[key + bytes((third,))] = entry.other(third)
        for third, spec in entry.members.items():
            specs[key + bytes((third,))] = spec
    return specs, frozenset(families)


_SPECS, _FAMILIES = _flatten()
# Two-byte commands whose length is fixed and whose bytes alone decide the event: the hot path.
_FIXED_LENGTH: dict[bytes, int] = {
    key: 2 + spec.args
    for key, spec in _SPECS.items()
    if len(key) == 2
    and spec.args_by_first is None
    and not spec.until_nul
    and spec.payload is None
    and spec.items is None
}
_ASCII = "".join(map(chr, range(0x80)))
_PREFIX_NAMES = {0x1B: "ESC", 0x1D: "GS", 0x1C: "FS", 0x10: "DLE"}

# Equal command bytes give equal events: build each once. Bounded so a stream of ever-new
# arguments cannot grow it without limit.
_EVENT_CACHE: dict[bytes, tuple[Command, Callable[..., None] | None, bool]] = {}
_EVENT_CACHE_MAX = 4096

# --- printer state --------------------------------------------------------------------------

# (id of the style in force, command, argument) -> (that style, the style after the command).
# Holding the source style keeps its id from being reused while the entry lives.
_TRANSITIONS: dict[tuple[int, str, int], tuple[TextStyle, TextStyle]] = {}

# One object per distinct style, so equal styles have equal ids in _TRANSITIONS.
_STYLES: dict[TextStyle, TextStyle] = {}

StyleRule = Callable[[TextStyle, int], TextStyle]


def _style_effect(name: str, rule: StyleRule) -> Callable[[PrinterState, int], None]:
    """An effect that changes only the text style; one style object per distinct result,
    computed once, because hashing and rebuilding TextStyle would dominate styled text."""

    def effect(state: PrinterState, n: int) -> None:
        style = state.style
        key = (id(style), name, n)
        hit = _TRANSITIONS.get(key)
        if hit is None or hit[0] is not style:
            if len(_TRANSITIONS) >= 4096:
                _TRANSITIONS.clear()
                _STYLES.clear()
            new = rule(style, n)
            hit = _TRANSITIONS[key] = (style, _STYLES.setdefault(new, new))
        state.style = hit[1]

    return effect


def _print_mode(style: TextStyle, n: int) -> TextStyle:  # ESC !
    return replace(
        style,
        font="B" if n & 1 else "A",
        bold=bool(n & 8),
        height=2 if n & 16 else 1,
        width=2 if n & 32 else 1,
        underline=1 if n & 128 else 0,
    )


def _size(style: TextStyle, n: int) -> TextStyle:  # GS !
    if n & 0x88:  # out-of-range sizes: the printer ignores the command
        return style
    return replace(style, width=(n >> 4) + 1, height=(n & 7) + 1)


_KANJI_UNDERLINE = {0: 0, 48: 0, 1: 1, 49: 1, 2: 2, 50: 2}


def _kanji_print_mode(state: PrinterState, n: int) -> None:  # FS !
    state.kanji_style = replace(
        state.kanji_style,
        width=2 if n & 4 else 1,
        height=2 if n & 8 else 1,
        underline=1 if n & 128 else 0,
    )


def _kanji_underline(state: PrinterState, n: int) -> None:  # FS -
    if n in _KANJI_UNDERLINE:
        state.kanji_style = replace(state.kanji_style, underline=_KANJI_UNDERLINE[n])


def _kanji_quadruple(state: PrinterState, n: int) -> None:  # FS W
    size = 2 if n & 1 else 1
    state.kanji_style = replace(state.kanji_style, width=size, height=size)


_KANJI_TEXT_STYLES: dict[tuple[TextStyle, KanjiStyle], TextStyle] = {}


def _kanji_text_style(style: TextStyle, kanji: KanjiStyle) -> TextStyle:
    """The style two-byte characters print in: sizes and underline from FS !, FS W, FS -;
    the rest (emphasis, reverse, rotation...) as for one-byte characters."""
    key = (style, kanji)
    hit = _KANJI_TEXT_STYLES.get(key)
    if hit is None:
        if len(_KANJI_TEXT_STYLES) >= 1024:
            _KANJI_TEXT_STYLES.clear()
        hit = replace(style, width=kanji.width, height=kanji.height, underline=kanji.underline)
        _KANJI_TEXT_STYLES[key] = hit
    return hit


def _flag(attribute: str) -> StyleRule:
    return lambda style, n: replace(style, **{attribute: bool(n & 1)})


def _choice(attribute: str, values: dict[int, object]) -> StyleRule:
    def rule(style: TextStyle, n: int) -> TextStyle:
        return replace(style, **{attribute: values[n]}) if n in values else style

    return rule


_ALIGN = {0: Align.LEFT, 48: Align.LEFT, 1: Align.CENTER, 49: Align.CENTER}
_ALIGN |= {2: Align.RIGHT, 50: Align.RIGHT}
_FONTS = {0: "A", 1: "B", 2: "C", 3: "D", 4: "E", 97: "A", 98: "B"}
_FONTS |= {n + 48: font for n, font in _FONTS.items() if n < 5}
_KANJI_CODES = {0: "jis", 48: "jis", 1: "shift_jis", 49: "shift_jis"}
_KANJI_CODES |= {2: "shift_jis_2004", 50: "shift_jis_2004"}
_DEFAULTS = PrinterState()


def _reset(state: PrinterState, *_: int) -> None:
    # In place, so whoever holds the state object sees the reset.
    for f in fields(PrinterState):
        setattr(state, f.name, getattr(_DEFAULTS, f.name))


def _set_align(state: PrinterState, n: int) -> None:
    state.align = _ALIGN.get(n, state.align)


def _set_spacing(state: PrinterState, n: int | None) -> None:
    state.line_spacing = n


def _set_code_page(state: PrinterState, n: int) -> None:
    state.code_page = n


def _set_international(state: PrinterState, n: int) -> None:
    state.international = n


def _set_kanji(on: bool) -> Callable[..., None]:
    def effect(state: PrinterState, *_: int) -> None:
        state.kanji = on

    return effect


def _set_kanji_code(state: PrinterState, n: int) -> None:
    state.kanji_encoding = _KANJI_CODES.get(n, state.kanji_encoding)


# Command name -> what it does to the printer state, called with the command's args.
_EFFECTS: dict[str, Callable[..., None]] = {
    "ESC @": _reset,
    "ESC !": _style_effect("ESC !", _print_mode),
    "GS !": _style_effect("GS !", _size),
    "ESC E": _style_effect("ESC E", _flag("bold")),
    "ESC G": _style_effect("ESC G", _flag("double_strike")),
    "GS B": _style_effect("GS B", _flag("reverse")),
    "ESC {": _style_effect("ESC {", _flag("upside_down")),
    "ESC -": _style_effect("ESC -", _choice("underline", {0: 0, 48: 0, 1: 1, 49: 1, 2: 2, 50: 2})),
    "ESC V": _style_effect(
        "ESC V", _choice("rotated", {0: False, 48: False, 1: True, 49: True, 2: True, 50: True})
    ),
    "ESC M": _style_effect("ESC M", _choice("font", _FONTS)),
    "ESC a": _set_align,
    "ESC 2": lambda state: _set_spacing(state, None),
    "ESC 3": _set_spacing,
    "ESC t": _set_code_page,
    "ESC R": _set_international,
    "FS &": _set_kanji(True),
    "FS .": _set_kanji(False),
    "FS C": _set_kanji_code,
    "FS !": _kanji_print_mode,
    "FS -": _kanji_underline,
    "FS W": _kanji_quadruple,
}
_DECODING = frozenset(("ESC @", "ESC t", "ESC R", "FS &", "FS .", "FS C"))

# --- events ---------------------------------------------------------------------------------

_PARTIAL_CUTS = frozenset((1, 49, 66, 98, 104))


def _build(spec: Spec, raw: bytes, args: tuple[int, ...], payload_length: int) -> Command:
    kind = spec.kind
    name = spec.name
    if kind is Kind.COMMAND:
        if name == "DLE DC4":
            if args[0] == 1:
                return DrawerKick(raw, name, args, 0, 5 if args[1] & 1 else 2)
            if args[0] == 7:
                return StatusRequest(raw, name, args)
        return Command(raw, name, args, payload_length)
    if kind is Kind.CUT:
        if name == "GS V":
            feed = args[1] if len(args) > 1 else 0
            return Cut(raw, name, args, 0, args[0] in _PARTIAL_CUTS, feed)
        return Cut(raw, name, args, 0, True, 0)
    if kind is Kind.STATUS:
        return StatusRequest(raw, name, args)
    if kind is Kind.RESET:
        return Reset(raw, name, args)
    return DrawerKick(raw, name, args, 0, 5 if args[0] & 1 else 2)


class Tokenizer:
    """Bytes to events, incrementally. See the module docstring for the rules.

    ``state`` is the printer state after all events emitted so far (a copy of the one passed
    in); ``pending`` counts the bytes fed but not yet part of an emitted event.
    """

    def __init__(self, state: PrinterState | None = None) -> None:
        self.state: PrinterState = state.copy() if state is not None else PrinterState()
        self._buf = b""
        # When _buf is an unfinished text run, its length: the next feed looks only at what
        # continues it, so a run fed a byte at a time is scanned once, not once per byte.
        self._text_run = 0
        # The payload being read: its command's name, bytes still to come (not counting the
        # unfinished piece), the offset of the unfinished piece, and that piece's bytes.
        self._payload_name = ""
        self._payload_left = 0
        self._payload_offset = 0
        self._piece: list[bytes] = []
        self._piece_len = 0
        # Sub-items still to come (FS q images, ESC & characters).
        self._items: Items | None = None
        self._items_left = 0
        self._items_count = 0
        self._items_of = ""  # the command the sub-items belong to
        self._items_args: tuple[int, ...] = ()
        self._table = ""
        self._kanji: str | None = None
        self._ascii_ok = True
        self._refresh_decoding()

    @property
    def pending(self) -> int:
        return len(self._buf) + self._piece_len

    def feed(self, data: bytes) -> list[Event]:
        out: list[Event] = []
        if not data:
            return out
        run = self._text_run
        if run:
            self._text_run = 0
            more = _TEXT_RUN.match(data, 0, MAX_TEXT_RUN - run)
            if more is not None and more.end() == len(data) and run + len(data) < MAX_TEXT_RUN:
                self._buf += data  # the run goes on past this chunk too
                self._text_run = run + len(data)
                return out
        self._run(self._buf + data if self._buf else bytes(data), out, closing=False)
        return out

    def close(self) -> list[Event]:
        out: list[Event] = []
        self._text_run = 0
        self._run(self._buf, out, closing=True)
        if self._payload_left:
            name = self._payload_name
            came = self._payload_offset + self._piece_len
            total = came + self._payload_left
            reason = f"truncated payload of {name}: {came} of {total} bytes"
            if self._items is not None and name == self._items.name:
                reason += self._item_place(self._items_count - self._items_left)
            out.append(Truncated(b"".join(self._piece), reason, name, total, came))
        elif self._items is not None and self._items_left:
            done, count, unit = (
                self._items_count - self._items_left,
                self._items_count,
                self._items.unit,
            )
            reason = f"truncated {self._items_of}: {done} of {count} {unit}"
            out.append(Truncated(b"", reason, self._items_of, count, done, unit))
        self._payload_left = self._piece_len = self._items_left = self._items_count = 0
        self._piece = []
        self._items = None
        return out

    def _item_place(self, index: int) -> str:
        """Which sub-item a truncated stream ended in: ", in character 2 of 3"."""
        assert self._items is not None
        return f", in {self._items.unit.removesuffix('s')} {index} of {self._items_count}"

    # --- the loop -------------------------------------------------------------------------

    def _run(self, buf: bytes, out: list[Event], closing: bool) -> None:
        i = 0
        n = len(buf)
        while i < n:
            if self._payload_left:
                i = self._take_payload(buf, i, n, out)
            elif self._items_left:
                j = self._item_header(buf, i, n, out, closing)
                if j < 0:
                    break
                i = j
            else:
                i = self._read(buf, i, n, out, closing)
                if i < 0:
                    i = -i - 1
                    break
        self._buf = buf[i:] if i < n else b""

    def _read(self, buf: bytes, i: int, n: int, out: list[Event], closing: bool) -> int:
        """Text, controls and commands from ``i`` until the end of ``buf``, a payload or
        sub-items to read, or bytes to wait for. Returns the index reached, or ``-1 - index``
        when waiting for more bytes from that index on.

        This is the hot path: names are bound to locals, and the style, alignment and decoding
        table are reloaded only after a command that may change them.
        """
        append = out.append
        text_match = _TEXT_RUN.match
        controls = _CONTROLS
        prefixes = PREFIXES
        fixed_length = _FIXED_LENGTH.get
        cache_get = _EVENT_CACHE.get
        state = self.state
        style = state.style
        align = state.align
        table = self._table
        kanji = self._kanji
        ascii_ok = self._ascii_ok
        while i < n:
            b = buf[i]
            if b >= 0x20:
                j = text_match(buf, i).end()  # type: ignore[union-attr]
                if j == n and j - i < MAX_TEXT_RUN and not closing:
                    self._text_run = j - i
                    return -1 - i  # the run may go on in the next chunk
                if kanji is None:
                    raw = buf[i:j]
                    if ascii_ok and raw.isascii():
                        text = raw.decode("ascii")
                    else:
                        text = charmap_decode(raw, "strict", table)[0]
                    append(Text(raw, text, style, align))
                else:
                    if j - i == MAX_TEXT_RUN:
                        j = i + (codepages.kanji_boundary(buf[i:j], kanji) or MAX_TEXT_RUN)
                    wide = _kanji_text_style(style, state.kanji_style)
                    for raw, text, two_byte in codepages.kanji_runs(buf[i:j], kanji):
                        append(Text(raw, text, wide if two_byte else style, align))
                i = j
                # Text usually ends at a line feed: take it now rather than loop again.
                if j < n:
                    b = buf[j]
                    if b < 0x20 and b not in prefixes:
                        append(controls[b])
                        i += 1
            elif b in prefixes:
                # Fast path: a fixed-length command seen before.
                length = fixed_length(buf[i : i + 2])
                if length is not None and i + length <= n:
                    hit = cache_get(buf[i : i + length])
                    if hit is not None:
                        event, effect, refresh = hit
                        append(event)
                        i += length
                        if effect is not None:
                            effect(state, *event.args)
                            style = state.style
                            align = state.align
                            if refresh:
                                self._refresh_decoding()
                                table = self._table
                                kanji = self._kanji
                                ascii_ok = self._ascii_ok
                        continue
                j = self._command(buf, i, n, out, closing)
                if j < 0:
                    return -1 - i
                i = j
                if self._payload_left or self._items_left:
                    return i
                style = state.style
                align = state.align
                table = self._table
                kanji = self._kanji
                ascii_ok = self._ascii_ok
            else:
                append(controls[b])
                i += 1
        return i

    def _take_payload(self, buf: bytes, i: int, n: int, out: list[Event]) -> int:
        """Cut the payload into pieces counted from its start; keep an unfinished piece."""
        name = self._payload_name
        while self._payload_left and i < n:
            want = min(self._payload_left, PAYLOAD_PIECE - self._piece_len)
            take = min(want, n - i)
            chunk = buf[i : i + take]
            i += take
            self._payload_left -= take
            if take < want:
                self._piece.append(chunk)
                self._piece_len += take
                break
            if self._piece_len:
                self._piece.append(chunk)
                chunk = b"".join(self._piece)
                self._piece = []
                self._piece_len = 0
            out.append(Payload(chunk, name, self._payload_offset))
            self._payload_offset += len(chunk)
        return i

    def _start_payload(self, name: str, length: int) -> None:
        self._payload_name = name
        self._payload_left = length
        self._payload_offset = 0

    def _item_header(self, buf: bytes, i: int, n: int, out: list[Event], closing: bool) -> int:
        items = self._items
        assert items is not None
        end = i + items.header
        if end > n:
            if not closing:
                return -1
            came = n - i
            reason = f"truncated {items.name} header: {came} of {items.header} bytes"
            reason += self._item_place(self._items_count - self._items_left + 1)
            out.append(Truncated(buf[i:], reason, items.name, items.header, came))
            self._items_left = 0
            return n
        raw = buf[i:end]
        sub = tuple(raw)
        length = items.payload(self._items_args, sub)
        out.append(Command(raw, items.name, sub, length))
        self._items_left -= 1
        if length:
            self._start_payload(items.name, length)
        return end

    def _command(self, buf: bytes, i: int, n: int, out: list[Event], closing: bool) -> int:
        """Read the command at ``i``; return the index after it, or -1 to wait for bytes."""
        prefix = buf[i]
        if i + 1 >= n:
            return self._incomplete(buf, i, out, closing, _PREFIX_NAMES[prefix], None)
        if prefix == DLE and buf[i + 1] not in (0x04, 0x05, 0x14):
            out.append(Unknown(buf[i : i + 1], "DLE not followed by EOT, ENQ or DC4"))
            return i + 1
        key = buf[i : i + 2]
        name_len = 2
        if key in _FAMILIES:
            if i + 2 >= n:
                family = TABLE[key]
                assert isinstance(family, Family)
                return self._incomplete(buf, i, out, closing, family.prefix, None)
            key = buf[i : i + 3]
            name_len = 3
        spec = _SPECS.get(key)
        if spec is None:
            # Cover the unknown name byte too, unless it is a control that may start the next
            # command or line.
            cover = name_len if buf[i + name_len - 1] >= 0x20 else name_len - 1
            unknown = " ".join(f"0x{c:02X}" for c in key[1:])
            out.append(
                Unknown(buf[i : i + cover], f"unknown command {_PREFIX_NAMES[prefix]} {unknown}")
            )
            return i + cover

        start = i + name_len
        nargs = spec.args
        if spec.args_by_first is not None:
            if start >= n:
                return self._incomplete(buf, i, out, closing, spec.name, None)
            chosen = spec.args_by_first.get(buf[start], spec.args_default)
            if chosen is None:
                reason = f"{spec.name} with unexpected argument {buf[start]}"
                out.append(Unknown(buf[i:start], reason))
                return start
            nargs = chosen
        elif spec.until_nul:
            nul = buf.find(b"\0", start, start + spec.until_nul)
            if nul < 0:
                if n - start >= spec.until_nul:
                    out.append(Unknown(buf[i:start], f"{spec.name} list without its NUL"))
                    return start
                return self._incomplete(buf, i, out, closing, spec.name, None)
            nargs = nul + 1 - start
        end = start + nargs
        if end > n:
            return self._incomplete(buf, i, out, closing, spec.name, end - i)
        raw = buf[i:end]

        hit = _EVENT_CACHE.get(raw)
        if hit is not None:
            event = hit[0]
        else:
            args = tuple(raw[name_len:])
            length = spec.payload(args) if spec.payload is not None else 0
            if length == UNTIL_NUL:
                nul = buf.find(b"\0", end, end + NUL_SCAN)
                if nul < 0:
                    if n - end >= NUL_SCAN:
                        out.append(Unknown(raw, f"no NUL within 255 bytes: {spec.name} data"))
                        return end  # resynchronise on the data
                    if not closing:
                        return -1
                    # The stream ended before the NUL: what came is the barcode's data.
                    reason = f"truncated {spec.name} data: no NUL in the {n - end} bytes that came"
                    out.append(Truncated(buf[i:], reason, spec.name, None, n - i))
                    return n
                # Depends on the data, so not cached.
                event = _build(spec, raw, args, nul + 1 - end)
            else:
                event = _build(spec, raw, args, length)
                if len(_EVENT_CACHE) >= _EVENT_CACHE_MAX:
                    _EVENT_CACHE.clear()
                _EVENT_CACHE[raw] = (event, _EFFECTS.get(spec.name), spec.name in _DECODING)
        out.append(event)

        effect = _EFFECTS.get(spec.name)
        if effect is not None:
            effect(self.state, *event.args)
            if spec.name in _DECODING:
                self._refresh_decoding()
        if event.payload_length:
            self._start_payload(spec.name, event.payload_length)
        if spec.items is not None:
            self._items = spec.items
            self._items_left = self._items_count = spec.items.count(event.args)
            self._items_of = spec.name
            self._items_args = event.args
        return end

    @staticmethod
    def _incomplete(
        buf: bytes, i: int, out: list[Event], closing: bool, name: str, declared: int | None
    ) -> int:
        """Wait for more bytes; or, closing, report the command cut short (``declared``: its
        length, when the bytes that came already tell it)."""
        if not closing:
            return -1
        came = len(buf) - i
        if declared is None:
            bytes_came = "1 byte" if came == 1 else f"{came} bytes"
            reason = f"truncated {name}: {bytes_came} came, too few to tell its length"
        else:
            reason = f"truncated {name}: {came} of {declared} bytes"
        out.append(Truncated(buf[i:], reason, name, declared, came))
        return len(buf)

    def _refresh_decoding(self) -> None:
        state = self.state
        self._kanji = state.kanji_encoding if state.kanji else None
        self._table = codepages.decoding_table(state.code_page, state.international)
        # Pure ASCII text then decodes with the faster ASCII codec.
        self._ascii_ok = self._table[:0x80] == _ASCII


def apply_effect(state: PrinterState, event: Event) -> None:
    """Change ``state`` as ``event`` changed the tokenizer's state when it was read.

    A reader of a batch of events can follow the printer state event by event with it (the
    state at a cut in the middle of the batch), at the cost of one lookup per event, rather
    than tokenizing the batch's commands again.
    """
    if isinstance(event, Command):
        effect = _EFFECTS.get(event.name)
        if effect is not None:
            effect(state, *event.args)


def last_state_change(events: list[Event]) -> int:
    """The index of the last event in ``events`` that changed the printer state; -1 if none.
    After it, the state is the one the tokenizer ended the batch in."""
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if isinstance(event, Command) and event.name in _EFFECTS:
            return index
    return -1


def tokenize(data: bytes, state: PrinterState | None = None) -> list[Event]:
    """All events of a complete stream: ``feed(data)`` then ``close()``."""
    tokenizer = Tokenizer(state)
    return tokenizer.feed(data) + tokenizer.close()
