"""Which database is ours: an id made with the database, and kept in the state folder too.

A SQLite file deleted while the daemon was stopped, or a PostgreSQL database dropped and made
again, would otherwise be migrated afresh at the next start: an empty ledger, every balance
back to zero, and nobody told. So the first start on a new database writes the database's id
(``store_identity``, made by its migration) to a marker file beside the journal; every later
start, and every reconnection after an outage, compares the two before migrating or writing
anything, and refuses a missing, empty or different database with ``StoreRefused``. That is an
outage like any other: awards are journaled meanwhile, and the retry loop takes the database
again as soon as the right one is back (a file put back, a backup restored).

To start afresh on purpose, with an empty ledger, the admin deletes the marker file.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, inspect, select, update

from bridge.store.engine import (
    OWNER_ONLY,
    StoreUnavailable,
    outages_as_unavailable,
    sqlite_file,
)
from bridge.store.migrations import migrate
from bridge.store.models import StoreIdentity


class StoreRefused(StoreUnavailable):
    """The database is not the one this bridge wrote to (missing, empty or another one)."""


class StoreMarker:
    """The marker file: the id of the database this bridge's ledger lives in."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def beside(cls, journal: str | os.PathLike[str]) -> StoreMarker:
        """The marker of the bridge whose journal is ``journal``: ``<journal stem>.store-id``
        in the same folder (the daemon's, and the CLI's, given the same config)."""
        journal = Path(journal)
        return cls(journal.with_name(journal.stem + ".store-id"))

    def read(self) -> str | None:
        """The id recorded, or None when there is no marker (a first start)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise StoreRefused(
                f"cannot read the database marker {self.path} ({exc}); fix it, or delete it "
                "to take the configured database as this bridge's ledger"
            ) from exc
        store_id = text.split("\n", 1)[0].strip()
        if not store_id:
            raise StoreRefused(
                f"the database marker {self.path} holds no id; delete it to take the "
                "configured database as this bridge's ledger"
            )
        return store_id

    def write(self, store_id: str, where: str) -> None:
        """Record ``store_id``, durably: written aside, synced, renamed into place."""
        text = (
            f"{store_id}\n"
            f"# The id of the loyalty database this bridge writes to ({where}).\n"
            "# While this file exists, tillbridge refuses a database that is missing, empty or\n"
            "# has another id (it journals awards instead). Delete this file only to start\n"
            "# afresh with an empty ledger.\n"
        )
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
            try:
                os.fchmod(fd, OWNER_ONLY)
                os.write(fd, text.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreUnavailable(f"cannot write the database marker {self.path}: {exc}") from exc


def open_store(engine: Engine, marker: StoreMarker) -> str:
    """Check that the database behind ``engine`` is the marker's, migrate it, and return its
    id; on a first start (no marker) make the database if need be and write the marker.

    Raises ``StoreRefused`` for a missing, empty or different database while the marker
    exists, ``StoreUnavailable`` when the database cannot be reached now."""
    expected = marker.read()
    where = engine.url.render_as_string(hide_password=True)
    file = sqlite_file(engine)
    if file is not None:
        if expected is not None:
            file.must_exist = True  # from now on no connection may make an empty file
        if file.identity() is None:
            if expected is not None:
                raise StoreRefused(
                    _refusal(marker, expected, f"the SQLite file {file.path} is missing")
                )
            if file.path.parent.is_dir():
                file.create()  # owner-only from its first byte
    if expected is not None:
        found = current_store_id(engine)
        if found is None:
            raise StoreRefused(_refusal(marker, expected, f"the database {where} is empty"))
        if found != expected:
            raise StoreRefused(
                _refusal(marker, expected, f"the database {where} is another one (id {found})")
            )
    migrate(engine)
    found = _confirm_writable(engine)
    if found is None:  # only a hand-edited database: the migration inserts the row
        raise StoreRefused(f"the database {where} has no store_identity row")
    if expected is None:
        marker.write(found, where)
    return found


def current_store_id(engine: Engine) -> str | None:
    """The database's id; None for an empty database (or one from before the id)."""
    with outages_as_unavailable(), engine.begin() as conn:
        if not inspect(conn).has_table(StoreIdentity.__tablename__):
            return None
        return conn.execute(select(StoreIdentity.store_id)).scalars().first()


def _confirm_writable(engine: Engine) -> str | None:
    """The id, read in a transaction that also writes: a database that opens but cannot be
    written (a read-only file, a full disk) is not back yet, whatever a read says."""
    with outages_as_unavailable(), engine.begin() as conn:
        conn.execute(update(StoreIdentity).values(store_id=StoreIdentity.store_id))
        return conn.execute(select(StoreIdentity.store_id)).scalars().first()


def _refusal(marker: StoreMarker, expected: str, what: str) -> str:
    return (
        f"refusing the loyalty database: {what}, but {marker.path} shows this bridge had its "
        f"ledger in the database with id {expected}. Awards are journaled until that database "
        f"is back (put the file back, or restore a backup). To start afresh with an empty "
        f"ledger on purpose, delete {marker.path}."
    )
