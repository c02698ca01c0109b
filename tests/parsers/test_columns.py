"""Columns as the printer places them: print positions, tabs, margins, print area, sizes.

python-escpos plays the till; where it has no method for a command (ESC $, ESC \\, GS L,
GS W, GS P, ESC D), the till sends the bytes with ``_raw``, as a POS program does.
"""

from __future__ import annotations

from escpos.printer import Dummy
from hypothesis import given
from hypothesis import strategies as st

from parsers.document import DocumentBuilder, Paper, build_documents
from parsers.escpos.events import Align, Command, Control, Event, Text, TextStyle
from parsers.escpos.tokenizer import tokenize
from parsers.layouts import Layout
from parsers.lines import columns_of
from parsers.pipeline import grammar_texts, read_receipts


def u16(n: int) -> bytes:
    n &= 0xFFFF
    return bytes((n & 0xFF, n >> 8))


def at(dots: int) -> bytes:
    """ESC $: absolute position, in motion units from the print area's left edge."""
    return b"\x1b$" + u16(dots)


def move(dots: int) -> bytes:
    """ESC \\: relative position; negative moves left."""
    return b"\x1b\\" + u16(dots)


def margin(dots: int) -> bytes:
    return b"\x1dL" + u16(dots)


def area(dots: int) -> bytes:
    return b"\x1dW" + u16(dots)


def tabs(*stops: int) -> bytes:
    return b"\x1bD" + bytes(stops) + b"\x00"


def lines(p: Dummy, paper: Paper | None = None) -> list[str]:
    """The text of every printed line, as the grammar reads it."""
    builder = DocumentBuilder(paper=paper)
    (document,) = builder.feed(tokenize(p.output)) + builder.close()
    return document.text().split("\n")[:-1]


# -- ESC $ -------------------------------------------------------------------------------------


def test_absolute_positions_keep_columns_apart() -> None:
    p = Dummy()
    p.text("Flat white")
    p._raw(at(44 * 12))  # Font A: 12 dots a column
    p.text("3.20\n")
    assert lines(p) == ["Flat white" + " " * 34 + "3.20"]


def test_a_position_between_two_columns_goes_to_the_nearest() -> None:
    p = Dummy()
    p.text("ab")
    p._raw(at(5 * 12 + 5))  # 5.4 columns
    p.text("c")
    p._raw(at(8 * 12 + 7))  # 8.6 columns
    p.text("d\n")
    assert lines(p) == ["ab   c   d"]


def test_a_position_outside_the_print_area_is_ignored() -> None:
    p = Dummy()
    p.text("abc")
    p._raw(at(577))  # the printer ignores it: the text follows on
    p.text("def")
    p._raw(area(240) + at(300))  # beyond a narrowed area, too
    p.text("ghi\n")
    assert lines(p) == ["abcdefghi"]
    wide = Dummy()
    wide.text("abc")
    wide._raw(at(600))
    wide.text("d\n")
    assert lines(wide, Paper(width=640)) == ["abc" + " " * 47 + "d"]  # a wider printer


def test_a_move_with_nothing_after_it_adds_nothing() -> None:
    p = Dummy()
    p.text("Total")
    p._raw(at(400))
    p.text("\n")
    p._raw(at(100))
    p.text("\nnext\n")
    assert lines(p) == ["Total", "", "next"]


# -- ESC \ -------------------------------------------------------------------------------------


def test_relative_moves_go_both_ways_and_stay_inside_the_area() -> None:
    p = Dummy()
    p.text("Qty")
    p._raw(move(5 * 12))
    p.text("2")
    p._raw(move(-100 * 12))  # left of the area's edge: ignored
    p.text("x\n")
    assert lines(p) == ["Qty     2x"]


def test_a_price_right_aligned_by_a_move_back_from_a_tab_stop() -> None:
    p = Dummy()
    p._raw(tabs(40))
    p.text("Soup\t")
    p._raw(move(-4 * 12))
    p.text("4.50\n")
    assert lines(p) == ["Soup" + " " * 32 + "4.50"]


# -- text placed behind the print position -------------------------------------------------------


def test_text_placed_before_text_already_on_the_line_is_merged_in() -> None:
    # The price first, then the name at the start: the printer prints both.
    p = Dummy()
    p._raw(at(44 * 12))
    p.text("3.20")
    p._raw(at(0))
    p.text("Flat white\n")
    assert lines(p) == ["Flat white" + " " * 34 + "3.20"]


def test_overprinting_keeps_what_blanks_cross_and_lets_the_later_character_win() -> None:
    p = Dummy()
    p.text("Flat white")
    p._raw(move(-10 * 12))
    p.text("  ")  # blanks print no ink: "Fl" stays
    p.text("o")  # over "a"
    p._raw(at(20 * 12))
    p.text("end\n")
    assert lines(p) == ["Flot white" + " " * 10 + "end"]


