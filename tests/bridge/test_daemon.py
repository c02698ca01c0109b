"""The daemon end to end, with real parts: ``bridge.daemon.Daemon`` on the test reactor, tills
and virtual printers over real TCP on 127.0.0.1 (and pseudo-terminals), python-escpos as the
till, a real SQLite file (or PostgreSQL), the parse worker process, the journal; and the
``tillbridge run`` and ``demo`` commands as subprocesses. Helpers in ``daemon_harness``."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_twisted
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import defer, error, reactor, threads

from bridge.config import SerialPortConfig, TcpConnect
from bridge.session import EndOfReceipt, Mode
from drivers.simulated_till import PtyPair, send_tcp
from drivers.virtual_printer import Conditions, VirtualPrinterFactory
from drivers.virtual_printer.status import real_time_status
from parsers.receipt import CustomerRef
from tests.bridge.daemon_harness import (
    CONFIG,
    DLE_EOT_1,
    REPO,
    Balances,
    Capture,
    DroppingPrinter,
    NullModem,
    RawTill,
    Rig,
    RigMaker,
    TillSpec,
    WriteLock,
    capture,
    captures,
    check_inject,
    database_path,
    escpos_api_check,
    escpos_network_till,
    escpos_serial_till,
    free_port,
    holding,
    split_messages,
    until,
    within,
)

READY = real_time_status(1, Conditions())  # a ready printer's answer to DLE EOT 1
LAYOUTS = sorted({c.layout for c in captures()})


# --- 1. byte-exactness, every capture ----------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.PASSTHROUGH, Mode.OBSERVE, Mode.INJECT])
@pytest_twisted.ensureDeferred
async def test_every_capture_prints_byte_exact_or_with_one_message_per_sale(
    rigs: RigMaker, mode: Mode
) -> None:
    rig = await rigs(*(TillSpec(layout, layout=layout, mode=mode) for layout in LAYOUTS))
    balances = Balances()
    injected = 0
    for each in captures():
        printed = await rig.send(each.layout, each.data)
        if mode is Mode.INJECT:
            injected += len(check_inject(each, printed.data, balances))
        else:
            assert printed.data == each.data, f"{each.name}: not byte-exact in {mode.value}"
    if mode is Mode.INJECT:
        assert injected == sum(len(c.insertions()) for c in captures()) >= 20
    if mode is Mode.OBSERVE:
        # Nothing printed, but every sale awarded, once.
        expected: dict[str, tuple[CustomerRef, int]] = {}
        for each in captures():
            for insertion in each.insertions():
                if insertion.customer is not None:
                    points = balances.after(insertion)
                    expected[insertion.customer.value] = (insertion.customer, points)
        assert len(expected) >= 4
        for customer, points in expected.values():
            await until_balance(rig, customer, points)


# --- 2. random streams and chunkings --------------------------------------------------------

SMALL_CAPTURES = [c.data for c in captures() if len(c.data) < 2000]
streams = st.one_of(
    st.binary(max_size=3000),
    st.lists(st.sampled_from(SMALL_CAPTURES), min_size=1, max_size=3).map(b"".join),
    # Captures glued to random bytes: a receipt's end mid-command, a stray prefix byte.
    st.tuples(st.binary(max_size=40), st.sampled_from(SMALL_CAPTURES), st.binary(max_size=40)).map(
        b"".join
    ),
)


@pytest.mark.parametrize("mode", [Mode.OBSERVE, Mode.PASSTHROUGH])
@pytest_twisted.ensureDeferred
async def test_random_streams_in_random_chunks_print_byte_exact(rigs: RigMaker, mode: Mode) -> None:
    rig = await rigs(TillSpec("t", layout="diner_us", mode=mode))

    @settings(max_examples=15, deadline=None, database=None)
    @given(streams, st.lists(st.integers(0, 6000), max_size=8))
    def check(data: bytes, cuts: list[int]) -> None:
        # Hypothesis runs in a thread; each example runs on the reactor and is waited for.
        printed = threads.blockingCallFromThread(
            reactor, lambda: defer.ensureDeferred(rig.send_chunks("t", data, cuts))
        )
        assert printed == data

    await threads.deferToThread(check)


# --- 3. python-escpos as the till ------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_escpos_network_till_gets_its_points_printed(rigs: RigMaker) -> None:
    rig = await rigs(TillSpec("diner"))
    port = rig.till_port("diner")
    sale = capture("diner_us/sale_card_tip")
    stream = rig.stream("diner")
    await threads.deferToThread(escpos_network_till, port, sale.data)
    await until(
        reactor,
        lambda: len(stream) > len(sale.data) and not rig.printers["diner"].connections,
        "the receipt and its message",
    )
    balances = Balances()
    check_inject(sale, bytes(stream), balances)
    # The same till building a check with python-escpos's text()/set()/cut(): another sale
    # for the same customer, so the balance adds up.
    start = len(stream)
    await threads.deferToThread(escpos_api_check, port, "4901")
    await until(
        reactor,
        lambda: b"Balance: " in stream[start:] and not rig.printers["diner"].connections,
        "the built receipt and its message",
    )
    printed = bytes(stream[start:])
    assert printed.count(b"Balance: ") == 1
    customer = sale.insertions()[0].customer
    assert customer is not None
    both = await rig.balance(customer)
    assert both == 2 * sale.insertions()[0].points
    assert f"Balance: {both}".encode() in printed
    assert printed.index(b"Balance: ") < printed.rindex(b"\x1dV")  # before the cut


@pytest_twisted.ensureDeferred
async def test_escpos_serial_till_through_a_null_modem_to_a_serial_printer(
    rigs: RigMaker,
) -> None:
    printer = VirtualPrinterFactory(None, (), keep_stream=True, reactor=reactor)
    printer_path, pty_printer = printer.serve_pty(reactor)
    bridge_end, till_end = PtyPair(), PtyPair()
    cable = NullModem(reactor, bridge_end, till_end)
    try:
        rig = await rigs(
            TillSpec(
                "serial",
                listen=SerialPortConfig(bridge_end.path, 115200),
                printer=SerialPortConfig(printer_path, 115200),
            )
        )
    except BaseException:
        cable.close()
        raise
    # Stopped after the daemon (rig.close): the cable, then the pseudo-terminals.
    rig.closers += [pty_printer.close, bridge_end.close, till_end.close, cable.close]
    rig.printers["serial"] = printer
    sale = capture("diner_us/sale_card_tip")
    stream = rig.stream("serial")
    await threads.deferToThread(escpos_serial_till, till_end.path, sale.data)
    await until(
        reactor,
        lambda: len(stream) > len(sale.data) and len(printer.receipts) == 1,
        "the receipt and its message on the serial printer",
    )
    check_inject(sale, bytes(stream), Balances())


@pytest_twisted.ensureDeferred
async def test_a_serial_till_whose_device_comes_and_goes_is_served_whenever_it_is_there(
    rigs: RigMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A USB serial adapter plugged in after the daemon started, then unplugged and plugged in
    again: retried, and served whenever it is there."""
    import bridge.daemon

    monkeypatch.setattr(bridge.daemon, "SERIAL_RETRY", 0.2)
    device = tmp_path / "ttyUSB-till"  # not there yet
    pair = PtyPair()
    rig = await rigs(TillSpec("serial", listen=SerialPortConfig(str(device), 115200)))
    rig.closers.append(pair.close)
    assert not rig.daemon.tills["serial"].link.pairings  # nothing to open yet
    device.symlink_to(pair.path)  # plugged in
    link = rig.daemon.tills["serial"].link
    await until(reactor, lambda: bool(link.pairings), "the device to be opened")
    sale = capture("diner_us/sale_card_tip")
    stream = rig.stream("serial")
    os.write(pair.master, sale.data)
    await until(reactor, lambda: len(stream) > len(sale.data), "the receipt and its message")
    balances = Balances()
    check_inject(sale, bytes(stream), balances)
    # Unplugged (the line hangs up), then plugged in again as another device node.
    first = len(stream)
    os.close(pair.master)
    pair.close()
    await until(reactor, lambda: not link.pairings, "the link to end with the device")
    again = PtyPair()
    rig.closers += [again.close, lambda: os.close(again.master)]
    device.unlink()
    device.symlink_to(again.path)
    await until(reactor, lambda: bool(link.pairings), "the device to be opened again")
    other = sale.renumbered("4822", "4899")
    os.write(again.master, other.data)
    await until(reactor, lambda: len(stream) - first > len(other.data), "the next receipt")
    check_inject(other, bytes(stream[first:]), balances)


