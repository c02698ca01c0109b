"""``tillbridge capture``: a till passed through untouched, each receipt saved to a file."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest_twisted
from twisted.internet import reactor, task, threads

from drivers.simulated_till import send_tcp
from drivers.virtual_printer import VirtualPrinterFactory

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _until(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = reactor.seconds() + seconds
    while not condition():
        assert reactor.seconds() < deadline, "condition not met in time"
        await task.deferLater(reactor, 0.05, lambda: None)


@pytest_twisted.ensureDeferred
async def test_capture_passes_through_and_saves_each_receipt(tmp_path: Path) -> None:
    printer = VirtualPrinterFactory(keep_stream=True)
    printer_port = printer.listen_tcp(reactor)
    till_port = _free_port()
    out = tmp_path / "captures"
    command = [
        sys.executable,
        "-m",
        "bridge.cli",
        "capture",
        "--listen",
        f"tcp:127.0.0.1:{till_port}",
        "--printer",
        f"tcp:127.0.0.1:{printer_port.getHost().port}",
        "-o",
        str(out),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = await threads.deferToThread(process.stdout.readline)  # type: ignore[union-attr]
        assert banner.startswith("capturing:"), banner + process.stderr.read()  # type: ignore[union-attr]
        sent = b""
        for name in ("bakery_es/sale_customer_card.bin", "edge/back_to_back.bin"):
            data = (FIXTURES / name).read_bytes()
            await send_tcp(reactor, "127.0.0.1", till_port, data)
            sent += data
        # Untouched: the printer got the till's bytes exactly.
        await _until(lambda: printer.stream is not None and len(printer.stream) >= len(sent))
        assert bytes(printer.stream or b"") == sent
        await _until(lambda: len(list(out.glob("*.bin"))) == 3)
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = await threads.deferToThread(process.communicate, timeout=20)
        await printer_port.stopListening()
    assert process.returncode == 0, stderr
    captures = sorted(out.glob("*.bin"))
    assert stdout.count("saved ") == 3
    # Each capture is one receipt, up to and including its cut, in the order printed.
    first = (FIXTURES / "bakery_es/sale_customer_card.bin").read_bytes()
    assert first.startswith(captures[0].read_bytes())
    assert captures[0].read_bytes().endswith(b"\x1dV\x00")
    assert (
        b"".join(c.read_bytes() for c in captures[1:])
        in (FIXTURES / "edge/back_to_back.bin").read_bytes()
    )


def test_a_bad_endpoint_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bridge.cli",
            "capture",
            "--listen",
            "tcp:nowhere",
            "--printer",
            "tcp:127.0.0.1:9",
            "-o",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--listen" in result.stderr
