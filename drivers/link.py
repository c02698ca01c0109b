"""The pairing of one till connection with one printer connection through a ``Session``.

The shell only moves bytes and time in and out of the sans-I/O interceptor
(``bridge.session``): till bytes → ``from_till`` → printer; printer bytes → ``from_printer``
→ till at once; each ``HandleReceipt`` → the handler (a Deferred) → ``handled``; the session's
``deadline`` → one rescheduled ``callLater`` → ``timer``.

Rules kept here (DESIGN rules 1–3):

- **The printer side first.** A till's bytes are not read until its printer connection is up.
  If the printer cannot be reached, a TCP till's connection is closed at once, so the till
  sees what it would see with a dead printer. We accept and then close rather than accept only
  while the printer is reachable: many network printers take one connection at a time, so a
  probe would steal the printer from the till we are serving, and the probe's answer is stale
  by the time the next till connects. A serial till is one long-lived "connection": while its
  printer is away we stop reading it (its flow control or buffer takes the strain) and
  reconnect with exponential backoff.
- **Backpressure, not buffering.** Both transports are registered as streaming producers of
  each other (as ``twisted.protocols.portforward`` does), and the till is also paused while
  the session's ``backlog`` is over a bound, so memory per till stays bounded whatever it
  sends.
- **The end of a till's stream.** The till side is an ``IHalfCloseableProtocol``: when the
  till half-closes (many tills send a receipt and close at once), holds are first allowed to
  be answered (until ``not session.holding``, which ``max_hold`` bounds), then
  ``till_closed`` releases everything, the printer side is half-closed in turn (TCP) and the
  printer's last replies are relayed until it closes or stays quiet for ``linger`` seconds.
- **Fail open.** A handler that fails is logged and answered with no message.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from twisted.internet import defer
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IHalfCloseableProtocol,
    IPushProducer,
    IReactorTime,
    ITCPTransport,
    ITransport,
)
from twisted.internet.protocol import Factory
from twisted.internet.protocol import Protocol as TwistedProtocol
from twisted.python.failure import Failure
from zope.interface import implementer

from bridge.session import HandleReceipt, Output, Session, SessionConfig

log = logging.getLogger(__name__)

# What the handler returns: the message bytes to print before the cut, or None for nothing.
Handler = Callable[[HandleReceipt], "defer.Deferred[bytes | None] | bytes | None"]


class PrinterConnector(Protocol):
    """Opens the printer side (TCP client, serial port, device file) for one pairing."""

    description: str

    def connect(self, protocol: TwistedProtocol) -> defer.Deferred[Any]:
        """Connect ``protocol`` to the printer; fail if the printer cannot be reached."""
        ...


@dataclass(frozen=True, slots=True)
class LinkOptions:
    backlog_limit: int = 16 * 1024  # till bytes the session may owe before the till is paused
    # SO_RCVBUF of a TCP till's socket: small, a slow printer slows the till sooner; but each
    # read is at most this big, and reads cost reactor turns. bench/bridge_bench.py, passthrough
    # against socat: 16 KiB gave 25% of its throughput, 64 KiB 42-60%, 128 KiB 75-110%, for
    # about 250 KiB per busy till (kernel buffers, not ours).
    till_rcvbuf: int = 128 * 1024
    linger: float = 1.0  # printer silence after the till's end before the printer side closes
    drain_timeout: float = 10.0  # the most the printer side is kept open after the till's end
    close_grace: float = 0.5  # beyond max_hold, the most we wait for holds after the till's end
    backoff_initial: float = 0.5  # reconnect delays for a long-lived (serial) till's printer
    backoff_max: float = 30.0


def write_buffer_size(transport: object) -> int:
    """Bytes a Twisted file-descriptor transport holds, not yet written to the kernel."""
    data = getattr(transport, "dataBuffer", b"")
    offset = getattr(transport, "offset", 0)
    temp = getattr(transport, "_tempDataLen", 0)
    return len(data) - offset + temp


def set_tcp_options(transport: object, rcvbuf: int | None = None) -> None:
    """TCP_NODELAY (status replies and small writes go at once) and, for the till, a small
    receive buffer so a slow printer slows the till sooner. Not TCP: nothing to do."""
    if not ITCPTransport.providedBy(transport):
        return
    transport.setTcpNoDelay(True)
    if rcvbuf is not None:
        transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)


class TillLink(Factory):
    """Pairs each till connection with a printer connection through its own ``Session``.

    Use it as the factory of a TCP listener (``drivers.tcp.listen_tcp``), or give
    ``till_protocol(persistent=True)`` to a serial port (``drivers.serial_port``).
    """

    def __init__(
        self,
        session_config: SessionConfig,
        handler: Handler,
        printer_connector: PrinterConnector,
        reactor: IReactorTime,
        options: LinkOptions | None = None,
    ) -> None:
        self.session_config = session_config
        self.handler = handler
        self.printer_connector = printer_connector
        self.reactor = reactor
        self.options = options if options is not None else LinkOptions()
        self.pairings: set[Pairing] = set()
        # For the daemon's stats: connections (or serial opens) served, and receipt ends the
        # sessions let go with no message (past max_hold, or too much waiting behind them).
        self.connections = 0
        self.released_unanswered = 0

    def buildProtocol(self, addr: IAddress | None) -> TillProtocol:
        return self.till_protocol(persistent=False)

    def till_protocol(self, persistent: bool) -> TillProtocol:
        """``persistent``: a serial till, whose printer is reconnected rather than the till
        being closed when the printer goes away."""
        pairing = Pairing(self, persistent)
        self.pairings.add(pairing)
        self.connections += 1
        return TillProtocol(pairing)

    def close_all(self) -> None:
        """Daemon shutdown: end every pairing as if its till had closed."""
        for pairing in list(self.pairings):
            pairing.shutdown()


@implementer(IHalfCloseableProtocol)
class TillProtocol(TwistedProtocol):
    def __init__(self, pairing: Pairing) -> None:
        self.pairing = pairing

    def connectionMade(self) -> None:
        self.pairing.till_connected(self.transport)

    def dataReceived(self, data: bytes) -> None:
        self.pairing.till_data(data)

    def readConnectionLost(self) -> None:
        self.pairing.till_ended("half-closed")

    def writeConnectionLost(self) -> None:
        self.pairing.till_unwritable()

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.pairing.till_lost(reason)


class PrinterProtocol(TwistedProtocol):
    def __init__(self, pairing: Pairing) -> None:
        self.pairing = pairing

    def connectionMade(self) -> None:
        self.pairing.printer_connected(self.transport)

    def dataReceived(self, data: bytes) -> None:
        self.pairing.printer_data(data, self)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.pairing.printer_lost(reason, self)


@implementer(IPushProducer)
class _Valve:
    """A producer registered on one transport that pauses the other side."""

    def __init__(self, on_pause: Callable[[], None], on_resume: Callable[[], None]) -> None:
        self._on_pause = on_pause
        self._on_resume = on_resume

    def pauseProducing(self) -> None:
        self._on_pause()

    def resumeProducing(self) -> None:
        self._on_resume()

    def stopProducing(self) -> None:
        pass  # the pairing learns of the end through connectionLost


class Pairing:
    """One till connection, its printer connection and its session."""

    def __init__(self, link: TillLink, persistent: bool) -> None:
        self.link = link
        self.persistent = persistent
        self.reactor = link.reactor
        self.options = link.options
        self.session = Session(link.session_config)
        self.name = link.session_config.till
        # Every line about this pairing carries its till as a field (key=value, JSON logs).
        self.log = logging.LoggerAdapter(log, {"till": self.name})
        self.till: Any = None
        self.printer: Any = None
        self.till_bytes = 0  # from the till, for logs and tests
        self.till_last_data = self.reactor.seconds()  # when the till last sent bytes
        self.printer_bytes = 0  # from the printer
        self._printer_protocol: PrinterProtocol | None = None
        self._connecting: defer.Deferred[Any] | None = None
        self._pending = bytearray()  # for a printer being reconnected (serial till only)
        self._printer_full = False  # the printer transport's write buffer is over its bound
        self._till_paused = False
        self._till_reading = False  # the till's stream has not ended
        self._till_writable = False
        self._released = False  # till_closed has been called
        self._finished = False
        self._timer: IDelayedCall | None = None
        self._release_cap: IDelayedCall | None = None
        self._drain_call: IDelayedCall | None = None
        self._drain_started = 0.0
        self._drain_seen = 0
        self._retry: IDelayedCall | None = None
        self._backoff = self.options.backoff_initial

    # --- the till side ------------------------------------------------------------------

    def till_connected(self, transport: ITransport) -> None:
        self.till = transport
        self._till_reading = self._till_writable = True
        set_tcp_options(transport, self.options.till_rcvbuf)
        self.log.info("%s: till connected (%s)", self.name, _peer(transport))
        self._update_reading()  # paused until the printer is up
        self._connect_printer()

    def reapply_pause(self) -> None:
        """For transports that start reading after ``connectionMade`` (``SerialPort``)."""
        if self._till_paused and self.till is not None:
            self.till.pauseProducing()

    def till_data(self, data: bytes) -> None:
        if not self._till_reading:
            return
        self.till_bytes += len(data)
        self.till_last_data = now = self._now()
        self._apply(self.session.from_till(data, now))

    @property
    def till_reading(self) -> bool:
        """The till's stream has not ended (it may still send)."""
        return self._till_reading

    def till_ended(self, how: str) -> None:
        """The till will send nothing more; it may still read the printer's replies."""
        if not self._till_reading:
            return
        self._till_reading = False
        self.log.info("%s: till %s after %d bytes", self.name, how, self.till_bytes)
        if self.printer is None:
            self._finish()
            return
        cap = self.session.config.max_hold + self.options.close_grace
        self._release_cap = self.reactor.callLater(cap, self._release)
        self._maybe_release()

    def till_unwritable(self) -> None:
        self._till_writable = False

    def till_lost(self, reason: Failure | None) -> None:
        self._till_writable = False
        self.till = None
        if self._till_reading:
            self.till_ended("closed")
        elif self._released and self.printer is None:
            self._finish()

    # --- the printer side ---------------------------------------------------------------

    def _connect_printer(self) -> None:
        if self._finished or self.printer is not None or self._connecting is not None:
            return
        protocol = PrinterProtocol(self)
        self._printer_protocol = protocol
        try:
            connecting = self.link.printer_connector.connect(protocol)
        except Exception:
            connecting = defer.fail()
        self._connecting = connecting
        connecting.addCallbacks(self._connected, self._unreachable)

    def _connected(self, _: object) -> None:
        self._connecting = None
        self._backoff = self.options.backoff_initial

    def _unreachable(self, failure: Failure) -> None:
        self._connecting = None
        self._printer_protocol = None
        if self._finished:
            return
        if self.persistent and self._till_reading:
            self.log.warning(
                "%s: printer %s unreachable (%s): retrying in %.1f s",
                self.name,
                self.link.printer_connector.description,
                failure.getErrorMessage(),
                self._backoff,
            )
            self._schedule_retry()
            return
        self.log.warning(
            "%s: printer %s unreachable (%s): closing the till's connection",
            self.name,
            self.link.printer_connector.description,
            failure.getErrorMessage(),
        )
        self._finish(abort_till=True)

    def _schedule_retry(self) -> None:
        delay = self._backoff
        self._backoff = min(self._backoff * 2, self.options.backoff_max)
        self._retry = self.reactor.callLater(delay, self._do_retry)

    def _do_retry(self) -> None:
        self._retry = None
        self._connect_printer()

    def printer_connected(self, transport: ITransport) -> None:
        if self._finished:
            transport.loseConnection()
            return
        self.printer = transport
        set_tcp_options(transport)
        self.log.info(
            "%s: printer %s connected", self.name, self.link.printer_connector.description
        )
        # The printer's buffer fills → stop reading the till; the till's fills → stop reading
        # the printer (status replies are tiny, but a stuck till must not grow our memory).
        transport.registerProducer(_Valve(self._printer_paused, self._printer_resumed), True)
        if self.till is not None and self._till_writable:
            printer = transport
            self.till.registerProducer(
                _Valve(printer.pauseProducing, printer.resumeProducing), True
            )
        if self._pending:
            pending, self._pending = bytes(self._pending), bytearray()
            transport.write(pending)
        self._update_reading()
        if not self._till_reading:
            self._maybe_release()

    def printer_data(self, data: bytes, protocol: PrinterProtocol) -> None:
        if protocol is not self._printer_protocol:
            return
        self.printer_bytes += len(data)
        self._apply(self.session.from_printer(data, self._now()))

    def printer_lost(self, reason: Failure | None, protocol: PrinterProtocol) -> None:
        if protocol is not self._printer_protocol:
            return
        self.printer = None
        self._printer_protocol = None
        self._printer_full = False
        if self.till is not None and self._till_writable:
            self.till.unregisterProducer()
        if self._finished:
            return
        if not self._till_reading:
            self._finish()  # the till's stream is over: nothing more can be delivered
            return
        if self.persistent:
            self.log.warning(
                "%s: printer %s dropped: till paused, reconnecting",
                self.name,
                self.link.printer_connector.description,
            )
            self._update_reading()
            self._schedule_retry()
            return
        # As a direct connection would: the printer went away, so does the till's connection.
        self.log.warning(
            "%s: printer %s dropped: closing the till's connection",
            self.name,
            self.link.printer_connector.description,
        )
        self._finish()

    def _printer_paused(self) -> None:
        self._printer_full = True
        self._update_reading()

    def _printer_resumed(self) -> None:
        self._printer_full = False
        self._update_reading()

    # --- the session --------------------------------------------------------------------

    def _now(self) -> float:
        return self.reactor.seconds()

    def _apply(self, out: Output) -> None:
        if out.to_printer:
            if self.printer is not None:
                self.printer.write(out.to_printer)
            else:
                # Only a long-lived till gets here (its printer is being reconnected); the till
                # is paused meanwhile, so this holds at most what it had already sent.
                self._pending += out.to_printer
        if out.to_till and self.till is not None and self._till_writable:
            self.till.write(out.to_till)
        # The deadline before the requests: a handler that answers at once re-enters here
        # with a newer deadline, which this one must not overwrite.
        self._schedule(out.deadline)
        self._update_reading()
        for request in out.requests:
            self._dispatch(request)

    def _dispatch(self, request: HandleReceipt) -> None:
        receipt_id = request.receipt_id
        result = defer.maybeDeferred(self.link.handler, request)

        def failed(failure: Failure) -> None:
            self.log.error(
                "%s: handler failed on receipt %d: %s (printed with no message)",
                self.name,
                receipt_id,
                failure.getTraceback(),
            )
            return None

        result.addErrback(failed)
        if request.held:
            result.addCallback(lambda message: self._handled(receipt_id, message))
        result.addErrback(lambda f: self.log.error("%s: %s", self.name, f.getTraceback()))

    def _handled(self, receipt_id: int, message: bytes | None) -> None:
        if self._released or self._finished:
            return  # released already: the session would not print it anyway
        if message is not None and not isinstance(message, bytes | bytearray):
            self.log.error("%s: handler gave %r, not bytes: no message", self.name, type(message))
            message = None
        self._apply(self.session.handled(receipt_id, message, self._now()))
        self._maybe_release()

    def _schedule(self, deadline: float | None) -> None:
        if deadline is None:
            if self._timer is not None and self._timer.active():
                self._timer.cancel()
            self._timer = None
            return
        delay = max(0.0, deadline - self._now())
        if self._timer is not None and self._timer.active():
            if abs(self._timer.getTime() - deadline) < 1e-6:
                return
            self._timer.reset(delay)
            return
        self._timer = self.reactor.callLater(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._released or self._finished:
            return
        self._apply(self.session.timer(self._now()))
        self._maybe_release()

    def _update_reading(self) -> None:
        till = self.till
        if till is None or not self._till_reading:
            return
        pause = (
            self.printer is None
            or self._printer_full
            or self.session.backlog > self.options.backlog_limit
        )
        if pause and not self._till_paused:
            self._till_paused = True
            till.pauseProducing()
        elif not pause and self._till_paused:
            self._till_paused = False
            till.resumeProducing()

    # --- the end ------------------------------------------------------------------------

    def _maybe_release(self) -> None:
        if self._till_reading or self._released or self._finished:
            return
        if self.session.holding or self.printer is None:
            return  # the timer, the handler or the release cap comes back here
        self._release()

    def _release(self) -> None:
        """Everything owed goes to the printer; then wait for its last replies."""
        if self._released or self._finished:
            return
        self._released = True
        _cancel(self._release_cap)
        self._release_cap = None
        _cancel(self._timer)
        self._timer = None
        out = self.session.till_closed(self._now())
        self._apply(out)
        if self.printer is None:
            self._finish()
            return
        if ITCPTransport.providedBy(self.printer):
            # The till's FIN, passed on: a printer closes once it has answered everything.
            self.printer.loseWriteConnection()
        self._drain_started = self._now()
        self._drain_seen = self.printer_bytes
        self._drain_call = self.reactor.callLater(self.options.linger, self._drain_check)

    def _drain_check(self) -> None:
        self._drain_call = None
        if self._finished:
            return
        quiet = self.printer_bytes == self._drain_seen and (
            self.printer is None or write_buffer_size(self.printer) == 0
        )
        if quiet or self._now() - self._drain_started >= self.options.drain_timeout:
            self._finish()
            return
        self._drain_seen = self.printer_bytes
        self._drain_call = self.reactor.callLater(self.options.linger, self._drain_check)

    def shutdown(self) -> None:
        if self._till_reading:
            self.till_ended("shut down")
        self._release()
        self._finish()

    def _finish(self, abort_till: bool = False) -> None:
        if self._finished:
            return
        self._finished = True
        for call in (self._timer, self._release_cap, self._drain_call, self._retry):
            _cancel(call)
        if self._connecting is not None:
            self._connecting.cancel()
        if self.printer is not None:
            self.printer.loseConnection()
        if self.till is not None:
            if abort_till and hasattr(self.till, "abortConnection"):
                self.till.abortConnection()
            else:
                self.till.loseConnection()
        self.link.pairings.discard(self)
        self.link.released_unanswered += self.session.released_unanswered
        self.log.info(
            "%s: link closed (%d bytes from the till, %d from the printer)",
            self.name,
            self.till_bytes,
            self.printer_bytes,
        )


def _cancel(call: IDelayedCall | None) -> None:
    if call is not None and call.active():
        call.cancel()


def _peer(transport: object) -> str:
    get_peer = getattr(transport, "getPeer", None)
    if get_peer is None:
        return type(transport).__name__
    try:
        peer = get_peer()
    except Exception:
        return type(transport).__name__
    host, port = getattr(peer, "host", None), getattr(peer, "port", None)
    return f"{host}:{port}" if host is not None and port is not None else str(peer)
