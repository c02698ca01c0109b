"""Where python-escpos keeps its capability data: one folder for the whole process.

python-escpos builds its printer capability data on import (~0.3 s) and, unless
``ESCPOS_CAPABILITIES_PICKLE_DIR`` names an existing folder, leaves a temporary folder behind
in every process. Call ``use_capability_cache()`` before anything imports python-escpos.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def use_capability_cache(folder: Path | None = None) -> None:
    """Point python-escpos at ``folder`` (default: the user's cache folder), unless the
    environment already names a folder this process can write. Never fails: python-escpos
    writes its cache there at import, and crashes on a folder it cannot write (one named by
    another user's environment), so such a name is replaced, or dropped: python-escpos then
    falls back to its temporary folder."""
    named = os.environ.get(ENV)
    if named and _writable(Path(named)):
        return
    if folder is None:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        folder = cache / "tillbridge" / "escpos"
    with contextlib.suppress(OSError):  # _writable below tells
        folder.mkdir(parents=True, exist_ok=True)
    if _writable(folder):
        os.environ[ENV] = str(folder)
    else:
        os.environ.pop(ENV, None)


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
