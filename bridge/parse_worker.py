"""Receipts read under a kill limit, in a pool of worker processes that the reactor never waits for.

The daemon holds a till's cut while it reads the receipt (at most ``max_hold``). Shipped layouts
read a receipt in a few milliseconds, but an admin's grammar can hold a regex that backtracks for
minutes, and linting one (``strict=True``) can take as long. Python cannot interrupt a thread
stuck inside ``re``; only killing a process frees the CPU. So every parse and every layout load
runs in a child process; a child stuck past its kill limit is killed and replaced, and its caller
gets ``ParseTimeout``.

Two times, kept apart: the session lets a held cut go at ``max_hold`` whatever the worker does,
so a caller does not give up on the parse then; it waits for the answer and awards the receipt
late (with no message). The kill limit is only for work that is really stuck: it counts from
when a process *starts* the request (waiting in the queue never kills anything, so an overload
makes receipts late, not killed in a loop), and a parse on a process that has not compiled the
layout yet gets the compile limit (``compile_timeout``) on top, reset to the parse's own limit
once the child says the layout compiled. The pool knows which layouts (file and modification
time) each process has compiled: the child reports them when it is ready and as it compiles.

Scheduling, fair between tills: every request carries a key (the till's name; callers that pass
none share one key). Each key has its own FIFO queue; a free process takes the waiting key with
the fewest requests in flight, and among those the one served longest ago (round-robin), so a
key with a request in flight does not get a second process while another key waits with none,
and a burst or a stuck grammar on one key delays another key by one parse at most. With two or
more processes the pool also keeps one for the others: while other keys have asked within
``RECENT`` seconds, a key that has a request in flight, or whose parse was killed within
``RECENT`` seconds, does not take the last idle process. So one till's catastrophic grammar
occupies one process at a time and the other tills keep theirs, also while a killed process is
being replaced.

Mechanism: ``reactor.spawnProcess`` with a ``ProcessProtocol``, speaking length-prefixed pickles
over the child's stdin and stdout. Everything is an event: a reply is ``childDataReceived``, a
death is ``processEnded`` (Twisted reaps the child on SIGCHLD), a kill limit is a ``callLater``,
a kill is ``signalProcess("KILL")``, which returns at once. ``multiprocessing`` was not used: its
pool cannot kill one stuck task (``terminate()`` ends every worker and joins them), its results
arrive on a helper thread that must be marshalled back with ``callFromThread``, and its ``fork``
start method would copy the daemon's reactor, sockets and database pool into the child.

The child is ``python -m bridge.parse_worker`` and imports ``parsers.*`` only: not Twisted, not
python-escpos (slow to import). That is why this module is in two halves, the child's first and
then, after the ``__main__`` guard, the parent's, which imports Twisted. Each child keeps its own
``Layout`` cache (``Layout.load`` caches by path and mtime), so a layout compiles once per
process. A replacement process compiles every layout the pool's processes have compiled before it
says it is ready (the layouts are its arguments), so a replacement is ready to read at once.

Failures: a process that dies under a request (killed by someone else, crashed) fails that
request with ``WorkerFailed`` and is replaced at once; the queues go on in the other processes
and the replacement, nothing queued is lost. A process that dies before it is ready (a broken
interpreter or install) fails every waiting call with ``WorkerFailed`` (unless another process
is ready to serve them) and is not restarted until the next call, so a broken install cannot
become a restart loop. ``stop()`` fails what is pending with ``WorkerStopped`` (a
``WorkerFailed``).

Errors keep their class and message across the boundary (``ReceiptParseError`` keeps ``layout``
and ``line``): an exception is pickled with its ``args`` and attributes.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pickle
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from bridge.frames import HEADER, MAX_FRAME, BrokenStream, encode_frame, portable, read_frame
from parsers.layouts import Layout, ReceiptParseError, UnknownLayoutError, resolve_layout
from parsers.receipt import Receipt

_READY = 0  # the request id of the child's first frame: imports done, reading requests
_COMPILED = None  # a reply's status meaning "not done yet: the layout has compiled"

_LOAD = "load"
_PARSE = "parse"

# Which compiled layout: its grammar file and modification time (what Layout.load caches by).
Version = tuple[str, int]


# A layout's grammar file, by the name the config gives it: found once (resolving a name
# walks the file system, and the daemon asks at every parse), then stat'ed each time.
_GRAMMAR_FILES: dict[str, str] = {}


def layout_version(layout: str) -> Version | None:
    """The file and modification time of a layout, or None if there is no such layout."""
    path = _GRAMMAR_FILES.get(layout)
    try:
        if path is None:
            path = _GRAMMAR_FILES[layout] = str(resolve_layout(layout))
        return (path, os.stat(path).st_mtime_ns)
    except (OSError, UnknownLayoutError):
        _GRAMMAR_FILES.pop(layout, None)  # gone: looked for again next time
        return None


# -- the child --------------------------------------------------------------------------------


def _run(op: str, layout: str, text: str, compiled: Callable[[Version], None]) -> object:
    if op not in (_LOAD, _PARSE):
        raise ValueError(f"unknown request {op!r}")
    version = layout_version(layout)
    # A receipt is read with the layout in force: an edit that does not compile leaves the
    # last version that did (the daemon's layout watch logs why). A load is strict.
    loaded = Layout.in_force(layout) if op == _PARSE else Layout.load(layout)
    if version is not None:
        compiled(version)
    if op == _LOAD:
        return loaded.name
    receipt = loaded.parse_text(text)
    receipt.raw_text = ""  # the parent has it: it sent it (see ParseWorker._reply)
    return receipt


def serve(requests: BinaryIO, replies: BinaryIO, compiled: Iterable[Version] = ()) -> int:
    """Answer requests until the parent closes our stdin: ``(id, op, layout, text)`` in,
    ``(id, ok, result or exception)`` out; before the answer, ``(id, None, version)`` when the
    request compiled its layout, so the parent can start the parse's own limit."""
    known = set(compiled)
    replies.write(encode_frame((_READY, True, (os.getpid(), sorted(known)))))
    replies.flush()
    while True:
        try:
            request = read_frame(requests)
        except BrokenStream:
            return 1
        if request is None:
            return 0
        request_id, op, layout, text = request  # type: ignore[misc]

        def note(version: Version, request_id: int = request_id) -> None:
            if version not in known:
                known.add(version)
                replies.write(encode_frame((request_id, _COMPILED, version)))
                replies.flush()

        try:
            reply: tuple[int, bool, object] = (request_id, True, _run(op, layout, text, note))
        except Exception as exc:
            reply = (request_id, False, portable(exc))
        try:
            frame = encode_frame(reply)
        except Exception as exc:
            frame = encode_frame((request_id, False, portable(exc)))
        replies.write(frame)
        replies.flush()


