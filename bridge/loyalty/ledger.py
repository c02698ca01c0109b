"""The points ledger: blocking calls, made from a worker thread, never from the reactor.

**What a receipt earns** is decided by the programme's rules (``EarningRules``: pure), from
the receipt and the customer's ``CustomerFacts``, which the ledger reads inside the award's
transaction with the account row locked, so two tills awarding to one customer see each
other's points (a daily cap holds across tills). The earn row records the points, the rules'
version and the amount they counted (``based_on``: what a refund is later measured against).

Exactly-once: an award inserts its ledger entry with ``INSERT ... ON CONFLICT DO NOTHING
RETURNING`` on the receipt's idempotency key, in the same transaction as the balance update.
When nothing comes back, the receipt was awarded before (a reprint, a resend, a journal
replay): the outcome is returned with ``duplicate=True`` and the first award's points, but the
balance as it is now: a resend printing the balance of its first award (13 when the customer
holds 78 by now) would tell the customer a wrong figure. The breakdown (``parts``) is not
stored, so a duplicate has none. Writers to one account queue on its row lock
(``SELECT ... FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite, see
``bridge.store.engine``).

**Voids.** ``void(receipt, reason)`` takes back the award of a receipt that never reached the
printer whole: one more entry (kind ``void``, negative points, keyed ``"void:"`` + the earn
entry's key, with the reason), never an update of the earn entry. The receipt printed again
then earns again, under the next generation's key (``bridge.loyalty.keys``), and that award is
exactly-once in turn. A claim code whose award is voided can no longer be claimed; one claimed
already has its points taken back from the customer who claimed it. The points taken are at
most the balance held (``CHECK (balance >= 0)``): a customer who spent them meanwhile ends at
zero, and the void entry says how many were due and how many were taken.

Every database failure that means "not now" (server down, file unreachable, locked past the
busy timeout) is raised as ``StoreUnavailable``: the caller journals the award and the receipt
prints unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from bridge.loyalty.claims import (
    LEGACY_LENGTH,
    AlreadyClaimed,
    ExpiredClaimCode,
    TooManyClaimAttempts,
    UnknownClaimCode,
    VoidedClaimCode,
    new_code,
    normalise_code,
    read_customer,
)
from bridge.loyalty.earning import (
    CustomerFacts,
    Earning,
    EarningRules,
    ExpiringPoints,
    IssuedVoucher,
    NextReward,
    Part,
    Policy,
    StampProgress,
    VoucherUse,
    refund_points,
)
from bridge.loyalty.keys import claim_key, earn_key, idempotency_key, void_key
from bridge.loyalty.lots import add_lot, draw, draw_lot, expiry_day, open_lots
from bridge.loyalty.programme.policy import next_reward
from bridge.loyalty.receipts import store_receipt
from bridge.loyalty.vouchers import add_stamps, issue_due, redeem, reserved, stamps_held
from bridge.store.engine import outages_as_unavailable
from bridge.store.models import (
    REASON_LENGTH,
    Account,
    ClaimAttempt,
    ClaimCode,
    Customer,
    EntryKind,
    Identifier,
    LedgerEntry,
    Lot,
)
from parsers.receipt import CustomerKind, CustomerRef, Receipt, ReceiptKind

log = logging.getLogger(__name__)

_CLAIM_CODE_ATTEMPTS = 8
# Wrong guesses are slowed: after this many unknown codes from one place within the window,
# every claim from there waits until the oldest of them leaves the window. Kept in the database,
# so a restart does not reset it. A shop's own typing mistakes are caught by the check
# character first and cost nothing.
CLAIM_ATTEMPT_LIMIT = 10
CLAIM_ATTEMPT_WINDOW = timedelta(minutes=15)
# A receipt earns again after a void at most this many times: a till whose printer resets at
# every try cannot make the ledger walk an ever longer chain of keys.
MAX_GENERATIONS = 100
DEFAULT_POLICY = Policy()
# A refund that names no sale takes back the customer's earn of the same amount this recent.
REFUND_MATCH_WINDOW = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to print: points earned and the new balance, or a claim code when no customer."""

    points: int
    balance: int | None  # None when the receipt has no customer
    customer: str | None  # the customer's normalised card number, phone or loyalty id
    claim_code: str | None
    duplicate: bool  # True: awarded before; these are the first award's figures
    # What else the receipt may print (empty where the programme has none of it).
    parts: tuple[Part, ...] = ()  # which rule gave how many points
    vouchers: tuple[IssuedVoucher, ...] = ()  # issued by this award, printed with their code
    voucher_uses: tuple[VoucherUse, ...] = ()  # codes on the receipt: redeemed, flagged
    stamps: tuple[StampProgress, ...] = ()
    expiring: ExpiringPoints | None = None
    next_reward: NextReward | None = None


