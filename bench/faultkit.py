"""What the fault bench and the crash-torture test share: sales, a till that counts like a
real one, a printer that counts, ``tillbridge run`` as a process that can be killed, and the
judge that says, receipt by receipt, which promise broke.

A till only knows what its socket told it. A till that waits for the printer (the usual network
till) half-closes after the receipt and reads until the end: a normal end means *printed*; a
refused connection, a reset or a timeout it would report is a *visible failure*. A
fire-and-forget till (python-escpos ``Network``) counts a receipt printed unless connect or send
raised. The printer records every connection's bytes with a stamp per read, so the judge can
tell whether a receipt reached it whole: head to cut, in one connection, in order, and with no
other connection's bytes arriving at that printer in between (a printer with one connection
would have printed those in the middle of the receipt).
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import json
import os
import random
import re
import selectors
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.children import BenchError, Children, free_ports, start_daemon
from drivers.virtual_printer.status import Conditions, real_time_status, transmit_status
from fixtures.tills import diner_us
from parsers.escpos.events import Command, Control, Cut
from parsers.escpos.tokenizer import Tokenizer

LAYOUT = "diner_us"
NUMBER_RE = re.compile(rb"Check #(\d+)")
STATUS_REQUEST = b"\x10\x04\x01"
DLE, EOT, GS = 0x10, 0x04, 0x1D
_FEEDS = frozenset(("LF", "CR", "FF"))
_FEED_COMMANDS = frozenset(("ESC d", "ESC J"))
# The most bytes our message may add between a receipt's body and its cut.
MESSAGE_ROOM = 8192

QUIET_START = 3.0  # seconds after a start before a graceful stop (see DaemonUnderTest.stop)

# What a till saw of one attempt.
PRINTED = "printed"
REFUSED = "refused"
RESET = "reset"
TIMEOUT = "timeout"
FAILURES = (REFUSED, RESET, TIMEOUT)


# --- sales -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sale:
    """One sale as Joe's Diner's till prints it, with its own check number and customer."""

    till: str
    serial: int  # the till's order: sale n is sent before sale n + 1
    number: str
    data: bytes
    body: int  # bytes before the held end (the feeds right before the cut, and the cut)
    cut: int  # offset of the cut

    @property
    def head(self) -> bytes:
        return self.data[: self.body]

    @property
    def end(self) -> bytes:
        return self.data[self.cut :]


def make_sale(till: str, till_index: int, serial: int, items: int = 4) -> Sale:
    """A card sale with a tip: check number ``<till_index><serial:05d>``, a phone number of
    its own, ``items`` lines (more lines: a longer receipt)."""
    number = f"{till_index + 1}{serial:05d}"
    base = diner_us.card_sale_with_tip()
    lines = [
        replace(base.items[k % len(base.items)], name=f"{base.items[k % len(base.items)].name} {k}")
        for k in range(items)
    ]
    when = datetime(2026, 11, 14, 12, 0, tzinfo=ZoneInfo("America/New_York"))
    receipt = diner_us.sale(
        number,
        when,
        lines,
        tip=Decimal("5.00"),
        card="VISA",
        phone=f"518-{till_index + 1:03d}-{serial % 10000:04d}",
    )
    data = diner_us.print_check(diner_us.Check(receipt))
    body, cut = held_end(data)
    return Sale(till, serial, number, data, body, cut)


def held_end(data: bytes) -> tuple[int, int]:
    """(start of the feeds right before the last cut, start of that cut): the bridge holds
    what follows the first offset until the receipt is read."""
    offset, feeds_from, found = 0, None, None
    tokenizer = Tokenizer()
    for event in [*tokenizer.feed(data), *tokenizer.close()]:
        start, offset = offset, offset + len(event.raw)
        if isinstance(event, Cut):
            found = (start if feeds_from is None else feeds_from, start)
            feeds_from = None
        elif (isinstance(event, Control) and event.name in _FEEDS) or (
            isinstance(event, Command) and event.name in _FEED_COMMANDS
        ):
            feeds_from = start if feeds_from is None else feeds_from
        else:
            feeds_from = None
    if found is None:
        raise ValueError("the sale has no cut")
    return found


# --- the till ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    sale: Sale
    outcome: str  # PRINTED or one of FAILURES
    detail: str
    started: float  # time.monotonic()
    took: float


def send_waiting(
    port: int, data: bytes, timeout: float, sent: Callable[[], object] | None = None
) -> tuple[str, str]:
    """A network till that waits for the printer: connect, send, half-close, read to the end.

    The end of the stream is the printer's word that it printed; anything else is a failure
    the till shows its operator. ``sent`` runs once the bytes are handed to the kernel (where
    the torture test kills the daemon "just after a till connects").
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        refused = _connect(sock, port)
        if refused is not None:
            return refused
        try:
            sock.sendall(data)
            if sent is not None:
                sent()
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        except TimeoutError:
            return TIMEOUT, f"no end within {timeout:.0f} s"
        except (ConnectionResetError, BrokenPipeError) as error:
            return RESET, type(error).__name__
        except OSError as error:
            return RESET, repr(error)
        return PRINTED, "normal close"
    finally:
        sock.close()


