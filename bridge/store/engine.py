"""Make the SQLAlchemy engine from the configured URL, with the settings each database needs.

SQLite (the default, one file per bridge): WAL so readers never wait for the writer, a busy
timeout, foreign keys on, and every transaction opened with ``BEGIN IMMEDIATE``. A plain
``BEGIN`` takes the write lock only at the first write, so two read-then-write transactions
deadlock and one gets "database is locked" whatever the busy timeout; ``BEGIN IMMEDIATE``
takes it up front and makes writers queue instead.

**A SQLite file is the ledger, not a cache.** Once an engine has seen its file, it never makes
a new one: a file deleted or moved away while the daemon runs would otherwise be re-created
empty by the next connection, and awards would go into a ledger nobody reads (or, before the
next connection, into the deleted file itself). So each connection notes the file's identity
(device and inode) when it opens it, every transaction first checks that the path still names
that same file, and a connection to a missing file is refused; each of these raises
``StoreUnavailable`` (an outage: the awards desk journals). The file, its ``-wal`` and ``-shm``
are kept owner-only (0600): SQLite gives the latter two the database file's mode.

**WAL checkpoints off the award path.** SQLite's automatic checkpoint runs inside whichever
commit crosses 1,000 WAL pages: measured as a 10-90 ms award every ~190 awards with 100,000
customers, while that receipt's cut is held. It is off on every connection; the awards desk
runs ``checkpoint()`` (passive: it never waits for, nor blocks, a writer) when it is idle.

PostgreSQL (a chain's central server): psycopg 3, and pre-ping so a connection left over from
before a server restart is replaced instead of failing the next award.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

DEFAULT_BUSY_TIMEOUT_MS = 5000
OWNER_ONLY = 0o600


class StoreUnavailable(Exception):
    """The database cannot be reached or written now; the caller journals the award."""


# SQLite's primary result codes that mean "not now" rather than "this cannot work": busy,
# locked, read-only, I/O error, disk full, cannot open, lock protocol.
_SQLITE_OUTAGE_CODES = frozenset({5, 6, 8, 10, 13, 14, 15})
# PostgreSQL's that arrive as other error classes than OperationalError but mean "not now":
# a read-only transaction (a database or server set read-only, a standby), disk full, out of
# memory, too many connections.
_POSTGRESQL_OUTAGE_STATES = frozenset({"25006", "53100", "53200", "53300"})


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
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) not in _POSTGRESQL_OUTAGE_STATES:
            raise
        raise StoreUnavailable(f"loyalty database unavailable: {exc.orig}") from exc


@dataclass
class SqliteFile:
    """The SQLite file behind an engine. ``must_exist``: the engine has seen it (or the awards
    desk knows a database existed there), so a missing file is an outage, never a new file."""

    path: Path
    must_exist: bool

    def identity(self) -> tuple[int, int] | None:
        """The file the path names now (device, inode), or None if there is none."""
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (found.st_dev, found.st_ino)

    def create(self) -> None:
        """Make the empty file, owner-only whatever the umask; SQLite fills it on first use."""
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
        try:
            os.fchmod(fd, OWNER_ONLY)
        finally:
            os.close(fd)
        self.must_exist = True

    def make_owner_only(self) -> None:
        for path in (self.path, _beside(self.path, "-wal"), _beside(self.path, "-shm")):
            try:
                if os.stat(path).st_mode & 0o777 != OWNER_ONLY:
                    os.chmod(path, OWNER_ONLY)
            except FileNotFoundError:
                pass


_SQLITE_FILES: weakref.WeakKeyDictionary[Engine, SqliteFile] = weakref.WeakKeyDictionary()


def sqlite_file(engine: Engine) -> SqliteFile | None:
    """The file of a SQLite engine made by ``make_engine``; None for other databases."""
    return _SQLITE_FILES.get(engine)


def checkpoint(engine: Engine) -> None:
    """A passive WAL checkpoint of a SQLite file (nothing on other databases): copies what it
    can into the database file without waiting for readers or writers."""
    file = sqlite_file(engine)
    if file is None:
        return
    with outages_as_unavailable():
        raw = engine.raw_connection()
        try:
            # Checked by hand: a raw connection opens no transaction, so the begin hook is
            # not called, and a checkpoint must not write into a deleted file either.
            _check_same_file(file, raw.info.get("file_id"))
            cursor = raw.cursor()
            try:
                # Outside any transaction: a checkpoint cannot run inside one.
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                cursor.close()
        finally:
            raw.close()


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
    file: SqliteFile | None = None
    # A ``file:`` URI (``?uri=true``) names its file in SQLite's own syntax: left unguarded.
    if not in_memory and "uri" not in url.query:
        path = Path(url.database).absolute()
        file = SqliteFile(path, must_exist=path.exists())
        _SQLITE_FILES[engine] = file

    @event.listens_for(engine, "do_connect")
    def _before_connect(_dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> None:
        if file is not None and file.must_exist and file.identity() is None:
            raise StoreUnavailable(
                f"loyalty database unavailable: the SQLite file {file.path} is gone (deleted "
                "or moved away); not making an empty one in its place"
            )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # Stop pysqlite from issuing its own deferred BEGIN: ours (below) is IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if file is not None:
                record.info["file_id"] = file.identity()
                file.must_exist = True
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA wal_autocheckpoint=0")  # see the module docstring
                file.make_owner_only()
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            # With WAL, NORMAL loses no committed transaction on a crash of the process,
            # only possibly the last ones on a power cut; the journal covers the bridge's side.
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if file is not None:
            _check_same_file(file, connection.info.get("file_id"))
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _check_same_file(file: SqliteFile, opened: tuple[int, int] | None) -> None:
    """Raise ``StoreUnavailable`` unless the path still names the file this connection opened:
    a deleted file takes writes silently, and they are lost when it is closed."""
    now = file.identity()
    if now is None:
        raise StoreUnavailable(
            f"loyalty database unavailable: the SQLite file {file.path} was deleted or moved "
            "away while the bridge had it open"
        )
    if now != opened:
        raise StoreUnavailable(
            f"loyalty database unavailable: the SQLite file {file.path} was replaced by "
            "another file while the bridge had it open"
        )


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)
