"""Properties of the interceptor over any stream and any chunking: no byte lost, moved or
changed; messages only where a held receipt ends; memory bounded."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.session import EndOfReceipt, HandleReceipt, Mode, Output, Session, SessionConfig
from parsers.document import DocumentBuilder, build_documents
from parsers.escpos import Command, Control, Cut, Reset, StatusRequest, Text, Tokenizer, tokenize

ESC, GS, DLE = b"\x1b", b"\x1d", b"\x10"
M = b"\x1bt\x13<M>\n"

FRAGMENTS = [
    b"TOTAL 2.00",
    b"Bread",
    b"  ",
    b"\xd5 1,00",
    b"\n",
    b"\r",
    b"\t",
    ESC + b"d\x03",
    ESC + b"J\x30",
    GS + b"V\x00",
    GS + b"V\x01",
    GS + b"VA\x03",
    GS + b"Vh\x00",
    ESC + b"i",
    ESC + b"m",
    ESC + b"@",
    ESC + b"p\x00\x19\xfa",
    GS + b"r\x01",
    DLE + b"\x04\x01",
    ESC + b"t\x13",
    ESC + b"a\x01",
    ESC + b"E\x01",
    GS + b"!\x11",
    # A raster picture whose rows spell a cut, a status request and an LF.
    GS + b"v0\x00\x01\x00\x06\x00" + GS + b"V\x01" + DLE + b"\x04\x01\n",
    GS + b"k\x02" + b"4006381333931\x00",
]

FEEDS = [b"\n", b"\r", b"\r\n", ESC + b"d\x02", ESC + b"J\x18", b"\x0c"]
CUTS = [f for f in FRAGMENTS if f[:2] in (GS + b"V", ESC + b"i", ESC + b"m")]

# A receipt as tills print them: lines, tail feeds, a cut, perhaps a drawer kick after it.
receipts = st.tuples(
    st.lists(st.sampled_from(FRAGMENTS[:4]).map(lambda t: t + b"\n"), min_size=1, max_size=4),
    st.sampled_from([b"", *FRAGMENTS[:4]]),  # a last line without its LF, sometimes
    st.lists(st.sampled_from(FEEDS), max_size=4),
    st.sampled_from([*CUTS, ESC + b"@"]),
    st.sampled_from([b"", ESC + b"p\x00\x19\xfa", GS + b"r\x01"]),
).map(lambda r: b"".join(r[0]) + r[1] + b"".join(r[2]) + r[3] + r[4])

streams = st.lists(
    st.one_of(receipts, st.sampled_from(FRAGMENTS), st.binary(max_size=6)), max_size=30
).map(b"".join)


def _status_apart(data: bytes) -> tuple[bytes, list[bytes]]:
    events = tokenize(data)
    ahead = [e for e in events if isinstance(e, StatusRequest) and e.name == "DLE EOT"]
    rest = b"".join(
        e.raw for e in events if not (isinstance(e, StatusRequest) and e.name == "DLE EOT")
    )
    return rest, [e.raw for e in ahead]


def same_but_status_ahead(printer: bytes, expected: bytes) -> bool:
    """Equal, but for DLE EOT requests, which overtake a held receipt end (the session's
    docstring: a printer answers them at once whatever waits in its buffer). Everything
    else is in the same order, and the requests themselves are the same, in order."""
    return printer == expected or _status_apart(printer) == _status_apart(expected)


@st.composite
def chunked(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    data = draw(streams)
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    bounds = [0, *cuts, len(data)]
    return data, [data[a:b] for a, b in pairwise(bounds)]


def expected_with_messages(data: bytes, end: EndOfReceipt) -> tuple[bytes, int]:
    """The whole stream read at once: ``M`` right before each receipt end that follows
    printed content, before the feeds that lead to it (not the one that prints the last
    line; a new line first if text is still waiting in the line buffer). Returns the bytes
    and how many messages went in."""
    builder = DocumentBuilder(reset_ends_document=end is EndOfReceipt.RESET)
    out = bytearray()
    count = 0
    pos = 0
    feeds_from: int | None = None
    line_open = False
    for event in tokenize(data):
        start, pos = pos, pos + len(event.raw)
        ends = isinstance(event, Cut) or (end is EndOfReceipt.RESET and isinstance(event, Reset))
        if builder.feed([event]) and ends:
            at = (feeds_from if feeds_from is not None else start) + len(out) - start
            out[at:at] = (b"\n" if line_open else b"") + M
            count += 1
        out += event.raw
        feed = (isinstance(event, Control) and event.name in ("LF", "CR", "FF")) or (
            isinstance(event, Command) and event.name in ("ESC d", "ESC J")
        )
        if ends:
            feeds_from, line_open = None, False
        elif feed and line_open:
            if getattr(event, "name", "") != "CR":
                line_open = False
            feeds_from = None
        elif feed:
            feeds_from = start if feeds_from is None else feeds_from
        else:
            feeds_from = None
            if isinstance(event, Text) or (isinstance(event, Control) and event.name == "HT"):
                line_open = True
            elif isinstance(event, Reset):
                line_open = False
    return bytes(out), count


@settings(max_examples=300, deadline=None)
@given(chunked(), st.sampled_from([Mode.PASSTHROUGH, Mode.OBSERVE]))
def test_passthrough_and_observe_send_the_till_bytes_unchanged_at_once(
    case: tuple[bytes, list[bytes]], mode: Mode
) -> None:
    data, chunks = case
    session = Session(SessionConfig(mode=mode))
    printer = bytearray()
    fed = 0
    for chunk in chunks:
        printer += session.from_till(chunk, 0.0).to_printer
        fed += len(chunk)
        assert bytes(printer) == data[:fed]  # all of it, at once
    printer += session.till_closed(0.0).to_printer
    assert bytes(printer) == data


@settings(max_examples=200, deadline=None)
@given(chunked())
def test_observe_reads_the_same_receipts_whatever_the_chunking(
    case: tuple[bytes, list[bytes]],
) -> None:
    data, chunks = case
    session = Session(SessionConfig(mode=Mode.OBSERVE))
    requests: list[HandleReceipt] = []
    for chunk in chunks:
        requests += session.from_till(chunk, 0.0).requests
    requests += session.till_closed(0.0).requests
    assert not any(r.held for r in requests)
    texts = [r.document.text() for r in requests]
    assert texts == [d.text() for d in build_documents(tokenize(data))]
    assert sum(len(r.raw) for r in requests) <= len(data)


@settings(max_examples=400, deadline=None)
@given(chunked(), st.sampled_from([EndOfReceipt.CUT, EndOfReceipt.RESET]))
def test_inject_puts_the_message_before_each_held_receipt_end_and_changes_nothing_else(
    case: tuple[bytes, list[bytes]], end: EndOfReceipt
) -> None:
    data, chunks = case
    session = Session(SessionConfig(end_of_receipt=end))
    printer = bytearray()
    held = 0
    for chunk in chunks:
        out = session.from_till(chunk, 0.0)
        printer += out.to_printer
        for request in out.requests:
            assert request.held
            held += 1
            printer += session.handled(request.receipt_id, M, 0.0).to_printer
    printer += session.till_closed(0.0).to_printer
    expected, count = expected_with_messages(data, end)
    assert held == count
    assert same_but_status_ahead(bytes(printer), expected)


@settings(max_examples=300, deadline=None)
@given(
    chunked(),
    st.lists(st.floats(0.0, 3.0), min_size=12, max_size=12),
    st.sampled_from(list(EndOfReceipt)),
)
def test_with_no_answer_and_the_clock_past_every_bound_the_bytes_are_the_input(
    case: tuple[bytes, list[bytes]], gaps: list[float], end: EndOfReceipt
) -> None:
    data, chunks = case
    session = Session(SessionConfig(end_of_receipt=end))
    printer = bytearray()
    now = 0.0
    deadline: float | None = None
    for i, chunk in enumerate(chunks):
        next_at = now + gaps[i % len(gaps)]
        # The shell calls the timer at each deadline that falls before the next chunk.
        while deadline is not None and deadline <= next_at:
            out = session.timer(deadline)
            printer += out.to_printer
            assert out.deadline is None or out.deadline > deadline
            deadline = out.deadline
        now = next_at
        out = session.from_till(chunk, now)
        printer += out.to_printer
        deadline = out.deadline
        if DLE + b"\x04" not in data:  # else a status request may have gone ahead
            assert bytes(printer) == data[: len(printer)]  # never a message, never out of order
        assert len(printer) <= len(data)  # never a message
    for _ in range(10):
        if deadline is None:
            break
        out = session.timer(deadline)
        printer += out.to_printer
        deadline = out.deadline
    assert deadline is None
    assert same_but_status_ahead(bytes(printer), data)
    assert session.backlog == 0
    assert session.till_closed(now + 100).to_printer == b""


@settings(max_examples=200, deadline=None)
@given(chunked())
def test_what_waits_stays_within_max_held_bytes_and_the_last_read(
    case: tuple[bytes, list[bytes]],
) -> None:
    """One read may bring several receipts, each held for its message; only the till going
    on sending cuts holds short, so what waits never exceeds the bound plus the last read
    (with the unfinished command it completed, such as a cut whose first byte came before)."""
    data, chunks = case
    session = Session(SessionConfig(max_held_bytes=16))
    carried = Tokenizer()  # what the session's tokenizer carries from one read to the next
    printer = bytearray()
    last_read = 0
    for chunk in chunks:
        if chunk:  # an empty chunk is no read
            last_read = carried.pending + len(chunk)
            carried.feed(chunk)
        out = session.from_till(chunk, 0.0)
        printer += out.to_printer
        assert session.backlog <= 16 + last_read
    printer += session.till_closed(0.0).to_printer
    assert same_but_status_ahead(bytes(printer), data)


def expected_at_close(data: bytes, end: EndOfReceipt) -> tuple[bytes, int]:
    """``expected_with_messages``, and the till's close ending the last receipt too: if it
    printed anything, ``M`` before its tail feeds (they still wait at the close)."""
    out, count = expected_with_messages(data, end)
    builder = DocumentBuilder(reset_ends_document=end is EndOfReceipt.RESET)
    feeds_from: int | None = None
    line_open = False
    pos = 0
    for event in tokenize(data):
        start, pos = pos, pos + len(event.raw)
        ended = bool(builder.feed([event])) and (
            isinstance(event, Cut) or (end is EndOfReceipt.RESET and isinstance(event, Reset))
        )
        feed = (isinstance(event, Control) and event.name in ("LF", "CR", "FF")) or (
            isinstance(event, Command) and event.name in ("ESC d", "ESC J")
        )
        if ended or isinstance(event, Cut):
            feeds_from, line_open = None, False
        elif feed and line_open:
            line_open = getattr(event, "name", "") == "CR"
            feeds_from = None
        elif feed:
            feeds_from = start if feeds_from is None else feeds_from
        else:
            feeds_from = None
            if isinstance(event, Text) or (isinstance(event, Control) and event.name == "HT"):
                line_open = True
            elif isinstance(event, Reset):
                line_open = False
    if not builder.close():
        return out, count
    at = len(out) - (len(data) - (feeds_from if feeds_from is not None else len(data)))
    return out[:at] + (b"\n" if line_open else b"") + M + out[at:], count + 1


@settings(max_examples=300, deadline=None)
@given(chunked(), st.sampled_from([EndOfReceipt.CUT, EndOfReceipt.RESET]))
def test_inject_the_tills_close_ends_its_last_receipt_with_a_message_and_changes_nothing_else(
    case: tuple[bytes, list[bytes]], end: EndOfReceipt
) -> None:
    data, chunks = case
    session = Session(SessionConfig(end_of_receipt=end))
    printer = bytearray()
    held = 0

    def take(out: Output) -> None:
        nonlocal held
        printer.extend(out.to_printer)
        for request in out.requests:
            assert request.held
            held += 1
            take(session.handled(request.receipt_id, M, 0.0))

    for chunk in chunks:
        take(session.from_till(chunk, 0.0))
    take(session.till_finished(0.0))
    assert not session.holding
    take(session.till_closed(0.0))
    expected, count = expected_at_close(data, end)
    assert held == count
    assert same_but_status_ahead(bytes(printer), expected)
    assert session.released_unanswered == 0


# Streams with no DLE EOT, which may overtake a hold: here every byte keeps its place.
_NO_STATUS = [f for f in FRAGMENTS if DLE + b"\x04" not in f]
quiet_streams = st.lists(
    st.one_of(receipts, st.sampled_from(_NO_STATUS)), min_size=1, max_size=20
).map(lambda parts: b"".join(parts).replace(DLE + b"\x04", b""))


@settings(max_examples=300, deadline=None)
@given(
    quiet_streams,
    st.lists(st.integers(0, 4000), max_size=8),
    st.lists(st.floats(0.0, 3.0), min_size=9, max_size=9),
    st.booleans(),
)
def test_idle_ends_answered_in_time_add_one_message_each_and_nothing_else(
    data: bytes, cuts: list[int], gaps: list[float], close_cleanly: bool
) -> None:
    """Idle mode with the clock running: whatever the gaps, each held receipt end gets its
    message (a new line first if one is open) and the till's bytes are all there, in order."""
    bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    chunks = [data[a:b] for a, b in pairwise(bounds)]
    session = Session(SessionConfig(end_of_receipt=EndOfReceipt.IDLE))
    printer = bytearray()
    held = 0
    deadline: float | None = None

    def take(out: Output, now: float) -> None:
        nonlocal held, deadline
        printer.extend(out.to_printer)
        deadline = out.deadline
        for request in out.requests:
            if request.held:
                held += 1
                take(session.handled(request.receipt_id, b"<M%d>" % held, now), now)

    now = 0.0
    for i, chunk in enumerate(chunks):
        next_at = now + gaps[i]
        while deadline is not None and deadline <= next_at:
            at = deadline
            take(session.timer(at), at)
        now = next_at
        take(session.from_till(chunk, now), now)
    if close_cleanly:
        take(session.till_finished(now), now)
    take(session.till_closed(now), now)
    # Take the messages out again: what is left is the till's stream, byte for byte, but for
    # the new line a message may start on (when the receipt left its last line open). Which
    # LF before a message was the session's is found by following every reading at once.
    rest = bytes(printer)
    offsets = {0}  # where in ``data`` the printer's bytes so far may have reached
    for k in range(1, held + 1):
        before, marker, rest = rest.partition(b"<M%d>" % k)
        assert marker, f"message {k} missing"
        readings = [before, before[:-1]] if before.endswith(b"\n") else [before]
        offsets = {
            at + len(piece)
            for at in offsets
            for piece in readings
            if data[at : at + len(piece)] == piece
        }
        assert offsets, f"the bytes before message {k} are not the till's"
    assert b"<M" not in rest
    assert any(data[at:] == rest for at in offsets)
