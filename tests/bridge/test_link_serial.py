"""Serial paths over pseudo-terminals: a python-escpos serial till on one pty, the bridge's
SerialPort on another, the two joined master to master (a null-modem cable); and a serial
printer played on a pty's master side."""

from __future__ import annotations

import os
import socket
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import serial
from escpos.printer import Serial
from twisted.internet import reactor, threads
from twisted.internet.protocol import Protocol

from bridge.link import LinkOptions, TillLink, serve_serial, serve_tcp
from bridge.session import HandleReceipt, Mode, SessionConfig
from drivers.device_file import DeviceTransport
from drivers.serial_port import SerialPrinter, serial_options
from drivers.tcp import TcpPrinter
from tests.bridge.link_harness import (
    CUT,
    DLE_EOT,
    FIXTURES,
    SALE,
    STATUS,
    FakePrinter,
    M,
    escpos_till,
    raw_till,
    read_to_end,
    reference,
    sleep,
    until,
)

SOME = [p for p in FIXTURES if p.stem in {"sale_customer_card", "logo_lookalikes", "sale_cash"}]


class Relay(Protocol):
    peer: Any = None

    def dataReceived(self, data: bytes) -> None:
        self.peer.write(data)


@pytest.fixture
def null_modem() -> Iterator[tuple[str, str]]:
    """Two pty slaves wired to each other: what one side writes, the other reads."""
    (m1, s1), (m2, s2) = os.openpty(), os.openpty()
    for slave in (s1, s2):
        tty.setraw(slave)  # and the slaves stay open here: a pty hangs up when they all close
    a, b = Relay(), Relay()
    ta = DeviceTransport(m1, a, reactor, readable=True, name="relay a")
    tb = DeviceTransport(m2, b, reactor, readable=True, name="relay b")
    a.peer, b.peer = tb, ta
    yield os.ttyname(s1), os.ttyname(s2)
    ta.loseConnection()
    tb.loseConnection()
    os.close(s1)
    os.close(s2)


@pytest.fixture
def tcp_printer() -> Iterator[tuple[FakePrinter, int]]:
    factory = FakePrinter()
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    yield factory, port.getHost().port
    for conn in factory.connections:
        conn.transport.abortConnection()
    port.stopListening()


@pytest.fixture
def pty_printer() -> Iterator[tuple[FakePrinter, str]]:
    """A printer on a pty's master side; the bridge opens the slave as its serial port."""
    master, slave = os.openpty()
    tty.setraw(slave)
    fake = FakePrinter()
    transport = DeviceTransport(master, fake.buildProtocol(None), reactor, readable=True)
    yield fake, os.ttyname(slave)
    transport.loseConnection()
    os.close(slave)


class SerialTill:
    """python-escpos on a serial port as the till."""

    def __init__(self, device: str) -> None:
        self.printer = Serial(devfile=device, baudrate=19200, timeout=3, dsrdtr=False)
        self.printer.open()

    def send(self, data: bytes) -> None:
        self.printer._raw(data)

    def status(self) -> bytes:
        self.printer._raw(DLE_EOT)
        return self.printer.device.read(1)

    def close(self) -> None:
        self.printer.close()


def links() -> tuple[list[HandleReceipt], Any]:
    seen: list[HandleReceipt] = []

    def handler(request: HandleReceipt) -> bytes:
        seen.append(request)
        return M

    return seen, handler


@pytest_twisted.ensureDeferred
async def test_serial_till_to_tcp_printer(null_modem: Any, tcp_printer: Any) -> None:
    till_side, bridge_side = null_modem
    fake, printer_port = tcp_printer
    config = SessionConfig(mode=Mode.INJECT, feed_hold=0.5, till="serial")
    seen, handler = links()
    link = TillLink(config, handler, TcpPrinter("127.0.0.1", printer_port, reactor), reactor)
    port = serve_serial(link, bridge_side, reactor, baudrate=19200)
    till = await threads.deferToThread(SerialTill, till_side)
    try:
        assert await threads.deferToThread(till.status) == STATUS
        data = b"".join(p.read_bytes() for p in SOME)
        await threads.deferToThread(till.send, data)
        # The stream goes on (no close for a serial till): everything but the end is owed.
        expected = reference(DLE_EOT + data, config, M)
        await until(lambda: len(fake.received) >= len(expected), what="the printer's bytes")
        assert fake.received == expected
        assert sum(r.held for r in seen) == expected.count(M) >= len(SOME)
        assert await threads.deferToThread(till.status) == STATUS
    finally:
        await threads.deferToThread(till.close)
        link.close_all()
        port.loseConnection()


