"""The till side of the bridge bench: what a network till does to a printer port.

Times come from ``time.monotonic_ns()``, the clock the sink stamps its events with.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from bench.children import BenchError, SinkMonitor, cut_tagged, eof_count

ROOT = Path(__file__).resolve().parent.parent
SALE = ROOT / "fixtures" / "bakery_es" / "sale_customer_card.bin"
SALE_NUMBER = b"004521"  # in the ticket line and the QR code's URL: same length, so both stay valid
STATUS_REQUEST = b"\x10\x04\x01"  # DLE EOT 1: transmit printer status
TIMEOUT = 30.0


def sale_receipt(number: int) -> bytes:
    """The loyalty-card sale with its own ticket number, so each is a new sale to award (a
    resent receipt is a reprint to the ledger) and the sink can tell receipts apart."""
    tag = f"{number:06d}".encode("ascii")
    return _sale().replace(SALE_NUMBER, tag)


@cache
def _sale() -> bytes:
    return SALE.read_bytes()


def receipt_stream(size: int) -> bytes:
    """The sale receipt over and over: a realistic till stream of ``size`` bytes or a little
    more (whole receipts)."""
    receipt = SALE.read_bytes()
    return receipt * -(-size // len(receipt))


def connect(port: int, sndbuf: int | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    if sndbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.connect(("127.0.0.1", port))
    return sock


def read_to_end(sock: socket.socket) -> int:
    """Read the printer's replies until the far side closes; how many bytes came."""
    count = 0
    while chunk := sock.recv(65536):
        count += len(chunk)
    return count


# --- one connection at a time -------------------------------------------------------------


def bulk_throughput(port: int, data: bytes, sink: SinkMonitor) -> float:
    """MB/s from connect to the sink's last byte, one connection sending ``data``."""
    mark = sink.mark()
    start = time.monotonic_ns()
    with connect(port) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        read_to_end(sock)
    eof = sink.wait_for(mark, eof_count(1), TIMEOUT, "the bulk stream's end")[0]
    if eof["bytes"] < len(data):
        raise BenchError(f"the sink got {eof['bytes']} of {len(data)} bytes")
    return eof["bytes"] / ((eof["last"] - start) / 1e9) / 1e6


def status_round_trips(port: int, count: int, warmup: int = 50) -> list[int]:
    """ns per DLE EOT 1 → status byte, on one connection."""
    timings: list[int] = []
    with connect(port) as sock:
        for index in range(warmup + count):
            start = time.perf_counter_ns()
            sock.sendall(STATUS_REQUEST)
            if not sock.recv(1):
                raise BenchError("the connection closed before a status reply")
            if index >= warmup:
                timings.append(time.perf_counter_ns() - start)
        sock.shutdown(socket.SHUT_WR)
        read_to_end(sock)
    return timings


@dataclass(frozen=True)
class CutTiming:
    latency_ns: int  # from the till's last write to the sink seeing the cut
    markers: tuple[str, ...]  # what the sink saw before that cut: Balance, Claim


def print_receipt(port: int, number: int, sink: SinkMonitor) -> CutTiming:
    """As a network till does: connect, send the receipt, half-close, wait for the close."""
    tag = f"{number:06d}"
    mark = sink.mark()
    with connect(port) as sock:
        sock.sendall(sale_receipt(number))
        sent = time.monotonic_ns()
        sock.shutdown(socket.SHUT_WR)
        read_to_end(sock)
    cut = sink.wait_for(mark, cut_tagged(tag), TIMEOUT, f"the cut of receipt {tag}")
    return CutTiming(cut["t"] - sent, tuple(cut["markers"]))


def print_receipts(port: int, numbers: Sequence[int], sink: SinkMonitor) -> list[CutTiming]:
    """As a till on one long connection (a serial till, or a network till that keeps its
    connection open): each receipt sent once the previous one's cut reached the printer."""
    timings = []
    with connect(port) as sock:
        for number in numbers:
            tag = f"{number:06d}"
            mark = sink.mark()
            sock.sendall(sale_receipt(number))
            sent = time.monotonic_ns()
            cut = sink.wait_for(mark, cut_tagged(tag), TIMEOUT, f"the cut of receipt {tag}")
            timings.append(CutTiming(cut["t"] - sent, tuple(cut["markers"])))
        sock.shutdown(socket.SHUT_WR)
        read_to_end(sock)
    return timings


