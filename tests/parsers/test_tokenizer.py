"""The ESC/POS tokenizer, command family by command family."""

from __future__ import annotations

import tracemalloc

import pytest

from parsers.escpos import (
    MAX_TEXT_RUN,
    PAYLOAD_PIECE,
    Align,
    Command,
    Control,
    Cut,
    DrawerKick,
    Event,
    Payload,
    PrinterState,
    Reset,
    StatusRequest,
    Text,
    TextStyle,
    Tokenizer,
    Unknown,
    tokenize,
)
from parsers.escpos.commands import TABLE, Family, Spec

ESC, GS, FS, DLE = b"\x1b", b"\x1d", b"\x1c", b"\x10"


def texts(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, Text))


def kinds(events: list[Event]) -> list[str]:
    """A compact picture of a stream: event class, and the name for commands and controls."""
    out = []
    for e in events:
        name = type(e).__name__
        if isinstance(e, Command | Control):
            name += f":{e.name}"
        elif isinstance(e, Payload):
            name += f":{e.command}"
        out.append(name)
    return out


def only(events: list[Event], cls: type[Event]) -> list:
    return [e for e in events if isinstance(e, cls)]


# --- controls and text ---------------------------------------------------------------------


def test_single_byte_controls_are_named():
    events = tokenize(b"\n\r\t\x0c\x18\x00\x07\x1e")
    assert [e.name for e in events] == ["LF", "CR", "HT", "FF", "CAN", "NUL", "BEL", "RS"]
    assert all(isinstance(e, Control) for e in events)


def test_text_run_ends_at_a_control_and_keeps_its_bytes():
    events = tokenize(b"Hello world\nBye")
    assert kinds(events) == ["Text", "Control:LF", "Text"]
    assert [e.raw for e in events] == [b"Hello world", b"\n", b"Bye"]
    assert texts(events) == "Hello worldBye"


def test_long_text_runs_are_cut_at_the_maximum_counted_from_their_start():
    data = b"A" * (2 * MAX_TEXT_RUN + 100)
    events = tokenize(data)
    assert [len(e.raw) for e in events] == [MAX_TEXT_RUN, MAX_TEXT_RUN, 100]


def test_text_at_the_end_of_a_chunk_waits_for_the_next_byte():
    tokenizer = Tokenizer()
    assert tokenizer.feed(b"TOTAL 12,50") == []
    assert tokenizer.pending == 11
    events = tokenizer.feed(b" EUR\n")
    assert kinds(events) == ["Text", "Control:LF"]
    assert events[0].text == "TOTAL 12,50 EUR"
    assert tokenizer.pending == 0


# --- style and alignment ---------------------------------------------------------------------


def test_text_carries_the_style_and_alignment_in_force():
    data = (
        ESC + b"a\x01" + ESC + b"E\x01" + GS + b"!\x11" + b"BIG\n"
        + ESC + b"E\x00" + GS + b"!\x00" + ESC + b"a2" + b"right\n"
    )  # fmt: skip
    big, right = only(tokenize(data), Text)
    assert big.align is Align.CENTER
    assert big.style == TextStyle(bold=True, width=2, height=2)
    assert right.align is Align.RIGHT
    assert right.style == TextStyle()


@pytest.mark.parametrize(
    ("command", "style"),
    [
        (ESC + b"!\x01", TextStyle(font="B")),
        (ESC + b"!\x08", TextStyle(bold=True)),
        (ESC + b"!\x30", TextStyle(width=2, height=2)),
        (ESC + b"!\x80", TextStyle(underline=1)),
        (ESC + b"-\x02", TextStyle(underline=2)),
        (ESC + b"-1", TextStyle(underline=1)),
        (ESC + b"G\x01", TextStyle(double_strike=True)),
        (GS + b"!\x70", TextStyle(width=8)),
        (GS + b"!\x88", TextStyle()),  # out of range: ignored
        (GS + b"B\x01", TextStyle(reverse=True)),
        (ESC + b"{\x01", TextStyle(upside_down=True)),
        (ESC + b"V\x01", TextStyle(rotated=True)),
        (ESC + b"M\x02", TextStyle(font="C")),
        (ESC + b"M1", TextStyle(font="B")),
        (ESC + b"M\x07", TextStyle()),  # no such font: ignored
    ],
)
def test_style_commands(command, style):
    events = tokenize(command + b"x\n")
    assert only(events, Text)[0].style == style


