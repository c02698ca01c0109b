"""TCP on both sides: the till's listener and the printer's client connection.

Takes plain parameters; ``from_config`` accepts the ``TcpListen`` / ``TcpConnect`` dataclasses
of ``bridge.config`` (anything with ``host`` and ``port``).
"""

from __future__ import annotations

import ipaddress
import socket
from functools import cached_property
from typing import Any, Protocol

from twisted.internet import defer
from twisted.internet.endpoints import (
    HostnameEndpoint,
    TCP4ClientEndpoint,
    TCP6ClientEndpoint,
)
from twisted.internet.interfaces import (
    IAddress,
    IListeningPort,
    IProtocolFactory,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import Factory
from twisted.internet.protocol import Protocol as TwistedProtocol


class _HostPort(Protocol):
    host: str
    port: int


class TcpPrinter:
    """A network printer (usually port 9100): one connection per pairing."""

    def __init__(self, host: str, port: int, reactor: Any, connect_timeout: float = 3.0) -> None:
        self.host = host
        self.port = port
        self.reactor = reactor
        # Bounded so an unroutable printer closes the till's connection in seconds, not the
        # OS's minutes: the till's own retry logic is then what it would be with a dead printer.
        self.connect_timeout = connect_timeout
        self.description = f"tcp:{host}:{port}"

    @classmethod
    def from_config(
        cls, config: _HostPort, reactor: Any, connect_timeout: float = 3.0
    ) -> TcpPrinter:
        return cls(config.host, config.port, reactor, connect_timeout)

    def connect(self, protocol: TwistedProtocol) -> defer.Deferred[Any]:
        return self._endpoint.connect(_OneConnection(protocol))

    @cached_property
    def _endpoint(self) -> IStreamClientEndpoint:
        # A printer is nearly always an address: connect to it directly. HostnameEndpoint
        # resolves even a literal address through the resolver's thread, about 0.3 ms per
        # receipt (a network till opens a connection per receipt), before the connection.
        try:
            address = ipaddress.ip_address(self.host)
        except ValueError:
            return HostnameEndpoint(
                self.reactor, self.host, self.port, timeout=self.connect_timeout
            )
        kind = TCP4ClientEndpoint if address.version == 4 else TCP6ClientEndpoint
        return kind(self.reactor, self.host, self.port, timeout=self.connect_timeout)


class _OneConnection(Factory):
    """``connectProtocol``'s factory, without its log lines: Twisted logs the start and stop
    of every noisy factory, and a network till makes one printer connection per receipt."""

    noisy = False

    def __init__(self, protocol: TwistedProtocol) -> None:
        self._protocol = protocol

    def buildProtocol(self, addr: IAddress) -> TwistedProtocol:
        return self._protocol


def listen_tcp(
    factory: IProtocolFactory,
    host: str,
    port: int,
    reactor: Any,
    backlog: int = 50,
    rcvbuf: int | None = None,
) -> IListeningPort:
    """Listen on ``host:port`` (``port`` 0: any free port, see ``getHost()``). ``rcvbuf``: the
    accepted sockets' receive buffer (they inherit it, so the peer's first window is already
    small)."""
    listening = reactor.listenTCP(port, factory, backlog=backlog, interface=host)
    if rcvbuf is not None:
        listening.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    return listening
