"""``tillbridge backup FILE`` and ``tillbridge restore FILE [--replace]``.

Backup copies the configured loyalty database to FILE while the daemon runs (SQLite: the
online backup API; PostgreSQL: ``pg_dump``); restore puts a backup back, the daemon stopped
(``bridge.store.backup`` says what each does and refuses). Progress goes to standard error,
the result to standard output. Exit 0 when done, 1 when it could not be done (the reason on
standard error), 2 for a config problem or a database that cannot be reached.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from bridge.commands import read_config


def run_backup(args: argparse.Namespace) -> int:
    return _run(args, "tillbridge backup")


def run_restore(args: argparse.Namespace) -> int:
    return _run(args, "tillbridge restore")


def _run(args: argparse.Namespace, prog: str) -> int:
    config = read_config(args.config, prog)
    if config is None:
        return 2
    from bridge.store import StoreUnavailable
    from bridge.store.backup import BackupError, backup, restore

    progress = ProgressLine(sys.stderr, "backup" if args.command == "backup" else "restore")
    try:
        if args.command == "backup":
            result = backup(config.database.url, Path(args.file), progress)
        else:
            result = restore(
                config.database.url, Path(args.file), replace=args.replace, progress=progress
            )
    except BackupError as error:
        progress.end()
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    except StoreUnavailable as error:
        progress.end()
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    progress.end()
    if args.command == "backup":
        print(f"backed up to {result.path} ({_size(result.size)})")
    else:
        print(f"restored {args.file} ({_size(result.size)})")
        if result.kept is not None:
            print(f"the database it replaced is kept as {result.kept}")
    return 0


class ProgressLine:
    """Progress on one line rewritten in place on a terminal; elsewhere (a log, cron's mail)
    a line at each tenth, so the output stays short."""

    def __init__(self, stream: TextIO, what: str) -> None:
        self.stream = stream
        self.what = what
        self.tty = stream.isatty()
        self._shown = -1

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return
        percent = 100 * done // total
        step = percent if self.tty else percent // 10 * 10
        if step == self._shown:
            return
        self._shown = step
        line = f"{self.what}: {percent:3d}% ({done:,} of {total:,})"
        self.stream.write(f"\r{line}" if self.tty else f"{line}\n")
        self.stream.flush()

    def end(self) -> None:
        if self.tty and self._shown >= 0:
            self.stream.write("\n")
        self._shown = -1


def _size(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    raise AssertionError("unreachable")
