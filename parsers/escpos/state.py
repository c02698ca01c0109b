"""The printer state a stream sets up, as the tokenizer tracks it."""

from __future__ import annotations

from dataclasses import dataclass, field

from parsers.escpos.events import Align, TextStyle


@dataclass(frozen=True, slots=True)
class KanjiStyle:
    """How Kanji mode prints its two-byte characters (FS !, FS -, FS W); single-byte
    characters keep the ESC ! / GS ! style."""

    width: int = 1
    height: int = 1
    underline: int = 0


@dataclass(slots=True)
class PrinterState:
    """Everything an ESC/POS stream has set that changes how later bytes print.

    ESC @ resets it to these defaults. ``code_page`` is the Epson ESC t number (0 = PC437);
    ``international`` the ESC R character set (0 = USA).
    """

    code_page: int = 0
    international: int = 0
    align: Align = Align.LEFT
    style: TextStyle = field(default_factory=TextStyle)
    line_spacing: int | None = None  # None: the printer's default (ESC 2)
    kanji: bool = False  # FS & / FS .
    kanji_encoding: str = "shift_jis"  # FS C selects the Kanji code system
    kanji_style: KanjiStyle = field(default_factory=KanjiStyle)

    def copy(self) -> PrinterState:
        return PrinterState(
            self.code_page,
            self.international,
            self.align,
            self.style,
            self.line_spacing,
            self.kanji,
            self.kanji_encoding,
            self.kanji_style,
        )
