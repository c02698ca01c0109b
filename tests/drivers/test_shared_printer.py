"""The virtual printer as one printer for all its connections: two clients at once over real
TCP on 127.0.0.1 share one receive buffer, one printer state and one paper, and each gets the
replies to its own requests."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_twisted
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import defer, reactor, task, threads
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import IHalfCloseableProtocol, IListeningPort
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from zope.interface import implementer

from drivers.virtual_printer import (
    Conditions,
    PrintedReceipt,
    PrintEngine,
    PrinterModel,
    VirtualPrinterFactory,
    VirtualPrinterProtocol,
)
from drivers.virtual_printer.status import real_time_status, transmit_status

ESC, GS, DLE = b"\x1b", b"\x1d", b"\x10"
CUT = GS + b"V\x01"
GS_R1 = GS + b"r\x01"
READY = real_time_status(1, Conditions())  # 0x16
OFFLINE = real_time_status(1, Conditions(cover_open=True))  # 0x1E
PAPER_OK = transmit_status(1, Conditions())  # 0x00


def eot(n: int) -> bytes:
    return DLE + b"\x04" + bytes((n,))


async def until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = reactor.seconds() + timeout
    while not check():
        if reactor.seconds() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await task.deferLater(reactor, 0.005, lambda: None)


@implementer(IHalfCloseableProtocol)
class Client(Protocol):
    """A till on the reactor; ``look`` is called at each reply and at the printer's close, so
    a test sees the printer as it was at that moment."""

    def __init__(self, look: Callable[[], Any] = lambda: None) -> None:
        self.look = look
        self.replies = bytearray()
        self.seen_at_reply: list[Any] = []
        self.seen_at_close: Any = None
        self.closed: defer.Deferred[None] = defer.Deferred()

    def connectionMade(self) -> None:
        self.transport.setTcpNoDelay(True)

    def dataReceived(self, data: bytes) -> None:
        self.replies += data
        self.seen_at_reply.append(self.look())

    def readConnectionLost(self) -> None:
        self.seen_at_close = self.look()
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Failure | None = None) -> None:
        if not self.closed.called:
            self.closed.callback(None)

    def send(self, data: bytes) -> None:
        self.transport.write(data)

    def half_close(self) -> None:
        self.transport.loseWriteConnection()


class Printer:
    """A shared virtual printer listening on a free port, and its clients."""

    def __init__(self, factory: VirtualPrinterFactory, port: IListeningPort) -> None:
        self.factory = factory
        self.port = port
        self.clients: list[Client] = []

    async def connect(self, look: Callable[[], Any] = lambda: None) -> tuple[Client, Any]:
        """A new client and the printer's side of its connection."""
        before = len(self.factory.connections)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port.getHost().port)
        client = await connectProtocol(endpoint, Client(look))
        self.clients.append(client)
        await until(lambda: len(self.factory.connections) > before, "the printer to accept")
        return client, self.factory.connections[-1]

    async def send(self, client: Client, data: bytes) -> None:
        """Send ``data`` and wait until the printer has read it (so arrival order is known)."""
        target = self.factory.received + len(data)
        client.send(data)
        await until(lambda: self.factory.received >= target, "the printer to read")


@pytest_twisted.async_yield_fixture
async def printer() -> AsyncIterator[Printer]:
    factory = VirtualPrinterFactory(None, (), keep_stream=True)
    port = factory.listen_tcp(reactor)
    made = Printer(factory, port)
    yield made
    factory.stop()
    for client in made.clients:
        if client.transport is not None and client.transport.connected:
            client.transport.abortConnection()
    await port.stopListening()


def text_lines(receipt: Any) -> list[str]:
    return [line for line in receipt.document.text().splitlines() if line]


@pytest_twisted.ensureDeferred
async def test_bytes_from_two_clients_print_interleaved_in_one_receipt(printer: Printer) -> None:
    a, _ = await printer.connect()
    b, _ = await printer.connect()
    await printer.send(a, ESC + b"@" + b"A: Bread   2.00\n")
    await printer.send(b, b"B: Milk    1.10\n")
    await printer.send(a, b"A: TOTAL   2.00\n" + CUT + GS_R1)
    await until(lambda: len(a.replies) == 1, "A's GS r reply")
    (receipt,) = printer.factory.receipts
    assert text_lines(receipt) == ["A: Bread   2.00", "B: Milk    1.10", "A: TOTAL   2.00"]
    assert receipt.document.cut
    assert printer.factory.stream is not None
    assert receipt.raw == bytes(printer.factory.stream)[: -len(GS_R1)]
    assert (bytes(a.replies), bytes(b.replies)) == (PAPER_OK, b"")


