"""The loyalty tables: customers, their accounts, the append-only ledger, claim codes and the
claim attempts that failed.

``ledger_entries`` is only ever inserted into, and the database enforces it (triggers made
by ``bridge.store.append_only`` in migration 0006: UPDATE and DELETE abort). An account's
balance is the sum of its customer's entries; the ``accounts`` row keeps that sum so an award
reads one row. Every debit bounds itself at zero in code unless the programme allows a
negative balance (migration 0010 dropped the CHECK that did it before). Times are stored in
UTC and always come back timezone-aware; money is Decimal.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

# Named constraints, so Alembic's batch mode on SQLite can find them again.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored in UTC. SQLite keeps no zone, so the zone is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: times must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """NUMERIC on PostgreSQL; text on SQLite, whose numbers are floats (money never is)."""

    impl = Numeric(14, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(14, 4, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be Decimal, not {type(value).__name__}")
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


REASON_LENGTH = 200


class EntryKind(Enum):
    EARN = "earn"  # points from a receipt (customer_id is NULL until a claim code is claimed)
    CLAIM = "claim"  # a claim code's points credited to a customer
    ADJUST = "adjust"  # an admin's correction
    # An earn taken back: its receipt never reached the printer whole. Negative points (what
    # was taken: no more than the balance held), the earn entry's key behind "void:", and why.
    VOID = "void"
    REDEEM = "redeem"  # points spent on a voucher (negative)
    REVERSE = "reverse"  # an earn taken back by a refund receipt (negative)
    EXPIRE = "expire"  # points of a lot past its day (negative)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, Decimal: Money}


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_customers_kind_value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The number the customer was enrolled with, as reports show it; lookups go through
    # ``identifiers``, which holds this one and any other.
    kind: Mapped[str] = mapped_column(String(16))  # parsers.receipt.CustomerKind value
    value: Mapped[str] = mapped_column(String(64))  # normalised: no spaces or dashes
    created_at: Mapped[datetime]
    name: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    birthday: Mapped[date | None] = mapped_column(Date)
    marketing_consent: Mapped[bool] = mapped_column(Boolean, server_default=false())
    forgotten_at: Mapped[datetime | None]  # personal data erased; the ledger kept


class Identifier(Base):
    """A number a customer is known by: a card, a phone, a loyalty id. Each belongs to one
    customer; a customer may hold several. Blocked (a lost card) rather than deleted."""

    __tablename__ = "identifiers"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_identifiers_kind_value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(64))  # "family card"
    blocked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Account(Base):
    """The cached sum of a customer's ledger. Below zero only where the programme allows it
    (``Policy.negative_balance``): the ledger's code bounds every debit, not a CHECK
    (migration 0010)."""

    __tablename__ = "accounts"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    balance: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class LedgerEntry(Base):
    """One movement of points. Never updated, never deleted (the database refuses both)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ix_ledger_entries_customer_id_kind_created_at", "customer_id", "kind", "created_at"),
        Index(
            "ix_ledger_entries_receipt_store_receipt_till_receipt_number",
            "receipt_store",
            "receipt_till",
            "receipt_number",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # EntryKind value
    points: Mapped[int] = mapped_column(Integer)
    # The account's balance right after this entry, so a duplicate award (a reprint, a replay)
    # can answer with the message the first one printed.
    balance_after: Mapped[int | None] = mapped_column(Integer)
    # UNIQUE lets many NULLs through on both databases: only keyed entries are exactly-once.
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    claim_code: Mapped[str | None] = mapped_column(String(16))
    receipt_store: Mapped[str | None] = mapped_column(String(64))
    receipt_till: Mapped[str | None] = mapped_column(String(64))
    receipt_number: Mapped[str | None] = mapped_column(String(64))
    receipt_issued_at: Mapped[datetime | None]
    receipt_total: Mapped[Decimal | None]
    receipt_currency: Mapped[str | None] = mapped_column(String(3))
    receipt_fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    # Why the entry was made, where the kind alone does not say it (a void's cause).
    reason: Mapped[str | None] = mapped_column(String(REASON_LENGTH))
    # An earn's rules file version and the net amount it counted (what a refund is measured
    # against); who made a manual row (an adjust), as "cli@host".
    rule_version: Mapped[str | None] = mapped_column(String(80))
    based_on: Mapped[Decimal | None]
    actor: Mapped[str | None] = mapped_column(String(64))
    # A reverse row's earn (a refund takes back part of it): no foreign key, so SQLite need not
    # rebuild the guarded table to add it.
    refers_to: Mapped[int | None] = mapped_column(Integer, index=True)


class ClaimCode(Base):
    """Points of a receipt printed without a customer, waiting for ``tillbridge claim``."""

    __tablename__ = "claim_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # display form "K7QM-3XPA"
    points: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)  # the receipt's
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))


