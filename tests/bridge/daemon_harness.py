"""What the daemon's end-to-end tests share: a real ``Daemon`` on 127.0.0.1 with a virtual
printer per till (a ``Rig``), tills that misbehave on purpose, a second SQLite connection that
holds the write lock, the shipped captures with what their ``.json`` says, and the check that a
printed stream is the till's bytes with one message run inserted at each sale's cut."""

from __future__ import annotations

import itertools
import json
import re
import socket
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

from escpos.printer import Network, Serial
from twisted.internet import defer, task
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from zope.interface import implementer

from bridge.config import Endpoint, TcpConnect, TcpListen, default_config
from bridge.daemon import Daemon
from bridge.link import LinkOptions, Pairing
from bridge.session import EndOfReceipt, Mode
from drivers.device_file import DeviceTransport
from drivers.simulated_till import PtyPair, send_tcp
from drivers.virtual_printer import VirtualPrinterFactory
from fixtures.tills import diner_us
from parsers.escpos.events import Command, Control, Cut, Event, Text
from parsers.escpos.tokenizer import Tokenizer
from parsers.receipt import CustomerKind, CustomerRef

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
DLE_EOT_1 = b"\x10\x04\x01"  # real-time status: printer status
GENEROUS = 10.0  # seconds: the most any condition below is waited for
_FEED_CONTROLS = frozenset(("LF", "CR", "FF"))
_FEED_COMMANDS = frozenset(("ESC d", "ESC J"))
# English messages group thousands: "Balance: 1,038 points".
BALANCE_RE = re.compile(rb"Balance: (\d{1,3}(?:,\d{3})*)(?!\d)")
CLAIM_CODE_RE = re.compile(rb"[2-9A-HJ-NP-Z]{3}-[2-9A-HJ-NP-Z]{3}-[2-9A-HJ-NP-Z]{3}")


# --- waiting ---------------------------------------------------------------------------------


async def until(
    reactor: Any, check: Callable[[], bool], what: str, timeout: float = GENEROUS
) -> None:
    """Wait for ``check()`` to hold, polling the reactor; fail after ``timeout`` seconds."""
    deadline = reactor.seconds() + timeout
    while not check():
        if reactor.seconds() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await task.deferLater(reactor, 0.01, lambda: None)


async def within(reactor: Any, d: defer.Deferred[Any], what: str, timeout: float = GENEROUS) -> Any:
    """``await d``, failing after ``timeout`` seconds (the thing under test hung)."""
    d.addTimeout(timeout, reactor)
    try:
        return await d
    except defer.TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


# --- the captures and what their .json says --------------------------------------------------


@dataclass(frozen=True)
class Insertion:
    """Where a message must go: at a stream offset from ``lo`` (the feeds right before the
    cut) to ``hi`` (the cut itself); ``customer`` decides which message."""

    lo: int
    hi: int
    customer: CustomerRef | None
    points: int
    key: tuple[str, ...]  # store, till, number, issued_at: the same sale sent again


@dataclass(frozen=True)
class Capture:
    path: Path
    layout: str
    receipts: tuple[dict[str, Any], ...]
    raw: bytes | None = None  # the bytes, when not the file's (an edited capture)

    @property
    def name(self) -> str:
        return f"{self.path.parent.name}/{self.path.stem}"

    @property
    def data(self) -> bytes:
        return self.raw if self.raw is not None else self.path.read_bytes()

    def renumbered(self, old: str, new: str) -> Capture:
        """The same receipt under another number (the same length): another sale."""
        assert len(old) == len(new) and self.data.count(old.encode()) == 1
        receipts = tuple(
            {**r, "number": new} if r.get("number") == old else r for r in self.receipts
        )
        return replace(self, receipts=receipts, raw=self.data.replace(old.encode(), new.encode()))

    def insertions(self) -> list[Insertion]:
        """One per sale that earns points, at its cut or the stream's end, in stream order."""
        windows = cut_windows(self.data)
        found = []
        for receipt, (lo, hi) in zip(self.receipts, windows, strict=False):
            if earns(receipt):
                found.append(
                    Insertion(lo, hi, customer_of(receipt), points_of(receipt), sale_key(receipt))
                )
        return found


