"""Make the SQLAlchemy engine from the configured URL, with the settings each database needs.

SQLite (the default, one file per bridge): WAL so readers never wait for the writer, a busy
timeout, foreign keys on, and every transaction opened with ``BEGIN IMMEDIATE``. A plain
``BEGIN`` takes the write lock only at the first write, so two read-then-write transactions
deadlock and one gets "database is locked" whatever the busy timeout; ``BEGIN IMMEDIATE``
takes it up front and makes writers queue instead.

PostgreSQL (a chain's central server): psycopg 3, and pre-ping so a connection left over from
before a server restart is replaced instead of failing the next award.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

DEFAULT_BUSY_TIMEOUT_MS = 5000


class StoreUnavailable(Exception):
    """The database cannot be reached or written now; the caller journals the award."""


# SQLite's primary result codes that mean "not now" rather than "this cannot work": busy,
# locked, read-only, I/O error, disk full, cannot open, lock protocol.
_SQLITE_OUTAGE_CODES = frozenset({5, 6, 8, 10, 13, 14, 15})


def is_outage(exc: OperationalError | InterfaceError) -> bool:
    """Worth journaling and retrying later? A missing table (an unmigrated database) is not:
    SQLite reports it as an OperationalError too, but retrying will never fix it."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    if code is None:  # PostgreSQL: psycopg raises schema errors as ProgrammingError
        return True
    return (code & 0xFF) in _SQLITE_OUTAGE_CODES


@contextmanager
def outages_as_unavailable() -> Iterator[None]:
    """Database failures that mean "not now" become ``StoreUnavailable``; others pass."""
    try:
        yield
    except PoolTimeout as exc:
        raise StoreUnavailable(f"loyalty database unavailable: {exc}") from exc
    except (OperationalError, InterfaceError) as exc:
        if not is_outage(exc):
            raise
        raise StoreUnavailable(f"loyalty database unavailable: {exc.orig or exc}") from exc


def make_engine(url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for any SQLAlchemy URL; ``postgresql://`` means the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout_ms)
    # A server that does not answer must not hold the awards thread for the OS's TCP timeout
    # (minutes): after a few seconds the award is journaled instead. A URL's own
    # ?connect_timeout= wins.
    connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 3}
    return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_engine(url: Any, busy_timeout_ms: int) -> Engine:
    engine = create_engine(
        url,
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
    )
    in_memory = url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop pysqlite from issuing its own deferred BEGIN: ours (below) is IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            # With WAL, NORMAL loses no committed transaction on a crash of the process,
            # only possibly the last ones on a power cut; the journal covers the bridge's side.
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