class StoreIdentity(Base):
    """One row: the id this database was given when it was made, also kept in the bridge's
    state folder (``bridge.store.identity``), so a start can tell its own ledger from an empty
    or a different one."""

    __tablename__ = "store_identity"

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[datetime]


class ClaimAttempt(Base):
    """A claim of a code that does not exist, kept so the attempt limit survives restarts
    (``bridge.loyalty.ledger``: a few per window and place, then claims wait). Rows older
    than the window are deleted as new ones come."""

    __tablename__ = "claim_attempts"
    __table_args__ = (Index("ix_claim_attempts_source_attempted_at", "source", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))  # where claims are typed: "cli@host"
    attempted_at: Mapped[datetime]


class StoredReceipt(Base):
    """A receipt that earned, as the shop sees its sales (migration 0007): written once, by
    its idempotency key, in the award's transaction."""

    __tablename__ = "receipts"
    __table_args__ = (Index("ix_receipts_store_till_number", "store", "till", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)  # bridge.loyalty.keys
    store: Mapped[str | None] = mapped_column(String(64))
    till: Mapped[str | None] = mapped_column(String(64))
    number: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[datetime | None]
    kind: Mapped[str] = mapped_column(String(16))  # parsers.receipt.ReceiptKind value
    total: Mapped[Decimal | None]
    net: Mapped[Decimal | None]  # what the rules counted: no tips, service, deposits
    currency: Mapped[str | None] = mapped_column(String(3))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    original: Mapped[str | None] = mapped_column(String(64))  # a refund's sale, as printed
    created_at: Mapped[datetime]


ITEM_NAME_LENGTH = 120


class StoredItem(Base):
    """One item line of a stored receipt, in printed order."""

    __tablename__ = "receipt_items"
    __table_args__ = (UniqueConstraint("receipt_id", "line", name="uq_receipt_items_receipt_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"))
    line: Mapped[int] = mapped_column(Integer)  # 1, 2, ... as printed
    name: Mapped[str] = mapped_column(String(ITEM_NAME_LENGTH))
    qty: Mapped[Decimal]
    amount: Mapped[Decimal]
    sku: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))


class Lot(Base):
    """Points credited at once, and the day they expire (None: never). Insert-only: what is
    left of a lot is its points less its ``lot_draws``."""

    __tablename__ = "lots"
    __table_args__ = (CheckConstraint("points > 0", name="points_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    # The credit that made it (a merge's makes one per lot moved); None for the points held
    # before lots existed (migration 0009).
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    points: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    expires_on: Mapped[date | None] = mapped_column(Date, index=True)


class LotDraw(Base):
    """Points a debit (ledger entry) took from one lot. Insert-only."""

    __tablename__ = "lot_draws"
    __table_args__ = (CheckConstraint("points > 0", name="points_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"))
    points: Mapped[int] = mapped_column(Integer)


class Voucher(Base):
    """A reward issued to a customer (``bridge.loyalty.vouchers``): printed with its code,
    redeemed once by a later receipt showing it. Its points are drawn when it is redeemed."""

    __tablename__ = "vouchers"
    __table_args__ = (CheckConstraint("points >= 0", name="points_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # display form "V7Q-M3X-PAW"
    reward_id: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(80))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    points: Mapped[int] = mapped_column(Integer)
    value: Mapped[Decimal | None]
    issued_at: Mapped[datetime]
    expires_on: Mapped[date | None] = mapped_column(Date)
    used_at: Mapped[datetime | None]
    used_receipt_key: Mapped[str | None] = mapped_column(String(80))
    voided_at: Mapped[datetime | None]


class StampEntry(Base):
    """Stamps a receipt added to a customer's stamp card (positive), or a filled card gave up
    for its voucher (negative). A card holds the sum of its rows; rows are only added."""

    __tablename__ = "stamps"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    card_id: Mapped[str] = mapped_column(String(64))
    stamps: Mapped[int] = mapped_column(Integer)
    receipt_key: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime]
