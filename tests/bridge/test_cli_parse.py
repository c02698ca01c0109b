"""``tillbridge parse``: in process through ``bridge.cli.main`` and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.cli import main

ROOT = Path(__file__).resolve().parents[2]
INIT, CUT = b"\x1b@", b"\x1dV\x00"

SALE = (
    "BAKERY ON THE CORNER\n"
    "Bread                    1.20\n"
    "2 x Croissant            2.40\n"
    "TOTAL                    3.60\n"
    "CASH                     5.00\n"
    "CHANGE                   1.40\n"
    "Loyalty card: 4000 1234 5678\n"
)
LAYOUT = """\
//@ description: the corner bakery
%import .common (MONEY, WORDS, _GAP, _NL)
start: _NL* item+ total_line _NL*
item: name _GAP amount _NL
name: WORDS
amount: MONEY
total_line: _TOTAL _GAP total _NL
total: MONEY
_TOTAL.2: /TOTAL(?!\\w)/
"""


def capture(tmp_path: Path, *texts: str, name: str = "till.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(INIT + t.encode("ascii") + b"\n\n\n" + CUT for t in texts))
    return path


def test_table_shows_the_receipt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(capture(tmp_path, SALE))]) == 0
    out = capsys.readouterr().out
    assert "(layout generic)" in out
    assert "Croissant" in out and "2.40" in out
    assert "total" in out and "3.60" in out
    assert "paid cash" in out and "change" in out
    assert "customer  card 400012345678" in out
    assert "consistent: yes" in out


def test_json_lists_every_receipt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    refund = SALE.replace("BAKERY ON THE CORNER\n", "BAKERY\nREFUND\n")
    assert main(["parse", "--json", str(capture(tmp_path, SALE, refund))]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["kind"] for r in data] == ["sale", "refund"]
    assert data[0]["total"] == "3.60" and len(data[0]["items"]) == 2


def test_a_receipt_that_does_not_match_exits_1_with_the_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grammar = tmp_path / "corner.lark"
    grammar.write_text(LAYOUT, encoding="utf-8")
    good = "Bread  1.20\nTOTAL  1.20\n"
    path = capture(tmp_path, good, SALE)
    assert main(["parse", "--layout", str(grammar), str(path)]) == 1
    captured = capsys.readouterr()
    assert f"{path} #2: layout corner: receipt line 1, column" in captured.err
    assert "expected one of" in captured.err
    assert "Bread" in captured.out  # the first receipt is still shown


@pytest.mark.parametrize(
    "argv",
    [["parse", "missing.bin"], ["parse", "--layout", "no_such_layout", "x.bin"]],
)
def test_missing_file_or_layout_exits_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert "tillbridge parse:" in capsys.readouterr().err


def test_broken_grammar_exits_2_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grammar = tmp_path / "broken.lark"
    grammar.write_text(LAYOUT.replace("amount: MONEY", "amount: MONY"), encoding="utf-8")
    assert main(["parse", "--layout", str(grammar), str(capture(tmp_path, SALE))]) == 2
    assert "broken.lark:6: unknown terminal MONY" in capsys.readouterr().err


def test_real_subprocess(tmp_path: Path) -> None:
    path = capture(tmp_path, SALE)
    result = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "parse", "--json", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (receipt,) = json.loads(result.stdout)
    assert receipt["customer"] == {"kind": "card", "value": "400012345678"}


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from bridge.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("tillbridge 0.")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("KIOSK\nNewspaper  2.50\nGum  1.20\n", "no total"),
        ("KIOSK\nNewspaper  2.50\nTOTAL  4.70\n", "total 4.70"),
        ("KIOSK\nGum  1.20\nTOTAL  1.20\nMember #:\n", "customer label"),
    ],
)
def test_a_receipt_read_with_problems_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, problem: str
) -> None:
    path = capture(tmp_path, text)
    assert main(["parse", str(path)]) == 1
    captured = capsys.readouterr()
    assert "KIOSK" in captured.out  # still shown
    assert f"{path}: not read: " in captured.err and problem in captured.err
