"""The ``tillbridge`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from drivers.escpos_cache import use_capability_cache


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tillbridge",
        description="A loyalty bridge between an unmodified till and its ESC/POS printer.",
    )
    parser.add_argument("--version", action="version", version=f"tillbridge {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("parse", help="read receipt captures and show what they contain")
    p.add_argument("files", nargs="+", metavar="FILE", help="raw ESC/POS captures (.bin)")
    p.add_argument("--layout", help="layout (grammar) name or .lark path; default: guess")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run="bridge.commands.parse:run")

    run = sub.add_parser("run", help="run the bridge daemon in the foreground")
    add_config_option(run)
    run.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="text: key=value lines (default); json: one JSON object per line",
    )
    run.set_defaults(run="bridge.commands.run:run")

    d = sub.add_parser(
        "demo",
        help="run the bridge on embedded defaults: a simulated till, a virtual printer, SQLite",
    )
    d.add_argument("--fixtures", help="a folder of captures to send (default: the shipped ones)")
    d.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temp folder)")
    d.add_argument("-q", "--quiet", action="store_true", help="only the balances and the summary")
    d.add_argument(
        "--serve",
        action="store_true",
        help="then keep a till open on 127.0.0.1:9100 for your own captures, until Ctrl-C",
    )
    d.set_defaults(run="bridge.commands.demo:run")

    s = sub.add_parser("send", help="act as a till: send receipt captures to a printer or bridge")
    s.add_argument("files", nargs="+", metavar="FILE", help="raw ESC/POS captures (.bin)")
    s.add_argument(
        "--to",
        required=True,
        metavar="ENDPOINT",
        help="tcp:HOST:PORT or serial:DEVICE[:BAUD[:FRAMING][:FLOW]]",
    )
    s.add_argument("--pause", type=float, default=0.0, metavar="SECONDS", help="wait between files")
    s.set_defaults(run="bridge.commands.send:run")

    cap = sub.add_parser(
        "capture", help="pass a till through untouched and save each raw receipt to a file"
    )
    cap.add_argument("--listen", required=True, metavar="ENDPOINT", help="the till side")
    cap.add_argument("--printer", required=True, metavar="ENDPOINT", help="the printer side")
    cap.add_argument("-o", "--output", default=".", metavar="DIR", help="where to save (.bin)")
    cap.set_defaults(run="bridge.commands.capture:run")

    aw = sub.add_parser(
        "award", help="award receipts kept unread (or any capture) once their layout reads them"
    )
    aw.add_argument("files", nargs="+", metavar="FILE", help="raw captures (.bin)")
    aw.add_argument("--till", required=True, help="the till they came from (its layout, its store)")
    aw.add_argument("--layout", help="read them with this layout instead of the till's")
    add_config_option(aw)
    aw.set_defaults(run="bridge.commands.award:run")

    cl = sub.add_parser("claim", help="credit a claim code printed on a receipt to a customer")
    cl.add_argument("code", metavar="CODE", help="the claim code, as printed")
    cl.add_argument(
        "card",
        metavar="CARD",
        help="the customer's card number, phone or loyalty id: the customer known by it, else a "
        "card; card:..., phone:... or loyalty_id:... to say which",
    )
    add_config_option(cl)
    cl.set_defaults(run="bridge.commands.claim:run")

    r = sub.add_parser("render", help="show a receipt capture as it would print")
    r.add_argument("file", metavar="FILE", help="a raw ESC/POS capture (.bin)")
    r.add_argument("--format", choices=["text", "html", "png"], default="text")
    r.add_argument("-o", "--output", help="write here instead of standard output")
    r.set_defaults(run="bridge.commands.render:run")

    c = sub.add_parser("check-config", help="read and check the config file, then summarise it")
    add_config_option(c)
    c.set_defaults(run="bridge.commands.check_config:run")
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tillbridge")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="the config file; default: tillbridge.toml here, then /etc/tillbridge/tillbridge.toml",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    use_capability_cache()
    module_name, func_name = args.run.split(":")
    # Import the command lazily: each pulls in different libraries (Lark, Pillow...).
    module = __import__(module_name, fromlist=[func_name])
    return int(getattr(module, func_name)(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
