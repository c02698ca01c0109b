"""Customers and their segments, as CSV rows: what a shop pastes into a spreadsheet or a
mailing tool. Read from the ledger (visits, spend, points) and the accounts (balance).

One row per customer: their identifier (whole: this is the shop's own export, unlike the
report, which masks), balance, points earned, visits, spend per currency, first and last
visit, days since the last, and the segment the figures put them in:

- ``new``: first seen within the last 30 days;
- ``lapsed``: not seen for ``lapsed_days`` (60);
- ``regular``: at least 4 visits in the last 90 days;
- ``occasional``: everyone else.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TextIO

from sqlalchemy import Engine, select

from bridge.store.engine import outages_as_unavailable
from bridge.store.models import Account, Customer, LedgerEntry

NEW_DAYS = 30
REGULAR_VISITS = 4
REGULAR_WINDOW = timedelta(days=90)

COLUMNS = (
    "customer_id",
    "kind",
    "identifier",
    "balance",
    "points_earned",
    "visits",
    "visits_90_days",
    "spend",
    "currency",
    "first_visit",
    "last_visit",
    "days_since_last_visit",
    "segment",
)


@dataclass(slots=True)
class CustomerRow:
    customer_id: int
    kind: str
    identifier: str
    balance: int = 0
    points_earned: int = 0
    visits: int = 0
    visits_90_days: int = 0
    spend: Decimal = Decimal(0)
    currency: str = ""
    first_visit: datetime | None = None
    last_visit: datetime | None = None

    def segment(self, now: datetime, lapsed_days: int) -> str:
        if self.last_visit is None:
            return "no visits"
        if self.first_visit is not None and now - self.first_visit <= timedelta(days=NEW_DAYS):
            return "new"
        if now - self.last_visit > timedelta(days=lapsed_days):
            return "lapsed"
        if self.visits_90_days >= REGULAR_VISITS:
            return "regular"
        return "occasional"

    def values(self, now: datetime, lapsed_days: int) -> list[str]:
        since = "" if self.last_visit is None else str((now - self.last_visit).days)
        return [
            str(self.customer_id),
            self.kind,
            self.identifier,
            str(self.balance),
            str(self.points_earned),
            str(self.visits),
            str(self.visits_90_days),
            f"{self.spend:.2f}",
            self.currency,
            _day(self.first_visit),
            _day(self.last_visit),
            since,
            self.segment(now, lapsed_days),
        ]


def customer_rows(engine: Engine, now: datetime) -> list[CustomerRow]:
    """Every customer with their figures up to ``now``, in customer id order."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    with outages_as_unavailable(), engine.connect() as conn:
        rows = {
            cid: CustomerRow(cid, kind, value, int(balance or 0))
            for cid, kind, value, balance in conn.execute(
                select(Customer.id, Customer.kind, Customer.value, Account.balance)
                .outerjoin(Account, Account.customer_id == Customer.id)
                .order_by(Customer.id)
            )
        }
        entries = conn.execute(
            select(
                LedgerEntry.customer_id,
                LedgerEntry.points,
                LedgerEntry.receipt_total,
                LedgerEntry.receipt_currency,
                LedgerEntry.created_at,
            ).where(
                LedgerEntry.customer_id.is_not(None),
                LedgerEntry.kind.in_(("earn", "claim")),
                LedgerEntry.created_at <= now,
            )
        )
        for cid, points, total, currency, at in entries:
            row = rows.get(cid)
            if row is None:
                continue
            row.points_earned += points
            row.visits += 1
            if now - at <= REGULAR_WINDOW:
                row.visits_90_days += 1
            if total is not None:
                row.spend += total
                if currency and currency not in row.currency.split("/"):
                    row.currency = f"{row.currency}/{currency}" if row.currency else currency
            row.first_visit = at if row.first_visit is None else min(row.first_visit, at)
            row.last_visit = at if row.last_visit is None else max(row.last_visit, at)
    return list(rows.values())


def write_csv(out: TextIO, rows: list[CustomerRow], now: datetime, lapsed_days: int = 60) -> int:
    """The rows as CSV with a header line; the number of customers written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_safe_cell(v) for v in row.values(now, lapsed_days)])
    return len(rows)


def _day(when: datetime | None) -> str:
    return "" if when is None else f"{when:%Y-%m-%d}"


def _safe_cell(value: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: an identifier typed as
    # "=HYPERLINK(...)" must stay text (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@") and not _number(value) else value


def _number(value: str) -> bool:
    try:
        Decimal(value)
    except ArithmeticError:
        return False
    return True
