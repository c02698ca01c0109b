"""``tillbridge send``: through ``bridge.cli.main`` to real printers on 127.0.0.1 (a socket
server answering as a TM printer, and the virtual printer), a pseudo-terminal and a file."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import threading
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor, threads

from bridge.cli import main
from drivers.virtual_printer import PrinterModel, VirtualPrinterFactory

ROOT = Path(__file__).resolve().parents[2]
POLLING = ROOT / "fixtures" / "edge" / "status_polling.bin"  # DLE EOT 1 first, GS r 1 last
SALE = ROOT / "fixtures" / "diner_us" / "sale_cash.bin"
KICK = ROOT / "fixtures" / "edge" / "drawer_kick_after_cut.bin"
WAIT = 30.0  # seconds: generous, for a loaded machine


class TmPrinter:
    """A network printer in a thread, one ``PrinterModel`` per connection: it answers DLE EOT
    as the bytes arrive, but prints (and so answers GS r) only once the sender half-closes,
    so the reply to a job's last GS r comes after the sender's last byte."""

    def __init__(self) -> None:
        self.jobs: list[bytes] = []  # what each connection received, in order
        self.replies: list[int] = []  # reply bytes sent on each connection
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)  # to see the stop flag: close() does not wake accept()
        self.port = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(WAIT)
            with conn:
                self._job(conn)

    def _job(self, conn: socket.socket) -> None:
        model = PrinterModel()
        received = bytearray()
        sent = 0
        while data := conn.recv(4096):
            received += data
            for reply in model.receive(data):
                conn.sendall(reply)
                sent += len(reply)
        output = model.print_pending()
        output.extend(model.close())
        for reply in output.replies:
            conn.sendall(reply)
            sent += len(reply)
        self.jobs.append(bytes(received))
        self.replies.append(sent)

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(WAIT)


@pytest.fixture
def printer() -> Iterator[TmPrinter]:
    printer = TmPrinter()
    yield printer
    printer.close()


def send(*args: str | Path) -> int:
    return main(["send", *(str(a) for a in args)])


def test_each_file_goes_byte_exact_on_its_own_connection(
    printer: TmPrinter, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [POLLING, SALE, KICK]
    assert send(*files, "--to", f"tcp:127.0.0.1:{printer.port}") == 0
    assert printer.jobs == [f.read_bytes() for f in files]
    # DLE EOT 1 answered at once; the GS r 1 reply, sent after the half-close, still seen.
    assert printer.replies == [2, 0, 0]
    out, err = capsys.readouterr()
    sizes = [f.stat().st_size for f in files]
    assert out.splitlines() == [
        f"sent {POLLING}: {sizes[0]} bytes, 2 status bytes back",
        f"sent {SALE}: {sizes[1]} bytes, 0 status bytes back",
        f"sent {KICK}: {sizes[2]} bytes, 0 status bytes back",
        f"sent 3 files to tcp:127.0.0.1:{printer.port}: {sum(sizes)} bytes, 2 status bytes back",
    ]
    assert err == ""


def test_a_file_that_cannot_be_read_is_skipped(
    printer: TmPrinter, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.bin"
    to = f"tcp:localhost:{printer.port}"
    assert send(SALE, missing, POLLING, "--to", to, "--pause", "0.05") == 1
    assert printer.jobs == [SALE.read_bytes(), POLLING.read_bytes()]
    out, err = capsys.readouterr()
    assert err == f"tillbridge send: cannot read {missing}: No such file or directory\n"
    assert out.splitlines()[-1].startswith(f"sent 2 of 3 files to {to}: ")


def test_a_refused_connection_names_the_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    # Bound and not listening: nothing else can take the port while the test runs.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        to = f"tcp:127.0.0.1:{closed.getsockname()[1]}"
        assert send(SALE, POLLING, "--to", to) == 1
    out, err = capsys.readouterr()
    assert err.startswith(f"tillbridge send: {to}: connection refused")
    assert out == f"sent 0 of 2 files to {to}: 0 bytes, 0 status bytes back\n"


def test_a_reset_connection_stops_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A printer that drops the connection mid-job (RST): the rest is not sent."""
    big = tmp_path / "big.bin"
    big.write_bytes(SALE.read_bytes() * 2000)
    accepted: list[int] = []
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(WAIT)

        def reset_first() -> None:
            with contextlib.suppress(OSError):
                conn, _ = server.accept()
                accepted.append(1)
                conn.recv(1024)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()

        thread = threading.Thread(target=reset_first, daemon=True)
        thread.start()
        to = f"tcp:127.0.0.1:{server.getsockname()[1]}"
        assert send(big, SALE, "--to", to) == 1
        thread.join(WAIT)
    assert accepted == [1]
    out, err = capsys.readouterr()
    assert err.startswith(f"tillbridge send: {to}: the connection broke")
    assert out == f"sent 0 of 2 files to {to}: 0 bytes, 0 status bytes back\n"