@pytest_twisted.ensureDeferred
async def test_gs_r_behind_another_clients_4_kb_is_answered_once_those_printed(
    printer: Printer,
) -> None:
    factory = printer.factory
    factory.set_speed(8000)  # 4 KB: half a second of printing
    a, a_side = await printer.connect()
    b, b_side = await printer.connect(
        lambda: (factory.engines[0].owed(a_side), len(factory.receipts))
    )
    lines = b"".join(b"Item %04d          1.00\n" % i for i in range(171))  # 4104 bytes
    job = ESC + b"@" + lines + CUT
    assert len(job) >= 4096
    await printer.send(a, job)
    await printer.send(b, GS_R1)
    assert factory.engines[0].owed(a_side) > 0  # still printing A's job when B asked
    await until(lambda: len(b.replies) == 1, "B's GS r reply", timeout=20)
    # When B heard back, A's bytes were all printed and A's receipt was on file.
    assert b.seen_at_reply == [(0, 1)]
    assert (bytes(a.replies), bytes(b.replies)) == (b"", PAPER_OK)
    assert factory.receipts[0].raw == job
    assert b_side.engine is a_side.engine


@pytest_twisted.ensureDeferred
async def test_dle_eot_is_answered_at_once_to_whichever_client_asked(printer: Printer) -> None:
    factory = printer.factory
    factory.set_conditions(cover_open=True)  # nothing prints: in-order replies wait
    a, _ = await printer.connect()
    b, _ = await printer.connect()
    await printer.send(a, b"A: Bread   2.00\n" + CUT + GS_R1)
    await printer.send(b, eot(1))
    await until(lambda: len(b.replies) == 1, "B's real-time reply")
    await printer.send(a, eot(2))
    await until(lambda: len(a.replies) == 1, "A's real-time reply")
    assert bytes(b.replies) == OFFLINE
    assert bytes(a.replies) == real_time_status(2, factory.conditions)
    # The printer matches DLE EOT n on its one byte stream: a request split between two
    # connections is answered to the one whose byte completed it.
    await printer.send(a, DLE + b"\x04")
    await printer.send(b, b"\x04")
    await until(lambda: len(b.replies) == 2, "B's second real-time reply")
    assert bytes(b.replies) == OFFLINE + real_time_status(4, factory.conditions)
    assert len(a.replies) == 1
    factory.set_conditions(cover_open=False)
    await until(lambda: len(a.replies) == 2, "A's GS r reply")
    assert bytes(a.replies)[1:] == PAPER_OK


@pytest_twisted.ensureDeferred
async def test_paper_out_blocks_both_clients_until_the_paper_is_back(printer: Printer) -> None:
    factory = printer.factory
    factory.set_conditions(paper_out=True)
    a, _ = await printer.connect()
    b, _ = await printer.connect()
    await printer.send(a, ESC + b"@A: Soap    1.99\n" + CUT + GS_R1)
    await printer.send(b, ESC + b"@B: Tea     1.20\n" + CUT + GS_R1)
    await task.deferLater(reactor, 0.1, lambda: None)
    assert factory.receipts == []
    assert (bytes(a.replies), bytes(b.replies)) == (b"", b"")
    assert factory.model is not None and factory.model.queued > 0
    factory.set_conditions(paper_out=False)
    await until(lambda: len(a.replies) == len(b.replies) == 1, "both GS r replies")
    assert [text_lines(r) for r in factory.receipts] == [["A: Soap    1.99"], ["B: Tea     1.20"]]


@pytest_twisted.ensureDeferred
async def test_a_half_closed_client_is_closed_once_its_own_bytes_printed(
    printer: Printer,
) -> None:
    factory = printer.factory
    factory.set_conditions(cover_open=True)
    a, a_side = await printer.connect()
    b, b_side = await printer.connect(lambda: factory.engines[0].owed(a_side))
    a.look = lambda: factory.engines[0].owed(b_side)
    lines = b"".join(b"Item %04d          1.00\n" % i for i in range(100))
    await printer.send(a, ESC + b"@A: Soap    1.99\n" + CUT + GS_R1)
    await printer.send(b, lines)
    a.half_close()
    await until(lambda: a_side.sender_done, "the printer to see A's half-close")
    assert not a.closed.called  # A's bytes wait for the cover like everyone's
    factory.set_speed(4000)  # so B's bytes are still printing when A's are done
    factory.set_conditions(cover_open=False)
    await a.closed
    # A got its reply, then its close, while B's bytes were still being printed.
    assert bytes(a.replies) == PAPER_OK
    assert a.seen_at_close is not None and a.seen_at_close > 0
    assert a_side not in factory.connections and b_side in factory.connections
    b.half_close()
    await b.closed
    assert factory.connections == []