def captures() -> list[Capture]:
    found = []
    for path in sorted(FIXTURES.glob("*/*.bin")):
        expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        found.append(Capture(path, expected["layout"], tuple(expected["receipts"])))
    return found


def capture(name: str) -> Capture:
    """``capture("diner_us/sale_card_tip")``."""
    for each in captures():
        if each.name == name:
            return each
    raise KeyError(name)


def earns(receipt: dict[str, Any]) -> bool:
    """A consistent sale with a positive total (``bridge.loyalty.rules.earns``, from the JSON)."""
    return (
        receipt.get("kind") == "sale"
        and not receipt.get("problems")
        and receipt.get("total") is not None
        and Decimal(receipt["total"]) > 0
    )


def points_of(receipt: dict[str, Any]) -> int:
    """Points at the default rule: one per currency unit of the total less tip, service charge
    and deposits, rounded down."""
    net = Decimal(receipt["total"])
    for held in ("tip", "service_charge"):
        net -= Decimal(receipt.get(held) or 0)
    net -= sum((Decimal(d["amount"]) for d in receipt.get("deposits", [])), Decimal(0))
    return max(int(net.to_integral_value(rounding=ROUND_DOWN)), 0)


def customer_of(receipt: dict[str, Any]) -> CustomerRef | None:
    customer = receipt.get("customer")
    if customer is None:
        return None
    return CustomerRef(CustomerKind(customer["kind"]), customer["value"])


def sale_key(receipt: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(receipt.get(k)) for k in ("store", "till", "number", "issued_at"))


def cut_windows(data: bytes) -> list[tuple[int, int]]:
    """For each receipt end in ``data``: (start of the feeds right before it, the end). An end
    is a cut, or the end of the stream after printed text (the till's close ends a receipt
    with no cut: its message goes before its tail feeds, or after them if they went on)."""
    offset = 0
    feeds_from: int | None = None
    printed = False
    windows = []
    tokenizer = Tokenizer()
    events: list[Event] = [*tokenizer.feed(data), *tokenizer.close()]
    for event in events:
        start, offset = offset, offset + len(event.raw)
        if isinstance(event, Text) and event.text.strip():
            printed = True
        if isinstance(event, Cut):
            windows.append((start if feeds_from is None else feeds_from, start))
            feeds_from = None
            printed = False
        elif (isinstance(event, Control) and event.name in _FEED_CONTROLS) or (
            isinstance(event, Command) and event.name in _FEED_COMMANDS
        ):
            feeds_from = start if feeds_from is None else feeds_from
        else:
            feeds_from = None
    if printed:
        windows.append((offset if feeds_from is None else feeds_from, offset))
    return windows


def split_messages(
    original: bytes, printed: bytes, windows: Sequence[tuple[int, int]]
) -> list[bytes] | None:
    """The runs inserted into ``original`` to make ``printed``, exactly one (non-empty) in each
    window, nothing else changed; None if ``printed`` is not that."""
    places: list[tuple[int, int]] = []  # (offset in original, size of the run inserted there)
    shift = 0  # bytes inserted so far
    done = 0  # offset in original up to which printed has been matched
    for index, (lo, hi) in enumerate(windows):
        last = index == len(windows) - 1
        upto = len(original) if last else windows[index + 1][0]
        found: tuple[int, int] | None = None
        for at in range(max(lo, done), hi + 1):
            if printed[done + shift : at + shift] != original[done:at]:
                break
            tail = original[at:upto]
            if last:
                size = len(printed) - shift - len(original)
                if size > 0 and printed[at + shift + size :] == tail:
                    found = (at, size)
            else:
                after = printed.find(tail, at + shift + 1)
                if after >= 0:
                    found = (at, after - at - shift)
            if found is not None:
                break
        if found is None:
            return None
        places.append(found)
        shift += found[1]
        done = found[0]
    rebuilt = bytearray()
    messages = []
    previous = shift = 0
    for at, size in places:
        message = printed[at + shift : at + shift + size]
        rebuilt += original[previous:at] + message
        messages.append(message)
        previous, shift = at, shift + size
    rebuilt += original[previous:]
    return messages if bytes(rebuilt) == printed else None


