"""A printer behind a device file: a pty slave stands in for a bidirectional USB printer node,
a FIFO for a write-only one."""

from __future__ import annotations

import os
import socket
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor, threads
from twisted.internet.protocol import Protocol

from bridge.link import LinkOptions, TillLink, serve_tcp
from bridge.session import HandleReceipt, Mode, SessionConfig
from drivers.device_file import DeviceFilePrinter, DeviceTransport, open_device
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
    until,
)


class Recorder(Protocol):
    def __init__(self) -> None:
        self.received = bytearray()

    def dataReceived(self, data: bytes) -> None:
        self.received += data


def serve(device: str, config: SessionConfig) -> tuple[TillLink, Any, int]:
    def handler(request: HandleReceipt) -> bytes:
        return M

    link = TillLink(
        config, handler, DeviceFilePrinter(device, reactor), reactor, LinkOptions(linger=0.1)
    )
    listening = serve_tcp(link, "127.0.0.1", 0, reactor)
    return link, listening, listening.getHost().port


@pytest.fixture
def usb_like() -> Iterator[tuple[FakePrinter, str]]:
    """A pty slave as the printer node, the printer on the master side, answering DLE EOT."""
    master, slave = os.openpty()
    tty.setraw(slave)  # a printer node passes bytes as they are
    fake = FakePrinter()
    transport = DeviceTransport(master, fake.buildProtocol(None), reactor, readable=True)
    yield fake, os.ttyname(slave)
    transport.loseConnection()
    os.close(slave)


@pytest.fixture
def fifo(tmp_path: Path) -> str:
    path = tmp_path / "lp0"
    os.mkfifo(path)
    return str(path)


@pytest_twisted.ensureDeferred
async def test_device_printer_gets_receipts_and_answers_status(usb_like: Any) -> None:
    fake, device = usb_like
    config = SessionConfig(mode=Mode.INJECT, feed_hold=0.5, till="t")
    link, listening, port = serve(device, config)
    try:
        expected = bytearray()
        for path in FIXTURES[:4]:
            data = path.read_bytes()
            await threads.deferToThread(escpos_till, port, data)
            expected += reference(data, config, M)
            await until(lambda: not link.pairings, what=f"the end of {path.name}")
        assert fake.received == bytes(expected)
        assert M in fake.received
        sock = raw_till(port)
        sock.sendall(SALE + CUT + DLE_EOT)
        sock.shutdown(socket.SHUT_WR)
        assert await threads.deferToThread(read_to_end, sock) == STATUS
        assert fake.received.endswith(reference(SALE + CUT + DLE_EOT, config, M))
    finally:
        link.close_all()
        await listening.stopListening()


@pytest_twisted.ensureDeferred
async def test_write_only_device_passes_bytes(fifo: str) -> None:
    reader_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the "printer" reads the FIFO
    recorder = Recorder()
    reader = DeviceTransport(reader_fd, recorder, reactor, readable=True, name="fifo reader")
    link, listening, port = serve(fifo, SessionConfig(mode=Mode.PASSTHROUGH, till="t"))
    try:
        data = FIXTURES[0].read_bytes()
        await threads.deferToThread(escpos_till, port, data)
        await until(lambda: len(recorder.received) >= len(data))
        assert bytes(recorder.received) == data
        await until(lambda: not link.pairings)
    finally:
        link.close_all()
        await listening.stopListening()
        reader.loseConnection()


@pytest_twisted.ensureDeferred
async def test_absent_device_closes_the_till_connection(fifo: str, tmp_path: Path) -> None:
    # A FIFO nobody reads (ENXIO) and a missing node: as a printer that is switched off.
    for device in (fifo, str(tmp_path / "missing")):
        link, listening, port = serve(device, SessionConfig(till="t"))
        try:
            sock = raw_till(port)
            sock.settimeout(3)
            sock.sendall(DLE_EOT)
            assert await threads.deferToThread(read_to_end, sock) == b""
            await until(lambda link=link: not link.pairings)
        finally:
            await listening.stopListening()


def test_open_device_reads_only_what_can_answer(fifo: str, tmp_path: Path) -> None:
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    master, slave = os.openpty()
    try:
        fd, readable = open_device(fifo)
        os.close(fd)
        assert not readable  # read-write would read back our own bytes
        fd, readable = open_device(os.ttyname(slave))
        os.close(fd)
        assert readable
        with pytest.raises(FileNotFoundError):
            open_device(str(tmp_path / "missing"))
    finally:
        for each in (reader, master, slave):
            os.close(each)
