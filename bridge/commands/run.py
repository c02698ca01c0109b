"""``tillbridge run [--config PATH] [--log-format text|json]``: the daemon, in the foreground.

Reads and checks the config (as ``check-config`` does; a problem → exit 2), starts every till
and logs to standard error, one ``key=value`` line per event (``--log-format json``: one JSON
object per line). SIGTERM or SIGINT stops it gracefully: no new tills are taken, receipts in
flight are finished (each within its ``max_hold``), queued awards are written; exit 0.
A till side that cannot be served (a port in use) → exit 1. Run it under systemd or a
container supervisor; it does not fork.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from bridge.commands import read_config
from bridge.config import Config

log = logging.getLogger("bridge.run")


def run(args: argparse.Namespace) -> int:
    config = read_config(args.config, "tillbridge run")
    if config is None:
        return 2
    from bridge.logs import setup_logging

    setup_logging(config.log_level, json_lines=getattr(args, "log_format", "text") == "json")
    log.info("config %s", config.source)
    from bridge.config import config_warnings

    for warning in config_warnings(config):
        log.warning("config: %s", warning)
    return serve(config)


def serve(config: Config) -> int:
    """Run the daemon on ``config`` until SIGTERM/SIGINT; the exit code."""
    from twisted.internet import task

    from bridge.daemon import Daemon

    code = 0

    async def main(reactor: Any) -> None:
        nonlocal code
        daemon = Daemon(config, reactor)
        try:
            await daemon.start()
        except Exception as exc:
            log.error("cannot start: %s", exc)
            code = 1
            return
        # reactor.stop() (what react does on SIGTERM/SIGINT) waits for this Deferred.
        reactor.addSystemEventTrigger("before", "shutdown", lambda: _ensure(daemon.stop()))
        await _forever(reactor)

    try:
        task.react(lambda reactor: _ensure(main(reactor)))
    except SystemExit as exit_:
        return code or int(exit_.code or 0)
    return code


def _ensure(coro: Any) -> Any:
    from twisted.internet import defer

    return defer.ensureDeferred(coro)


def _forever(reactor: Any) -> Any:
    from twisted.internet import defer

    return defer.Deferred()  # fires never: the daemon runs until the reactor is stopped
