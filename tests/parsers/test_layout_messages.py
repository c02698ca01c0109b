"""Grammar errors as the admin needs them: at their own rule and line (never the ``%import``),
with what docs/grammars.md recommends, and a plain word for an empty or half-saved file."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers.layouts import GrammarError, Layout

GOOD = """\
//@ currency: EUR
%import .common (MONEY, WORDS, _GAP, _NL)

start: _NL* store _NL item+ _total_line _NL*
store: WORDS
item: name _GAP amount _NL
name: WORDS
amount: MONEY
_total_line: _TOTAL _GAP total _NL
total: MONEY
_TOTAL.2: /TOTAL(?!\\w)/
"""


def error_of(tmp_path: Path, source: str) -> str:
    path = tmp_path / "shop.lark"
    path.write_text(source, encoding="utf-8")
    with pytest.raises(GrammarError) as caught:
        Layout.load(path)
    return str(caught.value)


def test_the_good_grammar_compiles(tmp_path: Path) -> None:
    path = tmp_path / "shop.lark"
    path.write_text(GOOD, encoding="utf-8")
    assert Layout.load(path).parse_text("SHOP\nBread  1,20\nTOTAL  1,20\n").total is not None


def test_a_collision_points_at_the_admins_terminal_not_the_import(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("_TOTAL.2:", "_TOTAL:"))
    assert message.startswith("shop.lark:11: Collision between Terminals")
    assert "_TOTAL (line 11)" in message and "WORDS (common.lark)" in message
    assert "used by the rules _total_line, name, store" in message
    assert "_TOTAL.2" in message
    assert "(?!\\w)" in message


def test_a_collision_never_suggests_backslash_b(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("_TOTAL.2: /TOTAL(?!\\w)/", "_TOTAL: /TOTAL/"))
    hint = message.split("hint:", 1)[1]
    assert "not \\b" in hint and "/TOTAL\\b/" not in message


def test_a_collision_of_two_shared_terminals_points_at_the_rule(tmp_path: Path) -> None:
    source = GOOD.replace("(MONEY, WORDS, _GAP, _NL)", "(MONEY, WORDS, TEXT, _GAP, _NL)")
    source = source.replace("item: name _GAP amount _NL", "item: name _GAP amount _NL | TEXT _NL")
    message = error_of(tmp_path, source)
    assert message.startswith("shop.lark:5: Collision between Terminals")  # store: WORDS
    assert "define a terminal of your own with a higher priority" in message


@pytest.mark.parametrize("source", ["", "\n\n", "//@ currency: EUR\n// to do\n"])
def test_an_empty_grammar_gets_a_plain_message(tmp_path: Path, source: str) -> None:
    message = error_of(tmp_path, source)
    assert message.startswith("shop.lark: the grammar is empty")
    assert "NonTerminal" not in message and ":0:" not in message


def test_a_half_saved_grammar_says_so(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD[: GOOD.index("_total_line:") + 20])
    assert "shop.lark:" in message
    assert "does not end with a line end: if it is still being saved" in message


def test_an_unfinished_regex_is_shown_with_a_caret(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("/TOTAL(?!\\w)/", "/TOTAL(?!\\w)"))
    assert message.startswith("shop.lark:11: the grammar itself does not read here")
    assert "    _TOTAL.2: /TOTAL(?!\\w)\n" in message and "^" in message
    assert "an unfinished /regular expression/" in message


def test_an_unknown_rule_is_named_at_its_use(tmp_path: Path) -> None:
    message = error_of(
        tmp_path, GOOD.replace("item: name _GAP amount _NL", "item: nam _GAP amount _NL")
    )
    assert message.startswith("shop.lark:6: unknown rule nam (in rule item)")
    assert "hint: define the rule: nam: ..." in message


def test_an_unknown_terminal_from_common_is_offered_as_an_import(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("name: WORDS", "name: WORDS\nqty: QTY"))
    assert message.startswith("shop.lark:8: unknown terminal QTY")
    assert "%import .common (QTY)" in message


def test_an_unknown_terminal_of_their_own_is_to_be_defined(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("name: WORDS", "name: ITEM_NAME"))
    assert message.startswith("shop.lark:7: unknown terminal ITEM_NAME")
    assert "%import" not in message and "define it: ITEM_NAME: /regular expression/" in message


def test_a_rule_defined_twice_points_at_the_second(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD + "item: name _NL\n")
    assert message.startswith("shop.lark:12: Rule 'item' defined more than once")
