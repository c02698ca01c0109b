"""The fault instruments themselves (``bench/faultkit.py``), with a till wired straight to the
counting printer: what a direct connection shows is what the bridge must show too, so the
till's counts and the judge must say so here first."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from bench.faultkit import (
    PRINTED,
    REFUSED,
    RESET,
    TIMEOUT,
    Attempt,
    CountingPrinter,
    Sale,
    judge,
    make_sale,
    send_fire_and_forget,
    send_waiting,
)


@pytest.fixture
def printer() -> Iterator[CountingPrinter]:
    made = CountingPrinter("till1")
    yield made
    made.stop()


def _send(printer: CountingPrinter, sale: Sale, timeout: float = 5.0) -> Attempt:
    outcome, detail = send_waiting(printer.port, sale.data, timeout)
    return Attempt(sale, outcome, detail, 0.0, 0.0)


def test_direct_receipts_print_whole_in_order_and_earn_once(printer: CountingPrinter) -> None:
    sales = [make_sale("till1", 0, serial) for serial in range(5)]
    attempts = [_send(printer, sale) for sale in sales]
    assert [a.outcome for a in attempts] == [PRINTED] * 5
    verdict = judge(
        sales, attempts, {"till1": printer.snapshot()}, Counter(s.number for s in sales)
    )
    assert verdict.broken == []
    assert (verdict.printed_whole, verdict.awarded_once, verdict.lied) == (5, 5, 0)


def test_a_printer_that_resets_mid_receipt_is_a_reset_to_a_direct_till(
    printer: CountingPrinter,
) -> None:
    sale = make_sale("till1", 0, 1)
    printer.reset_after = len(sale.data) // 2
    attempt = _send(printer, sale)
    assert attempt.outcome == RESET, attempt.detail
    verdict = judge([sale], [attempt], {"till1": printer.snapshot()}, Counter())
    assert (verdict.printed_whole, verdict.lied, verdict.broken) == (0, 0, [])


def test_a_switched_off_printer_refuses(printer: CountingPrinter) -> None:
    printer.switch_off()
    sale = make_sale("till1", 0, 1)
    assert _send(printer, sale).outcome == REFUSED
    assert send_fire_and_forget(printer.port, sale.data, 5.0)[0] == REFUSED
    printer.switch_on()
    assert _send(printer, sale).outcome == PRINTED


def test_a_printer_that_stops_reading_keeps_a_direct_till_waiting(
    printer: CountingPrinter,
) -> None:
    printer.reading = False
    big = b"x" * (8 * 1024 * 1024)  # more than every kernel buffer on the way
    outcome, _ = send_waiting(printer.port, big, 1.0)
    assert outcome == TIMEOUT
    assert printer.received() == 0


def test_the_judge_names_a_receipt_cut_short_and_told_printed(printer: CountingPrinter) -> None:
    sale = make_sale("till1", 0, 7)
    with socket.create_connection(("127.0.0.1", printer.port)) as sock:
        sock.sendall(sale.head)  # the held end never sent: what a crash in the hold prints
    told = Attempt(sale, PRINTED, "normal close", 0.0, 0.0)
    _wait(lambda: printer.open_connections() == 0)
    verdict = judge([sale], [told], {"till1": printer.snapshot()}, Counter({sale.number: 1}))
    assert verdict.lied == 1 and verdict.earned_unprinted == 1
    assert any(f"#{sale.number}" in line and "told 'printed'" in line for line in verdict.broken)


def test_the_judge_sees_two_connections_interleaved_at_one_printer(
    printer: CountingPrinter,
) -> None:
    first, second = make_sale("till1", 0, 1), make_sale("till1", 0, 2)
    one = socket.create_connection(("127.0.0.1", printer.port))
    two = socket.create_connection(("127.0.0.1", printer.port))
    for sock, data in ((one, first.head), (two, second.data), (one, first.data[first.body :])):
        before = printer.received()
        sock.sendall(data)
        _wait(lambda n=before: printer.received() > n)
    one.close()
    two.close()
    _wait(lambda: printer.open_connections() == 0)
    told = [Attempt(s, PRINTED, "", 0.0, 0.0) for s in (first, second)]
    verdict = judge([first, second], told, {"till1": printer.snapshot()}, Counter())
    # The second printed whole inside the first: on a one-connection printer, the first was
    # torn in two.
    assert verdict.printed_whole == 1 and verdict.lied == 1


def test_the_printer_answers_status_in_any_connection(printer: CountingPrinter) -> None:
    with socket.create_connection(("127.0.0.1", printer.port), timeout=5) as sock:
        sock.sendall(b"text\x10\x04")
        sock.sendall(b"\x01 and \x1dr\x01")
        got = b""
        while len(got) < 2:
            got += sock.recv(16)
    assert got == b"\x16\x00"  # DLE EOT 1 (drawer pin 3 high), GS r 1 (paper fine)


def _wait(check: object, timeout: float = 5.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if check():  # type: ignore[operator]
            return
        done.wait(0.01)
    raise AssertionError("timed out")