@pytest_twisted.ensureDeferred
async def test_a_printer_without_cutter_gets_the_message_after_an_idle_gap(
    rigs: RigMaker,
) -> None:
    """end_of_receipt = idle: the till's pause ends the receipt; the message follows its last
    line, and the till's own tail feeds (held for the gap) carry it past the tear bar."""
    rig = await rigs(TillSpec("diner", end_of_receipt=EndOfReceipt.IDLE, idle_gap_ms=300))
    check = capture("edge/no_cut")  # a diner check that ends with feeds, no cut
    stream = rig.stream("diner")
    till = await rig.connect("diner")
    till.write(check.data)  # and then nothing: the till stays connected, quiet
    await until(
        reactor, lambda: len(stream) > len(check.data) + 20, "the message after the idle gap"
    )
    await until(reactor, lambda: bytes(stream).endswith(b"\x1bd\x06"), "the till's feeds")
    printed = bytes(stream)
    tail = len(b"\x1bd\x06")
    # Every byte the till sent, unchanged, with the message before its tail feeds.
    assert printed.startswith(check.data[:-tail]) and printed.endswith(check.data[-tail:])
    message = printed[len(check.data) - tail : -tail]
    assert b"This sale earns 38 points." in message and b"Claim them" in message
    till.half_close()
    await within(reactor, till.lost, "the link to close")