@dataclass
class Balances:
    """The balances the messages must show: each sale's points once, however often sent."""

    seen: set[tuple[str, ...]] = field(default_factory=set)
    points: dict[str, int] = field(default_factory=dict)

    def after(self, insertion: Insertion) -> int:
        assert insertion.customer is not None
        customer = insertion.customer.value
        if (customer, *insertion.key) not in self.seen:
            self.seen.add((customer, *insertion.key))
            self.points[customer] = self.points.get(customer, 0) + insertion.points
        return self.points[customer]


def check_inject(capture: Capture, printed: bytes, balances: Balances) -> list[bytes]:
    """Assert ``printed`` is the capture with one message at each earning sale's cut (and
    nothing else changed), each the right message; the messages."""
    insertions = capture.insertions()
    if not insertions:
        assert printed == capture.data, f"{capture.name}: not byte-exact"
        return []
    messages = split_messages(capture.data, printed, [(i.lo, i.hi) for i in insertions])
    assert messages is not None, (
        f"{capture.name}: not the till's bytes plus one message at each sale's cut "
        f"(sent {len(capture.data)}, printed {len(printed)})"
    )
    for insertion, message in zip(insertions, messages, strict=True):
        if insertion.customer is None:
            assert b"Claim" in message, f"{capture.name}: no claim text in {message!r}"
            assert CLAIM_CODE_RE.search(message), f"{capture.name}: no claim code in {message!r}"
            continue
        shown = BALANCE_RE.search(message)
        assert shown is not None, f"{capture.name}: no balance in {message!r}"
        assert int(shown[1].replace(b",", b"")) == balances.after(insertion), capture.name
    return messages


# --- the rig: a daemon, its printers, its tills ----------------------------------------------


@dataclass(frozen=True)
class TillSpec:
    name: str
    layout: str = "diner_us"
    mode: Mode = Mode.INJECT
    max_hold_ms: int = 1500
    end_of_receipt: EndOfReceipt = EndOfReceipt.CUT
    idle_gap_ms: int = 2000
    printer: Endpoint | None = None  # None: a virtual printer on a free port
    listen: Endpoint | None = None  # None: TCP on a free port


@dataclass
class Printed:
    data: bytes  # what the printer received for this job
    replies: bytes  # what the till received back


