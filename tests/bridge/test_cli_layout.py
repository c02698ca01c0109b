"""``tillbridge layout new|test`` and ``parse --trace``: the workbench, on a till it never saw
(``shop_till``) and on every shipped capture."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from decimal import Decimal as D
from pathlib import Path

import pytest

from bridge.cli import main
from parsers.layout_writer import SHAPES
from parsers.layouts import Layout
from parsers.pipeline import read_receipts
from tests.bridge.shop_till import CARD_NO_LOYALTY, CASH_WITH_CARD, MANY_ITEMS

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "fixtures").glob("*/*.bin"))


def _captures(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, data in (
        ("cash_card", CASH_WITH_CARD),
        ("card_only", CARD_NO_LOYALTY),
        ("many", MANY_ITEMS),
    ):
        paths[name] = tmp_path / f"{name}.bin"
        paths[name].write_bytes(data)
    return paths


def _facts(layout: Layout, data: bytes) -> list[tuple[object, ...]]:
    facts = []
    for result in read_receipts(data):
        receipt = layout.parse(result.document)
        facts.append(
            (
                receipt.total,
                [(i.name, i.amount, i.qty) for i in receipt.items],
                [(t.method, t.amount) for t in receipt.tenders],
                receipt.change,
                receipt.customer.value if receipt.customer else None,
                receipt.problems,
            )
        )
    return facts


def test_new_writes_a_layout_that_reads_its_capture_and_the_variants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = _captures(tmp_path)
    grammar = tmp_path / "kiosk.lark"
    assert main(["layout", "new", str(paths["cash_card"]), "-o", str(grammar)]) == 0
    err = capsys.readouterr().err
    assert "reads cash_card.bin: store 'KIOSK AM ECK', 2 items, total 6.10" in err
    text = grammar.read_text(encoding="utf-8")
    assert "%import .common (" in text and "SUMME" in text
    layout = Layout.load(grammar)
    # the capture it was written from: cash, change, a loyalty card
    [(total, items, tenders, change, card, problems)] = _facts(layout, CASH_WITH_CARD)
    assert (total, change, card, problems) == (D("6.10"), D("3.90"), "4711081542", [])
    assert [(n, q) for n, _, q in items] == [("Zeitung", 1), ("Kaffee", 2)]
    assert tenders == [("bar", D("10.00"))]
    # a card payment with no loyalty line, and more items: still read, and adding up
    [(total, items, tenders, change, card, problems)] = _facts(layout, CARD_NO_LOYALTY)
    assert (total, tenders, change, card) == (D("3.90"), [("karte", D("3.90"))], None, None)
    assert problems == []
    [(total, items, _, change, _, problems)] = _facts(layout, MANY_ITEMS)
    assert (total, len(items), change, problems) == (D("7.20"), 4, D("12.80"), [])


def test_new_refuses_to_overwrite_and_prints_without_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = _captures(tmp_path)
    grammar = tmp_path / "kiosk.lark"
    grammar.write_text("// mine\n", encoding="utf-8")
    assert main(["layout", "new", str(paths["many"]), "-o", str(grammar)]) == 2
    assert "exists" in capsys.readouterr().err
    assert grammar.read_text(encoding="utf-8") == "// mine\n"
    assert main(["layout", "new", str(paths["many"])]) == 0
    assert capsys.readouterr().out.startswith("//@ description: written by tillbridge layout new")


@pytest.mark.parametrize("capture", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_new_reads_every_shipped_capture_as_written(
    capture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Written from the capture, the layout reads it: the total and items of the reading it
    was written from (the line-shapes grammar's), which are the shipped layout's wherever that
    reading agrees with it."""
    grammar = tmp_path / "new.lark"
    assert main(["layout", "new", str(capture), "-o", str(grammar)]) == 0, capsys.readouterr()
    text = next(
        r.document.text() for r in read_receipts(capture.read_bytes()) if r.document.text().strip()
    )
    got = Layout.load(grammar).parse_text(text)
    generic = Layout.load(SHAPES).parse_text(text)
    assert got.total == generic.total
    assert [(i.name, i.amount, i.qty) for i in got.items] == [
        (i.name, i.amount, i.qty) for i in generic.items
    ]
    expected = json.loads(capture.with_suffix(".json").read_text(encoding="utf-8"))["receipts"][0]
    if "error" in expected:
        return
    shipped = [(i["name"], i["amount"]) for i in expected["items"]]
    if shipped == [(i.name, str(i.amount)) for i in generic.items]:
        assert [(i.name, str(i.amount)) for i in got.items] == shipped
        assert str(got.total) == expected["total"]


