"""The parse pool in the daemon, end to end with real parts: receipts sent the moment a fresh
daemon listens, a till whose admin grammar backtracks catastrophically beside one that does not,
a receipt read too late for its message. Real TCP on 127.0.0.1, virtual printers, a real SQLite
file, real worker processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task

from bridge.config import TcpConnect, TcpListen, default_config
from bridge.daemon import Daemon
from bridge.link import LinkOptions
from drivers.simulated_till import send_tcp
from drivers.virtual_printer import VirtualPrinterFactory
from tests.bridge.daemon_harness import (
    Balances,
    Rig,
    TillSpec,
    capture,
    check_inject,
    holding,
    until,
    within,
)

# The line regex tries every way of splitting a run of word characters with no colon after it:
# 40 characters take days (tests/bridge/test_parse_worker.py).
SLOW_GRAMMAR = """\
//@ description: a layout whose line regex backtracks catastrophically
start: LINE+
LINE: /(\\w+\\s?)+:\\n/
"""
STUCK_RECEIPT = b"\x1b@" + b"a" * 40 + b"\n\n\n" + b"\x1dV\x00"  # ESC @, text, feeds, GS V 0
SALE = capture("diner_us/sale_card_tip")
RigMaker = Callable[..., Awaitable[Rig]]


def sale(number: int) -> Any:
    """Joe's Diner's card sale under another check number: another sale, same customer."""
    return SALE.renumbered("4822", f"{number:04d}")


def build_rig(workdir: Path, tills: Sequence[TillSpec], **settings: Any) -> Rig:
    """As ``daemon_harness.start_rig``, with top-level config ``settings``, not started."""
    base = default_config(workdir)
    printers: dict[str, VirtualPrinterFactory] = {}
    closers: list[Callable[[], Any]] = []
    configs = []
    for spec in tills:
        printer = VirtualPrinterFactory(None, (), keep_stream=True, reactor=reactor)
        port = printer.listen_tcp(reactor)
        closers.append(port.stopListening)
        printers[spec.name] = printer
        configs.append(
            replace(
                base.tills[0],
                name=spec.name,
                listen=TcpListen("127.0.0.1", 0),
                printer=TcpConnect("127.0.0.1", port.getHost().port),
                layout=spec.layout,
                mode=spec.mode,
                max_hold_ms=spec.max_hold_ms,
            )
        )
    config = replace(base, tills=tuple(configs), **settings)
    daemon = Daemon(config, reactor, link_options=LinkOptions(linger=0.2))
    return Rig(reactor, workdir, daemon, printers, closers)


@pytest_twisted.async_yield_fixture
async def rigs(tmp_path: Path) -> AsyncIterator[Callable[..., Rig]]:
    made: list[Rig] = []

    def make(*tills: TillSpec, **settings: Any) -> Rig:
        rig = build_rig(tmp_path, tills, **settings)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        await rig.close()


@pytest.fixture
def slow_layout(tmp_path: Path) -> str:
    path = tmp_path / "slow.lark"
    path.write_text(SLOW_GRAMMAR, encoding="utf-8")
    return str(path)


def port_of(rig: Rig, till: str) -> int:
    return rig.till_port(till)


@pytest_twisted.ensureDeferred
async def test_sales_sent_the_moment_a_fresh_daemon_listens_are_all_awarded_once(
    rigs: Callable[..., Rig],
) -> None:
    # Three layouts to compile at the start, so the sales come while they still compile.
    rig = rigs(
        TillSpec("diner"), TillSpec("bakery", layout="bakery_es"), TillSpec("any", "generic")
    )
    started = defer.ensureDeferred(rig.daemon.start())
    await until(reactor, lambda: "any" in rig.daemon.tills, "the tills to listen")
    port = port_of(rig, "diner")
    sales = [sale(5000 + n) for n in range(25)]
    sent = [defer.ensureDeferred(send_tcp(reactor, "127.0.0.1", port, s.data)) for s in sales]
    assert not started.called  # the layouts are still compiling
    await within(reactor, started, "the daemon to start", timeout=60)
    await within(reactor, defer.gatherResults(sent), "the 25 sales to print", timeout=60)
    handler = rig.daemon.tills["diner"].handler
    assert handler is not None
    await until(reactor, lambda: handler.awarded == 25, "25 awards", timeout=60)
    (insertion,) = SALE.insertions()
    assert insertion.customer is not None
    assert await rig.balance(insertion.customer) == 25 * insertion.points
    assert (handler.read, handler.unread) == (25, 0)
    assert not (rig.workdir / "unread").exists()


@pytest_twisted.ensureDeferred
async def test_a_till_with_a_catastrophic_grammar_costs_the_other_till_nothing(
    rigs: Callable[..., Rig], slow_layout: str
) -> None:
    """The slow till's parses are stuck until killed (3 s); the diner's hold is 1.5 s, so a
    diner sale that waited behind one of them would print without its message."""
    rig = rigs(TillSpec("diner"), TillSpec("slow", layout=slow_layout), parse_timeout_ms=3000)
    await rig.daemon.start()
    balances = Balances()
    first = sale(6000)
    check_inject(first, (await rig.send("diner", first.data)).data, balances)
    slow_port = port_of(rig, "slow")
    stuck = [
        defer.ensureDeferred(send_tcp(reactor, "127.0.0.1", slow_port, STUCK_RECEIPT))
        for _ in range(3)
    ]
    # Twelve sales over about seven seconds: while a stuck parse runs, while its process is
    # killed and replaced, and while the next stuck one runs.
    for n in range(1, 13):
        each = sale(6000 + n)
        printed = await rig.send("diner", each.data)
        check_inject(each, printed.data, balances)
        await task.deferLater(reactor, 0.5, lambda: None)
    await within(reactor, defer.gatherResults(stuck), "the slow till's receipts", timeout=30)
    diner = rig.daemon.tills["diner"].handler
    slow = rig.daemon.tills["slow"].handler
    assert diner is not None and slow is not None
    assert (diner.read, diner.awarded, diner.unread, diner.read_late) == (13, 13, 0, 0)
    (insertion,) = SALE.insertions()
    assert insertion.customer is not None
    assert await rig.balance(insertion.customer) == 13 * insertion.points
    await until(reactor, lambda: slow.unread == 3, "the stuck receipts to be kept", timeout=30)
    kept = sorted((rig.workdir / "unread" / "slow").glob("*.why"))
    assert len(kept) == 3
    for why in kept:
        assert "ParseTimeout" in why.read_text(encoding="utf-8")
    assert rig.daemon.worker.killed == 3
    assert rig.daemon.tills["diner"].link.released_unanswered == 0


@pytest_twisted.ensureDeferred
async def test_a_receipt_read_after_its_hold_ended_is_awarded_and_counted(
    rigs: Callable[..., Rig], slow_layout: str, caplog: pytest.LogCaptureFixture
) -> None:
    """One worker, busy with a stuck parse: the diner's sale waits for it (never killed for
    waiting), prints without its message at max_hold, and is awarded once it is read."""
    rig = rigs(
        TillSpec("diner", max_hold_ms=300),
        TillSpec("slow", layout=slow_layout),
        parse_workers=1,
        parse_timeout_ms=2000,
    )
    await rig.daemon.start()
    stuck = defer.ensureDeferred(
        send_tcp(reactor, "127.0.0.1", port_of(rig, "slow"), STUCK_RECEIPT)
    )
    await until(reactor, lambda: holding(rig, "slow"), "the stuck receipt to be held")
    late = sale(7000)
    printed = await rig.send("diner", late.data)
    assert printed.data == late.data  # released at max_hold: no message
    diner = rig.daemon.tills["diner"].handler
    assert diner is not None
    await until(reactor, lambda: diner.awarded == 1, "the late award")
    (insertion,) = SALE.insertions()
    assert insertion.customer is not None
    assert await rig.balance(insertion.customer) == insertion.points
    assert (diner.read_late, diner.unread) == (1, 0)
    await within(reactor, stuck, "the slow till's receipt")
    # Resent, the same sale earns nothing more: its award was made once.
    again = await rig.send("diner", late.data)
    balances = Balances()
    balances.after(late.insertions()[0])
    check_inject(late, again.data, balances)
    assert await rig.balance(insertion.customer) == insertion.points
    with caplog.at_level("INFO", logger="bridge.daemon"):
        rig.daemon.log_stats()
    assert any(
        "till diner:" in m and "1 read too late for a message" in m for m in caplog.messages
    ), caplog.messages


@pytest_twisted.ensureDeferred
async def test_a_read_pending_when_the_daemon_stops_is_left_in_the_inbox_not_unread(
    rigs: Callable[..., Rig], slow_layout: str
) -> None:
    """A stop is no fault of the receipt's: it waits in the inbox for the next start instead
    of in unread/, where only a hand could award it."""
    rig = rigs(TillSpec("slow", layout=slow_layout, max_hold_ms=300), parse_timeout_ms=60_000)
    await rig.daemon.start()
    sent = defer.ensureDeferred(send_tcp(reactor, "127.0.0.1", port_of(rig, "slow"), STUCK_RECEIPT))
    await within(reactor, sent, "the receipt to print, released at max_hold")
    await until(reactor, lambda: rig.pairing("slow") is None, "the till's link to end")
    await rig.daemon.stop()
    (left,) = (rig.workdir / "inbox" / "slow").glob("*.stream")
    assert left.read_bytes() == STUCK_RECEIPT
    assert not (rig.workdir / "unread").exists()
