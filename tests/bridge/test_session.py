"""The interceptor state machine, path by path: what goes to the printer, and when."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest

from bridge.session import (
    EndOfReceipt,
    HandleReceipt,
    Mode,
    Output,
    Session,
    SessionConfig,
)
from parsers.document import Document, DocumentBuilder

ESC, GS, DLE = b"\x1b", b"\x1d", b"\x10"
CUT = GS + b"V\x01"
FULL_CUT = GS + b"V\x00"
RESET = ESC + b"@"
KICK = ESC + b"p\x00\x19\xfa"
GS_R = GS + b"r\x01"
DLE_EOT = DLE + b"\x04\x01"
M = b"\x1bt\x00*MSG*\n"
SALE = b"ACME\nBread  2.00\nTOTAL  2.00\n"


@dataclass
class Run:
    """A session and everything it has said so far."""

    session: Session
    printer: bytearray = field(default_factory=bytearray)
    till: bytearray = field(default_factory=bytearray)
    requests: list[HandleReceipt] = field(default_factory=list)
    deadline: float | None = None

    def take(self, output: Output) -> Output:
        self.printer += output.to_printer
        self.till += output.to_till
        self.requests += output.requests
        self.deadline = output.deadline
        return output

    def send(self, *chunks: bytes, now: float = 0.0) -> Run:
        for chunk in chunks:
            self.take(self.session.from_till(chunk, now))
        return self

    def answer(self, receipt_id: int, message: bytes | None, now: float = 0.0) -> Output:
        return self.take(self.session.handled(receipt_id, message, now))

    def tick(self, now: float) -> Output:
        return self.take(self.session.timer(now))

    def close(self, now: float = 0.0) -> Output:
        return self.take(self.session.till_closed(now))

    def taken(self) -> bytes:
        """The printer bytes so far, forgetting them."""
        out = bytes(self.printer)
        self.printer.clear()
        return out


def run(**config: object) -> Run:
    return Run(Session(SessionConfig(**config)))  # type: ignore[arg-type]


def lines(document: Document) -> list[str]:
    return [line.text for line in document.lines]


# --- plain bytes ------------------------------------------------------------------------------


def test_complete_lines_go_on_at_once() -> None:
    r = run().send(b"Hello\n", b"World\n")
    assert r.taken() == b"Hello\nWorld\n"
    assert r.requests == []
    assert r.deadline is None
    assert r.session.backlog == 0


def test_a_text_run_at_the_end_of_a_chunk_waits_for_the_next_chunk_or_feed_hold() -> None:
    r = run().send(b"Hel", now=1.0)
    assert r.taken() == b""  # the run may go on in the next chunk
    assert r.deadline == pytest.approx(1.05)
    r.send(b"lo\n", now=1.01)
    assert r.taken() == b"Hello\n"
    assert r.deadline is None

    r.send(b"Wor", now=2.0)
    r.tick(2.04)
    assert r.taken() == b""
    r.tick(2.05)
    assert r.taken() == b"Wor"


# --- the cut: hold, answer, release -------------------------------------------------------


def test_the_cut_is_held_until_the_receipt_is_handled_and_the_message_goes_first() -> None:
    r = run().send(SALE + b"\n\n\n" + CUT, now=10.0)
    assert r.taken() == SALE  # the feeds and the cut wait
    [request] = r.requests
    assert request.held and request.receipt_id == 1
    assert lines(request.document)[:3] == ["ACME", "Bread  2.00", "TOTAL  2.00"]
    assert request.document.cut
    assert request.raw == SALE + b"\n\n\n" + CUT
    assert not request.truncated
    assert r.deadline == pytest.approx(11.5)
    assert r.session.holding
    r.answer(1, M, now=10.2)
    assert r.taken() == M + b"\n\n\n" + CUT
    assert not r.session.holding
    assert r.deadline is None


CUTS = [
    GS + b"V\x00",
    GS + b"V\x01",
    GS + b"V0",
    GS + b"V1",
    GS + b"VA\x05",
    GS + b"VB\x05",
    GS + b"Va\x05",
    GS + b"Vb\x05",
    GS + b"Vg\x05",
    GS + b"Vh\x05",
    ESC + b"i",
    ESC + b"m",
]


@pytest.mark.parametrize("cut", CUTS, ids=lambda c: c.hex(" "))
def test_every_cut_form_ends_and_holds_the_receipt(cut: bytes) -> None:
    r = run().send(SALE + b"\n" + cut)
    assert r.taken() == SALE
    [request] = r.requests
    assert request.held
    r.answer(1, M)
    assert r.taken() == M + b"\n" + cut


@pytest.mark.parametrize(
    "feeds",
    [b"\n", b"\n\n\n\n", b"\r\n\r\n", ESC + b"d\x05", ESC + b"J\x40", b"\n" + ESC + b"d\x03\n"],
    ids=["LF", "4 LF", "CRLF", "ESC d", "ESC J", "mixed"],
)
def test_feeds_right_before_the_cut_are_held_with_it(feeds: bytes) -> None:
    r = run().send(SALE, feeds, CUT)
    assert r.taken() == SALE
    r.answer(1, M)
    assert r.taken() == M + feeds + CUT


def test_the_feed_that_prints_the_last_line_is_not_held() -> None:
    # "TOTAL" waits in the printer's line buffer: the LF prints it, and belongs to the receipt.
    r = run().send(b"ACME\nTOTAL 2.00", b"\n", ESC + b"d\x04", CUT)
    assert r.taken() == b"ACME\nTOTAL 2.00\n"
    r.answer(1, M)
    assert r.taken() == M + ESC + b"d\x04" + CUT


def test_a_cut_right_after_unfinished_text_puts_the_message_on_a_new_line() -> None:
    r = run().send(b"ACME\nTOTAL 2.00" + CUT)
    assert r.taken() == b"ACME\nTOTAL 2.00"
    r.answer(1, M)
    assert r.taken() == b"\n" + M + CUT


def test_tail_feeds_go_on_as_soon_as_anything_but_a_cut_follows() -> None:
    r = run().send(SALE, b"\n\n")
    assert r.taken() == SALE
    r.send(ESC + b"a\x01")
    assert r.taken() == b"\n\n" + ESC + b"a\x01"
    r.send(b"\n", b"more\n")
    assert r.taken() == b"\nmore\n"
    assert r.requests == []


def test_tail_feeds_go_on_after_feed_hold_and_the_later_cut_is_still_held() -> None:
    r = run().send(SALE, b"\n\n", now=5.0)
    assert r.taken() == SALE
    assert r.deadline == pytest.approx(5.05)
    r.tick(5.05)
    assert r.taken() == b"\n\n"
    assert r.deadline is None
    r.send(CUT, now=5.3)
    assert r.taken() == b""
    assert r.requests[0].held
    r.answer(1, M, now=5.4)
    assert r.taken() == M + CUT


def test_a_cut_with_nothing_printed_before_it_is_not_a_receipt() -> None:
    r = run().send(b"\n\n" + CUT, b"\n" + CUT, now=1.0)
    r.tick(1.1)
    assert r.taken() == b"\n\n" + CUT + b"\n" + CUT
    assert r.requests == []


def test_a_picture_holding_cut_bytes_is_not_a_cut() -> None:
    # GS v 0: 1 byte wide, 4 rows; the rows spell GS V 1 and an LF.
    picture = GS + b"v0\x00\x01\x00\x04\x00" + GS + b"V\x01\n"
    r = run().send(SALE + picture + b"after\n")
    assert r.taken() == SALE + picture + b"after\n"
    assert r.requests == []


# --- a GS V split across chunks ---------------------------------------------------------------


@pytest.mark.parametrize("split", [1, 2], ids=["GS | V 1", "GS V | 1"])
def test_a_cut_split_across_chunks_is_still_held(split: bytes) -> None:
    r = run().send(SALE + b"\n" + CUT[:split], now=1.0)
    assert r.taken() == SALE  # the feed waits, and so does the unfinished command
    assert r.deadline == pytest.approx(1.05)
    r.send(CUT[split:], now=1.01)
    assert r.taken() == b""
    assert r.requests[0].held
    r.answer(1, M, now=1.02)
    assert r.taken() == M + b"\n" + CUT


def test_an_unfinished_cut_goes_on_after_feed_hold_and_that_receipt_gets_no_message() -> None:
    r = run().send(SALE + GS, now=1.0)
    r.tick(1.05)
    assert r.taken() == SALE + GS
    r.send(b"V\x01", now=2.0)
    assert r.taken() == b"V\x01"  # the cut's first byte is out: nothing can go before it now
    [request] = r.requests
    assert not request.held
    assert r.answer(1, M).to_printer == b""


# --- the hold's bound -------------------------------------------------------------------------


def test_past_max_hold_the_bytes_go_on_with_no_message_and_a_late_answer_is_ignored() -> None:
    r = run().send(SALE + b"\n" + CUT, now=0.0)
    assert r.deadline == pytest.approx(1.5)
    r.tick(1.49)
    assert r.taken() == SALE
    r.tick(1.5)
    assert r.taken() == b"\n" + CUT
    assert r.deadline is None
    assert r.answer(1, M, now=1.6).to_printer == b""
    assert r.taken() == b""


def test_a_late_answer_never_prints_into_the_next_receipt() -> None:
    r = run(max_hold=1.0).send(SALE + CUT, now=0.0)
    r.tick(1.0)
    assert r.taken() == SALE + CUT
    r.send(b"NEXT\n" + CUT, now=2.0)
    assert r.taken() == b"NEXT\n"
    assert r.answer(1, M, now=2.1).to_printer == b""  # receipt 1 is gone: not before cut 2
    r.answer(2, b"two\n", now=2.2)
    assert r.taken() == b"two\n" + CUT


def test_a_non_sale_answered_with_no_message_passes_byte_exact() -> None:
    report = b"X REPORT\nTOTAL 100.00\n\n\n"
    r = run().send(report + CUT + KICK)
    assert r.taken() == b"X REPORT\nTOTAL 100.00\n"
    r.answer(1, None)
    assert r.taken() == b"\n\n" + CUT + KICK


def test_an_empty_message_is_no_message() -> None:
    r = run().send(b"A" + CUT)
    r.answer(1, b"")
    assert r.taken() == b"A" + CUT


# --- the printer's side -----------------------------------------------------------------------


def test_status_replies_go_back_at_once_also_while_a_receipt_is_held() -> None:
    r = run().send(DLE_EOT + SALE + CUT + GS_R)
    assert r.session.holding
    reply = b"\x12"
    output = r.take(r.session.from_printer(reply, 0.1))
    assert output.to_till == reply
    assert output.to_printer == b""
    asb = b"\x14\x00\x00\x0f"
    assert r.take(r.session.from_printer(asb, 0.2)).to_till == asb
    assert bytes(r.till) == reply + asb
    assert r.deadline == pytest.approx(1.5)  # the hold still counts down


def test_printer_bytes_pass_unchanged_in_every_mode() -> None:
    for mode in Mode:
        session = Session(SessionConfig(mode=mode))
        assert session.from_printer(b"\x00\xff\x10\x04", 0.0).to_till == b"\x00\xff\x10\x04"


# --- bytes after the cut ----------------------------------------------------------------------


def test_a_drawer_kick_and_a_status_request_after_the_cut_queue_behind_it() -> None:
    r = run().send(SALE + CUT, KICK, GS_R)
    assert r.taken() == SALE
    assert r.session.backlog == len(CUT + KICK + GS_R)
    r.answer(1, M)
    assert r.taken() == M + CUT + KICK + GS_R
    assert r.session.backlog == 0


def test_the_next_receipt_waits_behind_a_held_cut_in_order() -> None:
    r = run().send(SALE + CUT, RESET + b"SECOND\n")
    assert r.taken() == SALE
    r.answer(1, M)
    assert r.taken() == M + CUT + RESET + b"SECOND\n"


def test_two_receipts_held_at_once_are_answered_in_stream_order() -> None:
    r = run().send(b"ONE\n\n" + CUT, b"TWO\n\n" + FULL_CUT, b"THREE\n")
    assert r.taken() == b"ONE\n"
    assert [q.held for q in r.requests] == [True, True]
    assert lines(r.requests[1].document)[0] == "TWO"
    assert r.requests[1].raw == b"TWO\n\n" + FULL_CUT
    r.answer(2, b"<2>")
    assert r.taken() == b""  # the first is still held
    r.answer(1, b"<1>")
    assert r.taken() == b"<1>\n" + CUT + b"TWO\n" + b"<2>\n" + FULL_CUT + b"THREE\n"


def test_the_first_of_two_holds_expiring_releases_up_to_the_second() -> None:
    r = run().send(b"ONE\n" + CUT, now=0.0)
    r.send(b"TWO\n" + CUT, now=1.0)
    assert r.deadline == pytest.approx(1.5)
    r.tick(1.5)
    assert r.taken() == b"ONE\n" + CUT + b"TWO\n"
    assert r.deadline == pytest.approx(2.5)
    r.answer(2, M, now=2.0)
    assert r.taken() == M + CUT


def test_held_bytes_are_bounded_the_oldest_hold_goes_first() -> None:
    r = run(max_held_bytes=100).send(SALE + CUT)
    r.send(b"x" * 60 + b"\n")
    assert r.taken() == SALE
    r.send(b"y" * 60 + b"\n")
    assert r.taken() == CUT + b"x" * 60 + b"\n" + b"y" * 60 + b"\n"
    assert not r.session.holding
    assert r.answer(1, M).to_printer == b""


def test_tentative_feeds_are_bounded_too() -> None:
    r = run(max_held_bytes=50).send(b"A\n")
    r.taken()
    r.send(b"\n" * 40)
    assert r.taken() == b""
    r.send(b"\n" * 40)
    assert r.taken() == b"\n" * 80
    assert r.session.backlog == 0


# --- the printer state and the capture --------------------------------------------------------


def test_the_request_carries_the_printer_state_at_the_cut_not_after_it() -> None:
    chunk = ESC + b"t\x13" + ESC + b"a\x01" + ESC + b"E\x01" + b"EURO \xd5\n" + CUT
    r = run().send(chunk + RESET + ESC + b"t\x10")
    [request] = r.requests
    assert request.state.code_page == 19
    assert request.state.align.value == "center"
    assert request.state.style.bold
    assert lines(request.document)[0] == "EURO €"


def test_the_printer_state_carries_over_from_earlier_chunks() -> None:
    r = run().send(ESC + b"t\x10", b"A\n", GS + b"!\x11", b"B\n" + CUT)
    [request] = r.requests
    assert request.state.code_page == 16
    assert request.state.style.width == 2


def test_the_capture_is_bounded_and_says_so() -> None:
    r = run(max_capture_bytes=10).send(SALE + CUT, b"short\n" + CUT)
    first, second = r.requests
    assert first.raw == SALE[:10] and first.truncated
    # Too long to be a receipt: not read (its document would grow with whatever comes).
    assert first.document.lines == []
    assert second.raw == b"short\n" + CUT and not second.truncated
    assert second.document.lines[0].text == "short"


def test_memory_stays_bounded_without_a_cut() -> None:
    """A till that never cuts (or a runaway stream) must not grow the session's memory."""
    session = Session(SessionConfig(max_capture_bytes=64 * 1024))
    lines = b"Item with a long description     12,34 A\n" * 100
    tracemalloc.start()
    try:
        for step in range(2000):  # 8 MB of text
            session.from_till(lines, step * 0.001)
        current, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert current < 2_000_000
    (request,) = session.from_till(CUT, 10.0).requests
    assert request.truncated and len(request.raw) == 64 * 1024


