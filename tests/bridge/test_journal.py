"""The local journal: fsynced appends, exactly-once replay, torn lines, and the whole outage
path (database gone → journal → database back → replay) on SQLite and on PostgreSQL."""

from __future__ import annotations

import errno
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from unittest.mock import ANY

import pytest
from sqlalchemy import Engine, func, select

from bridge.loyalty import Journal, JournalEntry, Ledger, Outcome, PointsRule, idempotency_key
from bridge.loyalty.earning import CustomerFacts, Policy
from bridge.store import LedgerEntry, StoreUnavailable, make_engine, migrate
from parsers.receipt import Receipt

from .conftest import ReceiptFactory, psycopg_url

RULE = PointsRule()
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
CARD = "4000123412341234"


def entry(receipt: Receipt, rule: PointsRule = RULE) -> JournalEntry:
    return JournalEntry(receipt=receipt, rule=rule, at=NOW)


def ledger_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()


def test_entries_come_back_as_written(tmp_path: Path, make_receipt: ReceiptFactory) -> None:
    journal = Journal(tmp_path / "awards.jsonl")
    receipts = [make_receipt(number="1"), make_receipt(number="2", customer=None)]
    journal.append(entry(receipts[0], PointsRule(Decimal("2.5"))))
    journal.append(entry(receipts[1]))
    pending = journal.pending()
    assert [e.key for e in pending] == [idempotency_key(r) for r in receipts]
    assert [e.receipt.to_dict() for e in pending] == [r.to_dict() for r in receipts]
    assert pending[0].rule == PointsRule(Decimal("2.5"))
    assert pending[0].at == NOW
    assert len((tmp_path / "awards.jsonl").read_bytes().splitlines()) == 2


def test_an_empty_or_missing_journal_has_nothing_pending(tmp_path: Path, engine: Engine) -> None:
    journal = Journal(tmp_path / "awards.jsonl")
    assert journal.pending() == []
    assert journal.replay(Ledger(engine)) == []


def test_replay_applies_each_entry_once(
    tmp_path: Path, engine: Engine, make_receipt: ReceiptFactory
) -> None:
    journal = Journal(tmp_path / "awards.jsonl")
    journal.append(entry(make_receipt(number="1", total="10.00")))
    journal.append(entry(make_receipt(number="2", total="5.00")))
    journal.append(entry(make_receipt(number="1", total="10.00")))  # the same sale, resent
    ledger = Ledger(engine)
    outcomes = journal.replay(ledger, now=NOW)
    assert [(o.points, o.balance, o.duplicate) for o in outcomes] == [
        (10, 10, False),
        (5, 15, False),
        (10, 15, True),  # a duplicate shows the balance as it is now
    ]
    assert journal.pending() == []
    assert journal.replay(ledger) == []
    assert ledger.balance(CARD) == 15
    assert ledger_rows(engine) == 2


def test_a_crash_between_applying_and_compacting_does_not_award_twice(
    tmp_path: Path, engine: Engine, make_receipt: ReceiptFactory
) -> None:
    journal = Journal(tmp_path / "awards.jsonl")
    receipt = make_receipt(number="1", total="10.00")
    journal.append(entry(receipt))
    ledger = Ledger(engine)
    ledger.award(receipt, RULE, NOW)  # applied, and then the bridge died before compacting
    assert journal.replay(ledger) == [Outcome(10, 10, CARD, None, True)]
    assert ledger.balance(CARD) == 10