def _connect(sock: socket.socket, port: int) -> tuple[str, str] | None:
    """Connect as a till does; None when connected, else what the till saw."""
    try:
        sock.connect(("127.0.0.1", port))
    except ConnectionRefusedError:
        return REFUSED, "connection refused"
    except TimeoutError:
        return TIMEOUT, "connect timed out"
    except OSError as error:
        return RESET, f"connect: {error!r}"
    return None


def send_fire_and_forget(port: int, data: bytes, timeout: float) -> tuple[str, str]:
    """python-escpos ``Network``: connect, ``sendall``, ``shutdown(SHUT_RDWR)``, close. It never
    reads, so only a refused connect or a failed send is seen."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        refused = _connect(sock, port)
        if refused is not None:
            return refused
        try:
            sock.sendall(data)
        except TimeoutError:
            return TIMEOUT, "send timed out"
        except OSError as error:
            return RESET, type(error).__name__
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        return PRINTED, "sent"
    finally:
        sock.close()


# --- the printer -------------------------------------------------------------------------


@dataclass
class PrinterConnection:
    number: int
    sock: socket.socket
    data: bytearray = field(default_factory=bytearray)
    stamps: list[int] = field(default_factory=list)  # printer-wide read counter per read
    starts: list[int] = field(default_factory=list)  # offset in ``data`` of each read
    replies: bytearray = field(default_factory=bytearray)
    tail: bytes = b""  # the last bytes, for a status request split across reads
    ended: str = ""  # "eof", "reset by us", "reset by peer", "printer off"
    reset_after: int | None = None
    watched: bool = False  # registered with the selector

    def stamp_at(self, offset: int) -> int:
        return self.stamps[bisect.bisect_right(self.starts, offset) - 1]


class CountingPrinter:
    """A network printer on 127.0.0.1 that serves any number of connections at once, keeps
    every connection's bytes with a stamp per read, answers ``DLE EOT n`` and ``GS r n`` (the
    virtual printer's status model) and closes when its peer half-closes.

    It misbehaves on request: ``reset_after`` resets each new connection (SO_LINGER 0, close)
    once that many bytes came; ``reading = False`` stops reading (paper out: the kernel
    buffers fill, then the sender waits); ``switch_off`` closes the listener and every
    connection, ``switch_on`` listens again on the same port.
    """

    def __init__(self, name: str = "printer") -> None:
        self.name = name
        self.conditions = Conditions()
        self.connections: list[PrinterConnection] = []
        self.reset_after: int | None = None
        self._reading = True
        self._lock = threading.Lock()
        self._reads = itertools.count(1)
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._listener: socket.socket | None = None
        self.port = 0
        self._stopped = False
        self.switch_on()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    # -- control (any thread) ---------------------------------------------------------------

    def switch_on(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(128)
            listener.setblocking(False)
            self.port = listener.getsockname()[1]
            self._listener = listener
            self._selector.register(listener, selectors.EVENT_READ, "accept")
        self._wake()

    def switch_off(self) -> None:
        """Power off: the port refuses, open connections are reset."""
        with self._lock:
            if self._listener is not None:
                self._selector.unregister(self._listener)
                self._listener.close()
                self._listener = None
            for connection in self.connections:
                if not connection.ended:
                    self._drop(connection, "printer off", reset=True)
        self._wake()

    @property
    def reading(self) -> bool:
        return self._reading

    @reading.setter
    def reading(self, on: bool) -> None:
        with self._lock:
            self._reading = on
            for connection in self.connections:
                if not connection.ended:
                    self._watch(connection)
        self._wake()

    def stop(self) -> None:
        self.switch_off()
        self._stopped = True
        self._wake()
        self._thread.join(5)
        self._wake_r.close()
        self._wake_w.close()

    def snapshot(self) -> list[PrinterConnection]:
        with self._lock:
            return [
                replace(c, data=bytearray(c.data), stamps=list(c.stamps), starts=list(c.starts))
                for c in self.connections
            ]

    def received(self) -> int:
        with self._lock:
            return sum(len(c.data) for c in self.connections)

    def open_connections(self) -> int:
        with self._lock:
            return sum(1 for c in self.connections if not c.ended)

    # -- the loop ---------------------------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _serve(self) -> None:
        while not self._stopped:
            for key, mask in self._selector.select(0.5):
                with self._lock:
                    if key.data == "wake":
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(4096)
                    elif key.data == "accept":
                        self._accept()
                    else:
                        connection: PrinterConnection = key.data
                        if connection.ended:
                            continue
                        if mask & selectors.EVENT_READ:
                            self._read(connection)
                        if mask & selectors.EVENT_WRITE and not connection.ended:
                            self._write(connection)
        self._selector.close()

    def _accept(self) -> None:
        if self._listener is None:
            return
        try:
            sock, _ = self._listener.accept()
        except (BlockingIOError, OSError):
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = PrinterConnection(len(self.connections) + 1, sock)
        connection.reset_after = self.reset_after
        self.connections.append(connection)
        self._watch(connection)

    def _watch(self, connection: PrinterConnection) -> None:
        events = (selectors.EVENT_READ if self._reading else 0) | (
            selectors.EVENT_WRITE if connection.replies else 0
        )
        if events and connection.watched:
            self._selector.modify(connection.sock, events, connection)
        elif events:
            self._selector.register(connection.sock, events, connection)
        elif connection.watched:
            # A selector cannot watch for nothing: out of it until reading resumes.
            self._selector.unregister(connection.sock)
        connection.watched = bool(events)

    def _read(self, connection: PrinterConnection) -> None:
        size = 256 * 1024
        if connection.reset_after is not None:
            # Take no byte past the reset: the rest of the receipt never reached the printer.
            size = max(1, min(size, connection.reset_after - len(connection.data)))
        try:
            data = connection.sock.recv(size)
        except BlockingIOError:
            return
        except OSError:
            self._drop(connection, "reset by peer", reset=False)
            return
        if not data:
            self._write(connection)
            self._drop(connection, "eof", reset=False)
            return
        connection.starts.append(len(connection.data))
        connection.stamps.append(next(self._reads))
        connection.data += data
        self._answer(connection, data)
        if connection.reset_after is not None and len(connection.data) >= connection.reset_after:
            self._drop(connection, "reset by us", reset=True)

    def _answer(self, connection: PrinterConnection, data: bytes) -> None:
        window = connection.tail + data
        for at in _finds(window, bytes((DLE, EOT))):
            if at + 2 < len(window) and at + 2 >= len(connection.tail):
                reply = real_time_status(window[at + 2], self.conditions)
                connection.replies += reply or b""
        for at in _finds(window, b"\x1dr"):
            if at + 2 < len(window) and at + 2 >= len(connection.tail):
                reply = transmit_status(window[at + 2], self.conditions)
                connection.replies += reply or b""
        connection.tail = window[-2:]
        if connection.replies:
            self._write(connection)

    def _write(self, connection: PrinterConnection) -> None:
        if connection.replies:
            try:
                sent = connection.sock.send(connection.replies)
                del connection.replies[:sent]
            except BlockingIOError:
                pass
            except OSError:
                connection.replies.clear()
        if not connection.ended:
            self._watch(connection)

    def _drop(self, connection: PrinterConnection, why: str, *, reset: bool) -> None:
        connection.ended = why
        if connection.watched:
            self._selector.unregister(connection.sock)
            connection.watched = False
        if reset:
            with contextlib.suppress(OSError):
                connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        connection.sock.close()


_LINGER_ZERO = (1).to_bytes(4, "little") + (0).to_bytes(4, "little")


def _finds(data: bytes, needle: bytes) -> Iterable[int]:
    at = data.find(needle)
    while at >= 0:
        yield at
        at = data.find(needle, at + 1)


# --- the daemon as a process -------------------------------------------------------------


@dataclass(frozen=True)
class TillWiring:
    name: str
    port: int  # where the till connects
    printer_port: int
    layout: str = LAYOUT
    mode: str = "inject"


class DaemonUnderTest:
    """``tillbridge run`` on a config in ``folder``, started, killed (SIGKILL to its process
    group, parse worker included, as a crash or the OOM killer would) and restarted on the same
    ports and state."""

    def __init__(
        self,
        folder: Path,
        tills: Sequence[TillWiring],
        *,
        database: Path | None = None,
        journal: Path | None = None,
        extra: str = "",
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.tills = list(tills)
        self.database = database or folder / "tillbridge.db"
        self.journal = journal or folder / "journal.jsonl"
        self.log = folder / "daemon.log"
        self.config = folder / "tillbridge.toml"
        self.children = Children()
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0
        self.started_at = 0.0
        self.stops: list[tuple[int | None, float]] = []
        self._lock = threading.Lock()
        self.extra = extra
        self.write_config()

    def set_layout(self, till: str, layout: str) -> None:
        """Give ``till`` another layout (a shipped name or a grammar file) from the next start."""
        self.tills = [replace(t, layout=layout) if t.name == till else t for t in self.tills]
        self.write_config()

    def write_config(self) -> None:
        lines = [
            'log_level = "info"',
            f'journal = "{self.journal}"',
            self.extra,
            "",
            "[database]",
            f'url = "sqlite:///{self.database}"',
        ]
        for till in self.tills:
            lines += [
                "",
                "[[tills]]",
                f'name = "{till.name}"',
                f'listen = "tcp:127.0.0.1:{till.port}"',
                f'printer = "tcp:127.0.0.1:{till.printer_port}"',
                f'layout = "{till.layout}"',
                f'mode = "{till.mode}"',
            ]
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    @property
    def inbox(self) -> Path:
        return self.journal.parent / "inbox"

    @property
    def unread(self) -> Path:
        return self.journal.parent / "unread"

    def start(self) -> None:
        with self._lock:
            if self.alive():
                return
            self.starts += 1
            with self.log.open("a") as log:
                log.write(f"--- start {self.starts} at {time.time():.3f}\n")
            self.process = start_daemon(
                self.children, self.config, [t.port for t in self.tills], self.log
            )
            self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> bool:
        """SIGKILL the daemon and its children now; False if it was not running."""
        with self._lock:
            process = self.process
            if process is None or process.poll() is not None:
                return False
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            if process in self.children.running:
                self.children.running.remove(process)
            self.kills += 1
            return True

    def stop(self) -> int | None:
        """SIGTERM (the graceful stop); its exit status.

        Not sooner than ``QUIET_START`` after the start: a SIGTERM while the daemon is still
        compiling its layouts, just after its ports listen, is not honoured today (it hangs
        until the SIGKILL after the grace), which would cost every row 30 s and its
        queued awards. Each stop is kept in ``stops`` (status, seconds).
        """
        with self._lock:
            process = self.process
            if process is None:
                return None
            if process.poll() is None:
                time.sleep(max(0.0, self.started_at + QUIET_START - time.monotonic()))
            began = time.monotonic()
            self.children.stop(process, grace=30)
            self.stops.append((process.returncode, time.monotonic() - began))
            return process.returncode

    def stop_summary(self) -> str:
        slow = [f"exit {code} after {took:.0f} s" for code, took in self.stops if code or took > 5]
        return f"graceful stops: {len(self.stops) - len(slow)} of {len(self.stops)} clean" + (
            f" ({', '.join(slow)})" if slow else ""
        )

    def settle(self, timeout: float = 30) -> bool:
        """Wait until the inbox is empty and the journal has nothing pending (what a start
        replays has been replayed); False if that did not happen in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not inbox_numbers(self) and not journal_numbers(self):
                return True
            time.sleep(0.2)
        return False

    def log_tail(self, size: int = 4000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-size:]
        except OSError:
            return ""


