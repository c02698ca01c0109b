"""``tillbridge parse FILE... [--layout NAME|PATH.lark] [--json] [--timeout S]``: what
captures contain. ``--show-text``: the text a grammar reads, instead (``show_text.py``).

Each file is read in a child process under a deadline (``--timeout``, 20 s by default): an
admin's grammar that backtracks for minutes ends in a clear message, not a hung terminal.
A file that is not an ESC/POS capture (text with no ESC/POS command and no cut, such as a
README) is refused, not read as a sale.

Exit status: 0 when every receipt of every file was read, 1 when one was not (its error, which
says where to look, goes to standard error prefixed by the file name), was read with problems
(no total, sums that disagree, a customer label with no number: it would earn nothing), or a
file is not a capture or took too long, 2 for a file that cannot be read or a layout that does
not exist or does not compile.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from typing import Any

from bridge.commands.reading import (
    DEFAULT_TIMEOUT,
    LayoutProblem,
    Read,
    Reader,
    ReaderFailed,
    ReadTimeout,
    load_layout,
    open_capture,
)
from bridge.commands.trace_view import render_trace
from bridge.safe_text import json_safe
from parsers.receipt import Receipt

_PROG = "tillbridge parse"


def run(args: argparse.Namespace) -> int:
    if getattr(args, "show_text", False):
        from bridge.commands.show_text import show_text

        return show_text(args.files)
    timeout = getattr(args, "timeout", None) or DEFAULT_TIMEOUT
    with Reader(timeout) as reader:
        return _run(args, reader)


def _run(args: argparse.Namespace, reader: Reader) -> int:
    layout: str | None = None
    if args.layout:
        if not load_layout(reader, args.layout, _PROG):
            return 2
        layout = args.layout  # a path stays a path for the child
    status = 0
    dumped: list[dict[str, Any]] = []
    for name in args.files:
        data = open_capture(name, _PROG)
        if isinstance(data, int):  # said on stderr
            if data == 2:
                return 2
            status = 1
            continue
        try:
            results = reader.read(data, layout, trace=getattr(args, "trace", False))
        except LayoutProblem as error:
            print(f"{_PROG}: {error}", file=sys.stderr)
            return 2
        except (ReadTimeout, ReaderFailed) as error:
            print(f"{name}: not read: {error}", file=sys.stderr)
            status = 1
            continue
        if not results:
            print(f"{name}: no receipt text in this capture", file=sys.stderr)
        for index, result in enumerate(results, 1):
            where = f"{name} #{index}" if len(results) > 1 else name
            if result.trace is not None:
                print(f"== {where}  (layout {result.layout})\n{render_trace(*result.trace)}")
            if result.receipt is None:
                status = 1
                print(f"{where}: {result.error}", file=sys.stderr)
                continue
            if args.json:
                dumped.append(result.receipt.to_dict())
            else:
                print(render_table(where, result))
            if result.receipt.problems:  # shown, but not read well enough to earn points
                status = 1
                print(f"{where}: not read: {'; '.join(result.receipt.problems)}", file=sys.stderr)
    if args.json:
        print(json_safe(json.dumps(dumped, indent=2, ensure_ascii=False)))
    return status


def render_table(title: str, result: Read) -> str:
    """A receipt as a person reads it: header, lines, sums, payment, customer, problems."""
    receipt = result.receipt
    assert receipt is not None
    out = [f"== {title}  (layout {result.layout})"]
    header = [
        ("kind", receipt.kind.value),
        ("store", receipt.store),
        ("till", receipt.till),
        ("number", receipt.number),
        ("issued at", receipt.issued_at.isoformat() if receipt.issued_at else None),
        ("currency", receipt.currency),
    ]
    out += [f"  {label:<10} {value}" for label, value in header if value is not None]
    if receipt.items:
        out.append("  items:")
        for item in receipt.items:
            unit = f" x {_m(item.unit_price)}" if item.unit_price is not None else ""
            sku = f"  [{item.sku}]" if item.sku else ""
            qty = f"{item.qty}{unit}"
            out.append(f"    {qty:>14}  {item.name:<28} {_m(item.amount):>10}{sku}")
    for discount in receipt.discounts:
        code = f"  [{discount.voucher_code}]" if discount.voucher_code else ""
        out.append(f"  discount  {discount.label:<34} {_m(discount.amount):>10}{code}")
    sums = [("subtotal", receipt.subtotal), ("tip", receipt.tip), ("total", receipt.total)]
    out += [f"  {label:<44} {_m(value):>10}" for label, value in sums if value is not None]
    for tax in receipt.taxes:
        base = f" on {_m(tax.base)}" if tax.base is not None else ""
        on_top = "" if receipt.tax_included else " (added)"
        label = f"tax {tax.label or ''} {tax.rate}%{base}{on_top}"
        out.append(f"  {label:<44} {_m(tax.amount):>10}")
    for tender in receipt.tenders:
        out.append(f"  paid {tender.method:<39} {_m(tender.amount):>10}")
    if receipt.change is not None:
        out.append(f"  {'change':<44} {_m(receipt.change):>10}")
    if receipt.customer:
        out.append(f"  customer  {receipt.customer.kind.value} {receipt.customer.value}")
    out.append(_problems(receipt))
    return "\n".join(out)


def _problems(receipt: Receipt) -> str:
    if not receipt.problems:
        return "  consistent: yes"
    return "  problems:\n" + "\n".join(f"    - {p}" for p in receipt.problems)


def _m(value: Decimal | None) -> str:
    return (
        ""
        if value is None
        else f"{value:,.2f}"
        if value == value.quantize(Decimal("0.01"))
        else str(value)
    )
