"""What the link tests share: a small recording printer that answers DLE EOT n, a bridge on a
free port, tills (python-escpos or a raw socket), and the session run alone as a reference."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from escpos.printer import Network
from twisted.internet import defer, reactor, task
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Factory, Protocol
from zope.interface import implementer

from bridge.inbox import Inbox
from bridge.link import LinkOptions, TillLink, serve_tcp
from bridge.session import HandleReceipt, Session, SessionConfig
from drivers.tcp import TcpPrinter

FIXTURES = sorted(Path(__file__).resolve().parents[2].glob("fixtures/*/*.bin"))
ESC, GS, DLE = b"\x1b", b"\x1d", b"\x10"
CUT = GS + b"V\x01"
DLE_EOT = DLE + b"\x04\x01"
STATUS = b"\x12"  # the recording printer's answer: online, no error
SALE = ESC + b"@ACME BAKERY\nBread      2.00\nMilk       1.10\nTOTAL      3.10\n\n\n"
M = b"*** 42 POINTS ***\n"


# --- a recording printer ----------------------------------------------------------------


@implementer(IHalfCloseableProtocol)
class PrinterConn(Protocol):
    def __init__(self, printer: FakePrinter) -> None:
        self.printer = printer
        self.received = bytearray()
        self.closed = defer.Deferred()
        self._tail = b""

    def connectionMade(self) -> None:
        self.printer.connections.append(self)
        self.printer.opened.append(reactor.seconds())
        if self.printer.paused:
            self.transport.pauseProducing()

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        # Answer DLE EOT n wherever it is, as an Epson does (even across chunks).
        scan = self._tail + data
        start = 0
        while (at := scan.find(b"\x10\x04", start)) != -1 and at + 2 < len(scan):
            if at + 2 >= len(self._tail):
                self.transport.write(STATUS)
            start = at + 3
        self._tail = scan[-2:]
        drop = self.printer.drop_after
        if drop is not None and len(self.received) >= drop:
            self.transport.abortConnection()

    def readConnectionLost(self) -> None:
        # The sender is done: answer what came, then close (as a network printer does).
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Any = None) -> None:
        self.printer.lost.append(reactor.seconds())
        self.closed.callback(None)


class FakePrinter(Factory):
    def __init__(self) -> None:
        self.connections: list[PrinterConn] = []
        self.opened: list[float] = []  # when each connection was made and lost (reactor time)
        self.lost: list[float] = []
        self.paused = False
        self.drop_after: int | None = None

    def buildProtocol(self, addr: Any) -> PrinterConn:
        return PrinterConn(self)

    @property
    def received(self) -> bytes:
        return b"".join(bytes(c.received) for c in self.connections)


class Bridge:
    """A TillLink listening on a free port, and the receipts its handler saw."""

    def __init__(
        self,
        printer_port: int,
        config: SessionConfig,
        answer: Callable[[HandleReceipt], Any] | None = None,
        options: LinkOptions | None = None,
        inbox: Inbox | None = None,
    ) -> None:
        self.requests: list[HandleReceipt] = []
        self.abandoned: list[tuple[bytes, str]] = []  # receipts the link gave up on
        self.not_printed: list[tuple[HandleReceipt, str]] = []  # handled, then not printed

        def handler(request: HandleReceipt) -> Any:
            self.requests.append(request)
            return answer(request) if answer is not None else None

        connector = TcpPrinter("127.0.0.1", printer_port, reactor, connect_timeout=2.0)
        self.link = TillLink(
            config,
            handler,
            connector,
            reactor,
            options,
            inbox=inbox,
            on_abandoned=lambda raw, why: self.abandoned.append((raw, why)),
            on_not_printed=lambda request, why: self.not_printed.append((request, why)),
        )
        self.listening = serve_tcp(self.link, "127.0.0.1", 0, reactor)
        self.port = self.listening.getHost().port

    def stop(self) -> None:
        self.link.close_all()
        self.listening.stopListening()


def sleep(seconds: float) -> defer.Deferred[None]:
    return task.deferLater(reactor, seconds, lambda: None)


async def until(check: Callable[[], bool], timeout: float = 4.0, what: str = "") -> None:
    waited = 0.0
    while not check():
        if waited >= timeout:
            raise AssertionError(f"timed out waiting for {what or check}")
        await sleep(0.01)
        waited += 0.01


def later(seconds: float, value: Any) -> defer.Deferred[Any]:
    return task.deferLater(reactor, seconds, lambda: value)


def escpos_till(port: int, data: bytes) -> None:
    """python-escpos as the till: connect, send, close (shutdown both ways, then close)."""
    till = Network("127.0.0.1", port, timeout=5)
    till.open()
    till._raw(data)
    till.close()


def raw_till(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_outcome(sock: socket.socket) -> tuple[bytes, str]:
    """What the till reads, and how its connection ended: "closed" (a normal close: the
    till counts its job printed) or "reset" (a failure it can see)."""
    got = bytearray()
    try:
        while chunk := sock.recv(4096):
            got += chunk
    except ConnectionResetError:
        return bytes(got), "reset"
    finally:
        sock.close()
    return bytes(got), "closed"


def read_to_end(sock: socket.socket) -> bytes:
    """What the till reads until the bridge closes; a reset counts as closed."""
    got = bytearray()
    try:
        while chunk := sock.recv(4096):
            got += chunk
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    return bytes(got)


def reference(data: bytes, config: SessionConfig, message: bytes) -> bytes:
    """The session alone, every held receipt answered at once: what the printer must get."""
    session = Session(config)
    out = bytearray()

    def take(output: Any) -> None:
        out.extend(output.to_printer)
        for request in output.requests:
            if request.held:
                take(session.handled(request.receipt_id, message, 0.0))

    take(session.from_till(data, 0.0))
    take(session.till_finished(0.0))  # the till's close: a receipt with no cut ends here
    take(session.till_closed(0.0))
    return bytes(out)
