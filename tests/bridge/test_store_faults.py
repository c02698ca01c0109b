"""The store under faults, on real files: a SQLite file deleted or replaced under a running
engine, the database marker that refuses an empty or another database, owner-only files, and
WAL checkpoints kept out of the commits."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bridge.loyalty import Ledger, PointsRule
from bridge.store import (
    StoreMarker,
    StoreRefused,
    StoreUnavailable,
    checkpoint,
    current_store_id,
    make_engine,
    migrate,
    open_store,
)

from .conftest import ReceiptFactory
from .fault_helpers import mode

RULE = PointsRule()
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
CARD = "4000123412341234"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "tillbridge.sqlite"


@pytest.fixture
def sqlite_engine(db: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _remove(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)


def test_a_deleted_file_is_an_outage_and_never_made_again(
    db: Path, sqlite_engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(sqlite_engine)
    assert ledger.award(make_receipt(number="1"), RULE, NOW).balance == 12
    _remove(db)  # as an admin's `rm tillbridge.db*` while the daemon runs
    # The pooled connection still has the deleted file open: writing there would be lost.
    with pytest.raises(StoreUnavailable, match="deleted or moved away while"):
        ledger.award(make_receipt(number="2"), RULE, NOW)
    sqlite_engine.dispose()  # what the awards desk does after an outage
    with pytest.raises(StoreUnavailable, match="is gone"):
        ledger.award(make_receipt(number="3"), RULE, NOW)
    assert not db.exists()  # no empty ledger made in its place


def test_a_replaced_file_is_an_outage(
    tmp_path: Path, db: Path, sqlite_engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(sqlite_engine)
    ledger.award(make_receipt(number="1"), RULE, NOW)
    other = tmp_path / "other.sqlite"
    other_engine = make_engine(f"sqlite:///{other}")
    migrate(other_engine)
    other_engine.dispose()
    os.replace(other, db)
    with pytest.raises(StoreUnavailable, match="replaced by another file"):
        ledger.award(make_receipt(number="2"), RULE, NOW)


def test_a_file_put_back_is_used_after_the_connections_are_thrown_away(
    tmp_path: Path, db: Path, sqlite_engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(sqlite_engine)
    ledger.award(make_receipt(number="1"), RULE, NOW)
    moved = tmp_path / "moved.sqlite"
    os.replace(db, moved)
    with pytest.raises(StoreUnavailable):
        ledger.award(make_receipt(number="2"), RULE, NOW)
    os.replace(moved, db)  # back where it was: the same file, the same inode
    assert ledger.award(make_receipt(number="2"), RULE, NOW).balance == 24


def test_open_store_writes_the_marker_then_refuses_a_missing_file(tmp_path: Path, db: Path) -> None:
    marker = StoreMarker(tmp_path / "state" / "tillbridge-journal.store-id")
    marker.path.parent.mkdir()
    engine = make_engine(f"sqlite:///{db}")
    store_id = open_store(engine, marker)
    assert marker.read() == store_id == current_store_id(engine)
    assert mode(db) == 0o600 and mode(marker.path) == 0o600
    assert open_store(engine, marker) == store_id  # a restart: the same database
    engine.dispose()
    _remove(db)

    again = make_engine(f"sqlite:///{db}")  # the next start, with the file gone
    try:
        with pytest.raises(StoreRefused, match="is missing") as refused:
            open_store(again, marker)
        assert str(marker.path) in str(refused.value) and store_id in str(refused.value)
        assert not db.exists()
        # Nothing else may make it either: the engine now knows the file must exist.
        with pytest.raises(StoreUnavailable), again.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert not db.exists()
        # The admin means it: the marker deleted, the next start begins an empty ledger.
        marker.path.unlink()
        fresh = open_store(again, marker)
        assert fresh != store_id and marker.read() == fresh
    finally:
        again.dispose()


def test_open_store_refuses_an_empty_or_another_database(
    empty_engine: Engine, tmp_path: Path
) -> None:
    """On both databases: an empty one (e.g. dropped and made again) and a different one."""
    with empty_engine.connect() as conn:  # an empty SQLite file, as a bare `sqlite3 FILE` leaves
        conn.execute(text("SELECT 1"))
    marker = StoreMarker(tmp_path / "tillbridge-journal.store-id")
    marker.write("5f0c7a9e-0000-4000-8000-000000000000", "a test")
    with pytest.raises(StoreRefused, match="is empty"):
        open_store(empty_engine, marker)
    assert current_store_id(empty_engine) is None  # refused before migrating anything
    migrate(empty_engine)  # a database, but another bridge's (another id)
    with pytest.raises(StoreRefused, match="is another one"):
        open_store(empty_engine, marker)
    marker.path.unlink()
    assert open_store(empty_engine, marker) == current_store_id(empty_engine)


def test_an_unreadable_marker_is_a_refusal_not_a_fresh_start(tmp_path: Path, db: Path) -> None:
    marker = StoreMarker(tmp_path / "m.store-id")
    marker.path.write_text("\n\n")
    engine = make_engine(f"sqlite:///{db}")
    try:
        with pytest.raises(StoreRefused, match="holds no id"):
            open_store(engine, marker)
    finally:
        engine.dispose()


def test_database_files_are_owner_only_whatever_the_umask(
    db: Path, make_receipt: ReceiptFactory
) -> None:
    before = os.umask(0)
    try:
        engine = make_engine(f"sqlite:///{db}")
        migrate(engine)
        Ledger(engine).award(make_receipt(), RULE, NOW)
        for suffix in ("", "-wal", "-shm"):
            assert mode(db.with_name(db.name + suffix)) == 0o600, suffix
        engine.dispose()
        # A file made elsewhere with a wide mode is narrowed at the next connection.
        os.chmod(db, 0o644)
        engine = make_engine(f"sqlite:///{db}")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert mode(db) == 0o600
        engine.dispose()
    finally:
        os.umask(before)


def test_no_checkpoint_inside_a_commit_and_a_passive_one_on_demand(
    db: Path, sqlite_engine: Engine, make_receipt: ReceiptFactory
) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    ledger = Ledger(sqlite_engine)
    for number in range(300):
        ledger.award(make_receipt(number=str(number), customer=f"c{number}"), RULE, NOW)
    wal = db.with_name(db.name + "-wal")
    # Past SQLite's default of 1,000 pages, and still not copied back into the database.
    frames = (wal.stat().st_size - 32) // (4096 + 24)
    assert frames > 1000
    probe = sqlite3.connect(db)
    try:
        checkpoint(sqlite_engine)
        busy, log_frames, done = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0 and log_frames == done  # all of it was copied by ours
    finally:
        probe.close()


def test_a_checkpoint_never_writes_into_a_deleted_file(
    tmp_path: Path, db: Path, sqlite_engine: Engine
) -> None:
    shutil.copy(db, tmp_path / "keep.sqlite")
    _remove(db)
    with pytest.raises(StoreUnavailable):
        checkpoint(sqlite_engine)
