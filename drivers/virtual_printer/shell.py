"""The virtual printer on the wire: a Twisted factory serving TCP or a pseudo-terminal.

The factory is one printer. By default (``shared=True``) all its connections feed one
``PrinterModel`` through one ``PrintEngine``: one receive buffer, in arrival order, one printer
state (code page, styles) kept from job to job, one paper, as on a network printer, so a
receipt interleaved from two connections prints interleaved. Replies go to the connection
that asked (``drivers.virtual_printer.engine``). ``shared=False`` gives each connection a
model and engine of its own, closed with it (only the conditions are shared): a printer that
cannot show what two senders at once do to each other.

The conditions (paper, cover...) belong to the factory. Every receipt is kept in memory
(``factory.receipts``) and, given a folder, saved there as ``NNNN.bin`` (the raw bytes) plus
the renderings asked for (``NNNN.txt``, ``.html``, ``.png``), numbered after the files
already there.

A slow printer (``bytes_per_second``) prints its receive buffer at that speed and stops reading
its transports while the buffer is full, so the senders' sockets (or the pty) fill and the
senders block: backpressure, with the printer's memory bounded by the buffer plus one read
per connection.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import tty
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.internet.interfaces import IHalfCloseableProtocol, IListeningPort
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from zope.interface import implementer

from drivers.device_file import DeviceTransport
from drivers.render.paper import Paper
from drivers.virtual_printer.engine import PrintEngine
from drivers.virtual_printer.model import PrintedReceipt, PrinterModel
from drivers.virtual_printer.status import Conditions, Identity, change

log = logging.getLogger(__name__)

FORMATS = ("text", "html", "png")
RECEIVE_BUFFER = 4096  # a TM-T88's receive buffer holds 4 KB (or 45 bytes, by DIP switch)
_NUMBERED = re.compile(r"(\d{4,})\.bin")


@implementer(IHalfCloseableProtocol)
class VirtualPrinterProtocol(Protocol):
    """One connection to the virtual printer: it feeds the factory's print engine (shared
    mode) or an engine of its own (per-connection mode)."""

    def __init__(self, factory: VirtualPrinterFactory) -> None:
        self.factory = factory
        self.engine = factory.engine_for_connection()
        self.peak_queued = 0  # the most bytes waiting in the receive buffer after a read
        self.received = 0  # bytes read from this connection
        self.lost: defer.Deferred[None] = defer.Deferred()
        self._connected = False
        self._sender_done = False  # the sender half-closed or went away
        self._paused = False

    @property
    def model(self) -> PrinterModel:
        return self.engine.model

    @property
    def sender_done(self) -> bool:
        return self._sender_done

    @property
    def paused(self) -> bool:
        """Whether the printer has stopped reading this connection (its buffer is full)."""
        return self._paused

    # -- Twisted callbacks -------------------------------------------------------------------

    def connectionMade(self) -> None:
        self._connected = True
        self.factory.connections.append(self)
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            set_no_delay(True)  # status replies are a byte or four: send them at once
        self.engine.attach(self)

    def dataReceived(self, data: bytes) -> None:
        self.received += len(data)
        self.factory.received += len(data)
        if self.factory.stream is not None:
            self.factory.stream += data
        self.peak_queued = max(self.peak_queued, self.engine.receive(self, data))

    def readConnectionLost(self) -> None:
        # The sender is done but may still wait for the reply to its last GS r: print the rest,
        # answer it, then close (as a network printer does).
        self._sender_done = True
        self.engine.print_now()

    def writeConnectionLost(self) -> None:
        self._connected = False

    def connectionLost(self, reason: Failure | None = None) -> None:
        # Like a real printer, keep printing what is in the buffer; replies go nowhere.
        self._connected = False
        self._sender_done = True
        self.engine.print_now()
        if not self.lost.called:
            self.lost.callback(None)

    # -- its engine (shared with the other connections of a shared printer) --------------------

    def print_now(self) -> None:
        self.engine.print_now()

    def stop(self) -> None:
        """Stop the print engine's clock (the end of a test): nothing more gets printed."""
        self.engine.stop()

    def conditions_changed(self) -> None:
        self.engine.conditions_changed()

    # -- what the engine asks ----------------------------------------------------------------

    def reply(self, data: bytes) -> None:
        if self._connected:
            self.transport.write(data)

    def pause_reading(self) -> None:
        if self._connected and not self._sender_done and not self._paused:
            self._paused = True
            self.transport.pauseProducing()

    def resume_reading(self) -> None:
        if self._paused:
            self._paused = False
            if self._connected and not self._sender_done:
                self.transport.resumeProducing()

    def printed_all(self) -> None:
        """Every byte this connection sent has printed and its sender is done: close."""
        if self in self.factory.connections:
            self.factory.connections.remove(self)
        if self._connected:
            self.transport.loseConnection()


