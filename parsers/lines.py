"""Printed lines: styled spans, placed in character columns as the printer places them.

A till lays out columns in one of three ways: with spaces, with tabs (``HT`` to the ``ESC D``
stops) or with print positions (``ESC $`` absolute, ``ESC \\`` relative, in motion units from
the left edge of the print area that ``GS L`` and ``GS W`` set). ``LinePlacer`` turns all three
into the same thing, a line of characters whose columns are as far apart as on paper, so a
grammar reads ``Flat white      3.20`` however the till spaced it.

How positions become columns (the assumptions, stated once):

- A column is one character of the font in force: Font A is 12 dots wide, Font B and C 9
  (Epson TM models at 203 dpi, and most of their clones), plus the right-side spacing of
  ``ESC SP``. A print area of 576 dots, 72 mm of 80 mm paper, is 48 Font A columns; 58 mm
  printers have 384 dots (32 columns): pass a ``Paper`` for them.
- The horizontal motion unit is one dot until ``GS P x y`` makes it 1/x inch. ``ESC $``,
  ``ESC \\``, ``GS L``, ``GS W`` and ``ESC SP`` are converted with the unit in force when they
  come, as the printer does.
- Double width counts as two columns, as do East Asian wide characters (Kanji, Hangul); double
  width and wide multiply. Combining marks take no column (they print over the character
  before, as in Thai).
- A move is resolved in the font of the text that follows it, to the nearest column: the
  paper's gap, in that font's columns. A move outside the print area is ignored, as the printer
  ignores it. ``HT`` goes to the next ``ESC D`` stop (character columns from the print area's
  left edge; every 8 by default); past the last stop it is ignored; ``ESC D`` with no stops
  clears them.
- A move with no text after it on the line prints nothing, so it adds nothing: a line never
  ends in the blanks of a tab.
- ``GS L`` takes effect at the start of a line, as on the printer. A left-aligned line starts
  with its margin as spaces; a centred or right-aligned line starts with its first character
  (where the printer puts it depends on the paper, not on the till's layout).
- Text placed where text already is (a move backwards, or an absolute position already passed)
  prints over it, as on paper, and the line keeps every character it can: a blank leaves the
  character under it (it prints no character, at most an underline); a character over a
  character replaces it (the later one is what the till meant: a correction, or an overstrike
  of the same text); a character over any half of a double-width one replaces all of it.
  Nothing else is ever dropped. Once a line has text printed over text, each later run costs
  its own length, not the line's.
- A line longer than the print area stays one line (the printer would wrap it): a grammar
  reads the till's line as the till sent it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter

from parsers.escpos.events import Align, TextStyle

PLAIN = TextStyle()
FONT_DOTS: dict[str, int] = {"A": 12, "B": 9, "C": 9}
DEFAULT_FONT_DOTS = 12
_FONT_DOTS_GET = FONT_DOTS.get
DEFAULT_TAB_STOPS: tuple[int, ...] = tuple(range(8, 256, 8))
# The commands ``LinePlacer.command`` follows.
PLACEMENT_COMMANDS = frozenset(("ESC $", "ESC \\", "ESC D", "GS L", "GS W", "GS P", "ESC SP"))


@dataclass(frozen=True, slots=True)
class Paper:
    """The printer's geometry: its printable width in dots and its resolution."""

    width: int = 576  # dots: 80 mm paper (72 mm printable) at 203 dpi, 48 Font A columns
    dpi: int = 203


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


def columns_of(text: str, width: int = 1) -> int:
    """How many columns ``text`` takes on paper at character width ``width``."""
    # Nearly every receipt holds only characters one column wide (Latin, Greek, Cyrillic, €):
    # one search in C tells, rather than a look-up per character.
    if text.isascii() or _SPECIAL.search(text) is None:
        return len(text) * width
    return sum(_char_columns(ch) for ch in text) * width


def _char_columns(ch: str) -> int:
    if unicodedata.category(ch) in ("Mn", "Me"):  # a mark over the character before
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def _special_characters() -> re.Pattern[str]:
    """The characters not one column wide, as one character class: those below U+3000 found
    one by one (about 20 ms, once, at import), and everything from U+3000 on (CJK, Hangul,
    full-width forms: mostly wide), which then takes the exact path."""
    ranges: list[str] = []
    start = -1
    for code in range(0x300, 0x3001):
        special = code < 0x3000 and _char_columns(chr(code)) != 1
        if special and start < 0:
            start = code
        elif not special and start >= 0:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(code - 1))}")
            start = -1
    return re.compile(f"[{''.join(ranges)}\u3000-\U0010ffff]")