# --- the other ends of a receipt --------------------------------------------------------------


def test_reset_mode_the_next_esc_at_ends_the_receipt_and_is_held() -> None:
    r = run(end_of_receipt=EndOfReceipt.RESET)
    r.send(RESET + b"ONE\nTOTAL 1.00\n", now=0.0)
    assert r.requests == []  # the first ESC @ ends nothing: nothing printed before it
    r.tick(0.1)
    r.send(RESET + b"TWO\n", now=5.0)
    assert r.taken() == RESET + b"ONE\nTOTAL 1.00\n"
    [request] = r.requests
    assert request.held and not request.document.cut
    assert lines(request.document) == ["ONE", "TOTAL 1.00"]
    assert request.raw == RESET + b"ONE\nTOTAL 1.00\n"
    r.answer(1, M, now=5.1)
    assert r.taken() == M + RESET + b"TWO\n"
    r.close(now=6.0)
    assert [q.raw for q in r.requests[1:]] == [RESET + b"TWO\n"]


def test_reset_mode_still_holds_a_cut() -> None:
    r = run(end_of_receipt=EndOfReceipt.RESET).send(RESET + SALE + CUT + RESET)
    assert len(r.requests) == 1
    r.answer(1, M)
    assert r.taken() == RESET + SALE + M + CUT + RESET


