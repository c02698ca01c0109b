"""Run the virtual printer by hand: ``python -m drivers.virtual_printer --folder out``.

Prints one line saying where it serves (``tcp 127.0.0.1:9100`` or ``pty /dev/pts/7``), then
one line per receipt with the files written; stops on Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from twisted.internet import defer, task

from drivers.render.paper import Paper
from drivers.virtual_printer.model import PrintedReceipt
from drivers.virtual_printer.shell import FORMATS, VirtualPrinterFactory


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m drivers.virtual_printer")
    parser.add_argument("--folder", type=Path, help="save each receipt here (default: keep none)")
    parser.add_argument(
        "--formats",
        default="text",
        help=f"comma-separated renderings to save beside the .bin: {','.join(FORMATS)}",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100, help="0: any free port")
    parser.add_argument("--pty", action="store_true", help="serve a pseudo-terminal, not TCP")
    parser.add_argument("--bytes-per-second", type=float, help="print speed (default: instant)")
    parser.add_argument(
        "--paper", type=Paper.parse, help="for the pictures: 58mm, 80mm (default), DOTSxCOLUMNS"
    )
    parser.add_argument("--lang", help="the receipts' language, for the pictures (HTML lang)")
    return parser.parse_args(argv)


async def serve(reactor: Any, options: argparse.Namespace) -> None:
    def announce(receipt: PrintedReceipt) -> None:
        files = factory.saved[-1] if factory.saved else []
        names = " ".join(str(p) for p in files) or f"{len(receipt.raw)} bytes"
        print(f"receipt {len(factory.receipts)}: {names}", flush=True)

    formats = [f.strip() for f in options.formats.split(",") if f.strip()]
    factory = VirtualPrinterFactory(
        options.folder,
        formats,
        bytes_per_second=options.bytes_per_second,
        on_receipt=announce,
        reactor=reactor,
        paper=options.paper,
        language=options.lang,
    )
    if options.pty:
        path, _handle = factory.serve_pty(reactor)
        print(f"pty {path}", flush=True)
    else:
        port = factory.listen_tcp(reactor, options.port, options.host)
        print(f"tcp {options.host}:{port.getHost().port}", flush=True)
    await defer.Deferred()  # until the reactor stops (Ctrl-C)


def main(argv: list[str] | None = None) -> None:
    options = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    task.react(lambda reactor: defer.ensureDeferred(serve(reactor, options)))


if __name__ == "__main__":
    main()
