"""The interceptor's cost per byte: run ``python bench/session_bench.py`` from the repository
root.

A till's reads go through ``Session.from_till`` on the reactor, so a read that costs more than
its size stalls every till. Each row feeds 64 KiB of till bytes (in one read, or in 1 KiB
reads) in inject mode and answers every receipt right after the read that ended it, as the
shell would once the handler has answered. The figure is the best of a few runs, in ns per
byte and per event: what the reactor spends on the session and the tokenizer, builder and state
tracking behind it (the handler's own work is not counted). Every read should be linear in its
input: the cost per event about the same for tiny receipts as for large ones, and one read
about the same per byte as 1 KiB reads.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.session import Session, SessionConfig  # noqa: E402
from parsers.escpos.tokenizer import tokenize  # noqa: E402

SIZE = 64 * 1024
MESSAGE = b"\x1bt\x00Balance 120 points\n"
LARGE = ROOT / "fixtures" / "bakery_es" / "sale_customer_card.bin"


def tiny_receipts(size: int = SIZE) -> bytes:
    """A cut every 10 bytes: ``A 1.00`` LF, then GS V 1."""
    receipt = b"A 1.00\n\x1dV\x01"
    return receipt * (size // len(receipt))


def large_receipts(size: int = SIZE) -> bytes:
    """The bakery's 5.4 kB sale (lines, styles, a barcode, a cut, a drawer kick) repeated."""
    receipt = LARGE.read_bytes()
    return (receipt * (size // len(receipt) + 1))[:size]


def tab_line(size: int = SIZE) -> bytes:
    """One line of ``a`` HT ``a`` HT ... with no LF until the end, then a cut."""
    return b"a\t" * ((size - 4) // 2) + b"\n\x1dV\x01"


def long_lines(size: int = SIZE) -> bytes:
    """Lines of 4,000 characters, a cut after every fourth."""
    receipt = (b"x" * 3999 + b"\n") * 4 + b"\x1dV\x01"
    return (receipt * (size // len(receipt) + 1))[:size]


def run_once(data: bytes, read: int) -> tuple[float, int, int]:
    """Seconds spent in the session, receipts requested, bytes out."""
    session = Session(SessionConfig(max_held_bytes=1 << 30))
    spent = 0.0
    requests = 0
    out = 0
    for offset in range(0, len(data), read):
        start = time.perf_counter()
        output = session.from_till(data[offset : offset + read], 0.0)
        out += len(output.to_printer)
        for request in output.requests:
            out += len(session.handled(request.receipt_id, MESSAGE, 0.0).to_printer)
        spent += time.perf_counter() - start
        requests += len(output.requests)
    start = time.perf_counter()
    out += len(session.till_closed(0.0).to_printer)
    spent += time.perf_counter() - start
    return spent, requests, out


def measure(data: bytes, read: int, repeat: int) -> tuple[float, int]:
    best = float("inf")
    requests = 0
    for _ in range(repeat):
        spent, requests, _out = run_once(data, read)
        best = min(best, spent)
    return best, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=SIZE, help="bytes per stream")
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    for what, data in (
        ("tiny receipts (a cut every 10 bytes)", tiny_receipts(args.size)),
        ("large receipts (5.4 kB each)", large_receipts(args.size)),
        ("one line of tabs", tab_line(args.size)),
        ("4,000-character lines", long_lines(args.size)),
    ):
        events = len(tokenize(data))
        reads = (1,) if what.startswith("4,000") else (len(data), 1024)
        for read in reads:
            spent, requests = measure(data, read, args.repeat)
            label = "one read" if read == len(data) else f"{read} B reads"
            label = "1-byte reads" if read == 1 else label
            rows.append(
                (
                    f"session: {what}, {label}",
                    f"{spent / len(data) * 1e9:.0f} ns/B  {spent / events * 1e6:.1f} us/event",
                    f"{len(data)} B, {events} events, {requests} receipts, {spent * 1000:.1f} ms",
                )
            )
    widths = [max(len(row[k]) for row in rows) for k in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
