"""Who may connect to a till's TCP listener, how many at once, and for how long in silence.

``AccessFactory`` wraps the till's own factory (``listenTCP(port, AccessFactory(link, ...))``):

- **allow list**: a connection from an address outside it is refused before the till's
  factory sees it (``buildProtocol`` returns None: Twisted closes the socket at once) and logged
  with the address and the till, at most once a minute per address so a scan cannot flood the
  log;
- **connection limit**: one more than ``max_connections`` open at once is refused the same way;
- **idle timeout**: a connection on which the till sends nothing for ``idle_timeout`` seconds
  is reset (not closed normally: a normal close would tell the till its bytes printed). The
  clock stops while the bridge itself holds the till back (backpressure from a slow printer)
  and once the till has half-closed; a reply from the printer to the till restarts it.

The wrapper passes every call through, and passes on half-close (``IHalfCloseableProtocol``),
which ``twisted.protocols.policies.ProtocolWrapper`` alone does not: a till that half-closes
must still get the printer's last status reply.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IAddress, IHalfCloseableProtocol, IProtocolFactory
from twisted.protocols.policies import ProtocolWrapper, TimeoutMixin, WrappingFactory
from twisted.python.failure import Failure
from zope.interface import implementer

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
REFUSAL_LOG_INTERVAL = 60.0  # seconds between log lines for refusals of one address


def parse_network(text: str) -> Network:
    """``192.168.1.20``, ``192.168.1.0/24``, ``fd00::/8``: raises ValueError otherwise."""
    return ipaddress.ip_network(text.strip(), strict=False)


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_allow(listen_host: str) -> tuple[Network, ...] | None:
    """Without an allow list: loopback only on a loopback listener, anyone otherwise (the
    config check warns about that case)."""
    return LOOPBACK if is_loopback_host(listen_host) else None


@dataclass(frozen=True, slots=True)
class AccessRules:
    allow: tuple[Network, ...] | None = None  # None: any address
    max_connections: int | None = None  # None: no limit
    idle_timeout: float | None = None  # seconds; None: never

    @classmethod
    def for_listener(
        cls,
        listen_host: str,
        allow: Iterable[str] | None,
        max_connections: int | None,
        idle_timeout: float | None,
    ) -> AccessRules:
        networks = (
            default_allow(listen_host)
            if allow is None
            else tuple(parse_network(text) for text in allow)
        )
        return cls(networks, max_connections, idle_timeout)

    def allows(self, host: str) -> bool:
        if self.allow is None:
            return True
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        # A dual-stack listener sees IPv4 tills as ::ffff:a.b.c.d.
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address.version == net.version and address in net for net in self.allow)


@implementer(IHalfCloseableProtocol)
class GuardedConnection(ProtocolWrapper, TimeoutMixin):
    """One till connection, passed through, with the idle clock."""

    factory: AccessFactory

    def __init__(self, factory: AccessFactory, wrapped: Any, peer: str) -> None:
        super().__init__(factory, wrapped)
        self.peer = peer
        self._half_closed = False
        self._held_back = False

    def callLater(self, period: float, func: Any) -> Any:
        return self.factory.reactor.callLater(period, func)

    def makeConnection(self, transport: Any) -> None:
        super().makeConnection(transport)
        self._restart_clock()

    # -- from the till

    def dataReceived(self, data: bytes) -> None:
        self.resetTimeout()
        super().dataReceived(data)

    def readConnectionLost(self) -> None:
        self._half_closed = True
        self.setTimeout(None)
        half = IHalfCloseableProtocol(self.wrappedProtocol, None)
        if half is not None:
            half.readConnectionLost()
        else:
            self.loseConnection()

    def writeConnectionLost(self) -> None:
        half = IHalfCloseableProtocol(self.wrappedProtocol, None)
        if half is not None:
            half.writeConnectionLost()
        else:
            self.loseConnection()

    def connectionLost(self, reason: Failure | None = None) -> None:  # type: ignore[override]
        self.setTimeout(None)
        super().connectionLost(reason)

    def timeoutConnection(self) -> None:
        factory = self.factory
        factory.idle_closed += 1
        log.warning(
            "till %s: connection from %s sent nothing for %g s: reset",
            factory.till,
            self.peer,
            factory.rules.idle_timeout or 0,
        )
        self.transport.abortConnection()

    # -- to the till (the wrapped protocol's calls on its transport)

    def write(self, data: bytes) -> None:
        self.resetTimeout()  # the printer answered: the exchange is alive
        super().write(data)

    def writeSequence(self, data: Any) -> None:
        self.resetTimeout()
        super().writeSequence(data)

    def pauseProducing(self) -> None:
        # The bridge holds the till back (a slow printer): its silence is ours, not its own.
        self._held_back = True
        self.setTimeout(None)
        self.transport.pauseProducing()

    def resumeProducing(self) -> None:
        self._held_back = False
        self._restart_clock()
        self.transport.resumeProducing()

    def stopProducing(self) -> None:
        self.transport.stopProducing()

    def _restart_clock(self) -> None:
        if not self._half_closed and not self._held_back:
            self.setTimeout(self.factory.rules.idle_timeout)


class AccessFactory(WrappingFactory):
    """The till's factory behind its allow list, connection limit and idle timeout."""

    def __init__(
        self, wrapped: IProtocolFactory, rules: AccessRules, till: str, reactor: Any
    ) -> None:
        super().__init__(wrapped)
        self.rules = rules
        self.till = till
        self.reactor = reactor
        self.refused = 0  # connections refused: address not allowed
        self.over_limit = 0  # connections refused: too many open
        self.idle_closed = 0
        self._last_logged: dict[tuple[str, str], float] = {}

    @property
    def open_connections(self) -> int:
        return len(self.protocols)

    def buildProtocol(self, addr: IAddress | None) -> GuardedConnection | None:  # type: ignore[override]
        peer = _host_of(addr)
        if not self.rules.allows(peer):
            self.refused += 1
            self._log_refusal(peer, "not in its allow list")
            return None
        limit = self.rules.max_connections
        if limit is not None and len(self.protocols) >= limit:
            self.over_limit += 1
            self._log_refusal(peer, f"{limit} connections already open (max_connections)")
            return None
        wrapped = self.wrappedFactory.buildProtocol(addr)
        if wrapped is None:
            return None
        return GuardedConnection(self, wrapped, peer)

    def _log_refusal(self, peer: str, why: str) -> None:
        now = self.reactor.seconds()
        key = (peer, why)
        last = self._last_logged.get(key)
        if last is not None and now - last < REFUSAL_LOG_INTERVAL:
            return
        if len(self._last_logged) > 1024:  # many addresses: forget the old ones
            self._last_logged.clear()
        self._last_logged[key] = now
        total = self.refused + self.over_limit
        log.warning(
            "till %s: refused a connection from %s: %s (%d refused since start; one line a "
            "minute per address)",
            self.till,
            peer,
            why,
            total,
        )


def _host_of(addr: IAddress | None) -> str:
    if isinstance(addr, IPv4Address | IPv6Address):
        return str(addr.host)
    return str(getattr(addr, "host", addr))
