"""Customers and the numbers they are known by: enrol, find, show, edit, link and unlink
cards, block a lost one, merge two customers, forget one. Blocking calls on an engine.

A customer is named in these functions by id or by a number they hold (``CustomerRef``). A
number typed in a command that the store has never seen is an error (``UnknownNumber``)
unless ``new=True`` enrols it: a typo must not create a stranger holding someone's points.
Receipts from the till still enrol their cards (``bridge.loyalty.ledger``).

**Merge** moves the gone customer's numbers and points to the kept one: two ``adjust`` ledger
rows (out of one, into the other, with actor and reason), never an update of old rows, so
each customer's history still adds up to their balance. **Forget** erases personal data
(name, phone, email, birthday, consent, every number, the enrolment number replaced by
``forgotten:<id>``) and keeps the ledger, which names only the customer's id: the sums and
the reports stay right, and nobody can be found by it any more.

Both accounts a merge touches are locked in id order, as every other writer locks one
account: no deadlock with an award.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from bridge.loyalty.lots import add_lot, draw_lot, open_lots
from bridge.store.engine import outages_as_unavailable
from bridge.store.models import (
    REASON_LENGTH,
    Account,
    Customer,
    EntryKind,
    Identifier,
    LedgerEntry,
)
from parsers.receipt import CustomerRef

FORGOTTEN_KIND = "forgotten"


class CustomerError(Exception):
    """A customer command that cannot be done; the message says why, for the shop."""


class UnknownNumber(CustomerError):
    pass


class UnknownCustomer(CustomerError):
    pass


class NumberTaken(CustomerError):
    pass


@dataclass(frozen=True, slots=True)
class Number:
    kind: str
    value: str
    label: str | None
    blocked_at: datetime | None


@dataclass(frozen=True, slots=True)
class CustomerCard:
    """What ``show`` tells of a customer."""

    id: int
    name: str | None
    phone: str | None
    email: str | None
    birthday: date | None
    marketing_consent: bool
    created_at: datetime
    forgotten_at: datetime | None
    numbers: tuple[Number, ...]
    balance: int


# The fields ``edit`` may change.
EDITABLE = frozenset({"name", "phone", "email", "birthday", "marketing_consent"})

Who = int | CustomerRef


def add_customer(
    engine: Engine,
    number: CustomerRef,
    now: datetime,
    *,
    label: str | None = None,
    **details: Any,
) -> int:
    """Enrol a customer holding ``number``; their id. Raises ``NumberTaken``."""
    _check_details(details)
    with _transaction(engine) as conn:
        if _holder(conn, number) is not None:
            raise NumberTaken(f"{_shown(number)} already belongs to a customer")
        return _enrol(conn, number, now, label, details)


def find(
    engine: Engine,
    *,
    number: CustomerRef | None = None,
    name: str | None = None,
    phone: str | None = None,
    email: str | None = None,
) -> list[int]:
    """Ids of the customers matching every criterion given: a number they hold, a part of
    their name (any case), their phone or email exactly. Forgotten customers match nothing."""
    query = select(Customer.id).where(Customer.forgotten_at.is_(None)).order_by(Customer.id)
    if number is not None:
        query = query.join(Identifier, Identifier.customer_id == Customer.id).where(
            Identifier.kind == number.kind.value, Identifier.value == number.value
        )
    if name:
        query = query.where(func.lower(Customer.name).contains(name.lower(), autoescape=True))
    if phone:
        query = query.where(Customer.phone == phone)
    if email:
        query = query.where(func.lower(Customer.email) == email.lower())
    with outages_as_unavailable(), engine.connect() as conn:
        return [int(i) for i in conn.execute(query).scalars()]


def show(engine: Engine, who: Who) -> CustomerCard:
    with outages_as_unavailable(), engine.connect() as conn:
        customer_id = _resolve(conn, who)
        row = conn.execute(select(Customer).where(Customer.id == customer_id)).one()
        numbers = conn.execute(
            select(Identifier.kind, Identifier.value, Identifier.label, Identifier.blocked_at)
            .where(Identifier.customer_id == customer_id)
            .order_by(Identifier.id)
        ).all()
        balance = conn.execute(
            select(Account.balance).where(Account.customer_id == customer_id)
        ).scalar_one_or_none()
    return CustomerCard(
        id=customer_id,
        name=row.name,
        phone=row.phone,
        email=row.email,
        birthday=row.birthday,
        marketing_consent=bool(row.marketing_consent),
        created_at=row.created_at,
        forgotten_at=row.forgotten_at,
        numbers=tuple(Number(*n) for n in numbers),
        balance=int(balance or 0),
    )


def edit(engine: Engine, who: Who, now: datetime, *, new: bool = False, **changes: Any) -> int:
    """Change a customer's details (``EDITABLE``); their id. ``new``: enrol an unknown
    number named by ``who`` instead of refusing it."""
    _check_details(changes)
    with _transaction(engine) as conn:
        customer_id = _resolve(conn, who, now, new=new)
        _refuse_forgotten(conn, customer_id)
        if changes:
            conn.execute(update(Customer).where(Customer.id == customer_id).values(**changes))
        return customer_id


def link_card(
    engine: Engine,
    who: Who,
    number: CustomerRef,
    now: datetime,
    *,
    label: str | None = None,
    new: bool = False,
) -> None:
    """Give a customer one more number ("family card"). Raises ``NumberTaken``."""
    with _transaction(engine) as conn:
        customer_id = _resolve(conn, who, now, new=new)
        _refuse_forgotten(conn, customer_id)
        holder = _holder(conn, number)
        if holder == customer_id:
            return
        if holder is not None:
            raise NumberTaken(
                f"{_shown(number)} belongs to customer {holder}: merge the two customers instead"
            )
        conn.execute(
            insert(Identifier).values(
                customer_id=customer_id,
                kind=number.kind.value,
                value=number.value,
                label=label,
                created_at=now,
            )
        )


def unlink_card(engine: Engine, number: CustomerRef) -> None:
    """Take a number away from its customer (it may be given to someone else later). A
    customer keeps at least one number: block their last one instead."""
    with _transaction(engine) as conn:
        customer_id = _resolve(conn, number)
        others = conn.execute(
            select(Identifier.kind, Identifier.value)
            .where(
                Identifier.customer_id == customer_id,
                (Identifier.kind != number.kind.value) | (Identifier.value != number.value),
            )
            .order_by(Identifier.id)
        ).first()
        if others is None:
            raise CustomerError(
                f"{_shown(number)} is the customer's only number: block it instead, or forget "
                "the customer"
            )
        conn.execute(
            delete(Identifier).where(
                Identifier.kind == number.kind.value, Identifier.value == number.value
            )
        )
        # The enrolment number goes with it: reports show another of the customer's, and the
        # number is free to enrol someone new.
        conn.execute(
            update(Customer)
            .where(
                Customer.id == customer_id,
                Customer.kind == number.kind.value,
                Customer.value == number.value,
            )
            .values(kind=others.kind, value=others.value)
        )


def block_card(engine: Engine, number: CustomerRef, now: datetime) -> None:
    """Block a lost or stolen number: its receipts earn to claim codes from now on."""
    with _transaction(engine) as conn:
        _resolve(conn, number)
        conn.execute(
            update(Identifier)
            .where(
                Identifier.kind == number.kind.value,
                Identifier.value == number.value,
                Identifier.blocked_at.is_(None),
            )
            .values(blocked_at=now)
        )


def merge(engine: Engine, keep: Who, gone: Who, now: datetime, actor: str) -> int:
    """Move ``gone``'s numbers and points to ``keep``; the points moved."""
    with _transaction(engine) as conn:
        kept, left = _resolve(conn, keep), _resolve(conn, gone)
        if kept == left:
            raise CustomerError("a customer cannot be merged into themselves")
        _refuse_forgotten(conn, kept)
        balances = {cid: _lock(conn, cid, now) for cid in sorted((kept, left))}
        moved = balances[left]
        conn.execute(
            update(Identifier).where(Identifier.customer_id == left).values(customer_id=kept)
        )
        if moved:
            reason = f"merged: customer {left} into customer {kept}"[:REASON_LENGTH]
            entries = {}
            for cid, points in ((left, -moved), (kept, moved)):
                entries[cid] = conn.execute(
                    insert(LedgerEntry)
                    .values(
                        customer_id=cid,
                        kind=EntryKind.ADJUST.value,
                        points=points,
                        balance_after=balances[cid] + points,
                        created_at=now,
                        actor=actor[:64],
                        reason=reason,
                    )
                    .returning(LedgerEntry.id)
                ).scalar_one()
                conn.execute(
                    update(Account)
                    .where(Account.customer_id == cid)
                    .values(balance=Account.balance + points, updated_at=now)
                )
            # The points keep their expiry days: each lot left is closed on one side and
            # opened again, with the same day, on the other.
            for lot in open_lots(conn, left):
                draw_lot(conn, lot.id, entries[left], lot.remaining)
                add_lot(conn, kept, entries[kept], lot.remaining, now, lot.expires_on)
        return moved


