"""The store on real databases: migrations from empty, the engine's settings, column types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, insert, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError

from bridge.store import Account, Base, Customer, LedgerEntry, make_engine, migrate
from bridge.store.migrations import alembic_config

TABLES = {
    "customers",
    "accounts",
    "ledger_entries",
    "claim_codes",
    "receipts",  # 0007: receipts that earned, with their items
    "receipt_items",
    "identifiers",  # 0008: the numbers customers are known by
    "lots",  # 0009: points with their expiry day, and what debits drew
    "lot_draws",
    "vouchers",  # 0011: rewards issued, and whether they were used
    "stamps",  # 0012: stamp cards, as rows of stamps added and given up
    "store_identity",
    "claim_attempts",
}
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def _head() -> str:
    from alembic.script import ScriptDirectory

    from bridge.store.migrations import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def test_migrations_create_the_schema_from_empty(empty_engine: Engine) -> None:
    assert set(inspect(empty_engine).get_table_names()) == set()
    migrate(empty_engine)
    assert set(inspect(empty_engine).get_table_names()) == TABLES | {"alembic_version"}
    with empty_engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == HEAD
        # The migration and the models describe the same schema.
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrate_twice_changes_nothing(engine: Engine) -> None:
    migrate(engine)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == HEAD


def test_sqlite_engine_settings(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url, busy_timeout_ms=1234)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
    finally:
        engine.dispose()


def test_postgresql_url_gets_the_psycopg_driver() -> None:
    engine = make_engine("postgresql://user@localhost/tillbridge")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_times_come_back_aware_and_in_utc(engine: Engine) -> None:
    madrid_morning = datetime(2026, 11, 23, 10, 15, 30, tzinfo=timezone(timedelta(hours=1)))
    with engine.begin() as conn:
        conn.execute(insert(Customer).values(kind="card", value="1", created_at=madrid_morning))
        created = conn.execute(select(Customer.created_at)).scalar_one()
    assert created.tzinfo is not None
    assert created.utcoffset() == timedelta(0)
    assert created == madrid_morning


def test_naive_times_are_refused(engine: Engine) -> None:
    with pytest.raises(StatementError, match="timezone-aware"), engine.begin() as conn:
        conn.execute(
            insert(Customer).values(kind="card", value="1", created_at=datetime(2026, 1, 1))
        )


def test_money_keeps_every_digit_and_refuses_floats(engine: Engine) -> None:
    total = Decimal("1234567.8915")
    with engine.begin() as conn:
        conn.execute(
            insert(LedgerEntry).values(kind="earn", points=1, receipt_total=total, created_at=NOW)
        )
        stored = conn.execute(select(LedgerEntry.receipt_total)).scalar_one()
    assert isinstance(stored, Decimal)
    assert stored == total
    with pytest.raises(StatementError, match="Decimal"), engine.begin() as conn:
        conn.execute(
            insert(LedgerEntry).values(kind="earn", points=1, receipt_total=0.1, created_at=NOW)
        )


def test_a_balance_may_go_below_zero_where_the_programme_allows_it(engine: Engine) -> None:
    # Migration 0010 moved the guard into the ledger's code (Policy.negative_balance): the
    # database keeps what the code decided. The code's bounds are tested in test_ledger_*.
    with engine.begin() as conn:
        customer_id = conn.execute(
            insert(Customer).values(kind="card", value="1", created_at=NOW).returning(Customer.id)
        ).scalar_one()
        conn.execute(insert(Account).values(customer_id=customer_id, balance=-1, updated_at=NOW))
        assert conn.execute(select(Account.balance)).scalar_one() == -1


def test_an_idempotency_key_is_stored_once_but_many_entries_have_none(engine: Engine) -> None:
    entry = {"kind": "earn", "points": 5, "created_at": NOW}
    with engine.begin() as conn:
        conn.execute(insert(LedgerEntry).values(**entry, idempotency_key=None))
        conn.execute(insert(LedgerEntry).values(**entry, idempotency_key=None))
        conn.execute(insert(LedgerEntry).values(**entry, idempotency_key="r1-abc"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(LedgerEntry).values(**entry, idempotency_key="r1-abc"))


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(Account).values(customer_id=999, balance=0, updated_at=NOW))


def test_customers_stored_the_old_way_get_the_one_stored_form(empty_engine: Engine) -> None:
    # Before 0005 a number lost its spaces and dashes only; the next receipt printing it is
    # read in the one form of parsers.identifiers, so the stored customers must be too.
    migrate(empty_engine, "0004_entry_reason")
    old = [
        ("card", "rl000451"),
        ("card", "12.345/6"),
        ("phone", "(518)5550199"),
        ("phone", "+48600100200"),
        ("loyalty_id", "ab.12_x"),
        ("card", "RL1"),
        ("card", "rl1"),  # becomes RL1, which another customer is: left as it was
    ]
    with empty_engine.begin() as conn:
        for kind, value in old:
            conn.execute(insert(Customer).values(kind=kind, value=value, created_at=NOW))
    migrate(empty_engine)
    with empty_engine.connect() as conn:
        stored = conn.execute(select(Customer.kind, Customer.value).order_by(Customer.id)).all()
    assert [tuple(row) for row in stored] == [
        ("card", "RL000451"),
        ("card", "123456"),
        ("phone", "5185550199"),
        ("phone", "+48600100200"),
        ("loyalty_id", "ab.12_x"),
        ("card", "RL1"),
        ("card", "rl1"),
    ]
