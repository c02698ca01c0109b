"""Voids in the journal: written and read back, replayed in order after the awards journaled
before them, and each applied once whatever moment a crash picks (real SQLite files, the
journal and the database copied as a crash would leave them)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from unittest.mock import ANY

import pytest
from sqlalchemy import Engine, func, select

from bridge.loyalty import Journal, JournalEntry, Ledger, Outcome, PointsRule, Voided
from bridge.loyalty.earning import Policy
from bridge.store import LedgerEntry, StoreUnavailable, make_engine, migrate
from parsers.receipt import Receipt

from .conftest import ReceiptFactory
from .test_ledger import account_sums_agree

RULE = PointsRule()
NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
CARD = "4000123412341234"
WHY = "the printer reset before it took the receipt"


POLICY = Policy()


def award(receipt: Receipt) -> JournalEntry:
    return JournalEntry(receipt, RULE, NOW)


def void(receipt: Receipt, why: str = WHY) -> JournalEntry:
    return JournalEntry(receipt, RULE, NOW, void_reason=why)


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        found = conn.execute(
            select(LedgerEntry.kind, func.count()).group_by(LedgerEntry.kind)
        ).all()
    return {kind: int(n) for kind, n in found}


def test_a_void_is_written_as_a_line_older_daemons_set_apart(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    journal = Journal(tmp_path / "awards.jsonl")
    receipt = make_receipt(number="7")
    journal.append(award(receipt))
    journal.append(void(receipt, "the printer dropped the connection"))
    first, second = journal.pending()
    assert not first.is_void and first.void_reason is None
    assert second.is_void and second.void_reason == "the printer dropped the connection"
    assert second.key == first.key and second.receipt.to_dict() == receipt.to_dict()
    # An award line is as before (format 1); a void's is format 2, which a daemon that knows
    # no voids moves to .rejected instead of awarding it.
    lines = [json.loads(line) for line in journal.path.read_text().splitlines()]
    assert [line["v"] for line in lines] == [1, 2]
    assert "void" not in lines[0]


def test_a_void_journaled_after_its_award_voids_the_replayed_award(
    tmp_path: Path, engine: Engine, make_receipt: ReceiptFactory
) -> None:
    journal = Journal(tmp_path / "awards.jsonl")
    unprinted = make_receipt(number="1", total="12.99")
    journal.append(award(make_receipt(number="2", total="5.00")))
    journal.append(award(unprinted))
    journal.append(void(unprinted))
    ledger = Ledger(engine)
    assert journal.replay(ledger, NOW) == [
        Outcome(5, 5, CARD, None, False, parts=ANY),
        Outcome(12, 17, CARD, None, False, parts=ANY),
        Voided(12),
    ]
    assert journal.pending() == [] and journal.is_empty()
    assert journal.replay(ledger, NOW) == []
    assert ledger.balance(CARD) == 5
    assert counts(engine) == {"earn": 2, "void": 1}
    # The receipt printed again, later: it earns again.
    assert ledger.award(unprinted, RULE, NOW) == Outcome(12, 17, CARD, None, False, parts=ANY)
    assert account_sums_agree(engine)


def test_a_void_of_an_award_made_before_the_outage_is_replayed(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    engine = make_engine(f"sqlite:///{folder / 'tillbridge.sqlite'}")
    try:
        migrate(engine)
        ledger = Ledger(engine)
        receipt = make_receipt(number="1", total="12.99")
        ledger.award(receipt, RULE, NOW)  # awarded while the database was there
        engine.dispose()
        folder.rename(tmp_path / "away")  # then it went away: the void cannot be applied
        with pytest.raises(StoreUnavailable):
            ledger.void(receipt, WHY, NOW)
        journal = Journal(tmp_path / "awards.jsonl")
        journal.append(void(receipt))
        (tmp_path / "away").rename(folder)
        engine.dispose()
        assert journal.replay(ledger, NOW) == [Voided(12)]
        assert ledger.balance(CARD) == 0
    finally:
        engine.dispose()


def test_a_void_appended_while_a_replay_runs_is_applied_by_it(
    tmp_path: Path, engine: Engine, make_receipt: ReceiptFactory
) -> None:
    journal = Journal(tmp_path / "awards.jsonl")
    receipt = make_receipt(number="1", total="12.99")
    journal.append(award(receipt))
    journal.append(void(make_receipt(number="nothing")))  # makes the replay read again

    class _TillVoidsMeanwhile(Ledger):
        def award(
            self, r: Receipt, rule: PointsRule, now: datetime, policy: Policy = POLICY
        ) -> Outcome:
            outcome = super().award(r, rule, now, policy)
            journal.append(void(receipt))  # the printer reset while this was replayed
            return outcome

    results = journal.replay(_TillVoidsMeanwhile(engine), NOW)
    assert results == [Outcome(12, 12, CARD, None, False, parts=ANY), Voided(0), Voided(12)]
    assert journal.is_empty()
    assert Ledger(engine).balance(CARD) == 0


def _backup(db: Path, to: Path) -> None:
    source, target = sqlite3.connect(db), sqlite3.connect(to)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


class _Snapshots(Ledger):
    """A real ledger that copies the database and the journal before and after each entry
    it applies: what a SIGKILL at that moment would leave on disk."""

    def __init__(self, engine: Engine, db: Path, journal: Journal, into: Path) -> None:
        super().__init__(engine)
        self._db, self._journal, self._into = db, journal, into
        self.taken: list[Path] = []

    def _snap(self) -> None:
        folder = self._into / f"crash{len(self.taken):02d}"
        folder.mkdir()
        _backup(self._db, folder / "db.sqlite")
        shutil.copyfile(self._journal.path, folder / "awards.jsonl")
        self.taken.append(folder)

    def award(
        self, receipt: Receipt, rule: PointsRule, now: datetime, policy: Policy = POLICY
    ) -> Outcome:
        self._snap()
        outcome = super().award(receipt, rule, now, policy)
        self._snap()
        return outcome

    def void(self, receipt: Receipt, reason: str, now: datetime) -> int:
        self._snap()
        taken = super().void(receipt, reason, now)
        self._snap()
        return taken


def test_a_crash_at_any_moment_of_a_replay_applies_each_entry_once(
    tmp_path: Path, make_receipt: ReceiptFactory
) -> None:
    one = make_receipt(number="1", total="12.99")
    code = make_receipt(number="2", total="9.00", customer=None)
    other = make_receipt(number="3", total="5.00")
    db = tmp_path / "db.sqlite"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    journal = Journal(tmp_path / "awards.jsonl")
    for entry in (
        award(one),
        award(code),
        void(one),  # receipt 1 did not print...
        award(one),  # ...its reprint did, then printed again and failed:
        void(code),
        award(other),
        void(one),
        award(one),  # and a third print that went through
    ):
        journal.append(entry)
    crashes = tmp_path / "crashes"
    crashes.mkdir()
    snapshots = _Snapshots(engine, db, journal, crashes)
    journal.replay(snapshots, NOW)
    engine.dispose()

    expected = {"earn": 5, "void": 3}
    # Receipt 1: earned three times, voided twice; receipt 2: its code voided; receipt 3.
    assert counts(make_engine(f"sqlite:///{db}")) == expected
    assert len(snapshots.taken) == 16
    for folder in snapshots.taken:  # the next start, after a crash at that moment
        restarted = make_engine(f"sqlite:///{folder / 'db.sqlite'}")
        try:
            ledger = Ledger(restarted)
            Journal(folder / "awards.jsonl").replay(ledger, NOW)
            assert counts(restarted) == expected, folder.name
            assert ledger.balance(CARD) == 17, folder.name
            assert account_sums_agree(restarted)
        finally:
            restarted.dispose()
