"""``tillbridge send FILE... --to ENDPOINT [--pause SECONDS]``: act as a till.

Sends raw ESC/POS captures (``fixtures/*/*.bin``) byte for byte to a printer, or to the bridge's
till side, as a till would. ENDPOINT is ``tcp:HOST:PORT`` (a network till: one connection per
file, TCP_NODELAY, half-closed after the last byte), ``serial:DEVICE[:BAUD[:FRAMING][:FLOW]]``
(opened once, each file written in turn) or ``file:PATH`` (a printer device file, opened once;
it must exist).

Whatever comes back while sending (replies to DLE EOT, GS r... a till waits for them) is read
and counted; after each file's last byte it keeps reading until the printer closes or has been
silent for a second once it has taken every byte, so its last replies are seen too.

Prints one line per file, ``sent NAME: N bytes, M status bytes back``, then a summary line.

Exit status: 0 when every file was sent; 1 when a file could not be read (it is named on
standard error and the others are still sent) or the endpoint failed (connection refused or
reset, device missing, no data taken for 30 s: the remaining files are not sent); 2 for a bad
``--to`` or ``--pause``; 130 when interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import os
import select
import socket
import stat
import struct
import sys
import termios
import time
from pathlib import Path
from typing import Protocol

import serial

from bridge.config import (
    ConfigError,
    DeviceFile,
    Endpoint,
    SerialPortConfig,
    TcpConnect,
    parse_endpoint,
)

_PROG = "tillbridge send"
SILENCE = 1.0  # seconds without a reply, once every byte is taken, that end a file
STALL = 30.0  # seconds a printer may take no data at all before we give up
CONNECT_TIMEOUT = 10.0
_POLL = 0.05
# A tty reports itself writable once 256 bytes fit (Linux WAKEUP_CHARS): a chunk this size
# never blocks the write, so replies keep being read while a slow printer drains.
_SERIAL_CHUNK = 256
_TCP_CHUNK = 16 * 1024
_READ_SIZE = 4096


class LinkError(Exception):
    """The endpoint failed: refused, reset, gone, or stuck; the message says which."""


class Link(Protocol):
    """One open channel to the printer, driven with ``select``."""

    reads: bool  # False: write-only (a device file that cannot be read)

    def fileno(self) -> int: ...

    def write_some(self, data: memoryview) -> int:
        """Write a prefix of ``data`` without waiting for room; the bytes written."""
        ...

    def read_some(self) -> bytes | None:
        """What the printer sent (``b""``: nothing yet); None at its end of file."""
        ...

    def unsent(self) -> int:
        """Bytes written here that the printer has not taken yet."""
        ...

    def end_of_job(self) -> None:
        """The file's last byte is written."""
        ...

    def close(self) -> None: ...


