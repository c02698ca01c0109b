"""Vouchers: issued when a customer's points reach a reward, redeemed once when a later
receipt prints the code on a discount line. Runs inside the award's transaction, with the
customer's account locked (``bridge.loyalty.ledger``), so two tills cannot both redeem one
voucher, nor both issue one.

- **Points available** are the balance less the points of the customer's vouchers issued and
  not used yet: a voucher reserves its points when issued; they are drawn from the ledger (a
  ``redeem`` row, keyed by the code: once) when it is redeemed.
- **Issue** (``policy.reward_issue == "auto"``): at most one voucher per receipt, the dearest
  reward the available points pay for. ``"on_request"``: only ``issue_voucher`` (the
  ``tillbridge voucher issue`` command) issues one.
- **Redeem**: a code in our format (``bridge.loyalty.claims``, with its check character) on a
  receipt's discount line is looked up: redeemed, or flagged as already used, expired, voided
  or unknown (printed on the receipt and logged). Other codes (a till's own coupons,
  ``JOE5OFF``) are the till's business and left alone.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Engine, func, insert, select, update

from bridge.loyalty.claims import ClaimError, new_code, normalise_code
from bridge.loyalty.earning import (
    IssuedVoucher,
    Policy,
    Reward,
    StampAdd,
    StampProgress,
    VoucherUse,
)
from bridge.loyalty.lots import draw
from bridge.store.engine import outages_as_unavailable
from bridge.store.models import Account, EntryKind, LedgerEntry, StampEntry, Voucher

log = logging.getLogger(__name__)

_CODE_TRIES = 8


class VoucherError(Exception):
    """A voucher command that cannot be done; the message says why."""


def ours(code: str) -> str | None:
    """The stored form of a code printed on a receipt, if it is one of our vouchers' codes."""
    try:
        return normalise_code(code)
    except ClaimError:
        return None


def reserved(conn: Connection, customer_id: int, today: date) -> int:
    """Points of the customer's vouchers issued and neither used, voided nor expired."""
    return int(
        conn.execute(
            select(func.coalesce(func.sum(Voucher.points), 0)).where(
                Voucher.customer_id == customer_id,
                Voucher.used_at.is_(None),
                Voucher.voided_at.is_(None),
                (Voucher.expires_on.is_(None)) | (Voucher.expires_on >= today),
            )
        ).scalar_one()
    )


def issue_due(
    conn: Connection, customer_id: int, balance: int, policy: Policy, now: datetime, today: date
) -> tuple[IssuedVoucher, ...]:
    """The voucher the available points earn now, if the programme issues automatically."""
    if policy.reward_issue != "auto" or not policy.rewards:
        return ()
    available = balance - reserved(conn, customer_id, today)
    paid = [r for r in policy.rewards if r.points <= available]
    if not paid:
        return ()
    reward = max(paid, key=lambda r: r.points)
    return (issue(conn, customer_id, reward, policy, now, today),)


def issue(
    conn: Connection,
    customer_id: int,
    reward: Reward,
    policy: Policy,
    now: datetime,
    today: date,
) -> IssuedVoucher:
    days = policy.voucher_valid_days
    expires_on = None if days is None else today + timedelta(days=days)
    for _ in range(_CODE_TRIES):
        code = new_code()
        taken = conn.execute(select(Voucher.id).where(Voucher.code == code)).first()
        if taken is None:
            break
    else:  # pragma: no cover - 32**8 codes
        raise RuntimeError("no free voucher code after several tries")
    conn.execute(
        insert(Voucher).values(
            code=code,
            reward_id=reward.reward_id[:64],
            label=reward.label[:80],
            customer_id=customer_id,
            points=reward.points,
            value=reward.value,
            issued_at=now,
            expires_on=expires_on,
        )
    )
    log.info("voucher %s (%s) issued to customer %d", code, reward.label, customer_id)
    return IssuedVoucher(code, reward.label, reward.value, expires_on)


def redeem(
    conn: Connection,
    codes: list[str],
    receipt_key: str,
    now: datetime,
    today: date,
    policy: Policy,
) -> tuple[VoucherUse, ...]:
    """Redeem each of our codes printed on a receipt, once; what became of each."""
    uses: list[VoucherUse] = []
    for printed in codes:
        code = ours(printed)
        if code is None:
            continue
        voucher = conn.execute(
            select(Voucher).where(Voucher.code == code).with_for_update()
        ).one_or_none()
        if voucher is None:
            log.warning("receipt %s: voucher code %s is unknown", receipt_key[:16], code)
            uses.append(VoucherUse(code, "unknown"))
            continue
        if voucher.used_at is not None:
            if voucher.used_receipt_key == receipt_key:
                uses.append(VoucherUse(code, "redeemed", voucher.points))  # this very receipt
                continue
            log.warning(
                "voucher %s used again (first used %s)", code, f"{voucher.used_at:%Y-%m-%d %H:%M}"
            )
            uses.append(VoucherUse(code, "already_used"))
            continue
        if voucher.voided_at is not None:
            uses.append(VoucherUse(code, "void"))
            continue
        if voucher.expires_on is not None and voucher.expires_on < today:
            uses.append(VoucherUse(code, "expired"))
            continue
        taken = _spend(conn, voucher, receipt_key, now, policy)
        conn.execute(
            update(Voucher)
            .where(Voucher.id == voucher.id)
            .values(used_at=now, used_receipt_key=receipt_key)
        )
        uses.append(VoucherUse(code, "redeemed", taken))
    return tuple(uses)


