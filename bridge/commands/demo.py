"""``tillbridge demo``: the reading core on the shipped receipt captures, no hardware needed.

For one sale of each shipped layout it shows the receipt as it came out of the printer, then
what tillbridge read from it; then one line per capture of the whole corpus. (The daemon's
own demo, with a simulated till and a virtual printer, replaces this when the daemon lands.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bridge.commands.parse import render_table
from drivers.render.text import render_text
from parsers.layouts import Layout
from parsers.pipeline import read_receipts

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def run(args: argparse.Namespace) -> int:
    folder = Path(args.fixtures) if args.fixtures else FIXTURES
    captures = sorted(folder.glob("*/*.bin"))
    if not captures:
        print(f"tillbridge demo: no captures (*.bin) under {folder}", file=sys.stderr)
        return 2
    shown: set[str] = set()
    summary: list[str] = []
    for capture in captures:
        layout_name = _layout_of(capture)
        results = read_receipts(capture.read_bytes(), Layout.load(layout_name))
        for result in results:
            receipt = result.receipt
            if receipt is None:
                first_line = (result.error or "").splitlines()[0]
                summary.append(f"  {capture.parent.name}/{capture.name}: not read: {first_line}")
                continue
            total = f"{receipt.total} {receipt.currency or ''}".strip()
            customer = receipt.customer.value if receipt.customer else "-"
            summary.append(
                f"  {capture.parent.name}/{capture.name}: {receipt.kind.value:<8} "
                f"total {total:<14} items {len(receipt.items):>2}  customer {customer}"
            )
            if layout_name not in shown and receipt.kind.value == "sale" and not args.quiet:
                shown.add(layout_name)
                print(f"\n### {capture.parent.name}/{capture.name}: as printed\n")
                print(render_text(result.document))
                print(render_table(f"{capture.parent.name}/{capture.name}: as read", result))
    print(f"\n### every capture under {folder} ({len(captures)} files)\n")
    print("\n".join(summary))
    return 0


def _layout_of(capture: Path) -> str:
    expected = capture.with_suffix(".json")
    if expected.exists():
        return str(json.loads(expected.read_text(encoding="utf-8"))["layout"])
    return capture.parent.name
