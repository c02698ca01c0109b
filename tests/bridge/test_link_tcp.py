"""The bridge's TCP shell, end to end over 127.0.0.1: a python-escpos till (or a raw socket, to
half-close or reset) → TillLink → a small recording printer that answers DLE EOT n
(``link_harness``)."""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task, threads

from bridge.inbox import Inbox
from bridge.link import LinkOptions, TillLink, serve_tcp
from bridge.session import HandleReceipt, Mode, SessionConfig
from drivers.tcp import TcpPrinter
from drivers.transport import write_buffer_size
from tests.bridge.link_harness import (
    CUT,
    DLE_EOT,
    ESC,
    FIXTURES,
    SALE,
    STATUS,
    FakePrinter,
    M,
    escpos_till,
    later,
    raw_till,
    read_outcome,
    read_to_end,
    reference,
    sleep,
    until,
)

# --- byte-exact passthrough -----------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.PASSTHROUGH, Mode.OBSERVE, Mode.INJECT])
@pytest_twisted.ensureDeferred
async def test_every_fixture_passes_byte_exact(printer: Any, bridges: Any, mode: Mode) -> None:
    """Inject mode with a handler that has nothing to say must change nothing either."""
    fake, printer_port = printer
    bridge = bridges(printer_port, SessionConfig(mode=mode, till="t"))
    for number, path in enumerate(FIXTURES, start=1):
        data = path.read_bytes()
        await threads.deferToThread(escpos_till, bridge.port, data)
        await until(lambda n=number: len(fake.connections) == n, what=f"connection for {path}")
        await fake.connections[-1].closed
        assert bytes(fake.connections[-1].received) == data, path
    # The printer sees its connection close a moment before the bridge drops the pairing.
    await until(lambda: not bridge.link.pairings, what="every pairing released")
    if mode is Mode.PASSTHROUGH:
        assert bridge.requests == []
    else:
        assert len(bridge.requests) >= len(FIXTURES)
        held = sum(r.held for r in bridge.requests)
        assert held == 0 if mode is Mode.OBSERVE else held >= 30


@pytest_twisted.ensureDeferred
async def test_inject_puts_the_message_before_each_cut_and_nothing_else(
    printer: Any, bridges: Any
) -> None:
    fake, printer_port = printer
    # A long feed_hold: loopback chunking must not release a tail feed before its cut.
    config = SessionConfig(mode=Mode.INJECT, feed_hold=0.5, till="t")
    bridge = bridges(printer_port, config, answer=lambda r: defer.succeed(M))
    for number, path in enumerate(FIXTURES, start=1):
        data = path.read_bytes()
        before = len(bridge.requests)
        await threads.deferToThread(escpos_till, bridge.port, data)
        await until(lambda n=number: len(fake.connections) == n)
        await fake.connections[-1].closed
        got = bytes(fake.connections[-1].received)
        assert got == reference(data, config, M), path
        held = sum(r.held for r in bridge.requests[before:])
        assert got.count(M) == held, path
        # Take the messages out (and the line break the session adds when a line was open):
        # the till's own bytes remain, unchanged and in order.
        extra = len(got) - len(data) - held * len(M)
        assert 0 <= extra <= held, path
        if extra == 0:
            assert got.replace(M, b"") == data, path
    assert sum(r.held for r in bridge.requests) >= 30  # most fixtures end at a cut


# --- status replies ------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_status_request_behind_a_held_receipt_is_answered(printer: Any, bridges: Any) -> None:
    fake, printer_port = printer
    config = SessionConfig(till="t")
    bridge = bridges(printer_port, config, answer=lambda r: later(0.2, M))
    sock = raw_till(bridge.port)
    sock.sendall(DLE_EOT)  # before anything is held: answered straight away
    first = await threads.deferToThread(sock.recv, 1)
    assert first == STATUS
    sock.sendall(SALE + CUT + DLE_EOT)
    second = await threads.deferToThread(sock.recv, 1)
    assert second == STATUS
    sock.close()
    await until(lambda: bool(fake.connections) and fake.connections[0].closed.called)
    expected = reference(DLE_EOT + SALE + CUT + DLE_EOT, config, M)
    assert fake.received == expected
    # The second request overtook the held end of the receipt: the till got its answer while
    # the cut was held, as a printer answers DLE EOT whatever waits in its buffer.
    assert expected.rindex(DLE_EOT) < expected.index(M) < expected.index(CUT)


