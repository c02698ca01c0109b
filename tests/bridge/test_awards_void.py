"""The awards desk's voids: on its thread after the award, to the journal while the database
is away (and while awards still wait there), replayed after them once, and never a failure
for the caller."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import pytest_twisted
from sqlalchemy import func, select
from twisted.internet import reactor, task

from bridge.awards import AwardsDesk
from bridge.loyalty import Journal, JournalEntry, PointsRule, VoidedClaimCode
from bridge.store import LedgerEntry, make_engine

from .conftest import ReceiptFactory

CARD = "4000123412341234"
WHY = "the printer reset before it took the receipt"


async def _until(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = reactor.seconds() + seconds
    while not condition():
        assert reactor.seconds() < deadline, "condition not met in time"
        await task.deferLater(reactor, 0.02, lambda: None)


def _desk(tmp_path: Path, url: str, memory_bound: int = 10_000) -> AwardsDesk:
    engine = make_engine(url, busy_timeout_ms=500)
    journal = Journal(tmp_path / "journal.jsonl")
    return AwardsDesk(reactor, engine, journal, PointsRule(), 0.1, memory_bound=memory_bound)


def _kinds(desk: AwardsDesk) -> list[tuple[str, int]]:
    with desk.engine.connect() as conn:
        rows = conn.execute(select(LedgerEntry.kind, LedgerEntry.points).order_by(LedgerEntry.id))
        return [(kind, points) for kind, points in rows]


@pytest_twisted.ensureDeferred
async def test_a_void_on_the_desk_takes_the_award_back_and_a_reprint_earns_again(
    tmp_path: Path, make_receipt: ReceiptFactory, caplog: pytest.LogCaptureFixture
) -> None:
    desk = _desk(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    await desk.start()
    try:
        receipt = make_receipt(number="T2-0042", total="12.99")
        assert (await desk.award(receipt)).balance == 12  # type: ignore[union-attr]
        with caplog.at_level(logging.WARNING):
            assert await desk.void(receipt, WHY) is None
        assert await desk.balance(CARD) == 0
        assert desk.voided == 1 and desk.voids_kept == 0 and desk.journal.is_empty()
        logged = [r.getMessage() for r in caplog.records if "voided" in r.getMessage()]
        assert logged and "T2-0042" in logged[0] and "till 2" in logged[0] and WHY in logged[0]

        await desk.void(receipt, WHY)  # twice: nothing more
        assert await desk.balance(CARD) == 0
        again = await desk.award(receipt)  # the till printed it again
        assert again is not None and again.points == 12 and not again.duplicate
        resent = await desk.award(receipt)
        assert resent is not None and resent.duplicate
        assert await desk.balance(CARD) == 12
        assert _kinds(desk) == [("earn", 12), ("void", -12), ("earn", 12)]
    finally:
        await desk.stop()


@pytest_twisted.ensureDeferred
async def test_with_the_database_down_the_void_is_journaled_and_replayed_after_its_award(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    folder = tmp_path / "not-yet"
    desk = _desk(tmp_path, f"sqlite:///{folder / 'db.sqlite'}")
    await desk.start()
    try:
        assert not desk.store_up
        printed = make_receipt(number="1", total="5.00")
        unprinted = make_receipt(number="2", total="12.99")
        assert await desk.award(printed) is None
        assert await desk.award(unprinted) is None
        assert await desk.void(unprinted, WHY) is None
        assert desk.voids_kept == 1 and desk.journaled == 3
        assert [e.is_void for e in desk.journal.pending()] == [False, False, True]

        folder.mkdir()  # the database is back: award, award, void, in that order, once
        await _until(lambda: desk.store_up and desk.replayed == 3)
        assert desk.voided == 1
        assert await desk.balance(CARD) == 5
        assert _kinds(desk) == [("earn", 5), ("earn", 12), ("void", -12)]
        assert desk.journal.is_empty()

        await desk.replay_now()  # a replay again changes nothing
        assert _kinds(desk) == [("earn", 5), ("earn", 12), ("void", -12)]
    finally:
        await desk.stop()


@pytest_twisted.ensureDeferred
async def test_a_void_waits_behind_its_award_still_in_the_journal(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    """The database is back, but the award journaled in the outage is not replayed yet: the
    void goes behind it, and a replay starts at once (the retry loop is off)."""
    desk = _desk(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    await desk.start()
    try:
        await _until(lambda: desk.store_up)
        receipt = make_receipt(number="9", total="12.99")
        desk.journal.append(JournalEntry(receipt, desk.rule, desk.clock()))
        assert await desk.void(receipt, WHY) is None
        assert desk.voids_kept == 1
        await _until(lambda: desk.voided == 1 and desk.journal.is_empty())
        assert await desk.balance(CARD) == 0
        assert _kinds(desk) == [("earn", 12), ("void", -12)]
    finally:
        await desk.stop()


@pytest_twisted.ensureDeferred
async def test_a_void_kept_nowhere_is_logged_and_counted_never_raised(
    tmp_path: Path, make_receipt: ReceiptFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # The database away and no room left in memory: the void cannot be kept anywhere.
    desk = _desk(tmp_path, f"sqlite:///{tmp_path / 'not-yet' / 'db.sqlite'}", memory_bound=0)
    await desk.start()
    try:
        with caplog.at_level(logging.ERROR):
            assert await desk.void(make_receipt(number="T2-77"), WHY) is None
        assert desk.void_failures == 1 and desk.voided == 0
        [record] = [r for r in caplog.records if "could not be voided" in r.getMessage()]
        assert "T2-77" in record.getMessage() and "till 2" in record.getMessage()
    finally:
        await desk.stop()


@pytest_twisted.ensureDeferred
async def test_a_claim_code_voided_on_the_desk_cannot_be_claimed(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    desk = _desk(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    await desk.start()
    try:
        receipt = make_receipt(number="5", total="8.00", customer=None)
        outcome = await desk.award(receipt)
        assert outcome is not None and outcome.claim_code is not None
        await desk.void(receipt, WHY)
        with pytest.raises(VoidedClaimCode):
            await desk.in_thread(
                lambda: desk.ledger.claim(outcome.claim_code, CARD, desk.clock())  # type: ignore[arg-type]
            )
        with desk.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() == 2
    finally:
        await desk.stop()
