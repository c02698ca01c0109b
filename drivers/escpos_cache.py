"""Where python-escpos keeps its capability data: one folder for the whole process.

python-escpos builds its printer capability data on import (~0.3 s) and, unless
``ESCPOS_CAPABILITIES_PICKLE_DIR`` names an existing folder, leaves a temporary folder behind
in every process. Call ``use_capability_cache()`` before anything imports python-escpos.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def use_capability_cache(folder: Path | None = None) -> None:
    """Point python-escpos at ``folder`` (default: the user's cache folder), unless the
    environment already names one. Never fails: without a writable folder python-escpos
    falls back to its temporary folder."""
    if ENV in os.environ:
        return
    if folder is None:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        folder = cache / "tillbridge" / "escpos"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    os.environ[ENV] = str(folder)