def test_line_spacing_and_invalid_alignment():
    tokenizer = Tokenizer()
    tokenizer.feed(ESC + b"3\x40" + ESC + b"a\x01" + ESC + b"a\x07")
    assert tokenizer.state.line_spacing == 64
    assert tokenizer.state.align is Align.CENTER  # ESC a 7 is ignored
    tokenizer.feed(ESC + b"2")
    assert tokenizer.state.line_spacing is None


def test_esc_at_resets_everything():
    tokenizer = Tokenizer()
    setup = ESC + b"t\x13" + ESC + b"R\x02" + ESC + b"a\x02" + ESC + b"E\x01" + FS + b"&"
    events = tokenizer.feed(setup + ESC + b"@" + b"x\n")
    assert isinstance(events[-3], Reset)
    assert tokenizer.state == PrinterState()
    assert events[-2].style == TextStyle() and events[-2].align is Align.LEFT


def test_initial_state_is_copied_not_shared():
    state = PrinterState(code_page=16)
    tokenizer = Tokenizer(state)
    events = tokenizer.feed(b"\x80\n" + ESC + b"t\x00")
    assert events[0].text == "€"
    assert tokenizer.state.code_page == 0
    assert state.code_page == 16


# --- code pages and international sets -------------------------------------------------------


def test_euro_in_pc858_and_wpc1252():
    events = tokenize(ESC + b"t\x13" + b"\xd5 1,00\n" + ESC + b"t\x10" + b"\x80 2,00\n")
    assert [e.text for e in only(events, Text)] == ["€ 1,00", "€ 2,00"]


@pytest.mark.parametrize(
    ("page", "codec", "text"),
    [
        (18, "cp852", "Zażółć gęślą jaźń ŁÓDŹ"),
        (16, "cp1252", "Café crème brûlée, Straße, niño"),
        (2, "cp850", "Ñandú pingüino"),
        (17, "cp866", "Спасибо за покупку"),
        (45, "cp1250", "Dziękujemy, Kč"),
        (0, "cp437", "½ ° ñ"),
    ],
)
def test_code_pages_decode_national_letters(page, codec, text):
    events = tokenize(ESC + b"t" + bytes((page,)) + text.encode(codec) + b"\n")
    assert texts(events) == text


@pytest.mark.parametrize("page", [1, 6, 11, 20, 41, 200, 255])
def test_pages_without_a_codec_keep_one_character_per_byte(page):
    raw = bytes(range(0x20, 0x100))
    events = tokenize(ESC + b"t" + bytes((page,)) + raw + b"\n")
    text = texts(events)
    assert len(text) == len(raw)
    assert text[: 0x7F - 0x20] == raw[: 0x7F - 0x20].decode("ascii")


def test_katakana_page():
    events = tokenize(ESC + b"t\x01" + "ｱｲｳ".encode("shift_jis") + b"\n")
    assert texts(events) == "ｱｲｳ"


@pytest.mark.parametrize(
    ("country", "expected"),
    [
        (0, "#$@[\\]^`{|}~"),
        (1, "#$à°ç§^`éùè¨"),
        (2, "#$§ÄÖÜ^`äöüß"),
        (3, "£$@[\\]^`{|}~"),
        (7, "₧$@¡Ñ¿^`¨ñ}~"),
        (8, "#$@[¥]^`{|}~"),
        (14, "#$ŽŠĐĆČžšđćč"),
        (99, "#$@[\\]^`{|}~"),  # unknown: USA
    ],
)
def test_international_character_sets(country, expected):
    events = tokenize(ESC + b"R" + bytes((country,)) + b"#$@[\\]^`{|}~\n")
    assert texts(events) == expected


def test_international_set_and_code_page_combine():
    events = tokenize(ESC + b"t\x10" + ESC + b"R\x02" + b"Gr\x7d\xdf\x80\n")
    assert texts(events) == "Grüß€"


