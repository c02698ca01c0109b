"""The interceptor: one sans-I/O state machine per till (h11 style: no sockets, no clock).

The shell (TCP or serial driver) feeds it what happens and writes out what it returns:

- ``from_till(data, now)``: bytes from the till. Every byte goes on to the printer at once and
  in order, except the end of a receipt, which is held until the receipt has been handled.
- ``from_printer(data, now)``: bytes from the printer (status replies: DLE EOT, ASB, GS r).
  They go back to the till at once, unchanged, whatever the session is doing.
- ``handled(receipt_id, message, now)``: the handler's answer to a ``HandleReceipt`` request.
- ``timer(now)``: call it at or after the ``deadline`` of the last ``Output``.
- ``till_finished(now)``: the till closed its stream (EOF) while the printer is still there:
  the receipt in progress ends with no cut and is held for its message like a cut's.
- ``till_closed(now)``: end of the till's stream: everything held is released.

Each call returns an ``Output``: bytes for the printer, bytes for the till, requests, and the
earliest time the session wants ``timer()`` called (``None``: no timer). ``now`` is monotonic
seconds; only differences between the values matter.

**What is held, in inject mode.** A receipt ends at its cut (every mode), at the end of the
till's stream (``till_finished``, every mode), at the next ESC @ after printed content
(``EndOfReceipt.RESET``), or after ``idle_gap`` seconds without till bytes after printed
content (``EndOfReceipt.IDLE``, for printers without a cutter; status polls print nothing, so
they do not count as till bytes here). At each end the session sets a *hold point* right
before it, or before the feeds that led up to it (LF, CR, FF, ESC d, ESC J sent after the last
line was printed), so the message prints right after the receipt's last line and then come
the till's own feeds and cut: with no cutter those feeds carry the message past the tear bar.
(In idle mode the tail feeds after a printed receipt wait for the gap rather than
``feed_hold``, for that reason; at the stream's end they are still waiting if the close came
within ``feed_hold``, else the message follows them.) Bytes after the hold point wait, in
order, until ``handled()`` answers (the message bytes go first: they include the restore of
the till's printer state) or ``max_hold`` passes (the bytes go on with no message; a later
``handled()`` for that receipt is ignored, it can never print into a later receipt).

**No message possible.** Every receipt that ends with no message possible is counted in
``no_message`` by reason (and logged): past ``max_hold``, too much behind its hold, its end
gone on already, the stream ended while held or before it could be held, observe mode. The
handler still awards it, once: only the message is lost.

**Tentative bytes.** Feeds at the tail of the stream may be followed by a cut, so they wait:
they go on as soon as anything but a cut follows, or ``feed_hold`` seconds after they started
waiting. The tokenizer's pending bytes (an unfinished command, perhaps the start of a GS V, or
a text run the next chunk may continue) wait the same way, for the next chunk or ``feed_hold``.
Bytes that went on that way are never held afterwards: a cut whose first bytes had already
gone to the printer ends its receipt unheld (``HandleReceipt.held`` is False).

**Status requests overtake a hold.** A DLE EOT the till sends while a receipt's end is held
goes to the printer at once, ahead of the held bytes: a printer answers DLE EOT the moment it
receives it, whatever waits in its buffer, so the till gets its answer as it would with no
bridge in between. Nothing printed changes. (GS r is answered only after everything before it
is printed, so a held cut rightly delays that answer, within ``max_hold``.)

**Several receipts held at once.** When the till sends a second cut while the first is held,
the second receipt queues behind the first with its own hold point and its own ``max_hold``
bound (counted from its own cut): answers are applied in stream order, each message at its own
receipt's end; releasing the first hold lets the bytes run up to the second hold point.

**Bounds.** Bytes waiting behind hold points are bounded by ``max_held_bytes``: when a read
leaves more than that owed, the oldest hold set before that read is released with no message
(repeatedly, if need be), and tentative bytes are forced on. Holds set by the read itself are
kept: one read (at most the shell's receive size) may bring many receipts, and each still
gets its message; it is the till going on sending while they wait that cuts them short. So
``backlog`` stays within ``max_held_bytes`` plus the last read (and the unfinished command it
completed), and the shell keeps it near the bound by not reading the till while ``backlog``
is over its own limit (rule 3: backpressure, not buffering). ``backlog`` counts the bytes
still owed to the printer: status requests sent ahead of a hold are not. Each receipt's raw
capture is bounded by ``max_capture_bytes`` (``HandleReceipt.truncated``). The tokenizer's
own buffers are bounded by its design.

**Cost.** Each call costs time linear in the bytes and events it handles (and a logarithm of
the holds waiting), however the stream is chunked and however many receipts a read ends.

**Modes.** ``INJECT`` (default) as above. ``OBSERVE``: nothing is held or added; every receipt
is still read and requested with ``held=False``. ``PASSTHROUGH``: bytes straight through, not
even read.

**Failing open.** Any exception in the session's own reading logic is logged; the bytes
waiting are released at once with no message, the reader starts afresh and the receipt in
progress is not reported (it passes through byte-exact).
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter, deque
from dataclasses import dataclass, field
from enum import Enum

from parsers.document import Document, DocumentBuilder
from parsers.escpos.events import (
    Command,
    Control,
    Cut,
    Event,
    Payload,
    Reset,
    StatusRequest,
    Text,
)
from parsers.escpos.state import PrinterState
from parsers.escpos.tokenizer import Tokenizer, apply_effect, last_state_change

log = logging.getLogger(__name__)

_FEED_CONTROLS = frozenset(("LF", "CR", "FF"))
_FEED_COMMANDS = frozenset(("ESC d", "ESC J"))
# Feeds that print the line buffer first: after one of them no unfinished line is waiting.
_LINE_ENDS = frozenset(("LF", "FF", "ESC d", "ESC J"))


class Mode(Enum):
    INJECT = "inject"  # hold receipt ends, print the handler's message before them
    OBSERVE = "observe"  # read and report receipts, add nothing, hold nothing
    PASSTHROUGH = "passthrough"  # touch nothing


class EndOfReceipt(Enum):
    CUT = "cut"
    RESET = "reset"  # the next ESC @ after printed content (a cut still ends a receipt too)
    IDLE = "idle"  # an idle gap after printed content (a cut still ends a receipt too)


@dataclass(frozen=True, slots=True)
class SessionConfig:
    mode: Mode = Mode.INJECT
    end_of_receipt: EndOfReceipt = EndOfReceipt.CUT
    max_hold: float = 1.5  # seconds a receipt end may be held waiting for the handler
    idle_gap: float = 2.0  # seconds of till silence that end a receipt (EndOfReceipt.IDLE)
    feed_hold: float = 0.05  # seconds tentative bytes (tail feeds, pending) may wait
    max_capture_bytes: int = 1 << 20  # raw bytes kept per receipt for the journal
    max_held_bytes: int = 64 * 1024  # till bytes allowed to wait before holds are cut short
    till: str = "till"  # for log messages


@dataclass(slots=True)
class HandleReceipt:
    """A receipt has ended: read it, award, and answer with ``Session.handled`` if ``held``.

    ``raw`` is the receipt's bytes as the till sent them (for the journal), cut short at
    ``max_capture_bytes`` (then ``truncated``). ``state`` is the till's printer state at the
    receipt's end: the message must restore it. ``held``: the session waits for
    ``handled()`` and prints a message given in time; if False, the session prints nothing
    for this receipt (observe mode, a cut already on its way, the end of the stream).
    """

    receipt_id: int
    document: Document
    raw: bytes
    state: PrinterState
    held: bool
    truncated: bool = False


Request = HandleReceipt


@dataclass(slots=True)
class Output:
    to_printer: bytes = b""
    to_till: bytes = b""
    requests: list[Request] = field(default_factory=list)
    deadline: float | None = None  # call timer() at or after this time


@dataclass(slots=True)
class _Hold:
    """A point in the till's stream where bytes stop until the receipt is handled."""

    offset: int  # stream offset of the first byte held
    receipt_id: int
    deadline: float  # max_hold after the receipt's end
    read: int  # the till read that ended the receipt (see _bound)
    line_open: bool = False  # text waits in the line buffer: the message starts on a new line
    resolved: bool = False
    message: bytes | None = None


