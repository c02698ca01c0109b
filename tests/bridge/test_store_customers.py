"""Customers and their numbers on real SQLite and PostgreSQL: enrol, find, edit, link,
unlink, block (its receipts earn to a claim code), merge (points moved by ledger rows) and
forget (personal data gone, ledger kept)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, select

from bridge.loyalty import Ledger, PointsRule
from bridge.loyalty.customers import (
    CustomerError,
    NumberTaken,
    UnknownNumber,
    add_customer,
    block_card,
    edit,
    find,
    forget,
    link_card,
    merge,
    show,
    unlink_card,
)
from bridge.store import Customer, LedgerEntry
from bridge.store.verify import verify
from parsers.receipt import CustomerKind, CustomerRef

from .conftest import ReceiptFactory

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
CARD = CustomerRef(CustomerKind.CARD, "4000123412341234")
FAMILY = CustomerRef(CustomerKind.CARD, "4000999900001111")
PHONE = CustomerRef(CustomerKind.PHONE, "+34600111222")


def test_enrol_find_show_and_edit(engine: Engine) -> None:
    ana = add_customer(engine, CARD, NOW, name="Ana Pérez", email="Ana@Example.org")
    with pytest.raises(NumberTaken):
        add_customer(engine, CARD, NOW)
    assert find(engine, number=CARD) == find(engine, name="pérez") == [ana]
    assert find(engine, email="ana@example.org") == [ana]
    assert find(engine, name="bob") == []
    edit(engine, CARD, NOW, phone="600111222", birthday=date(1990, 5, 1), marketing_consent=True)
    card = show(engine, ana)
    assert (card.name, card.phone, card.birthday, card.marketing_consent, card.balance) == (
        "Ana Pérez",
        "600111222",
        date(1990, 5, 1),
        True,
        0,
    )
    assert [(n.kind, n.value) for n in card.numbers] == [("card", CARD.value)]


def test_a_number_never_seen_is_an_error_unless_new(engine: Engine) -> None:
    with pytest.raises(UnknownNumber):
        edit(engine, PHONE, NOW, name="Typo")
    with pytest.raises(UnknownNumber):
        show(engine, PHONE)
    customer = edit(engine, PHONE, NOW, new=True, name="Bea")
    assert show(engine, PHONE).id == customer


def test_a_linked_card_earns_to_the_same_customer(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ana = add_customer(engine, CARD, NOW)
    link_card(engine, ana, FAMILY, NOW, label="family card")
    ledger = Ledger(engine)
    ledger.award(make_receipt(number="1", total="10.00"), PointsRule(), NOW)
    outcome = ledger.award(
        make_receipt(number="2", total="5.00", customer=FAMILY.value), PointsRule(), NOW
    )
    assert (outcome.points, outcome.balance) == (5, 15)
    assert show(engine, ana).numbers[1].label == "family card"
    other = add_customer(engine, PHONE, NOW)
    with pytest.raises(NumberTaken, match="merge"):
        link_card(engine, other, FAMILY, NOW)


def test_unlinking_frees_the_number_but_not_the_last_one(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ana = add_customer(engine, CARD, NOW)
    link_card(engine, ana, FAMILY, NOW)
    unlink_card(engine, CARD)  # the enrolment number: the other one takes its place
    with pytest.raises(CustomerError, match="only number"):
        unlink_card(engine, FAMILY)
    outcome = Ledger(engine).award(make_receipt(number="1", total="3.00"), PointsRule(), NOW)
    assert outcome.balance == 3  # a new customer now holds the card
    assert find(engine, number=CARD) != [ana]
    assert show(engine, ana).balance == 0


def test_a_blocked_card_earns_to_a_claim_code(
    engine: Engine, make_receipt: ReceiptFactory, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = Ledger(engine)
    ledger.award(make_receipt(number="1", total="10.00"), PointsRule(), NOW)
    block_card(engine, CARD, NOW)
    outcome = ledger.award(make_receipt(number="2", total="7.00"), PointsRule(), NOW)
    assert (outcome.points, outcome.balance, outcome.customer) == (7, None, None)
    assert outcome.claim_code is not None
    assert "is blocked" in caplog.text and CARD.value not in caplog.text
    assert show(engine, CARD).balance == 10
    # A blocked card enrolled but never used earns nothing either.
    add_customer(engine, PHONE, NOW)
    block_card(engine, PHONE, NOW)
    phoned = replace(make_receipt(number="3", total="4.00"), customer=PHONE)
    assert ledger.award(phoned, PointsRule(), NOW).claim_code is not None


def test_merge_moves_numbers_and_points_with_ledger_rows(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    ledger.award(make_receipt(number="1", total="10.00"), PointsRule(), NOW)
    ledger.award(make_receipt(number="2", total="6.00", customer=FAMILY.value), PointsRule(), NOW)
    ana, bea = show(engine, CARD).id, show(engine, FAMILY).id
    assert merge(engine, ana, bea, NOW, actor="cli@till1") == 6
    assert show(engine, CARD).balance == 16 and show(engine, FAMILY).id == ana
    assert show(engine, bea).balance == 0
    with engine.connect() as conn:
        rows = conn.execute(
            select(LedgerEntry.customer_id, LedgerEntry.kind, LedgerEntry.points)
            .where(LedgerEntry.actor == "cli@till1")
            .order_by(LedgerEntry.id)
        ).all()
    assert [tuple(r) for r in rows] == [(bea, "adjust", -6), (ana, "adjust", 6)]
    assert verify(engine) == []
    after = ledger.award(
        make_receipt(number="3", total="2.00", customer=FAMILY.value), PointsRule(), NOW
    )
    assert after.balance == 18


def test_forget_erases_personal_data_and_keeps_the_ledger(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ana = add_customer(engine, CARD, NOW, name="Ana", email="ana@example.org")
    link_card(engine, ana, PHONE, NOW)
    Ledger(engine).award(make_receipt(number="1", total="9.00"), PointsRule(), NOW)
    forget(engine, ana, NOW)
    card = show(engine, ana)
    assert (card.name, card.email, card.numbers, card.forgotten_at) == (None, None, (), NOW)
    assert card.balance == 9 and verify(engine) == []
    assert find(engine, name="ana") == []
    with engine.connect() as conn:
        enrolled = conn.execute(select(Customer.kind, Customer.value)).one()
    assert tuple(enrolled) == ("forgotten", str(ana))
    with pytest.raises(CustomerError, match="forgotten"):
        edit(engine, ana, NOW, name="Ana")
