"""The ledger's award, on SQLite and PostgreSQL, with a small and a large programme, side by side.

    .venv/bin/python bench/loyalty_bench.py [--quick] [--awards N] [--no-postgres]

Two sizes: 100 customers with a few hundred ledger rows (a shop's first week), and 100,000
customers with 1,000,000 ledger rows (``--quick``: 10,000 and 100,000). Each is filled with
bulk inserts, then ``Ledger.award`` is called for sales to random known customers, one after
another, as the awards desk calls it: awards per second, and the latency p50 / p99 / max of one
award. The aim: the large case's p99 within twice the small one's, on each database.

PostgreSQL runs on a server the bench starts itself (``pgserver``, as the test suite does).
Figures depend on the disk and the machine's load; the last line says what the load was.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.loyalty import Ledger, PointsRule  # noqa: E402
from bridge.store import make_engine, migrate  # noqa: E402
from bridge.store.models import Account, Customer, LedgerEntry  # noqa: E402
from parsers.receipt import CustomerKind, CustomerRef, Receipt, ReceiptKind  # noqa: E402

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
CHUNK = 20_000


@dataclass(frozen=True)
class Size:
    name: str
    customers: int
    rows: int


@dataclass(frozen=True)
class Figures:
    per_second: float
    p50: float
    p99: float
    worst: float
    fill_seconds: float


def fill(engine: Engine, size: Size) -> float:
    """Customers, their accounts and ``size.rows`` earn entries, in bulk; the seconds it took."""
    started = time.monotonic()
    rng = random.Random(11)
    balances = [0] * (size.customers + 1)
    with engine.begin() as conn:
        for first in range(1, size.customers + 1, CHUNK):
            last = min(first + CHUNK, size.customers + 1)
            conn.execute(
                insert(Customer),
                [
                    {"id": n, "kind": "card", "value": f"{n:016d}", "created_at": NOW}
                    for n in range(first, last)
                ],
            )
        for first in range(0, size.rows, CHUNK):
            rows = []
            for n in range(first, min(first + CHUNK, size.rows)):
                customer = rng.randint(1, size.customers)
                points = rng.randint(1, 60)
                balances[customer] += points
                rows.append(
                    {
                        "customer_id": customer,
                        "kind": "earn",
                        "points": points,
                        "balance_after": balances[customer],
                        "idempotency_key": f"seed-{n}",
                        "receipt_store": "main",
                        "receipt_till": "front",
                        "receipt_number": str(n),
                        "receipt_issued_at": NOW - timedelta(minutes=size.rows - n),
                        "receipt_total": Decimal(points) + Decimal("0.50"),
                        "receipt_currency": "EUR",
                        "created_at": NOW - timedelta(minutes=size.rows - n),
                    }
                )
            conn.execute(insert(LedgerEntry), rows)
            progress(f"  {size.name}: {first + len(rows):,} of {size.rows:,} ledger rows")
        conn.execute(
            insert(Account),
            [
                {"customer_id": n, "balance": balances[n], "updated_at": NOW}
                for n in range(1, size.customers + 1)
            ],
        )
    return time.monotonic() - started


def sale(number: int, card: str) -> Receipt:
    return Receipt(
        kind=ReceiptKind.SALE,
        store="main",
        till="front",
        number=f"B{number}",
        issued_at=NOW,
        currency="EUR",
        total=Decimal("12.50"),
        customer=CustomerRef(CustomerKind.CARD, card),
        raw_text=f"SALE B{number} {card}",
    )


def measure(engine: Engine, size: Size, awards: int) -> list[float]:
    ledger = Ledger(engine)
    rng = random.Random(7)
    rule = PointsRule()
    took: list[float] = []
    for number in range(awards):
        receipt = sale(number, f"{rng.randint(1, size.customers):016d}")
        start = time.perf_counter()
        ledger.award(receipt, rule, NOW)
        took.append((time.perf_counter() - start) * 1000)
    return took


def figures(took: list[float], fill_seconds: float) -> Figures:
    ordered = sorted(took)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return Figures(
        per_second=len(took) / (sum(took) / 1000),
        p50=statistics.median(took),
        p99=p99,
        worst=ordered[-1],
        fill_seconds=fill_seconds,
    )


@contextmanager
def sqlite_url(folder: Path, size: Size) -> Iterator[str]:
    yield f"sqlite:///{folder / f'{size.name}.db'}"


@contextmanager
def postgres_server(folder: Path) -> Iterator[object]:
    runtime = folder / "runtime"
    runtime.mkdir(mode=0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import pgserver

    server = pgserver.get_server(folder / "pg", cleanup_mode="stop")
    try:
        yield server
    finally:
        server.cleanup()


def pg_database(server: object, name: str) -> str:
    from sqlalchemy import create_engine, text

    uri: str = server.get_uri()  # type: ignore[attr-defined]
    admin = create_engine(uri.replace("postgresql://", "postgresql+psycopg://"))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    named: str = server.get_uri(name)  # type: ignore[attr-defined]
    return named.replace("postgresql://", "postgresql+psycopg://")


def run_one(url: str, size: Size, awards: int) -> Figures:
    engine = make_engine(url)
    try:
        migrate(engine)
        fill_seconds = fill(engine, size)
        measure(engine, size, min(200, awards))  # warm: statement caches, pages in memory
        return figures(measure(engine, size, awards), fill_seconds)
    finally:
        engine.dispose()


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: under a minute")
    parser.add_argument("--awards", type=int, default=3000, help="awards measured per case")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    large = Size("large", 10_000, 100_000) if args.quick else Size("large", 100_000, 1_000_000)
    sizes = (Size("small", 100, 500), large)
    results: dict[tuple[str, str], Figures] = {}
    with tempfile.TemporaryDirectory(prefix="tillbridge-loyalty-bench-") as temp:
        folder = Path(temp)
        for size in sizes:
            progress(f"SQLite, {size.name}: {size.customers:,} customers, {size.rows:,} rows")
            with sqlite_url(folder, size) as url:
                results[("SQLite", size.name)] = run_one(url, size, args.awards)
        if not args.no_postgres:
            with postgres_server(folder) as server:
                for size in sizes:
                    progress(f"PostgreSQL, {size.name}: {size.customers:,} customers")
                    url = pg_database(server, f"bench_{size.name}")
                    results[("PostgreSQL", size.name)] = run_one(url, size, args.awards)
    print()
    print(
        f"{'database':<11} {'size':<42} {'awards/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    )
    for (database, name), got in results.items():
        size = next(s for s in sizes if s.name == name)
        label = f"{name}: {size.customers:,} customers, {size.rows:,} rows"
        print(
            f"{database:<11} {label:<42} {got.per_second:>9.0f} {got.p50:>9.2f} "
            f"{got.p99:>9.2f} {got.worst:>9.2f}"
        )
    print()
    for database in ("SQLite", "PostgreSQL"):
        small, big = results.get((database, "small")), results.get((database, "large"))
        if small and big:
            ratio = big.p99 / small.p99
            verdict = "met" if ratio <= 2 else "NOT met"
            print(f"- {database}: large p99 / small p99 = {ratio:.2f} (aim <= 2: {verdict})")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"- {args.awards} awards per case, one after another; machine load average: {load}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
