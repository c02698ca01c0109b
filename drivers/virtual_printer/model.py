"""The virtual printer without I/O: bytes in, status replies and printed receipts out.

A real ESC/POS printer handles what it receives in two places, and so does this model:

- At reception, real-time requests (``DLE EOT n``) are answered at once, whatever came before
  them and even inside another command's data: Epson printers match the three bytes
  ``10 04 n`` as they arrive, so an image whose bytes spell them gets a reply too.
- The rest waits in the receive buffer (``queued``) until the print engine reaches it
  (``print_pending``). Only then are ``GS r``, ``GS I`` and ``GS a`` answered, so their reply
  says that everything before them has been printed; and a cut ends a receipt.

An offline printer (paper out, cover open) stops printing but still answers real time. The
caller decides how fast the engine runs: ``feed`` prints everything at once, the Twisted shell
calls ``print_pending`` at the configured speed.

The model is one printer, not one connection: it keeps no record of who sent which bytes.
When several senders share it (the shell's shared mode), the caller feeds their bytes in
arrival order and routes the replies (``drivers.virtual_printer.engine``). A job that ends
without a cut is ended with ``end_job``, which keeps the printer's state for the next one;
``close`` is the end of the printer itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from drivers.virtual_printer.status import (
    Conditions,
    Identity,
    asb_changed,
    asb_status,
    change,
    printer_id,
    real_time_status,
    transmit_status,
)
from parsers.document import Document, DocumentBuilder
from parsers.escpos.events import Event, StatusRequest
from parsers.escpos.tokenizer import Tokenizer

DLE, EOT = 0x10, 0x04


class PrintedReceipt(NamedTuple):
    """One receipt: the bytes received for it, as they came, and what they printed.

    ``raw`` runs from the end of the previous receipt to its cut, so it includes whatever the
    till sent between receipts (status requests, a drawer kick after the previous cut); a cut
    that printed nothing does not end a receipt, its bytes go with the next one.
    """

    raw: bytes
    document: Document


@dataclass(slots=True)
class Output:
    """What the printer sends back and what it printed, in order."""

    replies: list[bytes] = field(default_factory=list)
    receipts: list[PrintedReceipt] = field(default_factory=list)

    def extend(self, other: Output) -> None:
        self.replies.extend(other.replies)
        self.receipts.extend(other.receipts)


class PrinterModel:
    """One printer: reception, receive buffer, printer state and print engine.

    ``conditions`` may be shared between models (the shell's per-connection mode: one
    physical printer with a model per connection); after changing it, call
    ``conditions_changed`` on each model.
    """

    def __init__(
        self,
        conditions: Conditions | None = None,
        identity: Identity | None = None,
        *,
        reset_ends_document: bool = False,
    ) -> None:
        self.conditions = conditions if conditions is not None else Conditions()
        self.identity = identity if identity is not None else Identity()
        self._queue = bytearray()
        self._scan = 0  # real-time matcher: 0 idle, 1 after DLE, 2 after DLE EOT
        self._tokenizer = Tokenizer()
        self._builder = DocumentBuilder(reset_ends_document=reset_ends_document)
        self._raw = bytearray()  # printed bytes of the receipt in progress
        self._asb = 0  # the GS a selection in force; 0 = ASB off
        self._asb_last = asb_status(self.conditions)
        self.closed = False

    @property
    def queued(self) -> int:
        """Bytes received and not yet printed."""
        return len(self._queue)

    @property
    def ready(self) -> bool:
        return not self.conditions.is_offline

    @property
    def asb(self) -> int:
        """The ``GS a n`` in force (0: automatic status back off)."""
        return self._asb

    # -- reception ---------------------------------------------------------------------------

    def receive(self, data: bytes) -> list[bytes]:
        """Take ``data`` into the receive buffer; return the real-time replies it asks for."""
        self._queue += data
        return self._real_time(data)

    def _real_time(self, data: bytes) -> list[bytes]:
        replies: list[bytes] = []
        state, i, n = self._scan, 0, len(data)
        while i < n:
            if state == 0:
                i = data.find(DLE, i)
                if i < 0:
                    break
                state, i = 1, i + 1
                continue
            byte = data[i]
            i += 1
            if state == 1:
                state = 2 if byte == EOT else 1 if byte == DLE else 0
            else:
                reply = real_time_status(byte, self.conditions)
                if reply is not None:
                    replies.append(reply)
                state = 0
        self._scan = state
        return replies

    # -- printing ----------------------------------------------------------------------------

    def print_pending(self, max_bytes: int | None = None) -> Output:
        """Print up to ``max_bytes`` of the receive buffer (all of it: ``None``), if online."""
        out = Output()
        if not self.ready or not self._queue:
            return out
        count = len(self._queue) if max_bytes is None else min(max_bytes, len(self._queue))
        if count <= 0:
            return out
        chunk = bytes(self._queue[:count])
        del self._queue[:count]
        for event in self._tokenizer.feed(chunk):
            self._event(event, out)
        return out

    def feed(self, data: bytes) -> Output:
        """Receive ``data`` and print all that can be printed (an infinitely fast printer)."""
        out = Output(replies=self.receive(data))
        out.extend(self.print_pending())
        return out

    def end_job(self) -> Output:
        """The senders are gone and what they sent is printed: end the receipt in progress.

        A receipt that did not end in a cut is kept if it printed anything; bytes after the
        last receipt that printed nothing (a status request after the cut) belong to no
        receipt. Unlike ``close``, the printer goes on as a printer does between jobs: its
        state (code page, styles, ASB) stays, and so does an unfinished command, which the
        next bytes complete, and so does what is still queued (an offline printer).
        """
        out = Output()
        for document in self._builder.end_job():
            out.receipts.append(PrintedReceipt(bytes(self._raw), document))
        self._raw.clear()
        return out

    def close(self) -> Output:
        """End of the stream: print the rest, online or not, and end the receipt in progress.

        A receipt that did not end in a cut is kept if it printed anything.
        """
        out = Output()
        if self.closed:
            return out
        chunk = bytes(self._queue)
        self._queue.clear()
        for event in [*self._tokenizer.feed(chunk), *self._tokenizer.close()]:
            self._event(event, out)
        for document in self._builder.close():
            out.receipts.append(PrintedReceipt(bytes(self._raw), document))
            self._raw.clear()
        self.closed = True
        return out

    def _event(self, event: Event, out: Output) -> None:
        self._raw += event.raw
        if isinstance(event, StatusRequest):
            reply = self._in_order_status(event)
            if reply is not None:
                out.replies.append(reply)
        for document in self._builder.feed((event,)):
            out.receipts.append(PrintedReceipt(bytes(self._raw), document))
            self._raw.clear()

    def _in_order_status(self, request: StatusRequest) -> bytes | None:
        n = request.args[0] if request.args else 0
        match request.name:
            case "GS r":
                return transmit_status(n, self.conditions)
            case "ESC v":  # older models' paper sensor status: GS r 1's answer
                return transmit_status(1, self.conditions)
            case "ESC u":  # older models' peripheral status: GS r 2's answer
                return transmit_status(2, self.conditions)
            case "GS I":
                return printer_id(n, self.identity)
            case "GS a":
                self._asb = n
                self._asb_last = asb_status(self.conditions)
                return self._asb_last if n else None
        # DLE EOT was answered at reception; DLE ENQ asks for no reply; DLE DC4 7 and
        # GS j (ink ASB) are not modelled.
        return None

    # -- conditions --------------------------------------------------------------------------

    def conditions_changed(self) -> list[bytes]:
        """After a change to ``conditions``: the ASB report it triggers, if any.

        Printing held while offline resumes with the next ``print_pending``.
        """
        status = asb_status(self.conditions)
        changed = self._asb and asb_changed(self._asb, self._asb_last, status)
        self._asb_last = status
        return [status] if changed else []

    def set_conditions(self, **changes: bool) -> list[bytes]:
        """Change conditions by name (``paper_out=True``); return the ASB report, if any."""
        change(self.conditions, **changes)
        return self.conditions_changed()
