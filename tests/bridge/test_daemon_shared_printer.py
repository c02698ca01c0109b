"""The daemon in front of a printer that is one printer for all its connections (the virtual
printer's shared mode): a till that opens a connection per receipt sends sales back to back,
and what comes out of the one paper is each receipt whole, in order, with its own message."""

from __future__ import annotations

from dataclasses import replace

import pytest_twisted
from twisted.internet import reactor, threads

from tests.bridge.daemon_harness import (
    Balances,
    RigMaker,
    TillSpec,
    capture,
    check_inject,
    escpos_network_till,
    until,
    within,
)


def sales_back_to_back(port: int, sales: list[bytes]) -> None:
    """python-escpos's ``Network`` as the till: a connection per sale, each closed as soon as
    its bytes are written, the next opened at once (blocking: run it in a thread)."""
    for data in sales:
        escpos_network_till(port, data)


@pytest_twisted.ensureDeferred
async def test_a_connection_per_receipt_prints_each_sale_whole_with_its_own_message(
    rigs: RigMaker,
) -> None:
    rig = await rigs(TillSpec("diner"))
    printer = rig.printers["diner"]
    assert printer.shared
    first = capture("diner_us/sale_card_tip")
    second = first.renumbered("4822", "4899")  # the same customer: the balance adds up
    await threads.deferToThread(
        sales_back_to_back, rig.till_port("diner"), [first.data, second.data]
    )
    receipts = await within(reactor, printer.wait_for_receipts(2), "both receipts")
    await until(reactor, lambda: not printer.connections, "the printer to close its side")
    assert rig.daemon.tills["diner"].link.connections == 2

    # The paper: each sale's bytes, with one message at its own cut, in the order sold.
    both = replace(first, receipts=first.receipts + second.receipts, raw=first.data + second.data)
    messages = check_inject(both, bytes(rig.stream("diner")), Balances())
    assert len(messages) == 2
    # The receipts as the printer cut them: whole, in order, each with its own message.
    assert len(printer.receipts) == 2
    assert [r.raw for r in receipts] == [r.raw for r in printer.receipts]
    points = first.insertions()[0].points
    for receipt, number, balance, message in zip(
        receipts, ("4822", "4899"), (points, 2 * points), messages, strict=True
    ):
        text = receipt.document.text()
        assert f"#{number}" in text and receipt.document.cut
        assert f"Balance: {balance}" in text
        assert message in receipt.raw
        assert receipt.raw.index(message) < receipt.raw.rindex(b"\x1dV")  # before its cut
    assert b"".join(r.raw for r in receipts) == bytes(rig.stream("diner"))
