"""Backups of the loyalty database and their restore: the functions behind ``tillbridge
backup`` and ``tillbridge restore`` (and, later, the web console's buttons).

**SQLite**: SQLite's online backup API, a batch of pages at a time, so a backup can be taken
while the daemon awards (each batch sees a consistent database; a write between batches makes
SQLite start the copy again, which at our rates finishes on the next try). The copy is
written to a temporary file beside the target and renamed into place only once whole and
checked, so an interrupted backup never leaves a file that looks like one.

**PostgreSQL**: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists``. A
``pg_dump`` older than the server refuses to dump it, so the tools are looked for in
``$TILLBRIDGE_PG_BIN``, the ``pgserver`` wheel's own binaries, then ``PATH``, and the first
whose major version is at least the server's is used. The password goes in the environment
(``PGPASSWORD``), never on a command line that ``ps`` shows.

**A restore replaces the ledger.** Every award made after the backup was taken is gone from
it (the journal only holds awards not yet applied). So a restore refuses an existing database
unless told to replace it, keeps the database it replaces beside it
(``NAME.before-restore-<UTC time>``), and refuses a file that is not a tillbridge database.
The daemon must be stopped while it runs.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from bridge.store.engine import OWNER_ONLY, StoreUnavailable, make_engine

# Called with (done, total) in pages (SQLite) or in tables (PostgreSQL) as the work goes on.
Progress = Callable[[int, int], None]

PAGES_PER_STEP = 1024  # 4 MiB at SQLite's default page size: progress several times a second
# Tables every tillbridge database has from its first migration on.
_OUR_TABLES = frozenset({"alembic_version", "ledger_entries", "accounts", "customers"})


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    size: int  # bytes written
    kept: Path | None = None  # restore only: where the replaced database was moved


def backup(url: str, target: Path, progress: Progress | None = None) -> BackupResult:
    """Write a backup of the database at ``url`` to ``target`` (which must not exist)."""
    if target.exists():
        raise BackupError(f"{target} exists already: choose another name, or remove it first")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        source = _sqlite_path(parsed)
        if not source.exists():
            raise BackupError(f"no database at {source}: nothing to back up")
        _sqlite_copy(source, target, progress)
    elif parsed.get_backend_name() == "postgresql":
        _pg_dump(parsed, target, progress)
    else:
        raise BackupError(f"backups of {parsed.get_backend_name()} databases are not supported")
    return BackupResult(target, target.stat().st_size)


def restore(
    url: str, source: Path, *, replace: bool = False, progress: Progress | None = None
) -> BackupResult:
    """Restore the backup ``source`` into the database at ``url``."""
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_restore(_sqlite_path(parsed), source, replace, progress)
    if parsed.get_backend_name() == "postgresql":
        return _pg_restore(parsed, source, replace, progress)
    raise BackupError(f"restoring {parsed.get_backend_name()} databases is not supported")


# -- SQLite ------------------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    if url.database in (None, "", ":memory:") or "uri" in url.query:
        raise BackupError("only a SQLite database in a named file can be backed up or restored")
    return Path(url.database).absolute()


def _sqlite_copy(source: Path, target: Path, progress: Progress | None) -> None:
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    os.close(fd)
    try:
        # mode=ro: a backup must never create, migrate or otherwise write the source.
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(partial)
        try:
            src.backup(
                dst,
                pages=PAGES_PER_STEP,
                progress=(lambda _s, left, total: progress(total - left, total))
                if progress
                else None,
            )
            # A backup is a single file: no WAL beside it to lose on the way to a USB stick.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
            src.close()
        _check_sqlite(partial)
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"backup of {source} failed: {exc}") from exc
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)


def _check_sqlite(path: Path) -> None:
    """Refuse a file that is not a whole tillbridge SQLite database."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            (verdict,) = conn.execute("PRAGMA quick_check").fetchone()
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database ({exc})") from exc
    if verdict != "ok":
        raise BackupError(f"{path} is damaged: {verdict}")
    if not _OUR_TABLES.issubset(tables):
        raise BackupError(f"{path} is a SQLite database, but not a tillbridge one")