# --- Kanji ------------------------------------------------------------------------------------


def test_kanji_mode_decodes_shift_jis_whatever_the_chunking():
    body = "日本語のレシート 合計 1,200円".encode("shift_jis")
    data = FS + b"&" + body + b"\n" + FS + b"." + b"abc\n"
    whole = tokenize(data)
    # Runs of two-byte and of one-byte characters: the printer styles them apart (FS !, ESC !).
    assert [e.text for e in only(whole, Text)] == [
        "日本語のレシート",
        " ",
        "合計",
        " 1,200",
        "円",
        "abc",
    ]
    for cut in range(1, len(data)):
        tokenizer = Tokenizer()
        events = tokenizer.feed(data[:cut]) + tokenizer.feed(data[cut:]) + tokenizer.close()
        assert events == whole


def test_kanji_sizes_and_underline_apply_to_two_byte_characters_only():
    data = (
        FS
        + b"&"
        + FS
        + b"!\x0c"
        + FS
        + b"-\x01"
        + ESC
        + b"E\x01"
        + "合計".encode("shift_jis")
        + b" 1,200\n"
        + FS
        + b"W\x00"
        + FS
        + b"-\x00"
        + "円".encode("shift_jis")
        + b"\n"
        + ESC
        + b"@"
        + FS
        + b"&"
        + "円".encode("shift_jis")
        + b"\n"
    )
    kanji, ascii_, smaller, after_reset = only(tokenize(data), Text)
    assert (kanji.text, kanji.style.width, kanji.style.height) == ("合計", 2, 2)
    assert kanji.style.underline == 1 and kanji.style.bold  # ESC E still applies
    assert (ascii_.text, ascii_.style.width, ascii_.style.underline) == (" 1,200", 1, 0)
    assert (smaller.style.width, smaller.style.height, smaller.style.underline) == (1, 1, 0)
    assert (after_reset.style.width, after_reset.style.height) == (1, 1)  # ESC @ resets FS !


def test_kanji_run_cut_at_the_maximum_never_splits_a_character():
    # One ASCII byte first, so a cut at an even length would fall inside a character.
    body = b"x" + "漢".encode("shift_jis") * MAX_TEXT_RUN
    events = tokenize(FS + b"&" + body + b"\n")
    runs = only(events, Text)
    assert len(runs) > 1
    assert "".join(e.text for e in runs) == "x" + "漢" * MAX_TEXT_RUN
    assert all(len(e.raw) <= MAX_TEXT_RUN for e in runs)


def test_fs_c_selects_jis_code():
    jis = bytes(b & 0x7F for b in "日本".encode("euc_jp"))
    events = tokenize(FS + b"C\x00" + FS + b"&" + jis + b"\n")
    assert texts(events) == "日本"


# --- payloads ---------------------------------------------------------------------------------

LOOKALIKES = DLE + b"\x04\x01" + DLE + b"\x05\x02" + DLE + b"\x14\x01\x00\x01" + ESC + b"i"
LOOKALIKES += ESC + b"m" + GS + b"V\x00" + GS + b"r\x01" + ESC + b"@" + b"\n"


def test_image_payload_is_never_read_as_commands():
    image = (LOOKALIKES * 10)[:96]
    data = GS + b"v0\x00\x02\x00\x30\x00" + image + b"after\n"
    events = tokenize(data)
    assert kinds(events) == ["Command:GS v 0", "Payload:GS v 0", "Text", "Control:LF"]
    header, payload = events[0], events[1]
    assert header.args == (0, 2, 0, 0x30, 0) and header.payload_length == 96
    assert payload.raw == image and payload.offset == 0
    assert not only(events, StatusRequest) and not only(events, Cut)


