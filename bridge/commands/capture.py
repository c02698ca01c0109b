"""``tillbridge capture --listen ENDPOINT --printer ENDPOINT [-o DIR]``: record a till's receipts.

For writing a grammar: the till prints through tillbridge exactly as it would directly (nothing
is held, added or changed; status replies go back as usual), and each receipt's raw bytes, up
to and including its cut, are saved as ``DIR/<UTC time>-<n>.bin``, one line on standard output
per file. Read them with ``tillbridge parse FILE --layout ...`` or ``tillbridge render FILE``.
Runs until Ctrl-C or SIGTERM; exit 0. A bad endpoint → exit 2; a till side that cannot be
served (port in use, device missing) → exit 1.

ENDPOINT as in the config: ``tcp:HOST:PORT``, ``serial:DEVICE[:BAUD[:FRAMING][:FLOW]]``, and
for the printer also ``file:/dev/usb/lp0``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bridge.config import ConfigError, SerialPortConfig, TcpListen, parse_endpoint

log = logging.getLogger("bridge.capture")


def run(args: argparse.Namespace) -> int:
    try:
        listen = parse_endpoint(args.listen, "listen", key="--listen")
        printer = parse_endpoint(args.printer, "printer", key="--printer")
    except ConfigError as error:
        print(f"tillbridge capture: {error}", file=sys.stderr)
        return 2
    folder = Path(args.output)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"tillbridge capture: cannot write to {folder}: {error}", file=sys.stderr)
        return 2
    from bridge.logs import setup_logging

    setup_logging("WARNING")
    return _serve(listen, printer, folder)


class CaptureWriter:
    """The handler of a capture link: each receipt's raw bytes to a new file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def __call__(self, request: Any) -> None:
        self.count += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.folder / f"{stamp}-{self.count:04d}.bin"
        try:
            path.write_bytes(request.raw)
        except OSError as error:
            log.error("could not save receipt %d: %s", self.count, error)
            return None
        note = " (truncated: longer than the capture limit)" if request.truncated else ""
        print(f"saved {path} ({len(request.raw)} bytes){note}", flush=True)
        return None


def _serve(listen: Any, printer: Any, folder: Path) -> int:
    from twisted.internet import defer, task

    from bridge.daemon import printer_connector
    from bridge.link import TillLink, serve_serial_from_config, serve_tcp
    from bridge.session import Mode, SessionConfig

    code = 0

    def main(reactor: Any) -> defer.Deferred[None]:
        nonlocal code
        # Observe: every receipt is cut out and reported, nothing is ever held or added.
        link = TillLink(
            SessionConfig(mode=Mode.OBSERVE, till="capture"),
            CaptureWriter(folder),
            printer_connector(printer, reactor),
            reactor,
        )
        try:
            if isinstance(listen, TcpListen):
                serve_tcp(link, listen.host, listen.port, reactor)
            elif isinstance(listen, SerialPortConfig):
                serve_serial_from_config(link, listen, reactor)
        except Exception as error:
            print(f"tillbridge capture: cannot listen on {listen}: {error}", file=sys.stderr)
            code = 1
            return defer.succeed(None)
        print(f"capturing: till on {listen} -> printer {printer}; receipts to {folder}/")
        print("stop with Ctrl-C", flush=True)
        reactor.addSystemEventTrigger("before", "shutdown", link.close_all)
        return defer.Deferred()  # until SIGINT/SIGTERM

    try:
        task.react(main)
    except SystemExit as exit_:
        return code or int(exit_.code or 0)
    return code
