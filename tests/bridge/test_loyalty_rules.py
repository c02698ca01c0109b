"""The pure parts of loyalty: the points rule, idempotency keys, claim codes."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.loyalty.claims import (
    ALPHABET,
    InvalidClaimCode,
    format_code,
    new_code,
    normalise_code,
    qr_payload,
)
from bridge.loyalty.earning import CustomerFacts
from bridge.loyalty.keys import idempotency_key
from bridge.loyalty.rules import PointsRule, earns, net_amount, points_for, round_points
from parsers.receipt import Deposit, ReceiptKind

from .conftest import ReceiptFactory


@pytest.mark.parametrize(
    ("total", "per_unit", "points"),
    [
        ("12.99", "1", 12),
        ("12.99", "0.5", 6),
        ("0.99", "1", 0),
        ("100.00", "1", 100),
        ("3.75", "10", 37),
        ("0.09", "10", 0),
        ("1999", "0.01", 19),
    ],
)
def test_points_are_rounded_down(
    make_receipt: ReceiptFactory, total: str, per_unit: str, points: int
) -> None:
    assert PointsRule(Decimal(per_unit)).points_for(make_receipt(total=total)) == points


def test_tips_service_and_deposits_never_earn(make_receipt: ReceiptFactory) -> None:
    # The catering bill of issue 8: $1,404.84 with a $180 tip earns on $1,224.84.
    receipt = make_receipt(total="1404.84")
    receipt.tip = Decimal("180.00")
    assert net_amount(receipt) == Decimal("1224.84")
    assert PointsRule().points_for(receipt) == 1224
    receipt.tip = None
    receipt.service_charge = Decimal("4.84")
    receipt.deposits = [Deposit("Pfand", Decimal("0.25")), Deposit("Pfand", Decimal("0.75"))]
    assert PointsRule().points_for(receipt) == 1399
    earning = PointsRule().earn(receipt, CustomerFacts(), datetime(2026, 12, 2, tzinfo=UTC))
    assert earning.points == 1399 and earning.based_on == Decimal("1399.00")
    assert [(p.rule_id, p.points) for p in earning.parts] == [("base", 1399)]


def test_a_returned_deposit_adds_nothing_and_never_makes_points_negative(
    make_receipt: ReceiptFactory,
) -> None:
    receipt = make_receipt(total="0.50")
    receipt.deposits = [Deposit("Pfand return", Decimal("-3.00"))]
    assert PointsRule().points_for(receipt) == 3  # the goods were 3.50
    receipt = make_receipt(total="1.00")
    receipt.tip = Decimal("5.00")
    assert PointsRule().points_for(receipt) == 0


def test_default_rule_is_one_point_per_unit(make_receipt: ReceiptFactory) -> None:
    assert points_for(make_receipt(total="42.50")) == 42


@given(
    total=st.decimals(min_value="0.01", max_value="100000", places=2),
    per_unit=st.decimals(min_value="0", max_value="50", places=3),
)
def test_rounding_never_gives_a_point_not_paid_for(total: Decimal, per_unit: Decimal) -> None:
    exact = total * per_unit
    points = round_points(exact)
    assert isinstance(points, int)
    assert points <= exact < points + 1


@pytest.mark.parametrize(
    "kind",
    [
        ReceiptKind.REFUND,
        ReceiptKind.VOID,
        ReceiptKind.COPY,
        ReceiptKind.REPORT,
        ReceiptKind.TRAINING,
        ReceiptKind.OTHER,
    ],
)
def test_only_sales_earn(make_receipt: ReceiptFactory, kind: ReceiptKind) -> None:
    receipt = make_receipt(kind=kind)
    assert not earns(receipt)
    assert points_for(receipt) == 0


def test_an_inconsistent_sale_earns_nothing(make_receipt: ReceiptFactory) -> None:
    receipt = make_receipt(problems=["total 12.99 != 13.99 from the lines above it"])
    assert receipt.inconsistent
    assert points_for(receipt) == 0


@pytest.mark.parametrize("total", ["0", "-5.00"])
def test_a_sale_without_a_positive_total_earns_nothing(
    make_receipt: ReceiptFactory, total: str
) -> None:
    assert points_for(make_receipt(total=total)) == 0


def test_a_sale_without_a_total_earns_nothing(make_receipt: ReceiptFactory) -> None:
    receipt = make_receipt()
    receipt.total = None
    assert points_for(receipt) == 0


def test_the_rule_takes_decimals_only() -> None:
    with pytest.raises(TypeError):
        PointsRule(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        PointsRule(Decimal("-1"))
    with pytest.raises(ValueError):
        PointsRule(Decimal("NaN"))


def test_the_key_is_the_documented_hash(make_receipt: ReceiptFactory) -> None:
    receipt = make_receipt(number="77", store="S09", till="4")
    fields = ["S09", "4", "77", "2026-11-23", receipt.fingerprint]
    expected = "r1-" + hashlib.sha256("\x1f".join(fields).encode()).hexdigest()
    assert idempotency_key(receipt) == expected


def test_the_key_is_stable_and_blind_to_whitespace(make_receipt: ReceiptFactory) -> None:
    first, resent = make_receipt(), make_receipt()
    resent.raw_text = resent.raw_text.replace("\n", "   \n  ")
    assert idempotency_key(first) == idempotency_key(resent)


def test_the_key_uses_the_date_as_printed(make_receipt: ReceiptFactory) -> None:
    # 00:30 in Madrid is still the day before in UTC: the printed date is the one that counts.
    late = datetime(2026, 11, 24, 0, 30, tzinfo=ZoneInfo("Europe/Madrid"))
    receipt = make_receipt(issued_at=late)
    assert receipt.issued_at is not None
    digest = hashlib.sha256(
        "\x1f".join(["S01", "2", "1001", "2026-11-24", receipt.fingerprint]).encode()
    ).hexdigest()
    assert idempotency_key(receipt) == f"r1-{digest}"


@pytest.mark.parametrize("field", ["store", "till", "number"])
def test_any_identifying_field_changes_the_key(make_receipt: ReceiptFactory, field: str) -> None:
    base = make_receipt()
    other = make_receipt()
    # Same printed text, so only the field itself can make the difference.
    setattr(other, field, "X")
    assert idempotency_key(base) != idempotency_key(other)


def test_different_text_changes_the_key(make_receipt: ReceiptFactory) -> None:
    base, other = make_receipt(), make_receipt()
    other.raw_text += "\nthank you"
    assert idempotency_key(base) != idempotency_key(other)


def test_claim_codes_look_right() -> None:
    codes = {new_code() for _ in range(500)}
    assert len(codes) == 500
    for code in codes:
        assert re.fullmatch(r"[2-9A-HJ-NP-Z]{3}-[2-9A-HJ-NP-Z]{3}-[2-9A-HJ-NP-Z]{3}", code)
        assert normalise_code(code) == code  # its check character matches
    assert not set("01OI") & set(ALPHABET)
    assert len(ALPHABET) == 32


@given(st.text(alphabet=ALPHABET, min_size=8, max_size=8))
def test_an_older_code_is_read_back_however_it_is_typed(raw: str) -> None:
    """Codes printed before the check character: eight characters, no check."""
    code = format_code(raw)
    assert normalise_code(code) == code
    assert normalise_code(raw.lower()) == code
    assert normalise_code(f" {raw[:4].lower()} {raw[4:]} ") == code


@pytest.mark.parametrize("typed", ["", "K7QM-3XP", "K7QM-3XPAA", "K7QM-3XP0", "K7QM-3XPI"])
def test_a_malformed_code_is_refused(typed: str) -> None:
    with pytest.raises(InvalidClaimCode):
        normalise_code(typed)


def test_qr_payload() -> None:
    assert qr_payload("K7QM-3XPA") == "K7QM-3XPA"
    assert qr_payload("K7QM-3XPA", "https://shop.example/claim") == (
        "https://shop.example/claim?code=K7QM-3XPA"
    )
    assert qr_payload("K7QM-3XPA", "https://x.example/c?s=1").endswith("&code=K7QM-3XPA")