class VirtualPrinterFactory(Factory):
    """A virtual ESC/POS printer: serve it with ``listen_tcp`` or ``serve_pty``.

    ``formats``: which renderings to save beside each ``NNNN.bin`` ("text", "html", "png").
    ``bytes_per_second``: print speed, ``None`` for instant. ``receive_buffer``: bytes waiting
    to be printed before the printer stops reading. ``on_receipt`` is called with each
    receipt once it is recorded (and saved). ``keep_stream``: keep every byte received in
    ``stream``. ``shared``: one receive buffer, printer state and print engine for all
    connections, as on a real printer (the default); ``False``: one per connection.
    ``paper`` and ``language`` (the till's): how the pictures are drawn (the PNG's width and
    grid, the HTML page's width and ``lang``).
    """

    protocol = VirtualPrinterProtocol

    def __init__(
        self,
        folder: Path | None = None,
        formats: Iterable[str] = ("text",),
        *,
        bytes_per_second: float | None = None,
        receive_buffer: int = RECEIVE_BUFFER,
        conditions: Conditions | None = None,
        identity: Identity | None = None,
        reset_ends_document: bool = False,
        on_receipt: Callable[[PrintedReceipt], object] | None = None,
        keep_stream: bool = False,
        shared: bool = True,
        reactor: Any = None,
        paper: Paper | None = None,
        language: str | None = None,
    ) -> None:
        self.formats = tuple(formats)
        self.paper = paper
        self.language = language
        unknown = set(self.formats) - set(FORMATS)
        if unknown:
            raise ValueError(f"unknown formats {sorted(unknown)}; known: {list(FORMATS)}")
        if bytes_per_second is not None and bytes_per_second <= 0:
            raise ValueError("bytes_per_second must be positive (or None for instant)")
        self.folder = folder
        self.bytes_per_second = bytes_per_second
        self.receive_buffer = receive_buffer
        self.conditions = conditions if conditions is not None else Conditions()
        self.identity = identity if identity is not None else Identity()
        self.reset_ends_document = reset_ends_document
        self.on_receipt = on_receipt
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.receipts: list[PrintedReceipt] = []
        self.saved: list[list[Path]] = []  # per receipt, the files written (with a folder)
        self.received = 0  # bytes received, all connections together
        # With keep_stream, every byte received, all connections in arrival order (unbounded:
        # for the demo and tests, which compare it with what the till sent).
        self.stream: bytearray | None = bytearray() if keep_stream else None
        self.connections: list[VirtualPrinterProtocol] = []  # open, or owed printing
        self.shared = shared
        self._engine = PrintEngine(self._new_model(), self) if shared else None
        self._waiting: list[tuple[int, defer.Deferred[list[PrintedReceipt]]]] = []
        self._next_number = 1
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            numbers = [int(m[1]) for p in folder.iterdir() if (m := _NUMBERED.fullmatch(p.name))]
            self._next_number = max(numbers, default=0) + 1

    def buildProtocol(self, addr: Any) -> VirtualPrinterProtocol:
        protocol = VirtualPrinterProtocol(self)
        protocol.factory = self
        return protocol

    def _new_model(self) -> PrinterModel:
        return PrinterModel(
            self.conditions, self.identity, reset_ends_document=self.reset_ends_document
        )

    def engine_for_connection(self) -> PrintEngine:
        """The engine a new connection feeds: the printer's, or (not shared) its own."""
        if self._engine is not None:
            return self._engine
        return PrintEngine(self._new_model(), self, closes_model=True)

    @property
    def engines(self) -> list[PrintEngine]:
        if self._engine is not None:
            return [self._engine]
        return [connection.engine for connection in self.connections]

    @property
    def model(self) -> PrinterModel | None:
        """The one printer model of a shared printer (``None`` per connection)."""
        return self._engine.model if self._engine is not None else None

    @property
    def peak_queued(self) -> int:
        """The most bytes ever waiting in a receive buffer (the current engines')."""
        return max((engine.peak_queued for engine in self.engines), default=0)

    # -- serving -----------------------------------------------------------------------------

    def listen_tcp(
        self,
        reactor: Any,
        port: int = 0,
        interface: str = "127.0.0.1",
        *,
        rcvbuf: int | None = None,
    ) -> IListeningPort:
        """Listen on ``interface:port`` (0: a free port, see ``getHost().port``).

        ``rcvbuf`` sets the accepted sockets' receive buffer: small, the slowness of a slow
        printer reaches the sender after a few kilobytes rather than megabytes.
        """
        self.reactor = reactor
        listening = reactor.listenTCP(port, self, interface=interface)
        if rcvbuf is not None:
            listening.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        return listening

    def serve_pty(self, reactor: Any) -> tuple[str, PtyPrinter]:
        """Serve the printer on a new pseudo-terminal; return the slave's path and a handle.

        The till (or the bridge) opens the path as its serial port. The printer reads the
        master side through a plain file-descriptor transport: Twisted's ``SerialPort`` wants
        a device path, which the master side does not have.
        """
        self.reactor = reactor
        return _open_pty(self, reactor)

    # -- conditions and speed ----------------------------------------------------------------

    def set_conditions(self, **changes: bool) -> None:
        """Change the printer's conditions (``paper_out=True``...): ASB reports go out and
        printing held while offline resumes."""
        change(self.conditions, **changes)
        for engine in self.engines:
            engine.conditions_changed()

    def set_speed(self, bytes_per_second: float | None) -> None:
        if bytes_per_second is not None and bytes_per_second <= 0:
            raise ValueError("bytes_per_second must be positive (or None for instant)")
        self.bytes_per_second = bytes_per_second
        for engine in self.engines:
            engine.print_now()

    def stop(self) -> None:
        """Stop every print engine's clock (test teardown)."""
        for engine in self.engines:
            engine.stop()

    # -- receipts ----------------------------------------------------------------------------

    def wait_for_receipts(self, count: int) -> defer.Deferred[list[PrintedReceipt]]:
        """A Deferred fired with ``receipts`` once there are at least ``count`` of them."""
        if len(self.receipts) >= count:
            return defer.succeed(list(self.receipts))
        waiter: defer.Deferred[list[PrintedReceipt]] = defer.Deferred()
        self._waiting.append((count, waiter))
        return waiter

    def record(self, receipt: PrintedReceipt) -> None:
        self.receipts.append(receipt)
        if self.folder is not None:
            self.saved.append(self._save(receipt))
        if self.on_receipt is not None:
            try:
                self.on_receipt(receipt)
            except Exception:
                log.exception("on_receipt failed")
        ready = [w for w in self._waiting if len(self.receipts) >= w[0]]
        self._waiting = [w for w in self._waiting if w not in ready]
        for _, waiter in ready:
            waiter.callback(list(self.receipts))

    def _save(self, receipt: PrintedReceipt) -> list[Path]:
        assert self.folder is not None
        stem = f"{self._next_number:04d}"
        self._next_number += 1
        path = self.folder / f"{stem}.bin"
        path.write_bytes(receipt.raw)
        paths = [path]
        for name in self.formats:
            try:
                paths.append(_render(self.folder / stem, name, receipt, f"receipt {stem}", self))
            except Exception:
                # A drawing bug must not stop the printer: the raw bytes are saved already.
                log.exception("could not render receipt %s as %s", stem, name)
        log.info("printed receipt %s (%d bytes)", stem, len(receipt.raw))
        return paths