def run(args: argparse.Namespace) -> int:
    try:
        endpoint = parse_endpoint(args.to, "printer", key="--to")
    except ConfigError as error:
        print(f"{_PROG}: {error}", file=sys.stderr)
        return 2
    if not args.pause >= 0:
        print(f"{_PROG}: --pause {args.pause:g}: give zero or more seconds", file=sys.stderr)
        return 2
    status = 0
    sent = total_bytes = total_back = 0
    shared: Link | None = None
    try:
        if not isinstance(endpoint, TcpConnect):
            shared = open_link(endpoint)
        for name in args.files:
            try:
                data = Path(name).read_bytes()
            except OSError as error:
                print(f"{_PROG}: cannot read {name}: {error.strerror or error}", file=sys.stderr)
                status = 1
                continue
            if sent and args.pause:
                time.sleep(args.pause)
            link = shared or open_link(endpoint)
            try:
                back = exchange(link, data)
            finally:
                if link is not shared:
                    link.close()
            print(f"sent {name}: {len(data)} bytes, {back} status bytes back")
            sent += 1
            total_bytes += len(data)
            total_back += back
    except LinkError as error:
        print(f"{_PROG}: {args.to}: {error}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=sys.stderr)
        status = 130
    finally:
        if shared is not None:
            shared.close()
    count = len(args.files)
    files = f"{sent} of {count}" if sent != count else str(sent)
    files += " file" if count == 1 else " files"
    print(f"sent {files} to {args.to}: {total_bytes} bytes, {total_back} status bytes back")
    return status


def exchange(link: Link, data: bytes) -> int:
    """Write ``data`` as a till would and count the reply bytes, the last ones included."""
    replies = 0
    view = memoryview(data)
    done = 0
    ended = not link.reads
    while done < len(view):
        readers = [] if ended else [link]
        readable, writable, _ = select.select(readers, [link], [], STALL)
        if not readable and not writable:
            raise LinkError(
                f"the printer took no data for {STALL:g} s "
                f"({done} of {len(view)} bytes sent; offline? out of paper?)"
            )
        if readable:
            chunk = link.read_some()
            if chunk is None:
                ended = True  # it may still read: a half-close, or a write-only device
            else:
                replies += len(chunk)
        if writable:
            done += link.write_some(view[done:])
    link.end_of_job()
    heard = time.monotonic()  # the last reply, or the last time the printer took bytes
    waiting = link.unsent()
    while not ended:
        readable, _, _ = select.select([link], [], [], _POLL)
        now = time.monotonic()
        if readable:
            chunk = link.read_some()
            if chunk is None:
                break
            replies += len(chunk)
            heard = now
            continue
        # The silence only counts once the printer has every byte: a slow one may not have
        # read the GS r at the end of the file yet.
        left = link.unsent()
        if left != waiting:
            waiting, heard = left, now
        elif left and now - heard >= STALL:
            raise LinkError(f"the printer took no data for {STALL:g} s ({left} bytes left)")
        elif not left and now - heard >= SILENCE:
            break
    return replies


def open_link(endpoint: Endpoint) -> Link:
    """Open the endpoint; raises ``LinkError`` naming what went wrong."""
    if isinstance(endpoint, TcpConnect):
        return TcpLink.connect(endpoint)
    if isinstance(endpoint, SerialPortConfig):
        return SerialLink.open(endpoint)
    if isinstance(endpoint, DeviceFile):
        return DeviceFileLink.open(endpoint.path)
    raise LinkError(f"cannot send to {endpoint}")


class TcpLink:
    """A network till's connection: one per receipt file."""

    reads = True

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    @classmethod
    def connect(cls, endpoint: TcpConnect) -> TcpLink:
        try:
            sock = socket.create_connection((endpoint.host, endpoint.port), CONNECT_TIMEOUT)
        except ConnectionRefusedError:
            raise LinkError("connection refused: is the printer (or bridge) listening?") from None
        except socket.gaierror as error:
            raise LinkError(f"cannot resolve {endpoint.host}: {error.strerror}") from None
        except TimeoutError:
            raise LinkError(f"no answer within {CONNECT_TIMEOUT:g} s") from None
        except OSError as error:
            raise LinkError(f"cannot connect: {_reason(error)}") from None
        sock.settimeout(None)
        # Status requests are a few bytes and the till waits for their answer: no Nagle delay.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock)

    def fileno(self) -> int:
        return self._sock.fileno()

    def write_some(self, data: memoryview) -> int:
        try:
            return self._sock.send(data[:_TCP_CHUNK], socket.MSG_DONTWAIT)
        except BlockingIOError:
            return 0
        except OSError as error:
            raise LinkError(f"the connection broke while sending: {_reason(error)}") from None

    def read_some(self) -> bytes | None:
        try:
            return self._sock.recv(_READ_SIZE, socket.MSG_DONTWAIT) or None
        except BlockingIOError:
            return b""
        except OSError as error:
            raise LinkError(f"the connection broke: {_reason(error)}") from None

    def unsent(self) -> int:
        # Linux SIOCOUTQ (= TIOCOUTQ): bytes the printer has not acknowledged yet.
        try:
            raw = fcntl.ioctl(self._sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
        except OSError:
            return 0
        return int(struct.unpack("i", raw)[0])

    def end_of_job(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError as error:
            raise LinkError(f"the connection broke: {_reason(error)}") from None

    def close(self) -> None:
        self._sock.close()


class SerialLink:
    """A serial till's port, opened once with pyserial."""

    reads = True

    def __init__(self, port: serial.Serial) -> None:
        self._port = port

    @classmethod
    def open(cls, endpoint: SerialPortConfig) -> SerialLink:
        try:
            port = serial.Serial(
                endpoint.device,
                baudrate=endpoint.baudrate,
                bytesize=endpoint.bytesize,
                parity=endpoint.parity,
                stopbits=endpoint.stopbits,
                xonxoff=endpoint.flow == "xonxoff",
                # dsrdtr: the printer's DTR is wired to our CTS (docs/config.md), as the daemon.
                rtscts=endpoint.flow in ("rtscts", "dsrdtr"),
                timeout=0,
                write_timeout=STALL,
            )
        except (serial.SerialException, ValueError) as error:
            raise LinkError(f"cannot open {endpoint.device}: {_reason(error)}") from None
        return cls(port)

    def fileno(self) -> int:
        return int(self._port.fileno())

    def write_some(self, data: memoryview) -> int:
        chunk = bytes(data[:_SERIAL_CHUNK])
        try:
            return int(self._port.write(chunk) or 0)
        except serial.SerialTimeoutException:
            raise LinkError(f"the printer took no data for {STALL:g} s") from None
        except serial.SerialException as error:
            raise LinkError(f"the port failed while sending: {_reason(error)}") from None

    def read_some(self) -> bytes | None:
        try:
            return bytes(self._port.read(max(1, self._port.in_waiting)))
        except (serial.SerialException, OSError) as error:
            raise LinkError(f"the port failed: {_reason(error)}") from None

    def unsent(self) -> int:
        try:
            return int(self._port.out_waiting)
        except (serial.SerialException, OSError):
            return 0

    def end_of_job(self) -> None:
        """A serial line has no end of job: the silence after it is the end."""

    def close(self) -> None:
        with contextlib.suppress(serial.SerialException, OSError):
            self._port.close()


class DeviceFileLink:
    """A printer device file (``/dev/usb/lp0``), opened once; read too when it is a device."""

    def __init__(self, fd: int, reads: bool) -> None:
        self._fd = fd
        self.reads = reads

    @classmethod
    def open(cls, path: Path) -> DeviceFileLink:
        try:
            # Never create it: a missing node means the printer is unplugged.
            if stat.S_ISCHR(os.stat(path).st_mode):
                try:
                    # A bidirectional printer answers status requests through its node.
                    return cls(os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK), True)
                except PermissionError:
                    pass
            # A plain file or FIFO would read back what we wrote: write only, appending.
            return cls(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOCTTY), False)
        except OSError as error:
            raise LinkError(f"cannot open {path}: {_reason(error)}") from None

    def fileno(self) -> int:
        return self._fd

    def write_some(self, data: memoryview) -> int:
        try:
            return os.write(self._fd, data)
        except BlockingIOError:
            return 0
        except OSError as error:
            raise LinkError(f"writing failed: {_reason(error)}") from None

    def read_some(self) -> bytes | None:
        try:
            return os.read(self._fd, _READ_SIZE) or None
        except BlockingIOError:
            return b""
        except OSError:
            return None  # some printer nodes cannot be read after all: no status from them

    def unsent(self) -> int:
        return 0

    def end_of_job(self) -> None:
        """A device file has no end of job."""

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def _reason(error: BaseException) -> str:
    """The system's words for an error (pyserial wraps them in its own)."""
    code = getattr(error, "errno", None)
    if isinstance(code, int) and code in errno.errorcode:
        return os.strerror(code)
    return str(error)
