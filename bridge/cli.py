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
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("parse", help="read receipt captures and show what they contain")
    p.add_argument("files", nargs="+", metavar="FILE", help="raw ESC/POS captures (.bin)")
    p.add_argument("--layout", help="layout (grammar) name or .lark path; default: guess")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run="bridge.commands.parse:run")

    d = sub.add_parser("demo", help="read and draw the shipped receipt captures")
    d.add_argument("--fixtures", help="a folder of captures (default: the shipped ones)")
    d.add_argument("-q", "--quiet", action="store_true", help="only the one-line summary")
    d.set_defaults(run="bridge.commands.demo:run")

    r = sub.add_parser("render", help="show a receipt capture as it would print")
    r.add_argument("file", metavar="FILE", help="a raw ESC/POS capture (.bin)")
    r.add_argument("--format", choices=["text", "html", "png"], default="text")
    r.add_argument("-o", "--output", help="write here instead of standard output")
    r.set_defaults(run="bridge.commands.render:run")

    c = sub.add_parser("check-config", help="read and check the config file, then summarise it")
    c.add_argument(
        "--config",
        metavar="PATH",
        help="the config file; default: tillbridge.toml here, then /etc/tillbridge/tillbridge.toml",
    )
    c.set_defaults(run="bridge.commands.check_config:run")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    use_capability_cache()
    module_name, func_name = args.run.split(":")
    # Import the command lazily: each pulls in different libraries (Lark, Pillow...).
    module = __import__(module_name, fromlist=[func_name])
    return int(getattr(module, func_name)(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