@pytest.mark.parametrize(
    ("header", "length"),
    [
        (ESC + b"*\x00\x05\x00", 5),
        (ESC + b"*\x21\x05\x00", 15),  # 24-dot modes: 3 bytes a column
        (GS + b"*\x02\x03", 48),
        (GS + b"(k\x07\x00", 7),
        (GS + b"(L\x0a\x00", 10),
        (ESC + b"(A\x04\x00", 4),
        (FS + b"(A\x02\x00", 2),
        (GS + b"8L\x05\x00\x00\x00", 5),
        (GS + b"kI\x06", 6),
        (FS + b"g1\x00\x00\x00\x00\x00\x03\x00", 3),
        (GS + b"Q0\x00\x08\x00\x02\x00", 16),  # 8 dots wide, 2 bytes high
        (FS + b"2\x77\xa1", 72),  # one 24x24 user-defined Kanji character
        # A BMP of 6 + 40 bytes as NV graphics, then as download graphics.
        (GS + b"D0C0" + b"\x20\x20" + b"1\x31" + b"BM\x2e\x00\x00\x00", 40),
        (GS + b"D0S0" + b"BM\x2e\x00\x00\x00", 40),
    ],
)
def test_payload_commands_declare_their_length(header, length):
    payload = (LOOKALIKES * 10)[:length]
    events = tokenize(header + payload + b"ok\n")
    assert events[0].payload_length == length
    assert kinds(events)[2:] == ["Text", "Control:LF"]
    assert events[1].raw == payload and isinstance(events[1], Payload)