def _spend(
    conn: Connection, voucher: Voucher, receipt_key: str, now: datetime, policy: Policy
) -> int:
    """The ``redeem`` row and the draw from the lots: the voucher's points, or what the
    balance holds when a refund has taken some meanwhile (unless it may go negative)."""
    balance = int(
        conn.execute(
            select(Account.balance).where(Account.customer_id == voucher.customer_id)
        ).scalar_one_or_none()
        or 0
    )
    taken = voucher.points if policy.negative_balance else min(voucher.points, max(balance, 0))
    entry = conn.execute(
        insert(LedgerEntry)
        .values(
            customer_id=voucher.customer_id,
            kind=EntryKind.REDEEM.value,
            points=-taken,
            balance_after=balance - taken,
            idempotency_key=f"redeem:{voucher.code}",
            claim_code=voucher.code,
            created_at=now,
            reason=f"voucher {voucher.code} ({voucher.label}) on receipt {receipt_key[:24]}",
        )
        .returning(LedgerEntry.id)
    ).scalar_one()
    if taken:
        draw(conn, voucher.customer_id, entry, taken)
        conn.execute(
            update(Account)
            .where(Account.customer_id == voucher.customer_id)
            .values(balance=Account.balance - taken, updated_at=now)
        )
    return taken


# -- the owner's commands (``tillbridge voucher``) ------------------------------------------


def list_vouchers(engine: Engine, customer_id: int) -> list[Voucher]:
    with outages_as_unavailable(), engine.connect() as conn:
        return list(
            conn.execute(
                select(Voucher).where(Voucher.customer_id == customer_id).order_by(Voucher.id)
            ).all()
        )


def issue_on_request(
    engine: Engine, customer_id: int, reward_id: str | None, policy: Policy, now: datetime
) -> IssuedVoucher:
    """Issue a voucher the customer asked for ("keep collecting" programmes): the reward
    named, else the dearest one the available points pay for. Raises ``VoucherError``."""
    if not policy.rewards:
        raise VoucherError("the programme has no rewards: add [[reward]] to the rules file")
    rewards = {r.reward_id: r for r in policy.rewards}
    if reward_id is not None and reward_id not in rewards:
        raise VoucherError(f"no reward {reward_id!r} (rewards: {', '.join(sorted(rewards))})")
    today = now.date()
    with outages_as_unavailable(), engine.begin() as conn:
        balance = conn.execute(
            select(Account.balance).where(Account.customer_id == customer_id).with_for_update()
        ).scalar_one_or_none()
        available = int(balance or 0) - reserved(conn, customer_id, today)
        if reward_id is not None:
            reward = rewards[reward_id]
        else:
            paid = [r for r in policy.rewards if r.points <= available]
            if not paid:
                cheapest = min(policy.rewards, key=lambda r: r.points)
                raise VoucherError(
                    f"{available} points available: the cheapest reward ({cheapest.label}) "
                    f"needs {cheapest.points}"
                )
            reward = max(paid, key=lambda r: r.points)
        if reward.points > available:
            raise VoucherError(
                f"{reward.label} needs {reward.points} points; {available} are available"
            )
        return issue(conn, customer_id, reward, policy, now, today)


def void_voucher(engine: Engine, code: str, now: datetime) -> Voucher:
    """Void a voucher not used yet (printed by mistake, lost): its points are free again."""
    stored = ours(code)
    if stored is None:
        raise VoucherError(f"{code!r} is not a voucher code")
    with outages_as_unavailable(), engine.begin() as conn:
        voucher = conn.execute(
            select(Voucher).where(Voucher.code == stored).with_for_update()
        ).one_or_none()
        if voucher is None:
            raise VoucherError(f"no voucher {stored}")
        if voucher.used_at is not None:
            raise VoucherError(f"voucher {stored} was used on {voucher.used_at:%Y-%m-%d}")
        if voucher.voided_at is None:
            conn.execute(update(Voucher).where(Voucher.id == voucher.id).values(voided_at=now))
        return voucher


# -- stamp cards ------------------------------------------------------------------------------


def stamps_held(conn: Connection, customer_id: int) -> dict[str, int]:
    """The stamps on each of the customer's cards."""
    return {
        card: int(held)
        for card, held in conn.execute(
            select(StampEntry.card_id, func.sum(StampEntry.stamps))
            .where(StampEntry.customer_id == customer_id)
            .group_by(StampEntry.card_id)
        )
    }


def add_stamps(
    conn: Connection,
    customer_id: int,
    adds: tuple[StampAdd, ...],
    receipt_key: str,
    policy: Policy,
    now: datetime,
    today: date,
) -> tuple[tuple[StampProgress, ...], tuple[IssuedVoucher, ...]]:
    """Put a receipt's stamps on the customer's cards; a card that fills gives up ``goal``
    stamps for a voucher (the free item: no points to draw). The cards' progress, and the
    vouchers issued."""
    if not adds:
        return (), ()
    held = stamps_held(conn, customer_id)
    progress: list[StampProgress] = []
    issued: list[IssuedVoucher] = []
    for add in adds:
        if add.stamps <= 0 or add.goal <= 0:
            continue
        rows = [add.stamps]
        total = held.get(add.card_id, 0) + add.stamps
        while total >= add.goal:
            rows.append(-add.goal)
            total -= add.goal
            reward = Reward(add.card_id, 0, add.label)
            issued.append(issue(conn, customer_id, reward, policy, now, today))
        conn.execute(
            insert(StampEntry),
            [
                {
                    "customer_id": customer_id,
                    "card_id": add.card_id[:64],
                    "stamps": stamps,
                    "receipt_key": receipt_key,
                    "created_at": now,
                }
                for stamps in rows
            ],
        )
        progress.append(StampProgress(add.card_id, add.label, total, add.goal))
    return tuple(progress), tuple(issued)
