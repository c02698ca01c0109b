"""The awards desk: awards on its own thread, the journal while the database is away."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet import reactor, task

from bridge.awards import AwardsDesk
from bridge.loyalty import Journal, JournalEntry, PointsRule
from bridge.store import make_engine
from parsers.receipt import Receipt

ReceiptFactory = Callable[..., Receipt]
RULE = PointsRule()


async def _until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = reactor.seconds() + seconds
    while not condition():
        assert reactor.seconds() < deadline, "condition not met in time"
        await task.deferLater(reactor, 0.02, lambda: None)


def _desk(tmp_path: Path, url: str, retry: float = 0.1) -> AwardsDesk:
    # A short busy timeout: the lock test waits it out.
    engine = make_engine(url, busy_timeout_ms=200)
    return AwardsDesk(reactor, engine, Journal(tmp_path / "journal.jsonl"), PointsRule(), retry)


@pytest_twisted.ensureDeferred
async def test_awards_and_balance_on_the_database_thread(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    desk = _desk(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    await desk.start()
    try:
        outcome = await desk.award(make_receipt(total="12.99"))
        assert outcome is not None and outcome.points == 12 and outcome.balance == 12
        again = await desk.award(make_receipt(total="12.99"))
        assert again is not None and again.duplicate and again.balance == 12
        assert await desk.balance("4000123412341234") == 12
        assert desk.journaled == 0 and desk.store_up
    finally:
        await desk.stop()


@pytest_twisted.ensureDeferred
async def test_database_away_at_start_journals_then_applies_once(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    folder = tmp_path / "not-yet"
    desk = _desk(tmp_path, f"sqlite:///{folder / 'db.sqlite'}")
    await desk.start()
    try:
        assert not desk.store_up
        assert await desk.award(make_receipt(number="1", total="5.00")) is None
        assert await desk.award(make_receipt(number="2", total="7.00")) is None
        assert desk.journaled == 2
        assert len(desk.journal.pending()) == 2
        folder.mkdir()  # the database can be opened now: the retry loop finds it
        await _until(lambda: desk.store_up and desk.replayed == 2)
        assert desk.journal.pending() == []
        assert await desk.balance("4000123412341234") == 12
        # The same receipts again (a till resending): nothing more is earned.
        again = await desk.award(make_receipt(number="1", total="5.00"))
        assert again is not None and again.duplicate
        assert await desk.balance("4000123412341234") == 12
    finally:
        await desk.stop()


@pytest_twisted.ensureDeferred
async def test_database_lost_while_running_goes_to_the_journal(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    path = tmp_path / "db.sqlite"
    desk = _desk(tmp_path, f"sqlite:///{path}", retry=60)
    await desk.start()
    try:
        assert await desk.award(make_receipt(number="1", total="3.00")) is not None
        # Hold SQLite's write lock from another connection past the busy timeout.
        import sqlite3

        blocker = sqlite3.connect(path, timeout=0)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            assert await desk.award(make_receipt(number="2", total="4.00")) is None
            assert not desk.store_up
            # While the store is marked down, awards go straight to the journal.
            assert await desk.award(make_receipt(number="3", total="5.00")) is None
        finally:
            blocker.rollback()
            blocker.close()
        assert await desk.replay_now()
        assert desk.replayed == 2
        assert await desk.balance("4000123412341234") == 12
    finally:
        await desk.stop()


@pytest_twisted.ensureDeferred
async def test_stop_waits_for_queued_awards(tmp_path: Path, make_receipt: ReceiptFactory) -> None:
    desk = _desk(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    await desk.start()
    results: list[Any] = []
    for number in range(5):
        desk.award(make_receipt(number=str(number), total="2.00")).addCallback(results.append)
    await desk.stop()
    assert len(results) == 5 and all(r is not None for r in results)


@pytest_twisted.ensureDeferred
async def test_a_long_replay_does_not_hold_up_new_awards(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    """Entries left by an outage replay on their own thread: a sale cut meanwhile is awarded
    at once, not after them (its hold would run out)."""
    journal = Journal(tmp_path / "journal.jsonl")
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    for number in range(300):
        journal.append(JournalEntry(make_receipt(number=f"j{number}", total="1.00"), RULE, at))
    desk = _desk(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    await desk.start()  # the database is up: the journal replays in the background
    try:
        outcome = await desk.award(make_receipt(number="new", total="5.00", customer="77777777"))
        assert outcome is not None and outcome.balance == 5
        assert desk.replayed == 0  # the replay of 300 entries was still going
        await _until(lambda: desk.replayed == 300)
        assert await desk.balance("4000123412341234") == 300
        assert desk.journal.pending() == []
    finally:
        await desk.stop()
