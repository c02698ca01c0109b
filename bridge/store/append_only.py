"""Insert-only tables, enforced by the database itself rather than by convention.

A ledger row is evidence: a wrong one is corrected by another row (a reverse, an adjust, a
void), never by editing or removing it. Code that forgets this, an admin's stray ``UPDATE`` in
a SQL shell, or a tool that "cleans up" would otherwise rewrite a customer's history without a
trace. So each guarded table refuses UPDATE and DELETE row by row, and on PostgreSQL TRUNCATE
too (which fires no row trigger):

- SQLite: ``BEFORE UPDATE`` / ``BEFORE DELETE`` triggers that ``RAISE(ABORT, ...)``.
- PostgreSQL: one trigger function raising ``insufficient_privilege``, attached per table for
  UPDATE, DELETE (per row) and TRUNCATE (per statement).

Alembic's batch mode on SQLite rebuilds a table by copying it into a new one, which loses its
triggers: a migration that batch-alters a guarded table calls ``drop_guards`` first (the copy
deletes the old rows) and ``create_guards`` after. Migrations call these with their own
connection; the statements are fixed text, so a migration's effect does not change with them.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

GUARDED_MESSAGE = "is insert-only: correct it with a new row, never by UPDATE or DELETE"

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION tillbridge_insert_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% {GUARDED_MESSAGE}', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def create_guards(conn: Connection, table: str) -> None:
    """Make ``table`` refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL). Idempotent."""
    if conn.dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            conn.execute(
                text(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()} "
                    f"BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} {GUARDED_MESSAGE}'); END"
                )
            )
        return
    conn.execute(text(_PG_FUNCTION))
    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}"))
    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"))
    conn.execute(
        text(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tillbridge_insert_only()"
        )
    )
    conn.execute(
        text(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tillbridge_insert_only()"
        )
    )


def drop_guards(conn: Connection, table: str) -> None:
    """Remove ``table``'s guards (before a batch rebuild, or a downgrade)."""
    if conn.dialect.name == "sqlite":
        for action in ("update", "delete"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{action}"))
        return
    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}"))
    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"))
