"""The owner's report: what the programme did over a period, read from the ledger alone.

The ledger is the truth (rows are only ever added), so every figure here is a sum over its
rows of the period, by kind: points issued (earns, less the voids of receipts that never
printed), claimed (claim codes credited to a customer: moved, not issued), redeemed, expired,
reversed (refunds), adjusted by hand. Outstanding points are the balances held at the end of
the period; their money value (the liability) is at the rate of the programme's best reward,
when a reward has a money value (``500 points = 5 EUR`` values a point at 0.01 EUR).

A customer is shown by their identifier masked to its last four characters: a report is
printed on receipts and pasted in mails, and need not carry card numbers whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Connection, Engine, func, select

from bridge.loyalty.earning import Policy
from bridge.store.engine import outages_as_unavailable
from bridge.store.models import Account, ClaimCode, Customer, LedgerEntry

# Ledger kinds, as stored (bridge.store.models.EntryKind and the programme's later kinds).
_ISSUED = ("earn", "void")  # a void takes back an earn of a receipt that did not print
_KINDS = ("claim", "redeem", "expire", "reverse", "adjust")


Period = tuple[ColumnElement[bool], ...]  # the WHERE clauses of a report's period


@dataclass(frozen=True, slots=True)
class CustomerLine:
    customer_id: int
    label: str  # "card **** 5678"
    points: int  # earned in the period
    visits: int  # receipts in the period
    spend: Decimal  # their receipts' totals in the period (one currency: see Report.currency)
    last_visit: datetime | None = None


@dataclass(frozen=True, slots=True)
class Report:
    start: datetime
    end: datetime
    receipts: int  # receipts that earned in the period
    sales: dict[str, Decimal]  # their totals, per currency
    issued: int  # points of earns, less voids
    claimed: int
    redeemed: int  # positive: points spent
    expired: int
    reversed: int  # positive: points refunds took back
    adjusted: int  # signed
    outstanding: int  # balances held at the end of the period
    unclaimed: int  # points of claim codes nobody has claimed yet
    liability: Decimal | None  # outstanding points in money, at the best reward's rate
    top: tuple[CustomerLine, ...] = ()
    lapsed: tuple[CustomerLine, ...] = ()
    lapsed_days: int = 0


def point_value(policy: Policy) -> Decimal | None:
    """Money per point at the programme's best rate (what a customer can get for a point)."""
    rates = [r.value / r.points for r in policy.rewards if r.value is not None and r.points > 0]
    return max(rates) if rates else None


