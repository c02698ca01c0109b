"""Check the store against itself: each account's cached balance against its ledger.

The ``accounts`` row is a cache of the sum of the customer's ledger entries, kept in the same
transaction as each entry. A mismatch means a bug or a hand edit; ``verify`` finds them
without changing anything, so an operator (or a test) can see them before deciding. The
ledger rows are the truth: a fix is a new ``adjust`` row or a rebuilt cache, never an edit of
the ledger. The lots (points with an expiry day, less what debits drew) must add up to the
same balance: a debit that drew nothing would leave points to expire that were spent.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from bridge.store.engine import outages_as_unavailable
from bridge.store.models import Account, LedgerEntry, Lot, LotDraw


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One figure the store holds twice that disagrees with itself."""

    customer_id: int
    # "balance": the account's cached balance against its ledger's sum; "lots": the points
    # left in its lots against that sum.
    what: str
    cached: int
    ledger: int


def verify(engine: Engine) -> list[Mismatch]:
    """Every mismatch, by customer id; empty when the store agrees with itself."""
    with outages_as_unavailable(), engine.connect() as conn:
        cached = {
            row.customer_id: row.balance
            for row in conn.execute(select(Account.customer_id, Account.balance))
        }
        sums = {
            row.customer_id: row.total
            for row in conn.execute(
                select(LedgerEntry.customer_id, func.sum(LedgerEntry.points).label("total"))
                .where(LedgerEntry.customer_id.is_not(None))
                .group_by(LedgerEntry.customer_id)
            )
        }
        drawn = (
            select(LotDraw.lot_id, func.sum(LotDraw.points).label("drawn"))
            .group_by(LotDraw.lot_id)
            .subquery()
        )
        lots = {
            row.customer_id: row.left
            for row in conn.execute(
                select(
                    Lot.customer_id,
                    func.sum(Lot.points - func.coalesce(drawn.c.drawn, 0)).label("left"),
                )
                .outerjoin(drawn, drawn.c.lot_id == Lot.id)
                .group_by(Lot.customer_id)
            )
        }
    found = []
    for customer_id in sorted(cached.keys() | sums.keys() | lots.keys()):
        balance, total = int(cached.get(customer_id) or 0), int(sums.get(customer_id) or 0)
        if balance != total:
            found.append(Mismatch(int(customer_id), "balance", balance, total))
        # A negative balance (a refund where the programme allows it) is a debt no lot holds.
        held = int(lots.get(customer_id) or 0)
        if held != max(total, 0):
            found.append(Mismatch(int(customer_id), "lots", held, total))
    return found
