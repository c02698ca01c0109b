"""The faults of issue 7's table, each tried against ``tillbridge run``; one row per fault.

```sh
.venv/bin/python bench/faults.py            # every row, a few minutes
.venv/bin/python bench/faults.py --quick    # fewer sales and kills, about a minute or two
.venv/bin/python bench/faults.py --only printer   # the rows whose name holds "printer"
```

The tills, the printers and the judge are ``bench/faultkit.py``'s: a till counts a receipt
printed when the connection ends normally after its half-close, a failure when it is refused,
reset or times out; a receipt reached the printer whole when its body and its cut arrived in
one connection with nothing of another connection in between. Per row:

- sent: sales; printed whole: sales that reached the printer whole at least once;
- failed visibly: attempts the till saw fail (a till resends in the torture rows, so this can
  exceed the sales);
- lied: sales the till was told printed more often than they reached the printer whole;
- awarded once / twice: earn entries in the ledger per sale; earned unprinted: awarded, never
  whole at the printer; lost: reached the printer whole with no award in the ledger, the
  journal or the inbox; by hand: printed, unawarded, kept in ``unread/`` for ``tillbridge
  award``; out of order: receipts that reached the printer before one the till sent first.

Rows that need a mount (read-only database, disk full) use a small tmpfs and say "not
measured" where mounting is not allowed. Progress goes to standard error, the table to
standard output.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.faultkit import (
    PRINTED,
    Attempt,
    BenchError,
    CountingPrinter,
    DaemonUnderTest,
    PrinterConnection,
    Sale,
    Verdict,
    inbox_numbers,
    journal_numbers,
    judge,
    ledger_awards,
    make_sale,
    send_fire_and_forget,
    send_waiting,
    torture,
    unread_numbers,
    wiring,
)
from parsers.layouts import GRAMMAR_DIR

TIMEOUT = 10.0  # what the tills wait before they report a timeout
STALL_TIMEOUT = 5.0  # the till behind a printer that stopped reading
READ_ONLY_FOR = 7.0  # seconds the database stays read-only after the sales
PRINTER_CHECK_S = 5.0  # the daemon's default printer_check_s


LAST_STOPS: list[str] = []  # each rig's graceful stops, for its row's note


@dataclass
class Row:
    fault: str
    verdict: Verdict | None
    note: str = ""


@dataclass(frozen=True)
class Plan:
    quick: bool
    seed: int
    keep: bool

    def n(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- a rig for one row ----------------------------------------------------------------------


class Rig:
    """Printers and a daemon for one row, in a folder of its own."""

    def __init__(
        self, folder: Path, names: Sequence[str], **daemon_options: Path | str | None
    ) -> None:
        self.printers = {name: CountingPrinter(name) for name in names}
        self.daemon = DaemonUnderTest(
            folder, wiring(names, list(self.printers.values())), **daemon_options
        )
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()

    def port(self, till: str) -> int:
        return next(t.port for t in self.daemon.tills if t.name == till)

    def send(
        self, sale: Sale, style: Callable[..., tuple[str, str]] = send_waiting, **kw: float
    ) -> Attempt:
        started = time.monotonic()
        outcome, detail = style(self.port(sale.till), sale.data, kw.get("timeout", TIMEOUT))
        attempt = Attempt(sale, outcome, detail, started, time.monotonic() - started)
        with self._lock:
            self.attempts.append(attempt)
        return attempt

    def seen(self) -> dict[str, list[PrinterConnection]]:
        return {name: p.snapshot() for name, p in self.printers.items()}

    def verdict(
        self,
        sales: Sequence[Sale],
        awards: Counter[str] | None = None,
        when_told: dict[str, list[PrinterConnection]] | None = None,
    ) -> Verdict:
        """``when_told``: what the printers had when the tills were answered (default: now)."""
        numbers = {s.number for s in sales}
        return judge(
            sales,
            [a for a in self.attempts if a.sale.number in numbers],
            self.seen(),
            ledger_awards(self.daemon.database) if awards is None else awards,
            unread=unread_numbers(self.daemon),
            pending=journal_numbers(self.daemon) + inbox_numbers(self.daemon),
            when_told=when_told,
        )

    def finish(self) -> None:
        """One more start replays what the last left (if it can start), then a clean stop."""
        with contextlib.suppress(BenchError):
            self.daemon.start()
            self.daemon.settle(20)
        self.daemon.stop()

    def close(self) -> None:
        self.daemon.children.stop_all()
        for printer in self.printers.values():
            printer.stop()


@contextlib.contextmanager
def rig(folder: Path, names: Sequence[str], **options: Path | str | None) -> Iterator[Rig]:
    folder.mkdir(parents=True, exist_ok=True)
    made = Rig(folder, names, **options)
    try:
        yield made
    finally:
        made.close()
        LAST_STOPS.append(made.daemon.stop_summary())


def sales_for(till: str, index: int, count: int, first: int = 0, items: int = 4) -> list[Sale]:
    return [make_sale(till, index, serial, items) for serial in range(first, first + count)]


# --- the rows -------------------------------------------------------------------------------


def random_kills(plan: Plan, folder: Path) -> Row:
    result = torture(
        folder,
        seed=plan.seed,
        tills=3,
        sales_per_till=plan.n(100, 30),
        random_kills=plan.n(24, 8),
        connect_kills=0,
        uptime=(0.05, 1.0),
    )
    return Row(
        "daemon SIGKILL at random moments",
        result.verdict,
        f"{result.kills} kills, seed {plan.seed}, tills resend what failed",
    )


def connect_kills(plan: Plan, folder: Path) -> Row:
    result = torture(
        folder,
        seed=plan.seed,
        tills=3,
        sales_per_till=plan.n(84, 30),
        random_kills=0,
        connect_kills=plan.n(30, 8),
    )
    return Row(
        "daemon SIGKILL just after a till connects",
        result.verdict,
        f"{result.kills} kills, seed {plan.seed}, tills resend what failed",
    )


def fresh_daemon(plan: Plan, folder: Path) -> Row:
    names = [f"till{k + 1}" for k in range(5)]
    rounds = plan.n(5, 2)
    sales: list[Sale] = []
    with rig(folder, names) as r:
        for round_ in range(rounds):
            batch = [make_sale(name, k, round_) for k, name in enumerate(names)]
            sales += batch
            r.daemon.start()  # returns as soon as every till port listens
            threads = [threading.Thread(target=r.send, args=(s,)) for s in batch]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            r.daemon.stop()
        r.finish()
        return Row(
            "receipts sent as soon as a fresh daemon listens",
            r.verdict(sales),
            f"{rounds} starts x {len(names)} tills, one receipt each at once",
        )


def back_to_back(plan: Plan, folder: Path) -> Row:
    pairs = plan.n(10, 4)
    sales = sales_for("till1", 0, 2 * pairs)
    with rig(folder, ["till1"]) as r:
        r.daemon.start()
        for k in range(pairs):
            first, second = sales[2 * k], sales[2 * k + 1]
            # python-escpos and node-thermal-printer open a connection per receipt and do not
            # wait for the previous one to end.
            one = threading.Thread(target=r.send, args=(first,))
            one.start()
            time.sleep(0.002)
            r.send(second)
            one.join()
        r.finish()
        return Row(
            "two sales back to back, one connection each", r.verdict(sales), f"{pairs} pairs"
        )


def printer_resets(plan: Plan, folder: Path) -> Row:
    sales = sales_for("till1", 0, plan.n(10, 4))
    with rig(folder, ["till1"]) as r:
        r.printers["till1"].reset_after = len(sales[0].data) // 2
        r.daemon.start()
        for sale in sales:
            r.send(sale)
        r.printers["till1"].reset_after = None
        r.finish()
        return Row(
            "printer resets mid-receipt",
            r.verdict(sales),
            f"reset after {len(sales[0].data) // 2} of {len(sales[0].data)} bytes",
        )


def printer_stops_reading(plan: Plan, folder: Path) -> Row:
    count = plan.n(2, 1)
    say("  building 1 MiB receipts")
    sales = [make_sale("till1", 0, serial, items=21_000) for serial in range(count)]
    with rig(folder, ["till1"]) as r:
        printer = r.printers["till1"]
        r.daemon.start()
        printer.reading = False
        took = []
        for sale in sales:
            attempt = r.send(sale, timeout=STALL_TIMEOUT)
            took.append(f"{attempt.outcome} after {attempt.took:.1f} s")
        got = printer.received()
        answered = r.seen()  # whole or not when the till had its answer
        printer.reading = True
        r.finish()
        return Row(
            "printer stops reading (paper out)",
            r.verdict(sales, when_told=answered),
            f"{len(sales[0].data) // 1024} KiB each; the till: {', '.join(took)}; "
            f"{got // 1024} KiB reached the printer while it was not reading, "
            "the rest once it read again",
        )


def printer_off(plan: Plan, folder: Path) -> Row:
    count = plan.n(10, 4)
    waiting = sales_for("till1", 0, count)
    forgetting = sales_for("till2", 1, count)
    with rig(folder, ["till1", "till2"]) as r:
        r.daemon.start()
        for printer in r.printers.values():
            printer.switch_off()  # while the tills are idle, as a shop's printer is
        time.sleep(PRINTER_CHECK_S + 1.0)  # the daemon's next check of its printers
        for a, b in zip(waiting, forgetting, strict=True):
            r.send(a)
            r.send(b, style=send_fire_and_forget)
        told = sum(1 for a in r.attempts if a.sale.till == "till2" and a.outcome == PRINTED)
        r.finish()
        return Row(
            "printer switched off",
            r.verdict(waiting + forgetting),
            f"half the tills fire-and-forget (python-escpos Network): {told} of {count} "
            f"of those told printed; switched off {PRINTER_CHECK_S + 1:.0f} s before the sales "
            "(the daemon checks an idle printer every printer_check_s = 5 s)",
        )


def sqlite_deleted(plan: Plan, folder: Path) -> Row:
    before = sales_for("till1", 0, 3)
    after = sales_for("till1", 0, plan.n(10, 4), first=3)
    with rig(folder, ["till1"]) as r:
        r.daemon.start()
        for sale in before:
            r.send(sale)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{r.daemon.database}{suffix}").unlink(missing_ok=True)
        for sale in after:
            r.send(sale)
        r.daemon.stop()
        note = "the 3 sales before the deletion left out (their awards went with the file)"
        try:
            r.daemon.start()
            note += "; the next start started"
        except BenchError as error:
            note += f"; the next start refused: {str(error).splitlines()[0][:80]}"
        r.daemon.settle(10)
        r.daemon.stop()
        return Row("SQLite file deleted while running", r.verdict(after), note)


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[bool]:
    """A small tmpfs at ``path``; False when this machine does not let us mount one."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def database_read_only(plan: Plan, folder: Path) -> Row:
    # A remount read-only is refused (EBUSY) while the daemon holds the file open for
    # writing, and a file mode does not stop an open descriptor (nor root): the immutable
    # attribute (chattr +i) stops writes through descriptors already open.
    fault = "database made read-only"
    before = sales_for("till1", 0, 2)
    during = sales_for("till1", 0, plan.n(10, 4), first=2)
    with rig(folder, ["till1"]) as r:
        r.daemon.start()
        for sale in before:
            r.send(sale)
        # Not the WAL index (-shm): SQLite maps it, and a write to an immutable mapping is a
        # SIGBUS, which kills the daemon rather than testing it.
        files = [str(folder / n) for n in ("tillbridge.db", "tillbridge.db-wal")]
        if subprocess.run(["chattr", "+i", *files], capture_output=True).returncode:
            return Row(fault, None, "not measured: chattr +i refused (needs root, ext4 or xfs)")
        try:
            for sale in during:
                r.send(sale)
            time.sleep(READ_ONLY_FOR)  # past the daemon's first retry, while still read-only
        finally:
            subprocess.run(["chattr", "-i", *files], check=True)
        wait = 12.0  # over two of the daemon's 5 s retries
        time.sleep(wait)
        applied = ledger_awards(r.daemon.database)
        waiting = journal_numbers(r.daemon)
        now = sum(1 for s in during if applied.get(s.number))
        still = sum(1 for s in during if waiting.get(s.number))
        alive = r.daemon.alive()
        status = r.daemon.stop()
        r.daemon.start()
        r.daemon.settle(15)
        r.daemon.stop()
        return Row(
            fault,
            r.verdict(during),
            f"chattr +i on the database files for {READ_ONLY_FOR:.0f} s; {wait:.0f} s after "
            "they were writable again, "
            f"without a restart: {now} of {len(during)} applied, {still} journaled; daemon "
            f"{'alive' if alive else 'dead'}, its stop exited {status}; the counts are after "
            "a restart",
        )