def forget(engine: Engine, who: Who, now: datetime) -> None:
    """Erase a customer's personal data; their ledger stays, anonymised by being theirs only
    by id."""
    with _transaction(engine) as conn:
        customer_id = _resolve(conn, who)
        conn.execute(delete(Identifier).where(Identifier.customer_id == customer_id))
        conn.execute(
            update(Customer)
            .where(Customer.id == customer_id)
            .values(
                kind=FORGOTTEN_KIND,
                value=str(customer_id),
                name=None,
                phone=None,
                email=None,
                birthday=None,
                marketing_consent=False,
                forgotten_at=now,
            )
        )


# -- helpers, inside a transaction ------------------------------------------------------------


def _resolve(conn: Connection, who: Who, now: datetime | None = None, *, new: bool = False) -> int:
    if isinstance(who, int):
        found = conn.execute(select(Customer.id).where(Customer.id == who)).scalar_one_or_none()
        if found is None:
            raise UnknownCustomer(f"no customer {who}")
        return int(found)
    holder = _holder(conn, who)
    if holder is not None:
        return holder
    if not new or now is None:
        raise UnknownNumber(
            f"{_shown(who)} is not known: check the number, or enrol it as a new customer"
        )
    return _enrol(conn, who, now, None, {})


def _holder(conn: Connection, number: CustomerRef) -> int | None:
    found = conn.execute(
        select(Identifier.customer_id).where(
            Identifier.kind == number.kind.value, Identifier.value == number.value
        )
    ).scalar_one_or_none()
    return None if found is None else int(found)