@pytest_twisted.ensureDeferred
async def test_a_job_without_a_cut_ends_when_the_last_client_has_gone(printer: Printer) -> None:
    factory = printer.factory
    a, _ = await printer.connect()
    b, _ = await printer.connect()
    await printer.send(a, ESC + b"@A: no cut here\n")
    a.half_close()
    await a.closed
    assert factory.receipts == []  # B is still there: the job goes on
    await printer.send(b, b"B: and more\n")
    b.half_close()
    await b.closed
    (receipt,) = factory.receipts
    assert text_lines(receipt) == ["A: no cut here", "B: and more"]
    assert not receipt.document.cut


@pytest_twisted.ensureDeferred
async def test_the_printer_state_outlives_a_connection(printer: Printer) -> None:
    # The first till selects WPC1252 and goes; the next prints 0x80 without selecting a code
    # page: on one printer it is a euro sign, as the first till left it.
    first, _ = await printer.connect()
    await printer.send(first, ESC + b"@" + ESC + b"t\x10" + b"Set up\n" + CUT)
    first.half_close()
    await first.closed
    second, _ = await printer.connect()
    await printer.send(second, b"\x80 5.00\n" + CUT)
    second.half_close()
    await second.closed
    assert [text_lines(r) for r in printer.factory.receipts] == [["Set up"], ["€ 5.00"]]


@pytest_twisted.ensureDeferred
async def test_per_connection_mode_keeps_a_printer_per_connection() -> None:
    factory = VirtualPrinterFactory(None, (), shared=False)
    port = factory.listen_tcp(reactor)
    box = Printer(factory, port)
    try:
        a, a_side = await box.connect()
        b, b_side = await box.connect()
        assert a_side.engine is not b_side.engine and factory.model is None
        await box.send(a, ESC + b"@A: Bread   2.00\n")
        await box.send(b, ESC + b"@B: Milk    1.10\n" + CUT + GS_R1)
        await until(lambda: len(b.replies) == 1, "B's reply")
        assert [text_lines(r) for r in factory.receipts] == [["B: Milk    1.10"]]
        a.half_close()
        await a.closed
        assert [text_lines(r) for r in factory.receipts][1:] == [["A: Bread   2.00"]]
    finally:
        factory.stop()
        await port.stopListening()


# --- backpressure: a slow engine pauses every sender ----------------------------------------


def blocking_client(port: int) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=30)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    return client


async def settled(value: Callable[[], int], quiet: float = 0.3, limit: float = 5.0) -> int:
    """``value()`` once it has not changed for ``quiet`` seconds (or after ``limit``)."""
    step, last, still, waited = 0.02, value(), 0.0, 0.0
    while still < quiet and waited < limit:
        await task.deferLater(reactor, step, lambda: None)
        current = value()
        still = still + step if current == last else 0.0
        last, waited = current, waited + step
    return last


