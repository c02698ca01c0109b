"""``tillbridge export [-o FILE] [--lapsed-days N] [--config PATH]``: customers and their
segments as CSV (``bridge.loyalty.export`` says what each column is).

Writes to standard output, or to FILE (created owner-only: it holds customers' numbers,
written under a temporary name and renamed once whole). Exit 0; 2 for no config or the
database unavailable; 1 when FILE cannot be written.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from bridge.commands import read_config

_PROG = "tillbridge export"


def run(args: argparse.Namespace) -> int:
    config = read_config(args.config, _PROG)
    if config is None:
        return 2

    from bridge.loyalty.export import customer_rows, write_csv
    from bridge.store import StoreUnavailable, make_engine, migrate

    now = datetime.now(UTC)
    engine = make_engine(config.database.url)
    try:
        migrate(engine)
        rows = customer_rows(engine, now)
    except StoreUnavailable as error:
        print(f"{_PROG}: database unavailable: {error}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if args.output is None:
        write_csv(sys.stdout, rows, now, args.lapsed_days)
        return 0
    target = Path(args.output)
    partial = target.with_name(target.name + ".partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8", newline="") as out:
            count = write_csv(out, rows, now, args.lapsed_days)
        partial.replace(target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        print(f"{_PROG}: cannot write {target}: {error.strerror or error}", file=sys.stderr)
        return 1
    print(f"exported {count} customers to {target}", file=sys.stderr)
    return 0
