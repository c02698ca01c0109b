"""Claim codes with a check character, older codes without, the attempt limit kept in the
database, and the customer typed for a claim: on SQLite and PostgreSQL, and as the real
``tillbridge claim`` process."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from bridge.loyalty import (
    InvalidCustomer,
    Ledger,
    MistypedClaimCode,
    PointsRule,
    TooManyClaimAttempts,
    UnknownClaimCode,
)
from bridge.loyalty.claims import ALPHABET, check_character, new_code, normalise_code
from bridge.loyalty.claims import read_customer as read
from bridge.loyalty.ledger import CLAIM_ATTEMPT_LIMIT, CLAIM_ATTEMPT_WINDOW
from bridge.store import ClaimCode, make_engine
from parsers.receipt import CustomerKind

from .conftest import ReceiptFactory

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
CARD = "4000123412341234"
ROOT = Path(__file__).resolve().parents[2]


def _unknown_valid_code(n: int) -> str:
    """A well-formed code (its check character right) that no receipt printed."""
    raw = "".join(ALPHABET[(n * 7 + i) % 32] for i in range(8))
    return raw + check_character(raw)


# --- the check character ---------------------------------------------------------------


def test_every_single_wrong_character_and_every_neighbour_swap_is_caught() -> None:
    for _ in range(50):
        code = normalise_code(new_code()).replace("-", "")
        for at, wrong in itertools.product(range(9), ALPHABET):
            if wrong != code[at]:
                typo = code[:at] + wrong + code[at + 1 :]
                with pytest.raises(MistypedClaimCode, match="mistyped: check the code"):
                    normalise_code(typo)
        for at in range(8):
            swapped = code[:at] + code[at + 1] + code[at] + code[at + 2 :]
            if swapped != code:
                missed = check_character(swapped[:-1]) == swapped[-1]
                # Luhn mod 32 misses only the swap of one pair of values (0 and 31).
                assert not missed or {code[at], code[at + 1]} == {ALPHABET[0], ALPHABET[-1]}


def test_a_mistyped_code_is_told_apart_from_an_unknown_one(engine: Engine) -> None:
    ledger = Ledger(engine)
    unknown = _unknown_valid_code(1)
    mistyped = unknown[:-1] + ("2" if unknown[-1] != "2" else "3")
    with pytest.raises(MistypedClaimCode, match="is mistyped: check the code"):
        ledger.claim(mistyped, CARD, NOW)
    with pytest.raises(UnknownClaimCode, match="unknown code"):
        ledger.claim(unknown, CARD, NOW)


def test_a_code_printed_before_the_check_character_still_works(
    engine: Engine, make_receipt: ReceiptFactory
) -> None:
    ledger = Ledger(engine)
    printed = ledger.award(make_receipt(number="9", total="7.00", customer=None), PointsRule(), NOW)
    assert printed.claim_code is not None
    # As an older bridge printed it: eight characters. Only the code's own row: ledger rows
    # are insert-only (migration 0006), and a claim finds its earn by key, not by code.
    with engine.begin() as conn:
        conn.execute(update(ClaimCode).values(code="K7QM-3XPA"))
    claimed = ledger.claim("k7qm 3xpa", CARD, NOW)
    assert (claimed.points, claimed.balance, claimed.claim_code) == (7, 7, "K7QM-3XPA")


# --- the attempt limit -----------------------------------------------------------------


def test_unknown_codes_are_limited_per_place_and_the_limit_survives_a_restart(
    sqlite_url: str, make_receipt: ReceiptFactory
) -> None:
    from bridge.store import migrate

    engine = make_engine(sqlite_url)
    migrate(engine)
    good = Ledger(engine).award(make_receipt(customer=None), PointsRule(), NOW).claim_code
    assert good is not None
    for n in range(CLAIM_ATTEMPT_LIMIT):
        with pytest.raises(UnknownClaimCode):
            Ledger(engine).claim(_unknown_valid_code(n), CARD, NOW + timedelta(seconds=n), "till1")
    engine.dispose()

    restarted = make_engine(sqlite_url)  # a new process, the same database
    ledger = Ledger(restarted)
    later = NOW + timedelta(minutes=1)
    with pytest.raises(TooManyClaimAttempts, match=r"too many unknown claim codes from till1"):
        ledger.claim(good, CARD, later, "till1")  # even a right code waits: no free oracle
    with pytest.raises(TooManyClaimAttempts, match="refused until 09:45 UTC"):
        ledger.claim(_unknown_valid_code(99), CARD, later, "till1")
    # Mistypes never reach the database, and another place is not held up.
    with pytest.raises(MistypedClaimCode):
        ledger.claim(good[:-1] + ("2" if good[-1] != "2" else "3"), CARD, later, "till1")
    assert ledger.claim(good, CARD, later, "other").points > 0
    # Once the window has passed, claims from till1 are taken again.
    with pytest.raises(UnknownClaimCode):
        ledger.claim(
            _unknown_valid_code(98), CARD, NOW + CLAIM_ATTEMPT_WINDOW + timedelta(1), "till1"
        )
    restarted.dispose()


# --- the customer typed ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("4000 1234-1234", (None, "400012341234")),
        ("card:4000 1234", (CustomerKind.CARD, "40001234")),
        ("phone:+48 601-234-567", (CustomerKind.PHONE, "+48601234567")),
        ("loyalty_id:ab.12_x", (CustomerKind.LOYALTY_ID, "ab.12_x")),
    ],
)
def test_customers_as_typed(typed: str, expected: tuple[CustomerKind | None, str]) -> None:
    assert read(typed) == expected


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("card:", "no card number given"),
        ("  ", "no card number, phone or loyalty id given"),
        ("phone:abc", "'abc' is not a phone: a phone is 6 to 15 digits"),
        ("phone:12", "is not a phone"),
        ("email:a@b", "unknown kind 'email'"),
        ("card:40\x1b[2J", "is not a card number"),
    ],
)
def test_what_cannot_be_a_customer_is_refused(typed: str, message: str) -> None:
    with pytest.raises(InvalidCustomer, match=message):
        read(typed)


def test_the_claim_command_refuses_bad_customers_without_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "tillbridge.toml"
    config.write_text(
        '[database]\nurl = "sqlite:///t.sqlite"\n[[tills]]\nname = "front"\n'
        'listen = "tcp:127.0.0.1:9100"\nprinter = "tcp:192.168.1.50:9100"\n',
        encoding="utf-8",
    )
    code = new_code()
    for card, message in [
        ("card:", "no card number given"),
        ("phone:abc", "is not a phone"),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "bridge.cli", "claim", code, card, "--config", str(config)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ),
        )
        assert done.returncode == 1, done.stderr
        assert done.stdout == ""
        assert done.stderr.startswith("tillbridge claim: ") and message in done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "t.sqlite").exists()  # refused before the database