_SPECIAL = _special_characters()


class LinePlacer:
    """The print position on the line in progress, and the settings that move it.

    The builder calls ``place`` for each run of text, ``tab`` for HT, ``command`` for the
    ``PLACEMENT_COMMANDS``, ``finish`` when the line is printed (``new_line`` when a line feed
    prints no text) and ``reset`` on ESC @.
    """

    def __init__(self, paper: Paper | None = None) -> None:
        self.paper = paper if paper is not None else Paper()
        self.reset()

    def reset(self) -> None:
        self._unit = 1.0  # dots per horizontal motion unit
        self._margin = 0.0  # dots
        self._area: float = self.paper.width  # dots
        self._spacing = 0.0  # dots right of every character
        self.tab_stops: tuple[int, ...] = DEFAULT_TAB_STOPS
        # A column of the last text, in dots: the font a tab at a line's start is counted in.
        self._column_dots = float(DEFAULT_FONT_DOTS)
        self.new_line()

    def new_line(self) -> None:
        self._column = 0  # where the next character goes, in columns from the area's edge
        self._end = 0  # the columns the line fills so far
        self._dots = 0.0  # the print position, in dots from the area's edge
        self._target: float | None = None  # a move not resolved yet, in dots
        self._margin_columns: int | None = None  # fixed by the line's first text
        # The line as cells, once text was printed over text: later text goes there too, so
        # each run costs its own length, not the line's (``finish`` makes spans of them).
        self._cells: list[_Cell] | None = None

    # -- settings ---------------------------------------------------------------------------

    def command(self, name: str, args: tuple[int, ...]) -> None:
        """Follow one of the ``PLACEMENT_COMMANDS``; a malformed one changes nothing."""
        if name == "ESC $" and len(args) == 2:
            self._move_to((args[0] + 256 * args[1]) * self._unit)
        elif name == "ESC \\" and len(args) == 2:
            step = args[0] + 256 * args[1]
            step -= 65536 if step >= 32768 else 0  # a signed 16-bit count
            self._move_to(self._position() + step * self._unit)
        elif name == "ESC D":
            self._set_tab_stops(args)
        elif name == "GS L" and len(args) == 2:
            self._margin = (args[0] + 256 * args[1]) * self._unit
        elif name == "GS W" and len(args) == 2:
            self._area = (args[0] + 256 * args[1]) * self._unit
        elif name == "GS P" and len(args) == 2:
            self._unit = self.paper.dpi / args[0] if args[0] else 1.0
        elif name == "ESC SP" and args:
            self._spacing = args[0] * self._unit

    def _set_tab_stops(self, args: tuple[int, ...]) -> None:
        stops: list[int] = []
        for n in args:  # ESC D n1 ... nk NUL: ascending columns, NUL ends the list
            if n == 0 or (stops and n <= stops[-1]):
                break
            stops.append(n)
        self.tab_stops = tuple(stops)

    def _area_width(self) -> float:
        # A margin and an area that overrun the paper: the printer shortens the area.
        return max(0.0, min(self._area, self.paper.width - self._margin))

    def _position(self) -> float:
        return self._target if self._target is not None else self._dots

    def _move_to(self, dots: float) -> None:
        if 0 <= dots <= self._area_width():
            self._target = dots

    # -- text -------------------------------------------------------------------------------

    def tab(self) -> None:
        """HT: to the next tab stop, in columns of the last text's font."""
        width = self._column_dots
        column = round(self._position() / width) if self._target is not None else self._column
        stop = next((s for s in self.tab_stops if s > column), None)
        if stop is not None:  # past the last tab stop, HT is ignored
            self._target = stop * width

    def place(self, line: Line, text: str, style: TextStyle) -> None:
        """Put ``text`` on ``line`` at the print position, and move past it."""
        # The hot path: one call per run of text, so the common case does little.
        column_dots = _FONT_DOTS_GET(style.font, DEFAULT_FONT_DOTS) + self._spacing
        self._column_dots = column_dots
        if self._margin_columns is None:
            self._margin_columns = round(self._margin / column_dots)
        if self._target is not None:
            self._resolve(self._target, column_dots)
        width = len(text) * style.width if text.isascii() else columns_of(text, style.width)
        column, end = self._column, self._end
        if self._cells is None and column == end:
            line.spans.append(Span(text, style))
        elif self._cells is None and column > end:
            line.spans.append(Span(" " * (column - end)))
            line.spans.append(Span(text, style))
        else:
            if self._cells is None:
                self._cells = _cells(line.spans)
            _print_over(self._cells, column, text, style)
        self._end = max(end, column + width)
        self._column = column + width
        self._dots += width * column_dots

    def _resolve(self, target: float, column_dots: float) -> None:
        self._target = None
        column = round(target / column_dots)
        # Rounding must not turn a move around (fonts of different widths on one line).
        if target > self._dots:
            column = max(column, self._column)
        elif target < self._dots:
            column = min(column, self._column)
        else:
            column = self._column
        self._column = column
        self._dots = target

    def finish(self, line: Line) -> None:
        """The line is printed: give it its margin; the next line starts at the edge."""
        if self._cells is not None:
            line.spans[:] = _spans(self._cells)
        if self._margin_columns and line.align is Align.LEFT and line.spans:
            line.spans.insert(0, Span(" " * self._margin_columns))
        self.new_line()