def disk_full(plan: Plan, folder: Path) -> Row:
    fault = "disk full (tmpfs)"
    disk = folder / "disk"
    with tmpfs(disk, "8m") as mounted:
        if not mounted:
            return Row(fault, None, "not measured: cannot mount a tmpfs here (needs root)")
        before = sales_for("till1", 0, 2)
        during = sales_for("till1", 0, plan.n(10, 4), first=2)
        with rig(
            folder, ["till1"], database=disk / "tillbridge.db", journal=disk / "journal.jsonl"
        ) as r:
            r.daemon.start()
            for sale in before:
                r.send(sale)
            filler = disk / "filler"
            with filler.open("wb") as f, contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            for sale in during:
                r.send(sale)
            empty = [p.name for p in disk.rglob("*") if p.is_file() and p.stat().st_size == 0]
            filler.unlink()
            time.sleep(12)  # over two of the daemon's 5 s retries
            r.daemon.stop()
            r.daemon.start()
            r.daemon.settle(15)
            r.daemon.stop()
            return Row(
                fault,
                r.verdict(during),
                f"{len(empty)} empty files left while full; awards counted after the disk "
                "had room again and a restart",
            )


def tiny_cuts(plan: Plan, folder: Path) -> Row:
    size = plan.n(50_000, 20_000)
    flood = b"ABCDEFG\x1dV\x00" * (size // 10)  # a cut every 10 bytes
    sales = sales_for("till2", 1, plan.n(12, 6))
    with rig(folder, ["till1", "till2"]) as r:
        r.daemon.start()
        r.send(sales[0])  # the layout compiled: what follows measures the flood alone
        started = time.monotonic()
        flooding = threading.Thread(
            target=send_waiting, args=(r.port("till1"), flood, 120.0), daemon=True
        )
        flooding.start()
        time.sleep(0.05)
        waits = [r.send(sale).took for sale in sales[1:]]
        flooding.join(120)
        flood_took = time.monotonic() - started
        r.finish()
        slow = sum(1 for w in waits if w > 1.5)
        return Row(
            f"a cut every 10 bytes ({size // 1000} KB) on another till",
            r.verdict(sales),
            f"the other till's receipts: max {max(waits):.2f} s, {slow} over the 1.5 s hold "
            f"bound; the flood took {flood_took:.1f} s",
        )


def slow_grammar(plan: Plan, folder: Path) -> Row:
    # Joe's Diner's layout as an admin might edit it: the catch-all line with a nested
    # quantifier, which backtracks for minutes on a header line that holds no "#".
    folder.mkdir(parents=True, exist_ok=True)
    grammars = GRAMMAR_DIR
    shutil.copy(grammars / "common.lark", folder / "common.lark")
    text = (grammars / "diner_us.lark").read_text(encoding="utf-8")
    slow = text.replace("_LINE: /[^\\n]+/", "_LINE: /(?:[^\\n#]+)+#|[^\\n]+/")
    assert slow != text, "diner_us.lark has no catch-all _LINE to slow down"
    (folder / "slow_diner.lark").write_text(slow, encoding="utf-8")
    slow_sales = sales_for("slow", 0, plan.n(3, 2))
    sales = sales_for("fast", 1, plan.n(12, 6))
    with rig(folder, ["slow", "fast"]) as r:
        r.daemon.set_layout("slow", str(folder / "slow_diner.lark"))
        r.daemon.start()
        slowly = threading.Thread(target=lambda: [r.send(x) for x in slow_sales], daemon=True)
        slowly.start()
        time.sleep(0.2)
        waits = []
        for sale in sales:
            waits.append(r.send(sale).took)
            time.sleep(0.2)
        slowly.join(60)
        r.finish()
        return Row(
            "a slow admin grammar on one till",
            r.verdict(sales),
            f"counts for the other till (diner_us); its receipts took up to {max(waits):.1f} s",
        )


ROWS: list[Callable[[Plan, Path], Row]] = [
    random_kills,
    connect_kills,
    fresh_daemon,
    back_to_back,
    printer_resets,
    printer_stops_reading,
    printer_off,
    sqlite_deleted,
    database_read_only,
    disk_full,
    tiny_cuts,
    slow_grammar,
]

COLUMNS = (
    "sent",
    "printed whole",
    "failed visibly",
    "lied",
    "awarded once",
    "awarded twice",
    "earned unprinted",
    "lost",
    "by hand",
    "out of order",
)
SHORT = ("sent", "whole", "failed", "lied", "once", "twice", "unprinted", "lost", "hand", "order")


def table(rows: Sequence[Row]) -> str:
    width = max(len(r.fault) for r in rows)
    head = f"{'fault':<{width}} | " + " | ".join(f"{c:>5}" for c in SHORT)
    lines = [head, "-" * len(head)]
    for row in rows:
        if row.verdict is None:
            cells = " | ".join(f"{'-':>{max(5, len(c))}}" for c in SHORT)
        else:
            counts = row.verdict.row()
            cells = " | ".join(
                f"{counts[c]:>{max(5, len(s))}}" for c, s in zip(COLUMNS, SHORT, strict=True)
            )
        lines.append(f"{row.fault:<{width}} | {cells}")
    lines.append("")
    lines.append("columns: " + ", ".join(f"{s} = {c}" for s, c in zip(SHORT, COLUMNS, strict=True)))
    lines.append("(failed = attempts the till saw fail; the rest count sales)")
    lines.append("")
    for row in rows:
        if row.note:
            lines.append(f"- {row.fault}: {row.note}")
        if row.verdict is not None and row.verdict.broken:
            for line in row.verdict.broken[:3]:
                lines.append(f"    e.g. {line}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sales and kills")
    parser.add_argument("--seed", type=int, default=7, help="the torture rows' kill plan")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument("--only", default="", help="rows whose name holds this text")
    args = parser.parse_args()
    # SIGTERM as Ctrl-C: the finally blocks stop every daemon (each in its own session).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    plan = Plan(args.quick, args.seed, args.keep)
    top = Path(tempfile.mkdtemp(prefix="tillbridge-faults-"))
    rows: list[Row] = []
    began = time.monotonic()
    try:
        for number, make in enumerate(ROWS, 1):
            if args.only and args.only not in make.__name__.replace("_", " "):
                continue
            say(f"[{time.monotonic() - began:5.0f} s] {make.__name__}")
            LAST_STOPS.clear()
            row_began = time.monotonic()
            try:
                row = make(plan, top / f"{number:02d}-{make.__name__}")
                extra = [f"{time.monotonic() - row_began:.0f} s", *LAST_STOPS]
                row.note = "; ".join([row.note, *extra] if row.note else extra)
                rows.append(row)
            except (BenchError, OSError, subprocess.CalledProcessError) as error:
                first = str(error).splitlines()[0] if str(error) else repr(error)
                rows.append(Row(make.__name__.replace("_", " "), None, f"not measured: {first}"))
        print(table(rows))
        print(
            f"\n{time.monotonic() - began:.0f} s, load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
            + (f", state kept in {top}" if plan.keep else "")
        )
    finally:
        if not plan.keep:
            shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
