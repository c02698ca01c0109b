"""Voids on a real SQLite file and a real PostgreSQL server: an award whose receipt never
reached the printer is taken back once, never by editing a ledger row, and the receipt printed
again earns again, once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from unittest.mock import ANY

import pytest
from sqlalchemy import Engine, select, update

from bridge.cli import main
from bridge.loyalty import (
    Ledger,
    Outcome,
    PointsRule,
    VoidedClaimCode,
    earn_key,
    idempotency_key,
    void_key,
)
from bridge.loyalty.keys import attribute
from bridge.loyalty.ledger import MAX_GENERATIONS
from bridge.store import Account, ClaimCode, EntryKind, LedgerEntry, make_engine
from parsers.layouts import Layout
from parsers.pipeline import read_receipts
from parsers.receipt import ReceiptKind

from .conftest import ReceiptFactory
from .test_ledger import account_sums_agree, in_threads

RULE = PointsRule()
NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
CARD = "4000123412341234"
WHY = "the printer reset before it took the receipt"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def rows(engine: Engine) -> list[tuple[str, int, int | None, str | None, str | None]]:
    with engine.connect() as conn:
        found = conn.execute(
            select(
                LedgerEntry.kind,
                LedgerEntry.points,
                LedgerEntry.balance_after,
                LedgerEntry.idempotency_key,
                LedgerEntry.reason,
            ).order_by(LedgerEntry.id)
        )
        return [tuple(row) for row in found]  # type: ignore[misc]


def test_a_void_takes_the_award_back_with_a_new_row(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    kept = ledger.award(make_receipt(number="1", total="5.00"), RULE, NOW)
    receipt = make_receipt(number="2", total="12.99")
    ledger.award(receipt, RULE, NOW)
    assert ledger.balance(CARD) == 17

    assert ledger.void(receipt, WHY, NOW) == 12
    assert ledger.balance(CARD) == 5
    key = idempotency_key(receipt)
    earned = rows(engine)[:2]
    assert rows(engine) == [
        *earned,
        ("void", -12, 5, void_key(key), WHY),
    ]
    assert earned[1] == ("earn", 12, 17, key, None)  # the earn row is as it was
    assert account_sums_agree(engine)
    # The other receipt's award is untouched.
    assert ledger.award(make_receipt(number="1", total="5.00"), RULE, NOW) == Outcome(
        kept.points, kept.balance, CARD, None, True
    )


def test_a_second_void_changes_nothing(engine: Engine, make_receipt: ReceiptFactory) -> None:
    ledger = Ledger(engine)
    receipt = make_receipt(total="12.99")
    ledger.award(receipt, RULE, NOW)
    assert ledger.void(receipt, WHY, NOW) == 12
    assert ledger.void(receipt, WHY, NOW) == 0
    assert ledger.void(make_receipt(total="12.99"), "again", NOW) == 0  # the same, resent
    assert [r[0] for r in rows(engine)] == ["earn", "void"]
    assert ledger.balance(CARD) == 0
    assert account_sums_agree(engine)


def test_a_void_of_a_receipt_never_awarded_changes_nothing(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    assert ledger.void(make_receipt(number="9"), WHY, NOW) == 0
    # Nor one that earned nothing (a copy writes no row).
    copy = make_receipt(number="8", kind=ReceiptKind.COPY)
    assert ledger.award(copy, RULE, NOW).points == 0
    assert ledger.void(copy, WHY, NOW) == 0
    assert rows(engine) == []
    # A void before the award does not stop the award that comes later.
    late = make_receipt(number="9")
    assert ledger.award(late, RULE, NOW) == Outcome(12, 12, CARD, None, False, parts=ANY)


def test_a_reprint_earns_again_once_and_a_resend_of_it_is_a_duplicate(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    receipt = make_receipt(total="12.99")
    key = idempotency_key(receipt)
    assert ledger.award(receipt, RULE, NOW) == Outcome(12, 12, CARD, None, False, parts=ANY)
    ledger.void(receipt, WHY, NOW)
    assert ledger.balance(CARD) == 0

    reprint = make_receipt(total="12.99")  # the same bytes again: the same key
    assert ledger.award(reprint, RULE, NOW) == Outcome(12, 12, CARD, None, False, parts=ANY)
    assert ledger.award(reprint, RULE, NOW) == Outcome(12, 12, CARD, None, True)
    assert ledger.balance(CARD) == 12

    # The reprint did not print either: voided, and the next one earns under "#3".
    assert ledger.void(reprint, WHY, NOW) == 12
    assert ledger.void(reprint, WHY, NOW) == 0
    assert ledger.award(reprint, RULE, NOW) == Outcome(12, 12, CARD, None, False, parts=ANY)
    assert ledger.award(reprint, RULE, NOW).duplicate
    assert [(r[0], r[1], r[3]) for r in rows(engine)] == [
        ("earn", 12, key),
        ("void", -12, void_key(key)),
        ("earn", 12, earn_key(key, 2)),
        ("void", -12, void_key(earn_key(key, 2))),
        ("earn", 12, earn_key(key, 3)),
    ]
    assert ledger.balance(CARD) == 12
    assert account_sums_agree(engine)


def test_every_key_fits_its_column_up_to_the_last_generation(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    key = idempotency_key(make_receipt())
    assert len(void_key(earn_key(key, MAX_GENERATIONS))) <= LedgerEntry.idempotency_key.type.length
    with pytest.raises(ValueError, match="starts at 1"):
        earn_key(key, 0)


def test_past_the_last_generation_a_reprint_earns_nothing(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    receipt = make_receipt(total="3.00")
    for _ in range(MAX_GENERATIONS):
        assert ledger.award(receipt, RULE, NOW).points == 3
        assert ledger.void(receipt, WHY, NOW) == 3
    assert ledger.award(receipt, RULE, NOW) == Outcome(0, 0, CARD, None, True)
    assert ledger.balance(CARD) == 0
    assert account_sums_agree(engine)


def test_a_voided_claim_code_cannot_be_claimed_and_a_reprint_has_a_new_one(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    receipt = make_receipt(total="9.00", customer=None)
    first = ledger.award(receipt, RULE, NOW)
    assert first.claim_code is not None
    assert ledger.void(receipt, WHY, NOW) == 9  # what the code can no longer be claimed for
    assert ledger.void(receipt, WHY, NOW) == 0

    with pytest.raises(VoidedClaimCode, match="was voided: its receipt did not print"):
        ledger.claim(first.claim_code, CARD, NOW)
    assert ledger.balance(CARD) == 0
    with engine.connect() as conn:  # the code's row is as it was made
        assert conn.execute(select(ClaimCode.claimed_at)).scalar_one() is None

    again = ledger.award(receipt, RULE, NOW)
    assert again.claim_code is not None and again.claim_code != first.claim_code
    assert again.points == 9 and not again.duplicate
    assert ledger.award(receipt, RULE, NOW).claim_code == again.claim_code  # a resend
    assert ledger.claim(again.claim_code, CARD, NOW).balance == 9
    assert account_sums_agree(engine)


def test_a_claimed_code_voided_takes_the_points_from_who_claimed_it(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    ledger.award(make_receipt(number="1", total="4.00"), RULE, NOW)  # the customer's own
    receipt = make_receipt(number="2", total="9.00", customer=None)
    code = ledger.award(receipt, RULE, NOW).claim_code
    assert code is not None
    assert ledger.claim(code, CARD, NOW).balance == 13

    assert ledger.void(receipt, WHY, NOW) == 9
    assert ledger.balance(CARD) == 4
    kinds = [(r[0], r[1], r[2]) for r in rows(engine)]
    assert kinds == [("earn", 4, 4), ("earn", 9, None), ("claim", 9, 13), ("void", -9, 4)]
    with engine.connect() as conn:
        claim_code = conn.execute(
            select(LedgerEntry.claim_code).where(LedgerEntry.kind == EntryKind.VOID.value)
        ).scalar_one()
    assert claim_code == code
    with pytest.raises(VoidedClaimCode):
        ledger.claim(code, CARD, NOW)
    assert account_sums_agree(engine)


def test_points_spent_meanwhile_stop_the_balance_at_zero_and_the_row_says_so(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    receipt = make_receipt(total="12.99")
    ledger.award(receipt, RULE, NOW)
    # 10 of the 12 points spent meanwhile (redemptions come later: an admin's entry stands in).
    with engine.begin() as conn:
        customer_id = conn.execute(select(Account.customer_id)).scalar_one()
        conn.execute(
            LedgerEntry.__table__.insert().values(
                customer_id=customer_id,
                kind=EntryKind.ADJUST.value,
                points=-10,
                balance_after=2,
                created_at=NOW,
            )
        )
        conn.execute(update(Account).values(balance=2))

    assert ledger.void(receipt, WHY, NOW) == 2
    assert ledger.balance(CARD) == 0
    void = rows(engine)[-1]
    assert void[:3] == ("void", -2, 0)
    assert void[4] == f"{WHY} (12 points due, 2 taken: the balance was 2)"
    assert account_sums_agree(engine)


def test_two_voids_racing_take_the_points_back_once(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    receipts = [make_receipt(number=str(n), total="10.00") for n in range(6)]
    code_receipt = make_receipt(number="c", total="7.00", customer=None)
    ledger = Ledger(engine)
    for receipt in receipts:
        ledger.award(receipt, RULE, NOW)
    ledger.award(code_receipt, RULE, NOW)
    assert ledger.balance(CARD) == 60

    # Two ledgers on two threads void each receipt at once (two tills, or a void and its
    # replay): each award is taken back once.
    for receipt in [*receipts[:3], code_receipt]:
        taken = in_threads(2, lambda i, r=receipt: Ledger(engine).void(r, f"racer {i}", NOW))
        assert sorted(taken) == [0, 7 if receipt.customer is None else 10]
    # Many at once on one receipt.
    taken = in_threads(6, lambda i: Ledger(engine).void(receipts[3], WHY, NOW))
    assert sorted(taken) == [0, 0, 0, 0, 0, 10]
    assert ledger.balance(CARD) == 20
    with engine.connect() as conn:
        voids = conn.execute(
            select(LedgerEntry.idempotency_key).where(LedgerEntry.kind == EntryKind.VOID.value)
        ).scalars()
        assert len(list(voids)) == 5
    assert account_sums_agree(engine)


def test_a_void_racing_a_claim_leaves_the_code_either_unclaimable_or_taken_back(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    for n in range(4):
        receipt = make_receipt(number=f"c{n}", total="7.00", customer=None)
        code = ledger.award(receipt, RULE, NOW).claim_code
        assert code is not None

        def work(i: int, receipt: object = receipt, code: str = code) -> object:
            if i == 0:
                return Ledger(engine).void(receipt, WHY, NOW)  # type: ignore[arg-type]
            try:
                return Ledger(engine).claim(code, CARD, NOW)
            except VoidedClaimCode as exc:
                return exc

        in_threads(2, work)
        assert ledger.balance(CARD) == 0  # claimed then voided, or voided and refused
    assert account_sums_agree(engine)


def test_the_award_command_awards_a_voided_receipt_again_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "tillbridge.toml"
    config.write_text(
        'journal = "journal.jsonl"\n'
        "[database]\n"
        f'url = "sqlite:///{tmp_path / "tillbridge.db"}"\n'
        "[[tills]]\n"
        'name = "front"\n'
        'listen = "tcp:127.0.0.1:9100"\n'
        'printer = "tcp:127.0.0.1:9101"\n'
        'layout = "bakery_es"\n',
        encoding="utf-8",
    )
    capture = FIXTURES / "bakery_es" / "sale_customer_card.bin"
    command = ["award", str(capture), "--till", "front", "--config", str(config)]
    assert main(command) == 0
    assert "13 points to 400012345678, balance 13\n" in capsys.readouterr().out

    [result] = read_receipts(capture.read_bytes(), Layout.load("bakery_es"))
    assert result.receipt is not None
    # Known by the config's store and till, as the daemon's void knows it.
    attribute(result.receipt, "main", "front")
    engine = make_engine(f"sqlite:///{tmp_path / 'tillbridge.db'}")
    try:
        assert Ledger(engine).void(result.receipt, WHY, NOW) == 13
        assert Ledger(engine).balance("400012345678") == 0
        # Kept unread and awarded by hand after it printed: it earns again, once.
        assert main(command) == 0
        assert "13 points to 400012345678, balance 13\n" in capsys.readouterr().out
        assert main(command) == 0
        assert "balance 13 (already awarded)" in capsys.readouterr().out
        assert Ledger(engine).balance("400012345678") == 13
        assert account_sums_agree(engine)
    finally:
        engine.dispose()


def test_two_reprints_racing_after_a_void_earn_once(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    # No customer, so no account row to queue on: only the unique key keeps them apart.
    receipt = make_receipt(number="r", total="6.00", customer=None)
    ledger = Ledger(engine)
    first = ledger.award(receipt, RULE, NOW).claim_code
    ledger.void(receipt, WHY, NOW)
    outcomes = in_threads(4, lambda i: Ledger(engine).award(receipt, RULE, NOW))
    assert sum(not o.duplicate for o in outcomes) == 1
    assert len({o.claim_code for o in outcomes}) == 1 and outcomes[0].claim_code != first
    assert ledger.claim(outcomes[0].claim_code, CARD, NOW).balance == 6  # type: ignore[arg-type]