@pytest_twisted.ensureDeferred
async def test_handler_that_never_answers_holds_the_cut_for_max_hold_only(
    printer: Any, bridges: Any
) -> None:
    fake, printer_port = printer
    config = SessionConfig(max_hold=0.3, till="t")
    bridge = bridges(printer_port, config, answer=lambda r: defer.Deferred())
    sock = raw_till(bridge.port)
    sock.sendall(SALE + CUT + DLE_EOT)
    assert await threads.deferToThread(sock.recv, 1) == STATUS
    sock.close()
    await until(lambda: bool(fake.connections) and fake.connections[0].closed.called)
    # The status request went ahead of the held tail feeds and cut; nothing else moved and
    # no message was added.
    tail = SALE.index(b"\n\n\n") + 1
    assert fake.received == SALE[:tail] + DLE_EOT + SALE[tail:] + CUT


@pytest_twisted.ensureDeferred
async def test_failing_handler_fails_open(printer: Any, bridges: Any) -> None:
    fake, printer_port = printer

    def broken(request: HandleReceipt) -> bytes:
        raise RuntimeError("ledger on fire")

    bridge = bridges(printer_port, SessionConfig(till="t"), answer=broken)
    await threads.deferToThread(escpos_till, bridge.port, SALE + CUT)
    await until(lambda: bool(fake.connections) and fake.connections[0].closed.called)
    assert fake.received == SALE + CUT
    assert len(bridge.requests) == 1


# --- ends of streams -------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_till_that_closes_right_after_the_cut_still_gets_the_message(
    printer: Any, bridges: Any
) -> None:
    fake, printer_port = printer
    config = SessionConfig(till="t")
    bridge = bridges(printer_port, config, answer=lambda r: later(0.2, M))
    await threads.deferToThread(escpos_till, bridge.port, SALE + CUT)
    await until(lambda: bool(fake.connections) and fake.connections[0].closed.called)
    assert fake.received == reference(SALE + CUT, config, M)
    assert M in fake.received


@pytest_twisted.ensureDeferred
async def test_till_that_half_closes_gets_the_last_status_reply(printer: Any, bridges: Any) -> None:
    fake, printer_port = printer
    config = SessionConfig(till="t")
    bridge = bridges(printer_port, config, answer=lambda r: later(0.1, M))
    sock = raw_till(bridge.port)
    sock.sendall(SALE + CUT + DLE_EOT)
    sock.shutdown(socket.SHUT_WR)
    assert await threads.deferToThread(read_to_end, sock) == STATUS
    assert fake.received == reference(SALE + CUT + DLE_EOT, config, M)
    assert M in fake.received
    await until(lambda: not bridge.link.pairings, what="the pairing to end")


@pytest_twisted.ensureDeferred
async def test_till_dropping_mid_receipt_gets_everything_owed_printed(
    printer: Any, bridges: Any
) -> None:
    fake, printer_port = printer
    bridge = bridges(printer_port, SessionConfig(till="t"), answer=lambda r: later(0.1, M))
    sock = raw_till(bridge.port)
    sock.sendall(SALE + b"\n\n\n")  # tail feeds: tentative in the session
    await until(lambda: bool(bridge.link.pairings) and fake.connections != [])
    await until(lambda: next(iter(bridge.link.pairings)).till_bytes == len(SALE) + 3)
    # A reset rather than a FIN: the till crashed or its cable was pulled.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    await fake.connections[0].closed
    assert fake.received == SALE + b"\n\n\n"
    await until(lambda: not bridge.link.pairings)


@pytest_twisted.ensureDeferred
async def test_unreachable_printer_closes_the_till_connection_at_once(bridges: Any) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    dead_port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: connections are refused
    bridge = bridges(dead_port, SessionConfig(till="t"))
    sock = raw_till(bridge.port)
    sock.settimeout(3)
    sock.sendall(DLE_EOT)
    # The till sees its connection end, as with a dead printer (a timeout here is a hang).
    assert await threads.deferToThread(read_to_end, sock) == b""
    await until(lambda: not bridge.link.pairings)


@pytest_twisted.ensureDeferred
async def test_printer_dropping_mid_receipt_closes_the_till_connection(
    printer: Any, bridges: Any
) -> None:
    fake, printer_port = printer
    fake.drop_after = len(SALE) // 2
    bridge = bridges(printer_port, SessionConfig(till="t"))
    sock = raw_till(bridge.port)
    sock.settimeout(3)
    sock.sendall(SALE)
    assert await threads.deferToThread(read_to_end, sock) == b""
    await until(lambda: not bridge.link.pairings)


# --- backpressure ----------------------------------------------------------------------