def test_cut_mode_an_esc_at_does_not_end_the_receipt() -> None:
    r = run().send(b"A\n" + RESET + b"B\n" + CUT)
    [request] = r.requests
    assert lines(request.document) == ["A", "B"]


def test_idle_mode_a_gap_after_printed_content_ends_the_receipt() -> None:
    r = run(end_of_receipt=EndOfReceipt.IDLE).send(SALE + b"\n\n", now=0.0)
    # The tail feeds wait for the gap, not feed_hold: the message goes before them.
    assert r.deadline == pytest.approx(2.0)
    assert r.taken() == SALE
    r.tick(2.0)
    [request] = r.requests
    assert request.held and not request.document.cut
    assert request.raw == SALE + b"\n\n"
    assert r.deadline == pytest.approx(3.5)  # bounded by max_hold, as a cut's hold
    r.answer(1, M, now=2.1)
    assert r.taken() == M + b"\n\n"
    assert r.deadline is None


def test_idle_mode_the_next_receipt_waits_behind_the_message() -> None:
    r = run(end_of_receipt=EndOfReceipt.IDLE).send(SALE, now=0.0)
    r.tick(2.0)
    r.send(b"NEXT\n", now=3.0)
    assert r.taken() == SALE
    r.answer(1, M, now=3.1)
    assert r.taken() == M + b"NEXT\n"


