"""``tillbridge run [--config PATH] [--log-format text|json]``: the daemon, in the foreground.

Reads and checks the config (as ``check-config`` does; a problem → exit 2), starts every till
and logs to standard error, one ``key=value`` line per event (``--log-format json``: one JSON
object per line). SIGTERM or SIGINT stops it gracefully: no new tills are taken, receipts in
flight are finished (each within its ``max_hold``), queued awards are written; exit 0.
A till side that cannot be served (a port in use) → exit 1. Run it under systemd or a
container supervisor; it does not fork.

With ``log_file`` in the config it logs to that file instead, and SIGHUP reopens it (after
logrotate has moved it away); logging to standard error, SIGHUP is logged and otherwise
ignored. SIGHUP never stops the daemon.
"""

from __future__ import annotations

import argparse
import logging
import signal
from typing import Any

from bridge.commands import read_config
from bridge.config import Config

log = logging.getLogger("bridge.run")


def run(args: argparse.Namespace) -> int:
    config = read_config(args.config, "tillbridge run")
    if config is None:
        return 2
    from bridge.logs import setup_logging

    handler = setup_logging(
        config.log_level,
        json_lines=getattr(args, "log_format", "text") == "json",
        path=config.log_file,
    )
    log.info("config %s", config.source)
    from bridge.config import config_warnings

    for warning in config_warnings(config):
        log.warning("config: %s", warning)
    handle_sighup(handler)
    return serve(config)


def handle_sighup(handler: logging.Handler) -> None:
    """SIGHUP reopens a log file, or is only logged: its default action would end the daemon
    (a closed terminal, an admin used to daemons that reload on HUP)."""
    from twisted.internet import reactor

    from bridge.logs import ReopenableFileHandler

    def reopen() -> None:
        if isinstance(handler, ReopenableFileHandler):
            handler.reopen()
            log.info("SIGHUP: log file %s reopened", handler.baseFilename)
        else:
            log.info("SIGHUP: logging to standard error, nothing to reopen; still running")

    def on_signal(_signum: int, _frame: object) -> None:
        # Only queue the work: a signal handler runs between any two bytecodes, perhaps in
        # the middle of writing a log line.
        reactor.callFromThread(reopen)  # type: ignore[attr-defined]

    signal.signal(signal.SIGHUP, on_signal)


def serve(config: Config) -> int:
    """Run the daemon on ``config`` until SIGTERM/SIGINT; the exit code."""
    from twisted.internet import task

    from bridge.daemon import Daemon

    code = 0

    async def main(reactor: Any) -> None:
        nonlocal code
        daemon = Daemon(config, reactor)
        # reactor.stop() (what react does on SIGTERM/SIGINT) waits for this Deferred. Set
        # before the start: a SIGTERM while layouts compile must stop the daemon too (without
        # it, the reactor stopped and the database threads kept the process alive).
        reactor.addSystemEventTrigger("before", "shutdown", lambda: _ensure(daemon.stop()))
        try:
            await daemon.start()
        except Exception as exc:
            log.error("cannot start: %s", exc)
            code = 1
            return
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
