"""A till, simulated on the reactor: it sends captured receipts and collects the status replies.

For the demo and the end-to-end tests, where the daemon and the virtual printer run on the same
reactor (``tillbridge send`` is the blocking command-line twin). Over TCP it behaves as a
network till: one connection per job, the bytes, then a half-close, and it waits for the other
side to close (the printer's last status replies still arrive meanwhile). Over a serial line
(the master side of a pseudo-terminal whose slave the bridge opened) the line stays open.
"""

from __future__ import annotations

import os
from typing import Any

from twisted.internet import defer
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from zope.interface import implementer

from drivers.device_file import DeviceTransport


@implementer(IHalfCloseableProtocol)
class TillJob(Protocol):
    """One job over TCP: ``done`` fires with the bytes the other side sent back."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.replies = bytearray()
        self.done: defer.Deferred[bytes] = defer.Deferred()

    def connectionMade(self) -> None:
        self.transport.setTcpNoDelay(True)
        self.transport.write(self.data)
        self.transport.loseWriteConnection()

    def dataReceived(self, data: bytes) -> None:
        self.replies += data

    def readConnectionLost(self) -> None:
        self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        pass

    def connectionLost(self, reason: Failure | None = None) -> None:
        if not self.done.called:
            self.done.callback(bytes(self.replies))


async def send_tcp(reactor: Any, host: str, port: int, data: bytes) -> bytes:
    """Send one job to ``host:port`` as a network till does; the replies it got."""
    job = TillJob(data)
    await connectProtocol(TCP4ClientEndpoint(reactor, host, port, timeout=5), job)
    return await job.done


class SerialTill(Protocol):
    """A till on a serial line: the master side of a pseudo-terminal, kept open."""

    def __init__(self) -> None:
        self.replies = bytearray()

    def dataReceived(self, data: bytes) -> None:
        self.replies += data

    @classmethod
    def on_fd(cls, reactor: Any, master_fd: int) -> SerialTill:
        till = cls()
        DeviceTransport(master_fd, till, reactor, readable=True, name=f"till pty {master_fd}")
        return till

    def send(self, data: bytes) -> None:
        self.transport.write(data)

    def close(self) -> None:
        self.transport.loseConnection()


class PtyPair:
    """A pseudo-terminal standing in for a serial cable: the till writes on ``master``, the
    bridge opens ``path`` (the slave side) as its serial port."""

    def __init__(self) -> None:
        import tty

        self.master, self._slave = os.openpty()
        # Raw on the slave: no echo, no CR/LF translation, as a real serial line.
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        # The slave stays open here too, so the master never reads EIO while the bridge has
        # the port closed (between its retries, or before it opens it).

    def close(self) -> None:
        if self._slave >= 0:
            os.close(self._slave)
            self._slave = -1
