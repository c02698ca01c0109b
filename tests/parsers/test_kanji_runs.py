"""Kanji-mode text cut into runs of one-byte and two-byte characters, in each code system."""

from __future__ import annotations

import pytest

from parsers.escpos.codepages import decode_kanji, kanji_runs


@pytest.mark.parametrize(
    ("encoding", "codec"),
    [
        ("shift_jis", "shift_jis"),
        ("shift_jis_2004", "shift_jis_2004"),
        ("gb18030", "gb18030"),
        ("big5", "big5"),
    ],
)
def test_runs_split_where_the_character_width_changes(encoding: str, codec: str) -> None:
    text = "合計 1,200 元!"
    raw = text.encode(codec)
    runs = kanji_runs(raw, encoding)
    assert [(t, wide) for _, t, wide in runs] == [
        ("合計", True),
        (" 1,200 ", False),
        ("元", True),
        ("!", False),
    ]
    assert b"".join(r for r, _, _ in runs) == raw  # every byte, in order
    assert "".join(t for _, t, _ in runs) == decode_kanji(raw, encoding)


def test_gb18030_four_byte_characters_are_one_wide_character() -> None:
    raw = "aßb".encode("gb18030")  # ß is four bytes in GB18030
    assert [(len(r), wide) for r, _, wide in kanji_runs(raw, "gb18030")] == [
        (1, False),
        (4, True),
        (1, False),
    ]


def test_jis_has_no_one_byte_characters_but_space_and_controls() -> None:
    raw = "日本".encode("iso2022_jp")[3:-3] + b" "  # JIS codes without the escapes
    assert [(t, wide) for _, t, wide in kanji_runs(raw, "jis")] == [("日本", True), (" ", False)]


def test_malformed_bytes_stay_one_byte_characters() -> None:
    raw = b"\x81 A"  # a lead byte whose next byte (a space) cannot be its second
    runs = kanji_runs(raw, "shift_jis")
    assert b"".join(r for r, _, _ in runs) == raw
    assert not any(wide for _, _, wide in runs)