@pytest_twisted.ensureDeferred
async def test_with_end_of_receipt_reset_the_next_esc_at_ends_a_receipt(rigs: RigMaker) -> None:
    """A till that never cuts but starts each receipt with ESC @: the message goes in before
    it, and that ESC @ and what follows are the till's, unchanged."""
    rig = await rigs(TillSpec("diner", end_of_receipt=EndOfReceipt.RESET))
    check = capture("edge/no_cut")
    stream = rig.stream("diner")
    till = await rig.connect("diner")
    next_receipt = b"\x1b@NEXT\n"
    till.write(check.data + next_receipt)
    await until(reactor, lambda: bytes(stream).endswith(next_receipt), "the next receipt's start")
    printed = bytes(stream)
    feeds = b"\x1bd\x06"  # the check's last bytes: the feed the printer makes before tearing
    assert check.data.endswith(feeds)
    # The till's bytes, with the message where the check's printing ended (before its feed).
    assert printed.startswith(check.data[: -len(feeds)])
    assert printed.endswith(feeds + next_receipt)
    message = printed[len(check.data) - len(feeds) : -len(feeds + next_receipt)]
    assert b"This sale earns 38 points." in message and b"Claim them" in message
    till.half_close()
    await within(reactor, till.lost, "the link to close")


@pytest_twisted.ensureDeferred
async def test_escpos_till_with_no_cut_gets_its_message_before_its_close(rigs: RigMaker) -> None:
    """python-escpos as a till whose printer has no cutter: no ``cut()``, a feed, then the
    close. The close ends the receipt; its message prints before the till's feed, and the
    printer's connection closes only after it."""
    rig = await rigs(TillSpec("diner"))
    stream = rig.stream("diner")
    await threads.deferToThread(escpos_api_check, rig.till_port("diner"), "4903", False)
    await until(
        reactor,
        lambda: b"Balance: " in stream and not rig.printers["diner"].connections,
        "the check, its message and the close",
    )
    printed = bytes(stream)
    assert printed.count(b"Balance: ") == 1
    assert b"\x1dV" not in printed  # no cut of ours either
    feeds = b"\n" * 4
    assert printed.endswith(feeds)  # the till's feed after the message: it tears off with it
    # The check's last line, then the message, then the till's feed.
    last_line = printed.index(b"www.joesdiner-albany.com\n")
    assert last_line < printed.index(b"Balance: ") < len(printed) - len(feeds)
    assert b"Balance: " not in printed[-len(feeds) - 8 :]
    handler = rig.daemon.tills["diner"].handler
    assert handler is not None and handler.awarded == 1  # once
    assert rig.daemon.tills["diner"].link.released_unanswered == 0


@pytest_twisted.ensureDeferred
async def test_two_checks_with_no_cut_apart_by_an_idle_gap_each_get_their_message(
    rigs: RigMaker,
) -> None:
    """A till that stays connected and never cuts: each pause ends a check; each message
    prints in its gap, before that check's feed, and the next check follows it."""
    rig = await rigs(TillSpec("diner", end_of_receipt=EndOfReceipt.IDLE, idle_gap_ms=300))
    first = capture("edge/no_cut")
    second = first.renumbered("4821", "4822")
    stream = rig.stream("diner")
    till = await rig.connect("diner")
    feeds = b"\x1bd\x06"
    printed_at = 0
    for check in (first, second):
        till.write(check.data)
        await until(
            reactor,
            lambda at=printed_at, c=check: (
                len(stream) > at + len(c.data) and stream.endswith(feeds)
            ),
            "a check and its message",
        )
        printed = bytes(stream[printed_at:])
        assert printed.startswith(check.data[: -len(feeds)]) and printed.endswith(feeds)
        message = printed[len(check.data) - len(feeds) : -len(feeds)]
        assert b"This sale earns 38 points." in message
        printed_at = len(stream)
    till.half_close()
    await within(reactor, till.lost, "the link to close")
    handler = rig.daemon.tills["diner"].handler
    assert handler is not None and handler.awarded == 2


# --- 4. status while a receipt is held; 5. the hold bound ---------------------------------------


@dataclass
class HeldSale:
    """A diner sale sent up to and including its cut, whose award waits on the database lock,
    so its cut is held (max_hold 5 s)."""

    rig: Rig
    sale: Capture
    stream: bytearray
    lock: WriteLock
    till: RawTill


