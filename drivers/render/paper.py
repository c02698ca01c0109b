"""The paper a picture is drawn on: the printer's printable width and its character grid.

A thermal printer at 203 dpi prints Font A in 12-dot cells and Font B in 9-dot cells (Epson TM
models and most clones); its paper decides how many fit: 80 mm paper has 576 dots (48 Font A
columns, 64 Font B), 58 mm paper 384 (32 and 42). Some printers are set to fewer columns than
their paper holds (42 on 80 mm: the TM-T88's 512-dot area, or a "42-column mode"); they print
the same cells in a narrower area, centred on the paper. East Asian wide characters (Kanji,
kana, Hangul) take two cells, as the printer's Kanji font is twice as wide as its ANK font.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from parsers.lines import columns_of

FONT_A_DOTS = (12, 24)
FONT_B_DOTS = (9, 17)


class _ProfileLike(Protocol):
    dots: int  # printable width
    columns: int  # Font A characters per line


@dataclass(frozen=True, slots=True)
class Paper:
    """``dots`` wide (printable), ``columns`` Font A characters a line."""

    dots: int = 576
    columns: int = 48

    def __post_init__(self) -> None:
        if self.dots < 8 or self.columns < 1:
            raise ValueError(f"no such paper: {self.dots} dots, {self.columns} columns")

    @classmethod
    def of_dots(cls, dots: int) -> Paper:
        """Paper ``dots`` wide, with as many 12-dot Font A columns as fit."""
        return cls(dots, max(1, dots // FONT_A_DOTS[0]))

    @classmethod
    def from_profile(cls, profile: _ProfileLike) -> Paper:
        """The paper of a printer profile (``drivers.escpos_out.PrinterProfile``)."""
        return cls(profile.dots, profile.columns)

    @classmethod
    def parse(cls, text: str) -> Paper:
        """``"58mm"``, ``"80mm"``, ``"576"`` (dots) or ``"576x42"`` (dots × Font A columns)."""
        spec = text.strip().lower().replace(" ", "")
        if spec in PAPER_SIZES:
            return PAPER_SIZES[spec]
        match = re.fullmatch(r"(\d+)(?:x(\d+))?", spec)
        if match is None:
            known = ", ".join(PAPER_SIZES)
            raise ValueError(f"{text!r}: a paper is {known}, DOTS or DOTSxCOLUMNS")
        dots = int(match[1])
        return cls(dots, int(match[2])) if match[2] else cls.of_dots(dots)

    @property
    def cell_width(self) -> int:
        """Dots of one Font A cell: 12, or less when more columns are asked of the paper."""
        return max(1, min(FONT_A_DOTS[0], self.dots // self.columns))

    @property
    def area(self) -> int:
        """Dots of the print area the columns take."""
        return min(self.dots, self.columns * self.cell_width)

    @property
    def left(self) -> int:
        """Dots of blank paper left of the print area."""
        return (self.dots - self.area) // 2

    def cell(self, font: str) -> tuple[int, int]:
        """(width, height) in dots of one character cell of ``font`` at normal size."""
        a_width = self.cell_width
        if font == "A":
            return a_width, FONT_A_DOTS[1]
        return max(1, round(a_width * FONT_B_DOTS[0] / FONT_A_DOTS[0])), FONT_B_DOTS[1]


PAPER_58MM = Paper(384, 32)
PAPER_80MM = Paper(576, 48)
PAPER_SIZES: dict[str, Paper] = {"58mm": PAPER_58MM, "80mm": PAPER_80MM}


def cells_of(ch: str) -> int:
    """How many character cells ``ch`` takes on paper: 2 for East Asian wide characters, 0
    for combining marks (they print over the character before), else 1. The same count the
    document's line placement uses (``parsers.lines``), so a picture's columns are its text's."""
    return columns_of(ch)
