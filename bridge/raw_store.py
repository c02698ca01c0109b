"""Raw receipt bytes kept as files: the inbox, the unread folder, the captures.

A file is there whole or not at all: it is written under a temporary name (a dot file, which
``waiting`` never lists) and renamed into place, and a write the disk refuses removes what it
wrote. Everything is owner-only (files 0600, folders 0700, whatever the umask): receipts carry
card numbers and phones.

With ``max_bytes`` (the unread folder: ``unread_max_mb``) the oldest captures, with their
``.why`` notes, are removed once the folder grows past it, each removal logged.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
FOLDER_MODE = 0o700


class RawStore:
    """Raw receipt bytes kept as files: ``<folder>/<till>/<UTC time>-<n>.bin``, in the order
    kept (``n`` counts in this process: receipt ids restart with each till connection)."""

    def __init__(self, folder: Path, max_bytes: int | None = None) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.pruned = 0  # captures removed to stay under max_bytes, for logs and tests
        self._serial = itertools.count(1)
        self._kept: deque[tuple[Path, int]] | None = None  # with max_bytes: oldest first
        self._size = 0  # bytes in _kept

    def keep(self, till: str, receipt_id: int, raw: bytes, why: str | None = None) -> Path | None:
        """Write the capture (and a ``.why`` note beside it); never raises: a full disk is
        logged, nothing partial is left, and None says nothing was kept (the receipt has
        printed anyway)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        folder = self.folder / safe_name(till)
        path = folder / f"{stamp}-{next(self._serial):06d}.bin"
        note = path.with_suffix(".why")
        try:
            owner_only_folders(folder)
            if why is not None:
                _write_whole(note, (why + "\n").encode("utf-8"))
            try:
                _write_whole(path, raw)
            except OSError:
                note.unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.error(
                "%s: could not keep receipt %d's %d raw bytes in %s: %s",
                till,
                receipt_id,
                len(raw),
                folder,
                exc,
            )
            return None
        if self.max_bytes is not None:
            self._count(path, len(raw) + (len(why.encode("utf-8")) + 1 if why is not None else 0))
        return path

    def discard(self, path: Path) -> None:
        try:
            path.unlink()
        except OSError as exc:
            log.error("could not remove %s: %s", path, exc)

    def waiting(self) -> dict[str, list[Path]]:
        """The captures kept, by till folder, oldest first."""
        if not self.folder.is_dir():
            return {}
        return {
            folder.name: sorted(folder.glob("*.bin"))
            for folder in sorted(self.folder.iterdir())
            if folder.is_dir()
        }

    # --- the size cap ---------------------------------------------------------------------

    def _count(self, path: Path, size: int) -> None:
        """Note a capture just kept, and prune past the cap. The folder is listed once, at
        the first capture; after that the count is kept in memory, so a keep at the cap costs
        the same with a hundred files as with a hundred thousand (this runs on the reactor)."""
        if self._kept is None:
            self._kept = deque(self._listing())  # includes the one just kept
            self._size = sum(size for _, size in self._kept)
        else:
            self._kept.append((path, size))
            self._size += size
        assert self.max_bytes is not None
        while self._size > self.max_bytes and len(self._kept) > 1:  # the newest one stays
            oldest, freed = self._kept.popleft()
            self._size -= freed
            try:
                oldest.unlink(missing_ok=True)  # gone already: awarded by hand meanwhile
                oldest.with_suffix(".why").unlink(missing_ok=True)
            except OSError as exc:
                log.error("could not prune %s: %s", oldest, exc)
                continue
            self.pruned += 1
            log.warning(
                "%s is past its size cap (%d MB): removed the oldest capture %s (%d bytes)",
                self.folder,
                self.max_bytes // 2**20,
                oldest,
                freed,
            )

    def _listing(self) -> list[tuple[Path, int]]:
        """Every capture kept, with its size and its note's, oldest first (names start with
        the UTC time)."""
        found: list[tuple[Path, int]] = []
        for folder in self.folder.iterdir() if self.folder.is_dir() else ():
            if not folder.is_dir():
                continue
            sizes = {
                entry.name: entry.stat().st_size
                for entry in os.scandir(folder)
                if entry.is_file() and not entry.name.startswith(".")
            }
            for name, size in sizes.items():
                if name.endswith(".bin"):
                    note = sizes.get(name.removesuffix(".bin") + ".why", 0)
                    found.append((folder / name, size + note))
        return sorted(found, key=lambda item: (item[0].name, item[0].parent.name))


def owner_only_folders(folder: Path) -> None:
    """``folder`` and any missing parents, each made owner-only (0700 whatever the umask);
    existing ones are left as the admin made them."""
    missing: list[Path] = []
    at = folder
    while not at.is_dir():
        missing.append(at)
        at = at.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue  # made meanwhile by another keep
        os.chmod(path, FOLDER_MODE)  # mkdir's mode passes through the umask


def _write_whole(path: Path, data: bytes) -> None:
    """``path`` holding ``data``, or (on any failure) no trace of the attempt."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def safe_name(name: str) -> str:
    """A till's name as a folder name."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "till"