def test_large_payloads_come_in_pieces_counted_from_the_start():
    size = 2 * PAYLOAD_PIECE + 10
    header = GS + b"v0\x00" + bytes((size % 256, size // 256, 1, 0))
    tokenizer = Tokenizer()
    events = tokenizer.feed(header + b"\x00" * 100)
    assert tokenizer.pending == 100
    events += tokenizer.feed(b"\x1d" * (size - 100)) + tokenizer.feed(b"\n")
    pieces = only(events, Payload)
    assert [(p.offset, len(p.raw)) for p in pieces] == [
        (0, PAYLOAD_PIECE),
        (PAYLOAD_PIECE, PAYLOAD_PIECE),
        (2 * PAYLOAD_PIECE, 10),
    ]
    assert kinds(events)[-1] == "Control:LF"


def test_barcode_with_nul_terminated_data():
    events = tokenize(GS + b"k\x04*A" + ESC + b"i1*\x00" + b"done\n")
    assert kinds(events) == ["Command:GS k", "Payload:GS k", "Text", "Control:LF"]
    assert events[0].args == (4,) and events[0].payload_length == 7
    assert events[1].raw == b"*A\x1bi1*\x00"


def test_barcode_without_nul_resynchronises_after_its_header():
    data = GS + b"k\x04" + b"9" * 300 + b"\n"
    events = tokenize(data)
    assert isinstance(events[0], Unknown) and events[0].raw == GS + b"k\x04"
    assert texts(events) == "9" * 300


def test_barcode_nul_may_arrive_in_a_later_chunk():
    tokenizer = Tokenizer()
    assert tokenizer.feed(GS + b"k\x02" + b"400638133393") == []
    events = tokenizer.feed(b"1\x00\n")
    assert kinds(events) == ["Command:GS k", "Payload:GS k", "Control:LF"]


def test_fs_q_images_are_sub_headers_with_payloads():
    image = b"\x01\x00\x01\x00" + DLE + b"\x04\x01" + b"\x00" * 5  # 1x1 (x8 bytes)
    events = tokenize(FS + b"q\x02" + image + image + b"x\n")
    assert kinds(events) == [
        "Command:FS q",
        "Command:FS q image",
        "Payload:FS q image",
        "Command:FS q image",
        "Payload:FS q image",
        "Text",
        "Control:LF",
    ]
    assert events[1].args == (1, 0, 1, 0) and events[1].payload_length == 8


def test_esc_ampersand_characters_are_sub_headers_with_payloads():
    # y = 3, characters 0x41..0x42: each is x then 3·x bytes.
    data = ESC + b"&\x03\x41\x42" + b"\x02" + b"\x1b" * 6 + b"\x01" + b"\x1d" * 3 + b"A\n"
    events = tokenize(data)
    assert kinds(events) == [
        "Command:ESC &",
        "Command:ESC & char",
        "Payload:ESC & char",
        "Command:ESC & char",
        "Payload:ESC & char",
        "Text",
        "Control:LF",
    ]


def test_declared_size_does_not_grow_memory():
    header = GS + b"v0\x00\xff\xff\xff\xff"  # 65535 x 65535 bytes declared
    garbage = bytes(range(256)) * 256  # 64 KiB, full of prefixes
    tokenizer = Tokenizer()
    tracemalloc.start()
    try:
        tokenizer.feed(header)
        for _ in range(320):  # 20 MiB
            events = tokenizer.feed(garbage)
            assert all(isinstance(e, Payload) for e in events)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    assert tokenizer.pending < PAYLOAD_PIECE


# --- boundary events --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "partial", "feed"),
    [
        (GS + b"V\x00", False, 0),
        (GS + b"V\x01", True, 0),
        (GS + b"V0", False, 0),
        (GS + b"V1", True, 0),
        (GS + b"VA\x05", False, 5),
        (GS + b"VB\x00", True, 0),
        (GS + b"Va\x10", False, 16),
        (GS + b"Vb\x03", True, 3),
        (GS + b"Vg\x02", False, 2),
        (GS + b"Vh\x04", True, 4),
        (ESC + b"i", True, 0),
        (ESC + b"m", True, 0),
    ],
)
def test_cut_variants(data, partial, feed):
    (event,) = tokenize(data)
    assert isinstance(event, Cut)
    assert (event.partial, event.feed, event.raw) == (partial, feed, data)


def test_gs_v_with_an_impossible_mode_is_unknown_and_resynchronises():
    events = tokenize(GS + b"V\x07" + b"x\n")
    assert kinds(events) == ["Unknown", "Control:BEL", "Text", "Control:LF"]
    assert events[0].raw == GS + b"V"


def test_two_receipts_back_to_back():
    receipt = ESC + b"@" + b"ITEM 1,00\nTOTAL 1,00\n" + ESC + b"d\x03" + GS + b"VA\x03"
    events = tokenize(receipt + receipt + ESC + b"p\x00\x19\xfa")
    assert len(only(events, Cut)) == 2
    assert len(only(events, Reset)) == 2
    assert isinstance(events[-1], DrawerKick)
    # ESC d is a feed, not a cut.
    assert "Command:ESC d" in kinds(events)


@pytest.mark.parametrize(
    ("data", "pin"),
    [
        (ESC + b"p\x00\x19\xfa", 2),
        (ESC + b"p1\x19\xfa", 5),
        (DLE + b"\x14\x01\x00\x05", 2),
        (DLE + b"\x14\x01\x01\x05", 5),
    ],
)
def test_drawer_kicks(data, pin):
    (event,) = tokenize(data)
    assert isinstance(event, DrawerKick) and event.pin == pin


@pytest.mark.parametrize(
    "data",
    [
        DLE + b"\x04\x01",
        DLE + b"\x04\x04",
        DLE + b"\x04\x07\x01",
        DLE + b"\x04\x08\x03",
        DLE + b"\x05\x02",
        DLE + b"\x14\x07\x01",
        GS + b"r\x01",
        GS + b"I\x42",
        GS + b"a\x0f",
        ESC + b"v",
    ],
)
def test_status_requests(data):
    (event,) = tokenize(data)
    assert isinstance(event, StatusRequest) and event.raw == data


@pytest.mark.parametrize(
    "data",
    [DLE + b"\x14\x02\x01\x08", DLE + b"\x14\x08\x01\x03\x14\x01\x06\x02\x08"],
)
def test_other_real_time_commands(data):
    (event,) = tokenize(data)
    assert type(event) is Command and event.name == "DLE DC4"


# --- the command table ------------------------------------------------------------------------


def _fixed_specs() -> list[tuple[bytes, Spec]]:
    found = []
    for key, entry in TABLE.items():
        members = (
            [(key + bytes((third,)), spec) for third, spec in entry.members.items()]
            if isinstance(entry, Family)
            else [(key, entry)]
        )
        for name_bytes, spec in members:
            if spec.args_by_first or spec.until_nul or spec.payload or spec.items:
                continue
            found.append((name_bytes, spec))
    return found


@pytest.mark.parametrize(
    ("name_bytes", "spec"), _fixed_specs(), ids=lambda v: getattr(v, "name", "")
)
def test_every_fixed_command_takes_its_arguments(name_bytes, spec):
    data = name_bytes + b"\x01" * spec.args
    events = tokenize(data + b"x")
    assert events[0].raw == data and events[0].name == spec.name
    assert kinds(events)[1:] == ["Text"]


def test_esc_d_tab_list_ends_at_nul():
    events = tokenize(ESC + b"D\x08\x10\x18\x00" + b"\tA\n")
    assert events[0].name == "ESC D" and events[0].args == (8, 16, 24, 0)
    assert kinds(events)[1:] == ["Control:HT", "Text", "Control:LF"]


def test_esc_d_without_nul_is_unknown():
    events = tokenize(ESC + b"D" + b"\x01" * 40)
    assert isinstance(events[0], Unknown) and events[0].raw == ESC + b"D"


# --- unknown bytes and truncation -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "unknown", "rest"),
    [
        (ESC + b"\x7f" + ESC + b"E\x01", ESC + b"\x7f", ["Command:ESC E"]),
        (ESC + b"\n", ESC, ["Control:LF"]),
        (ESC + ESC + b"@", ESC, ["Reset:ESC @"]),
        (GS + b"(\x01", GS + b"(", ["Control:SOH"]),
        (GS + b"v1" + GS + b"V\x00", GS + b"v1", ["Cut:GS V"]),
        (DLE + b"AB", DLE, ["Text"]),
        (FS + b"Z" + b"ok", FS + b"Z", ["Text"]),
    ],
)
def test_unknown_commands_resynchronise(data, unknown, rest):
    events = tokenize(data)
    assert isinstance(events[0], Unknown) and events[0].raw == unknown
    assert kinds(events)[1:] == rest