def test_idle_mode_past_max_hold_the_next_receipt_goes_on_and_the_message_is_dropped() -> None:
    r = run(end_of_receipt=EndOfReceipt.IDLE).send(SALE, now=0.0)
    r.tick(2.0)
    r.send(b"NEXT\n", now=3.0)
    r.tick(3.5)
    assert r.taken() == SALE + b"NEXT\n"
    assert r.answer(1, M, now=3.6).to_printer == b""
    assert r.session.no_message == {"not handled within max_hold": 1}


def test_idle_mode_status_polls_do_not_drop_the_message() -> None:
    r = run(end_of_receipt=EndOfReceipt.IDLE).send(SALE, now=0.0)
    r.tick(2.0)
    r.send(DLE_EOT, now=2.5)
    assert r.taken() == SALE + DLE_EOT
    r.answer(1, M, now=2.6)
    assert r.taken() == M
    assert r.deadline is None  # status polls print nothing: no new receipt to wait for


def test_idle_mode_no_receipt_without_printed_content_and_a_cut_still_ends_one() -> None:
    r = run(end_of_receipt=EndOfReceipt.IDLE).send(DLE_EOT + b"\n", now=0.0)
    r.tick(0.05)
    assert r.deadline is None
    r.send(SALE + CUT, now=1.0)
    assert r.requests[0].held
    assert r.deadline == pytest.approx(2.5)  # the cut's bound, not an idle gap
    r.answer(1, M, now=1.1)
    assert r.taken() == DLE_EOT + b"\n" + SALE + M + CUT


