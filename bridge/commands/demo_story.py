"""The demo's second part: the loyalty programme end to end, on one till.

A diner's till (python-escpos playing it, as in ``fixtures/tills/diner_us.py``) prints four
checks for one customer, known by phone, through a daemon running a small rules file: a
first sale; a second that brings the points to the $2 reward, so the receipt prints a
voucher with its code as a barcode; a third where the cashier types that code on a coupon
line, which redeems it; and a refund of the second check, naming it, which takes its points
back. The voucher's code is read off the printed receipt, as the customer's voucher would
be scanned. Pure demo: it needs the repository's ``fixtures/`` (the quick start has it).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
RULES = """\
# The demo's programme (docs/programme.md): a point a dollar, a $2 voucher at 20 points.
version = "demo"
timezone = "America/New_York"
tax = "excluded"

[policy]
reward_issue = "auto"
voucher_valid_days = 90
points_expire_after_months = 12

[[reward]]
id = "two_dollars"
points = 20
label = "$2 off your next visit"
value = "2.00"
"""
PHONE = "518-555-0111"
_CODE = re.compile(r"\b[2-9A-HJ-NP-Z]{3}-[2-9A-HJ-NP-Z]{3}-[2-9A-HJ-NP-Z]{3}\b")


@dataclass
class Step:
    title: str
    text: str = ""  # what the printer printed
    balance: int | None = None  # the customer's balance after it


def _checks() -> list[tuple[str, Callable[[str | None], bytes]]]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from fixtures.tills import diner_us as diner
    from parsers.receipt import Discount, Item, ReceiptKind

    def at(day: int, hour: int, minute: int) -> datetime:
        return datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo("America/New_York"))

    def check(receipt: Any, banner: str | None = None) -> bytes:
        return diner.print_check(diner.Check(receipt, table=3, banner=banner))

    pancakes = diner._item("Pancake Stack", 1, "9.50")
    eggs = diner._item("Eggs Benedict", 1, "13.75")
    coffee = diner._item("Coffee", 2, "2.50")
    return [
        (
            "1. a first breakfast: it earns",
            lambda _: check(
                diner.sale("5001", at(1, 8, 5), [pancakes, coffee], cash=Decimal(20), phone=PHONE)
            ),
        ),
        (
            "2. a second one reaches the $2 reward: a voucher is printed",
            lambda _: check(
                diner.sale("5002", at(2, 8, 10), [eggs], cash=Decimal(20), phone=PHONE)
            ),
        ),
        (
            "3. the cashier types the voucher's code on a coupon line: redeemed",
            lambda code: check(
                diner.sale(
                    "5003",
                    at(3, 8, 15),
                    [pancakes, coffee],
                    cash=Decimal(20),
                    phone=PHONE,
                    discounts=[Discount("COUPON", Decimal("-2.00"), voucher_code=code)],
                )
            ),
        ),
        (
            "4. a refund of the second check, naming it: its points are taken back",
            lambda _: check(
                diner.sale(
                    "5004",
                    at(3, 9, 0),
                    [Item("Eggs Benedict", Decimal("-13.75"))],
                    cash=Decimal(0),
                    phone=PHONE,
                    kind=ReceiptKind.REFUND,
                    original="5002",
                ),
                banner="*** REFUND ***",
            ),
        ),
    ]


async def run_story(reactor: Any, workdir: Path, text_of: Callable[[list[Any]], str]) -> list[Step]:
    """Run the four checks through a daemon of their own; what each printed."""
    from twisted.internet import task

    from bridge.config import TcpConnect, TcpListen, default_config
    from bridge.daemon import Daemon
    from bridge.link import LinkOptions
    from drivers.simulated_till import send_tcp
    from drivers.virtual_printer import VirtualPrinterFactory
    from parsers.receipt import CustomerKind, CustomerRef

    rules = workdir / "demo-programme.toml"
    rules.write_text(RULES, encoding="utf-8")
    base = default_config(workdir)
    printer = VirtualPrinterFactory(None, ("text",), keep_stream=True, language="en")
    port = printer.listen_tcp(reactor)
    till = replace(
        base.tills[0],
        name="diner",
        listen=TcpListen("127.0.0.1", 0),
        printer=TcpConnect("127.0.0.1", port.getHost().port),
        layout="diner_us",
        language="en",
    )
    config = replace(base, tills=(till,), loyalty=replace(base.loyalty, rules=rules))
    daemon = Daemon(config, reactor, link_options=LinkOptions(linger=0.2))
    await daemon.start()
    steps: list[Step] = []
    code: str | None = None
    customer = CustomerRef(CustomerKind.PHONE, PHONE.replace("-", ""))
    try:
        _, host, at_port = daemon.tills["diner"].address.split(":")
        for title, make in _checks():
            data = make(code)
            before = len(printer.receipts)
            await send_tcp(reactor, host, int(at_port), data)
            deadline = reactor.seconds() + 10
            while len(printer.receipts) == before or printer.connections:
                if reactor.seconds() > deadline:
                    raise TimeoutError(f"{title}: the virtual printer did not get the check")
                await task.deferLater(reactor, 0.01, lambda: None)
            await daemon.desk.in_thread(lambda: None)  # the award recorded
            step = Step(title, text_of(printer.receipts[before:]))
            step.balance = await daemon.desk.balance(customer)
            found = _CODE.findall(step.text)
            if code is None and found:
                code = found[-1]
            steps.append(step)
    finally:
        await daemon.stop()
        await port.stopListening()
    return steps
