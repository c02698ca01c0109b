"""The table's row "SQLite file deleted while running", end to end: a real daemon, tills and
printers on 127.0.0.1. Before: no error, awards went into the deleted file, and the next start
made an empty ledger silently."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor, task

from tests.bridge.daemon_harness import TillSpec, capture, split_messages, start_rig, until

DINER = capture("diner_us/sale_card_tip")
BAKERY = capture("bakery_es/sale_customer_card")


@pytest_twisted.ensureDeferred
async def test_a_deleted_database_is_an_outage_and_the_next_start_refuses_an_empty_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tills = (TillSpec("diner"), TillSpec("bakery", layout="bakery_es"))
    (diner,) = DINER.insertions()
    (bakery,) = BAKERY.insertions()
    assert diner.customer is not None and bakery.customer is not None
    rig = await start_rig(reactor, tmp_path, tills, retry_interval=0.2)
    try:
        printed = await rig.send("diner", DINER.data)
        assert printed.data != DINER.data  # the message went in
        database = rig.daemon.config.database.url.removeprefix("sqlite:///")
        db = Path(database)
        for suffix in ("", "-wal", "-shm"):
            db.with_name(db.name + suffix).unlink(missing_ok=True)
        printed = await rig.send("bakery", BAKERY.data)
        # No balance to tell: the till's bytes, and a message that the points come later.
        [message] = split_messages(BAKERY.data, printed.data, [(bakery.lo, bakery.hi)]) or [b""]
        assert b"Points pending" in message and b"Balance" not in message
        assert rig.daemon.desk.journaled == 1 and not rig.daemon.desk.store_up
        await task.deferLater(reactor, 0.5, lambda: None)  # the retry loop runs meanwhile
        assert not db.exists()
    finally:
        await rig.close()

    with caplog.at_level(logging.INFO):
        rig = await start_rig(reactor, tmp_path, tills, retry_interval=0.2)
    try:
        desk = rig.daemon.desk
        assert not desk.store_up and not db.exists()
        assert "refusing the loyalty database" in caplog.text
        assert str(desk.marker.path) in caplog.text  # how to start afresh
        printed = await rig.send("diner", DINER.data)
        # Journaled, not awarded into an empty ledger: its points are pending.
        [message] = split_messages(DINER.data, printed.data, [(diner.lo, diner.hi)]) or [b""]
        assert b"Points pending" in message
        # The admin starts afresh on purpose: the journal is applied to the new ledger, once.
        desk.marker.path.unlink()
        await until(reactor, lambda: desk.store_up and desk.replayed == 2, "the journal applied")
        assert await rig.balance(bakery.customer) == bakery.points
        assert await rig.balance(diner.customer) == diner.points  # earned again after the loss
        assert desk.journal.pending() == []
    finally:
        await rig.close()
