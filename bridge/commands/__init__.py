"""One module per ``tillbridge`` subcommand, each with ``run(args) -> exit code``."""

from __future__ import annotations

import sys
from pathlib import Path

from bridge.config import DEFAULT_PATHS, Config, ConfigError, find_config, load_config


def read_config(explicit: str | Path | None, prog: str) -> Config | None:
    """The config as the daemon reads it (``--config``, else the default places), or None
    after telling standard error why not: the caller exits 2."""
    path = find_config(explicit)
    if path is None:
        looked = ", ".join(str(p) for p in DEFAULT_PATHS)
        print(f"{prog}: no config file (looked for {looked}); use --config PATH", file=sys.stderr)
        return None
    try:
        return load_config(path)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return None