@dataclass
class Rig:
    reactor: Any
    workdir: Path
    daemon: Daemon
    printers: dict[str, VirtualPrinterFactory] = field(default_factory=dict)
    closers: list[Callable[[], Any]] = field(default_factory=list)

    def till_port(self, till: str) -> int:
        _, _, port = self.daemon.tills[till].address.rpartition(":")
        return int(port)

    def pairing(self, till: str) -> Pairing | None:
        pairings = self.daemon.tills[till].link.pairings
        return next(iter(pairings)) if pairings else None

    def stream(self, till: str) -> bytearray:
        stream = self.printers[till].stream
        assert stream is not None
        return stream

    async def send(self, till: str, data: bytes) -> Printed:
        """Send one job as a network till does; what the printer got for it."""
        printer = self.printers[till]
        stream = self.stream(till)
        start = len(stream)
        replies = await within(
            self.reactor,
            defer.ensureDeferred(send_tcp(self.reactor, *self._to(till), data)),
            f"the {till} job to finish",
        )
        # The till's connection closes when the link is done; the printer then prints what
        # it has and closes its side.
        await until(
            self.reactor,
            lambda: len(stream) - start >= len(data) and not printer.connections,
            f"the {till} printer to get the job",
        )
        return Printed(bytes(stream[start:]), replies)

    async def send_chunks(self, till: str, data: bytes, cuts: Sequence[int]) -> bytes:
        """Send ``data`` cut at ``cuts``, each piece read by the daemon before the next is
        written (so its reads end where the pieces do), then half-close; what the printer
        got."""
        stream = self.stream(till)
        start = len(stream)
        raw = await self.connect(till)
        await until(self.reactor, lambda: self.pairing(till) is not None, "the till's pairing")
        pairing = self.pairing(till)
        assert pairing is not None
        sent = 0
        for piece in pieces(data, cuts):
            raw.write(piece)
            sent += len(piece)
            await until(
                self.reactor, lambda n=sent: pairing.till_bytes >= n, "the daemon to read a piece"
            )
        raw.half_close()
        await within(self.reactor, raw.lost, "the link to close the till's connection")
        await until(
            self.reactor, lambda: len(stream) - start >= len(data), "the printer to get it all"
        )
        return bytes(stream[start:])

    def _to(self, till: str) -> tuple[str, int]:
        return "127.0.0.1", self.till_port(till)

    async def connect(self, till: str) -> RawTill:
        raw = RawTill()
        endpoint = TCP4ClientEndpoint(self.reactor, "127.0.0.1", self.till_port(till), timeout=5)
        await connectProtocol(endpoint, raw)
        return raw

    async def balance(self, customer: CustomerRef | str) -> int:
        desk = self.daemon.desk
        return await desk.in_thread(lambda: desk.ledger.balance(customer))

    async def close(self) -> None:
        await self.daemon.stop()
        for printer in self.printers.values():
            printer.stop()
        for close in reversed(self.closers):
            await defer.maybeDeferred(close)


RigMaker = Callable[..., Awaitable[Rig]]  # the conftest's ``rigs`` fixture


async def start_rig(
    reactor: Any,
    workdir: Path,
    tills: Sequence[TillSpec],
    *,
    database_url: str | None = None,
    retry_interval: float = 5.0,
    link_options: LinkOptions | None = None,
) -> Rig:
    """A daemon on ``default_config(workdir)`` with these tills, started."""
    base = default_config(workdir)
    if database_url is not None:
        base = replace(base, database=replace(base.database, url=database_url))
    rig_printers: dict[str, VirtualPrinterFactory] = {}
    closers: list[Callable[[], Any]] = []
    till_configs = []
    for spec in tills:
        printer_side = spec.printer
        if printer_side is None:
            # Shared: one receive buffer and paper for all the link's connections, as on a
            # real printer, so bytes of two connections at once would show interleaved.
            printer = VirtualPrinterFactory(
                None, (), keep_stream=True, shared=True, reactor=reactor
            )
            port = printer.listen_tcp(reactor)
            closers.append(port.stopListening)
            rig_printers[spec.name] = printer
            printer_side = TcpConnect("127.0.0.1", port.getHost().port)
        till_configs.append(
            replace(
                base.tills[0],
                name=spec.name,
                listen=spec.listen or TcpListen("127.0.0.1", 0),
                printer=printer_side,
                layout=spec.layout,
                mode=spec.mode,
                max_hold_ms=spec.max_hold_ms,
                end_of_receipt=spec.end_of_receipt,
                idle_gap_ms=spec.idle_gap_ms,
            )
        )
    config = replace(base, tills=tuple(till_configs))
    # Virtual printers close once they have printed: the linger only bounds a silent one.
    options = link_options if link_options is not None else LinkOptions(linger=0.2)
    daemon = Daemon(config, reactor, link_options=options, retry_interval=retry_interval)
    rig = Rig(reactor, workdir, daemon, rig_printers, closers)
    try:
        await daemon.start()
    except BaseException:
        await rig.close()
        raise
    return rig


