"""The daemon's eye on its layout files: a saved grammar is compiled at once, and the log says so.

Every ``POLL`` seconds (a Twisted ``LoopingCall``: no thread, no new dependency) each reading
till's grammar file is looked at: its modification time, size and inode. A change is compiled
once the file has stayed the same for one more look, so an editor still writing (a half-saved
file) is not compiled half-way; the compile runs in the parse pool (``ParseWorker.load``,
strict, under the compile limit), never on the reactor. Then, at once:

- ``layout X reloaded`` — the next receipts are read with it;
- ``layout X not reloaded: <why>; the previous version stays in force`` — the workers keep
  reading with the last version that compiled (``Layout.in_force``), so a mistake in an edit
  costs no receipt.

Without the watch the workers still pick an edit up at the next receipt (they compile by
modification time): the watch is what tells the admin, and compiles before a receipt waits.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from twisted.internet import defer, task

from parsers.layouts import UnknownLayoutError, resolve_layout

log = logging.getLogger(__name__)

POLL = 0.25  # seconds between looks: a save is compiled within about 2 x POLL


class Compiler(Protocol):
    def load(self, layout: str, timeout: float) -> defer.Deferred[str]: ...


Stamp = tuple[int, int, int]  # modification time (ns), size, inode


@dataclass
class _Watched:
    layout: str  # as the config names it
    path: Path
    loaded: Stamp | None  # the version last compiled, or tried
    seen: Stamp | None  # what the last look found


def _stamp(path: Path) -> Stamp | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


class LayoutWatch:
    """Watches layout files and has the parse pool compile each saved version."""

    def __init__(
        self,
        reactor: Any,
        compiler: Compiler,
        layouts: Iterable[str],
        timeout: float,
        poll: float = POLL,
        compiled: Iterable[str] = (),
    ) -> None:
        self.reactor = reactor
        self.compiler = compiler
        self.timeout = timeout
        self.poll = poll
        self.reloads = 0  # versions that compiled
        self.refused = 0  # versions that did not
        self._watched: list[_Watched] = []
        for layout in sorted(set(layouts)):
            try:
                path = resolve_layout(layout)
            except UnknownLayoutError:
                continue  # the start-up already said so
            stamp = _stamp(path)
            self._watched.append(_Watched(layout, path, stamp, stamp))
        self._good = set(compiled)  # layouts with a version in force
        self._busy = False
        self._loop = task.LoopingCall(self._look)
        self._loop.clock = reactor

    def mark_compiled(self, layouts: Iterable[str]) -> None:
        """Layouts the start-up compiled: a version of each is in force."""
        self._good.update(layouts)

    def start(self) -> None:
        if self._watched and not self._loop.running:
            self._loop.start(self.poll, now=False)

    def stop(self) -> None:
        if self._loop.running:
            self._loop.stop()

    def _look(self) -> defer.Deferred[None] | None:
        if self._busy:
            return None  # a compile is running: the next look takes what changed meanwhile
        due = []
        for watched in self._watched:
            now = _stamp(watched.path)
            settled = now == watched.seen  # unchanged since the last look: the save is over
            watched.seen = now
            if settled and now != watched.loaded:
                watched.loaded = now
                due.append(watched)
        if not due:
            return None
        self._busy = True
        return defer.ensureDeferred(self._reload(due))

    async def _reload(self, due: list[_Watched]) -> None:
        try:
            for watched in due:
                await self._reload_one(watched)
        finally:
            self._busy = False

    async def _reload_one(self, watched: _Watched) -> None:
        if watched.loaded is None:
            self.refused += 1
            log.error(
                "layout %s not reloaded: %s is gone; %s",
                watched.layout,
                watched.path,
                self._meanwhile(watched.layout),
            )
            return
        try:
            await self.compiler.load(watched.layout, self.timeout)
        except Exception as exc:
            if not self._loop.running:
                return  # the daemon is stopping: its workers went first
            self.refused += 1
            log.error(
                "layout %s not reloaded: %s; %s",
                watched.layout,
                exc,
                self._meanwhile(watched.layout),
            )
            return
        self._good.add(watched.layout)
        self.reloads += 1
        log.info("layout %s reloaded", watched.layout)

    def _meanwhile(self, layout: str) -> str:
        if layout in self._good:
            return "the previous version stays in force"
        return "no version of it has compiled: its tills' receipts are kept unread"