@pytest_twisted.ensureDeferred
async def test_serial_till_waits_for_its_printer_and_survives_its_drops(
    null_modem: Any,
) -> None:
    till_side, bridge_side = null_modem
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    printer_port = probe.getsockname()[1]
    probe.close()  # no printer yet: connections are refused
    config = SessionConfig(mode=Mode.PASSTHROUGH, till="serial")
    options = LinkOptions(backoff_initial=0.1, backoff_max=0.2)
    connector = TcpPrinter("127.0.0.1", printer_port, reactor)
    link = TillLink(config, lambda r: None, connector, reactor, options)
    port = serve_serial(link, bridge_side, reactor, baudrate=19200)
    (pairing,) = link.pairings
    till = await threads.deferToThread(SerialTill, till_side)
    fake = FakePrinter()
    listening = None
    try:
        await threads.deferToThread(till.send, SALE)
        await sleep(0.3)
        assert pairing.till_bytes == 0  # not read while the printer is away
        listening = reactor.listenTCP(printer_port, fake, interface="127.0.0.1")
        await until(lambda: fake.received == SALE, what="the first receipt")
        fake.connections[0].transport.abortConnection()
        await until(lambda: pairing.printer is None, what="the drop")
        await threads.deferToThread(till.send, CUT + SALE + CUT)
        await until(lambda: len(fake.connections) == 2, what="the reconnection")
        await until(lambda: fake.received == SALE + CUT + SALE + CUT)
        assert bytes(fake.connections[1].received) == CUT + SALE + CUT
        assert link.pairings == {pairing}  # the till's side was never closed
    finally:
        await threads.deferToThread(till.close)
        link.close_all()
        port.loseConnection()
        if listening is not None:
            await listening.stopListening()


@pytest_twisted.ensureDeferred
async def test_tcp_till_to_serial_printer(pty_printer: Any) -> None:
    fake, device = pty_printer
    config = SessionConfig(mode=Mode.INJECT, feed_hold=0.5, till="t")
    seen, handler = links()
    printer = SerialPrinter(device, reactor, baudrate=38400, parity="none", stopbits=1)
    link = TillLink(config, handler, printer, reactor, LinkOptions(linger=0.1))
    listening = serve_tcp(link, "127.0.0.1", 0, reactor)
    port = listening.getHost().port
    try:
        expected = bytearray()
        for path in SOME:
            data = path.read_bytes()
            await threads.deferToThread(escpos_till, port, data)
            expected += reference(data, config, M)
            await until(lambda: not link.pairings, what=f"the end of {path.name}")
        assert fake.received == bytes(expected)
        assert fake.received.count(M) == sum(r.held for r in seen) >= len(SOME)
        # A status request through the serial printer, on a connection held open.
        sock = raw_till(port)
        sock.sendall(DLE_EOT)
        assert await threads.deferToThread(sock.recv, 1) == STATUS
        sock.shutdown(socket.SHUT_WR)
        assert await threads.deferToThread(read_to_end, sock) == b""
    finally:
        link.close_all()
        await listening.stopListening()


@pytest_twisted.ensureDeferred
async def test_serial_flow_control_reaches_the_port(pty_printer: Any) -> None:
    _, device = pty_printer
    for flow, xonxoff, rtscts in [
        ("none", False, False),
        ("xonxoff", True, False),
        ("rtscts", False, True),
        ("dsrdtr", False, True),  # DTR wired to CTS: see drivers.serial_port
    ]:
        # A pty refuses parity, and 7 bits with RTS/CTS (EINVAL): those are checked below.
        printer = SerialPrinter(device, reactor, baudrate=9600, flow=flow)
        port = await printer.connect(Protocol())
        try:
            settings = port._serial
            assert (settings.xonxoff, settings.rtscts) == (xonxoff, rtscts), flow
            assert (settings.baudrate, settings.bytesize, settings.parity) == (9600, 8, "N")
        finally:
            port.loseConnection()


def test_serial_options_refuse_what_a_port_cannot_do() -> None:
    options = serial_options(stopbits=2, parity="O")
    assert (options["stopbits"], options["parity"]) == (serial.STOPBITS_TWO, serial.PARITY_ODD)
    assert serial_options(parity="even")["parity"] == serial.PARITY_EVEN
    assert serial_options(bytesize=7, baudrate=115200)["bytesize"] == serial.SEVENBITS
    assert serial_options(stopbits=1.5)["stopbits"] == serial.STOPBITS_ONE_POINT_FIVE
    for bad in ({"flow": "cts"}, {"parity": "purple"}, {"bytesize": 9}, {"stopbits": 3}):
        with pytest.raises(ValueError):
            serial_options(**bad)


def test_missing_serial_printer_fails_its_connect() -> None:
    printer = SerialPrinter(str(Path("/dev/does-not-exist-tty")), reactor)
    failures: list[Any] = []
    printer.connect(Protocol()).addErrback(failures.append)
    assert len(failures) == 1