@pytest.mark.parametrize(
    ("to", "problem"),
    [
        ("tcp:printer", "needs a host and a port"),
        ("tcp:127.0.0.1:0", "is not a number from 1 to 65535"),
        ("lpt:1", "is not an endpoint"),
        ("serial:/dev/ttyS0:fast", "baud rate"),
        ("file:", "needs a path"),
    ],
)
def test_a_bad_endpoint_is_a_usage_error(
    to: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert send(SALE, "--to", to) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("tillbridge send: --to: ")
    assert problem in err


def test_a_negative_pause_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert send(SALE, "--to", "tcp:127.0.0.1:9100", "--pause", "-1") == 2
    assert "--pause" in capsys.readouterr().err


def test_serial_port_bytes_and_replies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The printer's end of a pseudo-terminal is read here; send opens the other end."""
    master, slave = os.openpty()
    tty.setraw(slave)  # until pyserial sets it up: no echo, no CR/LF translation
    received = bytearray()
    replied = 0
    done = threading.Event()

    def printer() -> None:
        nonlocal replied
        model = PrinterModel()
        while not done.is_set():
            if not select.select([master], [], [], 0.05)[0]:
                continue
            data = os.read(master, 4096)
            received.extend(data)
            for reply in model.feed(data).replies:
                os.write(master, reply)
                replied += len(reply)

    thread = threading.Thread(target=printer, daemon=True)
    thread.start()
    path = os.ttyname(slave)
    try:
        assert send(POLLING, SALE, "--to", f"serial:{path}:19200:8N1", "--pause", "0.05") == 0
    finally:
        done.set()
        thread.join(WAIT)
        os.close(master)
        os.close(slave)
    assert bytes(received) == POLLING.read_bytes() + SALE.read_bytes()
    assert replied == 2
    out, err = capsys.readouterr()
    assert (
        out.splitlines()[0]
        == f"sent {POLLING}: {POLLING.stat().st_size} bytes, 2 status bytes back"
    )
    assert out.splitlines()[-1].startswith(f"sent 2 files to serial:{path}:19200:8N1: ")
    assert out.splitlines()[-1].endswith(", 2 status bytes back")
    assert err == ""


def test_a_missing_serial_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    to = f"serial:{tmp_path / 'ttyUSB9'}"
    assert send(SALE, "--to", to) == 1
    err = capsys.readouterr().err
    assert (
        err
        == f"tillbridge send: {to}: cannot open {tmp_path / 'ttyUSB9'}: No such file or directory\n"
    )


def test_a_device_file_receives_every_file_in_turn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = tmp_path / "lp0"
    device.write_bytes(b"")
    assert send(SALE, POLLING, "--to", f"file:{device}") == 0
    assert device.read_bytes() == SALE.read_bytes() + POLLING.read_bytes()
    assert send(SALE, "--to", f"file:{tmp_path / 'lp1'}") == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tillbridge send: file:{tmp_path / 'lp1'}: cannot open")
    assert not (tmp_path / "lp1").exists()  # never created: a missing node is an absent printer


@pytest_twisted.inlineCallbacks
def test_the_virtual_printer_prints_each_file_and_answers_its_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[object]:
    factory = VirtualPrinterFactory()
    port = factory.listen_tcp(reactor)
    try:
        to = f"tcp:127.0.0.1:{port.getHost().port}"
        status = yield threads.deferToThread(main, ["send", str(POLLING), str(SALE), "--to", to])
        receipts = yield factory.wait_for_receipts(2)
    finally:
        factory.stop()
        yield port.stopListening()
    assert status == 0
    assert factory.received == POLLING.stat().st_size + SALE.stat().st_size
    # Each receipt runs to its cut; the GS r 1 after the first one's cut is not printed.
    assert len(receipts) == 2
    assert receipts[0].raw == POLLING.read_bytes()[: -len(b"\x1dr\x01")]
    assert receipts[1].raw == SALE.read_bytes()
    out = capsys.readouterr().out.splitlines()
    # A ready TM printer: 0x16 to DLE EOT 1, 0x00 to GS r 1.
    assert out[0] == f"sent {POLLING}: {POLLING.stat().st_size} bytes, 2 status bytes back"
    assert out[1] == f"sent {SALE}: {SALE.stat().st_size} bytes, 0 status bytes back"