@pytest_twisted.ensureDeferred
async def test_a_slow_shared_printer_pushes_back_on_both_senders() -> None:
    buffer = 4096
    factory = VirtualPrinterFactory(
        None, (), bytes_per_second=2000, receive_buffer=buffer, keep_stream=True
    )
    port = factory.listen_tcp(reactor, rcvbuf=8192)
    jobs = [
        ESC + b"@" + b"".join(b"%s %06d        1.00\n" % (who, i) for i in range(25_000))
        for who in (b"A", b"B")
    ]  # about 600 KB each
    clients = [await threads.deferToThread(blocking_client, port.getHost().port) for _ in jobs]
    try:
        await until(lambda: len(factory.connections) == 2, "both connections")
        sending = [threads.deferToThread(c.sendall, j) for c, j in zip(clients, jobs, strict=True)]
        received = await settled(lambda: factory.received)
        # The printer stopped reading both: each sender's socket is full, sendall blocked.
        assert not any(s.called for s in sending)
        assert received < sum(len(j) for j in jobs) // 2
        assert all(c.paused for c in factory.connections)
        assert all(c.received < len(j) // 2 for c, j in zip(factory.connections, jobs, strict=True))
        assert factory.peak_queued <= buffer + 2 * 65536  # the buffer plus a read each

        factory.set_speed(None)
        await defer.gatherResults(sending).addTimeout(30, reactor)
        for client in clients:
            await threads.deferToThread(client.shutdown, socket.SHUT_WR)
        await until(lambda: factory.connections == [], "the printer to print it all")
        (receipt,) = factory.receipts  # two jobs interleaved, no cut: one receipt
        # Both jobs, whole, interleaved as the reads came: what printed is what arrived.
        assert factory.stream is not None and receipt.raw == bytes(factory.stream)
        assert Counter(receipt.raw) == Counter(b"".join(jobs))
        assert factory.received == sum(len(j) for j in jobs)
    finally:
        factory.stop()
        for client in clients:
            client.close()
        await port.stopListening()


# --- the job's end in the model ------------------------------------------------------------


def test_end_job_keeps_the_printer_state_and_an_unfinished_command() -> None:
    model = PrinterModel()
    model.feed(ESC + b"t\x10" + b"Half a receipt\n" + GS)  # GS: the rest of a command to come
    (receipt,) = model.end_job().receipts
    assert receipt.document.text() == "Half a receipt\n" and not receipt.document.cut
    assert not model.closed
    # The next job's first bytes finish the command (GS r 1), and the code page stays.
    out = model.feed(b"r\x01\x80\n" + CUT)
    assert out.replies == [PAPER_OK]
    assert [r.document.text() for r in out.receipts] == ["€\n"]
    assert model.end_job().receipts == []


def test_end_job_drops_a_tail_that_printed_nothing() -> None:
    model = PrinterModel()
    model.feed(b"Sale\n" + CUT + GS_R1)
    assert model.end_job().receipts == []
    assert [r.raw for r in model.feed(b"Next\n" + CUT).receipts] == [b"Next\n" + CUT]


@pytest.mark.parametrize("shared", [True, False])
def test_protocols_share_the_engine_only_when_shared(shared: bool) -> None:
    factory = VirtualPrinterFactory(None, (), shared=shared)
    one, two = VirtualPrinterProtocol(factory), VirtualPrinterProtocol(factory)
    assert (one.engine is two.engine) is shared


# --- the engine without sockets: any arrival order, any speed ------------------------------


class FakeSender:
    def __init__(self) -> None:
        self.replies: list[bytes] = []
        self.done = False
        self.closed_with_owed: int | None = None
        self.engine: PrintEngine | None = None

    @property
    def sender_done(self) -> bool:
        return self.done

    def reply(self, data: bytes) -> None:
        self.replies.append(data)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def printed_all(self) -> None:
        assert self.engine is not None and self.closed_with_owed is None
        self.closed_with_owed = self.engine.owed(self)


class FakeHost:
    def __init__(self, bytes_per_second: float | None) -> None:
        self.reactor = task.Clock()
        self.bytes_per_second = bytes_per_second
        self.receive_buffer = 1 << 20
        self.receipts: list[PrintedReceipt] = []

    def record(self, receipt: PrintedReceipt) -> None:
        self.receipts.append(receipt)


_PIECES = st.sampled_from(
    [
        b"Tea 1.20\n",
        CUT,
        GS_R1,
        eot(1),
        eot(4),
        GS + b"I\x43",
        ESC + b"*\x00\x02\x00\x10\x04",
        DLE,
        b"\x04\x02",
        GS,
        b"r\x01",
    ]
)


@given(
    st.lists(st.tuples(st.integers(0, 1), _PIECES), max_size=16),
    st.one_of(st.none(), st.floats(50, 2000)),
    st.lists(st.floats(0, 0.05), min_size=1, max_size=5),
)
def test_the_engine_prints_the_arrival_stream_and_routes_each_reply_to_its_sender(
    arrivals: list[tuple[int, bytes]], speed: float | None, pauses: list[float]
) -> None:
    # What a printer does: one stream in arrival order; each reply belongs to the sender whose
    # bytes completed the request (printed as they came: an infinitely fast printer).
    reference = PrinterModel()
    expected: list[list[bytes]] = [[], []]
    receipts: list[PrintedReceipt] = []
    for who, data in arrivals:
        out = reference.feed(data)
        expected[who] += out.replies
        receipts += out.receipts
    receipts += reference.end_job().receipts

    host = FakeHost(speed)
    engine = PrintEngine(PrinterModel(), host)
    senders = [FakeSender(), FakeSender()]
    for sender in senders:
        sender.engine = engine
        engine.attach(sender)
    for step, (who, data) in enumerate(arrivals):
        engine.receive(senders[who], data)
        host.reactor.advance(pauses[step % len(pauses)])
    for sender in senders:
        sender.done = True
    engine.print_now()
    for _ in range(10_000):
        if not host.reactor.getDelayedCalls():
            break
        host.reactor.advance(0.02)
    assert engine.queued == 0
    # A slow engine answers real time before the in-order replies still waiting: per sender,
    # each kind keeps its order.
    for sender, wanted in zip(senders, expected, strict=True):
        assert sorted(sender.replies) == sorted(wanted)
        assert sender.closed_with_owed == 0
    assert [(r.raw, r.document) for r in host.receipts] == [(r.raw, r.document) for r in receipts]
