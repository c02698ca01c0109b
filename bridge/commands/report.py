"""``tillbridge report [--day D | --from D --to D] [--top N] [--lapsed-days N] [--json]
[--print TILL] [--config PATH]``: what the loyalty programme did, for the owner.

The period is today by default, in this machine's time zone; ``--day 2026-12-01`` is one day,
``--from``/``--to`` a range of days (both included). Prints receipts that earned, sales, points
issued, claimed, redeemed, expired, refunded, adjusted, the points outstanding and their money
value (at the programme's best reward), the top customers of the period and the customers not
seen in ``--lapsed-days`` (60). ``--json``: the same as one JSON object.

``--print TILL`` prints it on that till's printer, through the bridge: the report is sent to
the till's own listener as the till would send a receipt, so it takes its turn among the till's
receipts and the printer is never opened twice. The daemon must be running (a TCP till).

Exit 0; 2 for a bad option, no config, or the database unavailable; 1 when the report could
not be printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from bridge.commands import read_config
from bridge.config import Config, TcpListen, TillConfig

_PROG = "tillbridge report"


def run(args: argparse.Namespace) -> int:
    try:
        start, end = period(args.day, args.from_day, args.to_day, _local_zone())
    except ValueError as error:
        print(f"{_PROG}: {error}", file=sys.stderr)
        return 2
    config = read_config(args.config, _PROG)
    if config is None:
        return 2
    till = None
    if args.print_till is not None:
        till = _till(config, args.print_till)
        if till is None:
            return 2

    from bridge.loyalty.in_force import policy_in_force
    from bridge.loyalty.report import build_report, report_lines
    from bridge.store import StoreUnavailable, make_engine, migrate

    engine = make_engine(config.database.url)
    try:
        migrate(engine)
        report = build_report(
            engine,
            start,
            end,
            policy=policy_in_force(config.loyalty.rules),
            top=args.top,
            lapsed_days=args.lapsed_days,
        )
    except StoreUnavailable as error:
        print(f"{_PROG}: database unavailable: {error}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if till is not None:
        width = till.printer_profile().columns
        return _print(till, report_lines(report, width))
    if args.json:
        print(json.dumps(_jsonable(report), indent=2, ensure_ascii=False))
    else:
        print("\n".join(report_lines(report, 64)))
    return 0


def period(
    day: str | None, from_day: str | None, to_day: str | None, zone: tzinfo
) -> tuple[datetime, datetime]:
    """``[start, end)`` of the days asked, midnight to midnight in ``zone``."""
    if day is not None and (from_day or to_day):
        raise ValueError("--day or --from/--to, not both")
    first = last = datetime.now(zone).date()
    if day is not None:
        first = last = _day(day, "--day")
    if from_day is not None:
        first = _day(from_day, "--from")
        last = max(first, last) if to_day is None else last
    if to_day is not None:
        last = _day(to_day, "--to")
        first = first if from_day is not None else last
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    return start, end


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option} {text!r} is not a day like 2026-12-01") from None


def _local_zone() -> tzinfo:
    zone = datetime.now().astimezone().tzinfo
    assert zone is not None
    return zone


def _till(config: Config, name: str) -> TillConfig | None:
    for till in config.tills:
        if till.name == name:
            if not isinstance(till.listen, TcpListen):
                print(
                    f"{_PROG}: till {name} is wired by a serial line: --print needs a till "
                    "that sends over TCP (the report goes through the bridge's listener)",
                    file=sys.stderr,
                )
                return None
            return till
    names = ", ".join(t.name for t in config.tills)
    print(f"{_PROG}: no till {name!r} in the config (tills: {names})", file=sys.stderr)
    return None


def _print(till: TillConfig, lines: list[str]) -> int:
    from escpos.printer import Dummy

    from bridge.commands.send import LinkError, TcpLink, exchange
    from bridge.config import TcpConnect

    printer = Dummy(profile=till.profile)
    printer.set(align="left")
    printer.text("\n".join(lines) + "\n")
    printer.cut()
    assert isinstance(till.listen, TcpListen)
    host = till.listen.host
    # A listener on every address is reached on loopback, the way this machine's till would.
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    try:
        link = TcpLink.connect(TcpConnect(host, till.listen.port))
        try:
            exchange(link, printer.output)
        finally:
            link.close()
    except LinkError as error:
        print(
            f"{_PROG}: could not print on till {till.name} ({host}:{till.listen.port}): {error}; "
            "is tillbridge running?",
            file=sys.stderr,
        )
        return 1
    print(f"printed the report on till {till.name}'s printer ({len(lines)} lines)")
    return 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {name: _jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    return value