def build_report(
    engine: Engine,
    start: datetime,
    end: datetime,
    *,
    policy: Policy | None = None,
    top: int = 10,
    lapsed_days: int = 60,
) -> Report:
    """The report of ``[start, end)``; lapsed customers are those whose last receipt is more
    than ``lapsed_days`` before ``end``."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("a report's period must be timezone-aware")
    if end <= start:
        raise ValueError("a report's period must end after it starts")
    policy = policy or Policy()
    in_period = (LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
    with outages_as_unavailable(), engine.connect() as conn:
        sums = dict(
            conn.execute(
                select(LedgerEntry.kind, func.sum(LedgerEntry.points))
                .where(*in_period)
                .group_by(LedgerEntry.kind)
            ).all()
        )
        earned = conn.execute(
            select(LedgerEntry.receipt_currency, LedgerEntry.receipt_total).where(
                *in_period, LedgerEntry.kind == "earn"
            )
        ).all()
        # Balances at the end of the period: every row up to it (the cached balance is now's).
        outstanding = conn.execute(
            select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
                LedgerEntry.created_at < end, LedgerEntry.customer_id.is_not(None)
            )
        ).scalar_one()
        unclaimed = conn.execute(
            select(func.coalesce(func.sum(ClaimCode.points), 0)).where(
                ClaimCode.claimed_at.is_(None), ClaimCode.created_at < end
            )
        ).scalar_one()
        top_lines = _top(conn, in_period, top)
        lapsed = _lapsed(conn, end - timedelta(days=lapsed_days), top)
    sales: dict[str, Decimal] = {}
    for currency, total in earned:
        if total is not None:
            key = currency or "?"
            sales[key] = sales.get(key, Decimal(0)) + total
    value = point_value(policy)
    outstanding = int(outstanding or 0)
    return Report(
        start=start,
        end=end,
        receipts=len(earned),
        sales=sales,
        issued=sum(int(sums.get(kind) or 0) for kind in _ISSUED),
        claimed=int(sums.get("claim") or 0),
        redeemed=-int(sums.get("redeem") or 0),
        expired=-int(sums.get("expire") or 0),
        reversed=-int(sums.get("reverse") or 0),
        adjusted=int(sums.get("adjust") or 0),
        outstanding=outstanding,
        unclaimed=int(unclaimed or 0),
        liability=None if value is None else (value * outstanding).quantize(Decimal("0.01")),
        top=top_lines,
        lapsed=lapsed,
        lapsed_days=lapsed_days,
    )


def _top(conn: Connection, in_period: Period, limit: int) -> tuple[CustomerLine, ...]:
    rows = conn.execute(
        select(
            LedgerEntry.customer_id,
            Customer.kind,
            Customer.value,
            func.sum(LedgerEntry.points),
            func.count(LedgerEntry.id),
            func.max(LedgerEntry.created_at),
        )
        .join(Customer, Customer.id == LedgerEntry.customer_id)
        .where(*in_period, LedgerEntry.kind.in_(("earn", "claim")))
        .group_by(LedgerEntry.customer_id, Customer.kind, Customer.value)
        .order_by(func.sum(LedgerEntry.points).desc(), LedgerEntry.customer_id)
        .limit(limit)
    ).all()
    spend = _spend(conn, in_period, [row[0] for row in rows])
    return tuple(
        CustomerLine(
            row[0], mask(row[1], row[2]), int(row[3]), int(row[4]), spend.get(row[0], Decimal(0))
        )
        for row in rows
    )


def _spend(conn: Connection, in_period: Period, ids: Sequence[int]) -> dict[int, Decimal]:
    if not ids:
        return {}
    spend: dict[int, Decimal] = {}
    # Summed here, not in SQL: money is text on SQLite, and a SQL sum of text is a float.
    for customer_id, total in conn.execute(
        select(LedgerEntry.customer_id, LedgerEntry.receipt_total).where(
            *in_period,
            LedgerEntry.kind.in_(("earn", "claim")),
            LedgerEntry.customer_id.in_(ids),
        )
    ):
        if total is not None:
            spend[customer_id] = spend.get(customer_id, Decimal(0)) + total
    return spend


def _lapsed(conn: Connection, before: datetime, limit: int) -> tuple[CustomerLine, ...]:
    last = func.max(LedgerEntry.created_at)
    rows = conn.execute(
        select(LedgerEntry.customer_id, Customer.kind, Customer.value, last, Account.balance)
        .join(Customer, Customer.id == LedgerEntry.customer_id)
        .outerjoin(Account, Account.customer_id == LedgerEntry.customer_id)
        .where(LedgerEntry.kind.in_(("earn", "claim")))
        .group_by(LedgerEntry.customer_id, Customer.kind, Customer.value, Account.balance)
        .having(last < before)
        .order_by(Account.balance.desc(), LedgerEntry.customer_id)
        .limit(limit)
    ).all()
    return tuple(
        CustomerLine(row[0], mask(row[1], row[2]), int(row[4] or 0), 0, Decimal(0), row[3])
        for row in rows
    )


def mask(kind: str, value: str) -> str:
    """``card **** 5678``: the kind and the last four characters."""
    tail = value[-4:]
    return f"{kind} **** {tail}" if len(value) > 4 else f"{kind} {tail}"


def report_lines(report: Report, width: int = 42) -> list[str]:
    """The report as lines of at most ``width`` characters, for a terminal or a receipt."""

    def pair(label: str, value: object) -> str:
        text = str(value)
        room = max(width - len(text) - 1, 1)
        return f"{label[:room]:<{room}} {text}"

    days = f"{report.start:%Y-%m-%d} to {report.end - timedelta(microseconds=1):%Y-%m-%d}"
    lines = ["Loyalty report", days[:width], "-" * width]
    lines.append(pair("Receipts that earned", report.receipts))
    for currency, total in sorted(report.sales.items()):
        lines.append(pair(f"Sales ({currency})", f"{total:.2f}"))
    lines += [
        pair("Points issued", report.issued),
        pair("Points claimed (codes)", report.claimed),
        pair("Points redeemed", report.redeemed),
        pair("Points expired", report.expired),
        pair("Points refunded", report.reversed),
        pair("Points adjusted", f"{report.adjusted:+d}" if report.adjusted else "0"),
        pair("Outstanding points", report.outstanding),
        pair("Unclaimed codes (points)", report.unclaimed),
    ]
    if report.liability is not None:
        lines.append(pair("Outstanding, in money", f"{report.liability:.2f}"))
    if report.top:
        lines += ["-" * width, "Top customers"[:width]]
        for line in report.top:
            lines.append(pair(line.label, f"{line.points} pts {line.visits}x"))
    if report.lapsed:
        lines += ["-" * width, f"Not seen in {report.lapsed_days} days"[:width]]
        for line in report.lapsed:
            seen = f"{line.last_visit:%Y-%m-%d}" if line.last_visit else "?"
            lines.append(pair(line.label, f"{line.points} pts {seen}"))
    return lines