def _enrol(
    conn: Connection,
    number: CustomerRef,
    now: datetime,
    label: str | None,
    details: dict[str, Any],
) -> int:
    kind, value = number.kind.value, number.value
    taken = conn.execute(
        select(Customer.id).where(Customer.kind == kind, Customer.value == value)
    ).scalar_one_or_none()
    if taken is not None:
        # Enrolled with this number once, which a merge moved away since: the number goes
        # back to that customer rather than failing on the enrolment number's uniqueness.
        customer_id = int(taken)
    else:
        customer_id = int(
            conn.execute(
                insert(Customer)
                .values(kind=kind, value=value, created_at=now, **details)
                .returning(Customer.id)
            ).scalar_one()
        )
    conn.execute(
        insert(Identifier).values(
            customer_id=customer_id, kind=kind, value=value, label=label, created_at=now
        )
    )
    return customer_id


def _lock(conn: Connection, customer_id: int, now: datetime) -> int:
    query = select(Account.balance).where(Account.customer_id == customer_id).with_for_update()
    balance = conn.execute(query).scalar_one_or_none()
    if balance is None:
        conn.execute(insert(Account).values(customer_id=customer_id, balance=0, updated_at=now))
        return 0
    return int(balance)


def _refuse_forgotten(conn: Connection, customer_id: int) -> None:
    forgotten = conn.execute(
        select(Customer.forgotten_at).where(Customer.id == customer_id)
    ).scalar_one()
    if forgotten is not None:
        raise CustomerError(f"customer {customer_id} was forgotten on {forgotten:%Y-%m-%d}")


def _check_details(details: dict[str, Any]) -> None:
    unknown = set(details) - EDITABLE
    if unknown:
        raise TypeError(f"not a customer detail: {', '.join(sorted(unknown))}")


def _shown(number: CustomerRef) -> str:
    return f"{number.kind.value} {number.value}"


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    with outages_as_unavailable(), engine.begin() as conn:
        yield conn
