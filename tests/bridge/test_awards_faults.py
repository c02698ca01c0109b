"""The awards desk under real faults: a SQLite file deleted under it, a restart that finds it
gone, a database made read-only (``chattr +i``: root feels it), a full disk (a real tmpfs),
and two tills awarding one customer at once (two desks, two engines, one database)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task

from bridge.awards import CHECKPOINT_INTERVAL, MEMORY_BOUND, AwardNotKept, AwardsDesk
from bridge.loyalty import Journal, PointsRule
from bridge.store import make_engine

from .conftest import ReceiptFactory
from .fault_helpers import fill, immutable, small_tmpfs

CARD = "4000123412341234"


async def _until(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = reactor.seconds() + seconds
    while not condition():
        assert reactor.seconds() < deadline, "condition not met in time"
        await task.deferLater(reactor, 0.02, lambda: None)


def _desk(
    state: Path,
    url: str,
    retry: float = 0.1,
    memory_bound: int = MEMORY_BOUND,
    checkpoint_interval: float = CHECKPOINT_INTERVAL,
) -> AwardsDesk:
    engine = make_engine(url, busy_timeout_ms=500)
    journal = Journal(state / "journal.jsonl")
    return AwardsDesk(
        reactor,
        engine,
        journal,
        PointsRule(),
        retry,
        memory_bound=memory_bound,
        checkpoint_interval=checkpoint_interval,
    )


def _remove(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)


def _backup(db: Path, to: Path) -> None:
    source, target = sqlite3.connect(db), sqlite3.connect(to)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


@pytest_twisted.ensureDeferred
async def test_a_file_deleted_while_running_journals_then_applies_once_when_put_back(
    tmp_path: Path, make_receipt: ReceiptFactory, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "db" / "tillbridge.sqlite"
    db.parent.mkdir()
    desk = _desk(tmp_path, f"sqlite:///{db}")
    await desk.start()
    try:
        assert (await desk.award(make_receipt(number="1", total="10.00"))).balance == 10
        _backup(db, tmp_path / "backup.sqlite")  # what the admin will put back
        _remove(db)
        with caplog.at_level(logging.INFO):
            assert await desk.award(make_receipt(number="2", total="5.00")) is None
            assert await desk.award(make_receipt(number="3", total="2.00")) is None
            await task.deferLater(reactor, 0.5, lambda: None)  # several retries meanwhile
        assert "deleted or moved away" in caplog.text
        assert not db.exists() and not desk.store_up  # nothing made in its place
        assert desk.journaled == 2 and len(desk.journal.pending()) == 2

        (tmp_path / "backup.sqlite").rename(db)
        await _until(lambda: desk.store_up and desk.replayed == 2)
        assert await desk.balance(CARD) == 17
        assert (await desk.award(make_receipt(number="2", total="5.00"))).duplicate
        assert await desk.balance(CARD) == 17
    finally:
        await desk.stop()


@pytest_twisted.ensureDeferred
async def test_a_start_refuses_a_missing_database_until_the_marker_is_deleted(
    tmp_path: Path, make_receipt: ReceiptFactory, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "tillbridge.sqlite"
    first = _desk(tmp_path, f"sqlite:///{db}")
    await first.start()
    await first.award(make_receipt(number="1", total="10.00"))
    await first.stop()
    _remove(db)  # lost while the daemon was stopped

    desk = _desk(tmp_path, f"sqlite:///{db}")
    with caplog.at_level(logging.INFO):
        await desk.start()
        try:
            assert not desk.store_up
            assert await desk.award(make_receipt(number="2", total="4.00")) is None
            await task.deferLater(reactor, 0.5, lambda: None)
            assert not db.exists() and not desk.store_up
            refusals = [r for r in caplog.records if "refusing the loyalty database" in r.message]
            assert refusals and refusals[0].levelno == logging.ERROR
            assert "journal.store-id" in refusals[0].message  # says how to start afresh
            # Logged once, not at every retry.
            assert sum(r.levelno == logging.ERROR for r in refusals) == 1

            desk.marker.path.unlink()  # the admin starts afresh on purpose
            await _until(lambda: desk.store_up and desk.replayed == 1)
            assert await desk.balance(CARD) == 4
        finally:
            await desk.stop()


@pytest_twisted.ensureDeferred
async def test_a_read_only_database_is_used_again_once_writable_without_a_restart(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    """Read-only as root feels it: ``chattr +i`` on the database and its WAL (not the -shm,
    which SQLite maps into memory: writes there would be a SIGBUS). A connection opened
    meanwhile is read-only for good; only throwing it away lets the mended file be used."""
    db = tmp_path / "tillbridge.sqlite"
    desk = _desk(tmp_path, f"sqlite:///{db}")
    await desk.start()
    try:
        assert (await desk.award(make_receipt(number="1", total="10.00"))).balance == 10
        with immutable(db, db.with_name(db.name + "-wal")):
            assert await desk.award(make_receipt(number="2", total="5.00")) is None
            assert await desk.award(make_receipt(number="3", total="3.00")) is None
            await task.deferLater(reactor, 0.5, lambda: None)  # retries open read-only files
            assert not desk.store_up and desk.journaled == 2
        await _until(lambda: desk.store_up and desk.replayed == 2)
        assert await desk.balance(CARD) == 18
        assert (await desk.award(make_receipt(number="4", total="1.00"))).balance == 19
    finally:
        await desk.stop()


@pytest_twisted.ensureDeferred
async def test_a_full_disk_keeps_awards_in_memory_until_it_takes_them(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    """The database and the journal on one small disk (a real tmpfs), filled up."""
    with small_tmpfs(tmp_path / "disk", size="2m") as disk:
        db = disk / "tillbridge.sqlite"
        desk = _desk(disk, f"sqlite:///{db}")
        await desk.start()
        try:
            assert (await desk.award(make_receipt(number="0", total="1.00"))).balance == 1
            filler = fill(disk)
            results = [
                await desk.award(make_receipt(number=str(n), total="2.00", customer=f"9{n:05}"))
                for n in range(1, 16)
            ]
            # Some may still fit in pages SQLite or the journal had already; the rest wait.
            waiting = results.count(None)
            assert waiting > 0 and desk.held > 0
            assert desk.held + desk.journaled == waiting
            for line in (
                desk.journal.path.read_bytes().splitlines() if desk.journal.path.exists() else []
            ):
                assert line.endswith(b"}")  # never a partial line
            filler.unlink()
            await _until(lambda: desk.store_up and desk.held == 0 and desk.replayed == waiting)
            assert desk.journal.pending() == []
            for n in range(1, 16):
                assert await desk.balance(f"9{n:05}") == 2  # every receipt exactly once
        finally:
            await desk.stop()


@pytest_twisted.ensureDeferred
async def test_past_the_memory_bound_an_award_fails_visibly(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        desk = _desk(disk, f"sqlite:///{tmp_path / 'away' / 'db.sqlite'}", retry=60, memory_bound=2)
        await desk.start()  # no database (its folder is missing), and the journal's disk full
        try:
            fill(disk)
            assert await desk.award(make_receipt(number="1")) is None
            assert await desk.award(make_receipt(number="2")) is None
            assert desk.held == 2
            with pytest.raises(AwardNotKept, match="memory_bound=2"):
                await desk.award(make_receipt(number="3"))
            assert desk.lost == 1 and desk.held == 2
        finally:
            await desk.stop()


@pytest_twisted.ensureDeferred
async def test_the_desk_checkpoints_the_wal_when_idle(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    db = tmp_path / "tillbridge.sqlite"
    desk = _desk(tmp_path, f"sqlite:///{db}", checkpoint_interval=0.05)
    await desk.start()
    try:
        for n in range(20):
            await desk.award(make_receipt(number=str(n), total="1.00"))
        await _until(lambda: desk.checkpoints >= 1)
        probe = sqlite3.connect(db)
        try:
            _busy, frames, done = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            probe.close()
        assert frames == done
        checkpoints = desk.checkpoints
        await task.deferLater(reactor, 0.3, lambda: None)
        assert desk.checkpoints == checkpoints  # nothing new written: no checkpoint either
    finally:
        await desk.stop()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest_twisted.ensureDeferred
async def test_two_tills_award_one_customer_at_once(
    kind: str, tmp_path: Path, make_receipt: ReceiptFactory, request: pytest.FixtureRequest
) -> None:
    """Two tills, each with its own desk and engine (as two bridges on one database), award
    the same customer at once, and each also resends some of the other's receipts."""
    url = request.getfixturevalue("sqlite_url" if kind == "sqlite" else "pg_url")
    for name in ("front", "back"):
        (tmp_path / name).mkdir()
    desks = [_desk(tmp_path / name, url) for name in ("front", "back")]
    await desks[0].start()  # the first makes the database; the second finds it
    await desks[1].start()
    try:
        sales = {
            0: [make_receipt(number=f"F{n}", till="1", total="3.00") for n in range(60)],
            1: [make_receipt(number=f"B{n}", till="2", total="2.00") for n in range(60)],
        }
        calls = []
        for n in range(60):
            for till in (0, 1):
                calls.append(desks[till].award(sales[till][n]))
                if n % 5 == 0:  # a resend of the other till's receipt, by this one
                    calls.append(desks[till].award(sales[1 - till][n]))
        outcomes = await defer.gatherResults(calls)
        assert all(outcome is not None for outcome in outcomes)  # none had to be journaled
        assert sum(not o.duplicate for o in outcomes) == 120
        assert await desks[0].balance(CARD) == await desks[1].balance(CARD) == 60 * 3 + 60 * 2
    finally:
        for desk in desks:
            await desk.stop()


@pytest_twisted.ensureDeferred
async def test_a_postgresql_database_set_read_only_is_used_again_once_writable(
    tmp_path: Path, make_receipt: ReceiptFactory, pg_url: str
) -> None:
    """``default_transaction_read_only`` applies to connections opened after it is set: only
    fresh connections see it go on, and only fresh ones see it go off again."""
    from sqlalchemy import create_engine, text

    desk = _desk(tmp_path, pg_url)
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = desk.engine.url.database

    def read_only(on: bool) -> None:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {on}'))

    await desk.start()
    try:
        assert (await desk.award(make_receipt(number="1", total="10.00"))).balance == 10
        read_only(True)
        desk.engine.dispose()  # as after a server restart: the pool's next connections are new
        assert await desk.award(make_receipt(number="2", total="5.00")) is None
        await task.deferLater(reactor, 0.5, lambda: None)
        assert not desk.store_up
        read_only(False)
        await _until(lambda: desk.store_up and desk.replayed == 1)
        assert await desk.balance(CARD) == 15
    finally:
        await desk.stop()
        admin.dispose()