def test_overprinting_half_of_a_double_width_character_replaces_all_of_it() -> None:
    p = Dummy()
    p.set(double_width=True)
    p.text("AB")  # columns 0-1 and 2-3
    p.set(normal_textsize=True)
    p._raw(at(1 * 12))
    p.text("x")  # over the right half of A
    p._raw(at(6 * 12))
    p.text("y\n")
    (line,) = lines(p)
    assert line == " xB  y"  # A's left half is blank now; B (two columns) is one character


def test_blanks_never_erase_whichever_comes_first() -> None:
    first, second = Dummy(), Dummy()
    first.text("abc")
    first._raw(at(0))
    first.text(" Z ")
    second.text(" Z ")
    second._raw(at(0))
    second.text("a c")
    first.text("\n")
    second.text("\n")
    assert lines(first) == ["aZc"]
    assert lines(second) == ["aZc"]  # second: 'a' and 'c' over blanks, nothing over Z


@given(
    st.lists(
        st.tuples(st.integers(0, 47), st.text(alphabet="ab Z", min_size=1, max_size=6)),
        max_size=12,
    )
)
def test_every_column_shows_the_last_ink_placed_on_it(placements: list[tuple[int, str]]) -> None:
    # The printer's own rule, column by column: ink stays until other ink covers it.
    events: list[Event] = []
    paper: dict[int, str] = {}
    for column, run in placements:
        events += [Command(b"", "ESC $", tuple(u16(column * 12))), Text(b"", run, TextStyle())]
        for offset, ch in enumerate(run):
            if ch != " ":
                paper[column + offset] = ch
    documents = build_documents([*events, Control(b"\n", "LF")])
    text = documents[0].text().rstrip("\n") if documents else ""
    assert {i: ch for i, ch in enumerate(text) if ch != " "} == paper


def test_an_underlined_blank_over_text_keeps_the_text() -> None:
    p = Dummy()
    p.text("Total")
    p._raw(at(0))
    p.set(underline=1)
    p.text("       ")  # underlines "Total" and two blank columns after it
    p.set(underline=0)
    p.text("x\n")
    builder = DocumentBuilder()
    (document,) = builder.feed(tokenize(p.output)) + builder.close()
    (line,) = document.lines
    assert line.text == "Total  x"
    assert [(span.text, span.style.underline) for span in line.spans] == [
        ("Total", 0),
        ("  ", 1),
        ("x", 0),
    ]


def test_printing_over_a_long_line_many_times_keeps_it_whole() -> None:
    p = Dummy()
    p.text("x" * 2000)
    for n in range(480):  # twelve times along columns 0-40, the last ending at 40
        p._raw(at(n % 40 * 12))
        p.text("ab")
    p.text("\n")
    (line,) = lines(p)
    assert line == "a" * 40 + "b" + "x" * 1959


# -- tabs --------------------------------------------------------------------------------------


def test_tabs_go_to_esc_d_stops_and_esc_d_without_stops_clears_them() -> None:
    p = Dummy()
    p.text("a\tb\n")  # the default stops: every 8 columns
    p._raw(tabs(5, 12))
    p.text("a\tb\tc\td\n")  # past the last stop HT is ignored
    p._raw(b"\x1bD\x00")
    p.text("a\tb\n")
    assert lines(p) == ["a       b", "a    b      cd", "ab"]


def test_a_line_ending_in_a_tab_has_no_trailing_blanks() -> None:
    p = Dummy()
    p.text("Label\t\n")
    assert lines(p) == ["Label"]


# -- left margin and print area ----------------------------------------------------------------


def test_a_left_margin_indents_left_aligned_lines_and_positions_count_from_it() -> None:
    p = Dummy()
    p._raw(margin(3 * 12))
    p.text("Item")
    p._raw(at(10 * 12))
    p.text("1.00\n")
    p.set(align="center")
    p.text("Thanks\n")  # centring puts no spaces before a line
    p.set(align="left")
    p.text("a")
    p._raw(margin(0))  # GS L acts at the start of a line: this one keeps its margin
    p.text("b\nc\n")
    assert lines(p) == ["   Item      1.00", "Thanks", "   ab", "c"]


