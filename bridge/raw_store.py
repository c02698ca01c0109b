"""Raw receipt bytes kept as files: the inbox, the unread folder, the captures."""

from __future__ import annotations

import itertools
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)


class RawStore:
    """Raw receipt bytes kept as files: ``<folder>/<till>/<UTC time>-<n>.bin``, in the order
    kept (``n`` counts in this process: receipt ids restart with each till connection)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._serial = itertools.count(1)

    def keep(self, till: str, receipt_id: int, raw: bytes, why: str | None = None) -> Path | None:
        """Write the capture (and a ``.why`` note beside it); never raises: a full disk is
        logged, and the receipt has printed anyway."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        folder = self.folder / _safe(till)
        path = folder / f"{stamp}-{next(self._serial):06d}.bin"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(raw)
            if why is not None:
                path.with_suffix(".why").write_text(why + "\n", encoding="utf-8")
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


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "till"