async def hold_a_sale(rigs: RigMaker, then: bytes = b"") -> HeldSale:
    rig = await rigs(TillSpec("diner", max_hold_ms=5000))
    sale = capture("diner_us/sale_card_tip")
    lock = WriteLock(database_path(rig))
    try:
        till = await rig.connect("diner")
        till.write(sale.data + then)  # the till stays connected
        await until(reactor, lambda: holding(rig, "diner"), "the cut to be held")
    except BaseException:
        lock.release()
        raise
    return HeldSale(rig, sale, rig.stream("diner"), lock, till)


@pytest_twisted.ensureDeferred
async def test_status_request_is_answered_while_the_cut_is_held(rigs: RigMaker) -> None:
    held = await hold_a_sale(rigs)
    try:
        held.till.write(DLE_EOT_1)
        await until(reactor, lambda: bool(held.till.replies), "the status reply", timeout=3.0)
        assert bytes(held.till.replies) == READY
        assert len(held.stream) <= held.sale.insertions()[0].hi  # the cut is still held
        assert holding(held.rig, "diner")
    finally:
        held.lock.release()


@pytest_twisted.ensureDeferred
async def test_held_cut_gets_its_message_and_the_status_reply_once_the_lock_goes(
    rigs: RigMaker,
) -> None:
    held = await hold_a_sale(rigs, then=DLE_EOT_1)
    sale, stream, till = held.sale, held.stream, held.till
    try:
        # The award waits on the lock (the daemon's busy timeout), and so does the cut.
        assert len(stream) <= sale.insertions()[0].hi
    finally:
        held.lock.release()
    await until(reactor, lambda: bytes(till.replies) == READY, "the status reply")
    await until(
        reactor,
        lambda: (
            len(stream) > len(sale.data) + len(DLE_EOT_1) and stream.endswith(sale.data[-3:])
        ),  # its cut
        "the rest of the receipt",
    )
    # The request went ahead of the held end of the receipt, so before the message.
    printed = bytes(stream)
    ahead = printed.rindex(DLE_EOT_1)
    assert ahead < printed.index(b"Balance")
    check_inject(sale, printed[:ahead] + printed[ahead + len(DLE_EOT_1) :], Balances())
    till.half_close()
    await within(reactor, till.lost, "the link to close")


@pytest_twisted.ensureDeferred
async def test_past_max_hold_the_receipt_prints_as_sent_and_the_award_still_lands(
    rigs: RigMaker,
) -> None:
    rig = await rigs(TillSpec("diner", max_hold_ms=300))
    sale = capture("diner_us/sale_card_tip")
    (insertion,) = sale.insertions()
    assert insertion.customer is not None
    lock = WriteLock(database_path(rig))
    try:
        printed = await rig.send("diner", sale.data)
        assert printed.data == sale.data  # released at max_hold, with no message
    finally:
        lock.release()
    # The award was waiting on the lock, not given up: it lands once, after the fact.
    await until_balance(rig, insertion.customer, insertion.points)
    balances = Balances()
    balances.after(insertion)
    # The same receipt again (a resend) earns nothing new and shows the balance it made.
    again = await rig.send("diner", sale.data)
    check_inject(sale, again.data, balances)
    assert await rig.balance(insertion.customer) == insertion.points
    # Another sale for the same customer: the balance includes the first award.
    other = sale.renumbered("4822", "4899")
    printed_other = await rig.send("diner", other.data)
    (message,) = check_inject(other, printed_other.data, balances)
    assert f"Balance: {2 * insertion.points}".encode() in message
    assert await rig.balance(insertion.customer) == 2 * insertion.points
    # The stats count the one receipt let go with no message.
    link = rig.daemon.tills["diner"].link
    await until(reactor, lambda: not link.pairings, "the last link to close")
    assert (link.connections, link.released_unanswered) == (3, 1)


@pytest_twisted.ensureDeferred
async def test_the_stats_line_says_what_each_till_did(
    rigs: RigMaker, caplog: pytest.LogCaptureFixture
) -> None:
    rig = await rigs(TillSpec("diner"))
    for name in ("diner_us/sale_cash", "diner_us/refund", "bakery_es/sale_customer_card"):
        await rig.send("diner", capture(name).data)
    with caplog.at_level("INFO", logger="bridge.daemon"):
        rig.daemon.log_stats()
    assert (
        "stats: till diner: 3 connections, 2 read, 1 awarded, 1 kept unread, "
        "0 read too late for a message, 0 released with no message"
    ) in caplog.messages
    assert (
        "stats: parse workers: 2 processes, 0 killed (stuck past parse_timeout_ms), 0 reads waiting"
    ) in caplog.messages
    assert (
        "stats: database up, 0 awards journaled and 0 replayed since start, "
        "0 waiting in memory for the disk, 0 lost (memory queue full), "
        "0 taken back (not printed), 0 of those failed"
    ) in caplog.messages


