"""``tillbridge claim CODE CARD [--config PATH]``: credit a receipt's claim code to a customer.

A sale rung up with no customer prints a claim code (``K7Q-M3X-PAW``, and a QR code holding
it; older receipts ``K7QM-3XPA``); the customer brings it back and the shop credits its points
to their card with this command. CODE is typed as printed, in any case, with or without the
dashes; CARD is the card number, phone or loyalty id (spaces and dashes are ignored).

Prints ``credited 12 points to 4000123456789 (claim K7Q-M3X-PAW); balance 352``, exit 0.
Exit 1 when the claim cannot be credited: the code is malformed, mistyped (its check character
does not match: "check the code"), unknown, already claimed, expired (the programme's
``claim_codes_expire_after_days``), the customer is not one
(``card:``, ``phone:abc``), or this machine tried too many unknown codes lately (the reason goes
to standard error, for the person at the counter). Exit 2 when there is no
config file or it has a problem, or the database is unavailable (try again later). Without
``--config`` it reads ``tillbridge.toml`` in the current folder, then
``/etc/tillbridge/tillbridge.toml``.
"""

from __future__ import annotations

import argparse
import socket
import sys
from datetime import UTC, datetime

from bridge.commands import read_config
from bridge.loyalty.claims import ClaimError, normalise_code, read_customer

_PROG = "tillbridge claim"


def run(args: argparse.Namespace) -> int:
    config = read_config(args.config, _PROG)
    if config is None:
        return 2
    # Typing mistakes are told before the database is touched.
    try:
        normalise_code(args.code)
        read_customer(args.card)
    except ClaimError as error:
        print(f"{_PROG}: {error}", file=sys.stderr)
        return 1

    from sqlalchemy.engine import make_url

    from bridge.loyalty import Ledger
    from bridge.loyalty.in_force import policy_in_force
    from bridge.store import StoreUnavailable, make_engine, migrate

    engine = make_engine(config.database.url)
    try:
        migrate(engine)
        policy = policy_in_force(config.loyalty.rules)
        outcome = Ledger(engine).claim(
            args.code,
            args.card,
            datetime.now(UTC),
            source=f"cli@{socket.gethostname()}",
            policy=policy,
        )
    except ClaimError as error:
        print(f"{_PROG}: {error}", file=sys.stderr)
        return 1
    except StoreUnavailable as error:
        where = make_url(config.database.url).render_as_string(hide_password=True)
        print(
            f"{_PROG}: database unavailable: {_cause(error)} ({where}), try again",
            file=sys.stderr,
        )
        return 2
    finally:
        engine.dispose()
    points = f"{outcome.points} point{'' if outcome.points == 1 else 's'}"
    print(
        f"credited {points} to {outcome.customer} (claim {outcome.claim_code}); "
        f"balance {outcome.balance}"
    )
    return 0


def _cause(error: Exception) -> str:
    """The driver's own words, without the ledger's "loyalty database unavailable:" prefix."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    prefix = "loyalty database unavailable: "
    return text[len(prefix) :] if text.startswith(prefix) else text
