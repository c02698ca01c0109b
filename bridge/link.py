"""The pairing of one till connection with one printer connection through a ``Session``.

The shell only moves bytes and time in and out of the sans-I/O interceptor
(``bridge.session``): till bytes → ``from_till`` → printer; printer bytes → ``from_printer``
→ till at once; each ``HandleReceipt`` → the handler (a Deferred) → ``handled``; the session's
``deadline`` → one rescheduled ``callLater`` → ``timer``. The transports themselves are
``drivers``' (TCP, serial, device files); what pairs them is the bridge's.

Rules kept here (DESIGN rules 1–3, and "Faults: what the till must see"):

- **The printer side first.** A till's bytes are not read until its printer connection is up.
  If the printer cannot be reached, a TCP till's connection is reset at once and the link
  reports the printer down (``on_printer_down``: the TCP till side then refuses connections
  until the printer answers again, as a printer that is off would). A serial till is one
  long-lived "connection": while its printer is away we stop reading it (its flow control or
  buffer takes the strain) and reconnect with exponential backoff.
- **One printer stream per till, in order.** A till connection that opens while an earlier one
  of the same till is still being served waits, unread, until the earlier one is finished, as a
  printer with one connection would serve them. So receipts reach the printer in the order the
  till sent them, whatever the number of connections.
- **Truth to the till.** While the bridge owes the printer bytes of a till's connection, that
  connection is set to reset if we die (``SO_LINGER`` 0): a killed daemon shows the till a
  failure, never a normal close. A normal close of the till's connection happens only once
  the printer has taken every byte (``drivers.transport.unsent_bytes``: Twisted's buffer and
  the kernel's queue both empty); a printer that stops reading keeps the till waiting (up to
  ``drain_timeout``, then a reset). A printer that resets or drops while bytes are owed gives
  the till a reset, and the receipt in progress is not awarded: it is kept unread with the
  reason (``on_abandoned``), since it did not reach the printer whole.
- **Backpressure, not buffering.** Both transports are registered as streaming producers of
  each other (as ``twisted.protocols.portforward`` does), and the till is also paused while
  the session's ``backlog`` is over a bound, so memory per till stays bounded whatever it
  sends.
- **The end of a till's stream.** The till side is an ``IHalfCloseableProtocol``: when the
  till half-closes (many tills send a receipt and close at once), holds are first allowed to
  be answered (until ``not session.holding``, which ``max_hold`` bounds), then
  ``till_closed`` releases everything, the printer side is half-closed in turn (TCP), and once
  the printer has taken every byte its last replies are relayed until it closes or stays
  quiet for ``linger`` seconds.
- **Nothing lost.** With an inbox, every till byte is written there before it goes on to the
  printer (``bridge.inbox``), and the file is removed once every receipt read from it has
  been handled: a daemon killed at any moment leaves the next start what it needs.
- **Fail open.** A handler that fails is logged and answered with no message.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer, error
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IHalfCloseableProtocol,
    IListeningPort,
    IProtocolFactory,
    IReactorTime,
    ITCPTransport,
    ITransport,
)
from twisted.internet.protocol import Factory
from twisted.internet.protocol import Protocol as TwistedProtocol
from twisted.internet.serialport import SerialPort
from twisted.python.failure import Failure
from zope.interface import implementer

from bridge.inbox import ROTATE_BYTES, Inbox, InboxStream, LeftInInbox
from bridge.session import HandleReceipt, Output, Session, SessionConfig
from drivers.serial_port import open_serial, open_serial_from_config
from drivers.tcp import listen_tcp
from drivers.transport import (
    PrinterConnector,
    Valve,
    reset_on_close,
    set_tcp_options,
    unsent_bytes,
    write_buffer_size,
)

log = logging.getLogger(__name__)

# What the handler returns: the message bytes to print before the cut, or None for nothing.
Handler = Callable[[HandleReceipt], "defer.Deferred[bytes | None] | bytes | None"]


@dataclass(frozen=True, slots=True)
class LinkOptions:
    backlog_limit: int = 16 * 1024  # till bytes the session may owe before the till is paused
    # SO_RCVBUF of a TCP till's socket: small, a slow printer slows the till sooner; but each
    # read is at most this big, and reads cost reactor turns. bench/bridge_bench.py, passthrough
    # against socat: 16 KiB gave 25% of its throughput, 64 KiB 42-60%, 128 KiB 75-110%, for
    # about 250 KiB per busy till (kernel buffers, not ours).
    till_rcvbuf: int = 128 * 1024
    linger: float = 1.0  # printer silence after the till's end before the printer side closes
    # The longest a till waits for the printer to take what it owes (paper out, a printer that
    # stopped reading) before it gets a reset: a direct connection would wait as long as the
    # till itself does.
    drain_timeout: float = 300.0
    drain_poll: float = 0.005  # first interval of the "has the printer taken it all" checks
    close_grace: float = 0.5  # beyond max_hold, the most we wait for holds after the till's end
    backoff_initial: float = 0.5  # reconnect delays for a long-lived (serial) till's printer
    backoff_max: float = 30.0


# Bytes written to a printer after a receipt beyond which that receipt must have been taken:
# more than Twisted's buffer and the kernel's largest send queue (tcp_wmem's maximum, 4 MiB by
# default) can hold between them.
TAKEN_BEYOND = 16 * 1024 * 1024

Abandoned = Callable[[bytes, str], None]  # a receipt's raw bytes, and why it earns nothing
# A receipt handed to the handler (and perhaps awarded) that then did not reach the printer
# whole, and why: its award is to be taken back. Called once its handling has finished.
NotPrinted = Callable[[HandleReceipt, str], object]


class TillLink(Factory):
    """Pairs each till connection with a printer connection through its own ``Session``, one
    at a time per till, in the order the connections came.

    Use it as the factory of a TCP listener (``serve_tcp``), or give it to a serial port
    (``serve_serial``).
    """

    def __init__(
        self,
        session_config: SessionConfig,
        handler: Handler,
        printer_connector: PrinterConnector,
        reactor: IReactorTime,
        options: LinkOptions | None = None,
        inbox: Inbox | None = None,
        on_abandoned: Abandoned | None = None,
        on_not_printed: NotPrinted | None = None,
    ) -> None:
        self.session_config = session_config
        self.handler = handler
        self.printer_connector = printer_connector
        self.reactor = reactor
        self.options = options if options is not None else LinkOptions()
        self.inbox = inbox
        self.on_abandoned = on_abandoned
        self.on_not_printed = on_not_printed
        # Called (no arguments) when a printer connection for this till could not be made.
        self.on_printer_down: Callable[[], None] | None = None
        self.pairings: set[Pairing] = set()
        self._serving: Pairing | None = None  # the one pairing the printer is serving
        self._waiting: deque[Pairing] = deque()  # till connections in the order they came
        self._closing = False
        self.probing = 0  # checks of the printer under way (TcpTillSide)
        # For the daemon's stats: connections (or serial opens) served, and receipt ends the
        # sessions let go with no message, in all and by reason (``Session.no_message``).
        self.connections = 0
        self.released_unanswered = 0
        self.no_message: Counter[str] = Counter()

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
        """Daemon shutdown: end every pairing as if its till had closed; those still waiting
        for their turn are reset (nothing of theirs was read)."""
        self._closing = True
        for pairing in list(self.pairings):
            pairing.shutdown()

    # --- one printer stream per till ----------------------------------------------------

    def _queue(self, pairing: Pairing) -> None:
        """``pairing``'s till has connected: serve it now or after those before it."""
        self._waiting.append(pairing)
        self._next()

    def _done(self, pairing: Pairing) -> None:
        self.pairings.discard(pairing)
        if pairing in self._waiting:
            self._waiting.remove(pairing)
        if self._serving is pairing:
            self._serving = None
        self._next()

    def _next(self) -> None:
        while self._serving is None and self._waiting and not self._closing:
            pairing = self._waiting.popleft()
            if pairing.finished:
                continue
            self._serving = pairing
            pairing.start()

    def _printer_down(self) -> None:
        """Tills waiting behind a printer that cannot be reached would each try it in turn:
        they get what a printer that is off gives, a refusal, at once."""
        while self._waiting:
            self._waiting.popleft().refuse()
        if self.on_printer_down is not None:
            self.on_printer_down()