class Ledger:
    def __init__(self, engine: Engine, day_zone: tzinfo = UTC) -> None:
        """``day_zone``: where "today" is for ``CustomerFacts.points_today`` (a daily cap);
        UTC unless the shop's zone is given."""
        self._engine = engine
        self._day_zone = day_zone
        self._insert = _dialect_insert(engine.dialect.name)
        self._awarding = _AwardStatements(self._insert)
        self._void_alias = aliased(LedgerEntry)

    def award(
        self,
        receipt: Receipt,
        rules: EarningRules,
        now: datetime,
        policy: Policy = DEFAULT_POLICY,
    ) -> Outcome:
        """Award a receipt's points once, however often it is sent. ``rules.earn`` is called
        with the award's time ``now``; rules that go by the till's clock read
        ``receipt.issued_at``. ``policy``: the programme's settings the ledger applies."""
        _require_aware(now)
        customer = receipt.customer
        key = idempotency_key(receipt)
        if receipt.kind is ReceiptKind.REFUND and not receipt.inconsistent:
            with self._transaction() as conn:
                return self._refund(conn, receipt, key, now, policy)
        if customer is None:
            earning = rules.earn(receipt, CustomerFacts(), now)
            if earning.points <= 0:
                return Outcome(0, None, None, None, False)
            with self._transaction() as conn:
                return self._award(conn, receipt, earning, key, now, None, policy)
        with self._transaction() as conn:
            known = {"kind": customer.kind.value, "value": customer.value}
            found = conn.execute(self._awarding.lock_customer_account, known).first()
            if found is None:  # a new number, or a customer enrolled who never earned
                found = conn.execute(self._awarding.find_identifier, known).first()
            if found is not None and found.blocked_at is not None:
                # A blocked card (lost, stolen) earns nothing for whoever holds it: the
                # receipt is treated as one without a customer, and its points wait behind
                # a claim code the rightful customer can still claim.
                log.warning(
                    "receipt %s: %s %s is blocked; its points go to a claim code",
                    receipt.number,
                    customer.kind.value,
                    _masked(customer.value),
                )
                anonymous = replace(receipt, customer=None)
                earning = rules.earn(anonymous, CustomerFacts(), now)
                if earning.points <= 0:
                    return Outcome(0, None, None, None, False)
                return self._award(conn, anonymous, earning, key, now, None, policy)
            account = (
                (int(found.id), int(found.balance))
                if found is not None and found.balance is not None
                else None
            )
            facts = self._facts(conn, account[0], now) if account else CustomerFacts(True)
            earning = rules.earn(receipt, facts, now)
            if earning.points <= 0:
                # Nothing to record (a refund, a copy, a report...), nobody enrolled; the
                # balance is still worth showing.
                return Outcome(0, account[1] if account else 0, customer.value, None, False)
            return self._award(conn, receipt, earning, key, now, account, policy)

    # -- refunds --------------------------------------------------------------------------

    def _refund(
        self, conn: Connection, receipt: Receipt, key: str, now: datetime, policy: Policy
    ) -> Outcome:
        """Take back what a refund's sale earned, in proportion to the amount refunded, once
        per refund receipt (keyed ``reverse:`` + its key)."""
        reverse_key = f"reverse:{key}"
        shown = receipt.customer.value if receipt.customer else None
        done = conn.execute(self._awarding.original, {"key": reverse_key}).first()
        if done is not None:
            return Outcome(done.points, done.balance, shown or done.value, None, True)
        earn = self._refunded_earn(conn, receipt, now, policy)
        customer_id = None if earn is None else earn.customer_id
        if earn is not None and customer_id is None:  # a claim code: its claimer, if any
            customer_id = conn.execute(
                select(ClaimCode.claimed_by).where(
                    ClaimCode.idempotency_key == earn.idempotency_key
                )
            ).scalar_one_or_none()
        if earn is None or customer_id is None:
            balance = self._balance_of(conn, receipt.customer) if receipt.customer else None
            return Outcome(0, balance, shown, None, False)
        refunded = abs(receipt.total or Decimal(0))
        prior = conn.execute(
            select(LedgerEntry.points, LedgerEntry.based_on).where(
                LedgerEntry.refers_to == earn.id, LedgerEntry.kind == EntryKind.REVERSE.value
            )
        ).all()
        taken_before = -sum(int(r.points) for r in prior)
        refunded_before = sum((r.based_on or Decimal(0) for r in prior), Decimal(0))
        based_on = earn.based_on if earn.based_on is not None else earn.receipt_total
        # Cumulative, so two half refunds take what one whole refund would, never more than
        # was earned (the rounding toward zero is applied once to the whole).
        due = refund_points(earn.points, based_on or Decimal(0), refunded_before + refunded)
        due = max(0, min(due, earn.points) - taken_before)
        before = self._lock_account(conn, customer_id, now)
        taken = due if policy.negative_balance else max(0, min(due, before))
        note = f"refund of receipt {earn.receipt_number}"
        if taken < due:
            note += f" ({due} points due, {taken} taken: the balance was {before})"
        entry = conn.execute(
            self._insert(LedgerEntry)
            .values(
                customer_id=customer_id,
                kind=EntryKind.REVERSE.value,
                points=-taken,
                balance_after=before - taken,
                idempotency_key=reverse_key,
                receipt_store=receipt.store,
                receipt_till=receipt.till,
                receipt_number=receipt.number,
                receipt_issued_at=receipt.issued_at,
                receipt_total=receipt.total,
                receipt_currency=receipt.currency,
                receipt_fingerprint=receipt.fingerprint,
                created_at=now,
                based_on=refunded,
                refers_to=earn.id,
                reason=_fit(note),
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(LedgerEntry.id)
        ).scalar_one_or_none()
        if entry is None:  # a racing send of the same refund went first
            done = conn.execute(self._awarding.original, {"key": reverse_key}).one()
            return Outcome(done.points, done.balance, shown or done.value, None, True)
        if taken:
            draw(conn, customer_id, entry, taken)
            self._credit(conn, customer_id, -taken, now)
        customer_value = (
            shown
            or conn.execute(select(Customer.value).where(Customer.id == customer_id)).scalar_one()
        )
        return Outcome(-taken, before - taken, customer_value, None, False)

    def _refunded_earn(
        self, conn: Connection, receipt: Receipt, now: datetime, policy: Policy
    ) -> Any:
        """The earn a refund takes back: the sale it names (same store and till, its number),
        else, where the policy says "match", the customer's latest earn of the same amount
        within ``REFUND_MATCH_WINDOW``; None when there is none (or it was voided)."""
        standing = ~exists().where(
            self._void_alias.idempotency_key == literal("void:") + LedgerEntry.idempotency_key
        )
        earns = select(LedgerEntry).where(LedgerEntry.kind == EntryKind.EARN.value, standing)
        if receipt.original:
            return conn.execute(
                earns.where(
                    LedgerEntry.receipt_store == receipt.store,
                    LedgerEntry.receipt_till == receipt.till,
                    LedgerEntry.receipt_number == receipt.original,
                )
                .order_by(LedgerEntry.id.desc())
                .limit(1)
            ).first()
        if policy.refund_without_original != "match" or receipt.customer is None:
            return None
        if receipt.total is None:
            return None
        customer_id = conn.execute(
            self._awarding.find_customer,
            {"kind": receipt.customer.kind.value, "value": receipt.customer.value},
        ).scalar_one_or_none()
        if customer_id is None:
            return None
        amount = abs(receipt.total)
        # Compared here, not in SQL: SQLite keeps money as text, where "5.0" != "5.00".
        for row in conn.execute(
            earns.where(
                LedgerEntry.customer_id == customer_id,
                LedgerEntry.created_at >= now - REFUND_MATCH_WINDOW,
            ).order_by(LedgerEntry.id.desc())
        ):
            if row.receipt_total is not None and row.receipt_total == amount:
                return row
        return None

    def _balance_of(self, conn: Connection, customer: CustomerRef) -> int:
        found = conn.execute(
            select(Account.balance)
            .join(Identifier, Identifier.customer_id == Account.customer_id)
            .where(Identifier.kind == customer.kind.value, Identifier.value == customer.value)
        ).scalar_one_or_none()
        return int(found or 0)

    def adjust(
        self,
        customer: CustomerRef | str,
        points: int,
        now: datetime,
        *,
        actor: str,
        reason: str,
        policy: Policy = DEFAULT_POLICY,
    ) -> Outcome:
        """An admin's correction: ``points`` added (a lot, expiring as earned points do) or
        taken (drawn soonest-expiring first; never below zero unless
        ``policy.negative_balance``: then the row says how many were asked). The customer
        must be known: a typo must not enrol a stranger."""
        _require_aware(now)
        if not reason.strip():
            raise ValueError("an adjustment needs a reason")
        with self._transaction() as conn:
            ref = _as_customer(conn, customer)
            customer_id = conn.execute(
                self._awarding.find_customer, {"kind": ref.kind.value, "value": ref.value}
            ).scalar_one_or_none()
            if customer_id is None:
                raise LookupError(f"no customer {ref.kind.value} {ref.value}")
            before = self._lock_account(conn, int(customer_id), now)
            taken = points
            note = reason
            if points < 0 and not policy.negative_balance and -points > before:
                taken = -before
                note = f"{reason} ({-points} points asked, {before} taken: the balance)"
            entry = conn.execute(
                insert(LedgerEntry)
                .values(
                    customer_id=customer_id,
                    kind=EntryKind.ADJUST.value,
                    points=taken,
                    balance_after=before + taken,
                    created_at=now,
                    actor=actor[:64],
                    reason=_fit(note),
                )
                .returning(LedgerEntry.id)
            ).scalar_one()
            if taken > 0:
                expires_on = expiry_day(self._today(now), policy.points_expire_after_months)
                lot = min(taken, max(0, before + taken))
                add_lot(conn, int(customer_id), entry, lot, now, expires_on)
            elif taken < 0:
                draw(conn, int(customer_id), entry, -taken)
            if taken:
                self._credit(conn, int(customer_id), taken, now)
            return Outcome(taken, before + taken, ref.value, None, False)

    def expire(self, now: datetime) -> int:
        """Write an ``expire`` row for each lot whose last day is before today (the day zone's)
        with points left, exactly once (keyed by the lot); the points expired."""
        _require_aware(now)
        today = self._today(now)
        expired = 0
        with self._transaction() as conn:
            due = conn.execute(
                select(Lot.customer_id)
                .where(Lot.expires_on < today)
                .distinct()
                .order_by(Lot.customer_id)
            ).scalars()
            for customer_id in list(due):
                balance = self._lock_account(conn, customer_id, now)
                for lot in open_lots(conn, customer_id):
                    if lot.expires_on is None or lot.expires_on >= today:
                        continue
                    taken = min(lot.remaining, balance)
                    entry = conn.execute(
                        self._insert(LedgerEntry)
                        .values(
                            customer_id=customer_id,
                            kind=EntryKind.EXPIRE.value,
                            points=-taken,
                            balance_after=balance - taken,
                            idempotency_key=f"expire:{lot.id}",
                            created_at=now,
                            reason=f"points earned to {lot.expires_on:%Y-%m-%d} expired",
                        )
                        .on_conflict_do_nothing(index_elements=["idempotency_key"])
                        .returning(LedgerEntry.id)
                    ).scalar_one_or_none()
                    if entry is None:
                        continue
                    # The whole lot is closed, even where the balance held less (spent by a
                    # debit that drew elsewhere): the row says what was taken.
                    draw_lot(conn, lot.id, entry, lot.remaining)
                    if taken:
                        self._credit(conn, customer_id, -taken, now)
                    balance -= taken
                    expired += taken
        return expired

    def _today(self, now: datetime) -> date:
        return now.astimezone(self._day_zone).date()

    def _facts(self, conn: Connection, customer_id: int, now: datetime) -> CustomerFacts:
        """What the rules may know of a customer, read with their account locked."""
        day = now.astimezone(self._day_zone).date()
        start = datetime.combine(day, time(), self._day_zone)
        row = conn.execute(
            self._awarding.facts,
            {"customer_id": customer_id, "start": start, "end": start + timedelta(days=1)},
        ).one()
        return CustomerFacts(
            first_purchase=not row.earned_before,
            birthday=row.birthday,
            points_today=max(0, int(row.today or 0)),
            stamps=stamps_held(conn, customer_id),
        )

    def void(self, receipt: Receipt, reason: str, now: datetime) -> int:
        """Take back the receipt's current award, once: the points taken back (for a claim
        code not claimed yet, the points it can no longer be claimed for); 0 when there was
        nothing to take (never awarded, or voided already)."""
        _require_aware(now)
        with self._transaction() as conn:
            return self._void(conn, idempotency_key(receipt), reason, now)

    def claim(
        self,
        code: str,
        card: CustomerRef | str,
        now: datetime,
        source: str = "cli",
        policy: Policy = DEFAULT_POLICY,
    ) -> Outcome:
        """Credit a claim code's points to a customer, once. Raises ``ClaimError`` otherwise:
        ``MistypedClaimCode`` before the database is asked, ``TooManyClaimAttempts`` when
        ``source`` (where the claim is typed) tried too many unknown codes lately,
        ``ExpiredClaimCode`` for a code printed more than the policy's
        ``claim_codes_expire_after_days`` ago (None: codes never expire)."""
        _require_aware(now)
        code = normalise_code(code)
        if isinstance(card, str):
            read_customer(card)  # a malformed customer is refused before any attempt counts
        try:
            with self._transaction() as conn:
                return self._claim(conn, code, card, now, source, policy)
        except UnknownClaimCode:
            with self._transaction() as conn:
                self._count_attempt(conn, source, now)
            raise

    def _claim(
        self,
        conn: Connection,
        code: str,
        card: CustomerRef | str,
        now: datetime,
        source: str,
        policy: Policy,
    ) -> Outcome:
        self._check_attempts(conn, source, now)
        customer = _as_customer(conn, card)
        claim = conn.execute(
            select(ClaimCode).where(ClaimCode.code == code).with_for_update()
        ).one_or_none()
        if claim is None:
            older = (
                " (newer codes have 9 characters, like K7Q-M3X-PAW)"
                if len(code.replace("-", "")) == LEGACY_LENGTH
                else ""
            )
            raise UnknownClaimCode(f"unknown code: no claim code {code}{older}")
        if self._voided(conn, claim.idempotency_key):
            # The void's reason is not shown: it may name another customer's balance.
            raise VoidedClaimCode(
                f"claim code {code} was voided: its receipt did not print; "
                "a reprint of the receipt has a new code"
            )
        if claim.claimed_at is not None:
            raise AlreadyClaimed(_already_claimed(code, claim.claimed_at))
        expire_after_days = policy.claim_codes_expire_after_days
        if expire_after_days is not None:
            until = claim.created_at + timedelta(days=expire_after_days)
            if now >= until:
                raise ExpiredClaimCode(
                    f"claim code {code} expired on {until:%Y-%m-%d}: codes can be claimed for "
                    f"{expire_after_days} days after the sale"
                )
        customer_id = self._customer_id(conn, customer, now)
        before = self._lock_account(conn, customer_id, now)
        earned = conn.execute(
            select(LedgerEntry).where(LedgerEntry.idempotency_key == claim.idempotency_key)
        ).one()
        inserted = conn.execute(
            self._insert(LedgerEntry)
            .values(
                customer_id=customer_id,
                kind=EntryKind.CLAIM.value,
                points=claim.points,
                balance_after=before + claim.points,
                idempotency_key=claim_key(code),
                claim_code=code,
                **_receipt_columns_of(earned),
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(LedgerEntry.id)
        ).scalar_one_or_none()
        if inserted is None:  # claimed_at said otherwise: only a hand-edited database
            raise AlreadyClaimed(_already_claimed(code, None))
        self._credit(conn, customer_id, claim.points, now)
        expires_on = expiry_day(self._today(now), policy.points_expire_after_months)
        lot = min(claim.points, max(0, before + claim.points))
        add_lot(conn, customer_id, inserted, lot, now, expires_on)
        conn.execute(
            update(ClaimCode)
            .where(ClaimCode.id == claim.id)
            .values(claimed_at=now, claimed_by=customer_id)
        )
        return Outcome(claim.points, before + claim.points, customer.value, code, False)

    def _check_attempts(self, conn: Connection, source: str, now: datetime) -> None:
        since = now - CLAIM_ATTEMPT_WINDOW
        recent = conn.execute(
            select(func.count(), func.min(ClaimAttempt.attempted_at)).where(
                ClaimAttempt.source == source, ClaimAttempt.attempted_at > since
            )
        ).one()
        count, oldest = int(recent[0]), recent[1]
        if count >= CLAIM_ATTEMPT_LIMIT:
            until = oldest + CLAIM_ATTEMPT_WINDOW
            minutes = int(CLAIM_ATTEMPT_WINDOW.total_seconds() // 60)
            raise TooManyClaimAttempts(
                f"too many unknown claim codes from {source} ({count} in {minutes} minutes): "
                f"claims are refused until {until:%H:%M} UTC, to slow down guessing"
            )

    def _count_attempt(self, conn: Connection, source: str, now: datetime) -> None:
        conn.execute(
            delete(ClaimAttempt).where(
                ClaimAttempt.source == source,
                ClaimAttempt.attempted_at <= now - CLAIM_ATTEMPT_WINDOW,
            )
        )
        conn.execute(insert(ClaimAttempt).values(source=source[:64], attempted_at=now))

    def balance(self, customer: CustomerRef | str) -> int:
        """The customer's balance; 0 for a customer never seen."""
        with self._transaction() as conn:
            ref = _as_customer(conn, customer)
            balance = conn.execute(
                select(Account.balance)
                .join(Identifier, Identifier.customer_id == Account.customer_id)
                .where(Identifier.kind == ref.kind.value, Identifier.value == ref.value)
            ).scalar_one_or_none()
        return balance or 0

    # -- inside one transaction -------------------------------------------------------------

    def _award(
        self,
        conn: Connection,
        receipt: Receipt,
        earning: Earning,
        key: str,
        now: datetime,
        account: tuple[int, int] | None,
        policy: Policy,
    ) -> Outcome:
        """Record ``earning``; ``account``: the customer's id and balance, locked, if known."""
        customer = receipt.customer
        points = earning.points
        customer_id: int | None = None
        balance_after: int | None = None
        code: str | None = None
        if customer is not None:
            customer_id, balance = account or self._customer_account(conn, customer, now)
            balance_after = balance + points
        else:
            code = self._unused_code(conn)
        generation = 1
        while True:
            earned = earn_key(key, generation)
            inserted = conn.execute(
                self._awarding.insert_entry,
                {
                    "customer_id": customer_id,
                    "kind": EntryKind.EARN.value,
                    "points": points,
                    "balance_after": balance_after,
                    "idempotency_key": earned,
                    "claim_code": code,
                    "receipt_store": receipt.store,
                    "receipt_till": receipt.till,
                    "receipt_number": receipt.number,
                    "receipt_issued_at": receipt.issued_at,
                    "receipt_total": receipt.total,
                    "receipt_currency": receipt.currency,
                    "receipt_fingerprint": receipt.fingerprint,
                    "created_at": now,
                    "rule_version": earning.rule_version[:80] or None,
                    "based_on": earning.based_on,
                },
            ).scalar_one_or_none()
            if inserted is not None:
                break
            # Awarded before: a resend, a replay, or a reprint of a receipt whose award was
            # voided (it never printed), which earns again under the next generation's key. A
            # generation is only started once the one before was voided, so one not voided
            # is the latest, and this receipt a duplicate of it: the usual case, one look.
            if not self._voided(conn, earned):
                return self._original(conn, earned)
            latest, voided = self._latest_generation(conn, key)
            if not voided:
                return self._original(conn, earn_key(key, latest))
            if latest >= MAX_GENERATIONS:
                balance = self._lock_account(conn, customer_id, now) if customer_id else None
                return Outcome(0, balance, customer.value if customer else None, None, True)
            generation = latest + 1
        store_receipt(conn, self._insert, receipt, key, customer_id, earning.based_on, now)
        expiring: ExpiringPoints | None = None
        today = self._today(now)
        # Vouchers printed on the receipt are redeemed whoever it is for (a voucher is the
        # customer's it was issued to, and its points are drawn from them).
        uses = redeem(conn, receipt.voucher_codes, key, now, today, policy)
        issued: tuple[IssuedVoucher, ...] = ()
        stamps: tuple[StampProgress, ...] = ()
        next_up: NextReward | None = None
        if customer_id is not None:
            self._credit(conn, customer_id, points, now)
            months = policy.points_expire_after_months
            # Points that pay back a negative balance make no lot: they are gone already.
            lot = min(points, max(0, balance_after or 0))
            add_lot(conn, customer_id, inserted, lot, now, expiry_day(today, months))
            if months is not None:
                expiring = _soonest(conn, customer_id)
            if uses:
                balance_after = self._lock_account(conn, customer_id, now)
            assert balance_after is not None
            issued = issue_due(conn, customer_id, balance_after, policy, now, today)
            stamps, filled = add_stamps(conn, customer_id, earning.stamps, key, policy, now, today)
            issued += filled
            if policy.rewards:
                available = balance_after - reserved(conn, customer_id, today)
                next_up = next_reward(available, policy)
        else:
            assert code is not None
            conn.execute(
                self._awarding.insert_claim_code,
                {"code": code, "points": points, "idempotency_key": earned, "created_at": now},
            )
        return Outcome(
            points,
            balance_after,
            customer.value if customer else None,
            code,
            False,
            parts=earning.parts,
            vouchers=issued,
            voucher_uses=uses,
            stamps=stamps,
            expiring=expiring,
            next_reward=next_up,
        )

    def _latest_generation(self, conn: Connection, key: str) -> tuple[int, bool]:
        """The receipt's latest earn generation (0: never awarded) and whether it was voided,
        in one statement over the unique index."""
        earns = {earn_key(key, g): g for g in range(1, MAX_GENERATIONS + 1)}
        voids = {void_key(k): g for k, g in earns.items()}
        found = set(
            conn.execute(
                select(LedgerEntry.idempotency_key).where(
                    LedgerEntry.idempotency_key.in_([*earns, *voids])
                )
            ).scalars()
        )
        latest = max((earns[k] for k in found if k in earns), default=0)
        return latest, latest > 0 and void_key(earn_key(key, latest)) in found

    def _void(self, conn: Connection, key: str, reason: str, now: datetime) -> int:
        latest, voided = self._latest_generation(conn, key)
        if latest == 0 or voided:
            return 0
        earned_key = earn_key(key, latest)
        earned = conn.execute(
            select(LedgerEntry).where(LedgerEntry.idempotency_key == earned_key)
        ).one()
        customer_id: int | None = earned.customer_id
        code: str | None = None
        if customer_id is None:
            # A claim code: its row is locked as a claim locks it, so a claim and a void of one
            # code take turns (and in the same order, code then account: no deadlock).
            claim = conn.execute(
                select(ClaimCode).where(ClaimCode.idempotency_key == earned_key).with_for_update()
            ).one()
            code, customer_id = claim.code, claim.claimed_by
        due = earned.points
        taken, balance_after = due, None
        note = reason
        if customer_id is not None:
            before = self._lock_account(conn, customer_id, now)
            taken = min(due, before)
            balance_after = before - taken
            if taken < due:
                note = f"{reason} ({due} points due, {taken} taken: the balance was {before})"
        inserted = conn.execute(
            self._insert(LedgerEntry)
            .values(
                customer_id=customer_id,
                kind=EntryKind.VOID.value,
                points=-taken,
                balance_after=balance_after,
                idempotency_key=void_key(earned_key),
                claim_code=code,
                **_receipt_columns_of(earned),
                created_at=now,
                reason=_fit(note),
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(LedgerEntry.id)
        ).scalar_one_or_none()
        if inserted is None:  # another void of the same award went first
            return 0
        if customer_id is not None and taken:
            self._credit(conn, customer_id, -taken, now)
            draw(conn, customer_id, inserted, taken)
        return taken

    def _voided(self, conn: Connection, earned_key: str) -> bool:
        """Whether the earn entry keyed ``earned_key`` was voided."""
        found = conn.execute(self._awarding.find_entry, {"key": void_key(earned_key)})
        return found.first() is not None

    def _original(self, conn: Connection, key: str) -> Outcome:
        """A duplicate's outcome: the first award's points, the balance as it is now."""
        points, balance, customer_value, code = conn.execute(
            self._awarding.original, {"key": key}
        ).one()
        return Outcome(points, balance, customer_value, code, True)

    # Each award runs while a receipt's cut is held: the usual case (a customer and an account
    # seen before) takes one statement each; the insert only when the first read finds nothing.

    def _customer_account(
        self, conn: Connection, customer: CustomerRef, now: datetime
    ) -> tuple[int, int]:
        """The customer's id and balance, the account row locked; both made if new."""
        known = {"kind": customer.kind.value, "value": customer.value}
        found = conn.execute(self._awarding.lock_customer_account, known).first()
        if found is not None:
            return int(found.id), int(found.balance)
        customer_id = self._customer_id(conn, customer, now)
        return customer_id, self._lock_account(conn, customer_id, now)

    def _customer_id(self, conn: Connection, customer: CustomerRef, now: datetime) -> int:
        """The id of the customer known by this number; a new customer holding it if none
        (a receipt from the till enrols its card)."""
        known = {"kind": customer.kind.value, "value": customer.value}
        found = conn.execute(self._awarding.find_customer, known).scalar_one_or_none()
        if found is not None:
            return int(found)
        conn.execute(self._awarding.insert_customer, {**known, "created_at": now})
        # The customer enrolled with this number (made now, or by a racing award; or one
        # whose number was moved away by a merge: the number comes home to it).
        enrolled = conn.execute(self._awarding.find_enrolled, known).scalar_one()
        conn.execute(
            self._awarding.insert_identifier,
            {**known, "customer_id": enrolled, "created_at": now},
        )
        return int(conn.execute(self._awarding.find_customer, known).scalar_one())

    def _lock_account(self, conn: Connection, customer_id: int, now: datetime) -> int:
        """The balance, with the account row locked until the transaction ends."""
        lock, account = self._awarding.lock_account, {"customer_id": customer_id}
        balance = conn.execute(lock, account).scalar_one_or_none()
        if balance is not None:
            return int(balance)
        conn.execute(
            self._awarding.insert_account,
            {"customer_id": customer_id, "balance": 0, "updated_at": now},
        )
        return int(conn.execute(lock, account).scalar_one())

    def _credit(self, conn: Connection, customer_id: int, points: int, now: datetime) -> None:
        conn.execute(self._awarding.credit, {"account": customer_id, "points": points, "now": now})

    def _unused_code(self, conn: Connection) -> str:
        for _ in range(_CLAIM_CODE_ATTEMPTS):
            code = new_code()
            taken = conn.execute(self._awarding.find_code, {"code": code}).first()
            if taken is None:
                return code
        raise RuntimeError("no free claim code after several tries: is the random source broken?")

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with outages_as_unavailable(), self._engine.begin() as conn:
            yield conn


class _AwardStatements:
    """The statements an award runs, built once. Building one costs more than SQLite takes to
    run it (SQLAlchemy coerces every clause and hashes its cache key each time); a statement
    built once keeps its cache key, and the values go in as parameters."""

    def __init__(self, insert_for: Callable[..., Any]) -> None:
        # Customers are found by any number they hold (``identifiers``); ``customers.kind``
        # and ``value`` are the number they were enrolled with.
        by_number = (Identifier.kind == bindparam("kind"), Identifier.value == bindparam("value"))
        self.find_customer = select(Identifier.customer_id).where(*by_number)
        self.find_identifier = select(
            Identifier.customer_id.label("id"),
            literal(None).label("balance"),
            Identifier.blocked_at,
        ).where(*by_number)
        self.find_enrolled = select(Customer.id).where(
            Customer.kind == bindparam("kind"), Customer.value == bindparam("value")
        )
        self.insert_customer = insert_for(Customer).on_conflict_do_nothing(
            index_elements=["kind", "value"]
        )
        self.insert_identifier = insert_for(Identifier).on_conflict_do_nothing(
            index_elements=["kind", "value"]
        )
        self.lock_account = (
            select(Account.balance)
            .where(Account.customer_id == bindparam("customer_id"))
            .with_for_update()
        )
        # The usual award: a customer seen before, found with their account in one look.
        self.lock_customer_account = (
            select(Identifier.customer_id.label("id"), Account.balance, Identifier.blocked_at)
            .join(Account, Account.customer_id == Identifier.customer_id)
            .where(*by_number)
            .with_for_update(of=Account)
        )
        self.insert_account = insert_for(Account).on_conflict_do_nothing(
            index_elements=["customer_id"]
        )
        self.credit = (
            update(Account)
            .where(Account.customer_id == bindparam("account"))
            .values(balance=Account.balance + bindparam("points"), updated_at=bindparam("now"))
        )
        self.insert_entry = (
            insert_for(LedgerEntry)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(LedgerEntry.id)
        )
        self.find_entry = select(LedgerEntry.id).where(
            LedgerEntry.idempotency_key == bindparam("key")
        )
        self.original = (
            select(
                LedgerEntry.points,
                Account.balance,
                Customer.value,
                LedgerEntry.claim_code,
            )
            .outerjoin(Customer, Customer.id == LedgerEntry.customer_id)
            .outerjoin(Account, Account.customer_id == LedgerEntry.customer_id)
            .where(LedgerEntry.idempotency_key == bindparam("key"))
        )
        # A customer's facts in one statement: whether an earn of theirs stands (one voided
        # never printed, so its reprint is still a first purchase), and their net earns of
        # the day (voids of the day count against them).
        earn, void = aliased(LedgerEntry), aliased(LedgerEntry)
        customer = bindparam("customer_id")
        stands = (
            select(earn.id)
            .where(
                earn.customer_id == customer,
                earn.kind == EntryKind.EARN.value,
                ~exists().where(void.idempotency_key == literal("void:") + earn.idempotency_key),
            )
            .limit(1)
        )
        today = select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
            LedgerEntry.customer_id == customer,
            LedgerEntry.kind.in_([EntryKind.EARN.value, EntryKind.VOID.value]),
            and_(
                LedgerEntry.created_at >= bindparam("start"),
                LedgerEntry.created_at < bindparam("end"),
            ),
        )
        birthday = select(Customer.birthday).where(Customer.id == customer)
        self.facts = select(
            exists(stands).label("earned_before"),
            today.scalar_subquery().label("today"),
            birthday.scalar_subquery().label("birthday"),
        )
        self.insert_claim_code = insert_for(ClaimCode)
        self.find_code = select(ClaimCode.id).where(ClaimCode.code == bindparam("code"))


def _dialect_insert(dialect: str) -> Callable[..., Any]:
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"the ledger supports SQLite and PostgreSQL, not {dialect}")


def _as_customer(conn: Connection, card: CustomerRef | str) -> CustomerRef:
    """The customer someone typed: ``card:…``, ``phone:…``, ``loyalty_id:…``, or just the
    number, which is the customer already known by that number (a shop that identifies
    customers by phone has them as phones), else a card. Raises ``InvalidCustomer``."""
    if isinstance(card, CustomerRef):
        return card
    kind, value = read_customer(card)
    if kind is None:
        known = (
            conn.execute(select(Identifier.kind).where(Identifier.value == value)).scalars().all()
        )
        kind = CustomerKind(known[0]) if len(known) == 1 else CustomerKind.CARD
    return CustomerRef(kind, value)


def _receipt_columns_of(entry: Any) -> dict[str, Any]:
    return {
        name: getattr(entry, name)
        for name in (
            "receipt_store",
            "receipt_till",
            "receipt_number",
            "receipt_issued_at",
            "receipt_total",
            "receipt_currency",
            "receipt_fingerprint",
        )
    }


def _fit(reason: str) -> str:
    return reason if len(reason) <= REASON_LENGTH else reason[: REASON_LENGTH - 1] + "…"


def _already_claimed(code: str, when: datetime | None) -> str:
    on = f" on {when:%Y-%m-%d %H:%M} UTC" if when is not None else ""
    return f"claim code {code} was already claimed{on}: its points were credited once"


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def _masked(number: str) -> str:
    """A number for the log: only its last four characters."""
    return number[-4:].rjust(len(number), "*")


def _soonest(conn: Connection, customer_id: int) -> ExpiringPoints | None:
    """The customer's soonest-expiring lot with points left, for the receipt to print."""
    for lot in open_lots(conn, customer_id):
        if lot.expires_on is not None:
            return ExpiringPoints(lot.remaining, lot.expires_on)
    return None