def test_test_compares_with_the_expected_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = _captures(tmp_path)
    grammar = tmp_path / "kiosk.lark"
    assert main(["layout", "new", str(paths["cash_card"]), "-o", str(grammar)]) == 0
    captures = [str(p) for p in paths.values()]
    capsys.readouterr()
    # nothing to compare with yet: read, and said so
    assert main(["layout", "test", str(grammar), *captures]) == 0
    out = capsys.readouterr().out
    assert "NEW" in out and "--update writes it" in out and "3 of 3 passed" in out
    assert main(["layout", "test", "--update", str(grammar), *captures]) == 0
    expected = json.loads((tmp_path / "many.json").read_text(encoding="utf-8"))
    assert expected["receipts"][0]["total"] == "7.20"
    assert list(expected["receipts"][0])[:3] == ["kind", "store", "till"]  # stable key order
    capsys.readouterr()
    assert main(["layout", "test", str(grammar), *captures]) == 0
    assert capsys.readouterr().out.count("PASS") == 3
    # an expected file that says otherwise: FAIL, with the field
    expected["receipts"][0]["items"][2]["amount"] = "1.85"
    (tmp_path / "many.json").write_text(json.dumps(expected), encoding="utf-8")
    assert main(["layout", "test", str(grammar), *captures]) == 1
    out = capsys.readouterr().out
    assert 'items[2].amount: "1.85" → "1.80"' in out and "2 of 3 passed" in out


def test_test_reports_a_receipt_the_layout_does_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = _captures(tmp_path)
    grammar = tmp_path / "kiosk.lark"
    grammar.write_text(
        "%import .common (MONEY, WORDS, _GAP, _NL)\nstart: _NL* store _NL _NL*\nstore: WORDS\n",
        encoding="utf-8",
    )
    assert main(["layout", "test", str(grammar), str(paths["many"])]) == 1
    out = capsys.readouterr().out
    assert "ERROR" in out and "layout kiosk: receipt line 2" in out


def test_test_with_a_grammar_that_does_not_compile_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = _captures(tmp_path)
    grammar = tmp_path / "kiosk.lark"
    grammar.write_text("// nothing yet\n", encoding="utf-8")
    assert main(["layout", "test", str(grammar), str(paths["many"])]) == 2
    assert "the grammar is empty" in capsys.readouterr().err


def test_watch_tests_again_when_the_grammar_is_saved(tmp_path: Path) -> None:
    paths = _captures(tmp_path)
    grammar = tmp_path / "kiosk.lark"
    assert main(["layout", "new", str(paths["many"]), "-o", str(grammar)]) == 0
    good = grammar.read_text(encoding="utf-8")
    watch = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bridge.cli",
            "layout",
            "test",
            "--watch",
            str(grammar),
            str(paths["many"]),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert watch.stdout is not None
        seen = _until(watch, "watching")
        assert "1 of 1 passed" in seen
        grammar.write_text(good.replace("STORE.", "STORE_GONE."), encoding="utf-8")
        seen = _until(watch, "testing again")
        seen += _until(watch, "unknown terminal STORE")
        grammar.write_text(good, encoding="utf-8")
        seen = _until(watch, "1 of 1 passed")
    finally:
        watch.terminate()
        watch.wait(timeout=10)


def _until(process: subprocess.Popen[str], words: str, timeout: float = 30.0) -> str:
    """What the process printed up to a line holding ``words``."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen += line
        if words in line:
            return seen
    raise AssertionError(f"no {words!r} in:\n{seen}")


def test_parse_trace_shows_the_tokens_of_each_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = _captures(tmp_path)
    grammar = tmp_path / "kiosk.lark"
    assert main(["layout", "new", str(paths["cash_card"]), "-o", str(grammar)]) == 0
    capsys.readouterr()
    assert main(["parse", "--trace", "--layout", str(grammar), str(paths["card_only"])]) == 0
    out = capsys.readouterr().out
    assert "     5 | Brezel  3 x 0,90                    2,70" in out
    assert "NUMBER '3' @9" in out and "MONEY '0,90' @13" in out and "MONEY '2,70' @37" in out
    assert "STORE 'KIOSK AM ECK' @1" in out


def test_parse_trace_shows_where_reading_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = _captures(tmp_path)
    grammar = tmp_path / "kiosk.lark"
    grammar.write_text(
        "%import .common (MONEY, WORDS, _GAP, _NL)\n"
        "start: _LINE _NL _LINE _NL _LINE _NL _LINE _NL item+ _NL*\n"
        "item: name _GAP amount _NL\nname: WORDS\namount: MONEY\n"
        "_LINE: /[^\\n]+/\n",
        encoding="utf-8",
    )
    assert main(["parse", "--trace", "--layout", str(grammar), str(paths["card_only"])]) == 1
    captured = capsys.readouterr()
    assert "WORDS 'Brezel' @1" in captured.out  # what ate what, up to the error
    assert "(not reached)" in captured.out
    assert "receipt line" in captured.err


@pytest.mark.parametrize(
    "layout", ["bakery_es", "bistro_fr", "diner_us", "sklep_pl", "supermarket"]
)
def test_test_passes_the_shipped_layouts_on_their_fixtures(
    layout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The expected files of ``fixtures/`` are in the format ``layout test`` reads."""
    captures = sorted(str(p) for p in (ROOT / "fixtures" / layout).glob("*.bin"))
    assert main(["layout", "test", layout, *captures]) == 0
    out = capsys.readouterr().out
    assert out.count(" PASS") == len(captures) and "FAIL" not in out


def test_trace_of_the_generic_layout_says_it_has_no_grammar(
    capsys: pytest.CaptureFixture[str],
) -> None:
    capture = ROOT / "fixtures" / "bakery_es" / "sale_customer_card.bin"
    assert main(["parse", "--trace", "--layout", "generic", str(capture)]) == 1
    assert "no tokens to trace" in capsys.readouterr().err
