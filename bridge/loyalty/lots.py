"""Lots: which points expire when, and which points a debit took. Pure date rule plus the
statements run inside a ledger transaction (the caller holds the account's row lock).

``expiry_day`` is the month-end rule: points earned on the 31st of January with a one-month
expiry last until the 28th (29th) of February, the month's last day, rather than spilling
into March; otherwise the same day N months later. Points expire at the end of that day:
``expire`` takes only lots whose day is before today.

A debit draws soonest-expiring first (never-expiring lots last, then oldest): the customer
keeps the points that last longest.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, func, insert, select

from bridge.store.models import Lot, LotDraw


def expiry_day(earned: date, months: int | None) -> date | None:
    """The last day points earned on ``earned`` are good for; None when they never expire."""
    if months is None:
        return None
    index = earned.month - 1 + months
    year, month = earned.year + index // 12, index % 12 + 1
    return date(year, month, min(earned.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class OpenLot:
    id: int
    remaining: int
    expires_on: date | None


def add_lot(
    conn: Connection,
    customer_id: int,
    entry_id: int,
    points: int,
    now: datetime,
    expires_on: date | None,
) -> None:
    if points > 0:
        conn.execute(
            insert(Lot).values(
                customer_id=customer_id,
                entry_id=entry_id,
                points=points,
                created_at=now,
                expires_on=expires_on,
            )
        )


def open_lots(conn: Connection, customer_id: int) -> list[OpenLot]:
    """The customer's lots with points left, in the order debits draw them."""
    drawn = (
        select(LotDraw.lot_id, func.sum(LotDraw.points).label("drawn"))
        .group_by(LotDraw.lot_id)
        .subquery()
    )
    remaining = Lot.points - func.coalesce(drawn.c.drawn, 0)
    rows = conn.execute(
        select(Lot.id, remaining.label("remaining"), Lot.expires_on)
        .outerjoin(drawn, drawn.c.lot_id == Lot.id)
        .where(Lot.customer_id == customer_id, remaining > 0)
        .order_by(Lot.expires_on.is_(None), Lot.expires_on, Lot.id)
    ).all()
    return [OpenLot(int(r.id), int(r.remaining), r.expires_on) for r in rows]


def draw(conn: Connection, customer_id: int, entry_id: int, points: int) -> int:
    """Take ``points`` from the customer's lots for the debit ``entry_id``, soonest-expiring
    first; the points taken (less than asked when the lots hold less)."""
    left = points
    rows = []
    for lot in open_lots(conn, customer_id):
        if left <= 0:
            break
        take = min(left, lot.remaining)
        rows.append({"lot_id": lot.id, "entry_id": entry_id, "points": take})
        left -= take
    if rows:
        conn.execute(insert(LotDraw), rows)
    return points - left


def draw_lot(conn: Connection, lot_id: int, entry_id: int, points: int) -> None:
    """Take ``points`` from one lot (an expiry takes what is left of its own lot)."""
    if points > 0:
        conn.execute(insert(LotDraw).values(lot_id=lot_id, entry_id=entry_id, points=points))