# --- modes ------------------------------------------------------------------------------------


def test_observe_mode_reads_every_receipt_and_adds_nothing() -> None:
    r = run(mode=Mode.OBSERVE).send(SALE + b"\n", CUT[:1], CUT[1:] + KICK, b"TWO\n" + CUT)
    assert r.taken() == SALE + b"\n" + CUT + KICK + b"TWO\n" + CUT
    assert [q.held for q in r.requests] == [False, False]
    assert lines(r.requests[1].document) == ["TWO"]
    assert r.deadline is None
    assert r.answer(1, M).to_printer == b""


def test_passthrough_mode_touches_nothing() -> None:
    r = run(mode=Mode.PASSTHROUGH).send(SALE + b"\x1d", b"V\x01" + SALE + CUT)
    r.tick(100.0)
    r.close()
    assert r.taken() == SALE + CUT + SALE + CUT
    assert r.requests == []
    assert r.deadline is None


# --- the end of the stream --------------------------------------------------------------------


def test_till_closed_while_holding_releases_everything_with_no_message() -> None:
    r = run().send(SALE + CUT + b"TAIL \x1d")
    output = r.close(now=0.5)
    assert r.taken() == SALE + CUT + b"TAIL \x1d"
    assert output.deadline is None
    assert not r.session.holding
    assert r.answer(1, M).to_printer == b""
    # The text after the cut is a receipt with no cut: read, never held.
    assert [q.held for q in r.requests] == [True, False]
    assert lines(r.requests[1].document) == ["TAIL "]
    assert r.requests[1].raw == b"TAIL \x1d"


