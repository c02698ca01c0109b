from decimal import Decimal as D
from pathlib import Path

import pytest

from parsers.layouts import (
    GrammarError,
    Layout,
    ReceiptParseError,
    UnknownLayoutError,
    available_layouts,
    read_meta,
)

GOOD = """\
//@ description: a small test layout
//@ timezone: Europe/Madrid
//@ currency: EUR
%import .common (MONEY, WORDS, _GAP, _NL)
start: item+ total_line
item: name _GAP amount _NL
name: WORDS
amount: MONEY
total_line: _TOTAL _GAP total _NL
total: MONEY
_TOTAL.2: /TOTAL(?!\\w)/
"""


def write(tmp_path: Path, text: str, name: str = "shop.lark") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_available_layouts_lists_shipped_grammars_but_not_common() -> None:
    names = available_layouts()
    assert "generic" in names
    assert "common" not in names


def test_load_by_path_reads_metadata_and_parses(tmp_path: Path) -> None:
    layout = Layout.load(write(tmp_path, GOOD))
    assert layout.name == "shop"
    assert layout.meta.timezone == "Europe/Madrid"
    assert layout.meta.currency == "EUR"
    assert layout.meta.parser == "lalr"
    receipt = layout.parse_text("Pan  1,20\nTOTAL  1,20\n")
    assert receipt.total == receipt.items[0].amount


def test_load_is_cached_until_the_file_changes(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    first = Layout.load(path)
    assert Layout.load(str(path)) is first
    path.write_text(GOOD.replace("a small test layout", "edited"), encoding="utf-8")
    import os

    os.utime(path, ns=(1, 1))
    assert Layout.load(path).meta.description == "edited"


def test_unknown_layout_names_the_shipped_ones() -> None:
    with pytest.raises(UnknownLayoutError, match="generic"):
        Layout.load("no_such_layout")
    with pytest.raises(UnknownLayoutError):
        Layout.load("common")


def test_unknown_terminal_names_file_line_and_terminal(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("amount: MONEY", "amount: MONY"))
    with pytest.raises(GrammarError, match=r"^shop\.lark:8: unknown terminal MONY"):
        Layout.load(path)


def test_unknown_rule_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("start: item+ total_line", "start: item+ totl_line"))
    with pytest.raises(GrammarError, match=r"shop\.lark:5: unknown rule totl_line"):
        Layout.load(path)


def test_grammar_syntax_error_has_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("name: WORDS", "name: WORDS ("))
    with pytest.raises(GrammarError, match=r"shop\.lark:7"):
        Layout.load(path)


def test_terminal_collision_is_a_lint_error(tmp_path: Path) -> None:
    collide = GOOD.replace(
        "%import .common (MONEY, WORDS, _GAP, _NL)",
        "%import .common (MONEY, WORDS, TEXT, _GAP, _NL)",
    )
    collide = collide.replace("item: name _GAP amount _NL", "item: name _GAP amount _NL | TEXT _NL")
    with pytest.raises(GrammarError, match=r"shop\.lark:\d+: Collision between Terminals"):
        Layout.load(write(tmp_path, collide))


def test_bad_metadata_is_reported(tmp_path: Path) -> None:
    with pytest.raises(GrammarError, match=r"shop\.lark:2: unknown timezone"):
        Layout.load(write(tmp_path, GOOD.replace("Europe/Madrid", "Europe/Atlantis")))
    with pytest.raises(GrammarError, match="date_order"):
        read_meta("//@ date_order: DDMM\n", "x.lark")
    with pytest.raises(GrammarError, match="unknown metadata key 'colour'"):
        read_meta("//@ colour: red\n", "x.lark")


def test_receipt_error_shows_line_column_caret_and_expected_patterns(tmp_path: Path) -> None:
    layout = Layout.load(write(tmp_path, GOOD))
    with pytest.raises(ReceiptParseError) as caught:
        layout.parse_text("Pan  1,20\nTOTAL  abc\n")
    message = str(caught.value)
    assert "layout shop: receipt line 2, column 8" in message
    assert "    TOTAL  abc\n           ^" in message
    assert "MONEY" in message and "(?:(?:€" in message  # the name and its pattern
    assert "hint:" in message
    assert caught.value.line == 2


def test_receipt_that_ends_early_says_so(tmp_path: Path) -> None:
    layout = Layout.load(write(tmp_path, GOOD))
    with pytest.raises(ReceiptParseError, match="ended \\(1 lines\\) before") as caught:
        layout.parse_text("Pan  1,20\n")
    assert "_TOTAL" in str(caught.value) and "/TOTAL(?!\\w)/" in str(caught.value)


def test_earley_layouts_load_and_parse(tmp_path: Path) -> None:
    layout = Layout.load(write(tmp_path, "//@ parser: earley\n" + GOOD))
    assert layout.meta.parser == "earley"
    assert layout.parse_text("Pan  1,20\nTOTAL  1,20\n").total is not None


def test_the_template_in_the_admin_guide_works(tmp_path: Path) -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "grammars.md").read_text("utf-8")
    template = guide.split("```lark\n", 1)[1].split("```", 1)[0]
    layout = Layout.load(write(tmp_path, template, "corner.lark"))
    receipt = layout.parse_text(
        "\n  Corner Bakery\nC/ Mayor 12\nBread    1,20\nTOTAL    1,20\nEFECTIVO   1,20\n\n\n"
    )
    assert (receipt.store, receipt.total, receipt.currency) == ("Corner Bakery", D("1.20"), "EUR")
    assert receipt.problems == []


def test_rule_defined_twice_points_at_the_second_definition(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "name: TEXT\n%import .common (TEXT)\n")
    with pytest.raises(GrammarError, match=r"shop\.lark:12: Rule 'name' defined more than once"):
        Layout.load(path)
