"""Captures read for ``tillbridge parse`` and ``award``: in a child process, under a deadline.

An admin's grammar can hold a regular expression that backtracks for minutes (on one line of
one receipt), and linting it when it loads can take as long. Python cannot stop a thread inside
``re``; a child process can be killed. So the commands hand each capture to a child
(``python -m bridge.commands.reading``, which imports ``parsers`` only) and wait at most
``timeout`` seconds for its answer; past that the child is killed, the caller gets
``ReadTimeout`` (it names the file and what to look at) and the next capture gets a new child.
One child serves every capture of a run, so layouts compile once.

The frames on the child's stdin and stdout are length-prefixed pickles, between this module and
itself only.
"""

from __future__ import annotations

import os
import pickle
import selectors
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from parsers.escpos.events import Command
from parsers.escpos.tokenizer import tokenize
from parsers.receipt import Receipt

TraceToken = tuple[str, str, int, int]
DEFAULT_TIMEOUT = 20.0  # seconds: shipped layouts read a receipt in milliseconds
_HEADER = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class Read:
    """One receipt of a capture: read (``receipt``), or not (``error`` says why)."""

    receipt: Receipt | None
    error: str | None
    layout: str | None
    # --trace: the receipt's text and the tokens that read it (terminal, text, line, column)
    trace: tuple[str, tuple[TraceToken, ...]] | None = None


class LayoutProblem(Exception):
    """The layout does not exist or does not compile; the message says which and why."""


class ReadTimeout(Exception):
    pass


class ReaderFailed(Exception):
    """The child process died or answered nonsense (a broken install)."""


def not_a_capture(data: bytes) -> str | None:
    """Why ``data`` is not an ESC/POS capture, or None. Plain text (a README, a CSV, a log)
    has no ESC/POS command and no cut: a layout would still find "a sale" in it."""
    if not data:
        return "the file is empty"
    if any(isinstance(event, Command) for event in tokenize(data)):
        return None
    return (
        "not an ESC/POS capture: text with no ESC/POS command and no cut (a receipt capture "
        "is the raw bytes a till sends its printer: tillbridge capture, or the daemon's "
        "unread/ and capture_dir folders)"
    )


def open_capture(name: str, prog: str) -> bytes | int:
    """The capture file's bytes; or, said on stderr, the exit status a command gives for it:
    2 when it cannot be read, 1 when it is no ESC/POS capture."""
    try:
        data = Path(name).read_bytes()
    except OSError as error:
        print(f"{prog}: cannot read {name}: {error.strerror}", file=sys.stderr)
        return 2
    problem = not_a_capture(data)
    if problem is not None:
        print(f"{name}: {problem}", file=sys.stderr)
        return 1
    return data


def load_layout(reader: Reader, layout: str, prog: str) -> bool:
    """Compile ``layout`` in the reader's child; False, said on stderr, when it cannot be."""
    try:
        reader.load(layout)
    except LayoutProblem as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return False
    except (ReadTimeout, ReaderFailed) as error:
        print(f"{prog}: layout {layout}: {error}", file=sys.stderr)
        return False
    return True


class Reader:
    """Reads captures in a child process, each within ``timeout`` seconds."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self._child: subprocess.Popen[bytes] | None = None

    def load(self, layout: str) -> str:
        """Compile ``layout`` (a name or a .lark path); its name. Raises ``LayoutProblem``,
        ``ReadTimeout`` (a grammar whose lint does not finish)."""
        kind, value = self._ask(("load", layout, b""))
        if kind == "layout":
            raise LayoutProblem(value)
        return str(value)

    def read(self, data: bytes, layout: str | None, trace: bool = False) -> list[Read]:
        """Every receipt in ``data``, with ``layout`` or, when None, the layout that fits;
        ``trace``: with the tokens that read each."""
        kind, value = self._ask(("trace" if trace else "read", layout, data))
        if kind == "layout":
            raise LayoutProblem(value)
        assert isinstance(value, list)
        return [Read(*entry) for entry in value]

    def close(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        assert child.stdin is not None
        try:
            child.stdin.close()
            child.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            child.kill()
            child.wait()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the exchange

    def _ask(self, request: tuple[str, str | None, bytes]) -> tuple[str, object]:
        child = self._spawn()
        assert child.stdin is not None and child.stdout is not None
        deadline = time.monotonic() + self.timeout
        try:
            _write_frame(child.stdin, request)
            reply = _read_frame(child.stdout.fileno(), deadline)
        except TimeoutError:
            self._kill()
            raise ReadTimeout(
                f"took more than {self.timeout:g} s (the layout's grammar: a regular expression "
                "that can match the same text in many ways? see docs/grammars.md; --timeout "
                "gives it longer)"
            ) from None
        except (OSError, EOFError, pickle.UnpicklingError) as error:
            self._kill()
            raise ReaderFailed(f"the reading process failed: {error}") from None
        kind, value = reply
        if kind == "error":
            raise ReaderFailed(str(value))
        return kind, value

    def _spawn(self) -> subprocess.Popen[bytes]:
        if self._child is None or self._child.poll() is not None:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "bridge.commands.reading"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        return self._child

    def _kill(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.kill()
            child.wait()


def _write_frame(stream: BinaryIO, message: object) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def _read_frame(fd: int, deadline: float) -> tuple[str, object]:
    header = _read_exactly(fd, _HEADER.size, deadline)
    (size,) = _HEADER.unpack(header)
    reply = pickle.loads(_read_exactly(fd, size, deadline))
    if not (isinstance(reply, tuple) and len(reply) == 2):
        raise EOFError("an unexpected reply")
    return reply


def _read_exactly(fd: int, size: int, deadline: float) -> bytes:
    got = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while len(got) < size:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise TimeoutError
            chunk = os.read(fd, size - len(got))
            if not chunk:
                raise EOFError("the reading process ended")
            got += chunk
    return bytes(got)


# -- the child --------------------------------------------------------------------------------


def _serve() -> int:
    from parsers.layouts import GrammarError, Layout, UnknownLayoutError
    from parsers.pipeline import read_receipts

    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print in a library must not corrupt the frames
    while True:
        header = requests.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return 0  # the parent closed our stdin: done
        (size,) = _HEADER.unpack(header)
        op, layout, data = pickle.loads(requests.read(size))
        reply: tuple[str, object]
        try:
            if op == "load":
                reply = ("ok", Layout.load(layout).name)
            else:
                chosen = Layout.load(layout) if layout else None
                results = read_receipts(data, chosen)
                # Plain tuples: this module is __main__ here, so its classes would not unpickle.
                replied: list[tuple[object, ...]] = [
                    (r.receipt, r.error, r.layout) for r in results
                ]
                if op == "trace":
                    replied = [
                        (*e, _trace(r, chosen)) for e, r in zip(replied, results, strict=True)
                    ]
                reply = ("ok", replied)
        except (GrammarError, UnknownLayoutError, OSError) as error:
            reply = ("layout", str(error))
        except Exception as error:
            reply = ("error", f"{type(error).__name__}: {error}")
        _write_frame(replies, reply)


def _trace(result: object, chosen: object) -> tuple[str, tuple[TraceToken, ...]] | None:
    from parsers.layouts import Layout

    layout = chosen if chosen is not None else None
    name = getattr(result, "layout", None)
    if layout is None and name:
        layout = Layout.load(name)
    if not isinstance(layout, Layout):
        return None
    text = result.document.text()  # type: ignore[attr-defined]
    tokens, _ = layout.trace(text)
    return text, tuple((t.type, str(t), t.line or 0, t.column or 0) for t in tokens)


if __name__ == "__main__":
    sys.exit(_serve())