def holding(rig: Rig, till: str) -> bool:
    """A receipt end of ``till`` waits for its handler."""
    pairing = rig.pairing(till)
    return pairing is not None and pairing.session.holding


def database_path(rig: Rig) -> Path:
    url = rig.daemon.config.database.url
    assert url.startswith("sqlite:///"), url
    return Path(url.removeprefix("sqlite:///"))


# --- tills and printers that misbehave ------------------------------------------------------


@implementer(IHalfCloseableProtocol)
class RawTill(Protocol):
    """A TCP till driven step by step: write, half-close or abort when the test says."""

    def __init__(self) -> None:
        self.replies = bytearray()
        self.lost: defer.Deferred[None] = defer.Deferred()

    def connectionMade(self) -> None:
        self.transport.setTcpNoDelay(True)

    def dataReceived(self, data: bytes) -> None:
        self.replies += data

    def write(self, data: bytes) -> None:
        self.transport.write(data)

    def half_close(self) -> None:
        self.transport.loseWriteConnection()

    def abort(self) -> None:
        self.transport.abortConnection()

    def readConnectionLost(self) -> None:
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Failure | None = None) -> None:
        if not self.lost.called:
            self.lost.callback(None)


class DroppingPrinter(Factory):
    """A printer that resets its connection after ``after`` bytes (power cut, cable pulled)."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.received = bytearray()
        self.dropped = 0

    def buildProtocol(self, addr: Any) -> Protocol:
        return _DroppingConnection(self)


class _DroppingConnection(Protocol):
    def __init__(self, printer: DroppingPrinter) -> None:
        self.printer = printer
        self.count = 0

    def dataReceived(self, data: bytes) -> None:
        self.printer.received += data
        self.count += len(data)
        if self.count >= self.printer.after and self.transport.connected:
            self.printer.dropped += 1
            self.transport.abortConnection()


def pieces(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    """``data`` cut at the offsets ``cuts`` (any order, out of range clipped); no empty piece."""
    bounds = sorted({0, len(data), *(min(max(c, 0), len(data)) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]


class _CableEnd(Protocol):
    def __init__(self) -> None:
        self.peer: _CableEnd | None = None

    def dataReceived(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)


class NullModem:
    """A serial cable between two pseudo-terminals: what one side's master reads, the other
    side's master writes. Each end's slave path is opened as a serial port by one party."""

    def __init__(self, reactor: Any, one: PtyPair, other: PtyPair) -> None:
        self.ends = (_CableEnd(), _CableEnd())
        self.ends[0].peer, self.ends[1].peer = self.ends[1], self.ends[0]
        for end, pair in zip(self.ends, (one, other), strict=True):
            DeviceTransport(pair.master, end, reactor, readable=True, name=f"cable {pair.path}")

    def close(self) -> None:
        for end in self.ends:
            end.transport.loseConnection()


def escpos_network_till(port: int, data: bytes) -> None:
    """python-escpos's ``Network`` as the till (blocking: run it in a thread)."""
    till = Network("127.0.0.1", port, timeout=GENEROUS)
    till.open()
    till._raw(data)
    till.close()


def escpos_serial_till(device: str, data: bytes) -> None:
    """python-escpos's ``Serial`` as the till (blocking). A pseudo-terminal has no DTR/DSR."""
    till = Serial(devfile=device, baudrate=115200, timeout=GENEROUS, dsrdtr=False)
    till.open()
    till._raw(data)
    till.close()


