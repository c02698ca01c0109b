"""The bench's child processes: the sink, socat and the tillbridge daemon; what they cost.

Every child starts in its own session (so Ctrl-C reaches the bench alone, which then stops
them in order) and is stopped through its process group, which also takes socat's forked
children. ``Children.stop_all`` runs on every exit path of the bench.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

BENCH = Path(__file__).resolve().parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """Something the bench needs did not happen (a child died, a reply never came)."""


class Children:
    """Starts children in their own process groups; stops every one of them, once."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(
        self,
        argv: Sequence[str],
        stdout: int | IO[Any] | None,
        stderr: IO[Any] | None,
        stdin: int = subprocess.DEVNULL,
    ) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            list(argv), stdin=stdin, stdout=stdout, stderr=stderr, start_new_session=True
        )
        self.running.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
        if process not in self.running:
            return
        self.running.remove(process)
        # The leader first, so the daemon stops its own helpers (its parse worker) in order;
        # then the whole group (its own: start_new_session), for whatever outlived it.
        try:
            process.terminate()
            process.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
        _signal_group(process.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for process in reversed(list(self.running)):
            self.stop(process)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


# --- the sink ---------------------------------------------------------------------------


class SinkMonitor:
    """The fake printer (``bench/sink.py``) and the events it reports, read by a thread."""

    def __init__(self, children: Children) -> None:
        self.process = children.start(
            [sys.executable, str(BENCH / "sink.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
        )
        self.events: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        ready: queue.Queue[int] = queue.Queue()
        self.reader = threading.Thread(target=self._read, args=(ready,), daemon=True)
        self.reader.start()
        try:
            self.port = ready.get(timeout=10)
        except queue.Empty as error:
            raise BenchError("the sink did not start") from error

    def _read(self, ready: queue.Queue[int]) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            event = json.loads(line)
            if event["ev"] == "ready":
                ready.put(event["port"])
                continue
            # One event per cut, for the waiters' sake.
            if event["ev"] == "cuts":
                news = [
                    {"ev": "cut", "conn": event["conn"], "t": event["t"], "tag": tag, "markers": m}
                    for tag, m in event["cuts"]
                ]
            else:
                news = [event]
            with self.changed:
                self.events.extend(news)
                self.changed.notify_all()
        with self.changed:
            self.events.append({"ev": "exit"})
            self.changed.notify_all()

    def scanning(self, on: bool) -> None:
        """Turn the sink's search for cuts on or off; return once it has taken effect."""
        assert self.process.stdin is not None
        mark = self.mark()
        self.process.stdin.write(b"scan on\n" if on else b"scan off\n")
        self.process.stdin.flush()

        def acknowledged(events: list[dict[str, Any]]) -> bool:
            return any(e["ev"] == "scan" and e["on"] == on for e in events)

        self.wait_for(mark, acknowledged, 10, "the sink's acknowledgement")

    def mark(self) -> int:
        """A position in the event list: ``wait_for`` and ``since`` look after it."""
        with self.changed:
            return len(self.events)

    def since(self, mark: int, kind: str) -> list[dict[str, Any]]:
        with self.changed:
            return [event for event in self.events[mark:] if event["ev"] == kind]

    def wait_for(
        self,
        mark: int,
        found: Callable[[list[dict[str, Any]]], Any],
        timeout: float,
        what: str,
    ) -> Any:
        """Wait until ``found(events after mark)`` is truthy; return it."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                events = self.events[mark:]
                result = found(events)
                if result:
                    return result
                if events and events[-1]["ev"] == "exit":
                    raise BenchError(f"the sink exited while waiting for {what}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
                self.changed.wait(left)


def cut_tagged(tag: str) -> Callable[[list[dict[str, Any]]], dict[str, Any] | None]:
    def found(events: list[dict[str, Any]]) -> dict[str, Any] | None:
        return next((e for e in events if e["ev"] == "cut" and e["tag"] == tag), None)

    return found


def eof_count(count: int) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]] | None]:
    def found(events: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        eofs = [e for e in events if e["ev"] == "eof"]
        return eofs if len(eofs) >= count else None

    return found


def open_count(count: int) -> Callable[[list[dict[str, Any]]], bool]:
    def found(events: list[dict[str, Any]]) -> bool:
        return sum(1 for e in events if e["ev"] == "open") >= count

    return found


# --- socat and the daemon -----------------------------------------------------------------


def socat_path() -> str | None:
    return shutil.which("socat")


def start_socat(children: Children, port: int, sink_port: int) -> subprocess.Popen[bytes]:
    argv = [
        "socat",
        f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,backlog=1024",
        f"TCP:127.0.0.1:{sink_port}",
    ]
    process = children.start(argv, stdout=subprocess.DEVNULL, stderr=None)
    wait_listening([port], process, "socat")
    return process


@dataclass(frozen=True)
class Till:
    name: str
    port: int
    mode: str  # passthrough, observe, inject


def write_config(folder: Path, tills: Sequence[Till], sink_port: int) -> Path:
    lines = [
        'log_level = "warning"',
        f'journal = "{folder / "journal.jsonl"}"',
        "",
        "[database]",
        f'url = "sqlite:///{folder / "bench.db"}"',
    ]
    for till in tills:
        lines += [
            "",
            "[[tills]]",
            f'name = "{till.name}"',
            f'listen = "tcp:127.0.0.1:{till.port}"',
            f'printer = "tcp:127.0.0.1:{sink_port}"',
            'layout = "bakery_es"',
            f'mode = "{till.mode}"',
            # No printer checks: the sink counts connections, and a check is one.
            "printer_check_s = 0",
        ]
    path = folder / "tillbridge.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def tillbridge_command() -> list[str]:
    script = Path(sys.executable).parent / "tillbridge"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from bridge.cli import main; main()"]


def check_config(config: Path) -> None:
    result = subprocess.run(
        [*tillbridge_command(), "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"check-config failed:\n{result.stdout}{result.stderr}")


_PROFILES = itertools.count(1)  # one profile file per daemon started


def start_daemon(
    children: Children, config: Path, ports: Sequence[int], log: Path
) -> subprocess.Popen[bytes]:
    command = [*tillbridge_command(), "run", "--config", str(config)]
    profile = os.environ.get("TILLBRIDGE_BENCH_PROFILE")
    if profile:
        # cProfile sees the main thread only: the reactor's, where status replies wait.
        out = f"{profile}.{next(_PROFILES)}.prof"
        command = [sys.executable, "-m", "cProfile", "-o", out, "-m", "bridge.cli", *command[-3:]]
    with log.open("ab") as stderr:
        process = children.start(
            command,
            stdout=stderr,
            stderr=stderr,
        )
    try:
        wait_listening(ports, process, "tillbridge run", timeout=60)
    except BenchError as error:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise BenchError(f"{error}\n--- {log} ---\n{tail}") from None
    return process


# --- ports ------------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on now (held open together, so they are distinct)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def listening_ports() -> set[int]:
    """TCP ports in LISTEN state, from /proc: probing with connect() would open a till
    connection (and a printer connection behind it)."""
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A":
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def wait_listening(
    ports: Sequence[int], process: subprocess.Popen[bytes], what: str, timeout: float = 15
) -> None:
    deadline = time.monotonic() + timeout
    wanted = set(ports)
    while not wanted <= listening_ports():
        if process.poll() is not None:
            raise BenchError(f"{what} exited with status {process.returncode} before listening")
        if time.monotonic() > deadline:
            raise BenchError(f"{what} is not listening on {sorted(wanted)} after {timeout} s")
        time.sleep(0.05)


# --- what a process tree costs ------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants alive now."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree = [root]
    for pid in tree:
        tree.extend(child for child, parent in parents.items() if parent == pid)
    return tree


def rss_kib(pids: Sequence[int]) -> int:
    """Sum of VmRSS (shared pages count once per process)."""
    return sum(_status_kib(pid, "VmRSS:") for pid in pids)


def pss_kib(pids: Sequence[int]) -> int:
    """Sum of Pss (shared pages split between their users): fairer for forked children."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            pass
    return total


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pids: Sequence[int]) -> float:
    """User plus system CPU time of the processes alive now."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / CLOCK_TICKS


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """User plus system CPU time of each thread of ``pid`` alive now, by thread id (the main
    thread's id is ``pid``)."""
    threads: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        threads[int(task.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return threads
