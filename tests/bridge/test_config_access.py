"""The access keys of a TCP till (allow, max_connections, idle_timeout_s, listen_backlog), and
the warnings check-config and the daemon give about a till open to every address."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bridge.cli import main
from bridge.config import config_warnings, load_config
from tests.bridge.test_config import EXAMPLE, ROOT, errors_of, till, write


def test_the_access_keys_are_read_and_addresses_normalised(tmp_path: Path) -> None:
    text = till(
        allow='RAW:["192.168.1.20", "10.0.0.9/24", "fd00::/8"]',
        max_connections=4,
        idle_timeout_s=0,
        listen_backlog=8,
    )
    (front,) = load_config(write(tmp_path, text)).tills
    assert front.allow == ("192.168.1.20/32", "10.0.0.0/24", "fd00::/8")
    assert (front.max_connections, front.idle_timeout_s, front.listen_backlog) == (4, 0, 8)


def test_the_defaults(tmp_path: Path) -> None:
    (front,) = load_config(write(tmp_path, till())).tills
    assert front.allow is None
    assert (front.max_connections, front.idle_timeout_s, front.listen_backlog) == (64, 300, 50)


@pytest.mark.parametrize(
    ("keys", "fragment"),
    [
        ({"allow": 'RAW:["till.example"]'}, '"till.example" is not an IP address or network'),
        ({"allow": "192.168.1.20"}, "expected a list of addresses or networks, not a string"),
        ({"max_connections": 0}, "0 is not a whole number from 1 to 1000"),
        ({"idle_timeout_s": -1}, "-1 is not a whole number from 0 to 86400"),
        ({"listen_backlog": 10_000}, "10000 is not a whole number from 1 to 4096"),
    ],
)
def test_bad_access_values_say_what_is_allowed(tmp_path: Path, keys: dict, fragment: str) -> None:
    (error,) = errors_of(tmp_path, till(**keys))
    assert fragment in error


def test_access_keys_are_refused_on_a_serial_till(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path, till(listen="serial:/dev/ttyS0", allow='RAW:["10.0.0.1"]', idle_timeout_s=5)
    )
    assert len(errors) == 2
    assert all("only for a till that connects over TCP" in e for e in errors)


def test_a_till_on_every_interface_without_an_allow_list_is_warned_about(tmp_path: Path) -> None:
    open_till = till(listen="tcp:0.0.0.0:9100")
    (warning,) = config_warnings(load_config(write(tmp_path, open_till)))
    assert 'till "front": listens on every interface (tcp:0.0.0.0:9100) with no allow list' in (
        warning
    )
    lan = till(listen="tcp:192.168.1.5:9100")
    assert "listens on 192.168.1.5" in config_warnings(load_config(write(tmp_path, lan)))[0]
    fenced = till(listen="tcp:0.0.0.0:9100", allow='RAW:["192.168.1.20"]')
    assert config_warnings(load_config(write(tmp_path, fenced))) == []
    assert config_warnings(load_config(write(tmp_path, till()))) == []  # loopback
    assert config_warnings(load_config(EXAMPLE)) == []


def test_check_config_prints_the_warning_and_the_access(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, till(listen="tcp:0.0.0.0:9100"))
    assert main(["check-config", "--config", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith('warning: till "front": listens on every interface')
    assert 'till "front" access: allow ANY address; at most 64 connections' in captured.out
    assert captured.out.rstrip().endswith("config OK")
    assert main(["check-config", "--config", str(write(tmp_path, till()))]) == 0
    assert "allow loopback only (the default)" in capsys.readouterr().out


def test_the_daemon_warns_at_its_start(tmp_path: Path) -> None:
    """A real ``tillbridge run``: the warning is in its log before it serves."""
    with socket.socket() as probe:
        probe.bind(("0.0.0.0", 0))
        port = probe.getsockname()[1]
    config = write(
        tmp_path,
        f'journal = "{tmp_path}/j.jsonl"\n'
        + till(listen=f"tcp:0.0.0.0:{port}", mode="passthrough", printer="tcp:127.0.0.1:9"),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "run", "--config", str(config)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:
            seen.append(line)
            if "tillbridge running" in line:
                break
        assert any("level=warning" in s and "no allow list" in s for s in seen), seen
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_daemon_refuses_an_address_outside_the_allow_list(tmp_path: Path) -> None:
    """A real ``tillbridge run`` with an allow list that leaves out loopback: a connection from
    127.0.0.1 is closed before a byte is read, and the log names the till and the address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "tillbridge.log"
    config = write(
        tmp_path,
        f'journal = "{tmp_path}/j.jsonl"\nlog_file = "{log}"\n'
        + till(
            listen=f"tcp:127.0.0.1:{port}",
            mode="passthrough",
            printer="tcp:127.0.0.1:9",
            allow='RAW:["10.0.0.0/8"]',
            # No printer answers on port 9: the idle check would find it off and close the
            # listener (a printer that is off refuses), racing the connection this test makes.
            printer_check_s=0,
        ),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "run", "--config", str(config)],
        cwd=ROOT,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    try:
        deadline = time.monotonic() + 60
        while "tillbridge running" not in (log.read_text() if log.exists() else ""):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
            contextlib.suppress(ConnectionResetError),  # a reset is closed too
        ):
            assert sock.recv(10) == b""
        while "refused a connection" not in log.read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        line = next(x for x in log.read_text().splitlines() if "refused a connection" in x)
        assert "till front: refused a connection from 127.0.0.1: not in its allow list" in line
    finally:
        proc.terminate()
        proc.wait(timeout=30)