class Flood:
    """A till that sends ``data`` from a thread as fast as the bridge lets it."""

    def __init__(self, port: int, data: bytes) -> None:
        self.sock = raw_till(port)
        self.data = data
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.sock.settimeout(None)
        try:
            self.sock.sendall(self.data)
            self.sock.shutdown(socket.SHUT_WR)
        finally:
            self.done.set()


class Watch:
    """Samples the bridge's own buffers for a pairing while a test runs."""

    def __init__(self, link: TillLink) -> None:
        self.link = link
        self.backlog = self.printer_buffer = self.till_buffer = 0
        self.loop = task.LoopingCall(self.sample)
        self.loop.start(0.005)

    def sample(self) -> None:
        for pairing in self.link.pairings:
            self.backlog = max(self.backlog, pairing.session.backlog)
            if pairing.printer is not None:
                self.printer_buffer = max(self.printer_buffer, write_buffer_size(pairing.printer))
            if pairing.till is not None:
                self.till_buffer = max(self.till_buffer, write_buffer_size(pairing.till))

    def stop(self) -> None:
        self.loop.stop()


async def stalled(read: Callable[[], int]) -> int:
    """Wait until ``read()`` stops growing (0.3 s without change); return its value."""
    last, still = -1, 0.0
    while still < 0.3:
        await sleep(0.05)
        now = read()
        still = still + 0.05 if now == last else 0.0
        last = now
    return last


@pytest_twisted.ensureDeferred
async def test_stopped_printer_blocks_the_till_and_bounds_memory(
    printer: Any, bridges: Any
) -> None:
    fake, printer_port = printer
    fake.paused = True  # the printer reads nothing until told
    bridge = bridges(printer_port, SessionConfig(mode=Mode.PASSTHROUGH, till="t"))
    data = os.urandom(16 << 20)
    flood = Flood(bridge.port, data)
    watch = Watch(bridge.link)
    await until(lambda: bool(bridge.link.pairings) and bool(fake.connections))
    pairing = next(iter(bridge.link.pairings))
    read = await stalled(lambda: pairing.till_bytes)
    assert not flood.done.is_set()  # the till's sendall blocks: the slowdown reached it
    assert read < len(data) // 2  # the kernel buffers hold the rest, not the bridge
    fake.connections[0].transport.resumeProducing()
    await threads.deferToThread(flood.done.wait, 10)
    await fake.connections[0].closed
    watch.stop()
    got = fake.received
    assert len(got) == len(data)
    assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
    # The bridge's own memory for this till: one buffer's worth, whatever the till sent.
    assert watch.printer_buffer <= 192 * 1024
    assert watch.backlog == 0


@pytest_twisted.ensureDeferred
async def test_held_receipt_with_a_flood_behind_it_pauses_the_till(
    printer: Any, bridges: Any
) -> None:
    fake, printer_port = printer
    options = LinkOptions(backlog_limit=16 * 1024)
    config = SessionConfig(max_hold=2.0, till="t")
    bridge = bridges(printer_port, config, answer=lambda r: defer.Deferred(), options=options)
    line = b"Bread 2.00 Milk 1.10 Butter 3.40 Eggs 2.90 Flour 1.20 Sugar 1.10 Tea 4.00\n"
    behind = line * (1_500_000 // len(line))
    data = SALE + CUT + behind
    flood = Flood(bridge.port, data)
    watch = Watch(bridge.link)
    await until(lambda: bool(bridge.link.pairings) and bool(fake.connections))
    pairing = next(iter(bridge.link.pairings))
    # While the receipt is held, the bridge stops reading the till at the bound.
    await until(lambda: pairing.session.holding and pairing.session.backlog > 0)
    read = await stalled(lambda: pairing.till_bytes)
    assert pairing.session.holding
    assert read < len(data)
    assert fake.received == SALE[:-2]  # up to the hold point, before the tail feeds
    # After max_hold the receipt goes on with no message, and so does everything behind it.
    await threads.deferToThread(flood.done.wait, 10)
    await fake.connections[0].closed
    watch.stop()
    assert fake.received == data
    assert watch.backlog <= options.backlog_limit + 64 * 1024
    assert watch.printer_buffer <= 192 * 1024


# --- truth to the till (issue 7) -------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_printer_reset_mid_receipt_resets_the_till_and_the_receipt_earns_nothing(
    printer: Any, bridges: Any
) -> None:
    fake, printer_port = printer
    fake.drop_after = len(SALE) // 2  # the printer resets (abortConnection) half-way
    bridge = bridges(printer_port, SessionConfig(till="t"), answer=lambda r: M)
    sock = raw_till(bridge.port)
    sock.settimeout(3)
    sock.sendall(SALE)  # no cut yet: the receipt is under way
    # Directly, the till would get the printer's reset; through the bridge, the same.
    assert await threads.deferToThread(read_outcome, sock) == (b"", "reset")
    await until(lambda: not bridge.link.pairings)
    assert bridge.requests == []  # never read as a receipt: it did not print whole
    ((raw, why),) = bridge.abandoned
    assert raw == SALE
    assert "printer dropped" in why