def test_a_torn_last_line_loses_no_earlier_entry(
    tmp_path: Path, engine: Engine, make_receipt: ReceiptFactory
) -> None:
    path = tmp_path / "awards.jsonl"
    journal = Journal(path)
    journal.append(entry(make_receipt(number="1", total="10.00")))
    journal.append(entry(make_receipt(number="2", total="5.00")))
    torn = entry(make_receipt(number="3", total="7.00")).to_json().encode()[:60]
    with open(path, "ab") as f:  # the process died in the middle of a write
        f.write(torn)
    assert [e.receipt.number for e in journal.pending()] == ["1", "2"]

    # The next append after the restart starts a fresh line instead of gluing onto the tear.
    journal.append(entry(make_receipt(number="4", total="1.00")))
    assert [e.receipt.number for e in journal.pending()] == ["1", "2", "4"]

    ledger = Ledger(engine)
    assert [o.points for o in journal.replay(ledger)] == [10, 5, 1]
    assert ledger.balance(CARD) == 16
    assert path.read_bytes() == b""
    assert (tmp_path / "awards.jsonl.rejected").read_bytes() == torn + b"\n"


def test_a_line_whose_receipt_does_not_match_its_key_is_rejected(
    tmp_path: Path, engine: Engine, make_receipt: ReceiptFactory
) -> None:
    path = tmp_path / "awards.jsonl"
    journal = Journal(path)
    journal.append(entry(make_receipt(number="1", total="10.00")))
    path.write_text(path.read_text().replace('"number":"1"', '"number":"9"'))
    assert journal.pending() == []
    assert journal.replay(Ledger(engine)) == []
    assert ledger_rows(engine) == 0
    assert (tmp_path / "awards.jsonl.rejected").exists()


def test_replay_keeps_what_it_could_not_apply(
    tmp_path: Path, engine: Engine, make_receipt: ReceiptFactory
) -> None:
    journal = Journal(tmp_path / "awards.jsonl")
    for n in range(3):
        journal.append(entry(make_receipt(number=str(n), total="2.00")))
    gone = make_engine(f"sqlite:///{tmp_path / 'not-there' / 'x.sqlite'}")
    with pytest.raises(StoreUnavailable):
        journal.replay(Ledger(gone))
    gone.dispose()
    assert [e.receipt.number for e in journal.pending()] == ["0", "1", "2"]
    assert len(journal.replay(Ledger(engine))) == 3
    assert Ledger(engine).balance(CARD) == 6


DEFAULT_POLICY = Policy()


class _LedgerDuringWhichATillPrints(Ledger):
    """A real ledger; while it applies the first entry, the till prints another sale."""

    def __init__(self, engine: Engine, journal: Journal, late: JournalEntry) -> None:
        super().__init__(engine)
        self._journal, self._late = journal, late

    def award(
        self, receipt: Receipt, rule: PointsRule, now: datetime, policy: Policy = DEFAULT_POLICY
    ) -> Outcome:
        if self._late is not None:
            self._journal.append(self._late)
            self._late = None  # type: ignore[assignment]
        return super().award(receipt, rule, now, policy)


def test_entries_appended_during_a_replay_are_kept(
    tmp_path: Path, engine: Engine, make_receipt: ReceiptFactory
) -> None:
    journal = Journal(tmp_path / "awards.jsonl")
    journal.append(entry(make_receipt(number="1", total="3.00")))
    late = entry(make_receipt(number="2", total="4.00"))
    applied = journal.replay(_LedgerDuringWhichATillPrints(engine, journal, late))
    assert [o.points for o in applied] == [3]
    assert [e.receipt.number for e in journal.pending()] == ["2"]
    journal.replay(Ledger(engine))
    assert Ledger(engine).balance(CARD) == 7


def test_outage_on_sqlite_journal_then_replay(tmp_path: Path, make_receipt: ReceiptFactory) -> None:
    folder = tmp_path / "db"
    engine = make_engine(f"sqlite:///{folder / 'tillbridge.sqlite'}")
    ledger = Ledger(engine)
    journal = Journal(tmp_path / "awards.jsonl")
    receipt = make_receipt(number="1", total="12.99")
    with pytest.raises(StoreUnavailable):
        ledger.award(receipt, RULE, NOW)
    journal.append(entry(receipt))

    folder.mkdir()  # the disk is back
    engine.dispose()
    migrate(engine)
    assert journal.replay(ledger) == [Outcome(12, 12, CARD, None, False, parts=ANY)]
    assert journal.replay(ledger) == []
    assert ledger.award(receipt, RULE, NOW).duplicate
    assert ledger.balance(CARD) == 12
    engine.dispose()


