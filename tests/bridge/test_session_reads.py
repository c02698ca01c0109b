"""Reads that bring many receipts at once: every receipt is requested with its own printer
state, each keeps its message, the bytes are exact, and what waits stays bounded.

Time is not asserted here (bench/session_bench.py measures it); these are the behaviours the
linear bookkeeping must keep.
"""

from __future__ import annotations

from bridge.session import EndOfReceipt, HandleReceipt, Session, SessionConfig
from tests.bridge.test_session_properties import M, expected_with_messages

ESC, GS, DLE = b"\x1b", b"\x1d", b"\x10"
CUT = GS + b"V\x01"
DLE_EOT = DLE + b"\x04\x01"
CODE_PAGES = (0, 16, 19)


def tiny_receipt(k: int) -> bytes:
    """A receipt of one line, each with its own code page and alignment."""
    return ESC + b"t" + bytes((CODE_PAGES[k % 3],)) + ESC + b"a" + bytes((k % 2,)) + b"A 1\n" + CUT


def sale(k: int) -> bytes:
    """A 530-byte sale as tills print them: lines, tail feeds, feed-and-cut, drawer kick."""
    lines = b"".join((b"Item %03d %05d" % (n, k)).ljust(36) + b"   1,00\n" for n in range(11))
    head = ESC + b"@" + ESC + b"t\x13" + ESC + b"a\x01" + b"SHOP %05d\n" % k + ESC + b"a\x00"
    end = b"TOTAL 11,00\n" + ESC + b"d\x03" + GS + b"VA\x03" + ESC + b"p\x00\x19\xfa"
    return head + lines + end


def feed(session: Session, data: bytes, read: int, now: float = 0.0) -> tuple[bytes, list]:
    printer = bytearray()
    requests: list[HandleReceipt] = []
    for offset in range(0, len(data), read):
        out = session.from_till(data[offset : offset + read], now)
        printer += out.to_printer
        requests += out.requests
    return bytes(printer), requests


def test_six_thousand_cuts_in_one_read_are_six_thousand_receipts_each_with_its_state() -> None:
    data = b"".join(tiny_receipt(k) for k in range(6000))
    session = Session()
    printer, requests = feed(session, data, len(data))
    assert printer == tiny_receipt(0)[: -len(CUT)]  # up to the first hold
    assert len(requests) == 6000 and all(r.held for r in requests)
    assert [r.state.code_page for r in requests] == [CODE_PAGES[k % 3] for k in range(6000)]
    assert [r.state.align.value for r in requests[:2]] == ["left", "center"]
    assert all(r.raw == tiny_receipt(k) for k, r in enumerate(requests))
    assert all(r.document.text() == "A 1\n" for r in requests)
    out = bytearray(printer)
    for request in requests:
        out += session.handled(request.receipt_id, M, 0.5).to_printer
    out += session.till_closed(1.0).to_printer
    assert bytes(out) == b"".join(tiny_receipt(k)[:-3] + M + CUT for k in range(6000))
    assert session.released_unanswered == 0


def test_the_same_receipts_in_1_kib_reads_answered_last_first() -> None:
    data = b"".join(tiny_receipt(k) for k in range(6000))
    session = Session(SessionConfig(max_held_bytes=len(data)))  # unanswered, they all wait
    printer, requests = feed(session, data, 1024)
    assert len(requests) == 6000
    out = bytearray(printer)
    for request in reversed(requests):  # nothing moves until the first is answered
        out += session.handled(request.receipt_id, M, 0.5).to_printer
    out += session.till_closed(1.0).to_printer
    assert bytes(out) == b"".join(tiny_receipt(k)[:-3] + M + CUT for k in range(6000))


def test_six_thousand_holds_expiring_at_once_release_the_stream_unchanged() -> None:
    data = b"".join(tiny_receipt(k) for k in range(6000))
    session = Session(SessionConfig(max_hold=1.0))
    printer, requests = feed(session, data, len(data), now=5.0)
    out = session.timer(6.0)
    assert printer + out.to_printer == data
    assert out.deadline is None and not session.holding and session.backlog == 0
    assert session.released_unanswered == 6000
    assert session.handled(requests[10].receipt_id, M, 6.1).to_printer == b""


def test_234_sales_in_one_128_kib_read_each_keep_their_message() -> None:
    """More than max_held_bytes in one read (a till's receive buffer is twice the bound):
    the read alone does not cut the holds short, so an answer in time prints every message."""
    data = b"".join(sale(k) for k in range(234))
    session = Session()
    assert session.config.max_held_bytes < len(data) <= 128 * 1024
    printer, requests = feed(session, data, len(data), now=10.0)
    assert len(requests) == 234 and all(r.held for r in requests)
    assert session.backlog > session.config.max_held_bytes  # the shell pauses the till now
    out = bytearray(printer)
    for request in requests:
        out += session.handled(request.receipt_id, M, 10.3).to_printer
    out += session.till_closed(11.0).to_printer
    expected, count = expected_with_messages(data, EndOfReceipt.CUT)
    assert count == 234
    assert bytes(out) == expected
    assert session.released_unanswered == 0


def test_a_till_that_never_stops_still_cuts_the_holds_short_and_loses_nothing() -> None:
    reads = [b"".join(sale(k) for k in range(n, n + 234)) for n in range(0, 2340, 234)]
    session = Session()
    limit = session.config.max_held_bytes
    printer = bytearray()
    for data in reads:  # never answered, the shell never pausing
        printer += session.from_till(data, 0.0).to_printer
        assert session.backlog <= limit + len(data)
    assert session.released_unanswered >= 234 * 9  # all but the last read's, at least
    answered = session.handled(1, M, 0.1)  # long released: never printed now
    assert answered.to_printer == b""
    printer += session.till_closed(0.2).to_printer
    assert bytes(printer) == b"".join(reads)


def test_status_requests_sent_ahead_of_a_hold_are_not_owed() -> None:
    session = Session(SessionConfig(max_held_bytes=100))
    receipt = b"ONE\n" + CUT
    printer = bytearray(session.from_till(receipt, 0.0).to_printer)
    for _ in range(1000):  # a till polling for status while its cut is held
        printer += session.from_till(DLE_EOT, 0.1).to_printer
        assert session.backlog == len(CUT)
    assert session.holding  # 3,000 bytes of polls, none of them owed: no bound reached
    assert bytes(printer) == b"ONE\n" + DLE_EOT * 1000
    printer += session.handled(1, M, 0.2).to_printer
    assert bytes(printer) == b"ONE\n" + DLE_EOT * 1000 + M + CUT
    assert session.backlog == 0


def test_status_requests_in_the_same_read_as_held_bytes_leave_the_rest_in_order() -> None:
    session = Session()
    data = b"ONE\n" + CUT + DLE_EOT + b"TWO\n" + DLE_EOT + b"\n" + CUT + DLE_EOT + b"THREE\n"
    out = session.from_till(data, 0.0)
    assert out.to_printer == b"ONE\n" + DLE_EOT * 3
    assert session.backlog == len(data) - len(b"ONE\n" + DLE_EOT * 3)
    printer = bytearray(out.to_printer)
    printer += session.handled(1, b"<1>", 0.1).to_printer
    printer += session.handled(2, b"<2>", 0.1).to_printer
    assert bytes(printer) == (
        b"ONE\n" + DLE_EOT * 3 + b"<1>" + CUT + b"TWO\n" + b"<2>" + b"\n" + CUT + b"THREE\n"
    )
