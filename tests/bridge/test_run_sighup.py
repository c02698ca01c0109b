"""SIGHUP to a real ``tillbridge run``: a log file is reopened (logrotate's way), standard error
is left alone, and the daemon goes on serving either way."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(folder: Path, port: int, log_file: Path | None) -> Path:
    path = folder / "tillbridge.toml"
    top = f'log_file = "{log_file}"\n' if log_file is not None else ""
    path.write_text(
        top + f'journal = "{folder}/journal.jsonl"\n'
        "[[tills]]\n"
        'name = "front"\n'
        f'listen = "tcp:127.0.0.1:{port}"\n'
        'printer = "tcp:127.0.0.1:9"\n'
        # No printer there: without the check, the till side keeps accepting (what is tested
        # here is the daemon going on, not what a till sees of a printer that is off).
        "printer_check_s = 0\n"
        'mode = "passthrough"\n',
        encoding="utf-8",
    )
    return path


def _wait_for(check: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _accepts(port: int) -> bool:
    """The daemon still takes connections. With no printer behind it, it resets the one it
    took (a printer that is off); on a busy machine that reset can reach ``connect`` itself.
    Either way the connection was accepted: a daemon that stopped serving would refuse it."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            return True
    except ConnectionResetError:
        return True


def test_sighup_reopens_the_log_file_and_the_daemon_goes_on(tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "logs" / "tillbridge.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "run", "--config", str(_config(tmp_path, port, log))],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    try:
        _wait_for(lambda: "tillbridge running" in _text(log) or proc.poll() is not None)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert stat.S_IMODE(log.stat().st_mode) == 0o600
        rotated = log.with_suffix(".log.1")
        log.rename(rotated)  # what logrotate does, before it sends SIGHUP
        proc.send_signal(signal.SIGHUP)
        _wait_for(lambda: "SIGHUP: log file" in _text(log))
        assert "reopened" in _text(log) and "tillbridge running" in _text(rotated)
        proc.send_signal(signal.SIGHUP)  # again: still alive, still serving
        _wait_for(lambda: _text(log).count("SIGHUP: log file") == 2)
        assert proc.poll() is None and _accepts(port)
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    assert "stopped" in _text(log)


def test_sighup_with_logs_on_standard_error_is_ignored(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "run", "--config", str(_config(tmp_path, port, None))],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "tillbridge running" in line:
                break
        proc.send_signal(signal.SIGHUP)
        for line in proc.stderr:
            if "SIGHUP" in line:
                assert "nothing to reopen; still running" in line
                break
        assert proc.poll() is None and _accepts(port)
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
