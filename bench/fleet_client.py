"""Many network tills at once, in a process of their own: each prints a sale a second on a
connection of its own (connect, send, half-close, wait for the bridge's close).

Run by ``bridge_bench.py`` (``python -m bench.fleet_client PORTS...``); it prints one JSON
object: ``sent`` (receipt tag → ``time.monotonic_ns()`` of its last write), ``late_starts``
(receipts begun more than 100 ms after their slot), ``failures``, ``cpu_s`` (its own CPU).

Why a process and a plain ``selectors`` loop: run on the bench's own asyncio loop, beside the
sink monitor's thread, the simulated tills fell behind at 200 tills and more (thousands of late
starts), so those rows measured the client as much as the bridge.
"""

from __future__ import annotations

import argparse
import errno
import heapq
import json
import selectors
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tills import TIMEOUT, sale_receipt  # noqa: E402

LATE_S = 0.1


@dataclass
class _Connection:
    tag: str
    port: int
    data: memoryview
    sock: socket.socket
    deadline: float
    sent_ns: int | None = None


@dataclass
class FleetRun:
    sent: dict[str, int] = field(default_factory=dict)
    late_starts: int = 0
    failures: list[str] = field(default_factory=list)


def run(ports: Sequence[int], receipts: int, first_number: int, start_in: float = 0.5) -> FleetRun:
    """Till ``t`` (one per port) prints receipts ``first_number + t * receipts + k``, one a
    second, the tills staggered over the second as real ones are."""
    result = FleetRun()
    selector = selectors.DefaultSelector()
    start = time.monotonic() + start_in
    stagger = 1.0 / len(ports)
    slots = [
        (start + till * stagger + k, first_number + till * receipts + k, port)
        for till, port in enumerate(ports)
        for k in range(receipts)
    ]
    heapq.heapify(slots)
    open_: dict[int, _Connection] = {}

    def fail(conn: _Connection, why: str) -> None:
        result.failures.append(f"receipt {conn.tag} on port {conn.port}: {why}")
        close(conn)

    def close(conn: _Connection) -> None:
        open_.pop(conn.sock.fileno(), None)
        selector.unregister(conn.sock)
        conn.sock.close()

    def begin(number: int, port: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = memoryview(sale_receipt(number))
        conn = _Connection(f"{number:06d}", port, data, sock, time.monotonic() + TIMEOUT)
        code = sock.connect_ex(("127.0.0.1", port))
        open_[sock.fileno()] = conn
        selector.register(sock, selectors.EVENT_WRITE, conn)
        if code not in (0, errno.EINPROGRESS):
            fail(conn, errno.errorcode.get(code, str(code)))

    def writable(conn: _Connection) -> None:
        error = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            fail(conn, errno.errorcode.get(error, str(error)))
            return
        try:
            conn.data = conn.data[conn.sock.send(conn.data) :]
        except BlockingIOError:
            return
        except OSError as exc:
            fail(conn, repr(exc))
            return
        if not conn.data:
            conn.sent_ns = time.monotonic_ns()
            conn.sock.shutdown(socket.SHUT_WR)
            selector.modify(conn.sock, selectors.EVENT_READ, conn)

    def readable(conn: _Connection) -> None:
        try:
            chunk = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as exc:
            fail(conn, repr(exc))
            return
        if not chunk:  # the bridge closed: the receipt is printed, as far as the till knows
            assert conn.sent_ns is not None
            result.sent[conn.tag] = conn.sent_ns
            close(conn)

    while slots or open_:
        now = time.monotonic()
        while slots and slots[0][0] <= now:
            slot, number, port = heapq.heappop(slots)
            result.late_starts += now - slot > LATE_S
            begin(number, port)
        wait = min(slots[0][0] - now, 0.05) if slots else 0.05
        for key, events in selector.select(max(wait, 0)):
            conn = key.data
            if events & selectors.EVENT_WRITE:
                writable(conn)
            elif events & selectors.EVENT_READ:
                readable(conn)
        now = time.monotonic()
        for conn in [c for c in open_.values() if c.deadline < now]:
            fail(conn, "timed out")
    selector.close()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ports", type=int, nargs="+")
    parser.add_argument("--receipts", type=int, required=True, help="receipts per till")
    parser.add_argument("--first", type=int, required=True, help="the first receipt's number")
    args = parser.parse_args(argv)
    result = run(args.ports, args.receipts, args.first)
    json.dump(
        {
            "sent": result.sent,
            "late_starts": result.late_starts,
            "failures": result.failures,
            "cpu_s": time.process_time(),
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