class Session:
    """The interceptor for one till. See the module docstring for what it does and why."""

    def __init__(self, config: SessionConfig | None = None) -> None:
        self.config = config if config is not None else SessionConfig()
        self._log = logging.LoggerAdapter(log, {"till": self.config.till})
        self._tokenizer = Tokenizer()
        self._builder = self._new_builder()
        # Till stream offsets: bytes received, sent on to the printer, covered by events.
        self._received = 0
        self._sent = 0
        self._tokenized = 0
        # The bytes still owed to the printer: the till's bytes from _sent to _received, less
        # the DLE EOT requests already sent ahead of a hold, whose stream ranges are in _ahead
        # (see _send_status_ahead). So len(_queue) is the backlog, and the memory it takes.
        self._queue = bytearray()
        self._ahead: deque[tuple[int, int]] = deque()
        self._ahead_bytes = 0
        self._status_seen: list[tuple[int, int]] = []  # DLE EOT requests read in this call
        self._holds: deque[_Hold] = deque()  # in stream order
        # Holds a handled() may still answer, by receipt; and the deadlines of those that have
        # one, as a heap (entries of holds resolved meanwhile are dropped when they surface).
        self._unanswered: dict[int, _Hold] = {}
        self._deadlines: list[tuple[float, int, _Hold]] = []
        self._timed = 0  # unresolved holds with a deadline
        self._reads = 0  # till reads so far: a hold remembers the one that ended its receipt
        self._feeds_from: int | None = None  # start of the tentative tail feeds
        self._forced_to = 0  # bytes up to here go on whatever the events say
        self._waiting_since: float | None = None  # when tentative bytes started to wait
        self._line_open = False  # text waits in the printer's line buffer
        self._printed = False  # printed content since the last receipt end
        self._last_till_at: float | None = None
        self._capture = bytearray()
        self._truncated = False
        self._next_id = 1
        self._skip_receipt = False  # after a failure: pass the receipt in progress through
        self._finished = False  # the till's stream has ended (till_finished)
        self._closed = False
        # Receipts that ended with no message possible, by reason, for the stats line.
        self.no_message: Counter[str] = Counter()

    # --- public API ---------------------------------------------------------------------

    @property
    def released_unanswered(self) -> int:
        """Receipts that ended with no message possible (every reason in ``no_message``)."""
        return sum(self.no_message.values())

    @property
    def backlog(self) -> int:
        """Till bytes received and still owed to the printer (pause the till when large).

        Status requests already sent ahead of a hold are not owed, so not counted.
        """
        return len(self._queue)

    @property
    def holding(self) -> bool:
        """A receipt end is waiting for its handler."""
        return self._timed > 0

    @property
    def unfinished_receipt(self) -> bytes:
        """The raw bytes of the receipt under way (since the last receipt end)."""
        return bytes(self._capture)

    @property
    def between_receipts(self) -> bool:
        """Nothing of a receipt is under way or waiting: a clean point to start afresh."""
        return not self._capture and not self._holds and self._tokenizer.pending == 0

    @property
    def printer_state(self) -> PrinterState:
        """The printer state the till's stream has set so far."""
        return self._tokenizer.state.copy()

    def from_till(self, data: bytes, now: float) -> Output:
        if not data:
            return self._output(bytearray(), [])
        mode = self.config.mode
        if mode is Mode.PASSTHROUGH or self._closed:
            return Output(to_printer=bytes(data))
        if self._finished:
            # Not expected (the stream has ended): the bytes go on behind what waits.
            self._log.warning("%s: till bytes after the end of its stream", self.config.till)
            self._queue += data
            self._received += len(data)
            self._forced_to = self._received
            out = bytearray()
            self._flush(out)
            return self._output(out, [], now)
        out = bytearray()
        requests: list[Request] = []
        # Queue first: whatever fails below, these bytes are accounted for and will go on.
        self._queue += data
        self._received += len(data)
        self._reads += 1
        if mode is Mode.OBSERVE:
            self._forced_to = self._received
            self._emit_to(out, self._received)
        try:
            before = self._tokenizer.state.copy()
            events = self._tokenizer.feed(data)
            if self._tokenizer.pending or not all(type(e) is StatusRequest for e in events):
                # Status polls print nothing: a till polling its printer is still idle.
                self._last_till_at = now
            self._read(events, before, now, requests)
            self._flush(out)
            self._send_status_ahead(out)
            self._bound(out)
        except Exception:
            self._fail_open(out, "reading bytes from the till")
        return self._output(out, requests, now)

    def from_printer(self, data: bytes, now: float) -> Output:
        # Status replies are never held, merged or altered (DESIGN: ESC/POS facts).
        return Output(to_till=bytes(data), deadline=self._deadline())

    def handled(self, receipt_id: int, message: bytes | None, now: float) -> Output:
        out = bytearray()
        if self.config.mode is not Mode.INJECT:
            return self._output(out, [])
        try:
            hold = self._unanswered.get(receipt_id)
            if hold is None:
                # Too late (released at the bound or at close) or unknown: never print it now,
                # it would land inside a later receipt.
                self._log.info(
                    "%s: result for receipt %d comes after its release: not printed",
                    self.config.till,
                    receipt_id,
                )
            else:
                self._resolve(hold, bytes(message) if message else None)
            self._flush(out)
        except Exception:
            self._fail_open(out, f"applying the result for receipt {receipt_id}")
        return self._output(out, [], now)

    def timer(self, now: float) -> Output:
        out = bytearray()
        requests: list[Request] = []
        if self.config.mode is Mode.PASSTHROUGH or self._closed:
            return self._output(out, requests)
        try:
            heap = self._deadlines
            while heap and heap[0][0] <= now:
                hold = heapq.heappop(heap)[2]
                if hold.resolved:
                    continue
                self._resolve(hold)
                self._no_message(hold.receipt_id, "not handled within max_hold", logging.WARNING)
            if (
                self._waiting_since is not None
                and now >= self._waiting_since + self.config.feed_hold
                and not self._feeds_wait_for_idle()
            ):
                self._force()
            idle_at = self._idle_deadline()
            if idle_at is not None and now >= idle_at:
                self._idle_end(now, requests)
            self._flush(out)
        except Exception:
            self._fail_open(out, "handling a timer")
        return self._output(out, requests, now)

    def till_finished(self, now: float) -> Output:
        """The till will send nothing more (EOF, a half-close), but the printer's side is
        still up: the receipt in progress ends here, with no cut, and in inject mode it is
        held like a cut's so its message prints before the stream ends. The shell waits while
        ``holding`` (``max_hold`` bounds it), then calls ``till_closed``."""
        out = bytearray()
        requests: list[Request] = []
        if self.config.mode is Mode.PASSTHROUGH or self._closed or self._finished:
            return self._output(out, requests)
        self._finished = True
        try:
            before = self._tokenizer.state.copy()
            events = self._tokenizer.close()
            self._read(events, before, now, requests)
            self._end_without_cut(now, requests)
            self._force()
            self._flush(out)
        except Exception:
            self._fail_open(out, "ending the till's stream")
        return self._output(out, requests, now)

    def till_closed(self, now: float) -> Output:
        out = bytearray()
        requests: list[Request] = []
        if self.config.mode is Mode.PASSTHROUGH or self._closed:
            self._closed = True
            return self._output(out, requests)
        try:
            before = self._tokenizer.state.copy()
            events = self._tokenizer.close()
            self._read(events, before, now, requests)
            capture = self._capture_end()
            state = self._tokenizer.state.copy()
            for document in self._builder.close():
                self._report(document, capture, None, state, now, requests)
        except Exception:
            self._fail_open(out, "closing the till's stream")
        # Release everything, answered or not: the stream is over.
        for hold in self._holds:
            if not hold.resolved:
                self._resolve(hold)
                self._no_message(hold.receipt_id, "the till's stream ended while it was held")
        self._forced_to = self._received
        self._feeds_from = None
        try:
            self._flush(out)
        except Exception:
            self._fail_open(out, "releasing at close")
        if self._sent < self._received:  # cannot happen; the bytes must go on all the same
            self._emit_to(out, self._received)
        self._forget_holds()
        self._closed = True
        return Output(to_printer=bytes(out), requests=requests, deadline=None)

    # --- reading ------------------------------------------------------------------------

    def _new_builder(self) -> DocumentBuilder:
        return DocumentBuilder(reset_ends_document=self.config.end_of_receipt is EndOfReceipt.RESET)

    def _read(
        self, events: list[Event], before: PrinterState, now: float, requests: list[Request]
    ) -> None:
        """Follow the events: tail feeds, receipt ends, the line buffer, the capture."""
        ends_at_reset = self.config.end_of_receipt is EndOfReceipt.RESET
        # The printer state at a receipt end, followed from ``before`` (the state when the
        # batch began) only as far as each end, so a batch costs one pass however many ends.
        state = before
        followed = 0
        # A receipt end after the batch's last change of state (the usual: text, the cut, a
        # drawer kick) is in the state the tokenizer ended in: nothing to follow.
        settled = last_state_change(events)
        for index, event in enumerate(events):
            start = self._tokenized
            self._tokenized = start + len(event.raw)
            is_cut = isinstance(event, Cut)
            if is_cut or (ends_at_reset and isinstance(event, Reset)):
                if is_cut:
                    self._capture_add(event.raw)
                capture = self._capture_end()
                if not is_cut:
                    self._capture_add(event.raw)  # ESC @ starts the next receipt
                documents = self._builder.feed((event,))
                if capture[1]:
                    # Not read (see _capture_add), but reported: its first bytes are kept.
                    documents = [Document(cut=is_cut)]
                hold_at = self._feeds_from if self._feeds_from is not None else start
                if hold_at < self._sent:
                    hold_at = start
                at_end = state
                if documents and index > settled:
                    at_end = self._tokenizer.state
                elif documents:
                    for passed in events[followed:index]:
                        apply_effect(state, passed)
                    followed = index
                for document in documents:
                    self._report(document, capture, hold_at, at_end.copy(), now, requests)
                self._feeds_from = None
                self._line_open = False
                self._printed = False
                self._skip_receipt = False
                continue
            if (
                type(event) is StatusRequest
                and event.name == "DLE EOT"
                and self.config.mode is Mode.INJECT
            ):
                self._status_seen.append((start, self._tokenized))
            self._capture_add(event.raw)
            if self._truncated:
                # Past max_capture_bytes this is no receipt we will read: stop building its
                # document, which would otherwise grow with whatever the till sends.
                self._follow_line(event, start)
                continue
            for document in self._builder.feed((event,)):
                # Not expected: the builder ends documents only at the events above.
                self._report(
                    document, self._capture_end(), None, self._tokenizer.state.copy(), now, requests
                )
            self._follow_line(event, start)

    def _follow_line(self, event: Event, start: int) -> None:
        """Track the tail feeds and whether text waits in the printer's line buffer."""
        if isinstance(event, Control):
            name = event.name
            if name in _FEED_CONTROLS:
                if self._line_open:
                    if name in _LINE_ENDS:
                        self._line_open = False  # it prints the line: part of the receipt
                    self._feeds_from = None
                elif self._feeds_from is None:
                    self._feeds_from = start
                return
            if name == "HT":
                self._line_open = True
            self._feeds_from = None
            return
        if isinstance(event, Command) and event.name in _FEED_COMMANDS:
            if self._line_open:
                self._line_open = False  # it prints the line: part of the receipt
                self._feeds_from = None
            elif self._feeds_from is None:
                self._feeds_from = start
            return
        self._feeds_from = None
        if isinstance(event, Reset):
            self._line_open = False  # ESC @ clears the line buffer
        elif isinstance(event, Text):
            self._line_open = True
            if not self._printed and event.text.strip():
                self._printed = True
        elif isinstance(event, Payload) or (
            isinstance(event, Command) and (event.payload_length or event.name == "FS p")
        ):
            self._printed = True

    def _report(
        self,
        document: Document,
        capture: tuple[bytes, bool],
        hold_at: int | None,
        state: PrinterState,
        now: float,
        requests: list[Request],
    ) -> None:
        if self._skip_receipt:
            self._log.warning("%s: receipt after a failure not reported", self.config.till)
            return
        receipt_id = self._next_id
        self._next_id += 1
        held = False
        if self.config.mode is not Mode.INJECT:
            if self.config.mode is Mode.OBSERVE and document.text().strip():
                self._no_message(receipt_id, "observe mode", logging.DEBUG)
        elif hold_at is not None and hold_at >= self._sent:
            deadline = now + self.config.max_hold
            hold = _Hold(hold_at, receipt_id, deadline, self._reads, self._line_open)
            self._holds.append(hold)
            self._unanswered[receipt_id] = hold
            heapq.heappush(self._deadlines, (deadline, receipt_id, hold))
            self._timed += 1
            held = True
        elif hold_at is not None:
            self._no_message(receipt_id, "its end had gone on to the printer already")
        elif document.text().strip():
            self._no_message(receipt_id, "the till's stream ended before it could be held")
        raw, truncated = capture
        requests.append(HandleReceipt(receipt_id, document, raw, state, held, truncated))

    def _no_message(self, receipt_id: int, reason: str, level: int = logging.INFO) -> None:
        """Count and log a receipt that ends with no message possible (its award, if any, is
        made all the same: only the message is lost)."""
        self.no_message[reason] += 1
        self._log.log(
            level,
            "%s: receipt %d released with no message: %s",
            self.config.till,
            receipt_id,
            reason,
        )

    def _resolve(self, hold: _Hold, message: bytes | None = None) -> None:
        """The hold's answer is in (or it was given up): its bytes may go once they are next."""
        if hold.resolved:
            return
        hold.resolved = True
        hold.message = message
        del self._unanswered[hold.receipt_id]
        self._timed -= 1

    def _forget_holds(self) -> None:
        self._holds.clear()
        self._unanswered.clear()
        self._deadlines.clear()
        self._timed = 0

    def _idle_deadline(self) -> float | None:
        if (
            self.config.end_of_receipt is not EndOfReceipt.IDLE
            or not self._printed
            or self._last_till_at is None
        ):
            return None
        return self._last_till_at + self.config.idle_gap

    def _idle_end(self, now: float, requests: list[Request]) -> None:
        self._end_without_cut(now, requests)
        self._force()  # the tail feeds go on behind the hold: no cut will follow them

    def _end_without_cut(self, now: float, requests: list[Request]) -> None:
        """The receipt in progress ends here (an idle gap, the end of the till's stream): it is
        held like a cut's, before its tail feeds if they still wait, else at the stream's end,
        so its message prints after its last line and whatever the till sends next waits
        behind it (within ``max_hold``)."""
        self._printed = False
        hold_at = self._feeds_from
        if hold_at is None or hold_at < self._sent:
            hold_at = self._received
        capture = self._capture_end()
        state = self._tokenizer.state.copy()
        for document in self._builder.close():
            self._report(document, capture, hold_at, state, now, requests)
        self._feeds_from = None
        self._skip_receipt = False

    def _feeds_wait_for_idle(self) -> bool:
        """In idle mode the tail feeds after a printed receipt wait for the gap, not just
        ``feed_hold``: the message then prints before them, as before a cut, and they carry
        it past the tear bar instead of leaving it under the print head."""
        return (
            self._feeds_from is not None
            and self._printed
            and self._tokenizer.pending == 0
            and self._idle_deadline() is not None
        )

    # --- the capture --------------------------------------------------------------------

    def _capture_add(self, raw: bytes) -> None:
        room = self.config.max_capture_bytes - len(self._capture)
        if len(raw) > room:
            if not self._truncated:
                self._log.warning(
                    "%s: receipt longer than %d bytes: not read, passed through",
                    self.config.till,
                    self.config.max_capture_bytes,
                )
                self._builder = self._new_builder()
            self._truncated = True
            raw = raw[: max(room, 0)]
        self._capture += raw

    def _capture_end(self) -> tuple[bytes, bool]:
        """The capture of the receipt that ends here, and whether it was cut short."""
        raw, truncated = bytes(self._capture), self._truncated
        self._capture.clear()
        self._truncated = False
        return raw, truncated

    # --- the bytes ----------------------------------------------------------------------

    def _emit_to(self, out: bytearray, end: int) -> None:
        """The till's bytes up to stream offset ``end`` go to the printer, but for the status
        requests already sent ahead, which are not in the queue any more."""
        skipped = 0
        ahead = self._ahead
        while ahead and ahead[0][0] < end:
            first, last = ahead[0]
            if last > end:
                skipped += end - first
                ahead[0] = (end, last)
                break
            skipped += last - first
            ahead.popleft()
        self._ahead_bytes -= skipped
        count = end - self._sent - skipped
        if count:
            out += self._queue[:count]
            del self._queue[:count]  # from the front of a bytearray: no copy of the rest
        self._sent = end

    def _send_status_ahead(self, out: bytearray) -> None:
        """DLE EOT requests waiting behind a hold go to the printer now.

        A printer answers DLE EOT the moment it receives it, whatever waits in its buffer, so
        a till that asks for status right after its cut gets the answer it would get with no
        bridge in between, not one delayed by the hold. Moving the request ahead of the held
        bytes changes nothing printed. Only DLE EOT: DLE ENQ and DLE DC4 can clear the
        printer's buffer, and must not overtake bytes meant to be in it.

        The requests leave the queue (in one pass over its tail: they are all in this read),
        so the backlog counts only bytes still owed.
        """
        seen, self._status_seen = self._status_seen, []
        waiting = [(first, last) for first, last in seen if first >= self._sent]
        if not waiting:
            return
        queue = self._queue
        # Queue index of a stream offset past every range sent ahead before.
        shift = self._sent + self._ahead_bytes
        start = at = waiting[0][0] - shift
        kept = bytearray()
        for first, last in waiting:
            kept += queue[at : first - shift]
            out += queue[first - shift : last - shift]
            at = last - shift
            self._ahead.append((first, last))
            self._ahead_bytes += last - first
        kept += queue[at:]
        del queue[start:]
        queue += kept

    def _flush(self, out: bytearray) -> None:
        """Send on what may go: up to the first hold point, past each one resolved."""
        while True:
            safe = self._feeds_from if self._feeds_from is not None else self._tokenized
            limit = min(max(safe, self._forced_to), self._received)
            hold = self._holds[0] if self._holds else None
            if hold is not None:
                limit = min(limit, hold.offset)
            if limit > self._sent:
                self._emit_to(out, limit)
            if hold is None or self._sent < hold.offset or not hold.resolved:
                return
            self._holds.popleft()
            if hold.message:
                if hold.line_open:
                    out += b"\n"  # or the message would print on the receipt's last line
                out += hold.message

    def _force(self) -> None:
        """Tentative bytes go on: they waited long enough."""
        self._forced_to = self._received
        self._feeds_from = None
        self._waiting_since = None

    def _bound(self, out: bytearray) -> None:
        """Too much owed: release the oldest holds, then the tentative bytes.

        Only a hold set before this read is cut short: one read (at most the shell's receive
        size) may bring many receipts, and each still gets its message; it is the till going
        on sending while they wait that costs them. So what is owed stays within
        ``max_held_bytes`` plus the last read, and the shell, which stops reading the till
        while ``backlog`` is over its own limit, keeps it there.
        """
        limit = self.config.max_held_bytes
        while len(self._queue) > limit:
            hold = self._holds[0] if self._holds else None
            if hold is not None and not hold.resolved and hold.read < self._reads:
                self._resolve(hold)
                self._no_message(
                    hold.receipt_id, f"more than {limit} bytes waited behind it", logging.WARNING
                )
            elif self._forced_to < self._received or self._feeds_from is not None:
                self._force()
            else:
                return
            self._flush(out)

    def _fail_open(self, out: bytearray, doing: str) -> None:
        self._log.exception(
            "%s: failure while %s: passing the receipt through unchanged", self.config.till, doing
        )
        # Messages already answered stay out: only the till's bytes, all of them, in order.
        self._emit_to(out, self._received)
        self._forget_holds()
        try:
            state = self._tokenizer.state.copy()
        except Exception:
            state = PrinterState()
        self._tokenizer = Tokenizer(state)
        self._builder = self._new_builder()
        self._tokenized = self._forced_to = self._received
        self._feeds_from = None
        self._waiting_since = None
        self._line_open = False
        self._printed = False
        self._capture.clear()
        self._truncated = False
        self._skip_receipt = True
        self._status_seen.clear()

    # --- output -------------------------------------------------------------------------

    def _output(self, out: bytearray, requests: list[Request], now: float | None = None) -> Output:
        if now is not None:
            self._note_waiting(now)
        return Output(to_printer=bytes(out), requests=requests, deadline=self._deadline())

    def _note_waiting(self, now: float) -> None:
        """Start (or stop) the feed_hold clock for bytes that wait on nothing but events."""
        limit = self._received
        if self._holds:
            limit = min(limit, self._holds[0].offset)
        if limit > self._sent:
            if self._waiting_since is None:
                self._waiting_since = now
        else:
            self._waiting_since = None

    def _deadline(self) -> float | None:
        times: list[float] = []
        heap = self._deadlines
        if self._timed:
            while heap[0][2].resolved:
                heapq.heappop(heap)
            times.append(heap[0][0])
        else:
            heap.clear()
        if self._waiting_since is not None and not self._feeds_wait_for_idle():
            times.append(self._waiting_since + self.config.feed_hold)
        idle_at = self._idle_deadline()
        if idle_at is not None:
            times.append(idle_at)
        return min(times) if times else None
