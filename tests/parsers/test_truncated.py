"""A stream that ends inside a command says so: the tokenizer's last event is ``Truncated``
(what the command declared, what came), the document carries it, and reading the capture
reports the receipt as truncated. Every byte still belongs to exactly one event."""

from __future__ import annotations

import pytest

from parsers.document import build_documents
from parsers.escpos import Command, Truncated, Unknown, tokenize
from parsers.escpos.tokenizer import Tokenizer
from parsers.layouts import Layout
from parsers.pipeline import read_receipts

ESC, GS, FS = b"\x1b", b"\x1d", b"\x1c"
SALE = b"Bread 1.00\nTOTAL 1.00\n"
CUT = GS + b"V\x00"


def fed_byte_by_byte(data: bytes) -> list:
    tokenizer = Tokenizer()
    events = [e for i in range(len(data)) for e in tokenizer.feed(data[i : i + 1])]
    return events + tokenizer.close()


@pytest.mark.parametrize(
    ("tail", "command", "declared", "received", "unit", "raw"),
    [
        # ESC & y c1 c2 promising three characters, none of which came: the case.
        (ESC + b"&\x03\x20\x22", "ESC &", 3, 0, "characters", b""),
        (ESC + b"&\x03\x20\x22\x01" + b"\xff" * 3, "ESC &", 3, 1, "characters", b""),
        (ESC + b"&\x03\x20\x22\x02" + b"\xff" * 4, "ESC & char", 6, 4, "bytes", b"\xff" * 4),
        (ESC + b"&\x03", "ESC &", 5, 3, "bytes", ESC + b"&\x03"),
        (GS + b"v0\x00\x02\x00\x02\x00", "GS v 0", 4, 0, "bytes", b""),
        (GS + b"v0\x00\x02\x00\x02\x00ab", "GS v 0", 4, 2, "bytes", b"ab"),
        (
            FS + b"q\x02\x01\x00\x01\x00" + b"\x00" * 8 + b"\x01",
            "FS q image",
            4,
            1,
            "bytes",
            b"\x01",
        ),
        (FS + b"q\x02\x01\x00\x01\x00" + b"\x00" * 8, "FS q", 2, 1, "images", b""),
        (GS + b"k\x04123", "GS k", None, 6, "bytes", GS + b"k\x04123"),
        (GS + b"(k\x03", "GS ( k", 5, 4, "bytes", GS + b"(k\x03"),
        (GS + b"(", "GS (", None, 2, "bytes", GS + b"("),
        (GS + b"V", "GS V", None, 2, "bytes", GS + b"V"),
        (ESC, "ESC", None, 1, "bytes", ESC),
    ],
)
def test_a_stream_ending_inside_a_command_ends_in_a_truncated_event(
    tail: bytes, command: str, declared: int | None, received: int, unit: str, raw: bytes
) -> None:
    data = SALE + tail
    events = tokenize(data)
    last = events[-1]
    assert isinstance(last, Truncated) and isinstance(last, Unknown)
    assert (last.command, last.declared, last.received, last.unit) == (
        command,
        declared,
        received,
        unit,
    )
    assert last.raw == raw
    assert last.reason.startswith("truncated") and command in last.reason
    assert b"".join(e.raw for e in events) == data  # every byte in exactly one event
    assert not any(isinstance(e, Truncated) for e in events[:-1])
    assert fed_byte_by_byte(data) == events


def test_the_reason_says_what_was_declared_and_what_came() -> None:
    (*_, header, last) = tokenize(ESC + b"&\x03\x20\x22")
    assert isinstance(header, Command) and header.name == "ESC &"
    assert last.reason == "truncated ESC &: 0 of 3 characters"
    (*_, last) = tokenize(ESC + b"&\x03\x20\x22\x02\xff")
    assert last.reason == "truncated payload of ESC & char: 1 of 6 bytes, in character 1 of 3"
    (*_, last) = tokenize(FS + b"q\x02\x01\x00")
    assert last.reason == "truncated FS q image header: 2 of 4 bytes, in image 1 of 2"


def test_a_complete_stream_has_no_truncated_event() -> None:
    data = SALE + ESC + b"&\x03\x20\x20\x01\xff\xff\xff" + GS + b"v0\x00\x01\x00\x01\x00\x80" + CUT
    assert not any(isinstance(e, Truncated) for e in tokenize(data))


def test_the_document_the_stream_ended_in_says_it_was_truncated() -> None:
    first, second = build_documents(tokenize(SALE + CUT + SALE + ESC + b"&\x03\x20\x22"))
    assert first.truncated is None and first.cut
    assert second.truncated == "truncated ESC &: 0 of 3 characters" and not second.cut
    assert second.text() == SALE.decode()


def test_reading_a_truncated_receipt_reports_it_as_truncated() -> None:
    data = SALE + GS + b"v0\x00\x02\x00\x02\x00ab"
    (guessed,) = read_receipts(data)
    assert guessed.receipt is None and guessed.error is not None
    assert guessed.error.startswith("truncated payload of GS v 0: 2 of 4 bytes")
    assert "may not have printed whole" in guessed.error  # it read, all the same
    (read,) = read_receipts(data, Layout.load("supermarket"))
    assert read.error is not None and read.error.startswith("truncated")
    assert "supermarket" in read.error  # and why the layout could not read it either


def test_a_capture_cut_short_after_its_last_receipt_still_reports_it() -> None:
    complete, cut_short = read_receipts(SALE + CUT + ESC + b"&\x03\x20\x22")
    assert complete.receipt is not None and complete.error is None
    assert cut_short.receipt is None and cut_short.document.truncated is not None
    assert cut_short.error is not None and cut_short.error.startswith("truncated ESC &")