class StatusProbe:
    """DLE EOT round trips on long connections while something else runs, in a thread: one to
    the bridge, one straight to the printer, taking turns, one pair every ``interval`` s."""

    def __init__(self, bridge_port: int, printer_port: int, interval: float = 0.01) -> None:
        self.timings: dict[str, list[int]] = {"direct": [], "tillbridge": []}
        self._socks = {"direct": connect(printer_port), "tillbridge": connect(bridge_port)}
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._probe, name="status-probe", daemon=True)
        self._thread.start()

    def _probe(self) -> None:
        while not self._stop.wait(self._interval):
            for path, sock in self._socks.items():
                start = time.perf_counter_ns()
                sock.sendall(STATUS_REQUEST)
                if not sock.recv(1):
                    return
                self.timings[path].append(time.perf_counter_ns() - start)

    def stop(self) -> dict[str, list[int]]:
        self._stop.set()
        self._thread.join()
        for sock in self._socks.values():
            sock.close()
        return self.timings


# --- many connections ---------------------------------------------------------------------


def open_idle(ports: int | Sequence[int], count: int) -> list[socket.socket]:
    """``count`` connections to ``ports`` (one port: all to it; a list: one to each)."""
    return [connect(port) for port in _spread(ports, count)]


def _spread(ports: int | Sequence[int], count: int) -> list[int]:
    return [ports] * count if isinstance(ports, int) else list(ports)[:count]


def close_all(sockets: Sequence[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


class Streams:
    """``count`` tills streaming the receipt stream as fast as the path takes it, until
    ``stop()``."""

    # What a till may have queued in its kernel when it stops: small, or the end of a stream
    # through a slow path (inject mode reads every receipt) takes many seconds to drain.
    SNDBUF = 64 * 1024

    def __init__(self, port: int | Sequence[int], count: int, chunk: bytes) -> None:
        self.chunk = chunk
        self.stopping = threading.Event()
        self.sent = [0] * count
        self.errors: list[BaseException] = []
        self.sockets = [connect(each, self.SNDBUF) for each in _spread(port, count)]
        self.threads = [
            threading.Thread(target=self._stream, args=(index,), daemon=True)
            for index in range(count)
        ]
        for thread in self.threads:
            thread.start()

    def _stream(self, index: int) -> None:
        sock = self.sockets[index]
        try:
            while not self.stopping.is_set():
                sock.sendall(self.chunk)
                self.sent[index] += len(self.chunk)
            sock.shutdown(socket.SHUT_WR)
            read_to_end(sock)
        except OSError as error:
            self.errors.append(error)
        finally:
            sock.close()

    def stop(self) -> int:
        """Stop sending; wait until every stream is closed; total bytes sent."""
        self.stopping.set()
        for thread in self.threads:
            thread.join(TIMEOUT)
        if self.errors:
            raise BenchError(f"a stream failed: {self.errors[0]}")
        return sum(self.sent)


# --- a fleet of tills, each printing once a second ----------------------------------------


@dataclass
class FleetResult:
    sent: dict[str, int] = field(default_factory=dict)  # tag → ns of the last write
    late_starts: int = 0  # receipts that began more than 100 ms after their slot
    failures: list[str] = field(default_factory=list)
    cpu_s: float = 0.0  # what the simulated tills' own process spent


def run_fleet(ports: Sequence[int], receipts: int, first_number: int) -> FleetResult:
    """One till per port, each printing ``receipts`` sales a second apart, one connection per
    receipt; receipt numbers from ``first_number`` on. The tills run in a process of their own
    (``bench/fleet_client.py``)."""
    command = [sys.executable, "-m", "bench.fleet_client", *map(str, ports)]
    command += ["--receipts", str(receipts), "--first", str(first_number)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"the fleet client failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout)
    return FleetResult(report["sent"], report["late_starts"], report["failures"], report["cpu_s"])