def _sqlite_restore(
    database: Path, source: Path, replace: bool, progress: Progress | None
) -> BackupResult:
    _check_sqlite(source)
    kept: Path | None = None
    if database.exists():
        if not replace:
            raise BackupError(
                f"{database} exists: a restore replaces it, and every award made after the "
                "backup was taken is lost from it; stop the daemon and add --replace"
            )
        kept = database.with_name(f"{database.name}.before-restore-{_stamp()}")
        # Fold the WAL into the file first, so the kept copy is whole on its own.
        conn = sqlite3.connect(database)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        os.replace(database, kept)
        for suffix in ("-wal", "-shm"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
    _sqlite_copy(source, database, progress)
    return BackupResult(database, database.stat().st_size, kept)


# -- PostgreSQL --------------------------------------------------------------------------


def _pg_dump(url: URL, target: Path, progress: Progress | None) -> None:
    tool = _pg_tool("pg_dump", _server_major(url))
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    args = [tool, "--format=custom", "--verbose", f"--file={partial}", _libpq_uri(url)]
    try:
        _run_pg(args, url, progress, _count_tables(url))
        os.chmod(partial, OWNER_ONLY)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _pg_restore(url: URL, source: Path, replace: bool, progress: Progress | None) -> BackupResult:
    if _count_tables(url) and not replace:
        raise BackupError(
            f"the database {url.database} has tables: a restore replaces them, and every award "
            "made after the backup was taken is lost; stop the daemon and add --replace"
        )
    tool = _pg_tool("pg_restore", _server_major(url))
    listing = subprocess.run([tool, "--list", str(source)], capture_output=True, text=True)
    if listing.returncode != 0 or "ledger_entries" not in listing.stdout:
        raise BackupError(f"{source} is not a pg_dump archive of a tillbridge database")
    tables = listing.stdout.count(" TABLE DATA ")
    args = [tool, "--clean", "--if-exists", "--no-owner", "--verbose", "--exit-on-error"]
    _run_pg([*args, f"--dbname={_libpq_uri(url)}", str(source)], url, progress, tables)
    return BackupResult(source, source.stat().st_size)


_TABLE_LINE = re.compile(r"(dumping contents of|processing data for) table ")


def _run_pg(args: list[str], url: URL, progress: Progress | None, tables: int) -> None:
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stderr is not None
    done, tail = 0, []
    for line in process.stderr:
        if _TABLE_LINE.search(line):
            done += 1
            if progress:
                progress(min(done, tables), tables)
        tail = [*tail[-4:], line.rstrip()]
    if process.wait() != 0:
        raise BackupError(f"{Path(args[0]).name} failed: " + " / ".join(tail))


def _libpq_uri(url: URL) -> str:
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _server_major(url: URL) -> int:
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            number = int(conn.execute(text("SHOW server_version_num")).scalar_one())
    except Exception as exc:
        raise StoreUnavailable(f"loyalty database unavailable: {exc}") from exc
    finally:
        engine.dispose()
    return number // 10000


def _count_tables(url: URL) -> int:
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _pg_tool(name: str, server_major: int) -> str:
    """The first ``name`` found that can talk to a server of this major version."""
    places: list[str] = []
    if os.environ.get("TILLBRIDGE_PG_BIN"):
        places.append(os.environ["TILLBRIDGE_PG_BIN"])
    try:
        import pgserver  # a test dependency; shops use their system's tools

        places.append(str(Path(pgserver.__file__).parent / "pginstall" / "bin"))
    except ImportError:
        pass
    places.extend(os.environ.get("PATH", "").split(os.pathsep))
    seen: list[str] = []
    for place in places:
        tool = shutil.which(name, path=place)
        if tool is None:
            continue
        found = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout
        match = re.search(r"(\d+)(?:\.\d+)?", found)
        if match and int(match.group(1)) >= server_major:
            return tool
        seen.append(f"{tool} ({found.strip()})")
    raise BackupError(
        f"no {name} for a PostgreSQL {server_major} server"
        + (f"; found only {', '.join(seen)}" if seen else "")
        + ": install the PostgreSQL client tools, or set TILLBRIDGE_PG_BIN to their folder"
    )


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
