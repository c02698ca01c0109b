"""Which receipts get a message, and what it says."""

from __future__ import annotations

from collections.abc import Callable

from bridge.loyalty import Outcome
from bridge.messages import award_message, why_no_message
from parsers.receipt import Receipt, ReceiptKind

ReceiptFactory = Callable[..., Receipt]


def test_a_consistent_sale_may_carry_a_message(make_receipt: ReceiptFactory) -> None:
    assert why_no_message(make_receipt()) is None


def test_copies_refunds_and_reports_never_do(make_receipt: ReceiptFactory) -> None:
    for kind in (ReceiptKind.COPY, ReceiptKind.REFUND, ReceiptKind.REPORT):
        assert why_no_message(make_receipt(kind=kind)) == f"a {kind.value}, not a sale"


def test_an_inconsistent_sale_says_why(make_receipt: ReceiptFactory) -> None:
    why = why_no_message(make_receipt(problems=["items add up to 3.00, total 4.00"]))
    assert why == "inconsistent: items add up to 3.00, total 4.00"


def test_a_zero_sale_earns_nothing(make_receipt: ReceiptFactory) -> None:
    assert why_no_message(make_receipt(total="0.00")) == "earns no points"


def test_customer_message_shows_points_and_balance() -> None:
    message = award_message(Outcome(12, 352, "4000123412341234", None, False))
    assert message is not None
    assert message.title == "Loyalty points"
    assert message.lines == ("Card **** 1234", "Points earned: 12", "Balance: 352")
    assert message.qr is None and message.code is None


def test_a_duplicate_says_already_counted_and_shows_the_balance() -> None:
    again = award_message(Outcome(12, 352, "4000123412341234", None, True))
    assert again is not None
    assert again.lines == ("Card **** 1234", "Already counted", "Balance: 352")


def test_no_customer_gets_a_claim_code_and_its_qr() -> None:
    message = award_message(Outcome(7, None, None, "K7QM-3XPA", False), "https://shop.example/c")
    assert message is not None
    assert message.code == "K7QM-3XPA"
    assert message.qr == "https://shop.example/c?code=K7QM-3XPA"
    assert "7 points" in message.lines[0]


def test_the_qr_holds_the_bare_code_without_a_claim_url() -> None:
    message = award_message(Outcome(7, None, None, "K7QM-3XPA", False))
    assert message is not None and message.qr == "K7QM-3XPA"


def test_nothing_to_say_without_points_or_customer() -> None:
    assert award_message(Outcome(0, None, None, None, False)) is None


def test_each_till_prints_in_its_own_language() -> None:
    message = award_message(Outcome(12, 352, "4000123412341234", None, False), language="es")
    assert message is not None
    assert message.title == "Puntos de fidelidad"
    assert message.lines == ("Tarjeta **** 1234", "Puntos ganados: 12", "Saldo: 352 puntos")
    claim = award_message(Outcome(7, None, None, "K7QM-3XPA", False), language="pl")
    assert claim is not None and claim.lines[0] == "Ten zakup daje 7 punktów."


def test_a_resent_claim_code_sale_says_already_counted_and_keeps_its_code() -> None:
    message = award_message(Outcome(7, None, None, "K7QM-3XPA", True))
    assert message is not None
    assert message.lines[0] == "Already counted" and message.code == "K7QM-3XPA"


def test_the_card_is_masked_to_its_last_four() -> None:
    message = award_message(Outcome(1, 1, "4000123412345678", None, False))
    assert message is not None
    assert message.lines[0] == "Card **** 5678"
    assert not any("40001234" in line for line in message.lines)