def test_outage_on_postgresql_journal_then_replay(
    tmp_path_factory: pytest.TempPathFactory, make_receipt: ReceiptFactory
) -> None:
    """A server of its own, stopped and started again under the bridge's feet."""
    import pgserver

    data = tmp_path_factory.mktemp("pg_outage")
    server = pgserver.get_server(data, cleanup_mode="stop")
    engine = make_engine(psycopg_url(server.get_uri()))
    try:
        migrate(engine)
        ledger = Ledger(engine)
        journal = Journal(data.parent / "awards.jsonl")
        assert ledger.award(make_receipt(number="1", total="10.00"), RULE, NOW).balance == 10

        server.cleanup()  # the server goes down; the pool still holds a dead connection
        during = make_receipt(number="2", total="4.50")
        with pytest.raises(StoreUnavailable):
            ledger.award(during, RULE, NOW)
        journal.append(entry(during))

        server = pgserver.get_server(data, cleanup_mode="stop")  # and comes back
        assert journal.replay(ledger) == [Outcome(4, 14, CARD, None, False, parts=ANY)]
        assert journal.replay(ledger) == []
        assert ledger.balance(CARD) == 14
    finally:
        engine.dispose()
        server.cleanup()


def test_a_full_disk_leaves_no_partial_line(tmp_path: Path, make_receipt: ReceiptFactory) -> None:
    """On a real full disk (a 64 KiB tmpfs): the append that does not fit raises, and the
    journal is byte for byte what it was, so nothing torn is read back later."""
    from .fault_helpers import fill, small_tmpfs

    with small_tmpfs(tmp_path / "disk") as disk:
        journal = Journal(disk / "awards.jsonl")
        journal.append(entry(make_receipt(number="0")))
        filler = fill(disk)
        # The file's last page may still have room for a line or two: append until it has not.
        for number in range(1, 100):
            before = journal.path.read_bytes()
            try:
                journal.append(entry(make_receipt(number=str(number))))
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
        else:
            pytest.fail("a full disk took 100 more journal lines")
        assert journal.path.read_bytes() == before
        assert [e.receipt.number for e in journal.pending()] == [str(n) for n in range(number)]
        filler.unlink()  # space again: the same entry goes in whole
        journal.append(entry(make_receipt(number=str(number))))
        assert len(journal.pending()) == number + 1


def test_journal_files_are_owner_only_also_after_compaction(
    tmp_path: Path, engine: Engine, make_receipt: ReceiptFactory
) -> None:
    before = os.umask(0)
    try:
        journal = Journal(tmp_path / "awards.jsonl")
        journal.append(entry(make_receipt(number="1")))
        with open(journal.path, "ab") as out:
            out.write(b"not json\n")  # goes to .rejected at the compaction
        journal.append(entry(make_receipt(number="2")))
        assert os.stat(journal.path).st_mode & 0o777 == 0o600
        journal.replay(Ledger(engine), NOW)
        assert os.stat(journal.path).st_mode & 0o777 == 0o600
        assert os.stat(journal.rejected_path).st_mode & 0o777 == 0o600
    finally:
        os.umask(before)


def test_an_entry_keeps_the_rules_file_it_was_journaled_with(
    make_receipt: ReceiptFactory,
) -> None:
    from bridge.loyalty.programme import parse_programme

    double = parse_programme('version = "double"\n[base]\npoints_per_unit = 2\n', source="t.toml")
    entry = JournalEntry(make_receipt(total="12.50"), double, NOW)
    again = JournalEntry.from_json(entry.to_json())
    assert again.rule.version == double.version
    facts_free = again.rule.earn(again.receipt, CustomerFacts(), NOW)
    assert facts_free.points == 25  # by the journaled rules, whatever the file says now
