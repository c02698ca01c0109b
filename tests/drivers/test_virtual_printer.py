"""The virtual printer: its status logic without I/O, then over real sockets and a pty with
python-escpos as the client."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from escpos.printer import Network, Serial
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import defer, reactor, task, threads

from drivers.virtual_printer import (
    Conditions,
    PrintedReceipt,
    PrinterModel,
    VirtualPrinterFactory,
)
from drivers.virtual_printer.status import printer_id
from parsers.document import Document

ESC, GS, DLE = b"\x1b", b"\x1d", b"\x10"
CUT = GS + b"V\x01"
GS_R1 = GS + b"r\x01"


def eot(n: int) -> bytes:
    return DLE + b"\x04" + bytes((n,))


SALE = ESC + b"@ACME BAKERY\nBread      2.00\nMilk       1.10\nTOTAL      3.10\n\n\n"


# --- the model, without I/O ------------------------------------------------------------------


def test_a_ready_printer_answers_with_epsons_fixed_bits() -> None:
    model = PrinterModel()
    replies = model.feed(eot(1) + eot(2) + eot(3) + eot(4)).replies
    assert replies == [b"\x16", b"\x12", b"\x12", b"\x12"]
    assert model.feed(GS_R1 + GS + b"r\x31" + GS + b"r\x02" + GS + b"r\x32").replies == [
        b"\x00",
        b"\x00",
        b"\x01",
        b"\x01",
    ]
    assert model.feed(DLE + b"\x05\x02" + eot(9)).replies == []  # DLE ENQ; an n it ignores


def test_printer_id_one_byte_and_information_forms() -> None:
    model = PrinterModel()
    ids = model.feed(GS + b"I\x01" + GS + b"I\x32" + GS + b"I\x03").replies
    assert ids == [b"\x20", b"\x02", b"\x00"]
    named = model.feed(GS + b"IB" + GS + b"IC").replies
    assert named == [b"\x5fEPSON\x00", b"\x5fTM-T88V\x00"]
    # Bits 4 and 7 are off in every one-byte ID (how a host tells them from status bytes).
    for n in (1, 2, 3, 49, 50, 51):
        reply = printer_id(n, model.identity)
        assert reply is not None and reply[0] & 0x90 == 0


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("paper_out", {1: 0x1E, 2: 0x32, 3: 0x12, 4: 0x7E}),
        ("paper_near_end", {1: 0x16, 2: 0x12, 3: 0x12, 4: 0x1E}),
        ("cover_open", {1: 0x1E, 2: 0x16, 3: 0x12, 4: 0x12}),
        ("offline", {1: 0x1E, 2: 0x12, 3: 0x12, 4: 0x12}),
        ("drawer_pin3_high", {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12}),
    ],
)
def test_conditions_change_the_real_time_replies(condition: str, expected: dict[int, int]) -> None:
    model = PrinterModel()
    # drawer_pin3_high is on by default: its "change" is the low level.
    model.set_conditions(**{condition: condition != "drawer_pin3_high"})
    replies = model.feed(b"".join(eot(n) for n in expected)).replies
    assert replies == [bytes((value,)) for value in expected.values()]


def test_paper_sensor_status_in_order() -> None:
    model = PrinterModel(Conditions(paper_near_end=True))
    assert model.feed(GS_R1).replies == [b"\x03"]
    model.set_conditions(paper_out=True)
    model.feed(GS_R1)
    # Offline: printing (and so GS r) waits; once paper is loaded it goes on.
    model.set_conditions(paper_out=False, paper_near_end=False)
    assert model.print_pending().replies == [b"\x00"]


def test_real_time_replies_overtake_data_waiting_to_print() -> None:
    model = PrinterModel(Conditions(cover_open=True))
    out = model.feed(SALE + CUT + GS_R1 + eot(1))
    assert out.replies == [b"\x1e"]  # offline: answered at once, while GS r waits
    assert out.receipts == []
    assert model.queued == len(SALE + CUT + GS_R1 + eot(1))
    model.set_conditions(cover_open=False)
    out = model.print_pending()
    assert out.replies == [b"\x00"]
    assert [r.raw for r in out.receipts] == [SALE + CUT]
    assert model.queued == 0


def test_gs_r_is_answered_only_once_printing_reaches_it() -> None:
    model = PrinterModel()
    data = SALE + CUT + GS_R1
    assert model.receive(data) == []
    seen: list[bytes] = []
    while model.queued:
        out = model.print_pending(7)
        seen.extend(out.replies)
        if out.replies:
            assert model.queued == 0  # the reply came when the last bytes were printed
    assert seen == [b"\x00"]


def test_dle_eot_inside_image_data_is_answered_as_epson_does() -> None:
    image = ESC + b"*\x00\x03\x00" + b"\x10\x04\x01"  # 8-dot single density, 3 columns
    out = PrinterModel().feed(image + b"\n" + CUT)
    assert out.replies == [b"\x16"]
    assert len(out.receipts) == 1


def test_receipts_are_split_at_cuts_with_their_raw_bytes() -> None:
    kick = ESC + b"p\x00\x19\xfa"
    second = b"Coffee     2.50\n"
    data = eot(1) + SALE + CUT + kick + CUT + second + CUT + b"unfinished"
    model = PrinterModel()
    out = model.feed(data)
    # The blank cut after the drawer kick printed nothing: its bytes go with the next receipt.
    assert [r.raw for r in out.receipts] == [eot(1) + SALE + CUT, kick + CUT + second + CUT]
    assert out.receipts[0].document.text() == (
        "ACME BAKERY\nBread      2.00\nMilk       1.10\nTOTAL      3.10\n\n\n"
    )
    assert out.receipts[1].document.cut
    tail = model.close().receipts
    assert [(r.raw, r.document.cut, r.document.text()) for r in tail] == [
        (b"unfinished", False, "unfinished\n")
    ]
    assert model.close().receipts == []


def test_asb_reports_at_once_and_on_selected_changes() -> None:
    model = PrinterModel()
    assert model.feed(GS + b"a\x08").replies == [b"\x14\x00\x00\x00"]  # paper sensors only
    assert model.set_conditions(drawer_pin3_high=False) == []  # not selected
    assert model.set_conditions(paper_near_end=True) == [b"\x10\x00\x03\x00"]
    assert model.set_conditions(paper_out=True) == [b"\x18\x00\x0f\x00"]
    # Offline, the printer does not read on: GS a waits for the paper like any command.
    assert model.feed(GS + b"a\x01").replies == []
    assert model.set_conditions(paper_out=False) == [b"\x10\x00\x03\x00"]
    assert model.print_pending().replies == [b"\x10\x00\x03\x00"]  # drawer only, now
    assert model.set_conditions(drawer_pin3_high=True) == [b"\x14\x00\x03\x00"]
    assert model.set_conditions(paper_near_end=False) == []  # not selected any more
    assert model.feed(GS + b"a\x00").replies == []  # ASB off: no report, now or later
    assert model.set_conditions(drawer_pin3_high=False, cover_open=True) == []


def test_unknown_condition_is_refused() -> None:
    with pytest.raises(TypeError, match="paper_jam"):
        PrinterModel().set_conditions(paper_jam=True)


_PIECES = st.sampled_from(
    [
        SALE,
        CUT,
        GS_R1,
        eot(1),
        eot(4),
        GS + b"I\x43",
        GS + b"a\x0f",
        ESC + b"*\x00\x02\x00\x10\x04",
        b"Tea 1.20\n",
        DLE,
        b"\x04\x02",
    ]
)


@given(st.lists(_PIECES, max_size=12), st.lists(st.integers(1, 40), min_size=1, max_size=8))
def test_any_chunking_gives_the_same_replies_receipts_and_raw_bytes(
    pieces: list[bytes], sizes: list[int]
) -> None:
    data = b"".join(pieces)
    whole = PrinterModel()
    expected = whole.feed(data)
    expected.extend(whole.close())

    model = PrinterModel()
    got = model.receive(b"")
    receipts: list[PrintedReceipt] = []
    at, step = 0, 0
    while at < len(data):
        size = sizes[step % len(sizes)]
        got += model.receive(data[at : at + size])
        out = model.print_pending(size // 2 + 1)
        got += out.replies
        receipts += out.receipts
        at, step = at + size, step + 1
    while model.queued:
        out = model.print_pending(3)
        got += out.replies
        receipts += out.receipts
    out = model.close()
    receipts += out.receipts
    # Real-time replies may come earlier relative to in-order ones; each kind keeps its order.
    assert sorted(got) == sorted(expected.replies)
    assert [r.raw for r in receipts] == [r.raw for r in expected.receipts]
    assert [r.document for r in receipts] == [r.document for r in expected.receipts]
    # Every byte belongs to a receipt, or to the tail that printed nothing.
    assert b"".join(r.raw for r in receipts) == data[: len(b"".join(r.raw for r in receipts))]


# --- the factory: files and numbering ----------------------------------------------------------


def test_receipts_are_saved_numbered_after_existing_files(tmp_path: Path) -> None:
    (tmp_path / "0007.bin").write_bytes(b"old")
    factory = VirtualPrinterFactory(tmp_path, formats=("text", "html", "png"))
    receipt = PrinterModel().feed(SALE + CUT).receipts[0]
    factory.record(receipt)
    assert [p.name for p in factory.saved[0]] == ["0008.bin", "0008.txt", "0008.html", "0008.png"]
    assert (tmp_path / "0008.bin").read_bytes() == SALE + CUT
    assert "TOTAL      3.10" in (tmp_path / "0008.txt").read_text(encoding="utf-8")
    assert "TOTAL" in (tmp_path / "0008.html").read_text(encoding="utf-8")
    assert (tmp_path / "0008.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert factory.receipts == [receipt]


def test_pictures_are_drawn_on_the_tills_paper_in_its_language(tmp_path: Path) -> None:
    from PIL import Image as PILImage

    from drivers.render.paper import PAPER_58MM

    factory = VirtualPrinterFactory(
        tmp_path, formats=("text", "html", "png"), paper=PAPER_58MM, language="pl"
    )
    factory.record(PrinterModel().feed(SALE + CUT).receipts[0])
    page = (tmp_path / "0001.html").read_text(encoding="utf-8")
    assert '<html lang="pl">' in page and "width: 56mm" in page
    with PILImage.open(tmp_path / "0001.png") as image:
        assert image.width == 384
    cut_line = "-" * 14 + " ✂ " + "-" * 15 + "\n"  # 32 columns
    assert (tmp_path / "0001.txt").read_text(encoding="utf-8").endswith(cut_line)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="pdf"):
        VirtualPrinterFactory(None, formats=("text", "pdf"))


# --- over TCP -----------------------------------------------------------------------------------


@pytest.fixture
def tcp_printer(tmp_path: Path) -> Iterator[tuple[VirtualPrinterFactory, int]]:
    factory = VirtualPrinterFactory(tmp_path, formats=("text", "html", "png"))
    port = factory.listen_tcp(reactor)
    yield factory, port.getHost().port
    factory.stop()
    for connection in factory.connections:
        connection.transport.abortConnection()
    port.stopListening()


def wait(d: defer.Deferred[Any], seconds: float = 10.0) -> defer.Deferred[Any]:
    return d.addTimeout(seconds, reactor)


def escpos_network_receipt(port: int) -> None:
    printer = Network("127.0.0.1", port=port, timeout=5)
    printer.open()
    printer.set(align="center", bold=True)
    printer.text("ACME BAKERY\n")
    printer.set(align="left", bold=False)
    printer.text("Bread      2.00\nTOTAL      2.00\n")
    printer.cut()
    printer.close()


@pytest_twisted.ensureDeferred
async def test_python_escpos_prints_over_tcp(tcp_printer: Any, tmp_path: Path) -> None:
    factory, port = tcp_printer
    await threads.deferToThread(escpos_network_receipt, port)
    (receipt,) = await wait(factory.wait_for_receipts(1))
    lines = receipt.document.text().splitlines()
    assert "ACME BAKERY" in lines and "TOTAL      2.00" in lines
    assert receipt.document.cut
    assert factory.received == len(receipt.raw)
    assert (tmp_path / "0001.bin").read_bytes() == receipt.raw
    assert "ACME BAKERY" in (tmp_path / "0001.txt").read_text(encoding="utf-8")
    assert (tmp_path / "0001.png").read_bytes().startswith(b"\x89PNG")


def connect(port: int) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def ask(client: socket.socket, request: bytes, size: int = 1) -> bytes:
    client.sendall(request)
    reply = b""
    while len(reply) < size:
        chunk = client.recv(size - len(reply))
        if not chunk:
            break
        reply += chunk
    return reply


@pytest_twisted.ensureDeferred
async def test_status_round_trips_over_a_socket(tcp_printer: Any) -> None:
    factory, port = tcp_printer
    client = await threads.deferToThread(connect, port)
    try:
        assert await threads.deferToThread(ask, client, eot(1)) == b"\x16"
        # GS r after the cut: the reply means the receipt is printed (and on file).
        assert await threads.deferToThread(ask, client, SALE + CUT + GS_R1) == b"\x00"
        assert [r.raw for r in factory.receipts] == [eot(1) + SALE + CUT]

        factory.set_conditions(paper_out=True)
        assert await threads.deferToThread(ask, client, eot(4)) == b"\x7e"
        # Out of paper, the printer holds GS r but answers DLE EOT at once.
        assert await threads.deferToThread(ask, client, SALE + CUT + GS_R1 + eot(1)) == b"\x1e"
        reply = threads.deferToThread(client.recv, 1)
        factory.set_conditions(paper_out=False)
        assert await wait(reply) == b"\x00"
        assert len(factory.receipts) == 2
    finally:
        client.close()


def send_and_half_close(port: int, data: bytes) -> bytes:
    client = connect(port)
    try:
        client.sendall(data)
        client.shutdown(socket.SHUT_WR)
        replies = b""
        while chunk := client.recv(100):
            replies += chunk
        return replies
    finally:
        client.close()


async def until(check: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if check():
            return
        await task.deferLater(reactor, 0.01, lambda: None)
    raise AssertionError(f"timed out waiting for {what}")


@pytest_twisted.ensureDeferred
async def test_a_half_closing_till_still_gets_its_last_reply(tcp_printer: Any) -> None:
    factory, port = tcp_printer
    factory.set_conditions(cover_open=True)  # so the reply is still owed when the till is done
    data = SALE + CUT + GS_R1
    replies = threads.deferToThread(send_and_half_close, port, data)
    await until(lambda: factory.received == len(data), "the till's bytes")
    assert factory.receipts == []
    factory.set_conditions(cover_open=False)
    assert await wait(replies) == b"\x00"  # and then the printer closed: recv saw the end
    assert len(factory.receipts) == 1


# --- a slow printer: backpressure -------------------------------------------------------------


async def settled(value: Callable[[], int], quiet: float = 0.3, limit: float = 5.0) -> int:
    """``value()`` once it has not changed for ``quiet`` seconds (or after ``limit``)."""
    step, last, still, waited = 0.02, value(), 0.0, 0.0
    while still < quiet and waited < limit:
        await task.deferLater(reactor, step, lambda: None)
        current = value()
        still = still + step if current == last else 0.0
        last, waited = current, waited + step
    return last


@pytest_twisted.ensureDeferred
async def test_a_slow_printer_pushes_back_on_the_sender() -> None:
    buffer = 4096
    factory = VirtualPrinterFactory(None, bytes_per_second=2000, receive_buffer=buffer)
    port = factory.listen_tcp(reactor, rcvbuf=8192)
    lines = b"".join(b"Item %06d      1.00\n" % i for i in range(50_000))
    data = SALE + lines + CUT  # about 1 MB
    client = await threads.deferToThread(connect, port.getHost().port)
    try:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
        client.settimeout(30)
        sending = threads.deferToThread(client.sendall, data)
        received = await settled(lambda: factory.received)
        # The printer stopped reading: the sender's socket is full and sendall is blocked,
        # with most of the megabyte still on the sender's side.
        assert not sending.called
        assert received < len(data) // 2
        (connection,) = factory.connections
        assert connection.peak_queued <= buffer + 65536  # the buffer plus one read
        assert factory.receipts == []

        factory.set_speed(None)  # a fast printer again: the rest goes through
        await wait(sending)
        await threads.deferToThread(client.shutdown, socket.SHUT_WR)
        (receipt,) = await wait(factory.wait_for_receipts(1))
        assert receipt.raw == data
        assert connection.peak_queued <= buffer + 65536
    finally:
        factory.stop()
        client.close()
        await port.stopListening()


# --- over a pseudo-terminal ---------------------------------------------------------------------


@pytest.fixture
def pty_printer(tmp_path: Path) -> Iterator[tuple[VirtualPrinterFactory, str]]:
    factory = VirtualPrinterFactory(tmp_path, formats=("text",))
    path, handle = factory.serve_pty(reactor)
    yield factory, path
    factory.stop()
    handle.close()


def escpos_serial_session(path: str) -> tuple[bytes, bytes]:
    printer = Serial(devfile=path, baudrate=19200, timeout=5, dsrdtr=False)
    printer.open()
    try:
        printer.device.write(eot(1))
        status = printer.device.read(1)
        printer.text("CORNER SHOP\nSoap       1.99\nTOTAL      1.99\n")
        printer.cut()
        printer.device.write(GS + b"IC")
        model = printer.device.read(9)
        return status, model
    finally:
        printer.close()


@pytest_twisted.ensureDeferred
async def test_python_escpos_prints_over_a_pty(pty_printer: Any, tmp_path: Path) -> None:
    factory, path = pty_printer
    status, model = await threads.deferToThread(escpos_serial_session, path)
    assert status == b"\x16"
    assert model == b"\x5fTM-T88V\x00"
    (receipt,) = await wait(factory.wait_for_receipts(1))
    assert "TOTAL      1.99" in receipt.document.text().splitlines()
    assert receipt.raw.startswith(eot(1))
    assert (tmp_path / "0001.bin").read_bytes() == receipt.raw
    assert "CORNER SHOP" in (tmp_path / "0001.txt").read_text(encoding="utf-8")


@pytest_twisted.ensureDeferred
async def test_the_pty_survives_the_till_closing_and_reopening_it(pty_printer: Any) -> None:
    factory, path = pty_printer
    for _ in range(2):
        status, _model = await threads.deferToThread(escpos_serial_session, path)
        assert status == b"\x16"
    receipts = await wait(factory.wait_for_receipts(2))
    assert all(isinstance(r.document, Document) for r in receipts)
    assert len(receipts) == 2


# --- run by hand ----------------------------------------------------------------------------------


def test_the_module_runs_as_a_standalone_printer(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "drivers.virtual_printer", "--port", "0"]
    command += ["--folder", str(tmp_path), "--formats", "text,html"]
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        kind, address = process.stdout.readline().split()
        assert kind == "tcp"
        client = connect(int(address.rsplit(":", 1)[1]))
        with client:
            assert ask(client, eot(1) + SALE + CUT + GS_R1, 2) == b"\x16\x00"
        line = process.stdout.readline()
        assert line.startswith("receipt 1: ") and line.rstrip().endswith("0001.html")
        assert (tmp_path / "0001.bin").read_bytes() == eot(1) + SALE + CUT
    finally:
        process.terminate()
        process.wait(10)