def wiring(names: Sequence[str], printers: Sequence[CountingPrinter]) -> list[TillWiring]:
    ports = free_ports(len(names))
    return [
        TillWiring(name, port, printer.port)
        for name, port, printer in zip(names, ports, printers, strict=True)
    ]


# --- where each sale's award is ----------------------------------------------------------


def ledger_awards(database: Path) -> Counter[str]:
    """Awards standing per receipt number, read with the project's models: earn entries less
    the voids that took them back (a receipt that never printed whole)."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session

    from bridge.store.models import EntryKind, LedgerEntry

    found: Counter[str] = Counter()
    if not database.exists():
        return found
    engine = create_engine(f"sqlite:///{database}")
    try:
        with Session(engine) as session:
            kinds = (EntryKind.EARN.value, EntryKind.VOID.value)
            rows = session.execute(
                select(LedgerEntry.receipt_number, LedgerEntry.kind, func.count())
                .where(LedgerEntry.kind.in_(kinds))
                .group_by(LedgerEntry.receipt_number, LedgerEntry.kind)
            )
            for number, kind, count in rows:
                sign = 1 if kind == EntryKind.EARN.value else -1
                found[str(number)] += sign * int(count)
    except Exception as error:  # an empty or foreign file: no ledger there
        if "no such table" not in str(error):
            raise
    finally:
        engine.dispose()
    return +found


def journal_numbers(daemon: DaemonUnderTest) -> Counter[str]:
    """Receipt numbers of journal entries not yet applied: awards less voids (a void cancels
    the award journaled before it; a count of 0 or less is still there for ``settle``)."""
    found: Counter[str] = Counter()
    with contextlib.suppress(OSError):
        for line in daemon.journal.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                record = json.loads(line)
                found[str(record["receipt"]["number"])] += -1 if "void" in record else 1
    return found


def _folder_numbers(folder: Path) -> Counter[str]:
    found: Counter[str] = Counter()
    for path in folder.glob("*/*.bin") if folder.exists() else ():
        with contextlib.suppress(OSError):
            match = NUMBER_RE.search(path.read_bytes())
            found[match[1].decode() if match else f"?{path.name}"] += 1
    return found


def inbox_numbers(daemon: DaemonUnderTest) -> Counter[str]:
    return _folder_numbers(daemon.inbox)


def unread_numbers(daemon: DaemonUnderTest) -> Counter[str]:
    return _folder_numbers(daemon.unread)


# --- the judge ---------------------------------------------------------------------------


@dataclass
class Verdict:
    sent: int = 0  # sales
    attempts: int = 0
    told_printed: int = 0  # attempts the till counted printed
    failed_visibly: int = 0  # attempts the till saw fail
    printed_whole: int = 0  # sales that reached the printer whole at least once
    lied: int = 0  # sales told printed more often than they reached the printer whole
    awarded_once: int = 0
    awarded_twice: int = 0  # sales with two or more earn entries
    earned_unprinted: int = 0  # awarded, never reached the printer whole
    lost: int = 0  # reached the printer whole, no award anywhere (ledger, journal, inbox)
    kept_by_hand: int = 0  # printed, unawarded, kept in unread/ for `tillbridge award`
    out_of_order: int = 0
    broken: list[str] = field(default_factory=list)  # one line per broken promise

    def row(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "printed whole": self.printed_whole,
            "failed visibly": self.failed_visibly,
            "lied": self.lied,
            "awarded once": self.awarded_once,
            "awarded twice": self.awarded_twice,
            "earned unprinted": self.earned_unprinted,
            "lost": self.lost,
            "by hand": self.kept_by_hand,
            "out of order": self.out_of_order,
        }


@dataclass(frozen=True)
class Placement:
    """A receipt found whole in one printer connection."""

    connection: int
    first: int  # stamp of the read holding its first byte
    last: int  # stamp of the read holding its cut


def placements(sale: Sale, connections: Sequence[PrinterConnection]) -> list[Placement]:
    """Every place ``sale`` reached the printer whole: its body, then (with at most our
    message between) its end, in one connection, and no read of another connection of that
    printer in between."""
    found = []
    for connection in connections:
        data = bytes(connection.data)
        for at in _finds(data, sale.head):
            start = at + len(sale.head)
            end_at = data.find(sale.end, start, start + MESSAGE_ROOM + len(sale.end))
            if end_at < 0 or NUMBER_RE.search(data, start, end_at):
                continue
            first = connection.stamp_at(at)
            last = connection.stamp_at(end_at + len(sale.end) - 1)
            if not _interrupted(connections, connection, first, last):
                found.append(Placement(connection.number, first, last))
    return found


def _history(tries: Sequence[Attempt]) -> str:
    """``refused x3, reset, printed``: what the till saw, attempt by attempt."""
    runs = [(o, len(list(g))) for o, g in itertools.groupby(a.outcome for a in tries)]
    return ", ".join(o if n == 1 else f"{o} x{n}" for o, n in runs) or "never sent"


def _interrupted(
    connections: Sequence[PrinterConnection], own: PrinterConnection, first: int, last: int
) -> bool:
    for other in connections:
        if other is own:
            continue
        at = bisect.bisect_right(other.stamps, first)
        if at < len(other.stamps) and other.stamps[at] < last:
            return True
    return False


def judge(
    sales: Sequence[Sale],
    attempts: Sequence[Attempt],
    printers: dict[str, Sequence[PrinterConnection]],
    awards: Counter[str],
    *,
    unread: Counter[str] | None = None,
    pending: Counter[str] | None = None,
    when_told: dict[str, Sequence[PrinterConnection]] | None = None,
) -> Verdict:
    """Every promise, sale by sale. ``printers``: what the printers finally received (a sale
    printed whole there earns); ``when_told``: what they had when each till had its answer
    (default: ``printers``), for whether a till told "printed" was told the truth; ``awards``:
    earn entries per receipt number in the ledger; ``pending``: awards still waiting
    somewhere the daemon will apply them without a person (journal, inbox); ``unread``:
    receipts kept for ``tillbridge award``."""
    unread = unread or Counter()
    pending = pending or Counter()
    verdict = Verdict(sent=len(sales), attempts=len(attempts))
    by_sale: dict[str, list[Attempt]] = {}
    for attempt in attempts:
        by_sale.setdefault(attempt.sale.number, []).append(attempt)
        if attempt.outcome == PRINTED:
            verdict.told_printed += 1
        else:
            verdict.failed_visibly += 1
    whole_first: dict[str, int] = {}
    for sale in sales:
        tries = by_sale.get(sale.number, [])
        told = sum(1 for a in tries if a.outcome == PRINTED)
        places = placements(sale, printers.get(sale.till, ()))
        places_told = (
            places if when_told is None else placements(sale, when_told.get(sale.till, ()))
        )
        awarded = awards.get(sale.number, 0)
        what = f"{sale.till} receipt #{sale.number}"
        history = _history(tries)
        if places:
            verdict.printed_whole += 1
            whole_first[sale.number] = min(p.first for p in places)
        if told > len(places_told):
            verdict.lied += 1
            verdict.broken.append(
                f"{what}: the till was told 'printed' {told}x but it reached the printer whole "
                f"{len(places_told)}x (attempts: {history})"
            )
        if awarded >= 2:
            verdict.awarded_twice += 1
            verdict.broken.append(f"{what}: awarded {awarded} times (attempts: {history})")
        if awarded == 1:
            verdict.awarded_once += 1
        if awarded and not places:
            verdict.earned_unprinted += 1
            verdict.broken.append(
                f"{what}: awarded but never reached the printer whole (attempts: {history})"
            )
        if places and not awarded and pending.get(sale.number, 0) <= 0:
            if unread.get(sale.number):
                verdict.kept_by_hand += 1
                verdict.broken.append(
                    f"{what}: printed, awarded only by hand (kept in unread/; attempts: {history})"
                )
            else:
                verdict.lost += 1
                verdict.broken.append(
                    f"{what}: printed, no award anywhere (ledger, journal, inbox, unread; "
                    f"attempts: {history})"
                )
    for till in sorted({s.till for s in sales}):
        mine = sorted((s for s in sales if s.number in whole_first), key=lambda s: s.serial)
        mine = [s for s in mine if s.till == till]
        for before, after in itertools.pairwise(mine):
            if whole_first[after.number] < whole_first[before.number]:
                verdict.out_of_order += 1
                verdict.broken.append(
                    f"{till} receipt #{after.number} reached the printer before "
                    f"#{before.number}, which the till sent first"
                )
    return verdict


# --- crash torture ------------------------------------------------------------------------


@dataclass
class TortureResult:
    verdict: Verdict
    seed: int
    kills: int  # SIGKILLs at random moments and just after connects
    connect_kills: int
    starts: int
    seconds: float
    folder: Path
    not_started: list[str] = field(default_factory=list)  # restarts that failed, and why

    def report(self, limit: int = 40) -> str:
        broken = self.verdict.broken
        lines = [
            f"seed {self.seed} (replay: TILLBRIDGE_TORTURE_SEED={self.seed}), "
            f"{self.kills} SIGKILLs ({self.connect_kills} just after a till connected), "
            f"{self.starts} starts, {self.seconds:.0f} s, state in {self.folder}",
            "counts: " + ", ".join(f"{k} {v}" for k, v in self.verdict.row().items()),
            *self.not_started,
            f"{len(broken)} broken promises:",
            *broken[:limit],
        ]
        if len(broken) > limit:
            lines.append(f"... and {len(broken) - limit} more")
        return "\n".join(lines)


def torture(
    folder: Path,
    *,
    seed: int,
    tills: int = 3,
    sales_per_till: int = 80,
    random_kills: int = 15,
    connect_kills: int = 15,
    pause: tuple[float, float] = (0.01, 0.05),
    uptime: tuple[float, float] = (0.0, 0.4),
    sale_deadline: float = 60.0,
    timeout: float = 10.0,
) -> TortureResult:
    """Several tills printing back to back through ``tillbridge run`` while it is killed at
    random moments (``uptime``: seconds after it listens) and just after a till has sent a
    receipt, restarted at once each time (as systemd would). A till resends a receipt that
    failed visibly, as its operator reprints it, until it prints or ``sale_deadline`` passes.
    Then one last start settles the inbox and journal, a graceful stop, and the judge."""
    rng = random.Random(seed)
    began = time.monotonic()
    names = [f"till{k + 1}" for k in range(tills)]
    printers = [CountingPrinter(name) for name in names]
    daemon = DaemonUnderTest(folder, wiring(names, printers))
    sales = {
        name: [make_sale(name, k, serial) for serial in range(sales_per_till)]
        for k, name in enumerate(names)
    }
    attempts: list[Attempt] = []
    done = threading.Event()
    kill_lock = threading.Lock()
    budget = {"connect_done": 0}
    not_started: list[str] = []
    # The kill plan is drawn up front, so the seed alone replays the run: which sales' first
    # attempt is followed by a kill, and how long each start lives before a random kill.
    everyone = [(name, serial) for name in names for serial in range(sales_per_till)]
    plans = set(rng.sample(everyone, min(len(everyone), connect_kills)))
    delays = [rng.uniform(*uptime) for _ in range(random_kills)]
    till_seeds = {name: rng.randrange(2**32) for name in names}

    def supervise() -> None:
        while not done.is_set():
            if not daemon.alive():
                try:
                    daemon.start()
                except BenchError as error:
                    not_started.append(f"a restart failed: {str(error).splitlines()[0]}")
                    time.sleep(0.5)
            time.sleep(0.01)

    def kill_randomly() -> None:
        killed_at = 0.0
        for delay in delays:
            # Each delay counts from when a start listens, not from its spawn.
            while (not daemon.alive() or daemon.started_at < killed_at) and not done.is_set():
                time.sleep(0.005)
            if done.wait(delay):
                return
            killed_at = time.monotonic()
            daemon.kill()

    def connect_kill() -> None:
        if daemon.kill():
            with kill_lock:
                budget["connect_done"] += 1

    def till(name: str) -> None:
        own = random.Random(till_seeds[name])
        port = next(t.port for t in daemon.tills if t.name == name)
        for sale in sales[name]:
            deadline = time.monotonic() + sale_deadline
            first = True
            while True:
                hook = connect_kill if first and (name, sale.serial) in plans else None
                first = False
                started = time.monotonic()
                outcome, detail = send_waiting(port, sale.data, timeout, hook)
                attempt = Attempt(sale, outcome, detail, started, time.monotonic() - started)
                with kill_lock:
                    attempts.append(attempt)
                if outcome == PRINTED or time.monotonic() > deadline:
                    break
                time.sleep(own.uniform(0.05, 0.2))  # the operator reprints
            time.sleep(own.uniform(*pause))

    daemon.start()
    threads = [threading.Thread(target=supervise, daemon=True)]
    threads.append(threading.Thread(target=kill_randomly, daemon=True))
    tills_running = [threading.Thread(target=till, args=(n,), daemon=True) for n in names]
    try:
        for thread in threads + tills_running:
            thread.start()
        for thread in tills_running:
            thread.join()
        done.set()
        for thread in threads:
            thread.join(30)
        daemon.start()
        if not daemon.settle(30):
            not_started.append("the last start did not empty the inbox and journal in 30 s")
        _wait_printers_idle(printers, 5)
        status = daemon.stop()
        if status not in (0, None):
            not_started.append(f"the graceful stop exited {status}")
        seen = {p.name: p.snapshot() for p in printers}
        keep_printed(folder, seen)
        verdict = judge(
            [s for name in names for s in sales[name]],
            attempts,
            seen,
            ledger_awards(daemon.database),
            unread=unread_numbers(daemon),
            pending=journal_numbers(daemon) + inbox_numbers(daemon),
        )
    finally:
        done.set()
        daemon.children.stop_all()
        for printer in printers:
            printer.stop()
    return TortureResult(
        verdict,
        seed,
        daemon.kills,
        budget["connect_done"],
        daemon.starts,
        time.monotonic() - began,
        folder,
        not_started,
    )


def keep_printed(folder: Path, seen: dict[str, Sequence[PrinterConnection]]) -> None:
    """Each printer connection's bytes as ``printed/TILL/NNNN-how-it-ended.bin``, to look at
    after a failure."""
    for till, connections in seen.items():
        out = folder / "printed" / till
        out.mkdir(parents=True, exist_ok=True)
        for c in connections:
            (out / f"{c.number:04d}-{c.ended.replace(' ', '-') or 'open'}.bin").write_bytes(c.data)


def _wait_printers_idle(printers: Sequence[CountingPrinter], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(p.open_connections() for p in printers) and time.monotonic() < deadline:
        time.sleep(0.05)
