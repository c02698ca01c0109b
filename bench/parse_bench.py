"""Parsing benchmarks: run ``python bench/parse_bench.py`` from the repository root.

Each section is a function returning result rows; ``main()`` prints them as one table.
``python bench/parse_bench.py generic`` runs the generic layout's section only: the shop's own
layout and the generic layout side by side (shop / generic) at 20, 60 and 200 lines.
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


def _timed(call: Callable[[], object], runs: int) -> tuple[float, float]:
    """p50 and p99 of ``call`` in milliseconds."""
    call()  # compile and warm the caches first
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        timings.append(time.perf_counter() - start)
    timings.sort()
    return timings[len(timings) // 2] * 1000, timings[int(len(timings) * 0.99)] * 1000


def _shop_receipt(layout: str, lines: int) -> bytes:
    """A receipt of about ``lines`` printed lines from a fixture till, read by its own layout
    (the diner's check grows one line per item; the supermarket's two, from 32 lines)."""
    from datetime import datetime
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from parsers.document import build_documents
    from parsers.escpos.tokenizer import tokenize

    def printed(items: int) -> bytes:
        if layout == "diner_us":
            from fixtures.tills import diner_us as d

            check = d.sale(
                "4821",
                datetime(2026, 11, 14, 19, 42, tzinfo=ZoneInfo("America/New_York")),
                [d._item(f"Plate number {i}", 1 + i % 3, "7.25") for i in range(items)],
                cash=Decimal("99999.00"),
            )
            return d.print_check(d.Check(check))
        from fixtures.tills import supermarket as m

        goods = [
            (m.item(f"Artikel {i}", m.ean13(f"40000000{i:04d}"), "1.19", "1"), "AB"[i % 2])
            for i in range(items)
        ]
        return m.print_bon(m.bon("1", m._at(14, 18, 0, 0), goods, cash=Decimal("99999.00")))

    items = 1
    while True:
        data = printed(items)
        if len(build_documents(tokenize(data))[0].lines) >= lines:
            return data
        items += 1


def generic_section(runs: int = 300, sizes: tuple[int, ...] = (20, 60, 200)) -> list[Row]:
    """The generic layout against a shop's own layout on the same receipt, as it grows:
    bytes to Receipt (what the held cut waits for) and the layout's own part (text to
    Receipt)."""
    from parsers.layouts import Layout
    from parsers.pipeline import read_receipts

    rows: list[Row] = []
    generic = Layout.load("generic")
    for shop_name in ("diner_us", "supermarket"):
        shop = Layout.load(shop_name)
        for size in sizes:
            if shop_name == "supermarket" and size < 32:
                continue  # its header, sums and footer alone are 32 lines
            data = _shop_receipt(shop_name, size)
            (result,) = read_receipts(data, shop)
            text = result.document.text()
            lines = len(result.document.lines)
            assert generic.parse_text(text).total == shop.parse_text(text).total
            figures = []
            for layout in (shop, generic):
                read = _timed(lambda lay=layout, d=data: read_receipts(d, lay), runs)
                parse = _timed(lambda lay=layout, t=text: lay.parse_text(t), runs)
                figures.append((read, parse))
            (shop_read, shop_parse), (gen_read, gen_parse) = figures
            rows.append(
                (
                    f"generic vs {shop_name}: {lines} lines",
                    f"read p50 {shop_read[0]:.2f} / {gen_read[0]:.2f} ms  "
                    f"p99 {shop_read[1]:.2f} / {gen_read[1]:.2f} ms  "
                    f"x{gen_read[0] / shop_read[0]:.2f}",
                    f"parse p50 {shop_parse[0]:.2f} / {gen_parse[0]:.2f} ms  "
                    f"p99 {shop_parse[1]:.2f} / {gen_parse[1]:.2f} ms  "
                    f"x{gen_parse[0] / shop_parse[0]:.2f}  ({runs} runs)",
                )
            )
    return rows


SECTIONS: list[Callable[[], list[Row]]] = [
    tokenizer_section,
    receipt_latency_section,
    generic_section,
]


def main() -> None:
    # "python bench/parse_bench.py generic" runs only the sections whose name holds "generic"
    chosen = [s for s in SECTIONS if not sys.argv[1:] or any(a in s.__name__ for a in sys.argv[1:])]
    rows = [row for section in chosen for row in section()]
    widths = [max(len(row[k]) for row in rows) for k in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