def test_a_print_area_past_the_paper_ends_at_the_paper() -> None:
    p = Dummy()
    p._raw(margin(100 * 12 // 10) + area(576))  # 10 columns of margin: 38 left for text
    p.text("a")
    p._raw(at(40 * 12))  # beyond 38 columns: ignored
    p.text("b")
    p._raw(at(37 * 12))
    p.text("c\n")
    assert lines(p) == [" " * 10 + "ab" + " " * 35 + "c"]


def test_esc_at_resets_margin_area_stops_and_units() -> None:
    p = Dummy()
    p._raw(margin(24) + area(120) + tabs(3) + b"\x1dP\x64\x00")
    p.text("x\n")
    p._raw(b"\x1b@")
    p.text("a\tb")
    p._raw(at(12 * 12))
    p.text("c\n")
    assert lines(p) == ["  x", "a       b   c"]


# -- sizes and fonts ---------------------------------------------------------------------------


def test_double_width_text_counts_two_columns_and_reads_as_plain_characters() -> None:
    p = Dummy()
    p.set(double_width=True, bold=True)
    p.text("TOTAL")  # ten columns on paper
    p._raw(at(40 * 12))
    p.text("6.40\n")  # double width too: columns 40-47
    p.set(normal_textsize=True, bold=False)
    p.text("Cash")
    p._raw(at(44 * 12))
    p.text("6.40\n")
    assert lines(p) == ["TOTAL" + " " * 30 + "6.40", "Cash" + " " * 40 + "6.40"]


def test_double_width_text_in_a_column() -> None:
    p = Dummy()
    p.text("Table")
    p._raw(at(20 * 12))
    p.set(double_width=True)
    p.text("12")
    p.set(normal_textsize=True)
    p._raw(at(30 * 12))
    p.text("Guests 2\n")
    assert lines(p) == ["Table" + " " * 15 + "12" + " " * 6 + "Guests 2"]


def test_font_b_columns_are_nine_dots() -> None:
    p = Dummy()
    p.set(font="b")
    p.text("Latte")
    p._raw(at(58 * 9))  # 64 Font B columns on 80 mm: the price at 58
    p.text("3.80\n")
    assert lines(p) == ["Latte" + " " * 53 + "3.80"]


def test_a_tab_at_the_start_of_a_font_b_line_counts_font_b_columns() -> None:
    p = Dummy()
    p.set(font="b")
    p.text("Latte\n\t2\n")
    assert lines(p) == ["Latte", "        2"]


def test_gs_p_sets_the_motion_unit_of_later_positions() -> None:
    p = Dummy()
    p._raw(b"\x1dP\x65\x00")  # 1/101 inch: two dots at 203 dpi (2.0099...)
    p.text("a")
    p._raw(at(60))  # 120.6 dots: column 10
    p.text("b")
    p._raw(b"\x1dP\x00\x00" + at(240))  # back to dots
    p.text("c\n")
    assert lines(p) == ["a         b         c"]


def test_character_spacing_widens_columns() -> None:
    p = Dummy()
    p._raw(b"\x1b\x20\x04")  # ESC SP 4: 16 dots a Font A column
    p.text("ab")
    p._raw(at(10 * 16))
    p.text("c\n")
    assert lines(p) == ["ab        c"]


def test_wide_and_combining_characters_take_their_columns() -> None:
    assert columns_of("abc") == 3
    assert columns_of("日本", 1) == 4
    assert columns_of("ก\u0e34", 2) == 2  # a Thai vowel sign sits on its consonant
    wide = TextStyle()
    events = [
        Text(b"", "寿司", wide, Align.LEFT),
        Control(b"\t", "HT"),
        Text(b"", "x", wide, Align.LEFT),
        Control(b"\n", "LF"),
    ]
    (document,) = build_documents(events)
    assert document.text() == "寿司    x\n"  # four columns of Kanji, then to the stop at 8


# -- what the grammar reads --------------------------------------------------------------------


def _receiptline_style() -> bytes:
    """A receipt laid out as receiptline lays it out: every column at an ESC $ position."""
    p = Dummy()
    p.set(align="center", double_width=True)
    p.text("CAFE\n")
    p.set(align="left", normal_textsize=True)
    p._raw(margin(0) + area(576))
    for name, price in (("Flat white", "3.20"), ("Cheese toastie", "6.90")):
        p._raw(at(0))
        p.text(name)
        p._raw(at((48 - len(price)) * 12))
        p.text(price + "\n")
    p.set(double_width=True)
    p._raw(at(0))
    p.text("TOTAL")
    p._raw(at((48 - 2 * 5) * 12))
    p.text("10.10\n")
    p.set(normal_textsize=True)
    p._raw(at(0))
    p.text("Cash")
    p._raw(at(43 * 12))
    p.text("20.00\n")
    p._raw(at(0))
    p.text("Change")
    p._raw(at(43 * 12))
    p.text("9.90\n")
    p.cut()
    return bytes(p.output)


def test_a_receiptline_style_receipt_reads_with_the_generic_layout() -> None:
    (result,) = read_receipts(_receiptline_style(), Layout.load("generic"))
    receipt = result.receipt
    assert receipt is not None, result.error
    assert [(i.name, str(i.amount)) for i in receipt.items] == [
        ("Flat white", "3.20"),
        ("Cheese toastie", "6.90"),
    ]
    assert str(receipt.total) == "10.10"
    assert [(t.method, str(t.amount)) for t in receipt.tenders] == [("cash", "20.00")]
    assert str(receipt.change) == "9.90"
    assert receipt.problems == []


def test_the_grammar_text_is_the_documents_text() -> None:
    data = _receiptline_style()
    (document,) = build_documents(tokenize(data))
    (text,) = grammar_texts(data)
    assert text == document.text()
    (result,) = read_receipts(data, Layout.load("generic"))
    assert result.receipt is not None and result.receipt.raw_text == text
    assert text.startswith("CAFE\n")  # centred, double width: no spaces, no letter-spacing
