"""A killed daemon, as the till and the ledger see it: ``tillbridge run`` as a real process,
a till and a printer on real sockets, SIGKILL.

- While the bridge owes the printer bytes, a kill shows the till a reset, never a normal
  close (the till would count the receipt printed).
- A receipt the daemon had started to read when it was killed is awarded at the next start,
  once, with nothing run by hand (the inbox holds it from its first byte).
"""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bridge.daemon_harness import CONFIG, REPO, WriteLock, capture, free_port

RUN_CONFIG = CONFIG + "max_hold_ms = 3000\n"


class SinkPrinter:
    """A printer on a thread: it reads (or not, ``reading`` cleared: paper out) and keeps
    every connection's bytes."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.port = self.server.getsockname()[1]
        self.reading = threading.Event()
        self.reading.set()
        self.received: list[bytearray] = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.server.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            got = bytearray()
            self.received.append(got)
            threading.Thread(target=self._serve, args=(conn, got), daemon=True).start()

    def _serve(self, conn: socket.socket, got: bytearray) -> None:
        conn.settimeout(0.1)
        with conn:
            while not self._stop:
                if not self.reading.is_set():
                    time.sleep(0.02)
                    continue
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                got += chunk

    def close(self) -> None:
        self._stop = True
        self.server.close()


class Daemon:
    def __init__(self, folder: Path, till_port: int, printer_port: int) -> None:
        self.folder = folder
        self.till_port = till_port
        config = folder / "tillbridge.toml"
        config.write_text(RUN_CONFIG.format(till_port=till_port, printer_port=printer_port))
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        log = self.folder / f"run{self.runs}.log"
        with log.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bridge.cli", "run", "--config", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                cwd=REPO,
            )
        deadline = time.monotonic() + 60
        while b"tillbridge running" not in log.read_bytes():
            assert self.process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the daemon did not start"
            time.sleep(0.05)

    def log(self) -> str:
        return (self.folder / f"run{self.runs}.log").read_text()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def printer() -> Iterator[SinkPrinter]:
    sink = SinkPrinter()
    yield sink
    sink.close()


@pytest.fixture
def daemon(tmp_path: Path, printer: SinkPrinter) -> Iterator[Daemon]:
    running = Daemon(tmp_path, free_port(), printer.port)
    yield running
    running.stop()


def send(port: int, data: bytes, outcome: list[str]) -> None:
    """A till: send, half-close, read until the end; "printed" on a normal close."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(4096):
                pass
        outcome.append("printed")
    except OSError as exc:
        outcome.append(f"failed: {exc!r}")


def awards(database: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT idempotency_key, points FROM ledger_entries ORDER BY id"
        ).fetchall()
    return [(str(key), int(points)) for key, points in rows]


def test_a_kill_while_bytes_are_owed_shows_the_till_a_reset(
    daemon: Daemon, printer: SinkPrinter
) -> None:
    daemon.start()
    printer.reading.clear()  # paper out: what the till sends stays owed
    receipt = capture("diner_us/sale_card_tip").data
    padding = b"\x1b@" + b"x" * 40 + b"\n"
    data = padding * 1500 + receipt  # more than the printer's and the kernels' buffers hold
    outcome: list[str] = []
    till = threading.Thread(target=send, args=(daemon.till_port, data, outcome), daemon=True)
    till.start()
    time.sleep(1.5)
    assert outcome == []  # waiting, as it would with the printer wired to it
    daemon.kill()
    till.join(10)
    assert len(outcome) == 1 and outcome[0].startswith("failed"), outcome


def test_a_receipt_read_when_the_daemon_is_killed_is_awarded_once_at_the_next_start(
    daemon: Daemon, tmp_path: Path
) -> None:
    daemon.start()
    database = tmp_path / "tillbridge.db"
    before = awards(database)
    lock = WriteLock(database)  # the award waits on the database: the kill comes first
    sale = capture("diner_us/sale_card_tip")
    outcome: list[str] = []
    till = threading.Thread(target=send, args=(daemon.till_port, sale.data, outcome), daemon=True)
    till.start()
    time.sleep(1.0)
    daemon.kill()
    lock.release()
    till.join(10)
    assert len(outcome) == 1 and outcome[0].startswith("failed"), outcome  # it never printed
    assert awards(database) == before
    daemon.start()  # nothing by hand: the start awards what the inbox holds
    deadline = time.monotonic() + 20
    while len(awards(database)) == len(before) and time.monotonic() < deadline:
        time.sleep(0.1)
    new = awards(database)[len(before) :]
    assert len(new) == 1, daemon.log()
    assert not list((tmp_path / "inbox").rglob("*.stream"))
    # The till resends what failed: counted once in all.
    again: list[str] = []
    send(daemon.till_port, sale.data, again)
    assert again == ["printed"]
    time.sleep(0.5)
    assert awards(database)[len(before) :] == new


def test_sigterm_the_moment_the_daemon_serves_stops_it_cleanly(daemon: Daemon) -> None:
    # "tillbridge running" comes before the layouts are compiled and the inbox is read: a
    # stop in that window must stop the daemon, not leave its threads running forever.
    daemon.start()
    assert daemon.process is not None
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(30) == 0, daemon.log()
    assert "stopped" in daemon.log()
