"""A printer behind a device file: a USB printer node (/dev/usb/lp0), a parallel port, a FIFO.

The node is opened non-blocking, read-write when it can be read (a bidirectional printer
answers status requests through it), else write-only. A device that cannot be read after all
(a unidirectional printer) just gives no status replies; a write error ends the connection.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
from typing import Any

from twisted.internet import abstract, defer, fdesc
from twisted.internet.protocol import Protocol as TwistedProtocol
from twisted.python.failure import Failure

log = logging.getLogger(__name__)


class DeviceTransport(abstract.FileDescriptor):
    """A transport over an open non-blocking file descriptor (it closes it at the end)."""

    def __init__(
        self, fd: int, protocol: TwistedProtocol, reactor: Any, readable: bool, name: str = ""
    ) -> None:
        abstract.FileDescriptor.__init__(self, reactor)
        self.fd = fd
        self.name = name or f"fd {fd}"
        self.readable = readable
        self.protocol = protocol
        self.connected = 1
        fdesc.setNonBlocking(fd)
        protocol.makeConnection(self)
        if readable and self.connected and not self.disconnecting:
            self.startReading()

    def fileno(self) -> int:
        return self.fd

    def logPrefix(self) -> str:
        return self.name

    def doRead(self) -> Any:
        try:
            data = os.read(self.fd, 8192)
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.EINTR):
                return None
            data = None
            reason = os.strerror(error.errno or 0)
        else:
            reason = "end of file"
        if data:
            self.protocol.dataReceived(data)
            return None
        # Some printer nodes cannot be read (or not any more): writes tell if it is gone.
        log.info("%s: not readable (%s): no status replies from it", self.name, reason)
        self.stopReading()
        self.readable = False
        return None

    def writeSomeData(self, data: bytes) -> Any:
        return fdesc.writeToFD(self.fd, data)

    def connectionLost(self, reason: Failure) -> None:
        abstract.FileDescriptor.connectionLost(self, reason)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.fd = -1
        self.protocol.connectionLost(reason)

    def getHost(self) -> str:
        return self.name

    def getPeer(self) -> str:
        return self.name


def open_device(path: str) -> tuple[int, bool]:
    """Open ``path`` for the printer: (fd, readable)."""
    flags = os.O_NONBLOCK | os.O_NOCTTY
    if stat.S_ISFIFO(os.stat(path).st_mode):
        # Read-write on a FIFO would read back our own bytes; write-only fails with ENXIO
        # while nobody reads it, which is what an absent printer should look like.
        return os.open(path, os.O_WRONLY | flags), False
    try:
        return os.open(path, os.O_RDWR | flags), True
    except PermissionError:
        return os.open(path, os.O_WRONLY | flags), False


class DeviceFilePrinter:
    """A printer device file, opened for each pairing and closed after it."""

    def __init__(self, path: str, reactor: Any) -> None:
        self.path = path
        self.reactor = reactor
        self.description = f"file:{path}"

    @classmethod
    def from_config(cls, config: Any, reactor: Any) -> DeviceFilePrinter:
        return cls(str(config.path), reactor)

    def connect(self, protocol: TwistedProtocol) -> defer.Deferred[Any]:
        try:
            fd, readable = open_device(self.path)
        except OSError:
            return defer.fail()
        return defer.succeed(DeviceTransport(fd, protocol, self.reactor, readable, self.path))


__all__ = ["DeviceFilePrinter", "DeviceTransport", "open_device"]
