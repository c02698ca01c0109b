"""A till's TCP access rules (``drivers.access``) in front of a real TillLink, over 127.0.0.1:
the wrapper passes everything (half-close too), refuses what its rules refuse, at once."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor, threads

from bridge.link import TillLink, serve_tcp
from bridge.session import HandleReceipt, Mode, SessionConfig
from drivers.access import AccessFactory, AccessRules, default_allow
from drivers.tcp import TcpPrinter
from tests.bridge.link_harness import (
    CUT,
    DLE_EOT,
    SALE,
    STATUS,
    M,
    later,
    raw_till,
    read_to_end,
    reference,
    sleep,
    until,
)
from tests.bridge.test_link_tcp import Flood


class GuardedBridge:
    """A TillLink behind an AccessFactory, listening on a free loopback port."""

    def __init__(
        self,
        printer_port: int,
        rules: AccessRules,
        answer: Any = None,
        config: SessionConfig | None = None,
    ) -> None:
        self.requests: list[HandleReceipt] = []

        def handler(request: HandleReceipt) -> Any:
            self.requests.append(request)
            return answer(request) if answer is not None else None

        connector = TcpPrinter("127.0.0.1", printer_port, reactor, connect_timeout=2.0)
        self.config = config if config is not None else SessionConfig(till="t")
        self.link = TillLink(self.config, handler, connector, reactor)
        self.access = AccessFactory(self.link, rules, "t", reactor)
        self.listening = serve_tcp(self.link, "127.0.0.1", 0, reactor, factory=self.access)
        self.port = self.listening.getHost().port

    def stop(self) -> None:
        self.link.close_all()
        self.listening.stopListening()


@pytest.fixture
def guarded() -> Iterator[Any]:
    made: list[GuardedBridge] = []

    def make(*args: Any, **kwargs: Any) -> GuardedBridge:
        made.append(GuardedBridge(*args, **kwargs))
        return made[-1]

    yield make
    for bridge in made:
        bridge.stop()


def _closed_at_once(sock: socket.socket) -> bool:
    """True when the bridge ends the connection without a byte (a FIN or a reset)."""
    sock.settimeout(3)
    try:
        return sock.recv(100) == b""
    except ConnectionResetError:
        return True
    finally:
        sock.close()


# --- passing through -------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_a_half_closing_till_still_gets_the_last_status_reply_through_the_wrapper(
    printer: Any, guarded: Any
) -> None:
    fake, printer_port = printer
    bridge = guarded(printer_port, AccessRules(default_allow("127.0.0.1"), 4, 5.0), later_m)
    sock = raw_till(bridge.port)
    sock.sendall(SALE + CUT + DLE_EOT)
    sock.shutdown(socket.SHUT_WR)
    assert await threads.deferToThread(read_to_end, sock) == STATUS
    assert fake.received == reference(SALE + CUT + DLE_EOT, bridge.config, M)
    assert M in fake.received
    await until(lambda: not bridge.link.pairings, what="the pairing to end")
    assert bridge.access.open_connections == 0


def later_m(_: HandleReceipt) -> Any:
    return later(0.05, M)


# --- refusing --------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_an_address_outside_the_allow_list_is_closed_at_once_and_logged(
    printer: Any, guarded: Any, caplog: pytest.LogCaptureFixture
) -> None:
    fake, printer_port = printer
    rules = AccessRules((ipaddress.ip_network("10.0.0.0/8"),), None, None)
    bridge = guarded(printer_port, rules)
    with caplog.at_level("WARNING", logger="drivers.access"):
        sock = raw_till(bridge.port)
        assert await threads.deferToThread(_closed_at_once, sock)
    assert not bridge.link.pairings
    assert fake.connections == []  # the printer never heard of it
    assert bridge.access.refused == 1
    line = next(m for m in caplog.messages if "refused" in m)
    assert "till t" in line and "127.0.0.1" in line and "allow list" in line


@pytest_twisted.ensureDeferred
async def test_one_connection_over_the_limit_is_refused_and_the_others_are_served(
    printer: Any, guarded: Any
) -> None:
    fake, printer_port = printer
    bridge = guarded(printer_port, AccessRules(None, 1, None), later_m)
    first = raw_till(bridge.port)
    await until(lambda: bridge.access.open_connections == 1, what="the first connection")
    second = raw_till(bridge.port)
    assert await threads.deferToThread(_closed_at_once, second)
    assert bridge.access.over_limit == 1
    first.sendall(SALE + CUT + DLE_EOT)
    first.shutdown(socket.SHUT_WR)
    assert await threads.deferToThread(read_to_end, first) == STATUS
    assert M in fake.received


@pytest_twisted.ensureDeferred
async def test_a_silent_connection_is_reset_after_the_idle_timeout(
    printer: Any, guarded: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _, printer_port = printer
    bridge = guarded(printer_port, AccessRules(None, None, 0.3))
    with caplog.at_level("WARNING", logger="drivers.access"):
        sock = raw_till(bridge.port)
        assert await threads.deferToThread(_closed_at_once, sock)
    assert bridge.access.idle_closed == 1
    assert "till t: connection from 127.0.0.1 sent nothing for 0.3 s: reset" in caplog.messages
    await until(lambda: bridge.access.open_connections == 0)


@pytest_twisted.ensureDeferred
async def test_a_till_that_keeps_sending_is_not_timed_out(printer: Any, guarded: Any) -> None:
    fake, printer_port = printer
    bridge = guarded(printer_port, AccessRules(None, None, 0.4), later_m)
    sock = raw_till(bridge.port)
    for line in SALE.split(b"\n"):  # over a second in all, never 0.4 s silent
        sock.sendall(line + b"\n")
        await sleep(0.15)
    sock.sendall(CUT + DLE_EOT)
    sock.shutdown(socket.SHUT_WR)
    assert await threads.deferToThread(read_to_end, sock) == STATUS
    assert bridge.access.idle_closed == 0
    assert M in fake.received


@pytest_twisted.ensureDeferred
async def test_a_till_held_back_by_a_stopped_printer_is_not_timed_out(
    printer: Any, guarded: Any
) -> None:
    """Its silence is the bridge's doing (backpressure), not the till's: as with a printer
    out of paper, the till waits as long as it takes."""
    fake, printer_port = printer
    fake.paused = True
    config = SessionConfig(mode=Mode.PASSTHROUGH, till="t")
    bridge = guarded(printer_port, AccessRules(None, None, 0.3), config=config)
    data = os.urandom(8 << 20)
    flood = Flood(bridge.port, data)
    await until(lambda: bool(bridge.link.pairings) and bool(fake.connections))
    await sleep(1.5)  # five idle timeouts
    assert bridge.access.idle_closed == 0 and not flood.done.is_set()
    fake.connections[0].transport.resumeProducing()
    await threads.deferToThread(flood.done.wait, 20)
    await fake.connections[0].closed
    assert hashlib.sha256(fake.received).digest() == hashlib.sha256(data).digest()
    assert bridge.access.idle_closed == 0


# --- the rules alone -------------------------------------------------------------------


def test_rules_match_addresses_networks_and_mapped_ipv4() -> None:
    rules = AccessRules.for_listener("0.0.0.0", ["192.168.1.20", "10.0.0.0/24", "fd00::/8"], 4, 60)
    assert rules.allows("192.168.1.20")
    assert not rules.allows("192.168.1.21")
    assert rules.allows("10.0.0.99")
    assert rules.allows("::ffff:10.0.0.7")  # an IPv4 till on a dual-stack listener
    assert rules.allows("fd12::1")
    assert not rules.allows("not an address")


def test_default_is_loopback_only_on_a_loopback_listener_and_open_otherwise() -> None:
    local = AccessRules.for_listener("127.0.0.1", None, None, None)
    assert local.allows("127.0.0.1") and local.allows("::1")
    assert not local.allows("192.168.1.20")
    assert AccessRules.for_listener("0.0.0.0", None, None, None).allow is None
    assert AccessRules.for_listener("192.168.1.5", None, None, None).allow is None