def test_a_stream_ending_inside_a_command_reports_its_receipt_as_truncated() -> None:
    tail = ESC + b"&\x03\x20\x22"  # three user-defined characters promised, none sent
    r = run().send(SALE + CUT, SALE + tail)
    assert r.requests[0].document.truncated is None
    r.answer(1, M)
    r.close(now=0.5)
    assert r.taken() == SALE + M + CUT + SALE + tail
    last = r.requests[-1]
    assert not last.held and last.raw == SALE + tail
    assert last.document.truncated == "truncated ESC &: 0 of 3 characters"


def test_a_message_answered_before_close_keeps_its_place() -> None:
    r = run().send(b"ONE\n" + CUT + b"TWO\n" + CUT)
    r.answer(2, b"<2>")
    r.close()
    assert r.taken() == b"ONE\n" + CUT + b"TWO\n" + b"<2>" + CUT


def test_bytes_after_close_still_go_on() -> None:
    r = run()
    r.close()
    r.send(SALE + CUT)
    assert r.taken() == SALE + CUT


# --- failing open -----------------------------------------------------------------------------


class _Broken(DocumentBuilder):
    """A real builder that fails on the word BOOM, as a bug of ours would."""

    def feed(self, events: Iterable[object]) -> list[Document]:  # type: ignore[override]
        events = list(events)
        if any(b"BOOM" in getattr(e, "raw", b"") for e in events):
            raise RuntimeError("bug")
        return super().feed(events)  # type: ignore[arg-type]


def test_a_failure_in_our_logic_passes_the_receipt_through_and_the_next_is_read(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("bridge.session.DocumentBuilder", _Broken)
    r = run().send(b"ONE\n" + CUT + b"TW")
    assert r.taken() == b"ONE\n"
    r.send(b"O BOOM\n")
    assert r.taken() == CUT + b"TWO BOOM\n"  # the hold went, unanswered
    assert "passing the receipt through" in caplog.text
    r.send(b"REST\n\n" + CUT, b"THREE\n" + CUT)
    assert r.taken() == b"REST\n\n" + CUT + b"THREE\n"
    assert [q.receipt_id for q in r.requests] == [1, 2]  # the broken receipt is not reported
    assert lines(r.requests[1].document) == ["THREE"]
    r.answer(2, M)
    assert r.taken() == M + CUT
    assert r.answer(1, M).to_printer == b""


def test_receipt_ends_let_go_with_no_message_are_counted() -> None:
    session = Session(SessionConfig(max_hold=1.0, max_held_bytes=64))
    session.from_till(SALE + CUT, 0.0)
    session.timer(1.0)  # past max_hold
    assert session.released_unanswered == 1
    session.from_till(SALE + CUT, 2.0)
    session.from_till(b"x" * 100, 2.1)  # the till goes on: too much waits behind the hold
    assert session.released_unanswered == 2
    session.from_till(SALE + CUT, 3.0)
    session.till_closed(3.1)  # the till went away while it was held
    assert session.released_unanswered == 3
