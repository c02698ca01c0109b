"""The ``tillbridge`` command.

What every subcommand shares: its output is written through ``SafeStream``, so a control
character from a receipt (text, a file name, an error quoting either) reaches the terminal as
``\x1b``, never as a command to it; a reader that goes away (``tillbridge parse ... | head``)
ends the command quietly with status 141, as a process killed by SIGPIPE, not a traceback.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

from bridge.safe_text import escape_controls
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
    p.add_argument(
        "--show-text",
        action="store_true",
        help="print the text the layout's grammar reads, with line numbers, and read nothing",
    )
    p.add_argument(
        "--trace", action="store_true", help="show, line by line, the tokens that read each text"
    )
    add_timeout_option(p)
    p.set_defaults(run="bridge.commands.parse:run")
    add_layout_commands(sub)

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
    add_timeout_option(aw)
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
    r.add_argument("--till", metavar="NAME", help="the paper and language of this till")
    add_config_option(r)
    r.add_argument("--paper", metavar="SIZE", help="58mm, 80mm, DOTS or DOTSxCOLUMNS")
    r.add_argument("--profile", metavar="NAME", help="the paper of a python-escpos profile")
    r.add_argument("--lang", metavar="LANG", help="the receipt's language (HTML lang): ja, pl...")
    r.set_defaults(run="bridge.commands.render:run")

    b = sub.add_parser("backup", help="copy the loyalty database to a file (the daemon may run)")
    b.add_argument("file", metavar="FILE", help="the backup to write (must not exist)")
    add_config_option(b)
    b.set_defaults(run="bridge.commands.backup:run_backup")

    rs = sub.add_parser(
        "restore", help="put a backup back as the loyalty database (daemon stopped)"
    )
    rs.add_argument("file", metavar="FILE", help="a backup made by tillbridge backup")
    rs.add_argument(
        "--replace",
        action="store_true",
        help="replace the database there (kept beside it); awards made after the backup are lost",
    )
    add_config_option(rs)
    rs.set_defaults(run="bridge.commands.backup:run_restore")

    rp = sub.add_parser("report", help="what the loyalty programme did: today, a day or a period")
    rp.add_argument("--day", metavar="DAY", help="one day, 2026-12-01 (default: today)")
    rp.add_argument("--from", dest="from_day", metavar="DAY", help="the first day of a period")
    rp.add_argument("--to", dest="to_day", metavar="DAY", help="its last day (included)")
    rp.add_argument("--top", type=_count, default=10, metavar="N", help="top customers (10)")
    rp.add_argument(
        "--lapsed-days",
        type=_count,
        default=60,
        metavar="N",
        help="list customers not seen in N days (60)",
    )
    rp.add_argument("--json", action="store_true", help="print JSON instead of a table")
    rp.add_argument(
        "--print",
        dest="print_till",
        metavar="TILL",
        help="print it on this till's printer, through the running bridge",
    )
    add_config_option(rp)
    rp.set_defaults(run="bridge.commands.report:run")

    ex = sub.add_parser("export", help="customers and their segments as CSV")
    ex.add_argument("-o", "--output", metavar="FILE", help="write here (owner-only), not stdout")
    ex.add_argument(
        "--lapsed-days", type=_count, default=60, metavar="N", help="lapsed after N days (60)"
    )
    add_config_option(ex)
    ex.set_defaults(run="bridge.commands.export:run")

    from bridge.commands.customers import add_parsers as add_customer_commands

    add_customer_commands(sub, add_config_option)

    from bridge.commands.rules import add_parser as add_rules_command

    add_rules_command(sub, add_config_option)

    c = sub.add_parser("check-config", help="read and check the config file, then summarise it")
    add_config_option(c)
    c.set_defaults(run="bridge.commands.check_config:run")
    return parser


def add_layout_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lay = sub.add_parser("layout", help="write and test a till's layout (grammar)")
    lay_sub = lay.add_subparsers(dest="layout_command", required=True, metavar="ACTION")
    new = lay_sub.add_parser("new", help="a starting layout written from a real receipt")
    new.add_argument("capture", metavar="CAPTURE", help="a raw ESC/POS capture (.bin)")
    new.add_argument("-o", "--output", metavar="FILE", help="write the grammar here (.lark)")
    new.add_argument("--force", action="store_true", help="replace FILE if it exists")
    new.add_argument("--timezone", default="UTC", help="the till's IANA timezone (default UTC)")
    test = lay_sub.add_parser("test", help="read captures with a layout, compare with their .json")
    test.add_argument("layout", metavar="LAYOUT", help="layout name or .lark path")
    test.add_argument("captures", nargs="+", metavar="CAPTURE", help="raw captures (.bin)")
    test.add_argument("--update", action="store_true", help="write each capture's .json")
    test.add_argument("--watch", action="store_true", help="test again on every save")
    add_timeout_option(test)
    lay.set_defaults(run="bridge.commands.layout:run")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tillbridge")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _count(text: str) -> int:
    """A whole number >= 0, for argparse."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="the config file; default: tillbridge.toml here, then /etc/tillbridge/tillbridge.toml",
    )


BROKEN_PIPE_STATUS = 141  # 128 + SIGPIPE: what a shell shows for `cat big | head -1`


class SafeStream(io.TextIOBase):
    """A text stream that escapes control characters on their way out (line breaks and tabs
    kept; on a terminal, the demo's bold and underline kept too)."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner  # for a caller that writes UTF-8 bytes itself, escaped first
        self._inner = inner
        self._sgr = _isatty(inner)

    def write(self, text: str) -> int:
        self._inner.write(escape_controls(text, keep="\n\t", allow_sgr=self._sgr))
        return len(text)

    def flush(self) -> None:
        self._inner.flush()

    def isatty(self) -> bool:
        return _isatty(self._inner)

    def fileno(self) -> int:
        return self._inner.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._inner, "encoding", "utf-8")


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def safe_output(daemon: bool) -> Iterator[None]:
    """Standard output and error escaped for the command's run (the daemon's own log lines
    are escaped by their formatter: ``bridge.logs``)."""
    if daemon:
        yield
        return
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeStream(sys.stdout), SafeStream(sys.stderr)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _reader_gone() -> int:
    # Python flushes standard output once more at exit: onto /dev/null now, so that last
    # flush cannot fail with a second BrokenPipeError.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass
    return BROKEN_PIPE_STATUS


def add_timeout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="the longest one capture may take to read, or a layout to compile (default 20)",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0 to 3600")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    try:
        with safe_output(daemon=False):  # argparse's messages quote what was typed
            args = build_parser().parse_args(argv)
        use_capability_cache()
        module_name, func_name = args.run.split(":")
        # Import the command lazily: each pulls in different libraries (Lark, Pillow...).
        module = __import__(module_name, fromlist=[func_name])
        with safe_output(daemon=args.command == "run"):
            code = int(getattr(module, func_name)(args) or 0)
            sys.stdout.flush()
    except BrokenPipeError:
        return _reader_gone()
    return code


if __name__ == "__main__":
    sys.exit(main())
