"""What the tokenizer emits: one event per command, control byte or run of text.

Every input byte belongs to exactly one event, in order, so ``b"".join(e.raw for e in
events)`` is the input again. Every event holds at least one byte, but for a stream that ends
right after a command's header: the ``Truncated`` event that says so is last and may be empty.

Events are plain values: treat them as immutable. They are ``slots`` dataclasses rather than
frozen ones because a frozen dataclass costs three times as much to build, and the tokenizer
builds one per command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Align(Enum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


@dataclass(frozen=True, slots=True)
class TextStyle:
    """Character style in force when a run of text was printed."""

    bold: bool = False
    underline: int = 0  # 0 off, 1 thin, 2 thick
    double_strike: bool = False
    width: int = 1  # character width multiplier, 1..8
    height: int = 1  # character height multiplier, 1..8
    font: str = "A"  # "A", "B", "C"...
    reverse: bool = False  # white on black
    upside_down: bool = False
    rotated: bool = False  # 90 degrees clockwise


@dataclass(slots=True)
class Event:
    raw: bytes


@dataclass(slots=True)
class Text(Event):
    """A run of printable bytes decoded with the code page (or Kanji mode) in force."""

    text: str
    style: TextStyle = field(default_factory=TextStyle)
    align: Align = Align.LEFT


@dataclass(slots=True)
class Control(Event):
    """A single-byte control: ``LF``, ``CR``, ``HT``, ``FF``, ``CAN``."""

    name: str


@dataclass(slots=True)
class Command(Event):
    """A complete ESC, GS, FS or DLE command.

    ``name`` is the Epson mnemonic without its arguments (``"ESC a"``, ``"GS ( k"``,
    ``"GS v 0"``); ``args`` are the argument bytes after the name as integers. For a command
    that carries a payload (images, barcodes, 2D codes, downloaded graphics), this event holds
    only the header and ``payload_length`` says how many bytes follow as ``Payload`` events.
    """

    name: str
    args: tuple[int, ...] = ()
    payload_length: int = 0


@dataclass(slots=True)
class Payload(Event):
    """A piece of a command's payload (image data, barcode digits, QR content...).

    Payloads are cut into pieces of at most ``PAYLOAD_PIECE`` bytes counted from the start of
    the payload, so the pieces do not depend on how the input was chunked, and the tokenizer's
    memory does not grow with the size a header declares. ``offset`` is the piece's position in
    the payload; ``command`` is the name of the command it belongs to.
    """

    command: str
    offset: int = 0


PAYLOAD_PIECE = 4096


@dataclass(slots=True)
class Cut(Command):
    """The paper is cut (GS V in all its forms, ESC i, ESC m): the usual end of a receipt."""

    partial: bool = False
    feed: int = 0  # motion units fed before the cut by the feed-and-cut forms


@dataclass(slots=True)
class Reset(Command):
    """ESC @: the printer is initialised; all state goes back to its defaults."""


@dataclass(slots=True)
class DrawerKick(Command):
    """ESC p or DLE DC4 1: a pulse to the cash drawer connector (often right after the cut)."""

    pin: int = 0


@dataclass(slots=True)
class StatusRequest(Command):
    """A request the printer answers: DLE EOT n, DLE ENQ n, GS r n, GS I n, GS a n (ASB)."""


@dataclass(slots=True)
class Unknown(Event):
    """Bytes the tokenizer could not read as a command: unknown, malformed or truncated.

    The tokenizer resynchronises after them; ``reason`` says what was wrong, for logs.
    """

    reason: str


@dataclass(slots=True)
class Truncated(Unknown):
    """The stream ended inside a command (emitted by ``Tokenizer.close()``, always last).

    ``raw`` is what came of it that no earlier event holds: the unfinished header or payload
    piece, or nothing when the stream ended right after a complete header (its ``Command``
    event came earlier). ``command`` names the command cut short; it declared ``declared``
    ``unit`` (bytes, or characters and images for ``ESC &`` and ``FS q``; ``None`` when the
    bytes that came do not say yet) and ``received`` of them came. ``reason`` says all of it
    in words, starting with "truncated".
    """

    command: str = ""
    declared: int | None = None
    received: int = 0
    unit: str = "bytes"