@implementer(IHalfCloseableProtocol)
class TillProtocol(TwistedProtocol):
    def __init__(self, pairing: Pairing) -> None:
        self.pairing = pairing

    def connectionMade(self) -> None:
        self.pairing.till_connected(self.transport)

    def dataReceived(self, data: bytes) -> None:
        self.pairing.till_data(data)

    def readConnectionLost(self) -> None:
        self.pairing.till_ended("half-closed", clean=True)

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
        self.finished = False
        self._printer_protocol: PrinterProtocol | None = None
        self._connecting: defer.Deferred[Any] | None = None
        self._started = False  # its turn with the printer has come
        self._pending = bytearray()  # for a printer being reconnected (serial till only)
        self._printer_full = False  # the printer transport's write buffer is over its bound
        self._till_paused = False
        self._till_reading = False  # the till's stream has not ended
        self._till_writable = False
        self._released = False  # till_closed has been called
        self._reset_armed = False  # the till's socket resets if we die (SO_LINGER 0)
        self._timer: IDelayedCall | None = None
        self._release_cap: IDelayedCall | None = None
        self._drain_call: IDelayedCall | None = None
        self._drain_started = 0.0
        self._drain_seen = 0
        self._drained = False  # after the release: the printer has taken every byte
        self._idle_check: IDelayedCall | None = None
        self._retry: IDelayedCall | None = None
        self._backoff = self.options.backoff_initial
        self._retried = False  # a failed printer connection tried once more (a check held it)
        self._inbox: InboxStream | None = None
        self._unhandled = 0  # receipts handed to the handler and not yet answered
        self._keep_inbox = False  # a receipt of the stream is left for the next start
        # Receipts handed over since the printer was last seen to have taken every byte: if it
        # drops now, these may not have printed (their handling, to wait for, alongside).
        # (With the printer-stream position when each was handed over: bytes written since
        # beyond what any buffer can still hold mean it was taken, which bounds the list.)
        self._unconfirmed: deque[tuple[HandleReceipt, defer.Deferred[Any], int]] = deque()
        self._written = 0  # bytes written to the printer side

    # --- the till side ------------------------------------------------------------------

    def till_connected(self, transport: ITransport) -> None:
        self.till = transport
        self._till_reading = self._till_writable = True
        set_tcp_options(transport, self.options.till_rcvbuf)
        # Armed from the start: whatever it sends is owed the moment it arrives.
        self._arm_reset()
        self.log.info("%s: till connected (%s)", self.name, _peer(transport))
        self._update_reading()  # paused until its turn with the printer, and the printer is up
        self.link._queue(self)

    def start(self) -> None:
        """Its turn with the printer: connect it."""
        if self.finished:
            return
        self._started = True
        self.till_last_data = self._now()  # quiet from now on, not since it connected
        if self.link.inbox is not None:
            self._inbox = self.link.inbox.open(self.name)
        self._connect_printer()

    def refuse(self) -> None:
        """The printer is down and this till connection never reached it: reset it, as the
        refusal of a printer that is off would be seen by a till already connected."""
        self.log.warning("%s: printer down: till connection reset before it was read", self.name)
        self._finish(abort_till=True)

    def reapply_pause(self) -> None:
        """For transports that start reading after ``connectionMade`` (``SerialPort``)."""
        if self._till_paused and self.till is not None:
            self.till.pauseProducing()

    def till_data(self, data: bytes) -> None:
        if not self._till_reading:
            return
        self.till_bytes += len(data)
        self.till_last_data = now = self._now()
        if self._inbox is not None:
            self._inbox.write(data)  # on disk before it goes on: see bridge.inbox
        self._arm_reset()
        self._apply(self.session.from_till(data, now))

    @property
    def started(self) -> bool:
        """Its turn with the printer has come (it is not waiting behind another)."""
        return self._started

    @property
    def till_reading(self) -> bool:
        """The till's stream has not ended (it may still send)."""
        return self._till_reading

    def till_ended(self, how: str, clean: bool = False) -> None:
        """The till will send nothing more; it may still read the printer's replies.
        ``clean``: it closed its stream (EOF), which ends a receipt with no cut."""
        if not self._till_reading:
            return
        self._till_reading = False
        if self.finished:
            return  # we ended it (a reset): nothing is owed any more
        self.log.info("%s: till %s after %d bytes", self.name, how, self.till_bytes)
        if self.printer is None:
            if not self._started:
                self._finish(abort_till=True)  # never read: it did not reach the printer
            elif self.till_bytes == 0:
                self._finish()  # nothing was owed
            else:
                self._abandon("the till's stream ended while its printer was away")
                self._finish(abort_till=True)
            return
        cap = self.session.config.max_hold + self.options.close_grace
        self._release_cap = self.reactor.callLater(cap, self._release)
        if clean:  # the receipt in progress ends here without a cut, held for its message
            self._apply(self.session.till_finished(self._now()))
        self._maybe_release()

    def till_unwritable(self) -> None:
        self._till_writable = False

    def till_lost(self, reason: Failure | None) -> None:
        self._till_writable = False
        self.till = None
        if self._till_reading:
            self.till_ended(
                "closed", clean=reason is None or bool(reason.check(error.ConnectionDone))
            )
        elif self._released and (self._drained or self.printer is None):
            self._finish()  # nobody is left to read the printer's last replies

    def _arm_reset(self) -> None:
        """Bytes are owed from now on: if we die, the till must see a failure."""
        if not self._reset_armed and self.till is not None:
            self._reset_armed = True
            reset_on_close(self.till, True)

    def _owes_nothing(self) -> bool:
        return (
            self.session.backlog == 0
            and not self.session.holding
            and not self._pending
            and (self.printer is None or unsent_bytes(self.printer) == 0)
        )

    def _watch_idle(self) -> None:
        """While the till is quiet, check whether the printer has taken everything: then a
        crash would lose nothing of this till's, and the reset is disarmed again."""
        if self._idle_check is not None or not self._reset_armed or self.finished:
            return
        self._idle_check = self.reactor.callLater(self.options.drain_poll, self._idle_tick, 1)

    def _idle_tick(self, round_: int) -> None:
        self._idle_check = None
        if self.finished or not self._reset_armed or self.till is None:
            return
        if self._owes_nothing():
            self._unconfirmed.clear()  # the printer has taken every receipt handed over
            self._reset_armed = False
            reset_on_close(self.till, False)
            return
        delay = min(self.options.drain_poll * (2**round_), 0.5)
        self._idle_check = self.reactor.callLater(delay, self._idle_tick, round_ + 1)

    # --- the printer side ---------------------------------------------------------------

    def _connect_printer(self) -> None:
        if self.finished or self.printer is not None or self._connecting is not None:
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
        if self.finished:
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
        if self.link.probing and not self._retried:
            # Our own check of the printer may hold its one connection: once more, shortly.
            self._retried = True
            self._retry = self.reactor.callLater(0.05, self._do_retry)
            return
        self.log.warning(
            "%s: printer %s unreachable (%s): resetting the till's connection",
            self.name,
            self.link.printer_connector.description,
            failure.getErrorMessage(),
        )
        # First the connections waiting behind this one, so none of them tries the printer.
        self.link._printer_down()
        if self.till_bytes:
            self._abandon("the printer could not be reached")
        self._finish(abort_till=True)

    def _schedule_retry(self) -> None:
        delay = self._backoff
        self._backoff = min(self._backoff * 2, self.options.backoff_max)
        self._retry = self.reactor.callLater(delay, self._do_retry)

    def _do_retry(self) -> None:
        self._retry = None
        self._connect_printer()

    def printer_connected(self, transport: ITransport) -> None:
        if self.finished:
            transport.loseConnection()
            return
        self.printer = transport
        set_tcp_options(transport)
        self.log.info(
            "%s: printer %s connected", self.name, self.link.printer_connector.description
        )
        # The printer's buffer fills → stop reading the till; the till's fills → stop reading
        # the printer (status replies are tiny, but a stuck till must not grow our memory).
        transport.registerProducer(Valve(self._printer_paused, self._printer_resumed), True)
        if self.till is not None and self._till_writable:
            printer = transport
            self.till.registerProducer(Valve(printer.pauseProducing, printer.resumeProducing), True)
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
        # It closed normally after our FIN, with nothing left in our buffer: it read through
        # everything (a printer that closes with bytes unread resets instead).
        clean = reason is None or reason.check(error.ConnectionDone) is not None
        took_all = self._released and clean and write_buffer_size(self.printer) == 0
        owed = not (self._drained or took_all)
        self.printer = None
        self._printer_protocol = None
        self._printer_full = False
        if self.till is not None and self._till_writable:
            self.till.unregisterProducer()
        if self.finished:
            return
        if not owed:
            self._finish()  # it took everything, answered, and closed: a normal end
            return
        how = reason.getErrorMessage() if reason is not None else "closed"
        if self.persistent and self._till_reading:
            self.log.warning(
                "%s: printer %s dropped (%s): till paused, reconnecting",
                self.name,
                self.link.printer_connector.description,
                how,
            )
            self._not_printed(f"the printer dropped the connection ({how})")
            self._update_reading()
            self._schedule_retry()
            return
        # What the till would see if the printer it was sending to reset: a reset. And the
        # receipt under way did not reach the printer whole, so it earns nothing.
        self.log.warning(
            "%s: printer %s dropped (%s) with bytes owed: resetting the till's connection",
            self.name,
            self.link.printer_connector.description,
            how,
        )
        why = f"the printer dropped the connection before it took the receipt ({how})"
        self._not_printed(why)
        self._abandon(why)
        self._finish(abort_till=True)

    def _printer_paused(self) -> None:
        self._printer_full = True
        self._update_reading()

    def _printer_resumed(self) -> None:
        self._printer_full = False
        self._update_reading()

    def _not_printed(self, why: str) -> None:
        """The printer went away with bytes owed: the receipts handed over since it last had
        taken everything may not have printed, so their awards are taken back (the till got a
        reset and reprints them; a reprint earns again)."""
        unconfirmed, self._unconfirmed = self._unconfirmed, deque()
        report = self.link.on_not_printed
        if report is None:
            return
        for request, handled, _ in unconfirmed:

            def void(_: object, request: HandleReceipt = request) -> None:
                try:
                    report(request, why)
                except Exception:
                    self.log.exception(
                        "%s: could not take back receipt %d's award", self.name, request.receipt_id
                    )

            handled.addBoth(void)

    def _abandon(self, why: str) -> None:
        """The receipt under way will not print whole: keep it, never award it."""
        raw = self.session.unfinished_receipt
        if raw and self.link.on_abandoned is not None:
            try:
                self.link.on_abandoned(raw, why)
            except Exception:
                self.log.exception("%s: could not keep an abandoned receipt", self.name)

    # --- the session --------------------------------------------------------------------

    def _now(self) -> float:
        return self.reactor.seconds()

    def _apply(self, out: Output) -> None:
        if out.to_printer:
            if self.printer is not None:
                self.printer.write(out.to_printer)
                self._written += len(out.to_printer)
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
        self._watch_idle()

    def _dispatch(self, request: HandleReceipt) -> None:
        receipt_id = request.receipt_id
        self._unhandled += 1
        result = defer.maybeDeferred(self.link.handler, request)

        def failed(failure: Failure) -> None:
            if failure.check(LeftInInbox):
                self._keep_inbox = True
                self.log.info(
                    "%s: %s: left in the inbox for the next start",
                    self.name,
                    failure.getErrorMessage(),
                )
                return None
            self.log.error(
                "%s: handler failed on receipt %d: %s (printed with no message)",
                self.name,
                receipt_id,
                failure.getTraceback(),
            )
            return None

        result.addErrback(failed)
        result.addBoth(self._receipt_done)
        unconfirmed = self._unconfirmed
        unconfirmed.append((request, result, self._written))
        while self._written - unconfirmed[0][2] > TAKEN_BEYOND:
            unconfirmed.popleft()
        if request.held:
            result.addCallback(lambda message: self._handled(receipt_id, message))
        result.addErrback(lambda f: self.log.error("%s: %s", self.name, f.getTraceback()))

    def _receipt_done(self, message: bytes | None) -> bytes | None:
        """One receipt handled (awarded, journaled or kept): its bytes may leave the inbox
        once no other receipt of the stream waits."""
        self._unhandled -= 1
        self._tidy_inbox()
        return message

    def _tidy_inbox(self) -> None:
        stream = self._inbox
        if stream is None or self._unhandled:
            return
        if self.finished:
            self._inbox = None
            if self._keep_inbox:
                stream.close()
            else:
                stream.remove()
        elif stream.size > ROTATE_BYTES and self.session.between_receipts:
            # A long-lived stream: a new file from here, which starts in the current state.
            self._inbox = self.link.inbox.open(self.name, self.session.printer_state)
            stream.remove()

    def _handled(self, receipt_id: int, message: bytes | None) -> None:
        if self._released or self.finished:
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
        if self._released or self.finished:
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
        if self._till_reading or self._released or self.finished:
            return
        if self.session.holding or self.printer is None:
            return  # the timer, the handler or the release cap comes back here
        self._release()

    def _release(self) -> None:
        """Everything owed goes to the printer; then wait until it has taken it all."""
        if self._released or self.finished:
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
        self._drain_call = self.reactor.callLater(0, self._drain_check, 0)

    def _drain_check(self, round_: int) -> None:
        """Until the printer has taken every byte, poll (it may stop reading: paper out);
        then relay its last replies until it closes or stays quiet for ``linger``."""
        self._drain_call = None
        if self.finished:
            return
        now = self._now()
        if not self._drained:
            if self.printer is not None and unsent_bytes(self.printer) > 0:
                if now - self._drain_started >= self.options.drain_timeout:
                    self.log.warning(
                        "%s: the printer took nothing for %.0f s: resetting the till",
                        self.name,
                        self.options.drain_timeout,
                    )
                    self._not_printed("the printer stopped taking bytes")
                    self._finish(abort_till=True)
                    return
                delay = min(self.options.drain_poll * (2**round_), 0.25)
                self._drain_call = self.reactor.callLater(delay, self._drain_check, round_ + 1)
                return
            self._drained = True
            self._unconfirmed.clear()
            if self.till is None:
                self._finish()  # the till has gone: nobody to relay replies to
                return
            self._drain_seen = self.printer_bytes
            self._drain_call = self.reactor.callLater(self.options.linger, self._drain_check, 0)
            return
        if self.printer_bytes == self._drain_seen:
            self._finish()
            return
        self._drain_seen = self.printer_bytes
        self._drain_call = self.reactor.callLater(self.options.linger, self._drain_check, 0)

    def shutdown(self) -> None:
        if self._till_reading:
            self.till_ended("shut down")
        self._release()
        # Bytes the printer has not taken yet make this a failure the till must see, and
        # the receipts among them do not print whole (the connection is dropped).
        owed = self.printer is not None and unsent_bytes(self.printer) > 0
        if owed:
            self._not_printed("the daemon stopped before the printer took the receipt")
        self._finish(abort_till=owed)

    def _finish(self, abort_till: bool = False) -> None:
        if self.finished:
            return
        self.finished = True
        for call in (
            self._timer,
            self._release_cap,
            self._drain_call,
            self._retry,
            self._idle_check,
        ):
            _cancel(call)
        if self._connecting is not None:
            self._connecting.cancel()
        if self.printer is not None:
            if abort_till and hasattr(self.printer, "abortConnection"):
                self.printer.abortConnection()
            else:
                self.printer.loseConnection()
        if self.till is not None:
            if abort_till and hasattr(self.till, "abortConnection"):
                self.till.abortConnection()  # Twisted sets SO_LINGER 0: a reset
            else:
                reset_on_close(self.till, False)  # every byte reached the printer
                self.till.loseConnection()
        self.link._done(self)
        self.link.released_unanswered += self.session.released_unanswered
        self.link.no_message.update(self.session.no_message)
        self._tidy_inbox()
        self.log.info(
            "%s: link closed (%d bytes from the till, %d from the printer)%s",
            self.name,
            self.till_bytes,
            self.printer_bytes,
            " with a reset" if abort_till else "",
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


# --- the till sides ---------------------------------------------------------------------


class TcpTillSide:
    """A TCP till's listener that behaves like the printer's own port: while the printer
    cannot be reached it refuses connections (the listener is closed), tries the printer with
    backoff, and listens again once the printer answers.

    A printer is known to be down when a connection to it fails: a till's, or a check of ours
    (connect, then close at once) made at the start and every ``printer_check`` seconds while
    no till is connected, so that a till connecting to a printer that was switched off in
    between is refused, as it would be by the printer, rather than accepted and then reset (a
    till that sends and closes without reading would take that for "printed"). A check is a
    connection of a millisecond or so; a till's printer connection that fails while one is
    under way is tried once more (a printer that takes one connection at a time)."""

    def __init__(
        self,
        link: TillLink,
        host: str,
        port: int,
        reactor: Any,
        backlog: int = 50,
        factory: IProtocolFactory | None = None,
        printer_check: float | None = None,
    ) -> None:
        self.link = link
        self.factory = factory if factory is not None else link  # e.g. drivers.access's
        self.host = host
        self.reactor = reactor
        self.backlog = backlog
        self.printer_check = printer_check  # None: only a till's failed connection tells
        self.listening: IListeningPort | None = None
        self._probe: IDelayedCall | None = None
        self._backoff = link.options.backoff_initial
        self._stopped = False
        self.listening = self._listen(port)  # fails here if the port is taken
        self.port = self.listening.getHost().port  # the real one, when 0 was asked
        link.on_printer_down = self._printer_down
        if printer_check is not None:
            self._probe = self.reactor.callLater(0, self._check)

    def _listen(self, port: int) -> IListeningPort:
        return listen_tcp(
            self.factory, self.host, port, self.reactor, self.backlog, self.link.options.till_rcvbuf
        )

    def getHost(self) -> Any:
        return self.listening.getHost() if self.listening is not None else None

    @property
    def refusing(self) -> bool:
        """The printer is down: connections are refused until it answers again."""
        return self.listening is None and not self._stopped

    @property
    def connected(self) -> bool:
        """Accepting tills now."""
        return self.listening is not None and bool(getattr(self.listening, "connected", True))

    def _printer_down(self) -> None:
        if self._stopped or self.listening is None:
            return
        log.warning(
            "%s: printer %s down: refusing tills on %s:%d until it answers",
            self.link.session_config.till,
            self.link.printer_connector.description,
            self.host,
            self.port,
            extra={"till": self.link.session_config.till},
        )
        listening, self.listening = self.listening, None
        listening.stopListening()
        _cancel(self._probe)
        self._backoff = self.link.options.backoff_initial
        self._schedule_probe()

    def _schedule_probe(self) -> None:
        delay = self._backoff
        self._backoff = min(self._backoff * 2, self.link.options.backoff_max)
        self._probe = self.reactor.callLater(delay, self._try_printer)

    def _connect_probe(self) -> tuple[TwistedProtocol, defer.Deferred[Any]]:
        probe = TwistedProtocol()
        self.link.probing += 1
        try:
            connecting = self.link.printer_connector.connect(probe)
        except Exception:
            connecting = defer.fail()

        def done(result: object) -> object:
            self.link.probing -= 1
            if probe.transport is not None:
                probe.transport.loseConnection()
            return result

        connecting.addBoth(done)
        return probe, connecting

    def _check(self) -> None:
        """While accepting: is the printer still there? (Only while no till is connected:
        a till's own printer connection tells otherwise.)"""
        self._probe = None
        if self._stopped or self.listening is None or self.printer_check is None:
            return
        if self.link.pairings:
            self._probe = self.reactor.callLater(self.printer_check, self._check)
            return
        _, connecting = self._connect_probe()

        def answered(_: object) -> None:
            if not self._stopped and self.listening is not None and self.printer_check:
                self._probe = self.reactor.callLater(self.printer_check, self._check)

        def failed(failure: Failure) -> None:
            if self.link.pairings:  # a till got through meanwhile: its connection decides
                answered(None)
                return
            self._printer_down()

        connecting.addCallbacks(answered, failed)

    def _try_printer(self) -> None:
        self._probe = None
        if self._stopped:
            return
        _, connecting = self._connect_probe()
        connecting.addCallbacks(lambda _: self._printer_up(), lambda _: self._schedule_probe())

    def _printer_up(self) -> None:
        if self._stopped:
            return
        try:
            self.listening = self._listen(self.port)
        except Exception as exc:
            log.error("till side %s:%d cannot listen again: %s", self.host, self.port, exc)
            self._schedule_probe()
            return
        log.warning(
            "%s: printer %s answers again: accepting tills on %s:%d",
            self.link.session_config.till,
            self.link.printer_connector.description,
            self.host,
            self.port,
            extra={"till": self.link.session_config.till},
        )
        if self.printer_check is not None:
            self._probe = self.reactor.callLater(self.printer_check, self._check)

    def stopListening(self) -> defer.Deferred[None]:
        self._stopped = True
        _cancel(self._probe)
        listening, self.listening = self.listening, None
        if listening is None:
            return defer.succeed(None)
        return defer.maybeDeferred(listening.stopListening)


def serve_tcp(
    link: TillLink,
    host: str,
    port: int,
    reactor: Any,
    backlog: int = 50,
    factory: IProtocolFactory | None = None,
    printer_check: float | None = None,
) -> TcpTillSide:
    """Serve tills connecting to ``host:port`` (``port`` 0: any free port). ``factory``: what
    accepts the connections, when something stands before the link (``drivers.access``);
    ``printer_check``: see ``TcpTillSide``."""
    return TcpTillSide(link, host, port, reactor, backlog, factory, printer_check)


def serve_serial(link: TillLink, device: str, reactor: Any, **settings: Any) -> SerialPort:
    """Serve the till wired to ``device``: one long-lived connection, whose printer side is
    reconnected with backoff when it drops (the till is not read meanwhile)."""
    protocol = link.till_protocol(persistent=True)
    port = open_serial(protocol, device, reactor, **settings)
    _serial_started(protocol)
    return port


def serve_serial_from_config(link: TillLink, config: Any, reactor: Any) -> SerialPort:
    protocol = link.till_protocol(persistent=True)
    port = open_serial_from_config(protocol, config, reactor)
    _serial_started(protocol)
    return port


def _serial_started(protocol: TillProtocol) -> None:
    # SerialPort starts reading after connectionMade, undoing the pause that keeps the till
    # waiting until its printer is up.
    protocol.pairing.reapply_pause()
