"""ESC/POS: bytes to events (the incremental tokenizer), the command table, code pages."""

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
from parsers.escpos.state import PrinterState
from parsers.escpos.tokenizer import MAX_TEXT_RUN, Tokenizer, tokenize

__all__ = [
    "MAX_TEXT_RUN",
    "PAYLOAD_PIECE",
    "Align",
    "Command",
    "Control",
    "Cut",
    "DrawerKick",
    "Event",
    "Payload",
    "PrinterState",
    "Reset",
    "StatusRequest",
    "Text",
    "TextStyle",
    "Tokenizer",
    "Truncated",
    "Unknown",
    "tokenize",
]
