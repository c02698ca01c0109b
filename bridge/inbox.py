"""The inbox: every till stream on disk from its first byte, until its receipts are recorded.

A daemon killed at any moment must leave each receipt it had started to read where the next
start finds it (DESIGN: nothing lost). So each till connection writes what the till sends to
``<folder>/<till>/<UTC time>-<n>.stream`` before the bytes go on to the printer, and the file
is removed once every receipt in it has been awarded, journaled or kept unread. A long-lived
connection (a serial till) starts a new file between receipts once the current one is large.

A file is itself an ESC/POS capture: it starts with the commands that put a printer in the
state the stream had when the file began (code page, character set, styles), so it decodes
as it printed, with the daemon's reader or with ``tillbridge parse``.

Writes are plain ``os.write`` calls, not fsynced: a killed process loses nothing the kernel has
been given; a power cut can lose the last milliseconds (the journal, which records awards, is
fsynced).

Creating a file costs the reactor more than anything else a connection does (a few hundred
microseconds on ext4), so with ``prepare`` (the daemon's ``reactor.callInThread``) the next
file of a till is made on a thread as soon as the current one is taken: a connection finds it
ready. A file made ahead and never used is empty; one left by a killed daemon is read at the
next start as a stream with nothing in it, and removed.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bridge.raw_store import owner_only_folders, safe_name
from drivers.escpos_out import restore_state
from parsers.escpos.state import PrinterState

log = logging.getLogger(__name__)

SUFFIX = ".stream"
ROTATE_BYTES = 256 * 1024  # a long-lived stream starts a new file past this, between receipts


class LeftInInbox(Exception):
    """A receipt that cannot be handled now (the daemon is stopping): its stream stays in
    the inbox, and the next start awards it."""


class InboxStream:
    """One till stream's file. Every method logs and carries on when the disk fails: the
    receipt prints anyway, and the award is still attempted."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self._fd = fd
        self.size = 0

    def write(self, data: bytes) -> None:
        if self._fd is None:
            return
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            self.size += len(data)
        except OSError as exc:
            # A part of a stream is no receipt to award later: none, rather than a stub.
            log.error("inbox %s: %s: this stream is not kept", self.path, exc)
            self.remove()

    def close(self) -> None:
        """Kept for the next start: a receipt in it could not be handled."""
        self._close()

    def remove(self) -> None:
        """Every receipt in it is recorded: the file goes."""
        self._close()
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.error("could not remove %s: %s", self.path, exc)

    def _close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)


class Inbox:
    def __init__(
        self, folder: Path, prepare: Callable[[Callable[[], None]], None] | None = None
    ) -> None:
        self.folder = folder
        self._serial = itertools.count(1)
        self._prepare = prepare  # runs a function on a thread: makes files ahead
        self._ready: dict[str, tuple[Path, int | None]] = {}  # per till, made ahead
        # Per till: bumped when a file had to be made on the spot, so a file still being made
        # ahead (its name older than that one's) is not used after it, out of order.
        self._generation: dict[str, int] = {}
        self._lock = threading.Lock()
        self._closed = False

    def open(self, till: str, state: PrinterState | None = None) -> InboxStream:
        """A new file for a till stream that starts in ``state`` (default: a printer just
        switched on)."""
        with self._lock:
            ready = self._ready.pop(till, None)
            if ready is None:
                self._generation[till] = self._generation.get(till, 0) + 1
            generation = self._generation.get(till, 0)
        path, fd = ready if ready is not None else self._make(till)
        if self._prepare is not None:
            self._prepare(lambda: self._make_ahead(till, generation))
        stream = InboxStream(path, fd)
        prelude = restore_state(state, PrinterState()) if state is not None else b""
        if prelude:
            stream.write(prelude)
        return stream

    def close(self) -> None:
        """Remove the files made ahead and never used."""
        with self._lock:
            self._closed = True
            ready, self._ready = self._ready, {}
        for path, fd in ready.values():
            _drop(path, fd)

    def _make_ahead(self, till: str, generation: int) -> None:
        path, fd = self._make(till)
        with self._lock:
            keep = (
                not self._closed
                and fd is not None
                and till not in self._ready
                and self._generation.get(till, 0) == generation
            )
            if keep:
                self._ready[till] = (path, fd)
        if not keep:
            _drop(path, fd)

    def _make(self, till: str) -> tuple[Path, int | None]:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        folder = self.folder / safe_name(till)
        path = folder / f"{stamp}-{os.getpid()}-{next(self._serial):06d}{SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND
        try:
            try:
                return path, os.open(path, flags, 0o600)
            except FileNotFoundError:
                # The till's folder is made at its first stream (or again, if removed): not
                # looked for at every connection, which costs the reactor a few syscalls.
                owner_only_folders(folder)
                return path, os.open(path, flags, 0o600)
        except OSError as exc:
            log.error("inbox %s: %s: this stream is not kept", path, exc)
            return path, None

    def discard(self, path: Path) -> None:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.error("could not remove %s: %s", path, exc)

    def waiting(self) -> dict[str, list[Path]]:
        """What earlier runs left, by till folder, oldest first (also ``.bin`` files, the
        per-receipt inbox of earlier versions)."""
        if not self.folder.is_dir():
            return {}
        left: dict[str, list[Path]] = {}
        for folder in sorted(self.folder.iterdir()):
            if folder.is_dir():
                paths = sorted(p for p in folder.iterdir() if p.suffix in (SUFFIX, ".bin"))
                if paths:
                    left[folder.name] = paths
        return left


def _drop(path: Path, fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