async def until_balance(rig: Rig, customer: CustomerRef, points: int) -> None:
    seen: list[int] = []

    async def poll() -> None:
        while not seen or seen[-1] != points:
            seen.append(await rig.balance(customer))

    await within(reactor, defer.ensureDeferred(poll()), f"a balance of {points}")


# --- 6. the printer or the till goes away ---------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_no_printer_listening_closes_the_till_and_the_daemon_serves_when_it_is_back(
    rigs: RigMaker,
) -> None:
    port = free_port()
    rig = await rigs(TillSpec("diner", printer=TcpConnect("127.0.0.1", port)))
    till_port = rig.till_port("diner")
    sale = capture("diner_us/sale_card_tip")
    # The start's check of the printer finds it off: from then on the till side is what a
    # printer that is off is, it refuses connections (a till already connected, whose printer
    # connection fails, is reset: tests/bridge/test_link_tcp.py).
    side = rig.daemon.tills["diner"].listening
    assert side is not None
    await until(reactor, lambda: side.refusing, "the till side to refuse")
    with pytest.raises(error.ConnectionRefusedError):
        await send_tcp(reactor, "127.0.0.1", till_port, sale.data)
    printer = VirtualPrinterFactory(None, (), keep_stream=True, reactor=reactor)
    listening = printer.listen_tcp(reactor, port)
    rig.closers.append(listening.stopListening)
    rig.printers["diner"] = printer
    await until(reactor, lambda: side.connected, "the till side to accept again", timeout=5)
    assert rig.till_port("diner") == till_port
    printed = await rig.send("diner", sale.data)
    check_inject(sale, printed.data, Balances())


@pytest_twisted.ensureDeferred
async def test_printer_dropping_mid_receipt_closes_the_till(rigs: RigMaker) -> None:
    dropping = DroppingPrinter(after=1000)
    listening = reactor.listenTCP(0, dropping, interface="127.0.0.1")
    try:
        rig = await rigs(
            TillSpec(
                "bakery",
                layout="bakery_es",
                printer=TcpConnect("127.0.0.1", listening.getHost().port),
            )
        )
        sale = capture("bakery_es/sale_customer_card")
        till = await rig.connect("bakery")
        till.write(sale.data)  # and no half-close: the till waits
        await within(reactor, till.lost, "the till's connection to be closed")
        assert dropping.dropped == 1
        assert 1000 <= len(dropping.received) < len(sale.data)
        assert sale.data.startswith(bytes(dropping.received))
        await until(reactor, lambda: rig.pairing("bakery") is None, "the pairing to end")
    finally:
        await listening.stopListening()


