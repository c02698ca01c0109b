"""A fake network printer for the bridge bench: run as its own process, one per bench.

``python bench/sink.py [--port 0]`` listens on 127.0.0.1, accepts any number of connections,
reads everything, answers each DLE EOT n (0x10 0x04 n) with one status byte (0x12) at once, and
closes a connection as soon as its peer half-closes (a till that sends a receipt and waits for
the close then sees the printer's last reply and the end).

It reports on standard output, one JSON object a line, times from ``time.monotonic_ns()``
(CLOCK_MONOTONIC: one clock for every process on the machine, so the bench can subtract its
own timestamps from these):

- ``{"ev": "ready", "port": P}`` once, when listening;
- ``{"ev": "open", "conn": N, "t": NS}`` for each connection accepted;
- ``{"ev": "cuts", "conn": N, "t": NS, "cuts": [["004521", ["Balance"]], ...]}`` for each
  read holding cuts (GS V): ``t`` is when the read returned; per cut, the last receipt number
  seen since the connection's previous cut (the 6 digits after ``--tag``, or null) and the
  texts (``--marker``) seen since then. One line per read, not per cut, so that a bulk stream
  of receipts does not make the sink the slowest part of the path;
- ``{"ev": "eof", "conn": N, "t": NS, "bytes": B, "first": NS, "last": NS}`` when the peer
  half-closes or goes: ``first`` and ``last`` are when the first and last data arrived.

A line ``scan off`` on standard input stops the search for cuts, receipt numbers and markers
(status requests are still answered), so that a bulk stream measures the path and not this
sink; ``scan on`` resumes it; each is acknowledged with ``{"ev": "scan", "on": false|true}``.
The sink ends when its standard input closes.

A real printer parses commands; this one scans for byte pairs, which is exact for the bench's
streams (the fixture receipts hold no image payload that could contain GS V or DLE EOT).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import selectors
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import BinaryIO

CUT = b"\x1dV"
DLE, EOT = b"\x10", b"\x04"  # DLE EOT n: a real-time status request
STATUS_REPLY = b"\x12"  # online, drawer closed, no error: what an idle TM printer says
READ_SIZE = 256 * 1024
TAG_DIGITS = 6


@dataclass
class Connection:
    number: int
    sock: socket.socket
    received: int = 0
    first_ns: int = 0
    last_ns: int = 0
    carry: bytes = b""  # unscanned tail since the last cut: a marker or cut split across reads
    last_byte: int = -1  # for a DLE EOT split across reads
    tag: str | None = None  # the receipt number last seen since the previous cut
    markers: set[str] = field(default_factory=set)
    replies: bytearray = field(default_factory=bytearray)


class Sink:
    def __init__(self, listener: socket.socket, tag: bytes, markers: list[str]) -> None:
        self.listener = listener
        self.tag = tag
        self.markers = [(name, name.encode("ascii")) for name in markers]
        # Enough to hold any marker or tag that a read boundary cut in two.
        self.keep = max([len(m) for _, m in self.markers] + [len(tag) + TAG_DIGITS])
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ, None)
        self.opened = 0
        self.scanning = True
        self.out: list[str] = []

    def emit(self, **event: object) -> None:
        self.out.append(json.dumps(event))

    def flush(self) -> None:
        if self.out:
            sys.stdout.write("\n".join(self.out) + "\n")
            sys.stdout.flush()
            self.out.clear()

    def serve(self, control: BinaryIO) -> None:
        self.selector.register(control, selectors.EVENT_READ, control)
        while True:
            for key, mask in self.selector.select():
                if key.data is None:
                    self.accept()
                    continue
                if key.data is control:
                    if not self.command(os.read(control.fileno(), 4096)):
                        return
                    continue
                connection: Connection = key.data
                if mask & selectors.EVENT_READ:
                    self.read(connection)
                if mask & selectors.EVENT_WRITE and connection.sock.fileno() >= 0:
                    self.write(connection)
            self.flush()

    def command(self, data: bytes) -> bool:
        """Lines from the bench on standard input; False at its end (the bench is gone)."""
        if not data:
            return False
        for line in data.splitlines():
            if line.strip() in (b"scan on", b"scan off"):
                self.scanning = line.strip() == b"scan on"
                self.emit(ev="scan", on=self.scanning)
        return True

    def accept(self) -> None:
        try:
            sock, _ = self.listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.opened += 1
        connection = Connection(self.opened, sock)
        self.selector.register(sock, selectors.EVENT_READ, connection)
        self.emit(ev="open", conn=connection.number, t=time.monotonic_ns())

    def read(self, connection: Connection) -> None:
        try:
            data = connection.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        now = time.monotonic_ns()
        if not data:
            self.close(connection, now)
            return
        if not connection.received:
            connection.first_ns = now
        connection.received += len(data)
        connection.last_ns = now
        self.answer_status(connection, data)
        if self.scanning:
            self.scan(connection, data, now)

    def answer_status(self, connection: Connection, data: bytes) -> None:
        requests = int(connection.last_byte == DLE[0] and data[0] == EOT[0])
        # A one-byte find is a memchr, many times faster than count(DLE EOT) on receipt text,
        # and DLE is rare there (a dozen per receipt): the sink must not cap a bulk stream.
        at = data.find(DLE)
        while at >= 0:
            requests += data[at + 1 : at + 2] == EOT
            at = data.find(DLE, at + 1)
        connection.last_byte = data[-1]
        if requests:
            connection.replies += STATUS_REPLY * requests
            self.write(connection)

    def write(self, connection: Connection) -> None:
        try:
            sent = connection.sock.send(connection.replies)
        except BlockingIOError:
            sent = 0
        except OSError:
            connection.replies.clear()
            return
        del connection.replies[:sent]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if connection.replies else 0)
        self.selector.modify(connection.sock, events, connection)

    def scan(self, connection: Connection, data: bytes, now: int) -> None:
        buffer = connection.carry + data if connection.carry else data
        cuts: list[tuple[str | None, list[str]]] = []
        start = 0
        while True:
            cut = buffer.find(CUT, start)
            self.note(connection, buffer, start, cut if cut >= 0 else len(buffer))
            if cut < 0:
                break
            cuts.append((connection.tag, sorted(connection.markers)))
            connection.tag = None
            connection.markers = set()
            start = cut + len(CUT)
        if cuts:
            self.emit(ev="cuts", conn=connection.number, t=now, cuts=cuts)
        # Bytes already scanned may be scanned again with the next read: markers are a set and
        # the tag is the last one, so that is harmless; a cut is never in the carry.
        connection.carry = buffer[max(start, len(buffer) - self.keep) :]

    def note(self, connection: Connection, buffer: bytes, start: int, end: int) -> None:
        """What the bytes ``buffer[start:end]`` (no cut among them) say about the receipt."""
        for name, marker in self.markers:
            if buffer.find(marker, start, end) >= 0:
                connection.markers.add(name)
        at = buffer.rfind(self.tag, start, end)
        if at >= 0:
            digits = buffer[at + len(self.tag) : at + len(self.tag) + TAG_DIGITS]
            # A number cut short by the end of a read is read whole from the carry next time.
            if len(digits) == TAG_DIGITS and digits.isdigit():
                connection.tag = digits.decode("ascii")

    def close(self, connection: Connection, now: int) -> None:
        self.selector.unregister(connection.sock)
        connection.sock.close()
        self.emit(
            ev="eof",
            conn=connection.number,
            t=now,
            bytes=connection.received,
            first=connection.first_ns,
            last=connection.last_ns,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tag", default="T1-", help="the 6 digits after it name a receipt")
    parser.add_argument("--marker", action="append", default=[], help="text to look for")
    args = parser.parse_args()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(1024)
    listener.setblocking(False)
    sink = Sink(listener, args.tag.encode("ascii"), args.marker or ["Balance", "Claim"])
    sink.emit(ev="ready", port=listener.getsockname()[1])
    sink.flush()
    # Stopped by the bench (SIGTERM) or Ctrl-C; a closed pipe means the bench is gone.
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        sink.serve(sys.stdin.buffer)


if __name__ == "__main__":
    main()
