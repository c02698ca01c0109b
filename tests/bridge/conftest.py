"""Real databases for the store and ledger tests: a SQLite file, and a PostgreSQL 16 server
that the suite starts itself (pgserver) once per session and stops at the end. And the link
tests' recording printer and bridges (helpers in ``link_harness``)."""

from __future__ import annotations

import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_twisted
from sqlalchemy import Engine, create_engine, text
from twisted.internet import reactor

from bridge.store import make_engine, migrate
from parsers.receipt import CustomerKind, CustomerRef, Receipt, ReceiptKind
from tests.bridge.daemon_harness import Rig, RigMaker, TillSpec, start_rig
from tests.bridge.link_harness import Bridge, FakePrinter


def psycopg_url(uri: str) -> str:
    return uri.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def monkeypatch_session() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="session")
def pg_server(monkeypatch_session: pytest.MonkeyPatch) -> Iterator[Any]:
    # Not under pytest's basetemp: a second pytest session started meanwhile prunes old
    # basetemps, and with them this server's data folder and socket.
    with tempfile.TemporaryDirectory(prefix="tillbridge-pg-") as folder:
        # pgserver asks platformdirs for a runtime folder, which CI machines without a login
        # session lack; give it one rather than a warning.
        runtime = Path(folder) / "runtime"
        runtime.mkdir(mode=0o700)
        monkeypatch_session.setenv("XDG_RUNTIME_DIR", str(runtime))
        import pgserver

        server = pgserver.get_server(Path(folder) / "pg", cleanup_mode="stop")
        try:
            yield server
        finally:
            server.cleanup()


@pytest.fixture
def pg_url(pg_server: Any) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(psycopg_url(pg_server.get_uri()), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield psycopg_url(pg_server.get_uri(name))
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tillbridge.sqlite'}"


@pytest.fixture
def bakery_config(tmp_path: Path) -> str:
    """A config file for the owner's commands: one bakery till, SQLite in ``tmp_path``."""
    path = tmp_path / "tillbridge.toml"
    path.write_text(
        'journal = "journal.jsonl"\n[database]\nurl = "sqlite:///tillbridge.db"\n'
        '[[tills]]\nname = "front"\nlisten = "tcp:127.0.0.1:9100"\n'
        'printer = "tcp:127.0.0.1:9"\nlayout = "bakery_es"\n',
        encoding="utf-8",
    )
    return str(path)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine on an empty database of each kind, not migrated."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """An engine on a database of each kind, migrated to head."""
    migrate(empty_engine)
    return empty_engine


ReceiptFactory = Callable[..., Receipt]


@pytest.fixture
def make_receipt() -> ReceiptFactory:
    """Receipts as the parser hands them over: a consistent sale unless told otherwise."""

    def make(
        number: str = "1001",
        total: str = "12.99",
        customer: str | None = "4000123412341234",
        kind: ReceiptKind = ReceiptKind.SALE,
        store: str = "S01",
        till: str = "2",
        issued_at: datetime | None = None,
        problems: list[str] | None = None,
    ) -> Receipt:
        issued_at = issued_at or datetime(2026, 11, 23, 10, 15, tzinfo=ZoneInfo("Europe/Madrid"))
        return Receipt(
            kind=kind,
            store=store,
            till=till,
            number=number,
            issued_at=issued_at,
            currency="EUR",
            total=Decimal(total),
            customer=CustomerRef(CustomerKind.CARD, customer) if customer else None,
            raw_text=f"SHOP {store}\nTILL {till} No {number}\n{issued_at:%d/%m/%Y %H:%M}\n"
            f"TOTAL {total}\n{'CARD ' + customer if customer else ''}",
            problems=list(problems or []),
        )

    return make


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


@pytest_twisted.async_yield_fixture
async def rigs(tmp_path: Path) -> AsyncIterator[RigMaker]:
    """Start rigs (a daemon and its printers) in ``tmp_path``; all stopped at the end."""
    made: list[Rig] = []

    async def make(*tills: TillSpec, **options: Any) -> Rig:
        rig = await start_rig(reactor, tmp_path, tills, **options)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        await rig.close()
