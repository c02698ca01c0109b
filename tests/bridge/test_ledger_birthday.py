"""The birthday the shop keeps for a customer reaches the rules: the bonus on the day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from bridge.loyalty import Ledger
from bridge.loyalty.customers import add_customer
from bridge.loyalty.programme import parse_programme
from bridge.store import make_engine, migrate
from parsers.receipt import CustomerKind, CustomerRef, Receipt, ReceiptKind

CARD = CustomerRef(CustomerKind.CARD, "4000123412341234")
RULES = parse_programme(
    'version = "b"\ntimezone = "UTC"\n[birthday]\npoints = 200\nmatch = "day"\n', source="b.toml"
)


def _sale(number: str, when: datetime) -> Receipt:
    return Receipt(
        kind=ReceiptKind.SALE,
        store="main",
        till="front",
        number=number,
        issued_at=when,
        currency="EUR",
        total=Decimal("10.00"),
        customer=CARD,
        raw_text=f"sale {number}",
    )


def test_the_birthday_bonus_comes_on_the_day(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        migrate(engine)
        enrolled = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
        add_customer(engine, CARD, enrolled, birthday=date(1990, 5, 17))
        ledger = Ledger(engine)
        before = ledger.award(_sale("1", enrolled), RULES, enrolled, RULES.policy)
        assert before.points == 10
        on_the_day = datetime(2026, 5, 17, 12, 0, tzinfo=UTC)
        outcome = ledger.award(_sale("2", on_the_day), RULES, on_the_day, RULES.policy)
        assert outcome.points == 210
        assert [p.rule_id for p in outcome.parts] == ["base", "birthday"]
    finally:
        engine.dispose()
