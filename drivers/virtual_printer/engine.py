"""The print engine on the wire: one ``PrinterModel`` fed by one or more connections.

A network printer has one receive buffer, one printer state and one paper, whatever number
of connections feed it: their bytes land in the buffer in arrival order and print in that
order, interleaved if they came interleaved. ``PrintEngine`` keeps, beside the model's buffer,
who sent each run of it (a FIFO of segments: connection, byte count), so that

- a real-time reply (``DLE EOT``) goes at once to the connection whose bytes completed the
  request (the model matches it on the one byte stream, as the printer does);
- an in-order reply (``GS r``, ``GS I``, ``GS a``) goes to the connection whose bytes held
  the request, once the engine reaches it: segments print one at a time, and a slow engine
  (``bytes_per_second``) splits them;
- automatic status back goes to the connection that turned it on (its ``GS a``);
- when the buffer is full, no connection is read until it is below half;
- a connection whose sender is done is closed once every byte *it* sent has printed (a
  network printer closes its side after printing), and when no connection is left and the
  buffer is empty the job ends (``PrinterModel.end_job``): a receipt that did not end in a cut
  is recorded then.

The factory's shared mode has one engine for all connections; its per-connection mode gives
each connection an engine of its own (and a model, which it closes with the connection).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from drivers.virtual_printer.model import Output, PrintedReceipt, PrinterModel

if TYPE_CHECKING:
    from collections.abc import Iterable

TICK = 0.02  # seconds between two steps of a slow print engine


class Sender(Protocol):
    """What the engine needs of a connection (``VirtualPrinterProtocol``)."""

    @property
    def sender_done(self) -> bool: ...

    def reply(self, data: bytes) -> None: ...

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def printed_all(self) -> None: ...


class Host(Protocol):
    """What the engine needs of the printer it belongs to (``VirtualPrinterFactory``)."""

    reactor: Any
    bytes_per_second: float | None
    receive_buffer: int

    def record(self, receipt: PrintedReceipt) -> None: ...


@dataclass(slots=True)
class _Segment:
    sender: Sender
    count: int


class PrintEngine:
    """One printer's receive buffer and print engine, fed by the connections ``attach``\\ ed.

    ``closes_model``: when the last connection has gone and all is printed, close the model
    (a printer per connection) rather than end the job (a printer for all of them).
    """

    def __init__(self, model: PrinterModel, host: Host, *, closes_model: bool = False) -> None:
        self.model = model
        self.host = host
        self.closes_model = closes_model
        self.peak_queued = 0  # the most bytes ever waiting in the receive buffer
        self._senders: list[Sender] = []
        self._segments: deque[_Segment] = deque()
        self._owed: dict[Sender, int] = {}  # per sender, its bytes not yet printed
        self._asb_to: Sender | None = None
        self._job_open = False  # bytes came since the last end of a job
        self._paused = False
        self._pump: Any = None  # the delayed call of a slow engine's next step
        self._credit = 0.0  # bytes a slow engine may print now
        self._last = host.reactor.seconds()
        self._busy = False  # inside print_now
        self._again = False  # print_now was asked for again meanwhile

    @property
    def queued(self) -> int:
        return self.model.queued

    @property
    def senders(self) -> Iterable[Sender]:
        return tuple(self._senders)

    def owed(self, sender: Sender) -> int:
        """Bytes ``sender`` sent that are not printed yet."""
        return self._owed.get(sender, 0)

    # -- the connections' side ---------------------------------------------------------------

    def attach(self, sender: Sender) -> None:
        if not self._senders:
            self._last = self.host.reactor.seconds()
        self._senders.append(sender)
        self._owed[sender] = 0
        if self._paused:
            sender.pause_reading()  # the buffer is full for newcomers too

    def receive(self, sender: Sender, data: bytes) -> int:
        """Take ``sender``'s bytes; the bytes waiting with them, before any is printed."""
        if not data:
            return self.model.queued
        self._job_open = True
        for reply in self.model.receive(data):
            sender.reply(reply)
        if self._segments and self._segments[-1].sender is sender:
            self._segments[-1].count += len(data)
        else:
            self._segments.append(_Segment(sender, len(data)))
        self._owed[sender] = self._owed.get(sender, 0) + len(data)
        queued = self.model.queued
        self.peak_queued = max(self.peak_queued, queued)
        self.print_now()
        return queued

    # -- printing ------------------------------------------------------------------------------

    def print_now(self) -> None:
        """Print what the speed allows, schedule the next step, pause or resume reading."""
        # Receipts go to callbacks and waiters that may change the conditions or the speed,
        # which calls back here: run again after the current step rather than inside it.
        if self._busy:
            self._again = True
            return
        self._busy = self._again = True
        try:
            while self._again and not self.model.closed:
                self._again = False
                self._step()
        finally:
            self._busy = False

    def _step(self) -> None:
        self.stop()
        rate = self.host.bytes_per_second
        if rate is None:
            printed = self._print(self.model.queued)
        else:
            now = self.host.reactor.seconds()
            # An idle printer does not save up speed: at most one step's worth of credit.
            self._credit = min(self._credit + (now - self._last) * rate, max(1.0, rate * TICK))
            self._last = now
            printed = self._print(int(self._credit))
            self._credit -= printed
        if rate is not None and self.model.queued and self.model.ready:
            self._pump = self.host.reactor.callLater(TICK, self.print_now)
        self._flow()
        self._settle()

    def _print(self, budget: int) -> int:
        """Print up to ``budget`` bytes, a segment at a time; the bytes printed."""
        printed = 0
        while printed < budget and self._segments and self.model.ready:
            segment = self._segments[0]
            count = min(segment.count, budget - printed)
            asb = self.model.asb
            output = self.model.print_pending(count)
            if self.model.asb != asb:
                self._asb_to = segment.sender if self.model.asb else None
            segment.count -= count
            self._owed[segment.sender] -= count
            printed += count
            if not segment.count:
                self._segments.popleft()
            self._deliver(output, segment.sender)
        return printed

    def _flow(self) -> None:
        limit = self.host.receive_buffer
        if not self._paused and self.model.queued >= limit:
            self._paused = True
            for sender in self._senders:
                sender.pause_reading()
        elif self._paused and self.model.queued <= limit // 2:
            self._paused = False
            for sender in self._senders:
                sender.resume_reading()

    def _settle(self) -> None:
        done = [s for s in self._senders if s.sender_done and not self._owed.get(s)]
        for sender in done:
            self._senders.remove(sender)
            del self._owed[sender]
            if self._asb_to is sender:
                self._asb_to = None
        if not self._senders and not self.model.queued and (self._job_open or done):
            # Receipts first: when a sender sees the printer close, its receipt is on file.
            self._job_open = False
            self.stop()
            self._deliver(self.model.close() if self.closes_model else self.model.end_job(), None)
        for sender in done:
            sender.printed_all()

    def stop(self) -> None:
        """Stop the engine's clock (the end of a test): nothing more gets printed."""
        if self._pump is not None and self._pump.active():
            self._pump.cancel()
        self._pump = None

    # -- conditions ----------------------------------------------------------------------------

    def conditions_changed(self) -> None:
        for reply in self.model.conditions_changed():
            if self._asb_to is not None:
                self._asb_to.reply(reply)
        self.print_now()

    def _deliver(self, output: Output, sender: Sender | None) -> None:
        # Receipts first: when a till gets the reply to its GS r, the receipt is on file.
        for receipt in output.receipts:
            self.host.record(receipt)
        if sender is not None:
            for reply in output.replies:
                sender.reply(reply)