# -- printing over text -----------------------------------------------------------------------

# One cell per column: a glyph (a character and the combining marks over it) and its style, or
# None for the columns a wide glyph covers after its first.
_Cell = tuple[str, TextStyle] | None


def _cells(spans: list[Span]) -> list[_Cell]:
    cells: list[_Cell] = []
    for span in spans:
        for ch in span.text:
            width = _char_columns(ch) * span.style.width
            if width == 0:
                last = _glyph_start(cells, len(cells) - 1)
                if last is not None:
                    glyph = cells[last]
                    assert glyph is not None
                    cells[last] = (glyph[0] + ch, glyph[1])
                    continue
                width = 1  # a mark with nothing to sit on stands alone
            cells.append((ch, span.style))
            cells.extend([None] * (width - 1))
    return cells


def _glyph_start(cells: list[_Cell], index: int) -> int | None:
    while index >= 0 and cells[index] is None:
        index -= 1
    return index if index >= 0 else None


def _print_over(cells: list[_Cell], column: int, text: str, style: TextStyle) -> None:
    """Print ``text`` from ``column`` on, over what ``cells`` hold: in place, at a cost that
    depends on ``text`` only, however long the line."""
    for ch in text:
        width = (1 if ch < "\u0300" else _char_columns(ch)) * style.width
        if width == 0:  # a combining mark goes on the glyph just printed
            start = _glyph_start(cells, min(column, len(cells)) - 1)
            if start is not None:
                glyph = cells[start]
                assert glyph is not None
                cells[start] = (glyph[0] + ch, glyph[1])
            continue
        if len(cells) < column + width:
            cells.extend((" ", PLAIN) for _ in range(column + width - len(cells)))
        if ch == " ":
            # A blank covers no character (at most it underlines it): it takes only the
            # columns that are blank, so its style (underline, reverse) shows there.
            for index in range(column, column + width):
                cell = cells[index]
                if cell is not None and cell[0] == " ":
                    cells[index] = (" ", style)
        else:
            for index in range(column, column + width):
                _erase_glyph(cells, index)
            cells[column] = (ch, style)
            for index in range(column + 1, column + width):
                cells[index] = None
        column += width


def _erase_glyph(cells: list[_Cell], index: int) -> None:
    """Blank the whole glyph that covers column ``index``."""
    start = _glyph_start(cells, index)
    if start is None:
        return
    cells[start] = (" ", PLAIN)
    index = start + 1
    while index < len(cells) and cells[index] is None:
        cells[index] = (" ", PLAIN)
        index += 1


def _spans(cells: list[_Cell]) -> list[Span]:
    glyphs = (cell for cell in cells if cell is not None)
    return [
        Span("".join(glyph for glyph, _ in run), style)
        for style, run in groupby(glyphs, key=itemgetter(1))
    ]