@pytest.mark.parametrize(
    ("tail", "undecided"),
    [
        (ESC, 1),
        (ESC + b"a", 2),
        (GS + b"v0\x00\x10", 5),
        (GS + b"(k\x05", 4),
        (DLE + b"\x14\x08\x01", 4),
        (GS + b"k\x04123", 6),
        (FS + b"q\x01\x01", 1),  # the header is complete, its image's header is not
    ],
)
def test_truncated_command_at_close(tail, undecided):
    tokenizer = Tokenizer()
    events = tokenizer.feed(b"ok\n" + tail)
    assert kinds(events)[:2] == ["Text", "Control:LF"]
    assert tokenizer.pending == undecided
    closing = tokenizer.close()
    assert isinstance(closing[0], Unknown) and closing[0].reason.startswith("truncated")
    assert b"".join(e.raw for e in events + closing) == b"ok\n" + tail
    assert tokenizer.pending == 0


def test_truncated_payload_at_close():
    tokenizer = Tokenizer()
    events = tokenizer.feed(GS + b"v0\x00\x10\x00\x10\x00" + b"\x00" * 100)
    assert kinds(events) == ["Command:GS v 0"]
    assert tokenizer.pending == 100
    (unknown,) = tokenizer.close()
    assert isinstance(unknown, Unknown) and len(unknown.raw) == 100
    assert unknown.reason == "truncated payload of GS v 0: 100 of 256 bytes"


def test_long_text_runs_fed_a_byte_at_a_time_are_the_same_events():
    data = b"x" * (MAX_TEXT_RUN + 100) + b"\n" + FS + b"&" + "日本".encode("shift_jis") * 2100
    tokenizer = Tokenizer()
    events = []
    for i in range(len(data)):
        events += tokenizer.feed(data[i : i + 1])
        assert sum(len(e.raw) for e in events) + tokenizer.pending == i + 1
    assert events + tokenizer.close() == tokenize(data)


def test_pending_covers_a_possible_cut():
    tokenizer = Tokenizer()
    assert kinds(tokenizer.feed(b"TOTAL\n" + GS)) == ["Text", "Control:LF"]
    assert tokenizer.pending == 1
    assert tokenizer.feed(b"V") == []
    assert tokenizer.pending == 2
    (cut,) = tokenizer.feed(b"\x01")
    assert isinstance(cut, Cut) and tokenizer.pending == 0