@pytest_twisted.ensureDeferred
async def test_a_printer_that_stops_reading_keeps_the_till_waiting_then_it_closes_normally(
    printer: Any, bridges: Any
) -> None:
    fake, printer_port = printer
    fake.paused = True  # paper out: the printer reads nothing until told
    bridge = bridges(printer_port, SessionConfig(mode=Mode.PASSTHROUGH, till="t"))
    data = os.urandom(1 << 20)
    sock = raw_till(bridge.port)
    sock.settimeout(30)
    outcome: list[tuple[bytes, str]] = []

    def till() -> None:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)  # done: now wait for the printer to finish
        outcome.append(read_outcome(sock))

    job = threads.deferToThread(till)
    await sleep(2.0)
    assert outcome == []  # still waiting, as with the printer wired straight to it
    await until(lambda: bool(fake.connections))
    fake.connections[0].transport.resumeProducing()
    await job
    assert [how for _, how in outcome] == ["closed"]  # (random data asks for status too)
    assert fake.received == data  # a normal close: every byte reached the printer


@pytest_twisted.ensureDeferred
async def test_a_printer_that_never_reads_again_resets_the_till_and_its_receipt_earns_nothing(
    printer: Any, bridges: Any
) -> None:
    fake, printer_port = printer
    fake.paused = True  # paper out, and nobody comes to put paper in
    options = LinkOptions(drain_timeout=1.0)
    bridge = bridges(printer_port, SessionConfig(till="t"), answer=lambda r: M, options=options)
    # Big enough that the receipt cannot all sit in the kernel's buffers on the printer side
    # before its cut is read, small enough that the cut is read (the printer's queue holds it).
    data = SALE + b"x" * (64 << 10) + CUT
    sock = raw_till(bridge.port)
    sock.settimeout(30)
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    assert (await threads.deferToThread(read_outcome, sock))[1] == "reset"
    await until(lambda: bool(bridge.not_printed), what="the receipt reported not printed")
    ((request, why),) = bridge.not_printed
    assert request is bridge.requests[0]  # it was read and handled, so its award is voided
    assert "stopped taking bytes" in why


@pytest_twisted.ensureDeferred
async def test_connections_of_one_till_reach_the_printer_one_at_a_time_in_order(
    printer: Any, bridges: Any
) -> None:
    fake, printer_port = printer
    # A handler slow enough that the second connection arrives while the first is held.
    bridge = bridges(printer_port, SessionConfig(till="t"), answer=lambda r: later(0.2, M))
    first, second = SALE.replace(b"ACME", b"FIRST") + CUT, SALE.replace(b"ACME", b"SECND") + CUT
    socks = [raw_till(bridge.port), raw_till(bridge.port)]
    for sock, data in zip(socks, (first, second), strict=True):
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
    outcomes = await defer.gatherResults(
        [threads.deferToThread(read_outcome, sock) for sock in socks]
    )
    assert [how for _, how in outcomes] == ["closed", "closed"]
    await until(lambda: len(fake.lost) == 2)
    config = SessionConfig(till="t")
    assert [bytes(c.received) for c in fake.connections] == [
        reference(first, config, M),
        reference(second, config, M),
    ]
    # One printer connection at a time: the second opened after the first had closed.
    assert fake.opened[1] >= fake.lost[0]


@pytest_twisted.ensureDeferred
async def test_a_till_side_refuses_while_its_printer_is_down_and_accepts_when_it_is_back(
    bridges: Any,
) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    printer_port = probe.getsockname()[1]
    probe.close()
    options = LinkOptions(backoff_initial=0.1, backoff_max=0.2)
    bridge = bridges(printer_port, SessionConfig(till="t"), options=options)
    sock = raw_till(bridge.port)
    sock.sendall(SALE)
    assert (await threads.deferToThread(read_outcome, sock))[1] == "reset"
    await until(lambda: bridge.listening.refusing, what="the till side to refuse")
    with pytest.raises(ConnectionRefusedError):
        raw_till(bridge.port)
    fake = FakePrinter()
    port = reactor.listenTCP(printer_port, fake, interface="127.0.0.1")
    try:
        await until(lambda: bridge.listening.connected, what="the till side to accept again")
        sock = raw_till(bridge.port)
        sock.sendall(SALE + CUT)
        sock.shutdown(socket.SHUT_WR)
        assert (await threads.deferToThread(read_outcome, sock))[1] == "closed"
        await until(lambda: fake.received == SALE + CUT, what="the receipt at the printer")
    finally:
        port.stopListening()


