"""What a rule set would have awarded over the stored receipts of a period, beside what was
awarded: the owner tries a new rules file before putting it in force.

Stored receipts (migration 0007) keep their items and the net amount that earned, not their
tips, taxes or discount lines, so each is rebuilt as a sale of those items whose discounts
bring it to that net: the rules see what they would count. The customer's history is
followed through the period in time order (a first purchase, the points of the day for a
daily cap); a birthday is not known to the store yet, so birthday bonuses never apply here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine, func, select

from bridge.loyalty.earning import CustomerFacts, EarningRules
from bridge.store.engine import outages_as_unavailable
from bridge.store.models import LedgerEntry, StoredItem, StoredReceipt
from parsers.receipt import Discount, Item, Receipt, ReceiptKind


@dataclass
class DryRun:
    receipts: int = 0
    awarded: int = 0  # the points their earns recorded
    would_award: int = 0  # the points the rule set gives them
    by_rule: Counter[str] = field(default_factory=Counter)  # rule id: points
    labels: dict[str, str] = field(default_factory=dict)  # rule id: its label
    customers: int = 0

    @property
    def difference(self) -> int:
        return self.would_award - self.awarded


def dry_run(engine: Engine, rules: EarningRules, start: datetime, end: datetime) -> DryRun:
    """The rule set over the sales stored in ``[start, end)`` (by when they were awarded)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("a dry run's period must be timezone-aware")
    result = DryRun()
    seen: set[int] = set()
    today: Counter[tuple[int, str]] = Counter()
    with outages_as_unavailable(), engine.connect() as conn:
        earned_before = {
            customer_id
            for (customer_id,) in conn.execute(
                select(StoredReceipt.customer_id)
                .where(StoredReceipt.created_at < start, StoredReceipt.customer_id.is_not(None))
                .distinct()
            )
        }
        stored = conn.execute(
            select(StoredReceipt)
            .where(
                StoredReceipt.created_at >= start,
                StoredReceipt.created_at < end,
                StoredReceipt.kind == ReceiptKind.SALE.value,
            )
            .order_by(StoredReceipt.created_at, StoredReceipt.id)
        ).all()
        items: dict[int, list[Item]] = {}
        ids = [row.id for row in stored]
        for first in range(0, len(ids), 500):
            for line in conn.execute(
                select(StoredItem)
                .where(StoredItem.receipt_id.in_(ids[first : first + 500]))
                .order_by(StoredItem.receipt_id, StoredItem.line)
            ):
                items.setdefault(line.receipt_id, []).append(
                    Item(line.name, line.amount, line.qty, sku=line.sku, category=line.category)
                )
        awarded = dict(
            conn.execute(
                select(LedgerEntry.idempotency_key, func.sum(LedgerEntry.points))
                .where(LedgerEntry.idempotency_key.in_([row.key for row in stored]))
                .group_by(LedgerEntry.idempotency_key)
            ).all()
        )
    for row in stored:
        receipt = _rebuilt(row, items.get(row.id, []))
        at = row.issued_at or row.created_at
        facts = CustomerFacts()
        if row.customer_id is not None:
            day = at.date().isoformat()
            facts = CustomerFacts(
                first_purchase=row.customer_id not in earned_before and row.customer_id not in seen,
                points_today=today[(row.customer_id, day)],
            )
        earning = rules.earn(receipt, facts, at)
        if row.customer_id is not None:
            seen.add(row.customer_id)
            today[(row.customer_id, at.date().isoformat())] += earning.points
        result.receipts += 1
        result.awarded += int(awarded.get(row.key) or 0)
        result.would_award += earning.points
        for part in earning.parts:
            result.by_rule[part.rule_id] += part.points
            result.labels.setdefault(part.rule_id, part.label)
    result.customers = len(seen)
    return result


def _rebuilt(row: StoredReceipt, items: list[Item]) -> Receipt:
    net = row.net if row.net is not None else row.total
    goods = sum((i.amount for i in items), Decimal(0))
    discounts = []
    if net is not None and items and goods > net:
        discounts.append(Discount("(discounts as stored)", net - goods))
    return Receipt(
        kind=ReceiptKind.SALE,
        store=row.store,
        till=row.till,
        number=row.number,
        issued_at=row.issued_at,
        currency=row.currency,
        items=items,
        discounts=discounts,
        total=net,
        raw_text="",
    )
