"""Parsing benchmarks: run ``python bench/parse_bench.py`` from the repository root.

Each section is a function returning result rows; ``main()`` prints them as one table.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from parsers.escpos.tokenizer import Tokenizer  # noqa: E402

Row = tuple[str, str, str]  # what, figure, detail

CHUNK = 4096  # about what one TCP read delivers
FIXTURES = ROOT / "fixtures"


def text_heavy_stream(size: int = 5_000_000, seed: int = 1) -> bytes:
    """Receipt-like text: 42-column lines, style and alignment commands between them, a cut
    every 40 lines."""
    rng = random.Random(seed)
    words = [b"BAGUETTE", b"CROISSANT", b"x2", b"12,50", b"TOTAL", b"EUR", b"IVA", b"0,99"]
    styles = [b"\x1bE\x01", b"\x1bE\x00", b"\x1ba\x01", b"\x1ba\x00", b"\x1d!\x11", b"\x1d!\x00"]
    parts: list[bytes] = [b"\x1b@\x1bt\x13"]
    total = 0
    line_no = 0
    while total < size:
        line = b" ".join(rng.choice(words) for _ in range(6))[:42].ljust(42)
        piece = rng.choice(styles) + line + b"\n"
        line_no += 1
        if line_no % 40 == 0:
            piece += b"\x1bd\x03\x1dVA\x03"
        parts.append(piece)
        total += len(piece)
    return b"".join(parts)


def raster_heavy_stream(size: int = 10_000_000, seed: int = 2) -> bytes:
    """GS v 0 images of random dots (so full of bytes that look like commands), a few lines of
    text between them."""
    rng = random.Random(seed)
    parts: list[bytes] = [b"\x1b@"]
    total = 0
    while total < size:
        width_bytes, height = 72, 400  # a 576-dot wide logo
        image = rng.randbytes(width_bytes * height)
        header = b"\x1dv0\x00" + bytes((width_bytes, 0, height % 256, height // 256))
        piece = header + image + b"\x1ba\x01Thank you for your visit\n\x1dV\x00"
        parts.append(piece)
        total += len(piece)
    return b"".join(parts)


def throughput(data: bytes, chunk: int = CHUNK, repeat: int = 3) -> tuple[float, int]:
    """Best MB/s over ``repeat`` runs, feeding ``chunk`` bytes at a time; and the event count."""
    best = float("inf")
    count = 0
    for _ in range(repeat):
        tokenizer = Tokenizer()
        count = 0
        start = time.perf_counter()
        for offset in range(0, len(data), chunk):
            count += len(tokenizer.feed(data[offset : offset + chunk]))
        count += len(tokenizer.close())
        best = min(best, time.perf_counter() - start)
    return len(data) / best / 1e6, count


def tokenizer_section() -> list[Row]:
    rows: list[Row] = []
    streams: list[tuple[str, Callable[[], bytes]]] = [
        ("tokenizer: text-heavy", text_heavy_stream),
        ("tokenizer: raster-heavy", raster_heavy_stream),
    ]
    for what, make in streams:
        data = make()
        mbps, events = throughput(data)
        rows.append((what, f"{mbps:.1f} MB/s", f"{len(data) / 1e6:.1f} MB, {events} events"))
    captures = sorted((ROOT / "fixtures").glob("**/*.bin"))
    if not captures:
        rows.append(("tokenizer: fixture corpus", "skipped", "no fixtures/**/*.bin yet"))
    else:
        data = b"".join(path.read_bytes() for path in captures)
        # The corpus is small: repeat it so the timing means something.
        data *= max(1, 5_000_000 // max(1, len(data)))
        mbps, events = throughput(data)
        detail = f"{len(captures)} captures, {len(data) / 1e6:.1f} MB repeated, {events} events"
        rows.append(("tokenizer: fixture corpus", f"{mbps:.1f} MB/s", detail))
    return rows


def receipt_latency_section(runs: int = 500) -> list[Row]:
    """Whole-receipt latency: bytes → tokenize → Document → grammar → Receipt, per receipt.

    This is the work done while a cut is held, so its p99 is what the printer may wait.
    """
    from parsers.layouts import Layout
    from parsers.pipeline import read_receipts

    rows: list[Row] = []
    for name, layout_name in (
        ("supermarket/sale_weekly_shop", "supermarket"),
        ("diner_us/sale_cash", "diner_us"),
        ("bakery_es/sale_customer_card", "bakery_es"),
        ("supermarket/sale_weekly_shop", "generic"),
    ):
        path = FIXTURES / f"{name}.bin"
        if not path.exists():
            continue
        data = path.read_bytes()
        layout = Layout.load(layout_name)
        results = read_receipts(data, layout)
        lines = len(results[0].document.lines)
        timings = []
        for _ in range(runs):
            start = time.perf_counter()
            read_receipts(data, layout)
            timings.append(time.perf_counter() - start)
        timings.sort()
        p50 = timings[len(timings) // 2] * 1000
        p99 = timings[int(len(timings) * 0.99)] * 1000
        rows.append(
            (
                f"receipt: {name} ({layout_name})",
                f"p50 {p50:.2f} ms  p99 {p99:.2f} ms",
                f"{lines} lines, {len(data)} bytes, {runs} runs",
            )
        )
    return rows


SECTIONS: list[Callable[[], list[Row]]] = [tokenizer_section, receipt_latency_section]


def main() -> None:
    rows = [row for section in SECTIONS for row in section()]
    widths = [max(len(row[k]) for row in rows) for k in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
