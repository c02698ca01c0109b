"""The edge-case captures (``fixtures/edge``), checked where the generic corpus test cannot look:
chunks that split a character or a command at the worst place, the events a damaged or unusual
stream gives, and image bytes that must stay image.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.document import Image, build_documents
from parsers.escpos.events import (
    Command,
    Cut,
    DrawerKick,
    Event,
    Payload,
    Reset,
    StatusRequest,
    Text,
    Unknown,
)
from parsers.escpos.tokenizer import Tokenizer, tokenize
from parsers.layouts import Layout, ReceiptParseError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
EDGE = FIXTURES / "edge"
KANJI = "抹茶".encode("shift_jis")


def _capture(name: str, folder: Path = EDGE) -> bytes:
    return (folder / f"{name}.bin").read_bytes()


def _fed(data: bytes, splits: list[int]) -> list[Event]:
    """The events of ``data`` fed in pieces that end at each of ``splits``."""
    tokenizer = Tokenizer()
    events: list[Event] = []
    start = 0
    for split in sorted(set(splits)):
        events += tokenizer.feed(data[start:split])
        start = split
    events += tokenizer.feed(data[start:])
    return events + tokenizer.close()


def _text(data: bytes) -> str:
    (document,) = build_documents(tokenize(data))
    return document.text()


def test_kanji_split_between_lead_and_trail_byte_gives_the_same_events() -> None:
    data = _capture("kanji_item")
    start = data.index(KANJI)
    whole = tokenize(data)
    # Between the two bytes of each character, then every byte on its own around them.
    assert _fed(data, [start + 1]) == whole
    assert _fed(data, [start + 3]) == whole
    assert _fed(data, list(range(start - 4, start + len(KANJI) + 3))) == whole
    assert any(isinstance(e, Text) and "抹茶" in e.text for e in whole)
    assert "Matcha 抹茶 Pulver 30g" in _text(data)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), max_size=6))
def test_kanji_any_split_near_the_characters_gives_the_same_events(offsets: list[int]) -> None:
    data = _capture("kanji_item")
    start = data.index(KANJI) - 20  # from the FS C / FS & commands to past the FS .
    assert _fed(data, [start + o for o in offsets]) == tokenize(data)


def test_code_page_switch_decodes_each_run_with_its_own_page() -> None:
    data = _capture("code_page_switch")
    switch = data.index(b"\x1bt\x10")
    assert _fed(data, [switch + 1, switch + 2]) == tokenize(data)  # inside ESC t 16
    text = _text(data)
    assert "Crème fraîche 30% 200g" in text  # WPC1252
    assert "Ihr Vorteil heute: 2,50 €" in text  # 0x80 is the euro in WPC1252
    assert "Vielen Dank für Ihren Einkauf!" in text  # back in PC858 (ü is 0x81)
    assert "Hauptstraße 12" in text  # PC858 before the switch


def _raster_payload(events: list[Event]) -> tuple[int, bytes]:
    """Where the first GS v 0 image is in ``events``, and its whole payload."""
    index = next(i for i, e in enumerate(events) if isinstance(e, Command) and e.name == "GS v 0")
    header = events[index]
    assert isinstance(header, Command)
    pieces: list[bytes] = []
    for event in events[index + 1 :]:
        if not isinstance(event, Payload):
            break
        pieces.append(event.raw)
    payload = b"".join(pieces)
    assert len(payload) == header.payload_length
    return index + len(pieces), payload


LOOKALIKES = (b"\x10\x04\x01", b"\x1dV\x00", b"\x1bi", b"\x1bm", b"\x1b@", b"SUMME  EUR 0,01\n")


def test_logo_bytes_that_look_like_commands_and_text_stay_image() -> None:
    data = _capture("logo_lookalikes")
    events = tokenize(data)
    image_end, raster = _raster_payload(events)
    for pattern in (*LOOKALIKES, b"TOTAL  $99.99\n"):
        assert pattern in raster  # the capture holds what this test is about
    assert not any(isinstance(e, StatusRequest | Reset | Unknown) for e in events)
    cuts = [i for i, e in enumerate(events) if isinstance(e, Cut)]
    assert len(cuts) == 1 and cuts[0] > image_end
    (document,) = build_documents(events)
    assert "SUMME  EUR 0,01" not in document.text() and "$99.99" not in document.text()
    images = [b for b in document.blocks if isinstance(b, Image)]
    assert [(i.width, i.height, i.bitmap) for i in images] == [(384, 24, raster)]


def test_logo_lookalikes_split_inside_each_pattern_give_the_same_events() -> None:
    data = _capture("logo_lookalikes")
    splits = [data.index(p) + 1 for p in LOOKALIKES]
    assert _fed(data, splits) == tokenize(data)


def test_unknown_commands_are_skipped_and_the_check_reads_as_without_them() -> None:
    data = _capture("unknown_commands")
    unknown = [e.raw for e in tokenize(data) if isinstance(e, Unknown)]
    assert unknown == [b"\x1b\xff", b"\x1d\x99", b"\x1c\x9a"]
    plain = _capture("sale_cash", FIXTURES / "diner_us")
    assert _text(data) == _text(plain)
    receipt = Layout.load("diner_us").parse_text(_text(data))
    assert [i.name for i in receipt.items][:2] == ["Cheeseburger Deluxe", "Coffee"]
    assert receipt.problems == []


def test_truncated_stream_ends_in_an_unknown_saying_truncated() -> None:
    data = _capture("truncated_in_image")
    tokenizer = Tokenizer()
    fed = tokenizer.feed(data)
    assert tokenizer.pending > 0  # the unfinished payload piece waits for more bytes
    assert not any(isinstance(e, Unknown) for e in fed)
    events = fed + tokenizer.close()
    assert events == tokenize(data) == _fed(data, list(range(0, len(data), 97)))
    last = events[-1]
    assert isinstance(last, Unknown) and last.reason.startswith("truncated")
    assert b"".join(e.raw for e in events) == data


def test_truncated_stream_gives_one_uncut_document_that_does_not_parse() -> None:
    (document,) = build_documents(tokenize(_capture("truncated_in_image")))
    assert not document.cut
    assert document.lines[-1].text.startswith("Girocard")
    with pytest.raises(ReceiptParseError, match="ended"):
        Layout.load("supermarket").parse(document)


def test_two_receipts_back_to_back_are_two_documents() -> None:
    documents = build_documents(tokenize(_capture("back_to_back")))
    assert [d.cut for d in documents] == [True, True]
    layout = Layout.load("diner_us")
    assert [layout.parse(d).number for d in documents] == ["4821", "4822"]


def test_receipt_without_a_cut_is_read_at_the_end_of_the_stream() -> None:
    events = tokenize(_capture("no_cut"))
    assert not any(isinstance(e, Cut) for e in events)
    (document,) = build_documents(events)
    assert not document.cut
    assert Layout.load("diner_us").parse(document).total is not None


def test_drawer_kick_after_the_cut_starts_no_document() -> None:
    events = tokenize(_capture("drawer_kick_after_cut"))
    kinds = [type(e) for e in events if isinstance(e, Cut | DrawerKick)]
    assert kinds == [Cut, DrawerKick]
    kick = events[-1]
    assert isinstance(kick, DrawerKick) and kick.pin == 2
    assert len(build_documents(events)) == 1


def test_feed_and_cut_is_a_partial_cut_with_its_feed() -> None:
    events = tokenize(_capture("feed_and_cut"))
    cut = events[-1]
    assert isinstance(cut, Cut)
    assert (cut.raw, cut.partial, cut.feed) == (b"\x1dVB\x03", True, 3)
    (document,) = build_documents(events)
    assert document.cut


def test_status_requests_around_a_check_print_nothing() -> None:
    events = tokenize(_capture("status_polling"))
    requests = [e.raw for e in events if isinstance(e, StatusRequest)]
    assert requests == [b"\x10\x04\x01", b"\x1dr\x01"]
    assert isinstance(events[0], Reset)
    (document,) = build_documents(events)
    assert document.cut
    assert _text(_capture("status_polling")) == _text(_capture("sale_cash", FIXTURES / "diner_us"))