def warm(layouts: list[str]) -> list[Version]:
    """Compile the layouts the pool had compiled, before we say we are ready; those that did."""
    done = []
    for layout in layouts:
        with contextlib.suppress(Exception):  # its callers get the error when they use it
            version = layout_version(layout)
            Layout.load(layout)
            if version is not None:
                done.append(version)
    return done


def main() -> int:
    # Ctrl-C at the daemon's terminal reaches the whole process group: the parent decides when
    # its worker ends, by closing our stdin or killing us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The replies get a descriptor of their own, and fd 1 becomes stderr: a stray print() in a
    # library must not corrupt the reply stream.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    compiled = warm(sys.argv[1:])
    return serve(sys.stdin.buffer, replies, compiled)


if __name__ == "__main__":
    sys.exit(main())


# -- the parent -------------------------------------------------------------------------------
# Twisted is imported after the guard above so that the child never pays for it.

from twisted.internet import defer, error  # noqa: E402
from twisted.internet.interfaces import IDelayedCall, IReactorProcess, IReactorTime  # noqa: E402
from twisted.internet.protocol import ProcessProtocol  # noqa: E402
from twisted.python.failure import Failure  # noqa: E402

log = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parent.parent  # the folder holding bridge/ and parsers/
_STDERR_KEPT = 4000  # the tail of a child's stderr kept to explain a failed start
STOP_GRACE = 5.0  # seconds an idle child gets to leave after its stdin closes, before KILL
COMPILE_TIMEOUT = 60.0  # an admin's grammar can take long to lint; a shipped one ~0.1 s
# Seconds a key counts as active after it asked, and as suspect after one of its parses was
# killed: long enough to span a stuck parse and the replacement of its process.
RECENT = 60.0
SHARED_KEY = ""  # the key of callers that name none


class ParseTimeout(Exception):
    """A process spent longer than the kill limit on a request: it was killed and replaced."""


