"""Award latency on SQLite with 100,000 customers: SQLite's automatic WAL checkpoint (inside
the commit that crosses 1,000 pages) against ours (off in the commit; a passive checkpoint on
a thread of its own, as the awards desk runs it).

    .venv/bin/python bench/checkpoint_bench.py [--customers 100000] [--awards 3000]

Prints, per variant, the award latency p50, p99, p99.9 and max, and how many awards took over
10 ms. Figures depend on the disk; run it on the machine the bridge runs on.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from bridge.loyalty import Ledger, PointsRule
from bridge.store import checkpoint, make_engine, migrate
from parsers.receipt import CustomerKind, CustomerRef, Receipt, ReceiptKind

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _fill(engine: Engine, customers: int) -> None:
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        stamp = "2026-12-01 09:00:00.000000"
        raw.executemany(
            "INSERT INTO customers (id, kind, value, created_at) VALUES (?, 'card', ?, ?)",
            ((n, f"{n:016d}", stamp) for n in range(1, customers + 1)),
        )
        raw.executemany(
            "INSERT INTO accounts (customer_id, balance, updated_at) VALUES (?, 0, ?)",
            ((n, stamp) for n in range(1, customers + 1)),
        )
    checkpoint(engine)


def _receipt(number: int, card: str) -> Receipt:
    return Receipt(
        kind=ReceiptKind.SALE,
        store="S01",
        till="1",
        number=str(number),
        issued_at=NOW,
        currency="EUR",
        total=Decimal("12.50"),
        customer=CustomerRef(CustomerKind.CARD, card),
        raw_text=f"SALE {number} {card}",
        problems=[],
    )


def _run(folder: Path, customers: int, awards: int, ours: bool) -> list[float]:
    engine = make_engine(f"sqlite:///{folder / ('ours.db' if ours else 'auto.db')}")
    if not ours:

        @event.listens_for(engine, "connect")
        def _auto(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA wal_autocheckpoint=1000")  # SQLite's default

    migrate(engine)
    _fill(engine, customers)
    stop = threading.Event()
    if ours:

        def checkpoints() -> None:  # the desk's timer: passive, beside the awards
            while not stop.wait(1.0):
                checkpoint(engine)

        threading.Thread(target=checkpoints, daemon=True).start()
    ledger = Ledger(engine)
    rng = random.Random(7)
    took: list[float] = []
    for number in range(awards):
        card = f"{rng.randint(1, customers):016d}"
        start = time.perf_counter()
        ledger.award(_receipt(number, card), PointsRule(), NOW)
        took.append((time.perf_counter() - start) * 1000)
        time.sleep(0.002)  # tills print one receipt at a time, not in a tight loop
    stop.set()
    engine.dispose()
    return took


def _row(name: str, took: list[float]) -> str:
    ordered = sorted(took)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    slow = sum(t > 10 for t in took)
    return (
        f"{name:<28} p50 {statistics.median(took):6.2f} ms  p99 {at(0.99):6.2f} ms  "
        f"p99.9 {at(0.999):6.2f} ms  max {ordered[-1]:6.2f} ms  over 10 ms: {slow}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--awards", type=int, default=3_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tillbridge-ckpt-") as folder:
        auto = _run(Path(folder), args.customers, args.awards, ours=False)
        ours = _run(Path(folder), args.customers, args.awards, ours=True)
    print(f"{args.awards} awards, {args.customers} customers, SQLite WAL")
    print(_row("automatic checkpoint", auto))
    print(_row("desk's passive checkpoint", ours))


if __name__ == "__main__":
    main()
