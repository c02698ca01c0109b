"""``tillbridge parse --show-text FILE...``: the text a layout's grammar reads, numbered.

Each receipt's text is printed as the grammar gets it (``parsers.pipeline.grammar_texts``, the
same function the reading uses), one numbered line per printed line, so "receipt line 7" in a
grammar error is line 7 here. Control characters a receipt may carry are escaped (``\\x1b``),
never written to the terminal. No layout is loaded: the text does not depend on one, and
tokenizing is pure and quick, so no child process is needed.

Exit status: 0 when every file had receipt text, 1 when one is not a capture or has none, 2
for a file that cannot be read.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bridge.commands.reading import open_capture
from bridge.safe_text import escape_controls
from parsers.pipeline import grammar_texts

_PROG = "tillbridge parse"


def show_text(files: Sequence[str]) -> int:
    status = 0
    for name in files:
        data = open_capture(name, _PROG)
        if isinstance(data, int):  # said on stderr
            if data == 2:
                return 2
            status = 1
            continue
        texts = grammar_texts(data)
        if not texts:
            print(f"{name}: no receipt text in this capture", file=sys.stderr)
            status = 1
        for index, text in enumerate(texts, 1):
            where = f"{name} #{index}" if len(texts) > 1 else name
            print(numbered(where, text))
    return status


def numbered(title: str, text: str) -> str:
    """``text`` under a title, each line after its 1-based number in a right-aligned gutter."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # every line ends in a newline: the last one starts no line
    width = len(str(len(lines)))
    rows = [f"== {escape_controls(title)}  ({len(lines)} lines)"]
    for number, line in enumerate(lines, 1):
        gutter = f"{number:>{width}} |"
        rows.append(f"{gutter} {escape_controls(line)}" if line else gutter)
    return "\n".join(rows)
