"""``Layout.in_force``: while an edit does not compile, the last version that did reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from parsers.layouts import GrammarError, Layout

GRAMMAR = """\
%import .common (MONEY, WORDS, _GAP, _NL)
start: _NL* item+ _NL*
item: name _GAP amount _NL
name: WORDS
amount: MONEY
"""


def test_a_broken_edit_leaves_the_last_good_version_in_force(tmp_path: Path) -> None:
    path = tmp_path / "shop.lark"
    path.write_text(GRAMMAR, encoding="utf-8")
    good = Layout.load(path)
    path.write_text(GRAMMAR.replace("start:", "start_:"), encoding="utf-8")
    os.utime(path, ns=(1, 1))
    with pytest.raises(GrammarError):
        Layout.load(path)  # strict: the admin's tools say what is wrong
    assert Layout.in_force(path) is good
    assert Layout.in_force(path).parse_text("Bread  1,20\n").items[0].name == "Bread"


def test_with_no_good_version_the_error_stands(tmp_path: Path) -> None:
    path = tmp_path / "new.lark"
    path.write_text("// nothing yet\n", encoding="utf-8")
    with pytest.raises(GrammarError, match="the grammar is empty"):
        Layout.in_force(path)
