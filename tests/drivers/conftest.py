"""Fixtures for the link tests (helpers in ``link_harness``)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from twisted.internet import reactor

from tests.drivers.link_harness import Bridge, FakePrinter


@pytest.fixture
def printer() -> Iterator[tuple[FakePrinter, int]]:
    factory = FakePrinter()
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    port.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    yield factory, port.getHost().port
    for conn in factory.connections:
        conn.transport.abortConnection()
    port.stopListening()


@pytest.fixture
def bridges() -> Iterator[Callable[..., Bridge]]:
    made: list[Bridge] = []

    def make(*args: Any, **kwargs: Any) -> Bridge:
        made.append(Bridge(*args, **kwargs))
        return made[-1]

    yield make
    for bridge in made:
        bridge.stop()
