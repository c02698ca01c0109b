"""``tillbridge parse --show-text``: the grammar's own input, numbered as its errors number it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridge.cli import main
from parsers.pipeline import grammar_texts

ROOT = Path(__file__).resolve().parents[2]
INIT, CUT = b"\x1b@", b"\x1dV\x00"
LAYOUT = """\
%import .common (MONEY, WORDS, _GAP, _NL)
start: _NL* item+ _NL*
item: name _GAP amount _NL
name: WORDS
amount: MONEY
"""


def _rows(out: str) -> dict[int, str]:
    """The numbered rows of ``--show-text`` output: number -> text."""
    rows: dict[int, str] = {}
    for row in out.splitlines():
        match = re.fullmatch(r" *(\d+) \|(?: (.*))?", row)
        if match:
            rows[int(match.group(1))] = match.group(2) or ""
    return rows


def test_the_rows_are_the_grammar_text_and_its_error_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Ten item lines, then one the grammar cannot read: its error names "receipt line 11".
    items = b"".join(b"Item %d\x1b$\x80\x01%d.00\n" % (n, n) for n in range(1, 11))
    capture = tmp_path / "till.bin"
    capture.write_bytes(INIT + items + b"TOTAL\n" + CUT)
    layout = tmp_path / "items.lark"
    layout.write_text(LAYOUT)

    assert main(["parse", "--layout", str(layout), str(capture)]) == 1
    assert "receipt line 11, column 6" in capsys.readouterr().err

    assert main(["parse", "--show-text", str(capture)]) == 0
    out = capsys.readouterr().out
    (text,) = grammar_texts(capture.read_bytes())
    assert _rows(out) == dict(enumerate(text.split("\n")[:-1], 1))
    assert "\n 1 | Item 1                          1.00\n" in out  # ESC $ 384 dots: column 32
    assert "\n11 | TOTAL\n" in out  # a right-aligned gutter: the numbers line up


def test_each_receipt_is_numbered_from_one_and_controls_are_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # ESC t 40 maps 0x9B to CSI: written raw, "CSI 2 J" would clear the admin's terminal.
    capture = tmp_path / "two.bin"
    capture.write_bytes(INIT + b"\x1bt\x28A \x9b2J\n" + CUT + INIT + b"second\n" + CUT)
    assert main(["parse", "--show-text", str(capture)]) == 0
    out = capsys.readouterr().out
    assert "\x9b" not in out
    assert f"== {capture} #1  (1 lines)\n1 | A \\x9b2J\n" in out
    assert f"== {capture} #2  (1 lines)\n1 | second\n" in out


def test_every_fixture_shows_the_text_its_layout_reads(capsys: pytest.CaptureFixture[str]) -> None:
    captures = sorted(str(p) for p in (ROOT / "fixtures").glob("*/*.bin"))
    main(["parse", "--show-text", *captures])
    out = capsys.readouterr().out
    for name in ("positioned/receiptline_style.bin", "positioned/tab_stops.bin"):
        assert f"fixtures/{name}" in out
    assert " 4 | Flat white                                  3.20\n" in out


def test_not_a_capture_and_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README"
    readme.write_text("TOTAL 3.60\n")
    assert main(["parse", "--show-text", str(readme)]) == 1
    assert "not an ESC/POS capture" in capsys.readouterr().err
    assert main(["parse", "--show-text", str(tmp_path / "missing.bin")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_render_draws_the_paper_and_show_text_the_grammar_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What docs/grammars.md says tells the two apart: centring and double width.
    capture = tmp_path / "shop.bin"
    centred_wide = b"\x1ba\x01\x1b!\x20SHOP\x1b!\x00\n\x1ba\x00"
    capture.write_bytes(INIT + centred_wide + b"Tea\x1b$\x20\x01" + b"2.00\n" + CUT)
    assert main(["render", "--format", "text", str(capture)]) == 0
    picture = capsys.readouterr().out.splitlines()
    assert picture[:2] == [" " * 20 + "S H O P", "Tea" + " " * 21 + "2.00"]
    assert main(["parse", "--show-text", str(capture)]) == 0
    rows = _rows(capsys.readouterr().out)
    assert (rows[1], rows[2]) == ("SHOP", "Tea" + " " * 21 + "2.00")  # columns as on paper