class WorkerFailed(Exception):
    """The worker process died or could not start, or the worker was stopped."""


class WorkerStopped(WorkerFailed):
    """The pool was stopped while the request waited or ran."""


@dataclass(eq=False)
class _Request:
    id: int
    op: str
    layout: str
    text: str
    timeout: float  # the kill limit, from the start in a process (plus a compile, if needed)
    key: str
    result: defer.Deferred[Any] = field(init=False)
    timer: IDelayedCall | None = None
    process: _Process | None = None  # while in flight
    compiling: bool = False  # started on a process without the layout: the compile limit added

    def describe(self) -> str:
        return f"{'loading' if self.op == _LOAD else 'reading a receipt with'} layout {self.layout}"


@dataclass(eq=False)
class _Leaving:
    processes: set[_Process]
    done: defer.Deferred[None]
    kill_call: IDelayedCall | None = None


class _Process(ProcessProtocol):
    """One child: frames in and out, its stderr to the log, its end reported to the pool."""

    def __init__(self, pool: ParseWorker) -> None:
        self.pool = pool
        self.ready = False
        self.retired = False  # killed or told to leave by the pool: not a crash
        self.request: _Request | None = None
        self.pid: int | None = None
        self.compiled: set[Version] = set()
        self._buffer = bytearray()
        self._stderr = bytearray()
        self._stderr_tail = ""

    @property
    def idle(self) -> bool:
        return self.ready and self.request is None and not self.retired

    def connectionMade(self) -> None:
        self.pid = self.transport.pid  # type: ignore[union-attr]

    def send(self, request: _Request) -> None:
        self.request = request
        request.process = self
        frame = encode_frame((request.id, request.op, request.layout, request.text))
        self.transport.write(frame)  # type: ignore[union-attr]

    def kill(self) -> None:
        self.retired = True
        with contextlib.suppress(error.ProcessExitedAlready):
            self.transport.signalProcess("KILL")  # type: ignore[union-attr]

    def leave(self) -> None:
        """End of input: an idle child reads EOF and exits."""
        self.retired = True
        self.transport.closeStdin()  # type: ignore[union-attr]

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        if childFD == 2:
            self._log_stderr(data)
            return
        self._buffer += data
        while len(self._buffer) >= HEADER.size:
            (length,) = HEADER.unpack_from(self._buffer)
            if length > MAX_FRAME:
                self.pool._broken(self, f"a reply of {length} bytes")
                return
            end = HEADER.size + length
            if len(self._buffer) < end:
                return
            payload = bytes(self._buffer[HEADER.size : end])
            del self._buffer[:end]
            try:
                message = pickle.loads(payload)
            except Exception as exc:
                self.pool._broken(self, f"an unreadable reply ({exc!r})")
                return
            self.pool._reply(self, message)

    def _log_stderr(self, data: bytes) -> None:
        self._stderr += data
        *lines, rest = self._stderr.split(b"\n")
        self._stderr = bytearray(rest[-_STDERR_KEPT:])
        for line in lines:
            text = line.decode("utf-8", "replace").rstrip()
            if text:
                log.warning("parse worker %s: %s", self.pid, text)
                self._stderr_tail = (self._stderr_tail + "\n" + text)[-_STDERR_KEPT:]

    def stderr_tail(self) -> str:
        return (self._stderr_tail + "\n" + self._stderr.decode("utf-8", "replace")).strip()

    def processEnded(self, reason: Failure) -> None:  # type: ignore[override]
        self.pool._ended(self, reason)