def escpos_api_check(port: int, number: str, cut: bool = True) -> None:
    """Joe's Diner's till printing a guest check with python-escpos's own API (``text``,
    ``set``, ``cut``) straight onto the wire, as ``fixtures/tills/diner_us.py`` prints
    into a Dummy; a phone number on it, so it earns points for a customer. ``cut=False``:
    a printer without cutter, fed past its tear bar (``ln``) instead, then the close."""
    r = replace(diner_us.card_sale_with_tip(), number=number)
    assert r.issued_at is not None and r.total is not None and r.customer is not None
    p = Network("127.0.0.1", port, timeout=GENEROUS, profile="TM-T88V")
    p.open()
    p.charcode("CP437")
    p.set(align="center", bold=True, double_width=True, double_height=True)
    p.text(f"{r.store}\n")
    p.set(align="center", bold=False, normal_textsize=True)
    p.text("1420 Route 9, Albany NY 12207\n")
    p.text("Tel (518) 555-0142\n")
    p.set(align="left")
    p.text("\n")
    day = f"{r.issued_at.month:02d}/{r.issued_at.day:02d}/{r.issued_at.year}"
    clock = r.issued_at.strftime("%I:%M %p").lstrip("0")
    p.text(diner_us.columns("Server: Maria", "Table: 12", diner_us.WIDTH) + "\n")
    p.text(diner_us.columns(f"Check #{r.number}", "Guests: 2", diner_us.WIDTH) + "\n")
    p.text(f"Station: {r.till}\n")
    p.text(diner_us.columns(day, clock, diner_us.WIDTH) + "\n")
    p.text(diner_us.RULE + "\n")
    for item in r.items:
        p.text(
            diner_us.columns(
                f"{item.qty:<2} {item.name}", diner_us.usd(item.amount), diner_us.WIDTH
            )
            + "\n"
        )
        if item.unit_price is not None:
            p.text(f"     @ {diner_us.usd(item.unit_price)}\n")
    p.text(diner_us.RULE + "\n")
    for label, amount in (
        ("SUBTOTAL", r.subtotal),
        *((f"Sales Tax {t.rate}%", t.amount) for t in r.taxes),
        ("TIP", r.tip),
    ):
        assert amount is not None
        p.text(diner_us.columns(label, diner_us.usd(amount), diner_us.WIDTH) + "\n")
    p.set(bold=True)
    p.text(diner_us.columns("TOTAL", diner_us.usd(r.total), diner_us.WIDTH) + "\n")
    p.set(bold=False)
    for tender in r.tenders:
        label = f"{tender.method.upper()} ****4417"
        p.text(diner_us.columns(label, diner_us.usd(tender.amount), diner_us.WIDTH) + "\n")
        p.text("AUTH 084412\n")
    p.text(diner_us.RULE + "\n")
    p.set(align="center")
    v = r.customer.value
    p.text(f"Rewards phone: {v[:3]}-{v[3:6]}-{v[6:]}\n")
    p.text("Thank you! Come again soon.\n")
    p.text("www.joesdiner-albany.com\n")
    p.set(align="left")
    if cut:
        p.cut()
    else:
        p.ln(4)
    p.close()


def free_port() -> int:
    """A TCP port nobody listens on now (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WriteLock:
    """Another connection to the daemon's SQLite file holding the write lock
    (``BEGIN EXCLUSIVE``): awards wait on the daemon's busy timeout until ``release``."""

    def __init__(self, path: Path) -> None:
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            path, isolation_level=None, timeout=GENEROUS, check_same_thread=False
        )
        self._conn.execute("BEGIN EXCLUSIVE")

    @property
    def held(self) -> bool:
        return self._conn is not None

    def release(self) -> None:
        if self._conn is not None:
            self._conn.execute("ROLLBACK")
            self._conn.close()
            self._conn = None


# `tillbridge run` as a process: a config with one TCP till (diner layout) and SQLite; format
# it with till_port and printer_port (the till's table is last: keys appended go to it).
CONFIG = """\
log_level = "info"
journal = "journal.jsonl"

[database]
url = "sqlite:///tillbridge.db"

[[tills]]
name = "front"
listen = "tcp:127.0.0.1:{till_port}"
printer = "tcp:127.0.0.1:{printer_port}"
layout = "diner_us"
"""
