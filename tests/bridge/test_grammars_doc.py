"""docs/grammars.md, tried: its template grammar, every command it shows and the messages it
quotes, on receipts python-escpos prints as the doc's corner bakery. The doc cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from parsers.layouts import Layout
from parsers.pipeline import read_receipts
from tests.bridge.shop_till import Dummy

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "grammars.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```(\w+)\n(.*?)^```", DOC, re.M | re.S)
WIDTH = 32


def _blocks(kind: str) -> list[str]:
    return [body for lang, body in BLOCKS if lang == kind]


def _row(left: str, right: str) -> str:
    return f"{left}{' ' * max(2, WIDTH - len(left) - len(right))}{right}\n"


def _m(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


def bakery_receipt(
    items: list[tuple[str, int, int]], paid: int | None, card: str | None, number: str
) -> bytes:
    """The doc's corner bakery: items as (name, qty, unit price in cents); cash paid, or card."""
    p = Dummy(profile="TM-T88V")
    p.charcode("CP858")
    p.text("CORNER BAKERY\n")
    p.text("C/ Mayor 12, Madrid\n")
    p.text(_row(f"Ticket {number}", "23/11/2026"))
    total = 0
    for name, qty, price in items:
        total += qty * price
        left = name if qty == 1 else f"{name}  {qty} x {_m(price)}"
        p.text(_row(left, _m(qty * price)))
    p.text(_row("TOTAL", _m(total)))
    if paid is None:
        p.text(_row("TARJETA", _m(total)))
    else:
        p.text(_row("EFECTIVO", _m(paid)))
        p.text(_row("CAMBIO", _m(paid - total)))
    if card:
        p.text(f"Tarjeta cliente: {card}\n")
    p.text("Gracias por su visita\n")
    p.cut()
    return bytes(p.output)


CASH = bakery_receipt([("Bread", 1, 120), ("Croissant", 2, 120)], 500, "4000 1234 5678", "0042")
CARD = bakery_receipt([("Baguette", 1, 110), ("Ensaimada", 3, 150)], None, None, "0043")


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "captures").mkdir()
    (tmp_path / "captures" / "cash.bin").write_bytes(CASH)
    (tmp_path / "captures" / "card.bin").write_bytes(CARD)
    (tmp_path / "capture.bin").write_bytes(CASH)
    (tmp_path / "bakery.lark").write_text(_blocks("lark")[0], encoding="utf-8")
    return tmp_path


def _run(command: str, cwd: Path, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_the_receipt_shown_is_the_one_printed() -> None:
    text = read_receipts(CASH)[0].document.text()
    shown = next(b for b in _blocks("text") if b.startswith("CORNER BAKERY\n"))
    assert text.rstrip("\n") + "\n" == shown


def test_the_template_reads_cash_sales_with_change_and_card_sales(workdir: Path) -> None:
    layout = Layout.load(workdir / "bakery.lark")
    cash = layout.parse(read_receipts(CASH)[0].document)
    assert cash.problems == []
    assert (cash.total, cash.change) == (Decimal("3.60"), Decimal("1.40"))
    assert [(t.method, t.amount) for t in cash.tenders] == [("efectivo", Decimal("5.00"))]
    assert [(i.name, i.qty, i.unit_price) for i in cash.items] == [
        ("Bread", 1, None),
        ("Croissant", 2, Decimal("1.20")),
    ]
    assert cash.customer is not None and cash.customer.value == "400012345678"
    card = layout.parse(read_receipts(CARD)[0].document)
    assert card.problems == [] and card.change is None and card.customer is None
    assert card.total == Decimal("5.60")


def test_every_command_runs_as_shown(workdir: Path) -> None:
    commands = [
        line.strip() for block in _blocks("sh") for line in block.splitlines() if line.strip()
    ]
    assert len(commands) >= 7 and all(c.startswith("tillbridge ") for c in commands)
    outputs: dict[str, subprocess.CompletedProcess[str]] = {}
    for command in commands:
        if "--watch" in command:
            watch = _run(f"timeout -s INT 8 {command}", workdir)
            assert "watching" in watch.stdout, watch
            continue
        done = _run(command, workdir)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.setdefault(command, done)
    # what the doc quotes of their output
    new = outputs["tillbridge layout new capture.bin -o shop.lark"]
    assert _quoted("shop.lark reads capture.bin:") in new.stderr
    table = outputs["tillbridge layout test shop.lark captures/*.bin"]
    assert _quoted("capture            result") == table.stdout
    trace = outputs["tillbridge parse --trace --layout shop.lark captures/cash.bin"]
    assert trace.returncode == 0
    assert (workdir / "captures" / "cash.json").is_file()  # --update wrote it


def test_the_trace_shown_is_the_trace_of_the_template(workdir: Path) -> None:
    done = _run("tillbridge parse --trace --layout bakery.lark capture.bin", workdir)
    assert _quoted("     5 | Croissant") in done.stdout


def test_the_messages_quoted_are_the_ones_given(workdir: Path) -> None:
    template = (workdir / "bakery.lark").read_text(encoding="utf-8")
    (workdir / "bakery.lark").write_text(template.replace("_TOTAL.2:", "_TOTAL:"))
    done = _run("tillbridge parse --layout bakery.lark capture.bin", workdir)
    quoted = _quoted("bakery.lark:27: Collision")
    assert f"tillbridge parse: {quoted}" in done.stderr
    (workdir / "bakery.lark").write_text(template.replace("qty: QTY", "qty: QTYY"))
    done = _run("tillbridge parse --layout bakery.lark capture.bin", workdir)
    assert f"tillbridge parse: {_quoted('bakery.lark:21: unknown terminal QTYY')}" in done.stderr
    (workdir / "bakery.lark").write_text(template)
    (workdir / "capture.bin").write_bytes(CASH.replace(b"3,60", b"abc"))
    done = _run("tillbridge parse --layout bakery.lark capture.bin", workdir)
    assert done.stderr == _quoted("capture.bin: layout bakery: receipt line 6")


def test_the_daemon_log_lines_quoted_are_its_own() -> None:
    source = (ROOT / "bridge" / "layout_watch.py").read_text(encoding="utf-8")
    assert '"layout %s reloaded"' in source
    assert '"layout %s not reloaded: %s; %s"' in source
    assert "the previous version stays in force" in source
    assert "layout /etc/tillbridge/shop.lark reloaded\n" in DOC
    assert "layout /etc/tillbridge/shop.lark not reloaded: shop.lark:27:" in DOC


def _quoted(start: str) -> str:
    """The text block of the doc that starts with ``start`` (its first line, if one line
    only is meant: the block itself otherwise)."""
    for block in _blocks("text"):
        for line in block.splitlines():
            if line.startswith(start):
                return block if block.startswith(start) and "\n" in block.strip() else line
    raise AssertionError(f"the doc quotes no {start!r}")