def _render(
    stem: Path, name: str, receipt: PrintedReceipt, title: str, printer: VirtualPrinterFactory
) -> Path:
    paper, language = printer.paper, printer.language
    if name == "text":
        from drivers.render import render_text

        path = stem.with_suffix(".txt")
        columns = {} if paper is None else {"columns": paper.columns}
        path.write_text(render_text(receipt.document, **columns), encoding="utf-8")
    elif name == "html":
        from drivers.render import render_html

        path = stem.with_suffix(".html")
        page = render_html(receipt.document, title=title, language=language, paper=paper)
        path.write_text(page, encoding="utf-8")
    else:
        from drivers.render import render_png

        path = stem.with_suffix(".png")
        path.write_bytes(render_png(receipt.document, paper=paper, language=language))
    return path


class PtyPrinter:
    """The printer's end of a pseudo-terminal; ``path`` is the end a till opens."""

    def __init__(self, path: str, slave_fd: int, protocol: VirtualPrinterProtocol) -> None:
        self.path = path
        self.protocol = protocol
        # Held open so the pty does not hang up (EIO on the master) whenever the till
        # closes the port: a till may open and close it for every receipt.
        self._slave_fd = slave_fd

    def close(self) -> defer.Deferred[None]:
        """Close both ends; fires once the printer's side is closed."""
        transport = self.protocol.transport
        if transport is not None:
            transport.loseConnection()
        if self._slave_fd >= 0:
            os.close(self._slave_fd)
            self._slave_fd = -1
        return self.protocol.lost


def _open_pty(factory: VirtualPrinterFactory, reactor: Any) -> tuple[str, PtyPrinter]:
    master, slave = os.openpty()
    # The line discipline sits on the slave side: raw mode there stops the echo (the printer
    # would read its own replies back) and the CR/LF translations. The master side of a
    # Linux pty is raw from the start; setting it too costs nothing where it is not.
    tty.setraw(slave)
    with contextlib.suppress(OSError):
        tty.setraw(master)
    path = os.ttyname(slave)
    protocol = factory.buildProtocol(path)
    DeviceTransport(master, protocol, reactor, readable=True, name=f"virtual printer {path}")
    return path, PtyPrinter(path, slave, protocol)