@pytest_twisted.ensureDeferred
async def test_a_sale_the_printer_reset_before_taking_is_taken_back_and_its_reprint_earns(
    rigs: RigMaker,
) -> None:
    sale = capture("diner_us/sale_card_tip")
    (insertion,) = sale.insertions()
    assert insertion.customer is not None
    # The whole receipt comes in one read, so it is awarded while its cut is held; the
    # printer then resets half-way through it.
    dropping = DroppingPrinter(after=len(sale.data) // 2)
    listening = reactor.listenTCP(0, dropping, interface="127.0.0.1")
    try:
        port = listening.getHost().port
        rig = await rigs(TillSpec("diner", printer=TcpConnect("127.0.0.1", port)))
        till = await rig.connect("diner")
        till.write(sale.data)
        await within(reactor, till.lost, "the till's connection to be reset")
        await until(reactor, lambda: rig.daemon.desk.voided == 1, "the award to be taken back")
        assert await rig.balance(insertion.customer) == 0
        (kept,) = (rig.daemon.unread.folder / "diner").glob("*.why")
        assert "not printed" in kept.read_text(encoding="utf-8")
        # The till reprints it, and this time the printer takes it: it earns, once.
        dropping.after = 1 << 30
        for _ in range(2):
            await within(
                reactor,
                defer.ensureDeferred(
                    send_tcp(reactor, "127.0.0.1", rig.till_port("diner"), sale.data)
                ),
                "the reprint",
            )
        await until(reactor, lambda: not rig.daemon.tills["diner"].link.pairings, "the links")
        assert await rig.balance(insertion.customer) == insertion.points
    finally:
        await listening.stopListening()


@pytest_twisted.ensureDeferred
async def test_till_dropping_mid_receipt_prints_what_it_sent_and_the_next_till_is_served(
    rigs: RigMaker,
) -> None:
    rig = await rigs(TillSpec("diner"))
    sale = capture("diner_us/sale_card_tip")
    stream = rig.stream("diner")
    half = sale.data[: len(sale.data) // 2]
    till = await rig.connect("diner")
    till.write(half)
    await until(reactor, lambda: rig.pairing("diner") is not None, "the pairing")
    pairing = rig.pairing("diner")
    assert pairing is not None
    await until(reactor, lambda: pairing.till_bytes == len(half), "the daemon to read it all")
    till.abort()
    await until(reactor, lambda: rig.pairing("diner") is None, "the pairing to end")
    await until(
        reactor, lambda: not rig.printers["diner"].connections, "the printer's side to close"
    )
    assert bytes(stream) == half  # every byte read, the tentative ones too; nothing added
    printed = await rig.send("diner", sale.data)
    check_inject(sale, printed.data, Balances())


# --- 7. the database is unavailable, then back ---------------------------------------------


@pytest_twisted.ensureDeferred
async def test_database_down_journals_awards_and_replays_them_exactly_once(
    rigs: RigMaker, tmp_path: Path
) -> None:
    folder = tmp_path / "missing"
    rig = await rigs(
        TillSpec("diner"),
        TillSpec("bakery", layout="bakery_es"),
        database_url=f"sqlite:///{folder / 'db.sqlite'}",
        retry_interval=0.2,
    )
    sent = [
        ("diner", capture("diner_us/sale_card_tip")),
        ("diner", capture("diner_us/sale_cash")),
        ("bakery", capture("bakery_es/sale_customer_card")),
        ("bakery", capture("bakery_es/copy")),
    ]
    sales = [i for _, c in sent for i in c.insertions()]
    assert not rig.daemon.desk.store_up
    for till, each in sent:
        printed = await rig.send(till, each.data)
        windows = [(i.lo, i.hi) for i in each.insertions()]
        if not windows:
            assert printed.data == each.data, f"{each.name}: a message on a copy?"
            continue
        # A sale says its points are pending (issue 8): the balance is not known now.
        messages = split_messages(each.data, printed.data, windows)
        assert messages is not None, f"{each.name}: not the till's bytes plus one message"
        assert all(b"Points pending" in m for m in messages), messages
        assert all(b"Balance" not in m for m in messages), messages
    desk = rig.daemon.desk
    assert desk.journaled == len(sales) == 3
    journal = rig.daemon.config.journal.read_text(encoding="utf-8").splitlines()
    numbers = sorted(json.loads(line)["receipt"]["number"] for line in journal)
    assert numbers == sorted(i.key[2] for i in sales)
    folder.mkdir()
    await until(
        reactor, lambda: desk.store_up and desk.replayed == len(sales), "the journal replayed"
    )
    customers = [(i.customer, i.points) for i in sales if i.customer is not None]
    assert len(customers) == 2
    for customer, points in customers:
        assert await rig.balance(customer) == points
    # The same receipts again, now the database is up: shown, not awarded twice.
    balances = Balances()
    for i in sales:
        if i.customer is not None:
            balances.after(i)
    for till, each in sent:
        printed = await rig.send(till, each.data)
        check_inject(each, printed.data, balances)
    for customer, points in customers:
        assert await rig.balance(customer) == points
    assert desk.journaled == len(sales)


# --- 8. receipts the layout cannot read ------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_unreadable_receipts_print_byte_exact_and_are_kept_unread(rigs: RigMaker) -> None:
    rig = await rigs(TillSpec("super", layout="supermarket"), TillSpec("diner"))
    truncated = capture("edge/truncated_in_image")
    foreign = capture("bakery_es/sale_customer_card")  # a bakery receipt to the diner's till
    for till, each in (("super", truncated), ("diner", foreign)):
        printed = await rig.send(till, each.data)
        assert printed.data == each.data, each.name
    folder = rig.daemon.unread.folder
    for till, each in (("super", truncated), ("diner", foreign)):
        kept = sorted((folder / till).glob("*.bin"))
        assert len(kept) == 1, till
        raw = kept[0].read_bytes()
        # The receipt's own bytes: all of them, or up to its cut (a drawer kick after the cut
        # is not part of it).
        cut = foreign.insertions()[0].hi if each is foreign else len(each.data)
        assert each.data.startswith(raw) and len(raw) >= cut, each.name
        why = kept[0].with_suffix(".why").read_text(encoding="utf-8")
        assert why.strip(), each.name


@pytest_twisted.ensureDeferred
async def test_a_receipt_whose_stream_ends_inside_a_command_earns_nothing_and_is_kept(
    rigs: RigMaker,
) -> None:
    rig = await rigs(TillSpec("diner"))
    sale = capture("diner_us/sale_card_tip").data
    # The whole sale but its cut, then an ESC & header whose characters never come.
    data = sale[: sale.index(b"\x1dV")] + b"\x1b&\x03"
    printed = await rig.send("diner", data)
    assert printed.data == data
    handler = rig.daemon.tills["diner"].handler
    assert handler is not None
    await until(reactor, lambda: handler.unread == 1, "the receipt to be kept unread")
    assert handler.awarded == 0
    (kept,) = (rig.daemon.unread.folder / "diner").glob("*.bin")
    assert "ended inside a command" in kept.with_suffix(".why").read_text(encoding="utf-8")


# --- a daemon killed between the cut and the award ------------------------------------------


@pytest_twisted.ensureDeferred
async def test_a_receipt_left_in_the_inbox_is_awarded_once_at_the_next_start(
    rigs: RigMaker, tmp_path: Path
) -> None:
    sale = capture("diner_us/sale_card_tip")
    (insertion,) = sale.insertions()
    assert insertion.customer is not None
    # What a daemon killed while the award was queued leaves behind: the receipt, in the inbox.
    inbox = tmp_path / "inbox" / "diner"
    inbox.mkdir(parents=True)
    (inbox / "20261123T101500.000000Z-1.bin").write_bytes(sale.data)
    rig = await rigs(TillSpec("diner"))
    assert await rig.balance(insertion.customer) == insertion.points
    assert list(inbox.iterdir()) == []
    # The same receipt printed again now is a duplicate: nothing more is earned.
    await rig.send("diner", sale.data)
    assert await rig.balance(insertion.customer) == insertion.points


@pytest_twisted.ensureDeferred
async def test_the_inbox_is_empty_once_receipts_are_handled(rigs: RigMaker, tmp_path: Path) -> None:
    rig = await rigs(TillSpec("diner"))
    for name in ("diner_us/sale_cash", "diner_us/refund", "diner_us/x_report"):
        await rig.send("diner", capture(name).data)
    await rig.send("diner", capture("bakery_es/sale_customer_card").data)  # not read: unread
    # Only the till's next file is there, made ahead and still empty (bridge.inbox).
    left = [p for p in (tmp_path / "inbox").rglob("*") if p.is_file()]
    assert len(left) <= 1 and all(p.stat().st_size == 0 for p in left)
    assert len(list((tmp_path / "unread" / "diner").glob("*.bin"))) == 1


@pytest_twisted.ensureDeferred
async def test_an_edited_layout_takes_effect_at_the_next_receipt(
    rigs: RigMaker, tmp_path: Path
) -> None:
    """An admin edits the till's grammar file while the daemon runs: no restart."""
    grammar = tmp_path / "joes.lark"
    shipped = (REPO / "parsers" / "grammars" / "diner_us.lark").read_text(encoding="utf-8")
    grammar.write_text(shipped, encoding="utf-8")
    rig = await rigs(TillSpec("diner", layout=str(grammar)))
    sale = capture("diner_us/sale_card_tip")
    printed = await rig.send("diner", sale.data)
    check_inject(sale, printed.data, Balances())
    # A broken edit: the version before it stays in force (issue 9), so the receipt is still
    # read and earns; nothing is kept unread.
    grammar.write_text(shipped.replace("start:", "start_:", 1), encoding="utf-8")
    os.utime(grammar, ns=(1, 1))  # a new modification time, even within the same tick
    other = sale.renumbered("4822", "4898")
    assert b"Balance: " in (await rig.send("diner", other.data)).data
    assert list((tmp_path / "unread" / "diner").glob("*.bin")) == []
    # Mended: read again.
    grammar.write_text(shipped, encoding="utf-8")
    os.utime(grammar, ns=(2, 2))
    again = sale.renumbered("4822", "4899")
    assert b"Balance: " in (await rig.send("diner", again.data)).data


# --- 9. PostgreSQL -----------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_a_sale_through_a_daemon_on_postgresql(rigs: RigMaker, pg_url: str) -> None:
    rig = await rigs(TillSpec("diner"), database_url=pg_url)
    assert rig.daemon.desk.store_up
    sale = capture("diner_us/sale_card_tip")
    (insertion,) = sale.insertions()
    assert insertion.customer is not None
    printed = await rig.send("diner", sale.data)
    check_inject(sale, printed.data, Balances())
    assert await rig.balance(insertion.customer) == insertion.points


# --- 10. graceful stop --------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_stop_finishes_the_held_receipt_with_its_message(rigs: RigMaker) -> None:
    held = await hold_a_sale(rigs)
    rig, sale, stream, till = held.rig, held.sale, held.stream, held.till
    try:
        stopping = defer.ensureDeferred(rig.daemon.stop())
        listening = rig.daemon.tills["diner"].listening
        assert listening is not None
        await until(reactor, lambda: not listening.connected, "the daemon to stop listening")
        assert not stopping.called and holding(rig, "diner")
    finally:
        held.lock.release()
    await within(reactor, stopping, "stop() to complete", timeout=20.0)
    await within(reactor, till.lost, "the till's connection to close")
    check_inject(sale, bytes(stream), Balances())


# --- 11. ``tillbridge run``; 12. ``tillbridge demo`` -------------------------------------------

LOG_LINE = re.compile(r"\S+ level=(debug|info|warning|error|critical) logger=\S+ msg=")


def tillbridge(*args: str) -> list[str]:
    return [sys.executable, "-m", "bridge.cli", *args]


def run_tillbridge(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The command to its end, as a process (it runs its own reactor)."""
    return subprocess.run(
        tillbridge(*args), capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


@pytest_twisted.ensureDeferred
async def test_tillbridge_run_prints_the_points_and_stops_cleanly_on_sigterm(
    tmp_path: Path,
) -> None:
    printer = VirtualPrinterFactory(None, (), keep_stream=True, reactor=reactor)
    listening = printer.listen_tcp(reactor)
    till_port = free_port()
    config = tmp_path / "tillbridge.toml"
    config.write_text(
        CONFIG.format(till_port=till_port, printer_port=listening.getHost().port),
        encoding="utf-8",
    )
    log = tmp_path / "run.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            tillbridge("run", "--config", str(config)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=REPO,
        )
    try:
        await until(
            reactor,
            lambda: b"tillbridge running" in log.read_bytes() or process.poll() is not None,
            "the daemon to start",
            timeout=60.0,
        )
        assert process.poll() is None, log.read_text(encoding="utf-8")
        sale = capture("diner_us/sale_card_tip")
        stream = printer.stream
        assert stream is not None
        await within(
            reactor,
            defer.ensureDeferred(send_tcp(reactor, "127.0.0.1", till_port, sale.data)),
            "the job to finish",
        )
        await until(
            reactor,
            lambda: len(stream) > len(sale.data) and not printer.connections,
            "the receipt and its message",
        )
        check_inject(sale, bytes(stream), Balances())
        process.send_signal(signal.SIGTERM)
        await until(reactor, lambda: process.poll() is not None, "the daemon to exit")
        assert process.returncode == 0, log.read_text(encoding="utf-8")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        await listening.stopListening()
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert any("level=info" in line for line in lines)
    assert [line for line in lines if not LOG_LINE.match(line)] == []
    assert any("82 points" in line for line in lines)  # 96.91 less the 14.00 tip


def test_tillbridge_run_exits_1_when_the_till_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = tmp_path / "tillbridge.toml"
        config.write_text(
            CONFIG.format(till_port=taken.getsockname()[1], printer_port=free_port()),
            encoding="utf-8",
        )
        done = run_tillbridge("run", "--config", str(config))
    assert done.returncode == 1, done.stderr
    assert "cannot start" in done.stderr


def test_tillbridge_run_exits_2_on_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "tillbridge.toml"
    text = CONFIG.format(till_port=free_port(), printer_port=free_port())
    config.write_text(text.replace('layout = "diner_us"', 'mode = "loud"'), encoding="utf-8")
    done = run_tillbridge("run", "--config", str(config))
    assert done.returncode == 2, done.stderr
    assert ".mode" in done.stderr and "loud" in done.stderr


def test_tillbridge_demo_changes_nothing_it_should_not() -> None:
    # A subprocess: the demo runs its own reactor (task.react), which cannot run inside
    # pytest-twisted's.
    done = run_tillbridge("demo", "-q", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 changed" in done.stdout
    # The programme end to end: earned, a voucher printed, redeemed, a refund taking back.
    story = done.stdout.split("the programme, end to end", 1)[1]
    balances = [int(b) for b in re.findall(r"\(balance after: (\d+)\)", story)]
    assert balances == [14, 27, 19, 6], story


def test_the_demo_story_prints_a_voucher_and_redeems_it() -> None:
    done = run_tillbridge("demo", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    story = done.stdout.split("the programme, end to end", 1)[1]
    [code] = set(
        re.findall(r"CODE128 ([2-9A-HJ-NP-Z]{3}-[2-9A-HJ-NP-Z]{3}-[2-9A-HJ-NP-Z]{3})", story)
    )
    assert f"COUPON {code}" in story and f"Voucher {code}: -20 points" in story
    assert "Orig. check #5002" in story


def test_tillbridge_demo_serve_prints_your_own_captures_until_stopped() -> None:
    process = subprocess.Popen(
        tillbridge("demo", "-q", "--serve"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or "Ctrl-C to stop." not in lines[-1]:
            line = process.stdout.readline()
            assert line, "".join(lines) + process.stderr.read()  # type: ignore[union-attr]
            lines.append(line)
        (address,) = {m for line in lines for m in re.findall(r"tcp:127\.0\.0\.1:\d+", line)}
        sale = str(REPO / "fixtures" / "diner_us" / "sale_card_tip.bin")
        sent = run_tillbridge("send", sale, "--to", address)
        assert sent.returncode == 0, sent.stderr
        while "Loyalty points" not in (line := process.stdout.readline()):
            assert line, "the receipt was not printed"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
    assert process.returncode == 0