class ParseWorker:
    """A pool of ``processes`` worker processes reading receipts, fair between keys; see the
    module docstring."""

    def __init__(
        self, reactor: Any, *, processes: int = 1, compile_timeout: float = COMPILE_TIMEOUT
    ) -> None:
        if processes < 1:
            raise ValueError("processes must be at least 1")
        self._reactor: IReactorProcess = reactor
        self._clock: IReactorTime = reactor
        self._size = processes
        self._compile_timeout = compile_timeout
        self._slots: list[_Process] = []  # the pool's current processes, ready or starting
        self._alive: set[_Process] = set()  # every child not yet reaped, retired ones too
        self._waiting: dict[str, deque[_Request]] = {}  # per key, FIFO; only keys with some
        self._in_flight: dict[str, int] = {}  # per key, requests a process is working on
        self._served: dict[str, int] = {}  # per key, when it last got a process (a serial)
        self._asked: dict[str, float] = {}  # per key, when it last asked
        self._killed_at: dict[str, float] = {}  # per key, when a request of it was last killed
        self._serial = itertools.count()
        self._next_id = _READY + 1
        self._start_waiters: list[defer.Deferred[None]] = []
        self._compiled: dict[str, None] = {}  # layouts a worker compiled, in order: warm-up list
        self._leaving: list[_Leaving] = []  # stop() calls waiting for their children to end
        self._stopped = False
        # For the daemon's stats line, and tests.
        self.killed = 0  # processes killed past a kill limit

    @property
    def pids(self) -> list[int]:
        """The process ids of the pool's current processes (for logs and tests)."""
        return [p.pid for p in self._slots if p.pid is not None]

    @property
    def queued(self) -> int:
        """Requests waiting for a process."""
        return sum(len(queue) for queue in self._waiting.values())

    def start(self) -> defer.Deferred[None]:
        """Spawn the processes; fires when every one is ready, fails with ``WorkerFailed``
        when one dies first. Calls made without ``start()`` spawn the processes themselves."""
        self._stopped = False
        waiter: defer.Deferred[None] = defer.Deferred()
        self._start_waiters.append(waiter)
        self._fill()
        self._check_started()
        return waiter

    def load(self, layout: str, timeout: float, *, key: str = SHARED_KEY) -> defer.Deferred[str]:
        """Compile (and lint) a layout in a worker; fires with its name. ``timeout``: the kill
        limit once a process starts on it. Fails with ``GrammarError``, ``UnknownLayoutError``,
        ``ParseTimeout`` or ``WorkerFailed``. With several processes, only the one that answers
        has the layout compiled (the others compile it when they first need it, under the
        compile limit)."""
        return self._ask(_LOAD, layout, "", timeout, key)

    def parse(
        self, layout: str, text: str, timeout: float, *, key: str = SHARED_KEY
    ) -> defer.Deferred[Receipt]:
        """``Layout.load(layout).parse_text(text)`` in a worker. ``timeout``: the kill limit
        from when a process starts the parse (plus the compile limit if that process has not
        compiled the layout). Fails with ``ReceiptParseError``, ``GrammarError``,
        ``UnknownLayoutError`` (as in-process), ``ParseTimeout`` or ``WorkerFailed``."""
        return self._ask(_PARSE, layout, text, timeout, key)

    def stop(self) -> defer.Deferred[None]:
        """End every process; pending calls fail with ``WorkerStopped``. Fires once every child
        has been reaped (an idle child leaves when its stdin closes, a busy one is killed)."""
        self._stopped = True
        waiters = self._take(self._start_waiters)
        requests = self._take_waiting()
        for process in self._slots:
            if process.request is not None:
                requests.append(self._unassign(process))
                process.kill()
            elif process.ready:
                process.leave()
            else:
                process.kill()  # still importing: nothing to lose
        self._slots.clear()
        leaving = _Leaving(set(self._alive), defer.Deferred())
        leaving.kill_call = self._clock.callLater(STOP_GRACE, self._kill_stragglers, leaving)
        self._leaving.append(leaving)
        # The state is settled before any caller's code runs (it may call start() again).
        gone = WorkerStopped("the parse worker was stopped")
        for request in requests:
            self._finish(request, gone)
        for waiter in waiters:
            waiter.errback(gone)
        self._check_stopped()
        return leaving.done

    # -- requests ----------------------------------------------------------------------------

    def _ask(
        self, op: str, layout: str, text: str, timeout: float, key: str
    ) -> defer.Deferred[Any]:
        if self._stopped:
            return defer.fail(WorkerStopped("the parse worker is stopped"))
        request = _Request(self._next_id, op, str(layout), text, max(0.0, timeout), key)
        self._next_id += 1
        request.result = defer.Deferred(lambda _: self._cancelled(request))
        self._asked[key] = self._clock.seconds()
        self._waiting.setdefault(key, deque()).append(request)
        self._fill()
        self._pump()
        return request.result

    def _pump(self) -> None:
        """Give idle processes the requests the fairness rules pick (module docstring)."""
        while self._waiting:
            idle = [p for p in self._slots if p.idle]
            if not idle:
                return
            key = self._choose(len(idle))
            if key is None:
                return
            queue = self._waiting[key]
            request = queue.popleft()
            if not queue:
                del self._waiting[key]
            self._begin(idle[0], request)

    def _choose(self, idle: int) -> str | None:
        now = self._clock.seconds()
        best: str | None = None
        best_rank: tuple[int, int] | None = None
        for key in self._waiting:
            busy = self._in_flight.get(key, 0)
            rank = (busy, self._served.get(key, -1))
            if (best_rank is None or rank < best_rank) and self._may_take(key, busy, idle, now):
                best, best_rank = key, rank
        return best

    def _may_take(self, key: str, busy: int, idle: int, now: float) -> bool:
        """Whether ``key`` may have an idle process, ``idle`` of them being idle: always, but
        the last one only if this key is not (likely) the one keeping the others busy."""
        if idle >= 2 or self._size == 1:
            return True
        if busy == 0 and now - self._killed_at.get(key, -RECENT) >= RECENT:
            return True
        return not any(k != key and now - t < RECENT for k, t in self._asked.items())

    def _begin(self, process: _Process, request: _Request) -> None:
        limit = request.timeout
        if request.op == _PARSE and layout_version(request.layout) not in process.compiled:
            request.compiling = True
            limit += self._compile_timeout
        request.timer = self._clock.callLater(limit, self._expire, request)
        self._in_flight[request.key] = self._in_flight.get(request.key, 0) + 1
        self._served[request.key] = next(self._serial)
        process.send(request)

    def _unassign(self, process: _Process) -> _Request | None:
        """The request ``process`` was working on, no longer counted in flight."""
        request = process.request
        process.request = None
        if request is not None:
            left = self._in_flight.get(request.key, 0) - 1
            if left > 0:
                self._in_flight[request.key] = left
            else:
                self._in_flight.pop(request.key, None)
        return request

    def _take_waiting(self) -> list[_Request]:
        requests = [request for queue in self._waiting.values() for request in queue]
        self._waiting.clear()
        return requests

    def _finish(self, request: _Request | None, outcome: object) -> None:
        """Answer the caller, once; ``outcome`` is the result or an exception."""
        if request is None:
            return
        if request.timer is not None and request.timer.active():
            request.timer.cancel()
        request.timer = None
        request.process = None
        if request.result.called:
            return  # cancelled by the caller
        if isinstance(outcome, BaseException):
            request.result.errback(Failure(outcome))
        else:
            request.result.callback(outcome)

    def _expire(self, request: _Request) -> None:
        request.timer = None
        process = request.process
        if process is None or process.request is not request:
            return  # answered meanwhile
        if request.compiling:
            took = f"did not compile the layout within {self._compile_timeout:g} s"
        else:
            took = f"gave no answer within {request.timeout:g} s"
        log.warning(
            "parse worker %s: %s: %s of its start: killed and replaced",
            process.pid,
            request.describe(),
            took,
        )
        self._unassign(process)
        self.killed += 1
        self._killed_at[request.key] = self._clock.seconds()
        self._retire(process)
        self._fill()
        message = f"{request.describe()}: the worker {took} of its start (it was replaced)"
        self._finish(request, ParseTimeout(message))
        self._pump()

    def _compiled_now(self, process: _Process, request: _Request, version: Version) -> None:
        """The child compiled the layout: from now on the parse has its own limit only."""
        process.compiled.add(version)
        if request.compiling:
            request.compiling = False
            if request.timer is not None and request.timer.active():
                request.timer.reset(request.timeout)

    def _cancelled(self, request: _Request) -> None:
        # A queued request leaves the queue; one in flight keeps its kill limit, so a stuck
        # process is still killed on time, and its answer is dropped.
        if request.process is not None:
            return
        queue = self._waiting.get(request.key)
        if queue is not None and request in queue:
            queue.remove(request)
            if not queue:
                del self._waiting[request.key]

    # -- processes ---------------------------------------------------------------------------

    def _fill(self) -> None:
        while not self._stopped and len(self._slots) < self._size:
            if not self._spawn():
                return

    def _spawn(self) -> bool:
        process = _Process(self)
        env = dict(os.environ)
        # The child must import this same source tree, however the parent found it.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
        self._slots.append(process)
        self._alive.add(process)
        try:
            self._reactor.spawnProcess(
                process,
                sys.executable,
                [sys.executable, "-m", "bridge.parse_worker", *self._compiled],
                env=env,
                childFDs={0: "w", 1: "r", 2: "r"},
            )
        except OSError as exc:
            self._slots.remove(process)
            self._alive.discard(process)
            self._start_failed(WorkerFailed(f"cannot start the parse worker: {exc}"))
            return False
        return True

    def _retire(self, process: _Process) -> None:
        if process in self._slots:
            self._slots.remove(process)
        process.kill()

    def _reply(self, process: _Process, message: object) -> None:
        try:
            request_id, ok, value = message  # type: ignore[misc]
        except (TypeError, ValueError):
            self._broken(process, f"a malformed reply {message!r:.80}")
            return
        if process.retired:
            return  # too late: its caller has been answered already
        if request_id == _READY:
            process.ready = True
            with contextlib.suppress(TypeError, ValueError):
                _, compiled = value
                process.compiled.update(tuple(version) for version in compiled)
            self._check_started()
            self._pump()
            return
        request = process.request
        if request is None or request.id != request_id:
            self._broken(process, f"a reply to request {request_id} it was not asked")
            return
        if ok is _COMPILED:
            self._compiled_now(process, request, value)
            return
        self._unassign(process)
        if ok and isinstance(value, Receipt):
            value.raw_text = request.text  # not sent back: half the reply's size
        if ok or isinstance(value, ReceiptParseError):
            self._compiled[request.layout] = None  # it compiles: replacements warm it up
        self._finish(request, value if ok else _as_exception(value))
        self._pump()

    def _broken(self, process: _Process, what: str) -> None:
        """A child that breaks the protocol cannot be trusted with more requests."""
        log.error("parse worker %s sent %s: killed", process.pid, what)
        request = self._unassign(process)
        self._retire(process)
        self._fill()
        self._finish(request, WorkerFailed(f"the parse worker sent {what}"))
        self._pump()

    def _ended(self, process: _Process, reason: Failure) -> None:
        self._alive.discard(process)
        in_pool = process in self._slots
        if in_pool:
            self._slots.remove(process)
        request = self._unassign(process)
        how = _exit_description(reason)
        self._check_stopped()
        if in_pool and not self._stopped:
            if not process.ready:
                tail = process.stderr_tail()
                detail = f":\n{tail}" if tail else ""
                self._start_failed(
                    WorkerFailed(f"the parse worker {how} before it was ready{detail}")
                )
                return  # no restart until the next call: a broken install must not loop
            log.warning("parse worker %s %s: replaced", process.pid, how)
            self._fill()
        if request is not None:
            log.error("parse worker %s %s while %s", process.pid, how, request.describe())
            self._finish(
                request, WorkerFailed(f"the parse worker {how} while {request.describe()}")
            )
        self._pump()

    def _start_failed(self, failure: WorkerFailed) -> None:
        log.error("%s", failure)
        waiters = self._take(self._start_waiters)
        # A process that is ready still serves the queue; with none, nothing would.
        queued = [] if any(p.ready for p in self._slots) else self._take_waiting()
        for request in queued:
            self._finish(request, failure)
        for waiter in waiters:
            waiter.errback(failure)

    def _check_started(self) -> None:
        if len(self._slots) == self._size and all(p.ready for p in self._slots):
            for waiter in self._take(self._start_waiters):
                waiter.callback(None)

    def _check_stopped(self) -> None:
        for leaving in list(self._leaving):
            leaving.processes &= self._alive
            if leaving.processes:
                continue
            self._leaving.remove(leaving)
            if leaving.kill_call is not None and leaving.kill_call.active():
                leaving.kill_call.cancel()
            leaving.done.callback(None)

    def _kill_stragglers(self, leaving: _Leaving) -> None:
        leaving.kill_call = None
        for process in leaving.processes & self._alive:
            log.warning("parse worker %s did not leave when asked: killed", process.pid)
            process.kill()

    @staticmethod
    def _take(waiters: list[defer.Deferred[None]]) -> list[defer.Deferred[None]]:
        taken = list(waiters)
        waiters.clear()
        return taken


def _as_exception(value: object) -> BaseException:
    if isinstance(value, BaseException):
        return value
    return WorkerFailed(f"the parse worker failed with {value!r:.200}")


def _exit_description(reason: Failure) -> str:
    value = reason.value
    signal_number = getattr(value, "signal", None)
    if signal_number:
        try:
            name = signal.Signals(signal_number).name
        except ValueError:
            name = str(signal_number)
        return f"was killed ({name})"
    code = getattr(value, "exitCode", None)
    return f"exited (code {code})"
