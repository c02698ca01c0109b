"""What the byte path asks of any transport, whatever the wire: buffers, kernel queues, TCP
options, and a valve to pass backpressure from one transport to another.

``unsent_bytes`` is the truth test of a normal close: bytes still in Twisted's buffer plus those
the kernel has not had acknowledged (a TCP socket's ``SIOCOUTQ``) or not yet sent down the line
(a serial port's ``TIOCOUTQ``). Only when it is 0 has the printer taken every byte.
"""

from __future__ import annotations

import contextlib
import fcntl
import socket
import struct
import termios
from collections.abc import Callable
from typing import Any, Protocol

from twisted.internet import defer
from twisted.internet.interfaces import IPushProducer, ITCPTransport
from twisted.internet.protocol import Protocol as TwistedProtocol
from zope.interface import implementer

# Linux: SIOCOUTQ is TIOCOUTQ (the same ioctl number answers for sockets and terminals).
_OUTQ = getattr(termios, "TIOCOUTQ", 0x5411)
_LINGER_RESET = struct.pack("ii", 1, 0)  # close() sends a reset, not a FIN
_LINGER_OFF = struct.pack("ii", 0, 0)


class PrinterConnector(Protocol):
    """Opens the printer side (TCP client, serial port, device file) for one connection."""

    description: str

    def connect(self, protocol: TwistedProtocol) -> defer.Deferred[Any]:
        """Connect ``protocol`` to the printer; fail if the printer cannot be reached."""
        ...


def write_buffer_size(transport: object) -> int:
    """Bytes a Twisted file-descriptor transport holds, not yet written to the kernel."""
    data = getattr(transport, "dataBuffer", b"")
    offset = getattr(transport, "offset", 0)
    temp = getattr(transport, "_tempDataLen", 0)
    return len(data) - offset + temp


def kernel_queue(transport: object) -> int:
    """Bytes written to the kernel that the other end has not taken yet: unacknowledged on a
    TCP socket, not yet sent on a serial line. 0 where the transport cannot tell (a device
    file, a closed descriptor)."""
    fileno = getattr(transport, "fileno", None)
    if fileno is None:
        return 0
    try:
        fd = fileno()
        if fd < 0:
            return 0
        answer = fcntl.ioctl(fd, _OUTQ, b"\0\0\0\0")
    except (OSError, ValueError, TypeError):
        return 0
    return int(struct.unpack("i", answer)[0])


def unsent_bytes(transport: object) -> int:
    """Bytes written to ``transport`` that its far end has not taken yet."""
    return write_buffer_size(transport) + kernel_queue(transport)


def set_tcp_options(transport: object, rcvbuf: int | None = None) -> None:
    """TCP_NODELAY (status replies and small writes go at once) and, for the till, a small
    receive buffer so a slow printer slows the till sooner. Not TCP: nothing to do."""
    if not ITCPTransport.providedBy(transport):
        return
    transport.setTcpNoDelay(True)
    if rcvbuf is not None:
        transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)


def reset_on_close(transport: object, reset: bool) -> None:
    """``reset``: if this process dies, the kernel resets the connection instead of closing it
    normally (SO_LINGER with a zero timeout), so the peer sees a failure. Not TCP: nothing."""
    if not ITCPTransport.providedBy(transport):
        return
    with contextlib.suppress(OSError):
        transport.getHandle().setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET if reset else _LINGER_OFF
        )


@implementer(IPushProducer)
class Valve:
    """A producer registered on one transport that pauses the other side."""

    def __init__(self, on_pause: Callable[[], None], on_resume: Callable[[], None]) -> None:
        self._on_pause = on_pause
        self._on_resume = on_resume

    def pauseProducing(self) -> None:
        self._on_pause()

    def resumeProducing(self) -> None:
        self._on_resume()

    def stopProducing(self) -> None:
        pass  # the owner learns of the end through connectionLost
