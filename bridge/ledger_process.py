"""The ledger in a process of its own, so that awards do not compete with the reactor for the
interpreter lock.

An award is ~1 ms of Python (SQLAlchemy, the driver) against ~0.2 ms of SQLite: run on the
awards desk's thread, it held the lock the reactor needed to pass bytes and answer status
requests, and at 200 tills the two together (~4.8 ms a receipt) were more than one core.
``LedgerProcess`` has the ``Ledger``'s methods; each call sends its arguments to the child
(``python -m bridge.ledger_process``) and blocks its thread, which releases the lock, until
the child answers. The desk's logic (journal, outages, replays, voids) stays in the daemon.

- **One caller at a time** per process: the desk gives its award thread and its replay thread
  one process each, so a long replay never makes an award wait.
- **Outages** cross as ``StoreUnavailable``. The child throws its engine's connections away
  at once (``engine.dispose()``: see ``bridge.awards``), the parent's engine is disposed by
  the desk as before.
- **A SQLite file that must exist** (the daemon has seen it) is never re-created by the
  child: the parent says so when it starts one (``bridge.store.engine``).
- **A child that dies** (killed, out of memory) is an outage of that call: the award is
  journaled and applied once later (an award the child committed just before dying is then
  found by its key). The next call starts a new child.
- **Stops**: the child ignores SIGINT and SIGTERM (a Ctrl-C, or systemd's stop, reaches the
  whole group) and ends when its stdin closes, after the call under way: the daemon's last
  awards still go through.
- **A daemon killed outright takes its award with it**, as it did when awards ran on its own
  thread: a second pipe, held only by the daemon, reads end-of-file in the child the moment the
  daemon dies, and the child exits at once, mid-call (an uncommitted transaction is rolled
  back by SQLite or PostgreSQL). An orphan must not go on to commit the award of a receipt
  whose till was just shown a failure.
- **Logs** of the child's ledger travel back with each answer and are logged by the daemon's
  own loggers, so they go where the daemon's log goes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from bridge.frames import BrokenStream, encode_frame, portable, read_frame
from bridge.loyalty import Ledger, Outcome
from bridge.loyalty.earning import EarningRules, Policy
from bridge.store.engine import StoreUnavailable, make_engine, sqlite_file
from parsers.receipt import CustomerRef, Receipt

DEFAULT_POLICY = Policy()

_READY = "ready"
# Log records travel as (logger name, level, message): enough to log them again.
LogLine = tuple[str, int, str]


# -- the child --------------------------------------------------------------------------------


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[LogLine] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.name, record.levelno, record.getMessage()))

    def take(self) -> list[LogLine]:
        lines, self.lines = self.lines, []
        return lines


def serve(requests: BinaryIO, replies: BinaryIO, url: str, must_exist: bool, level: int) -> int:
    """Answer ``(method, args, kwargs)`` with ``(ok, result or exception, log lines)`` until
    stdin closes."""
    collect = _Collect()
    root = logging.getLogger()
    root.addHandler(collect)
    root.setLevel(level)
    engine = make_engine(url)
    file = sqlite_file(engine)
    if file is not None and must_exist:
        file.must_exist = True
    ledger = Ledger(engine)
    replies.write(encode_frame((_READY, os.getpid(), [])))
    replies.flush()
    try:
        while True:
            request = read_frame(requests)
            if request is None:
                return 0
            method, args, kwargs = request  # type: ignore[misc]
            try:
                if method.startswith("_") or not callable(getattr(ledger, method, None)):
                    raise AttributeError(f"the ledger has no method {method!r}")
                reply: tuple[bool, object, list[LogLine]] = (
                    True,
                    getattr(ledger, method)(*args, **kwargs),
                    collect.take(),
                )
            except StoreUnavailable as exc:
                engine.dispose()
                reply = (False, exc, collect.take())
            except Exception as exc:
                reply = (False, portable(exc), collect.take())
            try:
                frame = encode_frame(reply)
            except Exception as exc:
                frame = encode_frame((False, portable(exc), reply[2]))
            replies.write(frame)
            replies.flush()
    finally:
        engine.dispose()


def _exit_with_parent(fd: int) -> None:
    os.read(fd, 1)  # nothing is ever written: this returns when the parent is gone
    os._exit(3)


def main() -> int:
    threading.Thread(target=_exit_with_parent, args=(int(sys.argv[3]),), daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Replies on a descriptor of their own; fd 1 becomes stderr, so a stray print() in a
    # library cannot corrupt them.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    url = sys.stdin.buffer.readline().decode("utf-8").rstrip("\n")
    must_exist, level = sys.argv[1] == "1", int(sys.argv[2])
    return serve(sys.stdin.buffer, replies, url, must_exist, level)


if __name__ == "__main__":
    sys.exit(main())


# -- the parent -------------------------------------------------------------------------------

log = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parent.parent  # the folder holding bridge/ and parsers/
STOP_GRACE = 10.0  # seconds a child gets to finish its call and leave before it is killed


class LedgerProcess:
    """A ``Ledger`` whose calls run in a child process (see the module docstring)."""

    def __init__(self, url: str, must_exist: Callable[[], bool], name: str = "ledger") -> None:
        self.url = url  # with its password: it goes to the child on its stdin, never argv
        self.must_exist = must_exist
        self.name = name
        self.started = 0  # children started, for logs and tests
        self._child: subprocess.Popen[bytes] | None = None
        self._lifeline: int | None = None  # the write end of the child's parent-death pipe
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def award(
        self, receipt: Receipt, rule: EarningRules, now: datetime, policy: Policy = DEFAULT_POLICY
    ) -> Outcome:
        return self.call("award", receipt, rule, now, policy)  # type: ignore[no-any-return]

    def void(self, receipt: Receipt, reason: str, now: datetime) -> int:
        return self.call("void", receipt, reason, now)  # type: ignore[no-any-return]

    def expire(self, now: datetime) -> int:
        return self.call("expire", now)  # type: ignore[no-any-return]

    def balance(self, customer: CustomerRef | str) -> int:
        return self.call("balance", customer)  # type: ignore[no-any-return]

    def claim(
        self, code: str, card: CustomerRef | str, now: datetime, source: str = "cli"
    ) -> Outcome:
        return self.call("claim", code, card, now, source=source)  # type: ignore[no-any-return]

    def start(self) -> None:
        """Start the child now rather than at the first call (its imports take ~0.3 s)."""
        with self._lock:
            if self._child is None:
                self._spawn()

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``Ledger.method(*args, **kwargs)`` in the child: its result, or its exception."""
        with self._lock:
            if self._child is None:
                self._spawn()
            child = self._child
            assert child is not None and child.stdin is not None and child.stdout is not None
            try:
                child.stdin.write(encode_frame((method, args, kwargs)))
                child.stdin.flush()
                reply = read_frame(child.stdout)
            except (OSError, BrokenStream, EOFError) as exc:
                raise self._died(f"{type(exc).__name__}: {exc}") from exc
            if reply is None:
                raise self._died("it closed its answers")
        ok, value, lines = reply  # type: ignore[misc]
        for name, level, message in lines:
            logging.getLogger(name).log(level, "%s", message)
        if ok:
            return value
        raise value

    def close(self) -> None:
        """End the child after the call under way (every caller waits for its answer)."""
        with self._lock:
            child, self._child = self._child, None
        if child is None:
            return
        assert child.stdin is not None
        with contextlib.suppress(OSError):
            child.stdin.close()
        try:
            child.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            log.error(
                "%s process %d did not end after its stdin closed: killed", self.name, child.pid
            )
            child.kill()
            child.wait()
        finally:
            if child.stdout is not None:
                child.stdout.close()
            self._cut_lifeline()  # only now: the child may still be finishing its last call

    def _cut_lifeline(self) -> None:
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None

    def _spawn(self) -> None:
        env = dict(os.environ)
        # The child must import this same source tree, however the parent found it.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
        lifeline, self._lifeline = os.pipe()
        args = [
            sys.executable,
            "-m",
            "bridge.ledger_process",
            "1" if self.must_exist() else "0",
            str(logging.getLogger().getEffectiveLevel()),
            str(lifeline),
        ]
        try:
            child = subprocess.Popen(
                args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, pass_fds=(lifeline,)
            )
        except OSError as exc:
            self._cut_lifeline()
            raise StoreUnavailable(
                f"loyalty database unavailable: cannot start the {self.name} process: {exc}"
            ) from exc
        finally:
            os.close(lifeline)  # the child's end: the child has its own copy now
        assert child.stdin is not None and child.stdout is not None
        self._child = child
        try:
            child.stdin.write(self.url.encode("utf-8") + b"\n")
            child.stdin.flush()
            ready = read_frame(child.stdout)
        except (OSError, BrokenStream, EOFError) as exc:
            raise self._died(f"{type(exc).__name__}: {exc}") from exc
        if not (isinstance(ready, tuple) and ready[0] == _READY):
            raise self._died(f"it started with {ready!r:.80} instead of its ready frame")
        self.started += 1

    def _died(self, how: str) -> StoreUnavailable:
        """The child is gone (or broken): reap it; the call is an outage (see above)."""
        child, self._child = self._child, None
        code: int | None = None
        if child is not None:
            child.kill()
            code = child.wait()
        self._cut_lifeline()
        if child is not None:
            for stream in (child.stdin, child.stdout):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass
        ended = (
            f"exit status {code}"
            if code is not None and code >= 0
            else (f"killed by signal {-code}" if code is not None else "never started")
        )
        log.error(
            "%s process %s ended (%s; %s): the award is journaled, a new process "
            "takes the next one",
            self.name,
            child.pid if child else "?",
            ended,
            how,
        )
        return StoreUnavailable(
            f"loyalty database unavailable: the {self.name} process ended ({ended})"
        )