@pytest_twisted.ensureDeferred
async def test_every_till_byte_is_in_the_inbox_before_the_printer_gets_it_until_handled(
    printer: Any, bridges: Any, tmp_path: Path
) -> None:
    fake, printer_port = printer
    answers: list[defer.Deferred[Any]] = []

    def answer(request: HandleReceipt) -> defer.Deferred[Any]:
        answers.append(defer.Deferred())
        return answers[-1]

    inbox = Inbox(tmp_path / "inbox")
    bridge = bridges(printer_port, SessionConfig(till="t"), answer=answer, inbox=inbox)
    sock = raw_till(bridge.port)
    code_page = ESC + b"t\x13"  # PC858, set before the receipt: the inbox must decode with it
    sock.sendall(code_page + SALE)
    await until(lambda: fake.received.endswith(b"TOTAL      3.10\n"), what="the receipt's text")
    (stream,) = inbox.waiting()["t"]
    assert stream.read_bytes() == code_page + SALE  # on disk, from the first byte
    sock.sendall(CUT)
    sock.shutdown(socket.SHUT_WR)
    await until(lambda: bool(answers), what="the receipt to be handed over")
    assert stream.exists()  # not handled yet: a kill now would leave it for the next start
    answers[0].callback(None)
    await threads.deferToThread(read_outcome, sock)
    await until(lambda: not bridge.link.pairings)
    assert inbox.waiting() == {}


@pytest_twisted.ensureDeferred
async def test_a_receipt_handled_before_the_printer_reset_is_reported_not_printed(
    printer: Any, bridges: Any
) -> None:
    fake, printer_port = printer
    fake.drop_after = len(SALE) // 2  # the whole receipt came in one read; the printer resets
    bridge = bridges(printer_port, SessionConfig(till="t"), answer=lambda r: later(0.05, M))
    sock = raw_till(bridge.port)
    sock.settimeout(3)
    sock.sendall(SALE + CUT)
    sock.shutdown(socket.SHUT_WR)
    assert (await threads.deferToThread(read_outcome, sock))[1] == "reset"
    await until(lambda: bool(bridge.not_printed), what="the receipt reported not printed")
    ((request, why),) = bridge.not_printed
    assert request is bridge.requests[0]
    assert "printer dropped" in why


@pytest_twisted.ensureDeferred
async def test_receipts_the_printer_took_are_not_reported_when_it_drops_later(
    printer: Any, bridges: Any
) -> None:
    fake, printer_port = printer
    bridge = bridges(printer_port, SessionConfig(till="t"), answer=lambda r: M)
    sock = raw_till(bridge.port)
    sock.sendall(SALE + CUT)
    await until(lambda: fake.received.endswith(CUT), what="the first receipt printed")
    await sleep(0.3)  # the till is quiet: the link sees the printer has taken it all
    fake.connections[0].transport.abortConnection()  # then the printer resets
    assert (await threads.deferToThread(read_outcome, sock))[1] == "reset"
    await until(lambda: not bridge.link.pairings)
    assert len(bridge.requests) == 1
    assert bridge.not_printed == []


@pytest_twisted.ensureDeferred
async def test_a_printer_switched_off_between_receipts_refuses_the_next_connection() -> None:
    """A till that sends and closes without reading cannot see a reset after the fact: its
    next connection must be refused, as by the printer itself, not accepted and then reset."""
    fake = FakePrinter()
    printer_port = reactor.listenTCP(0, fake, interface="127.0.0.1")
    port = printer_port.getHost().port
    connector = TcpPrinter("127.0.0.1", port, reactor, connect_timeout=2.0)
    options = LinkOptions(backoff_initial=0.1, backoff_max=0.2)
    link = TillLink(SessionConfig(till="t"), lambda r: None, connector, reactor, options)
    side = serve_tcp(link, "127.0.0.1", 0, reactor, printer_check=0.1)
    try:
        await until(lambda: bool(fake.connections), what="the first check")
        assert side.connected
        await printer_port.stopListening()  # switched off while the till is idle
        await until(lambda: side.refusing, what="the check to see it")
        with pytest.raises(ConnectionRefusedError):
            raw_till(side.port)
        printer_port = reactor.listenTCP(port, fake, interface="127.0.0.1")  # back on
        await until(lambda: side.connected, what="the till side to accept again")
    finally:
        link.close_all()
        await side.stopListening()
        await printer_port.stopListening()
